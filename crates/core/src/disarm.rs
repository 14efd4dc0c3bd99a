//! The disarm dispatcher: rebuild one part without its active content, by
//! its format, or as the content policy rebuilds its kind. The engine then
//! inspects the result again and delivers it only if nothing active is left.

use crate::formats::{Disarmed, Document, FormatError, count, html, image, pdf, svg};
use crate::identify::FileType;
use crate::limits::Budget;
use crate::policy::{ContentPolicy, HtmlMode, LinkMode, Rebuild};

/// Rebuilds `bytes` (of true type `t`) without active content, or says why
/// it cannot be done. `document` is the part as inspection opened it, when
/// it is a document; without it (a fuzz target, a disarm asked of a part
/// whose document did not open) it is opened here.
pub(crate) fn disarm<'a>(
    bytes: &'a [u8],
    t: FileType,
    document: Option<Document<'a>>,
    links: LinkMode,
    budget: &mut Budget,
) -> Result<Disarmed, FormatError> {
    // What default-deny never delivers is not rebuilt either: a copy
    // without its macros would still be a file of no kind mugai checks.
    if let Some((_, why)) = crate::inspect::unverified(t) {
        return Err(FormatError::Unsupported(format!("not rebuilt: {why}")));
    }
    let disarmed = match t {
        FileType::Pdf => pdf::disarm(bytes, links, budget),
        FileType::Svg => svg::disarm(bytes),
        // Re-encoded from their pixels: nothing else survives, a zip
        // appended to the file included.
        FileType::Png
        | FileType::Jpeg
        | FileType::Gif
        | FileType::Bmp
        | FileType::Tiff
        | FileType::Webp => image::disarm(bytes, t, &budget.limits),
        _ => {
            let document = match document {
                Some(d) => d,
                None => match Document::open(bytes, t, budget) {
                    Some(opened) => opened?,
                    None => {
                        return Err(FormatError::Unsupported(format!(
                            "{} files cannot be disarmed yet",
                            t.name()
                        )));
                    }
                },
            };
            document.disarm(budget)
        }
    }?;
    // A rebuild that keeps the bytes around what it took out can keep a
    // zip whose end record ends the file too (an RTF that never closes
    // its group): zip readers would still find it, so it is no rebuild.
    if !t.is_zip_based() && crate::identify::ends_with_zip(&disarmed.bytes) {
        return Err(FormatError::Unsupported(
            "a zip still ends the rebuilt file".into(),
        ));
    }
    Ok(disarmed)
}

/// A part rebuilt because the content policy says so, declared anew when
/// its type or name changed (HTML → text).
#[derive(Debug)]
pub(crate) struct Rebuilt {
    pub(crate) disarmed: Disarmed,
    pub(crate) content_type: Option<String>,
    pub(crate) name: Option<String>,
}

/// What one part is, as the content policy sees it.
pub(crate) struct PartInfo<'a> {
    pub(crate) true_type: FileType,
    pub(crate) declared_type: &'a str,
    pub(crate) charset: Option<&'a str>,
    pub(crate) name: Option<&'a str>,
}

/// Rebuilds a part that no finding asked to disarm, when the content policy
/// rebuilds its kind: `None` when it does not.
pub(crate) fn rebuild(
    bytes: &[u8],
    part: &PartInfo,
    content: &ContentPolicy,
    budget: &mut Budget,
) -> Option<Result<Rebuilt, FormatError>> {
    use FileType::*;
    let same = |r: Result<Disarmed, FormatError>| {
        r.map(|disarmed| Rebuilt {
            disarmed,
            content_type: None,
            name: None,
        })
    };
    let body = part.name.is_none();
    let kind = crate::names::rendered_as(part.true_type, part.name, Some(part.declared_type));
    match kind {
        Pdf if content.pdf == Rebuild::Always => {
            Some(same(pdf::disarm(bytes, content.links, budget)))
        }
        Png | Jpeg | Gif | Bmp | Tiff | Webp if content.images == Rebuild::Always => {
            Some(same(image::disarm(bytes, part.true_type, &budget.limits)))
        }
        Svg if content.svg == Rebuild::Always => Some(same(svg::disarm(bytes))),
        Html if content.html != HtmlMode::Keep => Some(Ok(rebuild_html(bytes, part, content))),
        _ if body && part.declared_type == "text/plain" && content.links == LinkMode::Defang => {
            let text = crate::mime::decode_charset(bytes, part.charset);
            let (text, n) = html::defang_text(&text);
            (n > 0).then(|| {
                Ok(Rebuilt {
                    disarmed: Disarmed {
                        bytes: text.into_bytes(),
                        removed: vec![count(n, "link defanged", "links defanged")],
                    },
                    content_type: Some("text/plain; charset=utf-8".into()),
                    name: None,
                })
            })
        }
        _ => None,
    }
}

