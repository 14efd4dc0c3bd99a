//! SPF, DKIM and DMARC results, taken from `Authentication-Results` header
//! fields (RFC 8601) that a trusted server wrote. A field naming any other
//! authserv-id may have been written by the sender and is ignored.

/// What the trusted servers said about the message.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct AuthResults {
    /// The fields that were trusted (their authserv-id).
    pub(crate) trusted: usize,
    pub(crate) spf: Vec<String>,
    /// (result, header.d)
    pub(crate) dkim: Vec<(String, String)>,
    /// (result, header.from, published policy)
    pub(crate) dmarc: Vec<(String, String, Option<String>)>,
}

/// Reads every field whose authserv-id is in `trusted` (compared without
/// case). Unknown methods and malformed parts are skipped.
pub(crate) fn parse<'a>(fields: impl Iterator<Item = &'a str>, trusted: &[String]) -> AuthResults {
    let mut out = AuthResults::default();
    for field in fields {
        let (policy_hint, field) = strip_comments(field);
        let mut parts = field.split(';');
        let Some(id) = parts.next().and_then(|p| p.split_whitespace().next()) else {
            continue;
        };
        if !trusted.iter().any(|t| t.eq_ignore_ascii_case(id)) {
            continue;
        }
        out.trusted += 1;
        for resinfo in parts {
            let mut words = resinfo.split_whitespace();
            let Some((method, result)) = words.next().and_then(|w| w.split_once('=')) else {
                continue;
            };
            let method = method.to_ascii_lowercase();
            let result = result.to_ascii_lowercase();
            let prop = |name: &str| {
                resinfo
                    .split_whitespace()
                    .filter_map(|w| w.split_once('='))
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.trim_matches('"').trim_start_matches('@').to_lowercase())
            };
            match method.as_str() {
                "spf" => out.spf.push(result),
                "dkim" => {
                    let d = prop("header.d")
                        .or_else(|| prop("header.i").map(|i| domain_of(&i)))
                        .unwrap_or_default();
                    out.dkim.push((result, d));
                }
                "dmarc" => {
                    let from = prop("header.from").unwrap_or_default();
                    let policy =
                        prop("policy.published-domain-policy").or_else(|| policy_hint.clone());
                    out.dmarc.push((result, from, policy));
                }
                _ => {}
            }
        }
    }
    out
}

fn domain_of(identity: &str) -> String {
    identity
        .rsplit_once('@')
        .map_or(identity, |(_, d)| d)
        .to_owned()
}

/// The field without its (comments), and the `p=` that OpenDMARC writes in
/// one: `dmarc=fail (p=reject dis=none) header.from=example.jp`.
fn strip_comments(field: &str) -> (Option<String>, String) {
    let mut out = String::with_capacity(field.len());
    let mut depth = 0usize;
    let mut comment = String::new();
    let mut policy = None;
    for c in field.chars() {
        match c {
            '(' => depth += 1,
            ')' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    policy = policy.or_else(|| {
                        comment
                            .split_whitespace()
                            .find_map(|w| w.strip_prefix("p="))
                            .map(|p| p.to_ascii_lowercase())
                    });
                    comment.clear();
                    out.push(' ');
                }
            }
            _ if depth > 0 => comment.push(c),
            _ => out.push(c),
        }
    }
    (policy, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trusted_fields_only() {
        let trusted = vec!["mx.city.example.lg.jp".to_owned()];
        let fields = [
            "mx.city.example.lg.jp; spf=fail smtp.mailfrom=a@evil.example; dkim=pass header.d=evil.example; dmarc=fail (p=reject dis=none) header.from=city.example.lg.jp",
            "attacker.example; dmarc=pass header.from=city.example.lg.jp",
        ];
        let r = parse(fields.into_iter(), &trusted);
        assert_eq!(r.trusted, 1);
        assert_eq!(r.spf, ["fail"]);
        assert_eq!(r.dkim, [("pass".into(), "evil.example".into())]);
        assert_eq!(
            r.dmarc,
            [(
                "fail".into(),
                "city.example.lg.jp".into(),
                Some("reject".into())
            )]
        );
    }

    #[test]
    fn version_and_header_i() {
        let trusted = vec!["MX.Example".to_owned()];
        let r = parse(
            ["mx.example 1; dkim=pass header.i=@partner.co.jp"].into_iter(),
            &trusted,
        );
        assert_eq!(r.dkim, [("pass".into(), "partner.co.jp".into())]);
    }
}
