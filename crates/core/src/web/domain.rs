//! Domains: which organization a domain belongs to, and whether it imitates
//! one of ours or a partner's.

use unicode_security::confusable_detection::skeleton;

/// Public suffixes of more than one label that mail to Japanese public
/// bodies meets most; anything else is taken to end at its last label.
const SUFFIXES: &[&str] = &[
    "lg.jp", "go.jp", "co.jp", "or.jp", "ne.jp", "ac.jp", "ad.jp", "ed.jp", "gr.jp", "co.uk",
    "org.uk", "ac.uk", "gov.uk", "com.au", "com.cn", "com.tw", "co.kr", "go.kr",
];

/// Labels that name a kind of host or body, not who it is.
const GENERIC_LABELS: &[&str] = &[
    "www", "mail", "mx", "smtp", "city", "town", "vill", "pref", "ward", "web", "info",
];

/// A domain split into what names its owner and its public suffix:
/// `city.example.lg.jp` → (`city.example`, `lg.jp`).
fn split(domain: &str) -> (&str, &str) {
    for s in SUFFIXES {
        if let Some(head) = domain.strip_suffix(s).and_then(|h| h.strip_suffix('.'))
            && !head.is_empty()
        {
            return (head, s);
        }
    }
    match domain.rfind('.') {
        Some(dot) if dot > 0 => (&domain[..dot], &domain[dot + 1..]),
        _ => (domain, ""),
    }
}

/// The registrable domain (the owner's label plus the suffix): mail from
/// `news.shop.example.com` and a Reply-To at `example.com` share an owner.
pub(crate) fn organization(domain: &str) -> String {
    let (head, suffix) = split(domain);
    let owner = head.rsplit('.').next().unwrap_or(head);
    if suffix.is_empty() {
        owner.to_owned()
    } else {
        format!("{owner}.{suffix}")
    }
}

/// Whether `domain` is `known` or one of its subdomains.
pub(crate) fn within(domain: &str, known: &str) -> bool {
    domain == known
        || domain
            .strip_suffix(known)
            .is_some_and(|head| head.ends_with('.'))
}

