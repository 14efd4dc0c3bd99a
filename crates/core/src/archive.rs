//! Archive walkers. Each hands its members, one at a time, back to the
//! inspector, and enforces the bomb defenses that only it can see: overlapping
//! zip members, lying sizes, absurd ratios.

use std::io::{Cursor, Read};

use crate::vocab::FindingKind;
use crate::identify::FileType;
use crate::inspect::Inspector;
use crate::limits::Budget;

/// Ratios are only judged above this size: small text compresses very well.
const RATIO_FLOOR: u64 = 1 << 20;
/// Caps the xz dictionary an attacker can make us allocate.
const XZ_DICTIONARY_LIMIT_KB: u32 = 256 * 1024;

/// Walks the members of an archive of type `t`.
pub(crate) fn walk(
    ins: &mut Inspector<'_>,
    t: FileType,
    bytes: &[u8],
    location: &str,
    depth: usize,
) {
    match t {
        FileType::Zip => walk_zip(ins, bytes, location, depth),
        FileType::Tar => walk_tar(ins, bytes, location, depth),
        FileType::Gzip | FileType::Bzip2 | FileType::Xz => {
            walk_stream(ins, t, bytes, location, depth)
        }
        FileType::SevenZip => walk_7z(ins, bytes, location, depth),
        FileType::Iso => walk_iso(ins, bytes, location, depth),
        _ => {}
    }
}

/// Member names: UTF-8 when valid, else Shift_JIS (what Japanese Windows
/// writes into zips without the UTF-8 flag), else lossy.
pub(crate) fn decode_name(raw: &[u8]) -> String {
    if let Ok(s) = std::str::from_utf8(raw) {
        return s.to_owned();
    }
    let (s, had_errors) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(raw);
    if had_errors {
        String::from_utf8_lossy(raw).into_owned()
    } else {
        s.into_owned()
    }
}

/// Decompresses `r` (which came from `compressed` bytes) within the budget's
/// allowance, stopping as soon as the ratio betrays a bomb.
pub(crate) fn read_bounded(
    budget: &mut Budget,
    mut r: impl Read,
    compressed: u64,
) -> Result<Vec<u8>, ReadFailure> {
    let allowance = budget.entry_allowance();
    let max_ratio = budget.limits.max_compression_ratio;
    let mut data = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadFailure::Io(e.to_string())),
        };
        data.extend_from_slice(&chunk[..n]);
        let len = data.len() as u64;
        if len > RATIO_FLOOR && len / compressed.max(1) > max_ratio {
            return Err(ReadFailure::Bomb(len / compressed.max(1)));
        }
        if len > allowance {
            return Err(ReadFailure::TooBig(allowance));
        }
    }
    if budget.spend_bytes(data.len() as u64).is_err() {
        return Err(ReadFailure::TooBig(allowance));
    }
    Ok(data)
}

pub(crate) enum ReadFailure {
    Io(String),
    TooBig(u64),
    Bomb(u64),
}

impl std::fmt::Display for ReadFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadFailure::Io(e) => write!(f, "unreadable member: {e}"),
            ReadFailure::TooBig(n) => write!(f, "member decompresses to more than {n} bytes"),
            ReadFailure::Bomb(ratio) => write!(f, "compression ratio above {ratio}:1"),
        }
    }
}

impl ReadFailure {
    fn report(self, ins: &mut Inspector<'_>, location: &str) {
        match self {
            ReadFailure::Io(e) => ins.finding(
                FindingKind::Malformed,
                location,
                format!("unreadable member: {e}"),
            ),
            ReadFailure::TooBig(n) => ins.finding(
                FindingKind::LimitExceeded,
                location,
                format!("member decompresses to more than {n} bytes"),
            ),
            ReadFailure::Bomb(ratio) => ins.finding(
                FindingKind::ArchiveBomb,
                location,
                format!("compression ratio above {ratio}:1"),
            ),
        }
    }
}

