//! Checks on file names: dangerous extensions, double extensions, bidi tricks,
//! and names or declared types that disagree with the true type.

use crate::finding::Finding;
use crate::identify::{Family, FileType};
use crate::vocab::FindingKind;

/// Extensions Windows runs on double click.
const EXECUTABLE: &[&str] = &[
    "exe",
    "com",
    "scr",
    "pif",
    "dll",
    "cpl",
    "msi",
    "msp",
    "mst",
    "msc",
    "sys",
    "drv",
    "ocx",
    "jar",
    "gadget",
    "application",
    "appref-ms",
    "xbap",
    "xll",
    "msix",
    "msixbundle",
    "appx",
    "appxbundle",
    "apk",
];
const SCRIPT: &[&str] = &[
    "js", "jse", "vbs", "vbe", "wsf", "wsh", "wsc", "hta", "ps1", "psm1", "psd1", "ps1xml", "bat",
    "cmd", "sct", "reg", "inf", "vb", "ws", "mjs",
];
const SHORTCUT: &[&str] = &[
    "lnk",
    "url",
    "scf",
    "settingcontent-ms",
    "library-ms",
    "search-ms",
];
const DISK_IMAGE: &[&str] = &["iso", "img", "udf", "vhd", "vhdx"];
const ONENOTE: &[&str] = &["one", "onepkg"];
const HELP: &[&str] = &["chm", "hlp"];

/// Bidirectional controls that make `invoice_<RLO>fdp.exe` display as `invoice_exe.pdf`.
pub(crate) const BIDI: &[char] = &[
    '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}', '\u{2066}', '\u{2067}', '\u{2068}',
    '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
];

/// The base name split at its last dot: the stem and the extension,
/// lower-cased, with the dots and spaces Windows ignores removed
/// (`report.exe.` and `report.\u{2006}exe` run as `report.exe`).
fn split_extension(name: &str) -> Option<(&str, String)> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let base = base.trim_end_matches(|c: char| c == '.' || c.is_whitespace());
    let (stem, ext) = base.rsplit_once('.')?;
    let ext = ext.trim().to_ascii_lowercase();
    (!ext.is_empty()).then_some((stem, ext))
}

/// The last extension; see [`split_extension`].
pub(crate) fn extension(name: &str) -> Option<String> {
    split_extension(name).map(|(_, ext)| ext)
}

/// What a reader's client renders a part as. Markup is judged by its
/// content first; text without the markers sniffing looks for (a bare
/// `<img src=x onerror=...>`, an SVG behind a long comment) is still
/// rendered as HTML or SVG when its declared type or file name says so, so
/// it is inspected and rebuilt as such.
pub(crate) fn rendered_as(
    true_type: FileType,
    name: Option<&str>,
    declared: Option<&str>,
) -> FileType {
    if !matches!(true_type, FileType::Text | FileType::Xml) {
        return true_type;
    }
    // As Windows reads it: `invoice.html.` opens as HTML too.
    let ext = name.and_then(extension);
    let declared = |mime: &str| declared.is_some_and(|d| d.eq_ignore_ascii_case(mime));
    if declared("image/svg+xml") || ext.as_deref() == Some("svg") {
        FileType::Svg
    } else if declared("text/html")
        || declared("application/xhtml+xml")
        || matches!(ext.as_deref(), Some("htm" | "html" | "xhtml" | "shtml"))
    {
        FileType::Html
    } else {
        true_type
    }
}

/// A message as a file: a saved multipart message or MHT page whatever
/// its name, or anything that starts like a message under a name a mail
/// client or browser opens as one (`.eml`, `.mht`).
pub(crate) fn is_message_file(b: &[u8], name: Option<&str>) -> bool {
    crate::identify::is_saved_message(b)
        || name
            .and_then(extension)
            .is_some_and(|ext| matches!(ext.as_str(), "eml" | "mht" | "mhtml" | "mhtm"))
            && crate::identify::starts_like_message(b)
}

fn class_of(ext: &str) -> Option<FindingKind> {
    let is = |list: &[&str]| list.contains(&ext);
    if is(EXECUTABLE) {
        Some(FindingKind::Executable)
    } else if is(SCRIPT) {
        Some(FindingKind::Script)
    } else if is(SHORTCUT) {
        Some(FindingKind::Shortcut)
    } else if is(DISK_IMAGE) {
        Some(FindingKind::DiskImage)
    } else if is(ONENOTE) {
        Some(FindingKind::OneNote)
    } else if is(HELP) {
        Some(FindingKind::HelpFile)
    } else {
        None
    }
}

