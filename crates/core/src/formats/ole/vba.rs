//! VBA projects (MS-OVBA): module source, decompressed for the report, so
//! that a finding says which macros run on opening and what they call.

use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};

/// Cap on one decompressed module or `dir` stream.
const MAX_SOURCE: usize = 8 << 20;
/// Modules read from one project.
const MAX_MODULES: usize = 256;
/// Cap on a compressed stream read from the compound file.
const MAX_STREAM: u64 = 16 << 20;

/// Procedures Office runs by themselves.
const AUTO_RUN: [&str; 12] = [
    "AutoOpen",
    "AutoExec",
    "AutoClose",
    "AutoNew",
    "Document_Open",
    "Document_Close",
    "Document_New",
    "Workbook_Open",
    "Workbook_Activate",
    "Auto_Open",
    "Auto_Close",
    "_Layout",
];

/// Calls that download, run or hide something.
const SUSPICIOUS: [&str; 14] = [
    "Shell",
    "CreateObject",
    "GetObject",
    "URLDownloadToFile",
    "PowerShell",
    "WScript",
    "MSXML2.XMLHTTP",
    "ADODB.Stream",
    "CallByName",
    "Environ",
    "Kill",
    "Chr(",
    "ExecuteExcel4Macro",
    "Declare ",
];

/// The VBA projects of a compound file, read once: a one-line summary for
/// the report and the decompressed source for rules to scan.
pub(crate) struct Vba {
    pub(crate) summary: String,
    pub(crate) source: String,
}

/// What the VBA projects of a compound file hold; `None` when no module
/// could be read.
pub(crate) fn read_projects(cf: &mut cfb::CompoundFile<Cursor<&[u8]>>) -> Option<Vba> {
    let projects: Vec<PathBuf> = cf
        .walk()
        .filter(|e| e.is_stream() && e.name().eq_ignore_ascii_case("dir"))
        .filter_map(|e| e.path().parent().map(Path::to_owned))
        .collect();
    let mut modules = Vec::new();
    let mut source = String::new();
    for project in projects {
        for (name, text) in modules_of(cf, &project) {
            source.push_str(&format!("' module {name}\n{text}\n"));
            modules.push(name);
        }
    }
    if modules.is_empty() {
        return None;
    }
    let words = |list: &[&str]| -> Vec<String> {
        list.iter()
            .filter(|w| contains_word(&source, w))
            .map(|w| w.trim_end_matches(['(', ' ']).to_owned())
            .collect()
    };
    let mut summary = format!("modules {}", modules.join(", "));
    let auto = words(&AUTO_RUN);
    if !auto.is_empty() {
        summary.push_str(&format!("; runs on opening: {}", auto.join(", ")));
    }
    let suspicious = words(&SUSPICIOUS);
    if !suspicious.is_empty() {
        summary.push_str(&format!("; calls: {}", suspicious.join(", ")));
    }
    Some(Vba { summary, source })
}

/// Case-insensitive match not inside a longer identifier.
fn contains_word(text: &str, word: &str) -> bool {
    let (text, word) = (text.to_ascii_lowercase(), word.to_ascii_lowercase());
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(&word).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + word.len()..].chars().next();
        let glued_before = before.is_some_and(ident);
        let glued_after = word.ends_with(ident) && after.is_some_and(ident);
        !(glued_before || glued_after)
    })
}

fn read(cf: &mut cfb::CompoundFile<Cursor<&[u8]>>, path: &Path) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    cf.open_stream(path)
        .and_then(|s| s.take(MAX_STREAM).read_to_end(&mut out))
        .ok()?;
    Some(out)
}

/// Name and source of each module of the project in `storage` (the one that
/// holds `dir`).
fn modules_of(cf: &mut cfb::CompoundFile<Cursor<&[u8]>>, storage: &Path) -> Vec<(String, String)> {
    let Some(dir) = read(cf, &storage.join("dir")).and_then(|d| decompress(&d)) else {
        return Vec::new();
    };
    let mut codepage = 1252u16;
    let mut modules = Vec::new();
    let (mut name, mut stream, mut offset) = (String::new(), String::new(), 0u32);
    let mut pos = 0;
    while let Some(head) = dir.get(pos..pos + 6) {
        let id = u16::from_le_bytes([head[0], head[1]]);
        let size = u32::from_le_bytes([head[2], head[3], head[4], head[5]]) as usize;
        // PROJECTVERSION's size field is a fixed 4, but 6 bytes follow it.
        let size = if id == 0x0009 { 6 } else { size };
        let Some(data) = dir.get(pos + 6..pos + 6 + size) else {
            break;
        };
        match id {
            0x0003 if data.len() >= 2 => codepage = u16::from_le_bytes([data[0], data[1]]),
            0x0019 => name = decode(data, codepage),
            0x001A => stream = decode(data, codepage),
            0x0031 if data.len() >= 4 => {
                offset = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
            }
            0x002B => {
                if modules.len() >= MAX_MODULES {
                    break;
                }
                let source = read(cf, &storage.join(&stream))
                    .and_then(|s| s.get(offset as usize..).and_then(decompress))
                    .map(|s| decode(&s, codepage))
                    .unwrap_or_default();
                modules.push((std::mem::take(&mut name), source));
                stream.clear();
                offset = 0;
            }
            _ => {}
        }
        pos += 6 + size;
    }
    modules
}

