//! Archive walkers (zip, tar, gzip/bzip2/xz/zstd, 7z, LZH, ARJ, ISO 9660). Each hands its
//! members, one at a time, to a [`Members`] sink (the inspector), and
//! enforces the bomb defenses only it can see: overlapping zip members,
//! lying sizes, absurd ratios.

mod arj;
mod iso;
mod lzh;
mod repack;
mod sevenz;
mod stream;
mod tar;
mod zip;

use crate::identify::FileType;
use crate::limits::{Budget, Exhausted};
use crate::vocab::FindingKind;

use super::common::{Disarmed, FormatError, ReadFailure};

/// Where a walker hands what it finds. The inspector implements it, so the
/// walkers need not know who inspects the members.
pub(crate) trait Members {
    /// The message's budget, which every member is read against.
    fn budget(&mut self) -> &mut Budget;
    /// Records a finding at `location`.
    fn finding(&mut self, kind: FindingKind, location: &str, detail: String);
    /// Whether a bomb already found means the rest need not be read.
    fn stop_at_bomb(&mut self, location: &str) -> bool;
    /// Inspects one member of the archive at `archive_location`, nested
    /// `depth` archives deep; `Err` tells the walker to stop.
    fn member(
        &mut self,
        name: &str,
        data: &[u8],
        archive_location: &str,
        depth: usize,
    ) -> Result<(), Exhausted>;
    /// A member that holds no data but still shows a name (a link, an
    /// encrypted entry): the name alone is checked.
    fn name_only(&mut self, name: &str, location: &str);
}

/// Who decides, member by member, what an archive rebuilt without its
/// unwanted members keeps. The engine implements it from the findings the
/// inspection made at each member's location.
pub(crate) trait Rebuilder {
    /// The message's budget, which members read again are read against.
    fn budget(&mut self) -> &mut Budget;
    /// Whether the member at `location` is kept as it came.
    fn clean(&mut self, location: &str) -> bool;
    /// A member that is not clean, rebuilt (its new name, and what was
    /// taken out of it), or `None` to leave it out.
    fn rework(&mut self, name: &str, data: &[u8], location: &str) -> Option<(String, Disarmed)>;
}

/// Whether archives of type `t` are rebuilt member by member instead of
/// removed whole when some members are not wanted. A disk image is not: it
/// is removed for what it is.
pub(crate) fn rebuilds(t: FileType) -> bool {
    t.is_archive() && t != FileType::Iso
}

/// Whether `bytes`, of true type `t`, hold a zip behind other data: a zip
/// container (a zip, an Office or OpenDocument package) that does not
/// start the file, or a file of another type that a zip ends. Zip
/// readers find the archive from its end, and whatever opens the file by
/// its name reads the front: a polyglot is never delivered as it came.
pub(crate) fn has_prefix(t: FileType, bytes: &[u8]) -> bool {
    if !t.is_zip_based() {
        return crate::identify::ends_with_zip(bytes);
    }
    // A zip whose directory places it later in the file than where the
    // file starts has something in front, even when that starts with "PK"
    // (another zip: readers that scan forward see that one).
    !bytes.starts_with(b"PK")
        || match crate::identify::zip_end(bytes).map(|z| z.start) {
            Some(Some(start)) => start > 0,
            // zip64 keeps its offsets elsewhere: ask the zip reader.
            Some(None) => {
                ::zip::ZipArchive::new(std::io::Cursor::new(bytes)).is_ok_and(|z| z.offset() > 0)
            }
            None => false,
        }
}

/// Bytes after the end record of a zip-based file (and its comment): a
/// second archive there is what readers that search for one (RAR, 7-Zip,
/// self-extractors) open, and what a zip reader never shows.
pub(crate) fn appended(t: FileType, bytes: &[u8]) -> usize {
    if !t.is_zip_based() {
        return 0;
    }
    crate::identify::zip_end(bytes).map_or(0, |z| bytes.len().saturating_sub(z.end))
}

/// Rebuilds the archive at `location` with the members `judge` keeps, as
/// they came or reworked; the others are left out, a line each in
/// `removed`. A zip stays a zip; other archives become one.
pub(crate) fn rebuild(
    t: FileType,
    bytes: &[u8],
    location: &str,
    judge: &mut dyn Rebuilder,
) -> Result<Disarmed, FormatError> {
    match t {
        FileType::Zip => zip::rebuild(bytes, location, judge),
        t if rebuilds(t) => repack::repack(t, bytes, location, judge),
        _ => Err(FormatError::Unsupported(format!(
            "{} archives are not rebuilt member by member",
            t.name()
        ))),
    }
}

/// Walks the members of an archive of type `t`.
pub(crate) fn walk(ins: &mut dyn Members, t: FileType, bytes: &[u8], location: &str, depth: usize) {
    match t {
        FileType::Zip => zip::walk(ins, bytes, location, depth),
        FileType::Tar => tar::walk(ins, bytes, location, depth),
        FileType::Gzip | FileType::Bzip2 | FileType::Xz | FileType::Zstd => {
            stream::walk(ins, t, bytes, location, depth)
        }
        FileType::Lzh => lzh::walk(ins, bytes, location, depth),
        FileType::Arj => arj::walk(ins, bytes, location, depth),
        FileType::SevenZip => sevenz::walk(ins, bytes, location, depth),
        FileType::Iso => iso::walk(ins, bytes, location, depth),
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

/// A member that could not be read, as a finding.
fn report(failure: ReadFailure, ins: &mut dyn Members, location: &str) {
    match failure {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_jis_names() {
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("会議資料.exe");
        assert_eq!(decode_name(&sjis), "会議資料.exe");
        assert_eq!(decode_name("資料.pdf".as_bytes()), "資料.pdf");
    }
}
