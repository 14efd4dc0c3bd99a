//! Header fields as bytes: split, named, replaced, and the fields that
//! name an attachment written. Shared by the MIME layer (which writes the
//! headers of parts it unpacks) and the rebuild.

use base64::Engine as _;

fn disposition_is_inline(header: &[u8]) -> bool {
    fields(header)
        .filter(|f| field_name(f) == "content-disposition")
        .any(|f| {
            let value =
                String::from_utf8_lossy(&f[f.iter().position(|&c| c == b':').unwrap_or(0)..]);
            value
                .trim_start_matches(':')
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("inline")
        })
}

/// `header` with a new Content-Type and Content-Disposition naming the
/// part `name` (RFC 2047 in `name=` for old readers, RFC 2231 in
/// `filename*=`); other fields stay. Lines end in `eol`.
pub(crate) fn relabel(
    header: &[u8],
    content_type: &str,
    name: Option<&str>,
    eol: &[u8],
) -> Vec<u8> {
    let fold = |s: &mut String, piece: &str| {
        s.push(';');
        s.push_str(std::str::from_utf8(eol).unwrap_or("\r\n"));
        s.push('\t');
        s.push_str(piece);
    };
    let mut ct = content_type.to_owned();
    let mut cd = String::from(if disposition_is_inline(header) {
        "inline"
    } else {
        "attachment"
    });
    if let Some(name) = name {
        fold(&mut ct, &format!("name=\"{}\"", rfc2047(name)));
        match rfc2231_chunks(name).as_slice() {
            [one] => fold(&mut cd, &format!("filename*={one}")),
            many => {
                for (i, chunk) in many.iter().enumerate() {
                    fold(&mut cd, &format!("filename*{i}*={chunk}"));
                }
            }
        }
    }
    let h = replace_field(header, "content-type", &ct, eol);
    // A body stays a body: no disposition is added where there was none.
    let had_disposition = fields(header).any(|f| field_name(f) == "content-disposition");
    if name.is_none() && !had_disposition {
        return h;
    }
    replace_field(&h, "content-disposition", &cd, eol)
}

