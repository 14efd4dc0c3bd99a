//! Rebuild: serialize the inspected tree into a new message. Only what was
//! inspected is emitted (preambles, epilogues and anything a different parser
//! might see are dropped); clean parts keep their bytes; a body whose
//! encoding is ambiguous is re-encoded from the very bytes we inspected.

use std::collections::BTreeMap;

use base64::Engine as _;
use mail_parser::MimeHeaders;
use sha2::{Digest, Sha256};

use crate::mime::{Body, Cte, Entity, Leaf};

/// What takes a leaf part's place in the rebuilt message.
#[derive(Debug)]
pub(crate) enum Replacement {
    /// A removed part: the notice text that stands in for it.
    Notice(String),
    /// A disarmed part: its new content, declared anew when its type or name
    /// changed (`docm` → `docx`).
    Disarmed {
        bytes: Vec<u8>,
        content_type: String,
        name: Option<String>,
        relabel: bool,
    },
}

impl Replacement {
    /// The content a reader decodes from the part.
    pub(crate) fn content(&self) -> &[u8] {
        match self {
            Replacement::Notice(text) => text.as_bytes(),
            Replacement::Disarmed { bytes, .. } => bytes,
        }
    }
}

/// How to serialize one message.
pub(crate) struct Rebuild<'a> {
    /// Line ending of the original, used for every line we write.
    pub(crate) eol: &'static [u8],
    /// Parts to replace, by path.
    pub(crate) replacements: &'a BTreeMap<String, Replacement>,
    /// Makes generated boundaries unpredictable and reproducible.
    pub(crate) seed: [u8; 32],
}

