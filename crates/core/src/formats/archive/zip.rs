//! Zip: members as the central directory lists them, with checks against
//! overlapping members and lying sizes before anything is inflated.

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use crate::vocab::FindingKind;

use super::{Members, Rebuilder, decode_name};
use crate::formats::common::{Disarmed, FormatError, RATIO_FLOOR, ReadFailure, read_bounded};

pub(super) fn walk(ins: &mut dyn Members, bytes: &[u8], location: &str, depth: usize) {
    let mut zip = match ZipArchive::new(Cursor::new(bytes)) {
        Ok(z) => z,
        Err(e) => {
            ins.finding(
                FindingKind::UninspectableArchive,
                location,
                format!("corrupt zip: {e}"),
            );
            return;
        }
    };
    // Overlapping members (Fifield's non-recursive bomb) are refused before
    // anything is decompressed.
    let mut spans = Vec::with_capacity(zip.len());
    for i in 0..zip.len() {
        let Ok(f) = zip.by_index_raw(i) else { continue };
        let end = f
            .data_start()
            .unwrap_or(f.header_start())
            .saturating_add(f.compressed_size());
        spans.push((f.header_start(), end));
    }
    spans.sort_unstable();
    // Sorted by start. Two members at the same offset share data even when
    // a span is empty (no known data start, nothing compressed).
    if spans
        .windows(2)
        .any(|w| w[1].0 < w[0].1 || w[1].0 == w[0].0)
    {
        ins.finding(
            FindingKind::ArchiveBomb,
            location,
            format!(
                "{} members whose data overlap (non-recursive zip bomb)",
                zip.len()
            ),
        );
        return;
    }
    for i in 0..zip.len() {
        if ins.stop_at_bomb(location) {
            return;
        }
        let (name, encrypted, size, compressed, is_dir) = match zip.by_index_raw(i) {
            Ok(f) => (
                decode_name(f.name_raw()),
                f.encrypted(),
                f.size(),
                f.compressed_size(),
                f.is_dir(),
            ),
            Err(e) => {
                ins.finding(FindingKind::Malformed, location, format!("member {i}: {e}"));
                continue;
            }
        };
        // A directory holds nothing; one that claims data is read like a
        // file, so nothing behind a trailing slash goes unread.
        if is_dir && size == 0 {
            continue;
        }
        let here = format!("{location}!{name}");
        if encrypted {
            // The name is still visible: a dangerous one is a finding of its own.
            ins.name_only(&name, &here);
            ins.finding(
                FindingKind::EncryptedArchive,
                &here,
                "encrypted member cannot be inspected".into(),
            );
            if ins.budget().take_entry().is_err() {
                return;
            }
            continue;
        }
        if size > RATIO_FLOOR
            && size / compressed.max(1) > ins.budget().limits.max_compression_ratio
        {
            ins.finding(
                FindingKind::ArchiveBomb,
                &here,
                format!(
                    "compression ratio {}:1 ({size} bytes from {compressed})",
                    size / compressed.max(1)
                ),
            );
            continue;
        }
        let data = match zip.by_index(i) {
            Ok(f) => read_bounded(ins.budget(), f, compressed),
            Err(e) => Err(ReadFailure::Io(e.to_string())),
        };
        match data {
            Ok(data) => {
                if ins.member(&name, &data, location, depth).is_err() {
                    return;
                }
            }
            Err(failure) => super::report(failure, ins, &here),
        }
    }
}

/// The zip again, with the members `judge` keeps: clean ones copied as
/// stored (same compressed bytes, name and flags), reworked ones written
/// anew, the rest left out; whatever stood in front of it is gone.
pub(super) fn rebuild(
    bytes: &[u8],
    location: &str,
    judge: &mut dyn Rebuilder,
) -> Result<Disarmed, FormatError> {
    let broken = |e: zip::result::ZipError| FormatError::Malformed(format!("zip: {e}"));
    let mut zip = ZipArchive::new(Cursor::new(bytes)).map_err(broken)?;
    let mut out = ZipWriter::new(Cursor::new(Vec::with_capacity(bytes.len())));
    let mut removed = Vec::new();
    if zip.offset() > 0 {
        removed.push(format!("{} bytes in front of the archive", zip.offset()));
    }
    let after = super::appended(crate::identify::FileType::Zip, bytes);
    if after > 0 {
        removed.push(format!("{after} bytes after the end of the archive"));
    }
    let mut kept = 0;
    for i in 0..zip.len() {
        let (name, compressed, empty_dir) = {
            let f = zip.by_index_raw(i).map_err(broken)?;
            let empty_dir = f.is_dir() && f.size() == 0;
            (decode_name(f.name_raw()), f.compressed_size(), empty_dir)
        };
        let here = format!("{location}!{name}");
        if empty_dir {
            // Written anew: a directory keeps its name and nothing else.
            out.add_directory(name.as_str(), SimpleFileOptions::default())
                .map_err(broken)?;
            continue;
        }
        if judge.clean(&here) {
            out.raw_copy_file(zip.by_index_raw(i).map_err(broken)?)
                .map_err(broken)?;
            kept += 1;
            continue;
        }
        // Encrypted or unreadable members have nothing to rework.
        let data = match zip.by_index(i) {
            Ok(f) => read_bounded(judge.budget(), f, compressed).ok(),
            Err(_) => None,
        };
        match data.and_then(|d| judge.rework(&name, &d, &here)) {
            Some((new_name, rebuilt)) => {
                kept += 1;
                let options =
                    SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
                out.start_file(new_name.as_str(), options).map_err(broken)?;
                out.write_all(&rebuilt.bytes)
                    .map_err(|e| FormatError::Malformed(format!("zip: {e}")))?;
                let named = if new_name == name {
                    name.clone()
                } else {
                    format!("{name} (now {new_name})")
                };
                removed.extend(rebuilt.removed.iter().map(|r| format!("{named}: {r}")));
            }
            None => removed.push(format!("{name}: removed from the archive")),
        }
    }
    if kept == 0 {
        return Err(FormatError::Unsupported(
            "no member of the archive could be kept".into(),
        ));
    }
    let bytes = out.finish().map_err(broken)?.into_inner();
    Ok(Disarmed { bytes, removed })
}
