//! The MIME tree mugai inspects and rebuilds. mail-parser finds the structure
//! and decodes headers; transfer decoding is ours, so that we know whether a
//! body is canonically encoded (and may be passed on byte for byte) or must be
//! re-encoded from exactly the bytes we inspected.

use mail_parser::{
    Encoding, HeaderName, HeaderValue, Message, MessageParser, MimeHeaders, PartType,
};

use std::borrow::Cow;

use crate::limits::Limits;
use crate::{msg, tnef};

/// A MIME entity: headers plus a leaf body, children, or an enclosed message.
#[derive(Debug, Clone)]
pub(crate) struct Entity<'a> {
    /// IMAP-style section path; empty for a multipart root.
    pub(crate) path: String,
    /// Raw header block, without the blank line that ends it.
    pub(crate) header: Vec<u8>,
    /// The blank line that ended the header block, byte for byte (`\r\n` or
    /// `\n`): where a parser puts the body depends on it, so it is never
    /// rewritten in another line ending. Empty when there was none.
    pub(crate) blank_line: Vec<u8>,
    /// `type/subtype`, lower case; `text/plain` when absent.
    pub(crate) content_type: String,
    /// Content-Type parameters other than the boundary.
    pub(crate) params: Vec<(String, String)>,
    /// Declared file name, decoded.
    pub(crate) filename: Option<String>,
    pub(crate) body: Body<'a>,
    /// What this entity was before the MIME layer unpacked it (a TNEF
    /// part now written as a multipart of its attachments): the kind of
    /// wrapper, and what became of it.
    pub(crate) unpacked: Option<(&'static str, String)>,
}

impl<'a> Entity<'a> {
    /// The leaves under this entity (itself, if it is one), in order.
    pub(crate) fn leaves(&self) -> Vec<&Entity<'a>> {
        let mut out = Vec::new();
        self.collect_leaves(&mut out);
        out
    }

    fn collect_leaves<'e>(&'e self, out: &mut Vec<&'e Entity<'a>>) {
        match &self.body {
            Body::Leaf(_) => out.push(self),
            Body::Multipart { children, .. } => children.iter().for_each(|c| c.collect_leaves(out)),
            Body::Message { inner, .. } => inner.collect_leaves(out),
        }
    }

    /// A leaf's body after transfer decoding; empty for containers.
    pub(crate) fn decoded(&self) -> &[u8] {
        match &self.body {
            Body::Leaf(l) => &l.decoded,
            _ => &[],
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Body<'a> {
    Leaf(Leaf<'a>),
    Multipart {
        boundary: String,
        children: Vec<Entity<'a>>,
    },
    Message {
        inner: Box<Entity<'a>>,
        encoding: Cte,
    },
}

#[derive(Debug, Clone)]
pub(crate) struct Leaf<'a> {
    /// The body as transmitted: borrowed from the message where it lies in
    /// it, so a large part is not held twice.
    pub(crate) raw: Cow<'a, [u8]>,
    /// The body after transfer decoding: what is inspected. Borrowed too
    /// when nothing was to decode.
    pub(crate) decoded: Cow<'a, [u8]>,
    /// Whether `raw` decodes to `decoded` unambiguously, in every decoder.
    pub(crate) canonical: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cte {
    Identity,
    Base64,
    QuotedPrintable,
}

/// Why a message could not be turned into a tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MimeError {
    Unparseable,
    TooManyParts(usize),
    TooDeep(usize),
}

impl MimeError {
    pub(crate) fn describe(&self) -> String {
        match self {
            MimeError::Unparseable => "message cannot be parsed".into(),
            MimeError::TooManyParts(n) => format!("more than {n} MIME parts"),
            MimeError::TooDeep(n) => format!("MIME nesting deeper than {n} levels"),
        }
    }

    pub(crate) fn is_limit(&self) -> bool {
        !matches!(self, MimeError::Unparseable)
    }
}

/// Parses a message into a tree, within the MIME limits.
pub(crate) fn parse<'a>(raw: &'a [u8], limits: &Limits) -> Result<Entity<'a>, MimeError> {
    parse_with_headline(raw, limits).1
}