/// HTML as the policy wants it: sanitized, or as text when asked or when
/// it cannot be sanitized safely.
fn rebuild_html(bytes: &[u8], part: &PartInfo, content: &ContentPolicy) -> Rebuilt {
    let source = crate::mime::decode_charset(bytes, part.charset);
    let mut removed = Vec::new();
    if content.html == HtmlMode::Sanitize {
        match html::sanitize(&source, content.links) {
            Ok((clean, tally)) => {
                return Rebuilt {
                    disarmed: Disarmed {
                        bytes: clean.into_bytes(),
                        removed: tally,
                    },
                    content_type: Some("text/html; charset=utf-8".into()),
                    name: part.name.map(str::to_owned),
                };
            }
            Err(why) => removed.push(why),
        }
    }
    let (text, links) = html::to_text(&source, content.links);
    removed.push("HTML converted to text".into());
    if links > 0 {
        removed.push(count(
            links,
            "link target written out",
            "link targets written out",
        ));
    }
    Rebuilt {
        disarmed: Disarmed {
            bytes: text.into_bytes(),
            removed,
        },
        content_type: Some("text/plain; charset=utf-8".into()),
        name: part.name.map(|n| format!("{n}.txt")),
    }
}

/// The file name for a disarmed part: a macro-enabled extension becomes the
/// macro-free one when the content did (`報告.docm` → `報告.docx`), and an
/// archive rebuilt as a zip is named one (`資料.tar.gz` → `資料.zip`).
pub(crate) fn rename(name: &str, t: FileType) -> String {
    if t == FileType::Zip {
        return zip_name(name);
    }
    const RENAMES: [(&str, &str, FileType); 9] = [
        ("docm", "docx", FileType::Docx),
        ("dotm", "dotx", FileType::Docx),
        ("xlsm", "xlsx", FileType::Xlsx),
        ("xltm", "xltx", FileType::Xlsx),
        ("xlam", "xlsx", FileType::Xlsx),
        ("pptm", "pptx", FileType::Pptx),
        ("potm", "potx", FileType::Pptx),
        ("ppsm", "ppsx", FileType::Pptx),
        ("ppam", "pptx", FileType::Pptx),
    ];
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return name.to_owned();
    };
    match RENAMES
        .iter()
        .find(|(from, _, to)| ext.eq_ignore_ascii_case(from) && *to == t)
    {
        Some((_, new, _)) if ext.chars().all(|c| c.is_ascii_uppercase()) => {
            format!("{stem}.{}", new.to_ascii_uppercase())
        }
        Some((_, new, _)) => format!("{stem}.{new}"),
        None => name.to_owned(),
    }
}

/// `name` with its archive extension (`.tar.gz`, `.7z`, `.lzh`, ...)
/// replaced by `.zip`; a name with none gets `.zip` added.
fn zip_name(name: &str) -> String {
    const ARCHIVE: [&str; 17] = [
        ".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst", ".tgz", ".tbz2", ".txz", ".tzst", ".tar",
        ".7z", ".lzh", ".lha", ".arj", ".gz", ".bz2", ".xz", ".zst",
    ];
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".zip") {
        return name.to_owned();
    }
    let stem = ARCHIVE
        .iter()
        .find(|ext| lower.ends_with(*ext))
        .map_or(name, |ext| &name[..name.len() - ext.len()]);
    if name.chars().all(|c| !c.is_ascii_lowercase()) && name.chars().any(|c| c.is_ascii_uppercase())
    {
        format!("{stem}.ZIP")
    } else {
        format!("{stem}.zip")
    }
}