/// A lower-cased domain with its IDN labels decoded.
pub(crate) fn normalize(domain: &str) -> String {
    let lower = domain.trim().trim_end_matches('.').to_lowercase();
    lower
        .split('.')
        .map(|label| {
            label
                .strip_prefix("xn--")
                .and_then(punycode_decode)
                .unwrap_or_else(|| label.to_owned())
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Whether a domain has an IDN (`xn--`) label.
pub(crate) fn is_idn(domain: &str) -> bool {
    domain
        .to_ascii_lowercase()
        .split('.')
        .any(|l| l.starts_with("xn--"))
}

/// Why `candidate` looks like `known` without being it, or `None`. Both are
/// normalized (lower case, IDN decoded); a domain within `known` is not a
/// lookalike, and neither is a parent of it.
pub(crate) fn lookalike(candidate: &str, known: &str) -> Option<String> {
    if within(candidate, known) || within(known, candidate) {
        return None;
    }
    if skeleton(candidate).eq(skeleton(known)) {
        return Some("confusable characters (UTS #39)".into());
    }
    let (c_head, c_suffix) = split(candidate);
    let (k_head, k_suffix) = split(known);
    let flat = |s: &str| -> String { s.chars().filter(|c| !matches!(c, '.' | '-')).collect() };
    if c_head == k_head && c_suffix != k_suffix {
        return Some(format!(
            "same name under .{c_suffix} instead of .{k_suffix}"
        ));
    }
    if flat(c_head) == flat(k_head) {
        return Some("dots or hyphens added or removed".into());
    }
    let c_glyphs = ascii_glyphs(&flat(c_head));
    let k_glyphs = ascii_glyphs(&flat(k_head));
    if c_glyphs == k_glyphs {
        return Some("look-alike letters (rn/m, 1/l, 0/o, vv/w)".into());
    }
    let k_core = flat(core(k_head));
    let c_core = flat(core(c_head));
    let allowed = match k_core.chars().count() {
        0..5 => 0,
        5..9 => 1,
        _ => 2,
    };
    if allowed > 0 {
        let d = distance(&c_core, &k_core);
        if d > 0 && d <= allowed {
            return Some(format!("{d} character(s) away from {known}"));
        }
    }
    // Our name inside someone else's domain: city-example-lg-jp.com,
    // city.example.lg.jp.secure-login.net.
    let whole = flat(known);
    if k_core.chars().count() >= 5 && flat(candidate).contains(&whole) {
        return Some(format!("contains {known}"));
    }
    None
}

/// The owner labels without the generic ones: `city.example` → `example`.
fn core(head: &str) -> &str {
    let mut rest = head;
    while let Some((first, tail)) = rest.split_once('.') {
        if GENERIC_LABELS.contains(&first) {
            rest = tail;
        } else {
            break;
        }
    }
    rest
}

/// ASCII letters that render alike, folded to one spelling.
fn ascii_glyphs(s: &str) -> String {
    s.replace("rn", "m")
        .replace("vv", "w")
        .replace("cl", "d")
        .replace(['0'], "o")
        .replace(['1', 'i'], "l")
}

/// Optimal string alignment distance (Damerau-Levenshtein without repeated
/// edits of one substring), on characters.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Domains are short; anything absurd is simply far.
    if a.len() > 255 || b.len() > 255 {
        return usize::MAX;
    }
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// RFC 3492 Punycode decoding of one label (without `xn--`); `None` when
/// it is not valid Punycode.
fn punycode_decode(input: &str) -> Option<String> {
    const BASE: u32 = 36;
    const TMIN: u32 = 1;
    const TMAX: u32 = 26;
    const SKEW: u32 = 38;
    const DAMP: u32 = 700;
    if input.len() > 63 || !input.is_ascii() {
        return None;
    }
    let (basic, encoded) = match input.rfind('-') {
        Some(i) => (&input[..i], &input[i + 1..]),
        None => ("", input),
    };
    let mut output: Vec<char> = basic.chars().collect();
    let (mut n, mut i, mut bias) = (128u32, 0u32, 72u32);
    let mut digits = encoded.bytes().peekable();
    while digits.peek().is_some() {
        let old_i = i;
        let mut w = 1u32;
        let mut k = BASE;
        loop {
            let c = digits.next()?;
            let digit = match c {
                b'a'..=b'z' => c - b'a',
                b'A'..=b'Z' => c - b'A',
                b'0'..=b'9' => c - b'0' + 26,
                _ => return None,
            } as u32;
            i = i.checked_add(digit.checked_mul(w)?)?;
            let t = if k <= bias {
                TMIN
            } else if k >= bias + TMAX {
                TMAX
            } else {
                k - bias
            };
            if digit < t {
                break;
            }
            w = w.checked_mul(BASE - t)?;
            k += BASE;
        }
        let len = output.len() as u32 + 1;
        let mut delta = if old_i == 0 {
            (i - old_i) / DAMP
        } else {
            (i - old_i) / 2
        };
        delta += delta / len;
        let mut k = 0;
        while delta > ((BASE - TMIN) * TMAX) / 2 {
            delta /= BASE - TMIN;
            k += BASE;
        }
        bias = k + (BASE - TMIN + 1) * delta / (delta + SKEW);
        n = n.checked_add(i / len)?;
        i %= len;
        output.insert(i as usize, char::from_u32(n)?);
        i += 1;
    }
    Some(output.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn punycode_round_trips_known_labels() {
        assert_eq!(normalize("xn--wgv71a119e.jp"), "日本語.jp");
        assert_eq!(normalize("XN--80AK6AA92E.com"), "аррӏе.com");
        assert_eq!(punycode_decode("a-!"), None);
    }

    #[test]
    fn organizations() {
        assert_eq!(organization("city.example.lg.jp"), "example.lg.jp");
        assert_eq!(organization("news.shop.example.com"), "example.com");
        assert_eq!(organization("localhost"), "localhost");
    }

    #[test]
    fn lookalikes_of_a_municipal_domain() {
        let ours = "city.example.lg.jp";
        for fake in [
            "city.example.jp",
            "city-example.lg.jp",
            "city.exarnple.lg.jp",
            "city.examp1e.lg.jp",
            "city.exmaple.lg.jp",
            "city.examples.lg.jp",
            "city.example.lg.jp.secure-mail.net",
            "city-example-lg-jp.com",
            &normalize("city.xn--xample-2of.lg.jp"),
        ] {
            assert!(lookalike(fake, ours).is_some(), "{fake}");
        }
        for other in [
            "city.example.lg.jp",
            "soumu.city.example.lg.jp",
            "example.lg.jp",
            "city.sample-town.lg.jp",
            "gmail.com",
            "city.kawasaki.lg.jp",
        ] {
            assert_eq!(lookalike(other, ours), None, "{other}");
        }
        // Short names get no edit-distance slack: neighbours differ by a letter.
        assert_eq!(lookalike("city.oda.lg.jp", "city.ota.lg.jp"), None);
    }
}
