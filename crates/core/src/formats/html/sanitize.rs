//! HTML rewritten to what a mail client can show without running or
//! fetching anything: an allow-list of link schemes, no script, handlers,
//! forms, frames, objects, refresh, remote images or style fetches, and links
//! that say where they go.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use lol_html::html_content::{ContentType, Element, TextType};
use lol_html::{RewriteStrSettings, doc_comments, doc_text, element, rewrite_str, text};

use super::{css, links};
use crate::formats::common::Tally;
use crate::policy::LinkMode;

/// Elements dropped with everything inside them. `svg`, `math` and
/// `noscript` go too: their content is parsed differently by different
/// clients, which is where sanitizer bypasses live.
const DROPPED: &str = "script, noscript, template, iframe, frame, frameset, object, embed, applet, \
     svg, math, portal, base, link, meta, input, button, select, textarea, audio, video, source, \
     track, canvas, xmp, noembed, noframes, plaintext, title";

/// Attributes that hold a URL the client would fetch or open.
const URL_ATTRIBUTES: &[&str] = &[
    "src",
    "srcset",
    "background",
    "poster",
    "lowsrc",
    "dynsrc",
    "longdesc",
    "action",
    "formaction",
    "data",
    "codebase",
    "cite",
    "ping",
    "manifest",
    "xlink:href",
    "imagesrcset",
];

#[derive(Default)]
struct State {
    tally: Tally,
    /// `href` and text of every link, from a first reading.
    anchors: Vec<(String, String)>,
    /// Where in `anchors` the next link is looked for.
    next_anchor: usize,
}

/// Rewrites `html` (already decoded to UTF-8) to safe HTML. Fails when the
/// markup is ambiguous to a streaming parser, or a second rewrite would
/// still change it (what one rewrite leaves of malformed markup can read
/// differently the next time); the caller then falls back to text. So what
/// comes out is a fixed point: rewriting it again changes nothing, which
/// also means nothing the rewrite removes (script, handlers, script links,
/// fetches) is left in it.
pub(crate) fn sanitize(html: &str, mode: LinkMode) -> Result<(String, Vec<String>), String> {
    let (once, removed) = rewrite(html, mode)?;
    let (twice, _) = rewrite(&once, mode)?;
    if twice != once {
        return Err("HTML that reads differently once rewritten".into());
    }
    Ok((once, removed))
}

fn rewrite(html: &str, mode: LinkMode) -> Result<(String, Vec<String>), String> {
    let state = Rc::new(RefCell::new(State {
        anchors: if mode == LinkMode::Keep {
            Vec::new()
        } else {
            anchor_texts(html)
        },
        ..State::default()
    }));
    let out = {
        let dropped = state.clone();
        let attrs = state.clone();
        let anchors = state.clone();
        let styles = state.clone();
        let comments = state.clone();
        let mut style_buf = String::new();
        rewrite_str(
            html,
            RewriteStrSettings::new()
                .append_element_content_handler(element!(DROPPED, move |el| {
                    dropped.borrow_mut().tally.add(dropped_what(&el.tag_name()));
                    el.remove();
                    Ok(())
                }))
                .append_element_content_handler(element!("form", |el| {
                    el.remove_and_keep_content();
                    Ok(())
                }))
                .append_element_content_handler(element!("*", move |el| {
                    clean_attributes(el, &mut attrs.borrow_mut().tally);
                    Ok(())
                }))
                .append_element_content_handler(element!("a, area", move |el| {
                    link(el, mode, &anchors);
                    Ok(())
                }))
                .append_element_content_handler(text!("style", move |t| {
                    style_buf.push_str(t.as_str());
                    if t.last_in_text_node() {
                        let (clean, blocked) = css::clean(&style_buf);
                        if blocked > 0 {
                            styles
                                .borrow_mut()
                                .tally
                                .add_n("remote style reference", blocked);
                        }
                        // Raw text: inserted as is, and `css::clean` leaves no `<`.
                        t.replace(&clean, ContentType::Html);
                        style_buf.clear();
                    } else {
                        t.remove();
                    }
                    Ok(())
                }))
                .append_document_content_handler(doc_comments!(move |c| {
                    // Conditional comments hold markup for some clients.
                    if c.text().to_ascii_lowercase().contains("[if") {
                        comments.borrow_mut().tally.add("conditional comment");
                    }
                    c.remove();
                    Ok(())
                }))
                .append_document_content_handler(doc_text!(|t| {
                    // A bare `<` is text only until what follows it changes:
                    // once a tag beside it is gone, it could open a new one.
                    if matches!(t.text_type(), TextType::Data) && t.as_str().contains('<') {
                        let escaped = t.as_str().replace('<', "&lt;");
                        t.replace(&escaped, ContentType::Html);
                    }
                    Ok(())
                }))
                .with_strict(true),
        )
        .map_err(|e| format!("HTML mugai cannot rewrite safely: {e}"))?
    };
    let out = without_unfinished_tag(out);
    let state = Rc::try_unwrap(state)
        .map_err(|_| "the HTML rewriter kept its state".to_owned())?
        .into_inner();
    Ok((out, state.tally.lines()))
}

