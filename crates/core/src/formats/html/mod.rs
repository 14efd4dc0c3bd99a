//! HTML: smuggling (script that assembles a file in the browser and hands
//! it to the user as a download) is a finding; bodies and attachments are
//! rewritten to safe HTML or converted to text, and links say where they go.

mod css;
mod links;
mod sanitize;
mod text;

pub(crate) use css::clean as clean_css;
pub(crate) use links::{defang_text, is_data_image};
pub(crate) use sanitize::{active_left, sanitize};
pub(crate) use text::to_text;

use crate::formats::common::{Inspection, Item};
use crate::identify::find_ci;
use crate::vocab::FindingKind;

/// Only the head of a huge page is searched; smuggling pages are small.
const MAX_SCAN: usize = 8 << 20;

/// Findings from an HTML (or HTA, SVG) document.
pub(crate) fn inspect(bytes: &[u8]) -> Inspection {
    let mut found = Inspection::default();
    let b = &bytes[..bytes.len().min(MAX_SCAN)];
    let has = |s: &str| find_ci(b, s.as_bytes()).is_some();
    let scripted = has("<script") || has("javascript:");
    let mut signals = Vec::new();
    for (needle, what) in [
        ("createObjectURL", "URL.createObjectURL"),
        ("msSaveOrOpenBlob", "msSaveOrOpenBlob"),
        ("msSaveBlob", "msSaveBlob"),
        ("new Blob", "new Blob"),
        ("atob(", "atob()"),
    ] {
        if has(needle) {
            signals.push(what);
        }
    }
    let download = names_download(b);
    // A data: link saved as a file, by its attribute or by script that
    // sets it; without script, a word in code-like text does nothing.
    let data_download = (download == Some(Download::Attribute) || (scripted && download.is_some()))
        && (has("href=\"data:") || has("href='data:") || has("href=data:"));
    let smuggling = (scripted && !signals.is_empty() && (download.is_some() || signals.len() >= 2))
        || data_download;
    if smuggling {
        match download {
            Some(Download::Attribute) => signals.push("download attribute"),
            Some(Download::Code) => signals.push("download property"),
            None => {}
        }
        if data_download {
            signals.push("data: URI link");
        }
        found
            .items
            .push(Item::new(FindingKind::HtmlSmuggling, signals.join(", ")));
    }
    found
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Download {
    /// Script that names it: `a.download =`, `setAttribute('download', …)`.
    Code,
    /// Markup: `<a download href=…>`, `download="x.zip"`.
    Attribute,
}

/// How `download` is named, the attribute first; never by the word in
/// text: a drawing labelled "download" beside an embedded image is no
/// smuggling.
fn names_download(b: &[u8]) -> Option<Download> {
    let mut found = None;
    let mut from = 0;
    // Whether the last `<` or `>` before `from` was a `<`: each byte is
    // looked at once, however many times the word comes.
    let mut in_tag = false;
    while let Some(i) = find_ci(&b[from..], b"download") {
        let at = from + i;
        let end = at + b"download".len();
        if let Some(j) = b[from..at].iter().rposition(|&c| c == b'<' || c == b'>') {
            in_tag = b[from + j] == b'<';
        }
        let before = at.checked_sub(1).map(|j| b[j]);
        let after = b[end..].iter().copied().find(|c| !c.is_ascii_whitespace());
        let attribute = before.is_some_and(|c| c.is_ascii_whitespace())
            && (matches!(after, Some(b'=' | b'>' | b'/')) || in_tag);
        let property = before == Some(b'.') && after == Some(b'=');
        let key = matches!(before, Some(q @ (b'\'' | b'"')) if b.get(end) == Some(&q));
        if attribute {
            return Some(Download::Attribute);
        }
        if property || key {
            found = Some(Download::Code);
        }
        from = end;
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(html: &str) -> bool {
        !inspect(html.as_bytes()).items.is_empty()
    }

    #[test]
    fn blob_download_is_smuggling() {
        assert!(found(
            "<script>var b=new Blob([atob(d)]);a.href=URL.createObjectURL(b);a.download='x.zip';a.click()</script>"
        ));
        assert!(found(
            "<a href=\"data:application/zip;base64,UEsDB\" download=\"x.zip\">x</a>"
        ));
    }

    #[test]
    fn ordinary_pages_are_not() {
        assert!(!found(
            "<html><body><a href=\"https://example.jp/a.pdf\">資料</a></body></html>"
        ));
        assert!(!found(
            "<script>document.title='x'</script><p>download our app</p>"
        ));
        // fuzz svg 2d080933: the word beside a data image, in text and in
        // a malformed attribute name, is no download attribute.
        assert!(!found(
            "<svg><image href=\"data:image/png;base64,iVBOR\"/><text>x.download me</text></svg>"
        ));
        // fuzz svg c93f8349: nor is code in the text of a page without script.
        assert!(!found(
            "<svg><image href=\"data:image/png;base64,iVBOR\"/><text>w.download=\"x\"</text></svg>"
        ));
    }

    #[test]
    fn download_is_found_as_markup_or_code() {
        for page in [
            "<a download href=\"data:application/zip;base64,UEsDB\">x</a>",
            "<a href=data:application/zip;base64,UEsDB download>x</a>",
            "<a href='data:,x' DOWNLOAD = 'x.zip'>x</a>",
            "<script>a.setAttribute(\"download\", n)</script><a href=\"data:,x\">",
            "<script>a.download = n</script><a href=\"data:,x\">",
        ] {
            assert!(found(page), "{page}");
        }
        // However far the tag's `<` is: a long data: link comes first.
        let long = format!(
            "<a href=\"data:application/zip;base64,{}\" download class=x>x</a>",
            "A".repeat(20_000)
        );
        assert!(found(&long));
    }
}