/// Findings from a name alone. A name with a NUL is also judged as a C
/// string would read it: `evil.exe\0.pdf` runs as `evil.exe`.
pub(crate) fn check_name(name: &str, location: &str, out: &mut Vec<Finding>) {
    check_one_name(name, location, out);
    if let Some((head, _)) = name.split_once('\0') {
        let before = out.len();
        check_one_name(head, location, out);
        for f in &mut out[before..] {
            f.detail.push_str(" (name truncated at NUL)");
        }
    }
}

fn check_one_name(name: &str, location: &str, out: &mut Vec<Finding>) {
    let finding = |kind, detail: String| Finding {
        kind,
        location: location.to_owned(),
        detail,
        rule: None,
    };
    if name.chars().any(|c| BIDI.contains(&c)) {
        let shown: String = name
            .chars()
            .map(|c| if BIDI.contains(&c) { '?' } else { c })
            .collect();
        out.push(finding(
            FindingKind::BidiOverride,
            format!("name contains bidirectional control characters: {shown:?}"),
        ));
    }
    let Some((stem, ext)) = split_extension(name) else {
        return;
    };
    let Some(kind) = class_of(&ext) else { return };
    out.push(finding(kind, format!("dangerous extension .{ext}")));

    let padded =
        stem.ends_with("  ") || stem.ends_with(|c: char| c.is_whitespace() && !c.is_ascii());
    // Only a known harmless-looking inner extension is a disguise: `v1.2.exe` is not.
    if let Some(inner) = extension(stem)
        && family_of_extension(&inner).is_some()
        && (class_of(&inner).is_none() || padded)
    {
        out.push(finding(
            FindingKind::DoubleExtension,
            format!("name shows .{inner} but is .{ext}"),
        ));
    } else if padded {
        out.push(finding(
            FindingKind::DoubleExtension,
            format!("extension .{ext} hidden behind padding"),
        ));
    }
}

/// Families a name's extension promises, for the mismatch check. `None` for
/// extensions that promise nothing in particular.
fn family_of_extension(ext: &str) -> Option<Family> {
    let f = match ext {
        "pdf" => Family::Pdf,
        "rtf" => Family::Rtf,
        "doc" | "dot" | "docx" | "docm" | "dotx" | "dotm" | "xls" | "xlt" | "xlsx" | "xlsm"
        | "xltx" | "xltm" | "xlsb" | "xlam" | "ppt" | "pot" | "pps" | "pptx" | "pptm" | "potx"
        | "potm" | "ppsx" | "ppsm" | "odt" | "ods" | "odp" | "odg" => Family::Office,
        "zip" | "7z" | "rar" | "tar" | "gz" | "tgz" | "bz2" | "xz" | "cab" | "lzh" | "lha"
        | "arj" => Family::Archive,
        "png" | "jpg" | "jpeg" | "gif" | "bmp" | "tif" | "tiff" | "webp" | "ico" => Family::Image,
        "txt" | "csv" | "log" => Family::Text,
        "htm" | "html" | "xhtml" | "svg" | "xml" => Family::Markup,
        _ => class_of(ext).map(|k| match k {
            FindingKind::Executable => Family::Executable,
            FindingKind::Script => Family::Script,
            FindingKind::Shortcut => Family::Shortcut,
            FindingKind::DiskImage => Family::DiskImage,
            FindingKind::OneNote => Family::OneNote,
            _ => Family::Help,
        })?,
    };
    Some(f)
}

fn family_of_mime(mime: &str) -> Option<Family> {
    let f = match mime {
        "application/pdf" => Family::Pdf,
        "application/rtf" | "text/rtf" => Family::Rtf,
        "application/zip"
        | "application/x-zip-compressed"
        | "application/x-7z-compressed"
        | "application/x-rar-compressed"
        | "application/vnd.rar"
        | "application/gzip"
        | "application/x-gzip"
        | "application/x-tar" => Family::Archive,
        "application/msword" | "application/vnd.ms-excel" | "application/vnd.ms-powerpoint" => {
            Family::Office
        }
        m if m.starts_with("application/vnd.openxmlformats-officedocument.")
            || m.starts_with("application/vnd.oasis.opendocument.")
            || m.starts_with("application/vnd.ms-word.")
            || m.starts_with("application/vnd.ms-excel.")
            || m.starts_with("application/vnd.ms-powerpoint.") =>
        {
            Family::Office
        }
        m if m.starts_with("image/") && m != "image/svg+xml" => Family::Image,
        _ => return None,
    };
    Some(f)
}