impl Rebuild<'_> {
    /// The rebuilt message: `trace` header fields first, then the original
    /// header (minus any forged fields of ours), then the body; with `notice`
    /// as the first part of a multipart/mixed when given.
    pub(crate) fn message(
        &self,
        root: &Entity,
        trace: &[(&str, String)],
        notice: Option<&str>,
    ) -> Vec<u8> {
        let mut head = Vec::new();
        for (name, value) in trace {
            head.extend_from_slice(format!("{name}: {value}").as_bytes());
            head.extend_from_slice(self.eol);
        }
        let own = |f: &[u8]| field_name(f).starts_with("x-mugai-");
        let mut out = match notice {
            None => {
                head.extend(fields(&root.header).filter(|f| !own(f)).flatten());
                self.entity(root, &head, None)
            }
            Some(text)
                if root.content_type == "multipart/mixed"
                    && matches!(root.body, Body::Multipart { .. }) =>
            {
                head.extend(fields(&root.header).filter(|f| !own(f)).flatten());
                self.entity(root, &head, Some(self.text_part(text)))
            }
            Some(text) => {
                // Wrap: the original's content fields move into the wrapped part.
                let is_content = |f: &[u8]| field_name(f).starts_with("content-");
                let mut inner_header: Vec<u8> = fields(&root.header)
                    .filter(|f| is_content(f))
                    .flatten()
                    .copied()
                    .collect();
                if inner_header.is_empty() {
                    inner_header = self.line("Content-Type: text/plain");
                }
                head.extend(
                    fields(&root.header)
                        .filter(|f| !own(f) && !is_content(f) && field_name(f) != "mime-version")
                        .flatten(),
                );
                head.extend(self.line("MIME-Version: 1.0"));
                let parts = vec![self.text_part(text), self.entity(root, &inner_header, None)];
                let wrapper = Container {
                    content_type: "multipart/mixed",
                    params: &[],
                    boundary: "",
                    path: "wrap",
                };
                self.multipart(&head, self.eol, &wrapper, &parts)
            }
        };
        // A closing delimiter ends its line; a single-part body is left exactly
        // as it was (a line break added there would change its content).
        if matches!(root.body, Body::Multipart { .. }) || notice.is_some() {
            out.extend_from_slice(self.eol);
        }
        out
    }

    fn line(&self, text: &str) -> Vec<u8> {
        let mut v = text.as_bytes().to_vec();
        v.extend_from_slice(self.eol);
        v
    }

    fn entity(&self, e: &Entity, header: &[u8], first_child: Option<Vec<u8>>) -> Vec<u8> {
        match &e.body {
            Body::Leaf(_) if self.replacements.contains_key(&e.path) => {
                match &self.replacements[&e.path] {
                    Replacement::Notice(text) => self.text_part(text),
                    Replacement::Disarmed {
                        bytes,
                        content_type,
                        name,
                        relabel,
                    } => {
                        let mut h =
                            replace_field(header, "content-transfer-encoding", "base64", self.eol);
                        if *relabel {
                            h = self.relabel(&h, content_type, name.as_deref());
                        }
                        self.join(&h, &e.blank_line, &self.base64(bytes))
                    }
                }
            }
            Body::Leaf(leaf) if is_container_type(&e.content_type) => {
                // Declared a container, held as opaque bytes (no usable boundary,
                // an enclosed message nobody could parse): say what we inspected,
                // or some reader will find parts in it that we never saw.
                let h = replace_field(header, "content-type", "application/octet-stream", self.eol);
                self.leaf(&h, &e.blank_line, leaf)
            }
            Body::Leaf(leaf) => self.leaf(header, &e.blank_line, leaf),
            Body::Multipart { boundary, children } => {
                let mut parts: Vec<Vec<u8>> = first_child.into_iter().collect();
                parts.extend(children.iter().map(|c| self.entity(c, &c.header, None)));
                let container = Container {
                    content_type: &e.content_type,
                    params: &e.params,
                    boundary,
                    path: &e.path,
                };
                self.multipart(header, &e.blank_line, &container, &parts)
            }
            Body::Message { inner, encoding } => {
                let body = self.entity(inner, &inner.header, None);
                match encoding {
                    Cte::Identity => self.join(header, &e.blank_line, &body),
                    _ => {
                        let h =
                            replace_field(header, "content-transfer-encoding", "base64", self.eol);
                        self.join(&h, &e.blank_line, &self.base64(&body))
                    }
                }
            }
        }
    }

    fn join(&self, header: &[u8], blank_line: &[u8], body: &[u8]) -> Vec<u8> {
        // A header block that ended the input had no blank line; add one only
        // if a body must follow.
        let blank_line = match (blank_line.is_empty(), body.is_empty()) {
            (true, false) => self.eol,
            _ => blank_line,
        };
        let mut out = Vec::with_capacity(header.len() + body.len() + 2);
        out.extend_from_slice(header);
        out.extend_from_slice(blank_line);
        out.extend_from_slice(body);
        out
    }

    fn leaf(&self, header: &[u8], blank_line: &[u8], leaf: &Leaf) -> Vec<u8> {
        if leaf.canonical {
            self.join(header, blank_line, &leaf.raw)
        } else {
            let h = replace_field(header, "content-transfer-encoding", "base64", self.eol);
            self.join(&h, blank_line, &self.base64(&leaf.decoded))
        }
    }

    /// The header with a new Content-Type and Content-Disposition naming the
    /// part `name` (RFC 2047 in `name=` for old readers, RFC 2231 in
    /// `filename*=`); other fields stay.
    fn relabel(&self, header: &[u8], content_type: &str, name: Option<&str>) -> Vec<u8> {
        let fold = |s: &mut String, piece: &str| {
            s.push(';');
            s.push_str(std::str::from_utf8(self.eol).unwrap_or("\r\n"));
            s.push('\t');
            s.push_str(piece);
        };
        let mut ct = content_type.to_owned();
        let mut cd = String::from(if header_disposition_is_inline(header) {
            "inline"
        } else {
            "attachment"
        });
        if let Some(name) = name {
            fold(&mut ct, &format!("name=\"{}\"", rfc2047(name)));
            match rfc2231_chunks(name).as_slice() {
                [one] => fold(&mut cd, &format!("filename*={one}")),
                many => {
                    for (i, chunk) in many.iter().enumerate() {
                        fold(&mut cd, &format!("filename*{i}*={chunk}"));
                    }
                }
            }
        }
        let h = replace_field(header, "content-type", &ct, self.eol);
        // A body stays a body: no disposition is added where there was none.
        let had_disposition = fields(header).any(|f| field_name(f) == "content-disposition");
        if name.is_none() && !had_disposition {
            return h;
        }
        replace_field(&h, "content-disposition", &cd, self.eol)
    }

    /// A UTF-8 text part written by mugai.
    pub(crate) fn text_part(&self, text: &str) -> Vec<u8> {
        let mut h = Vec::new();
        for l in [
            "Content-Type: text/plain; charset=\"utf-8\"",
            "Content-Transfer-Encoding: base64",
            "Content-Disposition: inline",
        ] {
            h.extend(self.line(l));
        }
        self.join(&h, self.eol, &self.base64(text.as_bytes()))
    }

    fn base64(&self, data: &[u8]) -> Vec<u8> {
        let encoded = base64::engine::general_purpose::STANDARD.encode(data);
        let mut out = Vec::with_capacity(encoded.len() + encoded.len() / 76 * 2 + 2);
        for chunk in encoded.as_bytes().chunks(76) {
            out.extend_from_slice(chunk);
            out.extend_from_slice(self.eol);
        }
        // The delimiter that follows brings its own line break.
        out.truncate(out.len().saturating_sub(self.eol.len()));
        out
    }

    fn multipart(
        &self,
        header: &[u8],
        blank_line: &[u8],
        c: &Container<'_>,
        parts: &[Vec<u8>],
    ) -> Vec<u8> {
        let (content_type, params) = (c.content_type, c.params);
        let boundary = self.choose_boundary(c.boundary, parts, c.path);
        let header = if boundary_in_header_is(header, &boundary) {
            header.to_vec()
        } else {
            let mut value = format!("{content_type}; boundary=\"{boundary}\"");
            for (k, v) in params.iter().filter(|(k, v)| k.is_ascii() && v.is_ascii()) {
                value.push_str(&format!(
                    "; {k}=\"{}\"",
                    v.replace('\\', "\\\\").replace('"', "\\\"")
                ));
            }
            replace_field(header, "content-type", &value, self.eol)
        };
        let mut out = header;
        out.extend_from_slice(if blank_line.is_empty() {
            self.eol
        } else {
            blank_line
        });
        for p in parts {
            out.extend_from_slice(b"--");
            out.extend_from_slice(boundary.as_bytes());
            out.extend_from_slice(self.eol);
            out.extend_from_slice(p);
            out.extend_from_slice(self.eol);
        }
        out.extend_from_slice(format!("--{boundary}--").as_bytes());
        out
    }

    /// The original boundary when it is valid and no part contains it;
    /// otherwise a fresh one.
    fn choose_boundary(&self, original: &str, parts: &[Vec<u8>], path: &str) -> String {
        let clashes = |b: &str| {
            let needle = format!("--{b}");
            parts
                .iter()
                .any(|p| crate::identify::find(p, needle.as_bytes()).is_some())
        };
        if is_valid_boundary(original) && !clashes(original) {
            return original.to_owned();
        }
        (0u32..)
            .map(|n| {
                let mut h = Sha256::new();
                h.update(self.seed);
                h.update(path.as_bytes());
                h.update(n.to_le_bytes());
                format!("=_mugai_{}", &hex::encode(h.finalize())[..24])
            })
            .find(|b| !clashes(b))
            .unwrap_or_default()
    }
}

