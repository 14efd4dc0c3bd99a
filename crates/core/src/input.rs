//! Turning files into messages: `.eml` as is, mbox split into messages, any
//! other file wrapped as an attachment, and `.in.zip` sample containers
//! (a zip holding the base64 text of something dangerous, so that the corpus
//! never stores live-looking files raw) decoded first.

use std::io::{Cursor, Read};

use base64::Engine as _;

use crate::wrap_attachment;

/// One message to process, with a label saying where it came from.
#[derive(Debug, Clone)]
pub struct Item {
    /// `file`, `file#3` for the third message of an mbox.
    pub label: String,
    /// The message bytes.
    pub message: Vec<u8>,
}

/// Why a file could not be turned into messages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// A `.in.zip` container that does not hold exactly one `.b64` entry, or
    /// one that could not be written.
    #[error("bad sample container: {0}")]
    Container(String),
}

/// The largest decoded sample a container may hold.
const MAX_SAMPLE_BYTES: u64 = 64 << 20;

/// Decodes a `.in.zip` container into the original name and bytes.
pub fn decode_container(bytes: &[u8]) -> Result<(String, Vec<u8>), InputError> {
    let bad = |why: &str| InputError::Container(why.to_owned());
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| bad(&e.to_string()))?;
    if zip.len() != 1 {
        return Err(bad("expected exactly one entry"));
    }
    let entry = zip.by_index(0).map_err(|e| bad(&e.to_string()))?;
    let name = entry
        .name()
        .map_err(|e| bad(&e.to_string()))?
        .strip_suffix(".b64")
        .ok_or_else(|| bad("entry is not .b64"))?
        .to_owned();
    let mut text = Vec::new();
    entry
        .take(MAX_SAMPLE_BYTES * 2)
        .read_to_end(&mut text)
        .map_err(|e| bad(&e.to_string()))?;
    text.retain(|c| !c.is_ascii_whitespace());
    let data = base64::engine::general_purpose::STANDARD
        .decode(&text)
        .map_err(|e| bad(&e.to_string()))?;
    Ok((name, data))
}

/// A corpus file as name and content: a `.in.zip` container decoded into
/// the file it holds, anything else as it is.
pub fn sample_file(file_name: &str, bytes: Vec<u8>) -> Result<(String, Vec<u8>), InputError> {
    if file_name.ends_with(".in.zip") {
        decode_container(&bytes)
    } else {
        Ok((file_name.to_owned(), bytes))
    }
}

/// Encodes a file into a `.in.zip` container (the inverse of [`decode_container`]).
pub fn encode_container(name: &str, bytes: &[u8]) -> Result<Vec<u8>, InputError> {
    use std::io::Write;
    let bad = |e: &dyn std::fmt::Display| InputError::Container(e.to_string());
    let b64 = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut text = String::with_capacity(b64.len() + b64.len() / 76 + 1);
    for chunk in b64.as_bytes().chunks(76) {
        text.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        text.push('\n');
    }
    let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    out.start_file(format!("{name}.b64"), options)
        .map_err(|e| bad(&e))?;
    out.write_all(text.as_bytes()).map_err(|e| bad(&e))?;
    Ok(out.finish().map_err(|e| bad(&e))?.into_inner())
}

/// The messages a file holds, by its name and content.
pub fn items(name: &str, bytes: &[u8], eol: &str) -> Result<Vec<Item>, InputError> {
    if name.ends_with(".in.zip") {
        let (inner, data) = decode_container(bytes)?;
        let mut found = items(&inner, &data, eol)?;
        for item in &mut found {
            item.label = item.label.replacen(&inner, name, 1);
        }
        return Ok(found);
    }
    let lower = name.to_ascii_lowercase();
    let item = |label: String, message: Vec<u8>| Item { label, message };
    if lower.ends_with(".eml") {
        return Ok(vec![item(name.to_owned(), bytes.to_vec())]);
    }
    if lower.ends_with(".mbox") || bytes.starts_with(b"From ") && bytes.contains(&b'\n') {
        let messages: Vec<Item> =
            mail_parser::mailbox::mbox::MessageIterator::new(Cursor::new(bytes))
                .filter_map(Result::ok)
                .enumerate()
                .map(|(i, m)| item(format!("{name}#{}", i + 1), m.contents().to_vec()))
                .collect();
        if !messages.is_empty() {
            return Ok(messages);
        }
    }
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    Ok(vec![item(
        name.to_owned(),
        wrap_attachment(base, bytes, eol),
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn container_round_trip() {
        let zip = encode_container("evil.pdf.exe", b"MZ\x90\x00payload").unwrap();
        assert_eq!(
            decode_container(&zip).unwrap(),
            ("evil.pdf.exe".into(), b"MZ\x90\x00payload".to_vec())
        );
        let items = items("x/evil.pdf.exe.in.zip", &zip, "\r\n").unwrap();
        assert_eq!(items.len(), 1);
        assert!(items[0].message.starts_with(b"From: scan@mugai.invalid"));
    }

    #[test]
    fn mbox_is_split() {
        let mbox = b"From a@b Mon Jan  1 00:00:00 2024\nSubject: 1\n\none\n\nFrom a@b Mon Jan  1 00:00:00 2024\nSubject: 2\n\ntwo\n";
        let items = items("box", mbox, "\n").unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].label, "box#2");
    }
}