/// Whether a true type may honestly carry a name of `claimed` family.
fn compatible(true_type: FileType, claimed: Family) -> bool {
    let actual = true_type.family();
    actual == claimed
        || match (actual, claimed) {
            // Unknown or empty content does not contradict anything by itself.
            (Family::Unknown, _) => true,
            // Office files are zips or OLE; text formats travel as text.
            (Family::Archive, Family::Office) | (Family::Office, Family::Archive) => true,
            (Family::Text, Family::Office | Family::Markup | Family::Rtf) => true,
            (Family::Markup, Family::Text | Family::Office) => true,
            _ => false,
        }
}

/// A true type that disagrees with the name or the declared type.
pub(crate) fn check_mismatch(
    true_type: FileType,
    name: Option<&str>,
    declared_mime: Option<&str>,
    location: &str,
    out: &mut Vec<Finding>,
) {
    let mut claims = Vec::new();
    if let Some(ext) = name.and_then(extension)
        && let Some(f) = family_of_extension(&ext)
    {
        claims.push((f, format!("name ends in .{ext}")));
    }
    if let Some(mime) = declared_mime
        && let Some(f) = family_of_mime(mime)
    {
        claims.push((f, format!("declared as {mime}")));
    }
    for (claimed, what) in claims {
        if !compatible(true_type, claimed) {
            out.push(Finding {
                kind: FindingKind::TypeMismatch,
                location: location.to_owned(),
                detail: format!("{what} but content is {}", true_type.name()),
                rule: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(name: &str) -> Vec<FindingKind> {
        let mut out = Vec::new();
        check_name(name, name, &mut out);
        out.into_iter().map(|f| f.kind).collect()
    }

    #[test]
    fn extensions() {
        assert_eq!(extension("a/b/Report.PDF"), Some("pdf".into()));
        assert_eq!(extension("run.exe. . "), Some("exe".into()));
        assert_eq!(extension("README"), None);
        assert_eq!(extension(".hidden"), Some("hidden".into()));
    }

    #[test]
    fn double_extensions() {
        use FindingKind::*;
        assert_eq!(kinds("invoice.pdf.exe"), [Executable, DoubleExtension]);
        assert_eq!(kinds("report.pdf      .exe"), [Executable, DoubleExtension]);
        assert_eq!(kinds("report.docx.js"), [Script, DoubleExtension]);
        assert_eq!(kinds("Invoice.pdf.lnk"), [Shortcut, DoubleExtension]);
        assert_eq!(kinds("setup.exe"), [Executable]);
        assert_eq!(kinds("setup-v1.2.exe"), [Executable]);
        assert!(kinds("backup.tar.gz").is_empty());
        assert!(kinds("会議資料.pdf").is_empty());
    }

    #[test]
    fn unicode_spaces_do_not_hide_extensions() {
        use FindingKind::*;
        // Regression: fuzz/names crash-e09964d6 (slicing inside U+2006).
        assert_eq!(kinds("e..pdif!.\u{2006}exe"), [Executable]);
        assert_eq!(
            kinds("invoice.pdf\u{3000}.exe"),
            [Executable, DoubleExtension]
        );
        assert_eq!(kinds("run.exe\u{2006}"), [Executable]);
    }

    #[test]
    fn nul_truncation() {
        use FindingKind::*;
        assert_eq!(kinds("evil.exe\0.pdf"), [Executable]);
    }

    #[test]
    fn bidi_override() {
        use FindingKind::*;
        assert_eq!(kinds("invoice_\u{202E}fdp.exe"), [BidiOverride, Executable]);
        assert_eq!(kinds("photo_\u{202E}gpj.txt"), [BidiOverride]);
    }

    #[test]
    fn mismatch() {
        let mut out = Vec::new();
        check_mismatch(FileType::Pe, Some("invoice.pdf"), None, "x", &mut out);
        check_mismatch(
            FileType::Docx,
            Some("a.docx"),
            Some("application/zip"),
            "x",
            &mut out,
        );
        check_mismatch(
            FileType::Text,
            Some("a.csv"),
            Some("text/plain"),
            "x",
            &mut out,
        );
        check_mismatch(FileType::Zip, None, Some("application/pdf"), "x", &mut out);
        let details: Vec<_> = out.iter().map(|f| f.detail.as_str()).collect();
        assert_eq!(
            details,
            [
                "name ends in .pdf but content is pe",
                "declared as application/pdf but content is zip"
            ]
        );
    }
}
