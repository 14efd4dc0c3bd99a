//! PDF: active content found by a tokenizer that skips strings and comments
//! (so a link to `wiki/JavaScript` is not a finding) and looks inside object
//! streams; rebuilt without it by `rebuild`.

mod rebuild;

use std::io::Read;

use crate::formats::common::{Disarmed, FormatError, Inspection, Item};
use crate::limits::Budget;
use crate::policy::LinkMode;
use crate::vocab::FindingKind;

/// Names whose presence means the PDF can act on its own or carries files.
const ACTIVE: &[(&str, &str)] = &[
    ("JS", "JavaScript"),
    ("JavaScript", "JavaScript"),
    ("AA", "additional actions (/AA)"),
    ("Launch", "launch action"),
    ("EmbeddedFile", "embedded file"),
    ("EmbeddedFiles", "embedded files"),
    ("EF", "embedded file"),
    ("FileAttachment", "file attachment annotation"),
    ("RichMedia", "rich media (Flash)"),
    ("XFA", "XFA form"),
    ("SubmitForm", "form submission"),
    ("ImportData", "data import"),
    ("GoToR", "remote go-to action"),
    ("GoToE", "embedded go-to action"),
];

pub(crate) use rebuild::load;

/// A PDF rebuilt from its objects without active content; an empty
/// `removed` means it had none and was only rewritten.
pub(crate) fn disarm(
    bytes: &[u8],
    links: LinkMode,
    budget: &mut Budget,
) -> Result<Disarmed, FormatError> {
    let (bytes, removed) = rebuild::rebuild(bytes, links, budget)?;
    Ok(Disarmed { bytes, removed })
}

/// What a name token means when it is one of the active ones.
fn active_name(name: &[u8]) -> Option<&'static str> {
    ACTIVE
        .iter()
        .find(|(n, _)| n.as_bytes() == name)
        .map(|(_, what)| *what)
}

/// Findings from the names in a PDF, its object streams included. An
/// encrypted PDF that opens without a password is judged by its decrypted
/// objects; one that needs a password is an `encrypted_document`.
pub(crate) fn inspect(bytes: &[u8], budget: &mut Budget) -> Inspection {
    let mut found = Inspection::default();
    let (seen, encrypted) = active_names(bytes, budget);
    let (seen, encrypted) = match encrypted.then(|| decrypted(bytes, budget)) {
        Some(Ok(plain)) => active_names(&plain, budget),
        Some(Err(_)) | None => (seen, encrypted),
    };
    if !seen.is_empty() {
        found
            .items
            .push(Item::new(FindingKind::PdfActiveContent, seen.join(", ")));
    }
    if encrypted {
        found.items.push(Item::new(
            FindingKind::EncryptedDocument,
            "encrypted PDF that needs a password: strings and streams cannot be inspected",
        ));
    }
    found
}

/// The active content named in a PDF, and whether it is encrypted.
fn active_names(bytes: &[u8], budget: &mut Budget) -> (Vec<&'static str>, bool) {
    let mut seen: Vec<&str> = Vec::new();
    let mut encrypted = false;
    scan(bytes, budget, 0, &mut |name| {
        if name == b"Encrypt" {
            encrypted = true;
        }
        if let Some(what) = active_name(name)
            && !seen.contains(&what)
        {
            seen.push(what);
        }
    });
    (seen, encrypted)
}

