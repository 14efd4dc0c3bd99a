//! Rebuild: serialize the inspected tree into a new message. Only what was
//! inspected is emitted (preambles, epilogues and anything a different parser
//! might see are dropped); clean parts keep their bytes; a body whose
//! encoding is ambiguous is re-encoded from the very bytes we inspected.

use crate::header::{self, field_name, fields, replace_field};
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
                            h = header::relabel(&h, content_type, name.as_deref(), self.eol);
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
                // An enclosed message keeps its own line endings: one sent
                // in base64 need not share the outer message's.
                let own = Rebuild {
                    eol: line_ending_of(&inner.header).unwrap_or(self.eol),
                    replacements: self.replacements,
                    seed: self.seed,
                };
                let body = own.entity(inner, &inner.header, None);
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

/// The line ending a header block uses, when it has a line break at all.
fn line_ending_of(header: &[u8]) -> Option<&'static [u8]> {
    let at = header.iter().position(|&c| c == b'\n')?;
    Some(if at > 0 && header[at - 1] == b'\r' {
        b"\r\n"
    } else {
        b"\n"
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries() {
        assert!(is_valid_boundary("----=_Part_0_12345.678"));
        assert!(!is_valid_boundary(""));
        assert!(!is_valid_boundary("a\"b"));
        assert!(!is_valid_boundary(&"x".repeat(71)));
    }
}
