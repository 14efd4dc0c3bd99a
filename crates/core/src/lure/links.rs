//! Links in a message body: where they go, and what they show.

use crate::web::decode_entities;

/// A link: its target and, in HTML, the text a reader sees.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Link {
    pub(crate) href: String,
    pub(crate) shown: Option<String>,
}

/// No body holds more links worth scoring; the rest are not read.
const MAX_LINKS: usize = 500;

/// `<a href>` links with their text, and the `http(s)://` URLs of the text.
pub(crate) fn from_html(html: &str) -> Vec<Link> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut from = 0;
    while out.len() < MAX_LINKS {
        let Some(at) = lower[from..].find("<a").map(|i| from + i) else {
            break;
        };
        let after = lower.as_bytes().get(at + 2).copied();
        from = at + 2;
        if !matches!(after, Some(b' ' | b'\t' | b'\r' | b'\n')) {
            continue;
        }
        let Some(tag_end) = lower[at..].find('>').map(|i| at + i) else {
            break;
        };
        let tag = &html[at..tag_end];
        let Some(href) = attribute(tag, "href") else {
            continue;
        };
        let close = lower[tag_end..]
            .find("</a")
            .map_or(html.len(), |i| tag_end + i);
        let shown = super::text::html_text(&html[tag_end + 1..close.max(tag_end + 1)]);
        out.push(Link {
            href: decode_entities(href.trim()),
            shown: Some(shown.split_whitespace().collect::<Vec<_>>().join(" ")),
        });
        from = close.max(from);
    }
    out
}

/// The value of attribute `name` in a start tag, quoted or not.
fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(name).map(|i| from + i) {
        from = i + name.len();
        let before = lower.as_bytes()[i.saturating_sub(1)];
        if i == 0 || !before.is_ascii_whitespace() {
            continue;
        }
        let rest = tag[from..].trim_start();
        let Some(rest) = rest.strip_prefix('=') else {
            continue;
        };
        let rest = rest.trim_start();
        return Some(match rest.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let body = &rest[1..];
                &body[..body.find(q).unwrap_or(body.len())]
            }
            _ => {
                let end = rest
                    .find(|c: char| c.is_whitespace() || c == '>')
                    .unwrap_or(rest.len());
                &rest[..end]
            }
        });
    }
    None
}

/// `http://` and `https://` URLs in plain text.
pub(crate) fn from_text(text: &str) -> Vec<Link> {
    let mut out = Vec::new();
    let lower = text.to_ascii_lowercase();
    let mut from = 0;
    while out.len() < MAX_LINKS {
        let Some(at) = lower[from..].find("http").map(|i| from + i) else {
            break;
        };
        from = at + 4;
        let rest = &lower[at..];
        if !(rest.starts_with("http://") || rest.starts_with("https://")) {
            continue;
        }
        let end = text[at..]
            .find(|c: char| c.is_whitespace() || !c.is_ascii() || matches!(c, '<' | '>' | '"'))
            .map_or(text.len(), |i| at + i);
        out.push(Link {
            href: text[at..end].to_owned(),
            shown: None,
        });
        from = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_anchors_with_text() {
        let links = from_html(
            "<p><A class=x HREF='https://evil.example/x?a=1&amp;b=2'>https://city.example.lg.jp/<b>login</b></A> \
             <abbr>x</abbr><a href=mailto:a@b.jp>mail</a>",
        );
        assert_eq!(links.len(), 2);
        assert_eq!(links[0].href, "https://evil.example/x?a=1&b=2");
        assert_eq!(
            links[0].shown.as_deref(),
            Some("https://city.example.lg.jp/ login")
        );
        assert_eq!(links[1].href, "mailto:a@b.jp");
    }

    #[test]
    fn text_urls() {
        let links = from_text("詳細はhttps://example.jp/a（本日中）\nor http://1.2.3.4:8080/x.");
        assert_eq!(links[0].href, "https://example.jp/a");
        assert_eq!(crate::web::parse_url(&links[1].href).host, "1.2.3.4");
    }
}
