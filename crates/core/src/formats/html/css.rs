//! CSS that fetches nothing: `url()` only to the document itself, inline
//! parts (`cid:`) and embedded raster images; no `@import`, `image-set()`,
//! expressions or bindings.

use super::links;

/// CSS functions and at-rules that fetch or run, made into unknown ones so
/// that the declaration is dropped by the client. No replacement holds its
/// pattern, so cleaning twice changes nothing more.
const BLOCKED: &[(&str, &str)] = &[
    ("@import", "@blocked-import"),
    ("image-set(", "image-set-blocked("),
    ("expression(", "expression-blocked("),
    ("behavior:", "behavior-blocked:"),
    ("-moz-binding", "-moz-blocked"),
    ("javascript:", "javascript-blocked:"),
];

/// `css` without anything that fetches or runs, and how many such things
/// were taken out. CSS escapes could spell any of them, so CSS with a
/// backslash is dropped whole; `<` never survives (a `</style` would end
/// the element).
pub(crate) fn clean(css: &str) -> (String, usize) {
    if css.contains('\\') {
        return (String::new(), 1);
    }
    let mut blocked = 0;
    let mut out = String::with_capacity(css.len());
    let lower = css.to_ascii_lowercase();
    let mut i = 0;
    while i < css.len() {
        let rest = &lower[i..];
        if rest.starts_with("url(") {
            let close = rest.find(')').map_or(rest.len(), |e| e + 1);
            let arg = css[i + 4..i + close]
                .trim_end_matches(')')
                .trim()
                .trim_matches(['"', '\'']);
            let arg = arg.trim();
            if arg.starts_with('#')
                || arg.to_ascii_lowercase().starts_with("cid:")
                || links::is_data_image(arg)
            {
                out.push_str(&css[i..i + close]);
            } else {
                out.push_str("none");
                blocked += 1;
            }
            i += close;
            continue;
        }
        if let Some((from, to)) = BLOCKED.iter().find(|(from, _)| rest.starts_with(from)) {
            out.push_str(to);
            blocked += 1;
            i += from.len();
            continue;
        }
        let c = css[i..].chars().next().unwrap_or(' ');
        if c != '<' {
            out.push(c);
        }
        i += c.len_utf8();
    }
    (out, blocked)
}

#[cfg(test)]
mod tests {
    use super::clean;

    #[test]
    fn fetches_go_local_references_stay() {
        assert_eq!(
            clean("a{background:URL( 'https://t.example/x.png' )} b{fill:url(#g)}"),
            ("a{background:none} b{fill:url(#g)}".into(), 1)
        );
        assert_eq!(clean("@import 'x.css';").1, 1);
        assert_eq!(
            clean("p{background:u\\72l(https://t.example/)}"),
            (String::new(), 1)
        );
        assert_eq!(
            clean("p{color:red}</style><script>"),
            ("p{color:red}/style>script>".into(), 0)
        );
        assert_eq!(clean("x{background:url(cid:a@b)}").1, 0);
        let once = clean("javascript: @import x; -moz-binding:y").0;
        assert_eq!(clean(&once), (once.clone(), 0));
    }
}
