//! True type of a blob from its bytes: magic numbers and container structure,
//! never the name or the declared MIME type.

use std::io::{Cursor, Read};

use serde::{Deserialize, Serialize};

/// The true type of a part or archive member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
#[allow(missing_docs)] // the names are the documentation
pub enum FileType {
    // Things that run.
    Pe,
    Elf,
    MachO,
    Msi,
    Jar,
    Script,
    Hta,
    Lnk,
    // Things Windows mounts.
    Iso,
    Udf,
    Vhd,
    Vhdx,
    DiskImg,
    // Other carriers.
    OneNote,
    Chm,
    // Archives and compressed streams.
    Zip,
    SevenZip,
    Rar,
    Tar,
    Gzip,
    Bzip2,
    Xz,
    Zstd,
    Lzh,
    Arj,
    Cab,
    // Office.
    Docx,
    Docm,
    Xlsx,
    Xlsm,
    Xlsb,
    Pptx,
    Pptm,
    Ooxml,
    Odf,
    Doc,
    Xls,
    Ppt,
    Ole,
    EncryptedOffice,
    // Documents and markup.
    Pdf,
    Rtf,
    Html,
    Svg,
    Xml,
    // Images.
    Png,
    Jpeg,
    Gif,
    Bmp,
    Tiff,
    Webp,
    Ico,
    // A MIME document as a file: a saved message, or an MHT web archive
    // that Word and browsers open as a page.
    Mime,
    // An Outlook message saved as a compound file (`.msg`).
    Msg,
    // The rest.
    Text,
    Empty,
    Unknown,
}

impl FileType {
    /// The snake_case name used in reports.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Archives whose members mugai walks.
    pub(crate) fn is_archive(self) -> bool {
        matches!(
            self,
            FileType::Zip
                | FileType::SevenZip
                | FileType::Tar
                | FileType::Gzip
                | FileType::Bzip2
                | FileType::Xz
                | FileType::Zstd
                | FileType::Lzh
                | FileType::Arj
                | FileType::Iso
        )
    }

    /// Zip containers: what a reader opens from the zip's end, wherever it
    /// starts.
    pub(crate) fn is_zip_based(self) -> bool {
        use FileType::*;
        matches!(
            self,
            Zip | Docx | Docm | Xlsx | Xlsm | Xlsb | Pptx | Pptm | Ooxml | Odf | Jar
        )
    }

