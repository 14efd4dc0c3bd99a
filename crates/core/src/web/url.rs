//! URLs as scoring and link rewriting read them: scheme, host, userinfo.

/// The parts of a URL that scoring and link rewriting look at.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Url {
    pub(crate) scheme: String,
    /// Lower case, without port; empty for schemes without a host.
    pub(crate) host: String,
    /// Whether there was a `user@` before the host.
    pub(crate) userinfo: Option<String>,
}

pub(crate) fn parse_url(url: &str) -> Url {
    let url = url.trim();
    let (scheme, rest) = match url.split_once(':') {
        Some((s, r))
            if !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c)) =>
        {
            (s.to_ascii_lowercase(), r)
        }
        _ => (String::new(), url),
    };
    let Some(rest) = rest
        .strip_prefix("//")
        .or_else(|| rest.strip_prefix("\\\\"))
    else {
        return Url {
            scheme,
            host: String::new(),
            userinfo: None,
        };
    };
    let authority = &rest[..rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len())];
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u.to_owned()), h),
        None => (None, authority),
    };
    let host = if hostport.starts_with('[') {
        hostport[..hostport.find(']').map_or(hostport.len(), |i| i + 1)].to_owned()
    } else {
        hostport[..hostport.rfind(':').unwrap_or(hostport.len())].to_owned()
    };
    Url {
        scheme,
        host: host.trim_end_matches('.').to_lowercase(),
        userinfo,
    }
}

/// The domain a link text shows, when it looks like a URL or a bare domain
/// (`https://city.example.lg.jp/login`, `www.example.jp`).
pub(crate) fn shown_domain(shown: &str) -> Option<String> {
    let s = shown.trim();
    if s.contains(char::is_whitespace) {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let host = if lower.starts_with("http://") || lower.starts_with("https://") {
        parse_url(s).host
    } else {
        let end = lower.find(['/', '?', '#']).unwrap_or(lower.len());
        lower[..end].to_owned()
    };
    let labels: Vec<&str> = host.split('.').collect();
    let plausible = labels.len() >= 2
        && labels
            .iter()
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_alphanumeric() || c == '-'))
        && labels
            .last()
            .is_some_and(|tld| tld.chars().all(char::is_alphabetic));
    plausible.then_some(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = parse_url("HTTPS://city.example.lg.jp@evil.example:443/login");
        assert_eq!(u.scheme, "https");
        assert_eq!(u.host, "evil.example");
        assert_eq!(u.userinfo.as_deref(), Some("city.example.lg.jp"));
        assert_eq!(parse_url("javascript:alert(1)").host, "");
        assert_eq!(
            shown_domain("www.city.example.lg.jp/news").as_deref(),
            Some("www.city.example.lg.jp")
        );
        assert_eq!(shown_domain("こちら"), None);
        assert_eq!(shown_domain("v1.2"), None);
    }
}
