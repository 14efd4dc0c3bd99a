//! SVG rewritten without what runs or fetches: script, event handlers,
//! foreignObject (HTML inside the image), animations that set links or
//! handlers, references outside the document, the DOCTYPE (entities) and
//! processing instructions (style sheets).

use quick_xml::Reader;
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesStart, BytesText, Event};

use crate::formats::common::{Disarmed, FormatError, Tally};
use crate::formats::html::{clean_css, is_data_image};

/// Elements dropped with everything inside them.
const DROPPED: &[&str] = &[
    "script",
    "foreignobject",
    "handler",
    "listener",
    "iframe",
    "embed",
    "object",
    "audio",
    "video",
];

/// Deeper than any drawing nests; deeper input is refused, not rebuilt.
const MAX_DEPTH: usize = 256;

/// An SVG rebuilt without script, handlers or external references.
pub(crate) fn disarm(bytes: &[u8]) -> Result<Disarmed, FormatError> {
    let (bytes, removed) = rebuild(bytes)?;
    Ok(Disarmed { bytes, removed })
}

/// Rebuilds an SVG; fails on XML that does not parse.
fn rebuild(bytes: &[u8]) -> Result<(Vec<u8>, Vec<String>), String> {
    let mut reader = Reader::from_reader(bytes);
    reader.config_mut().check_end_names = true;
    let mut writer = Writer::new(Vec::with_capacity(bytes.len()));
    let mut tally = Tally::default();
    // While inside a dropped element: how deep in it we are.
    let mut skipping = 0usize;
    let mut depth = 0usize;
    let mut style_depth: Option<usize> = None;
    let mut drawn = false;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("unreadable SVG at byte {}: {e}", reader.error_position()))?;
        let write = match event {
            Event::Eof => break,
            Event::Start(e) => {
                let at_root = depth == 0;
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err("SVG nested too deep".into());
                }
                if at_root && !root(&e, &mut drawn)? {
                    tally.add("content after the root element");
                    skipping = 1;
                    None
                } else if skipping > 0 {
                    skipping += 1;
                    None
                } else if let Some(what) = dropped(&e) {
                    tally.add(what);
                    skipping = 1;
                    None
                } else {
                    if local_lower(&e) == "style" {
                        style_depth = Some(depth);
                    }
                    Some(Event::Start(clean_element(&e, &mut tally)?))
                }
            }
            Event::Empty(e) => {
                if depth == 0 && !root(&e, &mut drawn)? {
                    tally.add("content after the root element");
                    None
                } else if skipping > 0 {
                    None
                } else if let Some(what) = dropped(&e) {
                    tally.add(what);
                    None
                } else {
                    Some(Event::Empty(clean_element(&e, &mut tally)?))
                }
            }
            Event::End(e) => {
                if !well_formed_name(e.name().as_ref()) {
                    return Err("an end tag with a malformed name".into());
                }
                depth = depth.saturating_sub(1);
                if style_depth.is_some_and(|d| d > depth) {
                    style_depth = None;
                }
                if skipping > 0 {
                    skipping -= 1;
                    None
                } else {
                    Some(Event::End(e))
                }
            }
            Event::Text(t) if style_depth.is_some() && skipping == 0 => {
                let (clean, blocked) = clean_css(&t);
                if blocked > 0 {
                    tally.add_n("remote style reference", blocked);
                }
                // Still escaped as the source was: cleaning only replaces words.
                writer.get_mut().extend_from_slice(clean.as_bytes());
                None
            }
            Event::CData(t) if style_depth.is_some() && skipping == 0 => {
                let (clean, blocked) = clean_css(&t);
                if blocked > 0 {
                    tally.add_n("remote style reference", blocked);
                }
                Some(Event::CData(quick_xml::events::BytesCData::new(
                    clean.replace("]]>", ""),
                )))
            }
            Event::DocType(_) => {
                tally.add("DOCTYPE (entities)");
                None
            }
            Event::PI(_) => {
                tally.add("processing instruction");
                None
            }
            // Only a declaration of plain version, encoding and standalone
            // values is written, and written anew.
            Event::Decl(d) => match plain_declaration(&d) {
                // Only first, and only once.
                Some(decl) if writer.get_ref().is_empty() => Some(Event::Decl(decl)),
                _ => {
                    tally.add("malformed XML declaration");
                    None
                }
            },
            Event::Comment(_) => None,
            // Outside the root only whitespace is XML; `#!` there would
            // make the file a script to anything that sniffs it.
            Event::Text(_) | Event::CData(_) if depth == 0 => None,
            // A raw `<` is markup to anything that sniffs the file (a
            // `<job>` beside a `<script>` is a Windows script): CDATA is
            // written as text, escaped.
            Event::CData(t) if skipping == 0 => Some(Event::Text(BytesText::new(&t).into_owned())),
            other if skipping == 0 => Some(other),
            _ => None,
        };
        if let Some(e) = write {
            writer
                .write_event(e)
                .map_err(|e| format!("SVG could not be written: {e}"))?;
        }
    }
    if depth != 0 {
        return Err("SVG ends inside an element".into());
    }
    if !drawn {
        return Err("no svg element".into());
    }
    Ok((writer.into_inner(), tally.lines()))
}