    /// Broad families, to tell a harmless mismatch (docx named .zip) from a
    /// disguise (exe named .pdf).
    pub(crate) fn family(self) -> Family {
        use FileType::*;
        match self {
            Pe | Elf | MachO | Msi | Jar => Family::Executable,
            Script | Hta => Family::Script,
            Lnk => Family::Shortcut,
            Iso | Udf | Vhd | Vhdx | DiskImg => Family::DiskImage,
            OneNote => Family::OneNote,
            Chm => Family::Help,
            Zip | SevenZip | Rar | Tar | Gzip | Bzip2 | Xz | Zstd | Lzh | Arj | Cab => {
                Family::Archive
            }
            Docx | Docm | Xlsx | Xlsm | Xlsb | Pptx | Pptm | Ooxml | Odf | Doc | Xls | Ppt
            | Ole | EncryptedOffice => Family::Office,
            Pdf => Family::Pdf,
            Rtf => Family::Rtf,
            Html | Svg | Xml => Family::Markup,
            Png | Jpeg | Gif | Bmp | Tiff | Webp | Ico => Family::Image,
            Text | Mime | Msg => Family::Text,
            Empty | Unknown => Family::Unknown,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Family {
    Executable,
    Script,
    Shortcut,
    DiskImage,
    OneNote,
    Help,
    Archive,
    Office,
    Pdf,
    Rtf,
    Markup,
    Image,
    Text,
    Unknown,
}

const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
const ONENOTE_MAGIC: &[u8] = &[
    0xE4, 0x52, 0x5C, 0x7B, 0x8C, 0xD8, 0xA7, 0x4D, 0xAE, 0xB1, 0x53, 0x78, 0xD0, 0x29, 0x96, 0xD3,
];
/// Cabinets (OneNote .onepkg files are cabinets too; the name tells them apart).
const CAB_MAGIC: &[u8] = b"MSCF";
const LNK_MAGIC: &[u8] = &[
    0x4C, 0x00, 0x00, 0x00, 0x01, 0x14, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x46,
];
const MSI_CLSID: [u8; 16] = [
    0x84, 0x10, 0x0C, 0x00, 0x00, 0x00, 0x00, 0x00, 0xC0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x46,
];

/// Identifies a blob by its content.
pub fn identify(bytes: &[u8]) -> FileType {
    if bytes.is_empty() {
        return FileType::Empty;
    }
    if let Some(t) = by_magic(bytes) {
        return refine(t, bytes);
    }
    sniff_text(bytes)
}

fn by_magic(b: &[u8]) -> Option<FileType> {
    let at = |off: usize, magic: &[u8]| b.get(off..off + magic.len()) == Some(magic);
    let t = if at(0, b"MZ") && is_pe(b) {
        FileType::Pe
    } else if at(0, b"\x7FELF") {
        FileType::Elf
    } else if at(0, &[0xFE, 0xED, 0xFA, 0xCE])
        || at(0, &[0xFE, 0xED, 0xFA, 0xCF])
        || at(0, &[0xCE, 0xFA, 0xED, 0xFE])
        || at(0, &[0xCF, 0xFA, 0xED, 0xFE])
    {
        FileType::MachO
    } else if at(0, LNK_MAGIC) {
        FileType::Lnk
    } else if at(0, OLE_MAGIC) {
        FileType::Ole
    } else if at(0, ONENOTE_MAGIC) {
        FileType::OneNote
    } else if at(0, b"ITSF") {
        FileType::Chm
    } else if at(0, b"PK\x03\x04") || at(0, b"PK\x05\x06") || at(0, b"PK\x07\x08") {
        FileType::Zip
    } else if at(0, b"7z\xBC\xAF\x27\x1C") {
        FileType::SevenZip
    } else if at(0, b"Rar!\x1A\x07") {
        FileType::Rar
    } else if at(0, CAB_MAGIC) {
        FileType::Cab
    } else if at(0, &[0x1F, 0x8B]) {
        FileType::Gzip
    } else if at(0, b"BZh") && b.get(3).is_some_and(|c| (b'1'..=b'9').contains(c)) {
        FileType::Bzip2
    } else if at(0, &[0xFD, b'7', b'z', b'X', b'Z', 0x00]) {
        FileType::Xz
    } else if at(0, &[0x28, 0xB5, 0x2F, 0xFD]) {
        FileType::Zstd
    } else if is_lzh(b) {
        FileType::Lzh
    } else if is_arj(b) {
        FileType::Arj
    } else if at(257, b"ustar") {
        FileType::Tar
    } else if at(0x8001, b"CD001") || at(0x8801, b"CD001") || at(0x9001, b"CD001") {
        FileType::Iso
    } else if at(0x8001, b"BEA01") || at(0x8001, b"NSR02") || at(0x8001, b"NSR03") {
        FileType::Udf
    } else if at(0, b"vhdxfile") {
        FileType::Vhdx
    } else if at(0, b"conectix")
        || b.len() >= 512 && &b[b.len() - 512..b.len() - 504] == b"conectix"
    {
        FileType::Vhd
    } else if is_disk_boot_sector(b) {
        FileType::DiskImg
    } else if at(0, b"%PDF-") || find(&b[..b.len().min(1024)], b"%PDF-").is_some() {
        FileType::Pdf
    } else if at(0, b"{\\rt") {
        // Word opens "{\rt" as RTF, so attackers drop the "f".
        FileType::Rtf
    } else if at(0, b"\x89PNG\r\n\x1A\n") {
        FileType::Png
    } else if at(0, &[0xFF, 0xD8, 0xFF]) {
        FileType::Jpeg
    } else if at(0, b"GIF87a") || at(0, b"GIF89a") {
        FileType::Gif
    } else if at(0, b"BM") && b.len() >= 26 && u32_le(b, 2).is_some_and(|n| n as usize >= 26) {
        FileType::Bmp
    } else if at(0, b"II*\x00") || at(0, b"MM\x00*") {
        FileType::Tiff
    } else if at(0, b"RIFF") && at(8, b"WEBP") {
        FileType::Webp
    } else if at(0, &[0x00, 0x00, 0x01, 0x00]) && b.len() > 6 && b[4] > 0 && b[5] == 0 {
        FileType::Ico
    } else if has_zip_directory(b) {
        // A zip behind a prefix: readers find it from its end.
        FileType::Zip
    } else {
        return None;
    };
    Some(t)
}

/// An LHA header: `-lh?-`, `-lz?-` or `-pm?-` at offset 2, and a header
/// level (0 to 3) where every level keeps it.
fn is_lzh(b: &[u8]) -> bool {
    b.len() >= 22
        && b[2] == b'-'
        && b[6] == b'-'
        && matches!(&b[3..5], b"lh" | b"lz" | b"pm")
        && b[20] <= 3
}

/// Where a zip's end-of-central-directory record says things are: the
/// last such record in the file's last 64 KB.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ZipEnd {
    /// Just past the record and its comment: the archive's last byte + 1.
    pub(crate) end: usize,
    /// Where the archive begins, counted back from its directory; `None`
    /// for zip64, which records that elsewhere.
    pub(crate) start: Option<usize>,
}

pub(crate) fn zip_end(b: &[u8]) -> Option<ZipEnd> {
    let tail = b.len().saturating_sub(65_557);
    let at = memchr::memmem::rfind(&b[tail..], b"PK\x05\x06")? + tail;
    let field = |off: usize, n: usize| b.get(at + off..at + off + n);
    let comment = field(20, 2).map_or(0, |c| usize::from(u16::from_le_bytes([c[0], c[1]])));
    let u32_at = |off| field(off, 4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
    let start = match (u32_at(12), u32_at(16)) {
        (Some(size), Some(offset)) if size != u32::MAX && offset != u32::MAX => {
            at.checked_sub(size as usize)?.checked_sub(offset as usize)
        }
        _ => None,
    };
    Some(ZipEnd {
        end: at + 22 + comment,
        start,
    })
}

/// Whether a zip's end-of-central-directory record sits in the last 64 KB
/// and the directory it points to reads.
fn has_zip_directory(b: &[u8]) -> bool {
    zip_end(b).is_some() && zip::ZipArchive::new(Cursor::new(b)).is_ok()
}

/// Whether a zip ends the file: its end-of-central-directory record, with
/// its comment, is the file's last bytes, and the directory reads. A zip
/// stored somewhere inside a document (an OLE2 file holding a docx) does
/// not end it; one appended to make a polyglot does.
pub(crate) fn ends_with_zip(b: &[u8]) -> bool {
    zip_end(b).is_some_and(|z| z.end == b.len()) && zip::ZipArchive::new(Cursor::new(b)).is_ok()
}

/// A DOS header is 64 bytes; anything shorter that starts with "MZ" is text.
/// DOS programs without a PE header still run, so the PE signature is not required.
fn is_pe(b: &[u8]) -> bool {
    b.len() >= 64
}

fn is_disk_boot_sector(b: &[u8]) -> bool {
    b.len() >= 1024
        && b[510] == 0x55
        && b[511] == 0xAA
        && (b[0] == 0xEB || b[0] == 0xE9)
        && (&b[54..59] == b"FAT12"
            || &b[54..59] == b"FAT16"
            || &b[82..87] == b"FAT32"
            || &b[3..11] == b"NTFS    "
            || &b[3..11] == b"EXFAT   ")
}

pub(crate) fn u32_le(b: &[u8], off: usize) -> Option<u32> {
    b.get(off..off + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    memchr::memmem::find(hay, needle)
}

/// Case-insensitive ASCII search, anchored on the first byte with memchr.
pub(crate) fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    let (&first, rest) = needle.split_first()?;
    let candidates =
        memchr::memchr2_iter(first.to_ascii_lowercase(), first.to_ascii_uppercase(), hay);
    for at in candidates {
        if hay
            .get(at + 1..at + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(rest))
        {
            return Some(at);
        }
    }
    None
}

/// Containers are told apart by what they hold.
fn refine(t: FileType, b: &[u8]) -> FileType {
    match t {
        FileType::Zip => refine_zip(b),
        FileType::Ole => refine_ole(b),
        other => other,
    }
}

fn refine_zip(b: &[u8]) -> FileType {
    let Ok(mut zip) = zip::ZipArchive::new(Cursor::new(b)) else {
        return FileType::Zip;
    };
    let names: Vec<String> = zip
        .file_names()
        .filter_map(Result::ok)
        .map(|n| n.into_owned())
        .collect();
    if names.iter().any(|n| n == "[Content_Types].xml") {
        let ct = read_small(&mut zip, "[Content_Types].xml");
        return ooxml_kind(&ct);
    }
    if names.iter().any(|n| n == "mimetype") {
        let mt = read_small(&mut zip, "mimetype");
        if mt.starts_with(b"application/vnd.oasis.opendocument") {
            return FileType::Odf;
        }
    }
    if names
        .iter()
        .any(|n| n.eq_ignore_ascii_case("META-INF/MANIFEST.MF") || n.ends_with(".class"))
    {
        return FileType::Jar;
    }
    FileType::Zip
}

fn read_small<R: std::io::Read + std::io::Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
) -> Vec<u8> {
    let mut out = Vec::new();
    if let Ok(f) = zip.by_name(name) {
        let _ = f.take(1 << 20).read_to_end(&mut out);
    }
    out
}

/// The main part's content type names the kind of OOXML document.
pub(crate) fn ooxml_kind(content_types: &[u8]) -> FileType {
    let has = |s: &str| find_ci(content_types, s.as_bytes()).is_some();
    if has("spreadsheetml.sheet.binary") || has("ms-excel.sheet.binary") {
        FileType::Xlsb
    } else if has("ms-word.document.macroenabled") || has("ms-word.template.macroenabled") {
        FileType::Docm
    } else if has("ms-excel.sheet.macroenabled")
        || has("ms-excel.template.macroenabled")
        || has("ms-excel.addin.macroenabled")
    {
        FileType::Xlsm
    } else if has("ms-powerpoint.presentation.macroenabled")
        || has("ms-powerpoint.slideshow.macroenabled")
        || has("ms-powerpoint.template.macroenabled")
        || has("ms-powerpoint.addin.macroenabled")
    {
        FileType::Pptm
    } else if has("wordprocessingml.document.main") || has("wordprocessingml.template.main") {
        FileType::Docx
    } else if has("spreadsheetml.sheet.main") || has("spreadsheetml.template.main") {
        FileType::Xlsx
    } else if has("presentationml.presentation.main")
        || has("presentationml.slideshow.main")
        || has("presentationml.template.main")
    {
        FileType::Pptx
    } else {
        FileType::Ooxml
    }
}

fn refine_ole(b: &[u8]) -> FileType {
    let Ok(cf) = cfb::CompoundFile::open(Cursor::new(b)) else {
        return FileType::Ole;
    };
    if cf.root_entry().clsid().as_bytes() == &MSI_CLSID {
        return FileType::Msi;
    }
    let has = |name: &str| cf.exists(format!("/{name}"));
    if has("EncryptedPackage") {
        FileType::EncryptedOffice
    } else if has("WordDocument") {
        FileType::Doc
    } else if has("Workbook") || has("Book") {
        FileType::Xls
    } else if has("PowerPoint Document") {
        FileType::Ppt
    } else if crate::msg::looks_like_msg(&cf) {
        FileType::Msg
    } else {
        FileType::Ole
    }
}

/// An ARJ archive: its main header (file type 2) under the `60 EA` magic,
/// no larger than ARJ writes, with its CRC.
fn is_arj(b: &[u8]) -> bool {
    let Some(&[0x60, 0xEA, lo, hi]) = b.get(..4) else {
        return false;
    };
    let size = usize::from(u16::from_le_bytes([lo, hi]));
    let (Some(basic), Some(crc)) = (b.get(4..4 + size), b.get(4 + size..8 + size)) else {
        return false;
    };
    let mut sum = flate2::Crc::new();
    sum.update(basic);
    (30..=2600).contains(&size) && basic.get(6) == Some(&2) && sum.sum().to_le_bytes() == crc
}

/// Text-like content: markup, scripts with telltale markers, plain text.
fn sniff_text(b: &[u8]) -> FileType {
    let head = &b[..b.len().min(64 * 1024)];
    let start = skip_bom_and_space(head);
    let lead = &start[..start.len().min(1024)];
    if lead.starts_with(b"#!") {
        return FileType::Script;
    }
    if find_ci(head, b"<hta:application").is_some() {
        return FileType::Hta;
    }
    if (find_ci(lead, b"<job").is_some() || find_ci(lead, b"<package").is_some())
        && find_ci(head, b"<script").is_some()
    {
        return FileType::Script;
    }
    if lead.len() >= 9 && lead[..9].eq_ignore_ascii_case(b"@echo off") {
        return FileType::Script;
    }
    // Before markup: an MHT holds its page's `<html` in its first part.
    if is_mime_document(start) {
        return FileType::Mime;
    }
    const HTML_MARKERS: [&[u8]; 7] = [
        b"<!doctype html",
        b"<html",
        b"<head",
        b"<body",
        b"<script",
        b"<iframe",
        b"<meta",
    ];
    let html_at = HTML_MARKERS.iter().filter_map(|m| find_ci(lead, m)).min();
    // An SVG drawing inside a page is still the page.
    match (find_ci(lead, b"<svg"), html_at) {
        (Some(svg), html) if html.is_none_or(|h| svg < h) => return FileType::Svg,
        (_, Some(_)) => return FileType::Html,
        _ => {}
    }
    if start.starts_with(b"<?") || namespaced_root(start) {
        return FileType::Xml;
    }
    if looks_like_text(head) {
        FileType::Text
    } else {
        FileType::Unknown
    }
}

/// Header fields first, `MIME-Version` among them, then a multipart body:
/// what MHT files and saved messages look like.
/// A MIME document as a file (a saved message, an MHT page): header
/// fields up to the first blank line, `MIME-Version` and a multipart
/// `Content-Type` among them.
pub(crate) fn is_saved_message(b: &[u8]) -> bool {
    let start = skip_bom_and_space(b);
    // Cheap first: the first line must be a header field.
    let name = start
        .iter()
        .take_while(|&&c| c.is_ascii_alphanumeric() || c == b'-')
        .count();
    if name == 0 || start.get(name) != Some(&b':') || !is_mime_document(start) {
        return false;
    }
    // A header is text: binary that happens to spell the fields is no
    // message (and would not read back the same once written as one).
    // ESC stays: raw ISO-2022-JP turns up in Japanese headers.
    let end = find(start, b"\r\n\r\n")
        .or_else(|| find(start, b"\n\n"))
        .unwrap_or(start.len())
        .min(8192);
    start[..end]
        .iter()
        .all(|&c| c >= 0x20 || matches!(c, b'\t' | b'\r' | b'\n' | 0x1b))
}

/// Whether `b` starts as a message does, whatever its shape (one part
/// too): a header field first, and fields a message has among them. With
/// a name saying `.eml`, that is what a mail client opens as a message.
pub(crate) fn starts_like_message(b: &[u8]) -> bool {
    let start = skip_bom_and_space(b);
    let end = find(start, b"\n\n")
        .or_else(|| find(start, b"\r\n\r\n"))
        .unwrap_or(start.len())
        .min(8192);
    let header = String::from_utf8_lossy(&start[..end]).to_ascii_lowercase();
    let first = header.lines().next().unwrap_or_default();
    let field = first.split_once(':').is_some_and(|(n, _)| {
        !n.is_empty() && n.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-')
    });
    field
        && [
            "from:",
            "subject:",
            "content-type:",
            "mime-version:",
            "date:",
            "received:",
        ]
        .iter()
        .any(|f| header.lines().any(|l| l.starts_with(f)))
}

fn is_mime_document(b: &[u8]) -> bool {
    let end = find(b, b"\r\n\r\n")
        .or_else(|| find(b, b"\n\n"))
        .unwrap_or(b.len().min(4096));
    let header = String::from_utf8_lossy(&b[..end.min(8192)]).to_ascii_lowercase();
    let is_field = |line: &str| {
        line.starts_with([' ', '\t'])
            || line
                .split_once(':')
                .is_some_and(|(name, _)| !name.is_empty() && !name.contains(' '))
    };
    header.lines().all(|l| is_field(l.trim_end_matches('\r')))
        && header.contains("mime-version:")
        && header.contains("content-type: multipart/")
}

/// XML without a declaration, as Word 2003 XML (`<w:wordDocument`), Flat
/// OPC (`<pkg:package`) and flat ODF write it: a root element whose name
/// has a prefix or that declares a namespace. A heading in angle brackets
/// (`<お知らせ>`) is neither.
fn namespaced_root(b: &[u8]) -> bool {
    let Some(tag) = b.strip_prefix(b"<") else {
        return false;
    };
    if !tag.first().is_some_and(u8::is_ascii_alphabetic) {
        return false;
    }
    let tag = &tag[..tag
        .iter()
        .position(|&c| c == b'>')
        .unwrap_or(tag.len().min(4096))];
    let name_end = tag
        .iter()
        .position(|c| c.is_ascii_whitespace() || *c == b'/')
        .unwrap_or(tag.len());
    tag[..name_end].contains(&b':') || find(tag, b"xmlns").is_some()
}

fn skip_bom_and_space(b: &[u8]) -> &[u8] {
    let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    &b[n..]
}

/// Text in any charset Japanese mail uses: no NULs and few control bytes.
/// (UTF-16 text is rare in mail; it is "unknown" and inspected as such.)
fn looks_like_text(b: &[u8]) -> bool {
    let controls = b
        .iter()
        .filter(|&&c| c < 0x20 && !matches!(c, b'\t' | b'\n' | b'\r' | 0x0C | 0x1B))
        .count();
    !b.contains(&0) && controls * 100 <= b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// fuzz tnef d10d9491: binary whose NUL-padded "fields" spell
    /// MIME-Version and a multipart Content-Type was walked as a message,
    /// whose rebuild did not read back the same, and the whole message was
    /// quarantined.
    #[test]
    fn fuzz_tnef_d10d9491_binary_that_spells_fields_is_no_message() {
        let binary = b"x:x\x01\"%\x00\x00W\x00ime-version:~\x00\x97\nmime-version: 1.0\n\
                       content-type: multipart/mixed\x00\x01\n\nbody";
        assert!(!is_saved_message(binary));
        let text =
            b"MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=b\r\n\r\n--b--\r\n";
        assert!(is_saved_message(text));
    }

    #[test]
    fn magic_numbers() {
        assert_eq!(identify(b""), FileType::Empty);
        assert_eq!(identify(b"%PDF-1.7\n"), FileType::Pdf);
        assert_eq!(identify(b"{\\rtf1 hello}"), FileType::Rtf);
        assert_eq!(identify(b"{\\rt hello}"), FileType::Rtf);
        assert_eq!(identify(b"\x7FELF\x02\x01"), FileType::Elf);
        assert_eq!(identify(b"Rar!\x1A\x07\x01\x00"), FileType::Rar);
        assert_eq!(identify(b"GIF89a...."), FileType::Gif);
    }

    #[test]
    fn mime_documents_are_no_text() {
        let mht = b"MIME-Version: 1.0\r\nContent-Type: multipart/related; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/html\r\n\r\n<html><body>x</body></html>\r\n--b--\r\n";
        assert_eq!(identify(mht), FileType::Mime);
        assert_eq!(
            identify("件名: 会議\nMIME-Version は 1.0 です\n".as_bytes()),
            FileType::Text
        );
    }

    #[test]
    fn xml_without_a_declaration_is_xml() {
        for xml in [
            &b"<w:wordDocument xmlns:w='http://schemas.microsoft.com/office/word/2003/wordml'>"[..],
            b"<?mso-application progid=\"Word.Document\"?><w:wordDocument/>",
            b"\xEF\xBB\xBF  <pkg:package xmlns:pkg='http://schemas.microsoft.com/office/2006/xmlPackage'>",
            b"<Workbook xmlns=\"urn:schemas-microsoft-com:office:spreadsheet\">",
        ] {
            assert_eq!(identify(xml), FileType::Xml, "{}", String::from_utf8_lossy(xml));
        }
        for text in [
            "<お知らせ>\n会議は 3 時からです。".as_bytes(),
            b"<b>bold</b> is not a root with a namespace",
            b"< 3 is less than 4",
        ] {
            assert_eq!(
                identify(text),
                FileType::Text,
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn text_like() {
        assert_eq!(identify(b"hello\r\nworld\r\n"), FileType::Text);
        assert_eq!(identify("会議の資料です".as_bytes()), FileType::Text);
        assert_eq!(identify(b"\x1B$B2q5D\x1B(B\r\n"), FileType::Text); // ISO-2022-JP
        assert_eq!(identify(b"  <!DOCTYPE html><html></html>"), FileType::Html);
        assert_eq!(identify(b"<svg xmlns='x'/>"), FileType::Svg);
        assert_eq!(
            identify(b"<html><body><svg></svg></body></html>"),
            FileType::Html
        );
        assert_eq!(identify(b"@ECHO OFF\r\ndel x"), FileType::Script);
        assert_eq!(identify(b"#!/bin/sh\nrm -rf /"), FileType::Script);
        assert_eq!(
            identify(b"<html><HTA:APPLICATION id=x></html>"),
            FileType::Hta
        );
        assert_eq!(identify(b"\x00\x01\x02\x03binary"), FileType::Unknown);
    }

    #[test]
    fn disk_images_and_cabinets() {
        let mut vhd = vec![0u8; 4096];
        let n = vhd.len();
        vhd[n - 512..n - 504].copy_from_slice(b"conectix");
        assert_eq!(identify(&vhd), FileType::Vhd);
        assert_eq!(identify(b"vhdxfile\0\0\0\0"), FileType::Vhdx);
        let mut fat = vec![0u8; 2048];
        fat[0] = 0xEB;
        fat[54..59].copy_from_slice(b"FAT12");
        fat[510] = 0x55;
        fat[511] = 0xAA;
        assert_eq!(identify(&fat), FileType::DiskImg);
        let mut udf = vec![0u8; 0x9000];
        udf[0x8001..0x8006].copy_from_slice(b"BEA01");
        assert_eq!(identify(&udf), FileType::Udf);
        assert_eq!(identify(b"MSCF\0\0\0\0cabinet"), FileType::Cab);
        assert_eq!(identify(b"ITSF\x03\0\0\0"), FileType::Chm);
    }

    #[test]
    fn case_insensitive_search() {
        assert_eq!(find_ci(b"xx<SCRIPT>", b"<script"), Some(2));
        assert_eq!(find_ci(b"<scrip", b"<script"), None);
        assert_eq!(find_ci(b"abc", b""), None);
        assert_eq!(find_ci(b"aAbB", b"ab"), Some(1));
    }

    #[test]
    fn short_mz_text_is_not_a_program() {
        assert_eq!(identify(b"MZ is a nice town"), FileType::Text);
    }
}