/// Who and what a message is, from its top-level header.
#[derive(Debug, Default)]
pub(crate) struct Headline {
    pub(crate) message_id: Option<String>,
    pub(crate) subject: Option<String>,
    pub(crate) from: Option<String>,
    pub(crate) from_name: Option<String>,
    pub(crate) from_address: Option<String>,
    pub(crate) reply_to: Vec<String>,
    pub(crate) return_path: Option<String>,
    pub(crate) in_reply_to: Vec<String>,
    pub(crate) references: Vec<String>,
    /// Raw values of every `Authentication-Results` field, top first.
    pub(crate) authentication_results: Vec<String>,
}

fn text_values(v: &HeaderValue<'_>) -> Vec<String> {
    match v {
        HeaderValue::Text(t) => vec![t.to_string()],
        HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

/// Parses a message into a tree, and reads its headline from the same parse
/// (it is known even when the tree is refused for a limit).
pub(crate) fn parse_with_headline<'a>(
    raw: &'a [u8],
    limits: &Limits,
) -> (Headline, Result<Entity<'a>, MimeError>) {
    let Some(msg) = MessageParser::default().parse(raw) else {
        return (Headline::default(), Err(MimeError::Unparseable));
    };
    let first_from = msg.from().and_then(|a| a.first());
    let headline = Headline {
        message_id: msg.message_id().map(str::to_owned),
        subject: msg.subject().map(str::to_owned),
        from: first_from.map(|a| match (&a.name, &a.address) {
            (Some(n), Some(addr)) => format!("{n} <{addr}>"),
            (None, Some(addr)) => addr.to_string(),
            (Some(n), None) => n.to_string(),
            (None, None) => String::new(),
        }),
        from_name: first_from.and_then(|a| a.name.as_deref().map(str::to_owned)),
        from_address: first_from.and_then(|a| a.address.as_deref().map(str::to_owned)),
        reply_to: msg
            .reply_to()
            .map(|a| {
                a.iter()
                    .filter_map(|a| a.address.as_deref().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default(),
        return_path: text_values(msg.return_path()).into_iter().next(),
        in_reply_to: text_values(msg.in_reply_to()),
        references: text_values(msg.references()),
        authentication_results: msg
            .headers()
            .iter()
            .filter(|h| h.name == HeaderName::AuthenticationResults)
            .filter_map(|h| {
                raw.get(h.offset_start as usize..h.offset_end as usize)
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            })
            .collect(),
    };
    let mut parts = 0;
    (headline, convert_root(&msg, raw, "", 0, limits, &mut parts))
}

/// `msg` as a tree. `source` is the outermost message: bodies that lie in
/// it are borrowed from it, the others (inside a decoded enclosed message)
/// copied.
fn convert_root<'a>(
    msg: &Message<'_>,
    source: &'a [u8],
    base: &str,
    depth: usize,
    limits: &Limits,
    parts: &mut usize,
) -> Result<Entity<'a>, MimeError> {
    let root_is_multipart = matches!(
        msg.parts.first().map(|p| &p.body),
        Some(PartType::Multipart(_))
    );
    let path = if root_is_multipart {
        base.to_owned()
    } else {
        join(base, 1)
    };
    convert(msg, source, 0, path, depth, limits, parts)
}

/// `part` borrowed from `source` when it lies in it, else copied.
fn within<'a>(source: &'a [u8], part: &[u8]) -> Cow<'a, [u8]> {
    let start = (part.as_ptr() as usize).wrapping_sub(source.as_ptr() as usize);
    match source.get(start..start.wrapping_add(part.len())) {
        Some(b) if std::ptr::eq(b.as_ptr(), part.as_ptr()) => Cow::Borrowed(b),
        _ => Cow::Owned(part.to_vec()),
    }
}

fn join(base: &str, n: usize) -> String {
    if base.is_empty() {
        n.to_string()
    } else {
        format!("{base}.{n}")
    }
}

