//! OLE2 compound files (doc, xls, ppt): VBA storages and XLM macro sheets.

use std::io::{Cursor, Read};

use crate::finding::{Finding, FindingKind};

const VBA_STORAGES: [&str; 4] = ["macros", "_vba_project_cur", "vba", "_vba_project"];
/// Caps the BIFF stream read while looking for macro sheets.
const MAX_WORKBOOK_BYTES: u64 = 64 << 20;

/// Findings from the directory and workbook stream of an OLE2 file.
pub(crate) fn inspect(bytes: &[u8], location: &str, out: &mut Vec<Finding>) {
    let mut push = |kind, detail: String| {
        out.push(Finding {
            kind,
            location: location.to_owned(),
            detail,
        })
    };
    let mut cf = match cfb::CompoundFile::open(Cursor::new(bytes)) {
        Ok(cf) => cf,
        Err(e) => {
            push(FindingKind::Malformed, format!("corrupt OLE2 file: {e}"));
            return;
        }
    };
    let mut vba = Vec::new();
    let mut workbook = None;
    for entry in cf.walk() {
        let name = entry.name().to_ascii_lowercase();
        if entry.is_storage() && VBA_STORAGES.contains(&name.as_str()) {
            vba.push(entry.path().display().to_string());
        }
        if entry.is_stream()
            && entry.path().parent() == Some(std::path::Path::new("/"))
            && (name == "workbook" || name == "book")
        {
            workbook = Some(entry.path().to_owned());
        }
    }
    if !vba.is_empty() {
        push(
            FindingKind::Macro,
            format!("VBA storages: {}", vba.join(", ")),
        );
    }
    if let Some(path) = workbook {
        let mut stream = Vec::new();
        let read = cf
            .open_stream(&path)
            .and_then(|s| s.take(MAX_WORKBOOK_BYTES).read_to_end(&mut stream));
        match read {
            Ok(_) => {
                let sheets = xlm_macro_sheets(&stream);
                if !sheets.is_empty() {
                    push(
                        FindingKind::Macro,
                        format!("Excel 4.0 (XLM) macro sheets: {}", sheets.join(", ")),
                    );
                }
            }
            Err(e) => push(FindingKind::Malformed, format!("unreadable workbook: {e}")),
        }
    }
}

/// Names of BIFF8 BOUNDSHEET records whose sheet type is a macro sheet.
fn xlm_macro_sheets(stream: &[u8]) -> Vec<String> {
    const BOUNDSHEET: u16 = 0x0085;
    const EOF: u16 = 0x000A;
    let mut sheets = Vec::new();
    let mut pos = 0;
    while let Some(hdr) = stream.get(pos..pos + 4) {
        let kind = u16::from_le_bytes([hdr[0], hdr[1]]);
        let len = u16::from_le_bytes([hdr[2], hdr[3]]) as usize;
        let Some(data) = stream.get(pos + 4..pos + 4 + len) else {
            break;
        };
        if kind == BOUNDSHEET && data.len() >= 8 && data[5] == 0x01 {
            let n = data[6] as usize;
            let name = if data[7] & 1 == 1 {
                let units: Vec<u16> = data[8..]
                    .chunks_exact(2)
                    .take(n)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect();
                String::from_utf16_lossy(&units)
            } else {
                data[8..].iter().take(n).map(|&c| c as char).collect()
            };
            sheets.push(name);
        }
        // The first EOF closes the workbook globals, where BOUNDSHEETs live.
        if kind == EOF {
            break;
        }
        pos += 4 + len;
    }
    sheets
}