fn walk_zip(ins: &mut Inspector<'_>, bytes: &[u8], location: &str, depth: usize) {
    let mut zip = match zip::ZipArchive::new(Cursor::new(bytes)) {
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
        if is_dir {
            continue;
        }
        let here = format!("{location}!{name}");
        if encrypted {
            // The name is still visible: a dangerous one is a finding of its own.
            crate::names::check_name(&name, &here, &mut ins.findings);
            ins.finding(
                FindingKind::EncryptedArchive,
                &here,
                "encrypted member cannot be inspected".into(),
            );
            if ins.budget.take_entry().is_err() {
                return;
            }
            continue;
        }
        if size > RATIO_FLOOR && size / compressed.max(1) > ins.budget.limits.max_compression_ratio
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
            Ok(f) => read_bounded(ins.budget, f, compressed),
            Err(e) => Err(ReadFailure::Io(e.to_string())),
        };
        match data {
            Ok(data) => {
                if ins.member(&name, &data, location, depth).is_err() {
                    return;
                }
            }
            Err(failure) => failure.report(ins, &here),
        }
    }
}

fn walk_tar(ins: &mut Inspector<'_>, bytes: &[u8], location: &str, depth: usize) {
    let mut archive = tar::Archive::new(Cursor::new(bytes));
    let entries = match archive.entries() {
        Ok(e) => e,
        Err(e) => {
            ins.finding(
                FindingKind::UninspectableArchive,
                location,
                format!("corrupt tar: {e}"),
            );
            return;
        }
    };
    for entry in entries {
        if ins.stop_at_bomb(location) {
            return;
        }
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                ins.finding(
                    FindingKind::Malformed,
                    location,
                    format!("corrupt tar entry: {e}"),
                );
                return;
            }
        };
        let kind = entry.header().entry_type();
        let name = decode_name(&entry.path_bytes());
        if kind.is_symlink() || kind.is_hard_link() {
            // A link holds no data, but extracted it still shows its name.
            crate::names::check_name(&name, &format!("{location}!{name}"), &mut ins.findings);
            continue;
        }
        if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            continue;
        }
        // tar does not compress; a compressed tar came through walk_stream.
        let size = entry.header().size().unwrap_or(0);
        match read_bounded(ins.budget, entry, size.max(1)) {
            Ok(data) => {
                if ins.member(&name, &data, location, depth).is_err() {
                    return;
                }
            }
            Err(failure) => failure.report(ins, &format!("{location}!{name}")),
        }
    }
}

/// gzip, bzip2 and xz hold one stream: the member is the stream, named after
/// the archive without its compression suffix.
fn walk_stream(ins: &mut Inspector<'_>, t: FileType, bytes: &[u8], location: &str, depth: usize) {
    let outer = location.rsplit('!').next().unwrap_or(location);
    let inner = strip_compression_suffix(outer);
    let data = match t {
        FileType::Gzip => read_bounded(
            ins.budget,
            flate2::read::MultiGzDecoder::new(bytes),
            bytes.len() as u64,
        ),
        FileType::Bzip2 => read_bounded(
            ins.budget,
            bzip2::read::MultiBzDecoder::new(bytes),
            bytes.len() as u64,
        ),
        _ => read_bounded(
            ins.budget,
            lzma_rust2::XzReader::new_mem_limit(bytes, true, XZ_DICTIONARY_LIMIT_KB),
            bytes.len() as u64,
        ),
    };
    match data {
        // read_bounded already refused a bomb by its ratio.
        Ok(data) => {
            let _ = ins.member(&inner, &data, location, depth);
        }
        Err(failure) => failure.report(ins, location),
    }
}

fn strip_compression_suffix(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    for (suffix, replacement) in [
        (".tgz", ".tar"),
        (".tbz2", ".tar"),
        (".txz", ".tar"),
        (".gz", ""),
        (".bz2", ""),
        (".xz", ""),
    ] {
        if lower.ends_with(suffix) {
            return format!("{}{replacement}", &name[..name.len() - suffix.len()]);
        }
    }
    format!("{name}.decompressed")
}