fn convert<'a>(
    msg: &Message<'_>,
    source: &'a [u8],
    id: usize,
    path: String,
    depth: usize,
    limits: &Limits,
    parts: &mut usize,
) -> Result<Entity<'a>, MimeError> {
    if depth > limits.max_mime_depth {
        return Err(MimeError::TooDeep(limits.max_mime_depth));
    }
    *parts += 1;
    if *parts > limits.max_parts {
        return Err(MimeError::TooManyParts(limits.max_parts));
    }
    let part = msg.parts.get(id).ok_or(MimeError::Unparseable)?;
    let raw = msg.raw_message.as_ref();
    let (h0, b0, e0) = (
        part.offset_header as usize,
        part.offset_body as usize,
        part.offset_end as usize,
    );
    // Offsets outside the message would mean a parser bug: refuse the message
    // (it is then held whole) rather than drop or invent content.
    let block = raw.get(h0..b0.max(h0)).ok_or(MimeError::Unparseable)?;
    let header = trim_blank_line(block);
    let blank_line = block[header.len()..].to_vec();
    let header = header.to_vec();
    let ct = part.content_type();
    let content_type = ct
        .map(|c| {
            format!(
                "{}/{}",
                c.ctype(),
                c.subtype()
                    .unwrap_or(if c.ctype().eq_ignore_ascii_case("text") {
                        "plain"
                    } else {
                        "octet-stream"
                    })
            )
            .to_ascii_lowercase()
        })
        .unwrap_or_else(|| "text/plain".into());
    let params = ct
        .and_then(|c| c.attributes())
        .unwrap_or_default()
        .iter()
        .filter(|a| !a.name.eq_ignore_ascii_case("boundary"))
        .map(|a| (a.name.to_string(), a.value.to_string()))
        .collect();
    let filename = part.attachment_name().map(str::to_owned);

    let body = match &part.body {
        PartType::Multipart(ids) => {
            let boundary = ct
                .and_then(|c| c.attribute("boundary"))
                .unwrap_or_default()
                .to_owned();
            let children = ids
                .iter()
                .enumerate()
                .map(|(i, &cid)| {
                    convert(
                        msg,
                        source,
                        cid as usize,
                        join(&path, i + 1),
                        depth + 1,
                        limits,
                        parts,
                    )
                })
                .collect::<Result<_, _>>()?;
            Body::Multipart { boundary, children }
        }
        PartType::Message(inner) => {
            let inner = convert_root(inner, source, &path, depth + 1, limits, parts)?;
            let encoding = match part.encoding {
                Encoding::Base64 => Cte::Base64,
                Encoding::QuotedPrintable => Cte::QuotedPrintable,
                Encoding::None => Cte::Identity,
            };
            Body::Message {
                inner: Box::new(inner),
                encoding,
            }
        }
        _ => {
            // mail-parser's end offset already excludes the line break that
            // belongs to the next delimiter (RFC 2046 §5.1.1).
            let body = raw.get(b0.min(e0)..e0).ok_or(MimeError::Unparseable)?;
            // The header decides, not mail-parser's recovery (which falls back
            // to raw text when, say, the closing boundary is missing).
            let cte = part
                .content_transfer_encoding()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            let (decoded, canonical) = match cte.as_str() {
                "base64" => {
                    let (d, canonical) = decode_base64(body);
                    (Cow::Owned(d), canonical)
                }
                "quoted-printable" => {
                    let (d, canonical) = decode_qp(body);
                    (Cow::Owned(d), canonical)
                }
                _ => (within(source, body), true),
            };
            // mail-parser hands over an enclosed message it could not decode (or
            // that is nested too deep for it) as opaque text. Any reader of our
            // re-encoded output would see a message, parts and all, so parse it
            // from the bytes we decoded and inspect it as one. So is a message
            // saved as a file (`.eml` as octet-stream) or an MHT page: walked
            // and rebuilt part by part, under the header it came with.
            let enclosed = (matches!(content_type.as_str(), "message/rfc822" | "message/global")
                || crate::names::is_message_file(&decoded, filename.as_deref()))
            .then(|| MessageParser::default().parse(&decoded))
            .flatten();
            if enclosed.is_none()
                && let Some(files) = unpacked_tnef(&decoded, limits)
            {
                return tnef_entity(path, &header, filename, files, depth, limits, parts);
            }
            if enclosed.is_none()
                && let Some(converted) = converted_msg(&decoded, limits)
            {
                return msg_entity(path, &header, filename, converted, depth, limits, parts);
            }
            match enclosed {
                Some(inner) => {
                    let inner = convert_root(&inner, source, &path, depth + 1, limits, parts)?;
                    let encoding = match cte.as_str() {
                        "base64" => Cte::Base64,
                        "quoted-printable" => Cte::QuotedPrintable,
                        _ => Cte::Identity,
                    };
                    Body::Message {
                        inner: Box::new(inner),
                        encoding,
                    }
                }
                None => Body::Leaf(Leaf {
                    raw: within(source, body),
                    decoded,
                    canonical,
                }),
            }
        }
    };
    Ok(Entity {
        path,
        header,
        blank_line,
        content_type,
        params,
        filename,
        body,
        unpacked: None,
    })
}