/// What a reading of HTML finds active: a script, frame or object element,
/// an event handler, or a link to script. Written apart from the rewrite,
/// so that the fuzz oracle checks it with a list of its own.
pub(crate) fn active_left(html: &str) -> Option<String> {
    let found: RefCell<Option<String>> = RefCell::new(None);
    let settings = RewriteStrSettings::new()
        .append_element_content_handler(element!(
            "script, iframe, frame, object, embed, applet, base, link, form, input, meta",
            |el| {
                found
                    .borrow_mut()
                    .get_or_insert(format!("<{}>", el.tag_name()));
                Ok(())
            }
        ))
        .append_element_content_handler(element!("*", |el| {
            for a in el.attributes() {
                let name = a.name();
                let url = links::normalize_url(&a.value());
                let scripted = (name == "href" && !links::is_safe_link(&url))
                    || (name == "src"
                        && !(url.to_ascii_lowercase().starts_with("cid:")
                            || links::is_data_image(&url)));
                if name.starts_with("on") || scripted {
                    found
                        .borrow_mut()
                        .get_or_insert(format!("{name}= on <{}>", el.tag_name()));
                }
            }
            Ok(())
        }))
        .with_strict(false);
    // Markup the tokenizer cannot follow is itself a reason to refuse.
    if let Err(e) = rewrite_str(html, settings) {
        return Some(e.to_string());
    }
    found.into_inner()
}

/// A tag cut off by the end of the input is passed through as text by the
/// rewriter; browsers drop it, and so do we (so no `<script` is left).
fn without_unfinished_tag(mut html: String) -> String {
    // After the last `>`, the first `<` that opens a tag opens one that
    // never closes (`<m<e` is one tag named `m<e`).
    let tail = html.rfind('>').map_or(0, |i| i + 1);
    let cut = html[tail..].char_indices().find(|&(i, c)| {
        c == '<'
            && html[tail + i + 1..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || matches!(c, '/' | '!' | '?'))
    });
    if let Some((i, _)) = cut {
        html.truncate(tail + i);
    }
    html
}

fn dropped_what(tag: &str) -> &'static str {
    match tag {
        "script" | "noscript" | "template" => "script",
        "iframe" | "frame" | "frameset" | "portal" => "frame",
        "object" | "embed" | "applet" => "embedded object",
        "base" | "link" => "remote reference",
        "meta" => "meta element (refresh, charset)",
        "title" => "title",
        "input" | "button" | "select" | "textarea" => "form field",
        "audio" | "video" | "source" | "track" => "media",
        _ => "active element",
    }
}

