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

/// Files encoded in text are at most this many per part.
const MAX_ENCODED: usize = 64;

/// Findings from a text part named `name` (`None` for a body). Files
/// uuencoded or yEncoded into the text, which mail clients show as
/// attachments, come back as embedded members to inspect.
pub(crate) fn inspect(bytes: &[u8], name: Option<&str>) -> Inspection {
    let mut found = sheet::inspect(bytes, name);
    let (files, all) = encoded_files(bytes);
    found.embedded = files;
    if !all {
        // What is not decoded is not inspected: the part goes.
        found.items.push(Item::new(
            FindingKind::LimitExceeded,
            format!("more than {MAX_ENCODED} files encoded into the text"),
        ));
    }
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

/// Files in uuencode (`begin 644 name` … `end`) or yEnc (`=ybegin … name=`
/// … `=yend`) blocks, decoded, and whether that is all of them (at most
/// `MAX_ENCODED` are decoded).
fn encoded_files(bytes: &[u8]) -> (Vec<(String, Vec<u8>)>, bool) {
    let mut out = Vec::new();
    let mut lines = bytes
        .split(|&c| c == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l));
    while let Some(line) = lines.next() {
        let starts = uu_begin(line).is_some() || line.starts_with(b"=ybegin ");
        if starts && out.len() >= MAX_ENCODED {
            return (out, false);
        }
        if let Some(name) = uu_begin(line) {
            let mut data = Vec::new();
            for l in lines.by_ref() {
                if l == b"end" {
                    break;
                }
                uu_line(l, &mut data);
            }
            out.push((name, data));
        } else if let Some(rest) = line.strip_prefix(b"=ybegin ") {
            let rest = String::from_utf8_lossy(rest);
            let name = rest
                .split_once("name=")
                .map_or("yenc", |(_, n)| n.trim())
                .to_owned();
            let mut data = Vec::new();
            for l in lines.by_ref() {
                if l.starts_with(b"=yend") {
                    break;
                }
                if !l.starts_with(b"=ypart ") {
                    yenc_line(l, &mut data);
                }
            }
            out.push((name, data));
        }
    }
    (out, true)
}

/// `begin 644 name`: the mode is three or four octal digits.
fn uu_begin(line: &[u8]) -> Option<String> {
    let rest = line.strip_prefix(b"begin ")?;
    let space = rest.iter().position(|&c| c == b' ')?;
    let (mode, name) = (&rest[..space], &rest[space + 1..]);
    let octal = (3..=4).contains(&mode.len()) && mode.iter().all(|c| (b'0'..=b'7').contains(c));
    (octal && !name.is_empty()).then(|| String::from_utf8_lossy(name).trim().to_owned())
}

fn uu_line(line: &[u8], out: &mut Vec<u8>) {
    let value = |c: u8| c.wrapping_sub(b' ') & 0x3F;
    let Some((&len, rest)) = line.split_first() else {
        return;
    };
    let want = usize::from(value(len));
    let mut got = Vec::with_capacity(want + 2);
    for quad in rest.chunks(4) {
        let v: Vec<u8> = (0..4)
            .map(|i| value(*quad.get(i).unwrap_or(&b'`')))
            .collect();
        got.push(v[0] << 2 | v[1] >> 4);
        got.push(v[1] << 4 | v[2] >> 2);
        got.push(v[2] << 6 | v[3]);
    }
    got.truncate(want);
    out.extend_from_slice(&got);
}

fn yenc_line(line: &[u8], out: &mut Vec<u8>) {
    let mut escaped = false;
    for &c in line {
        if escaped {
            out.push(c.wrapping_sub(64).wrapping_sub(42));
            escaped = false;
        } else if c == b'=' {
            escaped = true;
        } else {
            out.push(c.wrapping_sub(42));
        }
    }
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

    fn uuencode(name: &str, data: &[u8]) -> String {
        let enc = |v: u8| if v == 0 { '`' } else { (v + b' ') as char };
        let mut out = format!("begin 644 {name}\n");
        for chunk in data.chunks(45) {
            out.push(enc(chunk.len() as u8));
            for triple in chunk.chunks(3) {
                let b = [
                    triple[0],
                    *triple.get(1).unwrap_or(&0),
                    *triple.get(2).unwrap_or(&0),
                ];
                for v in [
                    b[0] >> 2,
                    (b[0] << 4 | b[1] >> 4) & 63,
                    (b[1] << 2 | b[2] >> 6) & 63,
                    b[2] & 63,
                ] {
                    out.push(enc(v));
                }
            }
            out.push('\n');
        }
        out + "`\nend\n"
    }

    #[test]
    fn files_encoded_in_text_are_decoded() {
        let exe: Vec<u8> = b"MZ\x90\x00".iter().copied().chain(0..=255).collect();
        let body = format!(
            "お世話になっております。\r\n{}\r\n以上",
            uuencode("setup.exe", &exe)
        );
        let found = inspect(body.as_bytes(), None);
        assert_eq!(found.embedded, [("setup.exe".to_owned(), exe.clone())]);
        let yenc: Vec<u8> = exe
            .iter()
            .flat_map(|&b| {
                let c = b.wrapping_add(42);
                if matches!(c, 0 | b'\n' | b'\r' | b'=') {
                    vec![b'=', c.wrapping_add(64)]
                } else {
                    vec![c]
                }
            })
            .collect();
        let text = [
            &b"=ybegin line=128 size=260 name=a.exe\r\n"[..],
            &yenc,
            b"\r\n=yend size=260\r\n",
        ]
        .concat();
        assert_eq!(inspect(&text, None).embedded, [("a.exe".to_owned(), exe)]);
        assert!(
            inspect("begin the meeting at 3\nend".as_bytes(), None)
                .embedded
                .is_empty()
        );
    }

    #[test]
    fn files_past_the_cap_are_a_limit_not_a_pass() {
        let many = uuencode("a.txt", b"x").repeat(MAX_ENCODED + 1);
        let found = inspect(many.as_bytes(), None);
        assert_eq!(found.embedded.len(), MAX_ENCODED);
        assert!(
            found
                .items
                .iter()
                .any(|i| i.kind == FindingKind::LimitExceeded)
        );
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