/// The attachments of a TNEF stream (`winmail.dat`), or `None` when it is
/// not one, is damaged or holds none (then it stays one part, of no
/// checked type, removed with a notice).
fn unpacked_tnef(decoded: &[u8], limits: &Limits) -> Option<Vec<tnef::Attachment>> {
    if !decoded.starts_with(&tnef::SIGNATURE) {
        return None;
    }
    tnef::unpack(decoded, limits.max_parts)
        .ok()
        .filter(|files| !files.is_empty())
}

/// A TNEF part written anew as a `multipart/mixed` of its attachments,
/// each an ordinary attachment the engine inspects like any other.
fn tnef_entity<'a>(
    path: String,
    original_header: &[u8],
    filename: Option<String>,
    files: Vec<tnef::Attachment>,
    depth: usize,
    limits: &Limits,
    parts: &mut usize,
) -> Result<Entity<'a>, MimeError> {
    if depth + 1 > limits.max_mime_depth {
        return Err(MimeError::TooDeep(limits.max_mime_depth));
    }
    let eol: &[u8] = if original_header.windows(2).any(|w| w == b"\r\n") {
        b"\r\n"
    } else {
        b"\n"
    };
    let line_end = std::str::from_utf8(eol).unwrap_or("\r\n");
    let boundary = format!("=_mugai_tnef_{}", path.replace('.', "_"));
    let was: String = filename
        .as_deref()
        .unwrap_or("winmail.dat")
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .collect();
    let header = format!(
        "Content-Type: multipart/mixed; boundary=\"{boundary}\"{line_end}\
         Content-Description: {was} (Outlook TNEF) unpacked into its attachments{line_end}"
    )
    .into_bytes();
    // Header blocks end with their last line's break; the blank line
    // that follows is `blank_line`.
    let plain = format!(
        "Content-Type: application/octet-stream{line_end}Content-Disposition: attachment{line_end}\
         Content-Transfer-Encoding: base64{line_end}"
    );
    let mut children = Vec::with_capacity(files.len());
    for (i, file) in files.into_iter().enumerate() {
        *parts += 1;
        if *parts > limits.max_parts {
            return Err(MimeError::TooManyParts(limits.max_parts));
        }
        children.push(Entity {
            path: join(&path, i + 1),
            header: crate::header::relabel(
                plain.as_bytes(),
                "application/octet-stream",
                Some(&file.name),
                eol,
            ),
            blank_line: eol.to_vec(),
            content_type: "application/octet-stream".into(),
            params: Vec::new(),
            filename: Some(file.name),
            // Written out in base64 from what is inspected.
            body: Body::Leaf(Leaf {
                raw: Cow::Borrowed(&[]),
                decoded: Cow::Owned(file.data),
                canonical: false,
            }),
            unpacked: None,
        });
    }
    let count = children.len();
    Ok(Entity {
        path,
        header,
        blank_line: eol.to_vec(),
        content_type: "multipart/mixed".into(),
        params: Vec::new(),
        filename: None,
        body: Body::Multipart { boundary, children },
        unpacked: Some((
            "tnef",
            format!(
                "{was} (Outlook TNEF) unpacked into {count} attachment{}; its rich-text body was not kept",
                if count == 1 { "" } else { "s" }
            ),
        )),
    })
}

/// An Outlook `.msg` written as MIME, or `None` when it is not one or
/// cannot be read (then it stays one part, removed with a notice).
fn converted_msg(decoded: &[u8], limits: &Limits) -> Option<msg::Converted> {
    if !decoded.starts_with(&msg::SIGNATURE) {
        return None;
    }
    let limits = msg::MsgLimits {
        depth: limits.max_archive_depth,
        attachments: limits.max_parts,
    };
    msg::convert(decoded, limits).ok()
}