fn walk_7z(ins: &mut Inspector<'_>, bytes: &[u8], location: &str, depth: usize) {
    use sevenz_rust2::{ArchiveReader, EntryDecision, Error, Password};
    const DICTIONARY_LIMIT_KB: usize = 256 * 1024;
    let mut reader = match ArchiveReader::new_with_memory_limit(
        Cursor::new(bytes),
        Password::empty(),
        DICTIONARY_LIMIT_KB,
    ) {
        Ok(r) => r,
        Err(Error::PasswordRequired | Error::MaybeBadPassword(_)) => {
            ins.finding(
                FindingKind::EncryptedArchive,
                location,
                "7z with encrypted headers: member names hidden".into(),
            );
            return;
        }
        Err(e) => {
            ins.finding(
                FindingKind::UninspectableArchive,
                location,
                format!("unreadable 7z: {e}"),
            );
            return;
        }
    };
    reader.set_thread_count(1);
    // Members of a solid block report no compressed size of their own: the
    // archive's size is the only honest basis for the ratio check.
    let compressed = bytes.len() as u64;
    let result = reader.for_each_entries_with_decision(|entry, r| {
        if ins.stop_at_bomb(location) {
            return Ok(EntryDecision::Stop);
        }
        if entry.is_directory || !entry.has_stream {
            return Ok(EntryDecision::Continue);
        }
        let name = entry.name.clone();
        Ok(match read_bounded(ins.budget, r, compressed) {
            Ok(data) => match ins.member(&name, &data, location, depth) {
                Ok(()) => EntryDecision::Continue,
                // The budget is spent: nothing more will be inspected.
                Err(_) => EntryDecision::Stop,
            },
            Err(failure) => {
                // A block read halfway cannot go on; later blocks still can.
                failure.report(ins, &format!("{location}!{name}"));
                EntryDecision::SkipBlock
            }
        })
    });
    match result {
        Ok(()) => {}
        Err(Error::PasswordRequired | Error::MaybeBadPassword(_)) => {
            let names: Vec<String> = reader
                .archive()
                .files
                .iter()
                .map(|f| f.name.clone())
                .collect();
            for name in names {
                let here = format!("{location}!{name}");
                crate::names::check_name(&name, &here, &mut ins.findings);
                ins.finding(
                    FindingKind::EncryptedArchive,
                    &here,
                    "encrypted member cannot be inspected".into(),
                );
            }
        }
        Err(e) => ins.finding(
            FindingKind::UninspectableArchive,
            location,
            format!("7z: {e}"),
        ),
    }
}

const SECTOR: usize = 2048;
const MAX_DIR_DEPTH: usize = 16;

fn walk_iso(ins: &mut Inspector<'_>, b: &[u8], location: &str, depth: usize) {
    // Prefer the Joliet tree (Unicode names) over the 8.3 primary tree.
    let mut root = None;
    for n in 16..48 {
        let Some(vd) = b.get(n * SECTOR..(n + 1) * SECTOR) else {
            break;
        };
        if &vd[1..6] != b"CD001" || vd[0] == 255 {
            break;
        }
        let joliet = vd[0] == 2 && matches!(&vd[88..91], b"%/@" | b"%/C" | b"%/E");
        if vd[0] == 1 || joliet {
            let rec = &vd[156..190];
            let lba = crate::identify::u32_le(rec, 2).unwrap_or(0) as usize;
            let len = crate::identify::u32_le(rec, 10).unwrap_or(0) as usize;
            if joliet || root.is_none() {
                root = Some((lba, len, joliet));
            }
        }
    }
    let Some((lba, len, joliet)) = root else {
        ins.finding(
            FindingKind::UninspectableArchive,
            location,
            "ISO without a readable volume descriptor".into(),
        );
        return;
    };
    let mut visited = Vec::new();
    if let Err(what) = iso_dir(
        ins,
        b,
        location,
        depth,
        (lba, len, joliet),
        "",
        0,
        &mut visited,
    ) {
        ins.finding(FindingKind::Malformed, location, what);
    }
}