/// Whether an element at the top level is the root to keep: the first one,
/// which must be `svg`; later ones are dropped (XML has one root).
fn root(e: &BytesStart, drawn: &mut bool) -> Result<bool, String> {
    if *drawn {
        return Ok(false);
    }
    if local_lower(e) != "svg" {
        return Err(format!(
            "the root element is <{}>, not <svg>",
            local_lower(e)
        ));
    }
    *drawn = true;
    Ok(true)
}

fn plain_declaration(d: &BytesDecl) -> Option<BytesDecl<'static>> {
    let plain = |v: &str| {
        !v.is_empty()
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    };
    let version = d.version().ok()?;
    let encoding = match d.encoding() {
        None => None,
        Some(e) => Some(e.ok()?),
    };
    let standalone = match d.standalone() {
        None => None,
        Some(s) => Some(s.ok()?),
    };
    let fields = [Some(&version), encoding.as_ref(), standalone.as_ref()];
    if !fields.iter().flatten().all(|v| plain(v)) {
        return None;
    }
    Some(BytesDecl::new(&version, encoding.as_deref(), standalone.as_deref()).into_owned())
}

/// A name with a local part, and a prefix when there is a colon.
fn well_formed_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(':')
        && !name.ends_with(':')
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':'))
}

fn local_lower(e: &BytesStart) -> String {
    crate::formats::common::xml::local_name(e).to_ascii_lowercase()
}

fn dropped(e: &BytesStart) -> Option<&'static str> {
    let name = local_lower(e);
    if DROPPED.contains(&name.as_str()) {
        return Some(match name.as_str() {
            "script" | "handler" | "listener" => "script",
            "foreignobject" => "foreignObject",
            _ => "embedded object",
        });
    }
    // <set attributeName="href" to="javascript:..."/> and its animated kin.
    if matches!(
        name.as_str(),
        "set" | "animate" | "animatemotion" | "animatetransform"
    ) {
        let target = e
            .attributes()
            .flatten()
            .find(|a| {
                a.key
                    .local_name()
                    .as_ref()
                    .eq_ignore_ascii_case("attributeName")
            })
            .map(|a| a.value.trim().to_ascii_lowercase());
        if target.is_some_and(|t| t.ends_with("href") || t.starts_with("on")) {
            return Some("animation that sets a link or handler");
        }
    }
    None
}

