//! Plain text, verified as text: nothing in it that a program runs or
//! fetches when the file is opened. Spreadsheet formulas are `sheet`'s;
//! here are the text formats Windows hands to a program that follows them:
//! Internet and Explorer shortcuts, remote desktop files, Excel web and
//! database queries. An attachment in one of these shapes is a launcher
//! whatever it is named; a body is only displayed.

use crate::formats::common::{Inspection, Item};
use crate::formats::sheet;
use crate::vocab::FindingKind;

/// Only the head is read: launcher files are a few lines.
const HEAD: usize = 64 * 1024;

/// Findings from a text part named `name` (`None` for a body).
pub(crate) fn inspect(bytes: &[u8], name: Option<&str>) -> Inspection {
    let mut found = sheet::inspect(bytes, name);
    if name.is_none() {
        return found;
    }
    let head = &bytes[..bytes.len().min(HEAD)];
    if let Some(what) = launcher(head) {
        found.items.push(Item::new(FindingKind::Shortcut, what));
    }
    // Readers look for `%PDF-` past leading bytes; mugai rebuilds only a
    // PDF that starts as one.
    if memchr::memmem::find(head, b"%PDF-").is_some() {
        found.items.push(Item::new(
            FindingKind::UnknownType,
            "a PDF behind leading text, which readers open and mugai does not rebuild",
        ));
    }
    found
}

/// What program the text would make Windows run, if it has that shape.
fn launcher(head: &[u8]) -> Option<&'static str> {
    let text = String::from_utf8_lossy(head);
    let lines: Vec<&str> = text
        .split(['\r', '\n'])
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let first = lines.first()?.to_ascii_lowercase();
    // Excel web query: `WEB`, a version line, the URL it fetches.
    if first == "web" && lines.iter().skip(1).take(2).any(|l| l.contains("://")) {
        return Some("Excel web query (.iqy) that fetches a URL on opening");
    }
    // Excel/Microsoft Query database query.
    if first == "xlodbc" {
        return Some("Excel database query (.dqy) that connects on opening");
    }
    for line in &lines {
        let lower = line.to_ascii_lowercase();
        match lower.as_str() {
            "[internetshortcut]" => return Some("Internet shortcut (.url)"),
            // Pinned sites (.website) carry this property set beside the URL.
            "[{000214a0-0000-0000-c000-000000000046}]" => {
                return Some("pinned-site shortcut (.website)");
            }
            "[shell]" => return Some("Explorer command file (.scf)"),
            _ => {}
        }
        if lower.starts_with("full address:s:") || lower.starts_with("alternate shell:s:") {
            return Some("remote desktop connection (.rdp)");
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str, name: Option<&str>) -> Vec<FindingKind> {
        inspect(text.as_bytes(), name)
            .items
            .into_iter()
            .map(|i| i.kind)
            .collect()
    }

    #[test]
    fn launchers_are_found_whatever_their_name() {
        for (text, name) in [
            (
                "[InternetShortcut]\r\nURL=file://evil/share/x.exe\r\n",
                "資料.txt",
            ),
            (
                "[{000214A0-0000-0000-C000-000000000046}]\nProp3=19,2\n[InternetShortcut]\nURL=https://x\n",
                "site.website",
            ),
            (
                "screen mode id:i:2\nfull address:s:rdp.evil.example\n",
                "会議.rdp",
            ),
            ("WEB\n1\nhttps://evil.example/q\n", "data.iqy"),
            ("XLODBC\n1\nDSN=x\n", "q.dqy"),
            ("[Shell]\nCommand=2\nIconFile=\\\\evil\\i.ico\n", "x.scf"),
        ] {
            assert_eq!(kinds(text, Some(name)), [FindingKind::Shortcut], "{name}");
        }
    }

    #[test]
    fn a_pdf_behind_text_is_no_text() {
        let junk = format!("{}\n%PDF-1.4\n1 0 obj<</JS(x)>>endobj\n", "J".repeat(1500));
        assert_eq!(kinds(&junk, Some("請求書.pdf")), [FindingKind::UnknownType]);
    }

    #[test]
    fn prose_and_bodies_are_text() {
        assert!(
            kinds(
                "お世話になっております。\n[会議資料]\nURL=https://example.jp\n",
                Some("a.txt")
            )
            .is_empty()
        );
        assert!(
            kinds("web\nサイトの件です\n", None).is_empty(),
            "a body is displayed"
        );
        assert!(kinds("[InternetShortcut]\nURL=x\n", None).is_empty());
    }
}