/// The MIME type a disarmed part is declared as, when its declared one named
/// the macro-enabled format or another archive than the zip it became.
pub(crate) fn content_type(declared: &str, t: FileType) -> String {
    if t == FileType::Zip {
        let zip = ["application/zip", "application/x-zip-compressed"];
        return if zip.iter().any(|z| declared.eq_ignore_ascii_case(z)) {
            declared.to_owned()
        } else {
            "application/zip".into()
        };
    }
    if !declared.to_ascii_lowercase().contains("macroenabled") {
        return declared.to_owned();
    }
    match t {
        FileType::Docx => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        FileType::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        FileType::Pptx => {
            "application/vnd.openxmlformats-officedocument.presentationml.presentation"
        }
        _ => "application/octet-stream",
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info<'a>(t: FileType, declared: &'a str, name: Option<&'a str>) -> PartInfo<'a> {
        PartInfo {
            true_type: t,
            declared_type: declared,
            charset: None,
            name,
        }
    }

    #[test]
    fn markup_without_markers_is_rebuilt_as_it_renders() {
        let content = ContentPolicy::inbound();
        let mut budget = Budget::new(&crate::limits::Limits::default());
        let html = b"<img src=x onerror=alert(1)><p>invoice</p>";
        let t = crate::identify(html);
        assert_eq!(t, FileType::Text, "sniffing sees no HTML marker here");
        for part in [
            info(t, "application/octet-stream", Some("invoice.html")),
            info(t, "text/html", Some("invoice.dat")),
            info(t, "text/html", None),
            // The dot and space Windows ignores do not hide the extension.
            info(t, "application/octet-stream", Some("invoice.HTML. ")),
        ] {
            let out = rebuild(html, &part, &content, &mut budget)
                .expect("rebuilt")
                .expect("sanitized");
            let out = String::from_utf8(out.disarmed.bytes).unwrap();
            assert!(!out.contains("onerror"), "{out}");
        }
        let svg = [
            b"<!--".as_slice(),
            &[b'x'; 2048],
            b"--><svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>",
        ]
        .concat();
        let t = crate::identify(&svg);
        assert_ne!(t, FileType::Svg, "the root is beyond what sniffing reads");
        let out = rebuild(
            &svg,
            &info(t, "application/octet-stream", Some("chart.svg")),
            &content,
            &mut budget,
        )
        .expect("rebuilt")
        .expect("clean");
        assert!(!String::from_utf8_lossy(&out.disarmed.bytes).contains("onload"));
        // Plain text named as text stays text.
        assert!(
            rebuild(
                b"a < b",
                &info(FileType::Text, "text/plain", Some("a.txt")),
                &content,
                &mut budget
            )
            .is_none()
        );
    }

    #[test]
    fn renames_follow_the_content() {
        assert_eq!(rename("資料.docm", FileType::Docx), "資料.docx");
        assert_eq!(rename("BOOK.XLSM", FileType::Xlsx), "BOOK.XLSX");
        assert_eq!(rename("a.pptm", FileType::Pptm), "a.pptm");
        assert_eq!(rename("a.xlsb", FileType::Xlsb), "a.xlsb");
        assert_eq!(rename("noext", FileType::Docx), "noext");
        assert_eq!(rename("資料.tar.gz", FileType::Zip), "資料.zip");
        assert_eq!(rename("OLD.LZH", FileType::Zip), "OLD.ZIP");
        assert_eq!(rename("a.zip", FileType::Zip), "a.zip");
        assert_eq!(rename("blob", FileType::Zip), "blob.zip");
        assert_eq!(
            content_type("application/x-7z-compressed", FileType::Zip),
            "application/zip"
        );
    }

    #[test]
    fn content_types_follow_the_content() {
        assert_eq!(
            content_type(
                "application/vnd.ms-word.document.macroEnabled.12",
                FileType::Docx
            ),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        );
        assert_eq!(
            content_type("application/octet-stream", FileType::Docx),
            "application/octet-stream"
        );
    }
}
