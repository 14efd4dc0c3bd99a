//! Links as a reader should see them: where they really go, a warning when
//! that is not what their text shows, and defanged targets that no client
//! turns back into links.

use crate::web::decode_entities;
use crate::web::domain;
use crate::web::{parse_url, shown_domain};

/// An attribute value as a browser reads it: entities decoded, and without
/// the whitespace and control characters it ignores (`java&#x09;script:`).
pub(crate) fn normalize_url(raw: &str) -> String {
    decode_entities(raw)
        .chars()
        .filter(|c| !c.is_ascii_whitespace() && !c.is_control())
        .collect()
}

/// Where a link may point and still be a link: the web, mail, a phone
/// number, or a place in the same document.
pub(crate) fn is_safe_link(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with('#')
        || ["http://", "https://", "mailto:", "tel:"]
            .iter()
            .any(|s| lower.starts_with(s))
}

/// Whether a URL makes the reader's client fetch something from the network.
pub(crate) fn is_remote(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    lower.starts_with("//")
        || lower.starts_with("\\\\")
        || (lower.contains(':')
            && !lower.starts_with("cid:")
            && !lower.starts_with("mid:")
            && !lower.starts_with("data:"))
}

/// An embedded raster image (`data:image/png;base64,...`), the only data URL
/// mail keeps.
pub(crate) fn is_data_image(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    ["png", "gif", "jpeg", "jpg", "webp"].iter().any(|t| {
        lower.starts_with(&format!("data:image/{t};"))
            || lower.starts_with(&format!("data:image/{t},"))
    })
}

/// Why a link deserves a warning, if it does: its text shows another
/// domain, or its host is an IDN, a bare IP address or hides behind `user@`.
pub(crate) fn warning(href: &str, shown: &str) -> Option<&'static str> {
    let url = parse_url(href);
    if !matches!(url.scheme.as_str(), "http" | "https") || url.host.is_empty() {
        return None;
    }
    if url.userinfo.is_some() {
        return Some("user@ before the host");
    }
    let host = url.host.trim_matches(['[', ']']);
    if host.parse::<std::net::IpAddr>().is_ok() {
        return Some("an IP address");
    }
    if domain::is_idn(host) {
        return Some("an internationalized (IDN) domain");
    }
    let shown = shown_domain(shown)?;
    (domain::organization(&domain::normalize(&shown))
        != domain::organization(&domain::normalize(host)))
    .then_some("another domain than the text shows")
}

/// The host a link goes to, when it has one.
pub(crate) fn host(href: &str) -> Option<String> {
    let url = parse_url(href);
    (!url.host.is_empty()).then_some(url.host)
}

/// Whether a link's text already shows where it goes.
pub(crate) fn shows_its_host(href: &str, shown: &str) -> bool {
    match (shown_domain(shown), host(href)) {
        (Some(s), Some(h)) => domain::normalize(&s) == domain::normalize(&h),
        _ => false,
    }
}

/// `https://evil.example/x` → `hxxps://evil[.]example/x`: readable, and no
/// client makes a link of it again.
pub(crate) fn defang(url: &str) -> String {
    let lower = url.to_ascii_lowercase();
    let (scheme, rest) = if lower.starts_with("http") {
        ("hxxp", &url[4..])
    } else if lower.starts_with("ftp") {
        ("fxp", &url[3..])
    } else {
        ("", url)
    };
    let host_end = rest
        .find("//")
        .map(|i| i + 2)
        .map(|start| {
            start
                + rest[start..]
                    .find(['/', '?', '#'])
                    .unwrap_or(rest.len() - start)
        })
        .unwrap_or(0);
    let mut out = String::with_capacity(url.len() + 8);
    out.push_str(scheme);
    out.push_str(&rest[..host_end].replace('.', "[.]"));
    out.push_str(&rest[host_end..]);
    out
}

/// Plain text with every `http(s)://` and `ftp://` URL defanged; returns
/// the text and how many URLs were.
pub(crate) fn defang_text(text: &str) -> (String, usize) {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len() + 64);
    let mut count = 0;
    let mut from = 0;
    let mut i = 0;
    while i < lower.len() {
        let rest = &lower[i..];
        let scheme_len = ["https://", "http://", "ftp://"]
            .iter()
            .find(|s| rest.starts_with(**s))
            .map(|s| s.len());
        let boundary = i == 0 || !lower.as_bytes()[i - 1].is_ascii_alphanumeric();
        match scheme_len {
            Some(n) if boundary => {
                let end = text[i + n..]
                    .find(|c: char| {
                        c.is_whitespace()
                            || matches!(c, '<' | '>' | '"' | '）' | '」' | '、' | '。')
                    })
                    .map_or(text.len(), |e| i + n + e);
                out.push_str(&text[from..i]);
                out.push_str(&defang(&text[i..end]));
                count += 1;
                from = end;
                i = end;
            }
            _ => i += rest.chars().next().map_or(1, char::len_utf8),
        }
    }
    out.push_str(&text[from..]);
    (out, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn obfuscated_schemes_are_read_as_a_browser_reads_them() {
        assert!(!is_safe_link(&normalize_url("jav&#x61;script:alert(1)")));
        assert!(!is_safe_link(&normalize_url("java\tscript:alert(1)")));
        assert!(!is_safe_link(&normalize_url(" data:text/html,x")));
        assert!(is_safe_link(&normalize_url("https://city.example.lg.jp/")));
        assert!(is_safe_link("#top"));
    }

    #[test]
    fn remote_and_embedded() {
        assert!(is_remote("https://t.example/p.gif"));
        assert!(is_remote("//t.example/p.gif"));
        assert!(!is_remote("cid:logo@x"));
        assert!(!is_remote("images/a.png"));
        assert!(is_data_image("data:image/png;base64,iVBOR"));
        assert!(!is_data_image("data:image/svg+xml;base64,PHN2Zz4="));
    }

    #[test]
    fn warnings() {
        assert_eq!(
            warning(
                "https://evil.example/login",
                "https://www.city.example.lg.jp/"
            ),
            Some("another domain than the text shows")
        );
        assert_eq!(warning("https://www.example.jp/a", "example.jp"), None);
        assert_eq!(
            warning("https://click.news.example.jp/x", "詳しくはこちら"),
            None
        );
        assert_eq!(warning("http://192.0.2.7/a", "here"), Some("an IP address"));
        assert_eq!(
            warning("https://bank.jp@evil.example/", "bank"),
            Some("user@ before the host")
        );
        assert_eq!(
            warning("https://xn--80ak6aa92e.com/", "apple"),
            Some("an internationalized (IDN) domain")
        );
    }

    #[test]
    fn defanging() {
        assert_eq!(
            defang("https://evil.example.com/a.b?c=d.e"),
            "hxxps://evil[.]example[.]com/a.b?c=d.e"
        );
        let (t, n) = defang_text("詳細は https://a.example/x。またはhttp://b.example まで");
        assert_eq!(n, 2);
        assert_eq!(
            t,
            "詳細は hxxps://a[.]example/x。またはhxxp://b[.]example まで"
        );
        assert_eq!(defang_text("no links, shttp://x").1, 0);
    }
}