#[allow(clippy::too_many_arguments)]
fn iso_dir(
    ins: &mut Inspector<'_>,
    b: &[u8],
    location: &str,
    depth: usize,
    (lba, len, joliet): (usize, usize, bool),
    prefix: &str,
    dir_depth: usize,
    visited: &mut Vec<usize>,
) -> Result<(), String> {
    if dir_depth > MAX_DIR_DEPTH || visited.contains(&lba) {
        return Err("directory loop or too deep".into());
    }
    visited.push(lba);
    let start = lba.checked_mul(SECTOR).ok_or("bad extent")?;
    let dir = b
        .get(start..start.saturating_add(len).min(b.len()))
        .ok_or("directory outside image")?;
    let mut pos = 0;
    while pos < dir.len() {
        let rec_len = dir[pos] as usize;
        if rec_len == 0 {
            pos = (pos / SECTOR + 1) * SECTOR;
            continue;
        }
        let Some(rec) = dir.get(pos..pos + rec_len).filter(|r| r.len() >= 34) else {
            return Err("truncated directory record".into());
        };
        pos += rec_len;
        let name_len = rec[32] as usize;
        let Some(raw_name) = rec.get(33..33 + name_len) else {
            continue;
        };
        if raw_name == [0] || raw_name == [1] {
            continue;
        }
        let name = if joliet {
            let units: Vec<u16> = raw_name
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16_lossy(&units)
        } else {
            String::from_utf8_lossy(raw_name).into_owned()
        };
        let name = name
            .split(';')
            .next()
            .unwrap_or(&name)
            .trim_end_matches('.')
            .to_owned();
        let path = if prefix.is_empty() {
            name
        } else {
            format!("{prefix}/{name}")
        };
        let extent = crate::identify::u32_le(rec, 2).unwrap_or(0) as usize;
        let size = crate::identify::u32_le(rec, 10).unwrap_or(0) as usize;
        if rec[25] & 0x02 != 0 {
            iso_dir(
                ins,
                b,
                location,
                depth,
                (extent, size, joliet),
                &path,
                dir_depth + 1,
                visited,
            )?;
            continue;
        }
        let data_start = extent.saturating_mul(SECTOR);
        let Some(data) = b.get(data_start..data_start.saturating_add(size)) else {
            ins.finding(
                FindingKind::Malformed,
                &format!("{location}!{path}"),
                "file extent outside the image".into(),
            );
            continue;
        };
        // Extents may be shared; each read counts, so aliasing cannot amplify.
        if ins.budget.spend_bytes(data.len() as u64).is_err() {
            ins.finding(
                FindingKind::LimitExceeded,
                location,
                "ISO members exceed the decompression budget".into(),
            );
            return Ok(());
        }
        if ins.member(&path, data, location, depth).is_err() {
            return Ok(());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_jis_names() {
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("会議資料.exe");
        assert_eq!(decode_name(&sjis), "会議資料.exe");
        assert_eq!(decode_name("資料.pdf".as_bytes()), "資料.pdf");
    }

    #[test]
    fn tar_link_names_are_checked() {
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        tar.append_link(&mut header, "請求書.pdf.exe", "/bin/sh")
            .expect("append");
        let bytes = tar.into_inner().expect("tar");
        let findings = crate::internal::walk_archive(FileType::Tar, &bytes);
        assert!(
            findings
                .iter()
                .any(|f| f.kind == FindingKind::DoubleExtension && f.location.ends_with(".exe")),
            "{findings:?}"
        );
    }

    #[test]
    fn compression_suffixes() {
        assert_eq!(strip_compression_suffix("a.tar.gz"), "a.tar");
        assert_eq!(strip_compression_suffix("a.TGZ"), "a.tar");
        assert_eq!(strip_compression_suffix("blob"), "blob.decompressed");
    }
}