/// Module text in the project's code page (932 for Japanese Office).
fn decode(bytes: &[u8], codepage: u16) -> String {
    let encoding = match codepage {
        932 | 10001 => encoding_rs::SHIFT_JIS,
        936 => encoding_rs::GBK,
        949 => encoding_rs::EUC_KR,
        950 => encoding_rs::BIG5,
        65001 => encoding_rs::UTF_8,
        cp @ 874..=1258 => encoding_rs::Encoding::for_label(format!("windows-{cp}").as_bytes())
            .unwrap_or(encoding_rs::WINDOWS_1252),
        _ => encoding_rs::WINDOWS_1252,
    };
    encoding.decode_without_bom_handling(bytes).0.into_owned()
}

/// MS-OVBA 2.4.1: a signature byte, then chunks of up to 4096 bytes, each
/// stored raw or as LZ77-style tokens. `None` when the container is broken.
pub(crate) fn decompress(data: &[u8]) -> Option<Vec<u8>> {
    if data.first() != Some(&1) {
        return None;
    }
    let mut out = Vec::new();
    let mut pos = 1;
    while pos + 2 <= data.len() {
        let header = u16::from_le_bytes([data[pos], data[pos + 1]]);
        let size = usize::from(header & 0x0FFF) + 3;
        let compressed = header & 0x8000 != 0;
        let end = (pos + size).min(data.len());
        let chunk = &data[pos + 2..end];
        pos = end;
        let start = out.len();
        if !compressed {
            out.extend_from_slice(&chunk[..chunk.len().min(4096)]);
        } else {
            let mut i = 0;
            'chunk: while i < chunk.len() {
                let flags = chunk[i];
                i += 1;
                for bit in 0..8 {
                    if i >= chunk.len() {
                        break 'chunk;
                    }
                    if flags & (1 << bit) == 0 {
                        out.push(chunk[i]);
                        i += 1;
                        continue;
                    }
                    let token = u16::from_le_bytes([chunk[i], *chunk.get(i + 1)?]);
                    i += 2;
                    let difference = out.len() - start;
                    let bits = (usize::BITS - difference.saturating_sub(1).leading_zeros()).max(4);
                    let length_mask = 0xFFFFu16 >> bits;
                    let length = usize::from(token & length_mask) + 3;
                    let offset = usize::from((token & !length_mask) >> (16 - bits)) + 1;
                    if offset > difference {
                        return None;
                    }
                    for _ in 0..length {
                        out.push(out[out.len() - offset]);
                    }
                }
            }
        }
        if out.len() > MAX_SOURCE {
            return None;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decompresses_the_specification_examples() {
        // MS-OVBA 3.2.3 (normal compression).
        let plain = [
            0x01, 0x2F, 0xB0, 0x00, 0x23, 0x61, 0x61, 0x61, 0x62, 0x63, 0x64, 0x65, 0x82, 0x66,
            0x00, 0x70, 0x61, 0x67, 0x68, 0x69, 0x6A, 0x01, 0x38, 0x08, 0x61, 0x6B, 0x6C, 0x00,
            0x30, 0x6D, 0x6E, 0x6F, 0x70, 0x06, 0x71, 0x02, 0x70, 0x04, 0x10, 0x72, 0x73, 0x74,
            0x75, 0x76, 0x10, 0x77, 0x78, 0x79, 0x7A, 0x00, 0x3C,
        ];
        assert_eq!(
            decompress(&plain).unwrap(),
            b"#aaabcdefaaaaghijaaaaaklaaamnopqaaaaaaaaaaaarstuvwxyzaaa"
        );
        // One literal, then one token copying it 14 times (offset 1).
        let repeated = [0x01, 0x03, 0xB0, 0x02, 0x61, 0x0B, 0x00];
        assert_eq!(decompress(&repeated).unwrap(), b"aaaaaaaaaaaaaaa");
        assert!(decompress(&[0x01, 0x03, 0xB0, 0x02, 0x61, 0xFF, 0xFF]).is_none());
        assert!(decompress(b"").is_none());
    }

    #[test]
    fn words_are_matched_whole() {
        assert!(contains_word("Sub AutoOpen()\n Shell \"x\"", "autoopen"));
        assert!(contains_word("x = Chr(65)", "Chr("));
        assert!(!contains_word("Sub MyAutoOpenHelper()", "AutoOpen"));
        assert!(!contains_word("ShellExecuteHelper", "Shell"));
    }
}
