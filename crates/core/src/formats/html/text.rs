//! HTML to plain text: paragraphs, line breaks, list items and table rows
//! kept as lines, link targets written after their text, everything else
//! dropped. Streaming and without a tree, so no input is too deep for it.

use std::cell::RefCell;
use std::rc::Rc;

use lol_html::html_content::{EndTag, TextType};
use lol_html::{RewriteStrSettings, doc_text, element, rewrite_str};

use super::links;
use crate::policy::LinkMode;
use crate::web::decode_entities;

/// A boxed end-tag handler; closures do not coerce to lol_html's alias by
/// themselves.
fn end_handler(
    f: impl FnOnce(&mut lol_html::html_content::EndTag<'_>) -> lol_html::HandlerResult + 'static,
) -> lol_html::EndTagHandler<'static> {
    Box::new(f)
}

/// Elements that start and end a line.
const BLOCKS: &str = "p, div, h1, h2, h3, h4, h5, h6, tr, table, ul, ol, dl, dt, dd, blockquote, \
     section, article, header, footer, center, pre, address, figure, figcaption, form, fieldset, \
     main, nav, aside, hr, caption";

#[derive(Default)]
struct State {
    out: String,
    /// The raw text node being read (entities may straddle chunks).
    node: String,
    /// Links being read: their target and text.
    anchors: Vec<(String, String)>,
    links: usize,
}

impl State {
    fn push_str(&mut self, s: &str) {
        self.out.push_str(s);
        if let Some((_, text)) = self.anchors.last_mut() {
            text.push_str(s);
        }
    }

    fn line_break(&mut self) {
        if !self.out.ends_with('\n') {
            self.out.push('\n');
        }
    }
}

/// Plain text of `html` (already UTF-8), with how many links' targets were
/// written out. Never fails: markup a streaming parser cannot follow is
/// read as well as it can be, and the result is text either way.
pub(crate) fn to_text(html: &str, mode: LinkMode) -> (String, usize) {
    let state = Rc::new(RefCell::new(State::default()));
    let (breaks, blocks, items, cells, images, anchors, texts) = (
        state.clone(),
        state.clone(),
        state.clone(),
        state.clone(),
        state.clone(),
        state.clone(),
        state.clone(),
    );
    let result = rewrite_str(
        html,
        RewriteStrSettings::new()
            .append_element_content_handler(element!("br", move |_| {
                breaks.borrow_mut().out.push('\n');
                Ok(())
            }))
            .append_element_content_handler(element!(BLOCKS, move |el| {
                blocks.borrow_mut().line_break();
                let s = blocks.clone();
                // Void and unclosed elements have no end to break at.
                let _ = el.on_end_tag(end_handler(move |_: &mut EndTag| {
                    s.borrow_mut().line_break();
                    Ok(())
                }));
                Ok(())
            }))
            .append_element_content_handler(element!("li", move |_| {
                let mut s = items.borrow_mut();
                s.line_break();
                s.out.push_str("・ ");
                Ok(())
            }))
            .append_element_content_handler(element!("td, th", move |_| {
                let mut s = cells.borrow_mut();
                if !s.out.ends_with(['\n', ' ']) {
                    s.out.push(' ');
                }
                Ok(())
            }))
            .append_element_content_handler(element!("img[alt]", move |el| {
                let alt = decode_entities(&el.get_attribute("alt").unwrap_or_default());
                let alt = alt.trim();
                if !alt.is_empty() {
                    images.borrow_mut().push_str(&format!("[{alt}]"));
                }
                Ok(())
            }))
            .append_element_content_handler(element!("a[href]", move |el| {
                let href = links::normalize_url(&el.get_attribute("href").unwrap_or_default());
                anchors.borrow_mut().anchors.push((href, String::new()));
                let s = anchors.clone();
                let registered = el.on_end_tag(end_handler(move |_: &mut EndTag| {
                    let mut s = s.borrow_mut();
                    if let Some((href, text)) = s.anchors.pop()
                        && let Some(target) = target(&href, &text, mode)
                    {
                        s.push_str(&target);
                        s.links += 1;
                    }
                    Ok(())
                }));
                if registered.is_err() {
                    anchors.borrow_mut().anchors.pop();
                }
                Ok(())
            }))
            .append_document_content_handler(doc_text!(move |t| {
                let mut s = texts.borrow_mut();
                // Script, style, title and the like are not text a reader sees.
                if matches!(t.text_type(), TextType::Data) {
                    s.node.push_str(t.as_str());
                }
                if t.last_in_text_node() {
                    let node = std::mem::take(&mut s.node);
                    let text = collapse(&decode_entities(&node));
                    s.push_str(&text);
                }
                Ok(())
            }))
            .with_strict(false),
    );
    let mut s = state.borrow_mut();
    if result.is_err() {
        // What was read stays; the rest is the markup without its tags.
        s.out.push('\n');
    }
    (tidy(&s.out), s.links)
}

/// What follows a link's text: its target, unless the text is the target.
fn target(href: &str, text: &str, mode: LinkMode) -> Option<String> {
    if !links::is_safe_link(href) {
        return Some(" <リンク削除 / link removed>".into());
    }
    let shown = text.trim();
    if href.starts_with('#')
        || href.eq_ignore_ascii_case(shown)
        || href.strip_prefix("mailto:") == Some(shown)
    {
        return None;
    }
    let warning = links::warning(href, shown);
    let href = match mode {
        LinkMode::Defang => links::defang(href),
        _ => href.to_owned(),
    };
    Some(match warning {
        Some(why) => format!(" <⚠ {href} ({why})>"),
        None => format!(" <{href}>"),
    })
}

/// Whitespace runs as one space, as a browser shows them.
fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.chars() {
        if c.is_ascii_whitespace() {
            space = true;
        } else {
            if space {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    if space {
        out.push(' ');
    }
    out
}

/// Lines trimmed, no more than one blank line in a row.
fn tidy(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.lines().map(str::trim) {
        if line.is_empty() {
            blank += 1;
            if blank > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structure_survives_as_lines() {
        let (text, n) = to_text(
            "<html><head><title>t</title><style>p{}</style><script>x()</script></head><body>\
             <h1>お知らせ</h1><p>請求書を&amp;ご確認<br>ください。</p><ul><li>一</li><li>二</li></ul>\
             <table><tr><td>a</td><td>b</td></tr></table>\
             <p><a href='https://news.example.jp/r?id=1'>詳しくはこちら</a>\
             <a href='https://www.example.jp/'>https://www.example.jp/</a>\
             <a href='javascript:x()'>x</a> <img src=a alt='ロゴ'></p></body></html>",
            LinkMode::Show,
        );
        assert_eq!(
            text,
            "お知らせ\n請求書を&ご確認\nください。\n・ 一\n・ 二\na b\n\
             詳しくはこちら <https://news.example.jp/r?id=1>https://www.example.jp/x <リンク削除 / link removed> [ロゴ]\n"
        );
        assert_eq!(n, 2);
    }

    #[test]
    fn deceptive_and_defanged_targets() {
        let (text, _) = to_text(
            "<a href='https://evil.example/'>https://city.example.lg.jp/</a>",
            LinkMode::Defang,
        );
        assert!(
            text.contains("<⚠ hxxps://evil[.]example/ (another domain"),
            "{text}"
        );
    }

    #[test]
    fn deep_and_broken_markup_is_text() {
        let deep = "<div>".repeat(100_000) + "x";
        assert_eq!(to_text(&deep, LinkMode::Show).0, "x\n");
        let (t, _) = to_text("<p>a &am", LinkMode::Show);
        assert_eq!(t, "a &am\n");
    }
}