/// An Outlook `.msg` part written anew as the MIME message it holds
/// (`message/rfc822`, named `.eml`), which the engine walks and rebuilds
/// like any enclosed message.
fn msg_entity<'a>(
    path: String,
    original_header: &[u8],
    filename: Option<String>,
    converted: msg::Converted,
    depth: usize,
    limits: &Limits,
    parts: &mut usize,
) -> Result<Entity<'a>, MimeError> {
    let eol: &[u8] = if original_header.windows(2).any(|w| w == b"\r\n") {
        b"\r\n"
    } else {
        b"\n"
    };
    let line_end = std::str::from_utf8(eol).unwrap_or("\r\n");
    let was = filename.as_deref().unwrap_or("message.msg");
    let stem = match was.rsplit_once('.') {
        Some((stem, ext)) if ext.eq_ignore_ascii_case("msg") => stem,
        _ => was,
    };
    let name = format!("{stem}.eml");
    // The message is ASCII with CRLF line ends; it takes the outer ones.
    let eml = if eol == b"\n" {
        String::from_utf8_lossy(&converted.eml)
            .replace("\r\n", "\n")
            .into_bytes()
    } else {
        converted.eml
    };
    let inner = MessageParser::default()
        .parse(&eml)
        .ok_or(MimeError::Unparseable)?;
    // Written here: nothing of it lies in the message, all is copied.
    let inner = convert_root(&inner, &[], &path, depth + 1, limits, parts)?;
    let shown: String = was
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .collect();
    let plain = format!(
        "Content-Type: message/rfc822{line_end}Content-Disposition: attachment{line_end}\
         Content-Description: {shown} (Outlook message) written as MIME{line_end}"
    );
    let mut left: Vec<&str> = converted.left_out.iter().map(|(_, s)| s.as_str()).collect();
    if converted.rtf.is_some() {
        left.push("the RTF copy of the body (the text is kept)");
    }
    let left_out = if left.is_empty() {
        String::new()
    } else {
        format!("; left out: {}", left.join("; "))
    };
    Ok(Entity {
        path,
        header: crate::header::relabel(plain.as_bytes(), "message/rfc822", Some(&name), eol),
        blank_line: eol.to_vec(),
        content_type: "message/rfc822".into(),
        params: Vec::new(),
        filename: Some(name.clone()),
        body: Body::Message {
            inner: Box::new(inner),
            encoding: Cte::Identity,
        },
        unpacked: Some((
            "msg",
            format!("{was} (Outlook message) rewritten as {name}{left_out}"),
        )),
    })
}

fn trim_blank_line(h: &[u8]) -> &[u8] {
    let h = h.strip_suffix(b"\n").unwrap_or(h);
    h.strip_suffix(b"\r").unwrap_or(h)
}

fn b64_value(c: u8) -> Option<u8> {
    match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    }
}

/// Decodes base64 and says whether the input was canonical: only alphabet
/// lines of at most 998 bytes ending in CRLF or LF, padding only at the end,
/// a whole number of quanta, no stray trailing bits. Canonical input (nearly
/// all mail) takes the fast strict decoder; anything else is decoded leniently.
pub(crate) fn decode_base64(raw: &[u8]) -> (Vec<u8>, bool) {
    use base64::Engine as _;
    let mut compact = Vec::with_capacity(raw.len());
    let mut clean = true;
    for line in raw.split(|&c| c == b'\n') {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        clean &= line.len() <= 998;
        compact.extend_from_slice(line);
    }
    clean &= compact.iter().all(|&c| b64_value(c).is_some() || c == b'=');
    if clean && let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(&compact) {
        return (decoded, true);
    }
    (decode_base64_lenient(raw), false)
}

/// Skips what is not in the alphabet and stops at padding, as most mail
/// clients do.
fn decode_base64_lenient(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() / 4 * 3);
    let (mut acc, mut bits) = (0u32, 0u32);
    for &c in raw {
        if c == b'=' {
            break;
        }
        if let Some(v) = b64_value(c) {
            acc = (acc << 6) | u32::from(v);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                out.push((acc >> bits) as u8);
            }
        }
    }
    out
}