/// The element with only the attributes that neither run nor fetch.
fn clean_element(e: &BytesStart, tally: &mut Tally) -> Result<BytesStart<'static>, String> {
    if !well_formed_name(e.name().as_ref()) {
        return Err("an element with a malformed name".into());
    }
    let mut out = BytesStart::new(e.name().as_ref().to_owned());
    for attr in e.attributes() {
        let attr = attr.map_err(|e| format!("unreadable SVG attribute: {e}"))?;
        // An XML reader refuses such a name; a lenient one reads it anew.
        if !well_formed_name(attr.key.as_ref()) {
            tally.add("malformed attribute");
            continue;
        }
        let local = attr.key.local_name().as_ref().to_ascii_lowercase();
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| format!("unreadable SVG attribute value: {e}"))?;
        if local.starts_with("on") {
            tally.add("event handler");
            continue;
        }
        if local == "href" || local == "src" {
            let v: String = value.chars().filter(|c| !c.is_whitespace()).collect();
            if !(v.starts_with('#') || is_data_image(&v)) {
                tally.add("external reference");
                continue;
            }
        }
        if local == "style" {
            let (clean, blocked) = clean_css(&value);
            if blocked > 0 {
                tally.add_n("remote style reference", blocked);
            }
            out.push_attribute((attr.key.as_ref(), clean.as_str()));
            continue;
        }
        // Written from its value, escaped anew: a raw `"` inside single
        // quotes would otherwise end up inside double ones.
        out.push_attribute((attr.key.as_ref(), value.as_ref()));
    }
    Ok(out.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clean(svg: &str) -> (String, Vec<String>) {
        let (b, r) = rebuild(svg.as_bytes()).unwrap();
        (String::from_utf8(b).unwrap(), r)
    }

    #[test]
    fn active_content_goes_drawing_stays() {
        let (out, removed) = clean(
            r##"<?xml version="1.0"?><?xml-stylesheet href="https://t.example/a.css"?>
<!DOCTYPE svg [<!ENTITY x "y">]>
<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" onload="alert(1)">
<script><![CDATA[alert(2)]]></script>
<defs><linearGradient id="g"><stop offset="0" stop-color="red"/></linearGradient></defs>
<rect width="10" height="10" fill="url(#g)" onclick="x()"/>
<a xlink:href="javascript:alert(3)"><text>t</text></a>
<image href="https://t.example/i.png"/>
<use href="#g"/>
<foreignObject><iframe src="https://evil.example/"/></foreignObject>
<set attributeName="href" to="javascript:alert(4)"/>
<style>rect{background:url(https://t.example/b)}</style>
</svg>"##,
        );
        for gone in [
            "script",
            "alert",
            "onload",
            "onclick",
            "t.example",
            "evil",
            "ENTITY",
            "foreignObject",
            "<set",
        ] {
            assert!(!out.contains(gone), "{gone} left in {out}");
        }
        assert!(
            out.contains("url(#g)")
                && out.contains("<use href=\"#g\"/>")
                && out.contains("<text>t</text>"),
            "{out}"
        );
        assert!(removed.contains(&"script".to_owned()), "{removed:?}");
        assert!(
            removed.contains(&"external reference ×2".to_owned()),
            "{removed:?}"
        );
    }

    #[test]
    fn rebuilding_twice_changes_nothing_more() {
        let (once, _) = clean(
            "<svg xmlns='http://www.w3.org/2000/svg'><rect onclick='x' width='1'/><style>a{}</style></svg>",
        );
        let (twice, removed) = clean(&once);
        assert_eq!(once, twice);
        assert!(removed.is_empty());
    }

    #[test]
    fn broken_xml_is_refused() {
        assert!(rebuild(b"<svg><g></svg>").is_err());
        assert!(rebuild(b"<svg><g>").is_err());
    }

    #[test]
    fn fuzz_svg_da39a3ee_empty_input_is_refused() {
        assert!(rebuild(b"").is_err());
        assert!(rebuild(b"<?xml version='1.0'?><!-- no drawing -->").is_err());
        assert!(rebuild(b"<svg xmlns='http://www.w3.org/2000/svg'/>").is_ok());
    }

    #[test]
    fn fuzz_svg_9dc7b770_nameless_elements_are_refused() {
        assert!(rebuild(b"<svg>< /></svg>").is_err());
        assert_eq!(rebuild(b"<svg/>< />").unwrap().0, b"<svg/>");
        assert!(rebuild(b"<?<svg?><:svg/>").is_err());
        assert!(rebuild(b"<href=data:.download/><svg/>").is_err());
        assert_eq!(
            rebuild(b"<?xml downloadhref=data:?><svg/>").unwrap().0,
            b"<svg/>"
        );
        assert!(rebuild(b"<set attributeName='x'/><svg/>").is_err());
        assert_eq!(
            rebuild(b"<svg/><?xml version='1.0'?><svg><script/></svg>")
                .unwrap()
                .0,
            b"<svg/>"
        );
        let quoted = rebuild(b"<svg x='\"'/>").unwrap().0;
        assert_eq!(rebuild(&quoted).unwrap().0, quoted);
    }

    #[test]
    fn fuzz_svg_2d080933_malformed_attribute_names_go() {
        let (out, removed) = clean("<svg a\u{8}=\"0\"><set x/y.download=\"1\" to=\"2\"/></svg>");
        assert_eq!(out, "<svg><set to=\"2\"/></svg>");
        assert_eq!(removed, ["malformed attribute ×2"]);
    }

    /// fuzz svg e0130c46: CDATA kept `<job>` and `<script>` as they were,
    /// and once the rebuild had moved them to the head of the file it was
    /// sniffed as a Windows script.
    #[test]
    fn fuzz_svg_e0130c46_cdata_is_written_as_text() {
        let (out, _) =
            clean("<svg><text><![CDATA[<job><script>x & y</script></job>]]></text></svg>");
        assert_eq!(
            out,
            "<svg><text>&lt;job&gt;&lt;script&gt;x &amp; y&lt;/script&gt;&lt;/job&gt;</text></svg>"
        );
        assert_eq!(crate::identify(out.as_bytes()), crate::FileType::Svg);
        assert_eq!(clean(&out).0, out);
    }

    #[test]
    fn fuzz_svg_1ed3e102_text_outside_the_root_goes() {
        assert_eq!(rebuild(b"#!<svg/>").unwrap().0, b"<svg/>");
    }
}
