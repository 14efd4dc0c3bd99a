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

use crate::finding::{Finding, FindingKind};
use crate::identify::find_ci;

/// Only the head of a huge page is searched; smuggling pages are small.
const MAX_SCAN: usize = 8 << 20;

/// Findings from an HTML (or HTA, SVG) document.
pub(crate) fn inspect(bytes: &[u8], location: &str, out: &mut Vec<Finding>) {
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
    let download = has(" download") || has(".download") || has("'download'") || has("\"download\"");
    let data_download =
        download && (has("href=\"data:") || has("href='data:") || has("href=data:"));
    let smuggling =
        (scripted && !signals.is_empty() && (download || signals.len() >= 2)) || data_download;
    if smuggling {
        if download {
            signals.push("download attribute");
        }
        if data_download {
            signals.push("data: URI link");
        }
        out.push(Finding {
            kind: FindingKind::HtmlSmuggling,
            location: location.to_owned(),
            detail: signals.join(", "),
            rule: None,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(html: &str) -> bool {
        let mut out = Vec::new();
        inspect(html.as_bytes(), "x.html", &mut out);
        !out.is_empty()
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
    }
}