/// `name` as RFC 2047 encoded words of at most 45 bytes of UTF-8 each,
/// separated by spaces; plain when it is printable ASCII without quotes.
pub(crate) fn rfc2047(name: &str) -> String {
    if name
        .bytes()
        .all(|c| (b' '..=b'~').contains(&c) && c != b'"' && c != b'\\')
    {
        return name.to_owned();
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in name.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    words.push(chunk);
    words
        .iter()
        .map(|w| {
            format!(
                "=?UTF-8?B?{}?=",
                base64::engine::general_purpose::STANDARD.encode(w)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `name` as RFC 2231 continuations (`utf-8''` on the first), percent-encoded,
/// at most 60 characters each, never splitting an escape.
fn rfc2231_chunks(name: &str) -> Vec<String> {
    let mut chunks = vec![String::from("utf-8''")];
    for b in name.bytes() {
        let piece = if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            (b as char).to_string()
        } else {
            format!("%{b:02X}")
        };
        if chunks.last().is_some_and(|c| c.len() + piece.len() > 60) {
            chunks.push(String::new());
        }
        if let Some(last) = chunks.last_mut() {
            last.push_str(&piece);
        }
    }
    chunks
}

/// Header fields, each with its folded continuation lines and line breaks.
pub(crate) fn fields(header: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut starts = Vec::new();
    let mut at_line_start = true;
    for (i, &c) in header.iter().enumerate() {
        if at_line_start && c != b' ' && c != b'\t' {
            starts.push(i);
        }
        at_line_start = c == b'\n';
    }
    starts.push(header.len());
    let bounds: Vec<(usize, usize)> = starts.windows(2).map(|w| (w[0], w[1])).collect();
    bounds.into_iter().map(move |(a, b)| &header[a..b])
}

/// The header with `tag` before the first Subject (RFC 2047-encoded unless
/// ASCII), or with a Subject field of just the tag when there is none.
pub(crate) fn tag_subject(header: &[u8], tag: &str, eol: &[u8]) -> Vec<u8> {
    let encode = |t: &str| {
        if t.is_ascii() {
            t.to_owned()
        } else {
            format!(
                "=?UTF-8?B?{}?=",
                base64::engine::general_purpose::STANDARD.encode(t)
            )
        }
    };
    let mut out = Vec::with_capacity(header.len() + 64);
    let mut done = false;
    for f in fields(header) {
        if done || field_name(f) != "subject" {
            out.extend_from_slice(f);
            continue;
        }
        // Named, so it has a colon.
        let Some(colon) = f.iter().position(|&c| c == b':') else {
            out.extend_from_slice(f);
            continue;
        };
        done = true;
        let value = &f[colon + 1..];
        let trimmed = value.trim_ascii_start();
        // Whitespace between two encoded words is not displayed, so the
        // space that separates the tag from the subject goes inside ours.
        let word = if trimmed.starts_with(b"=?") {
            encode(&format!("{tag} "))
        } else {
            encode(tag)
        };
        out.extend_from_slice(&f[..=colon]);
        out.push(b' ');
        out.extend_from_slice(word.as_bytes());
        if !value.first().is_some_and(|c| *c == b' ' || *c == b'\t') {
            out.push(b' ');
        }
        out.extend_from_slice(value);
    }
    if !done {
        if !out.is_empty() && !out.ends_with(b"\n") {
            out.extend_from_slice(eol);
        }
        out.extend_from_slice(format!("Subject: {}", encode(tag)).as_bytes());
        out.extend_from_slice(eol);
    }
    out
}

/// Lower-case name of a header field.
pub(crate) fn field_name(field: &[u8]) -> String {
    // A line without a colon is no field, and has no name.
    let Some(end) = field.iter().position(|&c| c == b':') else {
        return String::new();
    };
    String::from_utf8_lossy(&field[..end])
        .trim()
        .to_ascii_lowercase()
}

/// The header with every `name` field replaced by one `name: value` field
/// (where the first one was, or at the end).
pub(crate) fn replace_field(header: &[u8], name: &str, value: &str, eol: &[u8]) -> Vec<u8> {
    let canonical = match name {
        "content-type" => "Content-Type",
        "content-transfer-encoding" => "Content-Transfer-Encoding",
        "content-disposition" => "Content-Disposition",
        other => other,
    };
    let mut new_field = format!("{canonical}: {value}").into_bytes();
    new_field.extend_from_slice(eol);
    let mut out = Vec::with_capacity(header.len() + new_field.len());
    let mut placed = false;
    for f in fields(header) {
        if field_name(f) == name {
            if !placed {
                out.extend_from_slice(&new_field);
                placed = true;
            }
        } else {
            out.extend_from_slice(f);
            if !f.ends_with(b"\n") {
                out.extend_from_slice(eol);
            }
        }
    }
    if !placed {
        out.extend_from_slice(&new_field);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_fields_stay_whole() {
        let h = b"Subject: a\r\n b\r\nTo: x\r\n";
        let f: Vec<_> = fields(h).collect();
        assert_eq!(f, [&b"Subject: a\r\n b\r\n"[..], b"To: x\r\n"]);
        assert_eq!(field_name(f[0]), "subject");
    }

    /// fuzz lure bf44f4d2: tagging a header with a `Subject` line that has
    /// no colon sliced past its end.
    #[test]
    fn fuzz_lure_bf44f4d2_a_line_without_a_colon_is_no_field() {
        assert_eq!(field_name(b"Subject\r\n"), "");
        assert_eq!(
            tag_subject(b"From: a\r\nSubject\r\n", "[!]", b"\r\n"),
            b"From: a\r\nSubject\r\nSubject: [!]\r\n"
        );
    }

    #[test]
    fn replace_keeps_position() {
        let h = b"A: 1\nContent-Type: text/plain;\n name=x\nB: 2\n";
        assert_eq!(
            replace_field(h, "content-type", "text/plain", b"\n"),
            b"A: 1\nContent-Type: text/plain\nB: 2\n"
        );
    }
}