fn header_disposition_is_inline(header: &[u8]) -> bool {
    fields(header)
        .filter(|f| field_name(f) == "content-disposition")
        .any(|f| {
            let value =
                String::from_utf8_lossy(&f[f.iter().position(|&c| c == b':').unwrap_or(0)..]);
            value
                .trim_start_matches(':')
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("inline")
        })
}

/// `name` as RFC 2047 encoded words of at most 45 bytes of UTF-8 each,
/// separated by spaces; plain when it is printable ASCII without quotes.
fn rfc2047(name: &str) -> String {
    if name
        .bytes()
        .all(|c| (b' '..=b'~').contains(&c) && c != b'"' && c != b'\\')
    {
        return name.to_owned();
    }
    let mut words = Vec::new();
    let mut chunk = String::new();
    for c in name.chars() {
        if chunk.len() + c.len_utf8() > 45 {
            words.push(std::mem::take(&mut chunk));
        }
        chunk.push(c);
    }
    words.push(chunk);
    words
        .iter()
        .map(|w| {
            format!(
                "=?UTF-8?B?{}?=",
                base64::engine::general_purpose::STANDARD.encode(w)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// `name` as RFC 2231 continuations (`utf-8''` on the first), percent-encoded,
/// at most 60 characters each, never splitting an escape.
fn rfc2231_chunks(name: &str) -> Vec<String> {
    let mut chunks = vec![String::from("utf-8''")];
    for b in name.bytes() {
        let piece = if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            (b as char).to_string()
        } else {
            format!("%{b:02X}")
        };
        if chunks.last().is_some_and(|c| c.len() + piece.len() > 60) {
            chunks.push(String::new());
        }
        if let Some(last) = chunks.last_mut() {
            last.push_str(&piece);
        }
    }
    chunks
}

fn is_container_type(content_type: &str) -> bool {
    content_type.starts_with("multipart/") || content_type.starts_with("message/")
}

/// What a multipart is, apart from its header and parts.
struct Container<'a> {
    content_type: &'a str,
    params: &'a [(String, String)],
    /// The original boundary, kept when still valid and unambiguous.
    boundary: &'a str,
    /// Seeds a fresh boundary when the original cannot be kept.
    path: &'a str,
}

/// RFC 2046 §5.1.1: 1 to 70 of a restricted set, not ending in a space.
fn is_valid_boundary(b: &str) -> bool {
    (1..=70).contains(&b.len())
        && !b.ends_with(' ')
        && b.bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"'()+_,-./:=? ".contains(&c))
}

fn boundary_in_header_is(header: &[u8], boundary: &str) -> bool {
    fields(header)
        .filter(|f| field_name(f) == "content-type")
        .count()
        == 1
        && mail_parser::MessageParser::default()
            .parse_headers(header)
            .and_then(|m| {
                m.parts
                    .first()
                    .and_then(|p| p.content_type())
                    .and_then(|c| c.attribute("boundary"))
                    .map(|b| b == boundary)
            })
            .unwrap_or(false)
}

/// Header fields, each with its folded continuation lines and line breaks.
pub(crate) fn fields(header: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut starts = Vec::new();
    let mut at_line_start = true;
    for (i, &c) in header.iter().enumerate() {
        if at_line_start && c != b' ' && c != b'\t' {
            starts.push(i);
        }
        at_line_start = c == b'\n';
    }
    starts.push(header.len());
    let bounds: Vec<(usize, usize)> = starts.windows(2).map(|w| (w[0], w[1])).collect();
    bounds.into_iter().map(move |(a, b)| &header[a..b])
}

/// The header with `tag` before the first Subject (RFC 2047-encoded unless
/// ASCII), or with a Subject field of just the tag when there is none.
pub(crate) fn tag_subject(header: &[u8], tag: &str, eol: &[u8]) -> Vec<u8> {
    let encode = |t: &str| {
        if t.is_ascii() {
            t.to_owned()
        } else {
            format!(
                "=?UTF-8?B?{}?=",
                base64::engine::general_purpose::STANDARD.encode(t)
            )
        }
    };
    let mut out = Vec::with_capacity(header.len() + 64);
    let mut done = false;
    for f in fields(header) {
        if done || field_name(f) != "subject" {
            out.extend_from_slice(f);
            continue;
        }
        // Named, so it has a colon.
        let Some(colon) = f.iter().position(|&c| c == b':') else {
            out.extend_from_slice(f);
            continue;
        };
        done = true;
        let value = &f[colon + 1..];
        let trimmed = value.trim_ascii_start();
        // Whitespace between two encoded words is not displayed, so the
        // space that separates the tag from the subject goes inside ours.
        let word = if trimmed.starts_with(b"=?") {
            encode(&format!("{tag} "))
        } else {
            encode(tag)
        };
        out.extend_from_slice(&f[..=colon]);
        out.push(b' ');
        out.extend_from_slice(word.as_bytes());
        if !value.first().is_some_and(|c| *c == b' ' || *c == b'\t') {
            out.push(b' ');
        }
        out.extend_from_slice(value);
    }
    if !done {
        if !out.is_empty() && !out.ends_with(b"\n") {
            out.extend_from_slice(eol);
        }
        out.extend_from_slice(format!("Subject: {}", encode(tag)).as_bytes());
        out.extend_from_slice(eol);
    }
    out
}

/// Lower-case name of a header field.
pub(crate) fn field_name(field: &[u8]) -> String {
    // A line without a colon is no field, and has no name.
    let Some(end) = field.iter().position(|&c| c == b':') else {
        return String::new();
    };
    String::from_utf8_lossy(&field[..end])
        .trim()
        .to_ascii_lowercase()
}

/// The header with every `name` field replaced by one `name: value` field
/// (where the first one was, or at the end).
fn replace_field(header: &[u8], name: &str, value: &str, eol: &[u8]) -> Vec<u8> {
    let canonical = match name {
        "content-type" => "Content-Type",
        "content-transfer-encoding" => "Content-Transfer-Encoding",
        "content-disposition" => "Content-Disposition",
        other => other,
    };
    let mut new_field = format!("{canonical}: {value}").into_bytes();
    new_field.extend_from_slice(eol);
    let mut out = Vec::with_capacity(header.len() + new_field.len());
    let mut placed = false;
    for f in fields(header) {
        if field_name(f) == name {
            if !placed {
                out.extend_from_slice(&new_field);
                placed = true;
            }
        } else {
            out.extend_from_slice(f);
            if !f.ends_with(b"\n") {
                out.extend_from_slice(eol);
            }
        }
    }
    if !placed {
        out.extend_from_slice(&new_field);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_fields_stay_whole() {
        let h = b"Subject: a\r\n b\r\nTo: x\r\n";
        let f: Vec<_> = fields(h).collect();
        assert_eq!(f, [&b"Subject: a\r\n b\r\n"[..], b"To: x\r\n"]);
        assert_eq!(field_name(f[0]), "subject");
    }

    /// fuzz lure bf44f4d2: tagging a header with a `Subject` line that has
    /// no colon sliced past its end.
    #[test]
    fn fuzz_lure_bf44f4d2_a_line_without_a_colon_is_no_field() {
        assert_eq!(field_name(b"Subject\r\n"), "");
        assert_eq!(
            tag_subject(b"From: a\r\nSubject\r\n", "[!]", b"\r\n"),
            b"From: a\r\nSubject\r\nSubject: [!]\r\n"
        );
    }

    #[test]
    fn replace_keeps_position() {
        let h = b"A: 1\nContent-Type: text/plain;\n name=x\nB: 2\n";
        assert_eq!(
            replace_field(h, "content-type", "text/plain", b"\n"),
            b"A: 1\nContent-Type: text/plain\nB: 2\n"
        );
    }

    #[test]
    fn boundaries() {
        assert!(is_valid_boundary("----=_Part_0_12345.678"));
        assert!(!is_valid_boundary(""));
        assert!(!is_valid_boundary("a\"b"));
        assert!(!is_valid_boundary(&"x".repeat(71)));
    }
}