/// Decodes quoted-printable leniently (invalid escapes kept literally) and says
/// whether the input was canonical.
pub(crate) fn decode_qp(raw: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(raw.len());
    let mut canonical = true;
    let mut i = 0;
    while i < raw.len() {
        let c = raw[i];
        if c == b'=' {
            let rest = &raw[i + 1..];
            if rest.starts_with(b"\r\n") {
                i += 3;
                continue;
            }
            if rest.starts_with(b"\n") {
                i += 2;
                continue;
            }
            if let Some(h) = rest.get(..2)
                && let (Some(a), Some(b)) = (hex_value(h[0]), hex_value(h[1]))
            {
                out.push(a << 4 | b);
                i += 3;
                continue;
            }
            // Soft break with trailing whitespace, or a stray "=": decoders differ.
            canonical = false;
            out.push(c);
            i += 1;
            continue;
        }
        if c == b'\r' && raw.get(i + 1) != Some(&b'\n') {
            canonical = false;
        }
        out.push(c);
        i += 1;
    }
    if raw.split(|&c| c == b'\n').any(|l| l.len() > 999) {
        canonical = false;
    }
    (out, canonical)
}

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'A'..=b'F' => Some(c - b'A' + 10),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Text in its declared charset; without one, UTF-8 when it is valid, else
/// what Japanese mail most likely is (ISO-2022-JP when it has escapes,
/// Shift_JIS otherwise).
pub(crate) fn decode_charset(bytes: &[u8], charset: Option<&str>) -> String {
    let encoding = charset
        .and_then(|c| encoding_rs::Encoding::for_label(c.trim().as_bytes()))
        .or_else(|| match std::str::from_utf8(bytes) {
            Ok(_) => None,
            Err(_) if bytes.contains(&0x1B) => Some(encoding_rs::ISO_2022_JP),
            Err(_) => Some(encoding_rs::SHIFT_JIS),
        })
        .unwrap_or(encoding_rs::UTF_8);
    encoding.decode_without_bom_handling(bytes).0.into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_canonical_and_not() {
        assert_eq!(decode_base64(b"aGVsbG8=\r\n"), (b"hello".to_vec(), true));
        assert_eq!(decode_base64(b"aGVs\nbG8=\n"), (b"hello".to_vec(), true));
        assert_eq!(decode_base64(b"aGVs bG8=").0, b"hello");
        assert!(!decode_base64(b"aGVs bG8=").1);
        assert!(!decode_base64(b"aGVsbG8=aGVsbG8=").1, "data after padding");
        assert!(!decode_base64(b"aGVsbG8").1, "missing padding");
        assert!(!decode_base64(b"aGVsbG9=").1, "non-zero trailing bits");
    }

    #[test]
    fn qp_canonical_and_not() {
        assert_eq!(
            decode_qp(b"caf=C3=A9 =\r\nbar"),
            ("café bar".as_bytes().to_vec(), true)
        );
        assert_eq!(decode_qp(b"a=ZZb"), (b"a=ZZb".to_vec(), false));
        assert!(!decode_qp(b"a= \r\nb").1);
    }

    #[test]
    fn tree_paths_and_bodies() {
        let raw = b"From: a@example.jp\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
preamble\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\n\
Content-Type: application/octet-stream; name=x.bin\r\nContent-Transfer-Encoding: base64\r\n\r\n\
aGVsbG8=\r\n--b--\r\nepilogue\r\n";
        let root = parse(raw, &Limits::default()).unwrap();
        let Body::Multipart { boundary, children } = &root.body else {
            panic!("multipart")
        };
        assert_eq!(boundary, "b");
        assert_eq!(children.len(), 2);
        assert_eq!(children[0].path, "1");
        assert_eq!(children[1].path, "2");
        assert_eq!(children[1].filename.as_deref(), Some("x.bin"));
        let Body::Leaf(leaf) = &children[0].body else {
            panic!("leaf")
        };
        assert_eq!(&*leaf.raw, b"hello");
        assert!(
            matches!(leaf.raw, Cow::Borrowed(_)) && matches!(leaf.decoded, Cow::Borrowed(_)),
            "a body with nothing to decode is not copied"
        );
        assert_eq!(children[0].header, b"Content-Type: text/plain\r\n");
        let Body::Leaf(leaf) = &children[1].body else {
            panic!("leaf")
        };
        assert_eq!(&*leaf.decoded, b"hello");
        assert!(leaf.canonical);
        assert!(matches!(leaf.raw, Cow::Borrowed(_)), "nor is a base64 body");
    }
}