fn clean_attributes(el: &mut Element, tally: &mut Tally) {
    let tag = el.tag_name();
    // `<d<script>` is one element to the tokenizer; no client needs it.
    if !tag
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '_' | '.'))
    {
        el.remove_and_keep_content();
        tally.add("malformed tag");
        return;
    }
    // `name()` is lower case.
    let mut names: Vec<(String, String)> = el
        .attributes()
        .iter()
        .map(|a| (a.name(), a.value()))
        .collect();
    if names.len() > 1 {
        let mut seen = HashSet::new();
        names.retain(|(name, _)| seen.insert(name.clone()));
    }
    if names.len() < el.attributes().len() {
        // A client reads the first of two same-named attributes, another
        // parser may read the last: only the first is written back.
        tally.add("duplicate attribute");
        for (name, value) in &names {
            el.remove_attribute(name);
            // A name it refuses is malformed, and would go below anyway.
            let _ = el.set_attribute(name, value);
        }
    }
    for (name, value) in names {
        if name.starts_with("on") {
            el.remove_attribute(&name);
            tally.add("event handler");
        } else if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | ':' | '_' | '.'))
        {
            el.remove_attribute(&name);
            tally.add("malformed attribute");
        } else if value.contains('<') {
            // Markup inside a value is where parsers disagree (mXSS).
            el.remove_attribute(&name);
            tally.add("markup in an attribute");
        } else if name == "srcdoc" || name == "formaction" || name == "action" {
            el.remove_attribute(&name);
            tally.add("form or frame target");
        } else if name == "style" {
            let (clean, blocked) = css::clean(&crate::web::decode_entities(&value));
            if blocked > 0 {
                tally.add_n("remote style reference", blocked);
                // Quotes cannot survive: the value is written back quoted.
                let _ = el.set_attribute("style", &clean.replace('"', "'"));
            }
        } else if URL_ATTRIBUTES.contains(&name.as_str())
            // Links are `a` and `area`; an `href` anywhere else is only
            // something for a script, or a client, to follow.
            // (`link` and `base` are dropped whole, and counted so).
            || (name == "href" && !matches!(tag.as_str(), "a" | "area") && !el.removed())
        {
            let url = links::normalize_url(&value);
            let keep = (tag == "img" && name == "src")
                && (url.to_ascii_lowercase().starts_with("cid:") || links::is_data_image(&url));
            if !keep {
                el.remove_attribute(&name);
                tally.add(if links::is_remote(&url) && tag == "img" {
                    "remote image"
                } else {
                    "remote reference"
                });
            }
        }
    }
}

/// `<a href>`: scripts and data go; what is left shows its target per
/// `mode`, first inside the link, so that a second pass sees it and adds
/// nothing.
fn link(el: &mut Element, mode: LinkMode, state: &Rc<RefCell<State>>) {
    let Some(raw) = el.get_attribute("href") else {
        return;
    };

    let href = links::normalize_url(&raw);
    if !links::is_safe_link(&href) {
        el.remove_attribute("href");
        state.borrow_mut().tally.add("script or data link");
        return;
    }
    let web = href.to_ascii_lowercase().starts_with("http");
    // A web link whose host no resolver would take is no link to show.
    if web
        && !links::host(&href).is_some_and(|h| {
            h.chars()
                .all(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '_' | '[' | ']' | ':'))
        })
    {
        el.remove_attribute("href");
        state.borrow_mut().tally.add("malformed link");
        return;
    }
    if mode == LinkMode::Keep || !web {
        return;
    }
    if mode == LinkMode::Defang {
        el.remove_attribute("href");
        state.borrow_mut().tally.add("link made plain text");
    }
    // The same link in the first reading: the next one with this href (a
    // link inside a dropped element may be missing from one of the two).
    let shown = {
        let mut s = state.borrow_mut();
        let from = s.next_anchor.min(s.anchors.len());
        match s.anchors[from..].iter().position(|(h, _)| *h == raw) {
            Some(p) => {
                s.next_anchor = from + p + 1;
                crate::web::decode_entities(&s.anchors[from + p].1)
            }
            None => String::new(),
        }
    };
    if let Some(m) = marker(&href, shown.trim(), mode) {
        // First inside the link, wherever its end turns out to be.
        el.prepend(&m, ContentType::Html);
        if m.contains('⚠') {
            state.borrow_mut().tally.add("deceptive link marked");
        }
    }
}

/// The `href` and text of every link, in document order: the markers go at
/// the start of each link, where its text is not known yet.
fn anchor_texts(html: &str) -> Vec<(String, String)> {
    let texts: RefCell<Vec<(String, String)>> = RefCell::new(Vec::new());
    let settings = RewriteStrSettings::new()
        .append_element_content_handler(element!("a[href], area[href]", |el| {
            let href = el.get_attribute("href").unwrap_or_default();
            texts.borrow_mut().push((href, String::new()));
            Ok(())
        }))
        .append_element_content_handler(text!("a[href]", |t| {
            if let Some((_, text)) = texts.borrow_mut().last_mut() {
                text.push_str(t.as_str());
            }
            Ok(())
        }))
        .with_strict(false);
    let _ = rewrite_str(html, settings);
    texts.into_inner()
}

