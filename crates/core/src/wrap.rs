//! A bare file wrapped into a message, so that `mugai scan` and tests judge
//! an attachment exactly as it would be judged in mail.

use base64::Engine as _;

/// A minimal message carrying `bytes` as the attachment `name`, with the
/// given line ending (`"\r\n"` or `"\n"`).
pub fn wrap_attachment(name: &str, bytes: &[u8], eol: &str) -> Vec<u8> {
    // RFC 2231 keeps any name intact, Japanese and bidi controls included.
    let encoded_name: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let body = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut out = format!(
        "From: scan@mugai.invalid{eol}To: scan@mugai.invalid{eol}Subject: scan{eol}\
         MIME-Version: 1.0{eol}Content-Type: multipart/mixed; boundary=\"mugai-scan\"{eol}{eol}\
         --mugai-scan{eol}Content-Type: text/plain; charset=utf-8{eol}{eol}scan{eol}\
         --mugai-scan{eol}Content-Type: application/octet-stream{eol}\
         Content-Disposition: attachment; filename*=UTF-8''{encoded_name}{eol}\
         Content-Transfer-Encoding: base64{eol}{eol}"
    );
    for chunk in body.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push_str(eol);
    }
    out.push_str(&format!("--mugai-scan--{eol}"));
    out.into_bytes()
}