/// An encrypted PDF written out decrypted, when no password is needed.
fn decrypted(bytes: &[u8], budget: &mut Budget) -> Result<Vec<u8>, String> {
    let mut doc = rebuild::load(bytes, budget)?;
    doc.trailer.remove(b"Encrypt");
    doc.encryption_state = None;
    let mut out = Vec::with_capacity(bytes.len());
    doc.save_to(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// Calls `on_name` with every name token (after `#xx` unescaping). Streams are
/// skipped, except object streams, which are inflated and scanned in turn.
fn scan(b: &[u8], budget: &mut Budget, depth: usize, on_name: &mut dyn FnMut(&[u8])) {
    let mut i = 0;
    let mut names_since_stream: Vec<Vec<u8>> = Vec::new();
    let mut length: Option<usize> = None;
    while i < b.len() {
        match b[i] {
            b'%' => {
                while i < b.len() && b[i] != b'\n' && b[i] != b'\r' {
                    i += 1;
                }
            }
            b'(' => i = skip_literal_string(b, i),
            b'<' if b.get(i + 1) == Some(&b'<') => i += 2,
            b'<' => {
                while i < b.len() && b[i] != b'>' {
                    i += 1;
                }
                i += 1;
            }
            b'/' => {
                let start = i + 1;
                i = start;
                while i < b.len() && !is_delimiter(b[i]) {
                    i += 1;
                }
                let name = unescape_name(&b[start..i]);
                on_name(&name);
                if name == b"Length" {
                    length = direct_integer(&b[i..]);
                }
                names_since_stream.push(name);
            }
            b's' if b[i..].starts_with(b"stream") && (i == 0 || is_delimiter(b[i - 1])) => {
                let data_start = skip_eol(b, i + 6);
                // A true /Length ends the data, whatever it holds (a fake
                // `endstream` and objects after it are only bytes to a
                // reader); otherwise the first `endstream` does.
                let end = length
                    .take()
                    .and_then(|n| data_start.checked_add(n))
                    .filter(|&e| {
                        b.get(e..)
                            .is_some_and(|rest| rest.trim_ascii_start().starts_with(b"endstream"))
                    })
                    .or_else(|| {
                        crate::identify::find(&b[data_start..], b"endstream")
                            .map(|e| data_start + e)
                    })
                    .unwrap_or(b.len());
                let is_objstm = names_since_stream.iter().any(|n| n == b"ObjStm");
                let is_flate = names_since_stream.iter().any(|n| n == b"FlateDecode");
                if is_objstm && is_flate && depth < 2 {
                    let allowance = budget.entry_allowance();
                    let mut inflated = Vec::new();
                    let mut z = flate2::read::ZlibDecoder::new(&b[data_start..end])
                        .take(allowance.saturating_add(1));
                    // A damaged stream still yields its readable prefix.
                    let _ = z.read_to_end(&mut inflated);
                    if budget.spend_bytes(inflated.len() as u64).is_ok() {
                        scan(&inflated, budget, depth + 1, on_name);
                    }
                }
                names_since_stream.clear();
                // `endstream` that follows is no name and no `stream` keyword.
                i = end;
            }
            _ => i += 1,
        }
    }
}

/// The integer after a key, when it is one and not a reference (`12 0 R`).
fn direct_integer(b: &[u8]) -> Option<usize> {
    let rest = b.trim_ascii_start();
    let digits = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    let after = rest[digits..].trim_ascii_start();
    let reference = after.first().is_some_and(u8::is_ascii_digit);
    if digits == 0 || digits > 12 || reference {
        return None;
    }
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

fn skip_literal_string(b: &[u8], mut i: usize) -> usize {
    let mut nesting = 0usize;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'(' => nesting += 1,
            b')' => {
                nesting -= 1;
                if nesting == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

fn skip_eol(b: &[u8], mut i: usize) -> usize {
    if b.get(i) == Some(&b'\r') {
        i += 1;
    }
    if b.get(i) == Some(&b'\n') {
        i += 1;
    }
    i.min(b.len())
}

fn is_delimiter(c: u8) -> bool {
    c.is_ascii_whitespace() || b"()<>[]{}/%".contains(&c) || c == 0
}

/// `/J#61vaScript` is `/JavaScript`.
fn unescape_name(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'#'
            && let Some(h) = raw.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(std::str::from_utf8(h).unwrap_or("zz"), 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Limits;

    fn detail(pdf: &[u8]) -> Vec<String> {
        inspect(pdf, &mut Budget::new(&Limits::default()))
            .items
            .into_iter()
            .map(|i| i.detail)
            .collect()
    }

    #[test]
    fn names_in_strings_are_not_actions() {
        assert!(
            detail(b"%PDF-1.4\n1 0 obj << /URI (http://w/wiki/JavaScript) >> endobj").is_empty()
        );
        assert!(detail(b"%PDF-1.4\n% /JavaScript in a comment\n").is_empty());
    }

    #[test]
    fn hex_escaped_names_are_found() {
        assert_eq!(
            detail(b"%PDF-1.4\n1 0 obj << /S /J#61vaScript /J#53 (app.alert(1)) >> endobj"),
            ["JavaScript"]
        );
    }

    #[test]
    fn object_streams_are_inflated() {
        use std::io::Write;
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        z.write_all(b"1 0 << /OpenAction << /S /Launch /F (cmd.exe) >> >>")
            .unwrap();
        let body = z.finish().unwrap();
        let mut pdf =
            b"%PDF-1.5\n5 0 obj << /Type /ObjStm /Filter /FlateDecode >>\nstream\n".to_vec();
        pdf.extend_from_slice(&body);
        pdf.extend_from_slice(b"\nendstream\nendobj\n");
        assert_eq!(detail(&pdf), ["launch action"]);
    }

    #[test]
    fn fuzz_pdf_339d3156_a_fake_object_stream_inside_stream_data_is_data() {
        let fake = b"%PDF-1.4\n2 0 obj <</Length 28>>stream\nendstream /ObjStm /JS stream\nendstream endobj";
        assert!(detail(fake).is_empty(), "{:?}", detail(fake));
        // Without a usable /Length the first endstream ends the data.
        let lying = b"%PDF-1.4\n2 0 obj <</Length 3>>stream\nendstream /JS (x) endobj";
        assert_eq!(detail(lying), ["JavaScript"]);
    }

    #[test]
    fn unbalanced_strings_end_at_eof() {
        assert!(detail(b"%PDF-1.4\n((((((( /JS").is_empty());
        assert!(detail(b"%PDF-1.4\n) /JS").len() == 1);
    }
}