fn marker(href: &str, shown: &str, mode: LinkMode) -> Option<String> {
    let target = match mode {
        LinkMode::Defang => links::defang(href),
        _ => links::host(href)?,
    };
    // Ours from an earlier pass, or the sender's own: either way the
    // reader already sees the real target.
    if let Some(first) = shown.strip_prefix('[').and_then(|s| s.split_once(']'))
        && first.0.contains(&target)
    {
        return None;
    }
    let warning = links::warning(href, shown);
    if mode != LinkMode::Defang && warning.is_none() && links::shows_its_host(href, shown) {
        return None;
    }
    let target = escape(&target);
    Some(match warning {
        Some(why) => {
            format!(" <strong>[⚠ 表示と異なるリンク先 / link goes to {target} ({why})]</strong>")
        }
        None => format!(" <small>[{target}]</small>"),
    })
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(html: &str) -> (String, Vec<String>) {
        sanitize(html, LinkMode::Show).unwrap()
    }

    #[test]
    fn active_content_goes_text_stays() {
        let (out, removed) = clean(
            "<html><head><meta http-equiv=refresh content='0;url=https://evil.example/'>\
             <base href='https://evil.example/'><link rel=stylesheet href='https://t.example/a.css'></head>\
             <body onload='x()'><script>alert(1)</script><p onclick=\"y()\">請求書をご確認ください</p>\
             <iframe src='https://evil.example/'></iframe><form action='https://evil.example/p'>\
             <input name=pw type=password><button>送信</button>ログイン</form>\
             <object data='x.swf'></object><svg><script>z()</script></svg><!--[if mso]><v:x/><![endif]--></body></html>",
        );
        for gone in [
            "script",
            "onload",
            "onclick",
            "iframe",
            "form",
            "input",
            "button",
            "object",
            "svg",
            "meta",
            "base",
            "<link",
            "evil.example",
            "[if",
        ] {
            assert!(!out.contains(gone), "{gone} left in {out}");
        }
        assert!(out.contains("請求書をご確認ください") && out.contains("ログイン"));
        assert!(
            removed.iter().any(|r| r.starts_with("script")),
            "{removed:?}"
        );
        assert!(
            removed.iter().any(|r| r.starts_with("event handler ×2")),
            "{removed:?}"
        );
    }

    /// fuzz html 67c484c8: the second of two `href`s was a script link,
    /// checked by nobody since the link rule reads only the first.
    #[test]
    fn fuzz_html_67c484c8_only_the_first_of_duplicate_attributes_is_kept() {
        let (out, removed) = clean(
            "<a href=\"https://ok.example/\" HREF=\"javascript:x()\" title=a title='b\"c'>t</a>\
             <img src=cid:a src=https://t.example/p.gif>",
        );
        assert!(
            !out.contains("javascript") && !out.contains("t.example"),
            "{out}"
        );
        assert_eq!(out.matches("href=").count(), 1, "{out}");
        assert!(
            out.contains("title=\"a\"") && !out.contains("b&quot;c"),
            "{out}"
        );
        assert!(out.contains("src=\"cid:a\""), "{out}");
        assert!(
            removed.contains(&"duplicate attribute ×2".to_owned()),
            "{removed:?}"
        );
        assert_eq!(active_left(&out), None);
    }

    #[test]
    fn remote_images_and_styles_are_blocked_embedded_ones_kept() {
        let (out, removed) = clean(
            "<img src='https://t.example/open.gif' alt=x><img src='cid:logo@x'>\
             <img src='data:image/png;base64,iVBOR'><img src='data:image/svg+xml,<svg/>'>\
             <div style=\"background:url('https://t.example/b.png');color:red\">a</div>\
             <style>@import url(https://t.example/x.css); p{background:url(http://t.example/c)} td{fill:url(#g)}</style>",
        );
        assert!(!out.contains("t.example"), "{out}");
        assert!(out.contains("cid:logo@x") && out.contains("data:image/png;base64,iVBOR"));
        assert!(!out.contains("svg+xml"));
        assert!(
            out.contains("color:red") && out.contains("url(#g)"),
            "{out}"
        );
        assert!(removed.contains(&"remote image".to_owned()), "{removed:?}");
    }

    #[test]
    fn links_show_where_they_go() {
        let (out, removed) = clean(
            "<a href='https://evil.example/login'>https://www.city.example.lg.jp/</a>\
             <a href='https://click.news.example.jp/r?u=1'>詳しくはこちら</a>\
             <a href='https://www.example.jp/'>www.example.jp</a>\
             <a href='jav&#x61;script:alert(1)'>click</a><a href='data:text/html,x'>d</a>",
        );
        assert!(
            out.contains("⚠") && out.contains("link goes to evil.example"),
            "{out}"
        );
        assert!(out.contains("[click.news.example.jp]"), "{out}");
        assert!(!out.contains("[www.example.jp]"), "{out}");
        assert!(
            !out.contains("javascript") && !out.contains("data:text"),
            "{out}"
        );
        assert!(
            removed.contains(&"script or data link ×2".to_owned()),
            "{removed:?}"
        );
        assert!(
            removed.contains(&"deceptive link marked".to_owned()),
            "{removed:?}"
        );
    }

    #[test]
    fn defanged_links_are_text() {
        let (out, _) = sanitize(
            "<a href='https://evil.example/x'>here</a>",
            LinkMode::Defang,
        )
        .unwrap();
        assert!(!out.contains("href"), "{out}");
        assert!(out.contains("hxxps://evil[.]example/x"), "{out}");
    }

    #[test]
    fn fuzz_html_f7ee2327_markup_in_an_attribute_goes() {
        let (out, removed) = clean(
            "<html><head><HTA:APPLICATION ID=\n<script language=\"JScript\">x()</script><title><script></title></head></html>",
        );
        assert!(!out.to_ascii_lowercase().contains("<script"), "{out}");
        assert!(
            removed.contains(&"markup in an attribute".to_owned()),
            "{removed:?}"
        );
    }

    #[test]
    fn fuzz_html_c51ff350_a_tag_cut_off_at_the_end_goes() {
        assert_eq!(clean("<p>a</p><script").0, "<p>a</p>");
        assert_eq!(clean("1 < 2").0, "1 &lt; 2");
        assert_eq!(clean("<<h<>u<>").0, clean(&clean("<<h<>u<>").0).0);
        assert_eq!(clean("<m<e").0, "");
        assert_eq!(clean("a <b <c").0, "a ");
    }

    #[test]
    fn fuzz_html_c927ddc1_tag_names_with_markup_go() {
        let (out, _) = clean("<d<script>x</d<script>");
        assert!(!out.contains("<d<script"), "{out}");
    }

    #[test]
    fn fuzz_html_ad608129_attribute_names_with_markup_go() {
        let (out, _) = clean("<p title=\"a\"<script x=1>y</p>");
        assert!(!out.contains("<script"), "{out}");
    }

    #[test]
    fn fuzz_html_links_to_impossible_hosts_stop_being_links() {
        let h = "<a href=http://\"><p<></a>x</a>";
        let (once, removed) = clean(h);
        assert!(!once.contains("href"), "{once}");
        assert!(
            removed.contains(&"malformed link".to_owned()),
            "{removed:?}"
        );
        assert_eq!(clean(&once).0, once);
    }

    #[test]
    fn fuzz_html_markers_do_not_depend_on_where_a_link_ends() {
        for h in [
            "<a href=http://e><t\"></a>F</a>",
            "<p><a href=http://e><t=></p>l</p>",
            "<a href='https://evil.example/'>https://city.example.lg.jp/</a>",
        ] {
            let (once, _) = clean(h);
            assert_eq!(clean(&once).0, once, "{h}");
        }
    }

    #[test]
    fn fuzz_html_href_outside_links_goes() {
        let (out, _) = clean(
            "<htmlour href=\"http3://example.jp/a\">x</htmlour><a href='https://example.jp/'>y</a>",
        );
        assert!(!out.contains("http3"), "{out}");
        assert!(out.contains("href='https://example.jp/'"), "{out}");
    }

    #[test]
    fn sanitizing_twice_changes_nothing_more() {
        let html = "<p>a <a href='https://x.example/'>b</a><img src='https://t.example/p'></p>";
        let (once, _) = clean(html);
        let (twice, removed) = clean(&once);
        assert_eq!(once, twice);
        assert!(removed.is_empty(), "{removed:?}");
    }
}
