//! Outlook `.msg` files (MS-OXMSG): a message saved as an OLE2 compound
//! file. mugai never delivers the compound file. It reads what a reader of
//! the message sees (subject, sender, recipients, date, the text and HTML
//! bodies, the attachments, enclosed messages) and writes that as a MIME
//! message, which the engine then walks and rebuilds part by part like any
//! other `.eml`. What cannot be written as MIME is left out and said: an
//! OLE object inserted into the message, an attachment by reference (a
//! path on somebody's file server), the compressed RTF body when a text or
//! HTML body carries the same text.
//!
//! Every part of the message is written in base64, so the message is
//! 7-bit and no boundary can occur inside a part.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use base64::Engine as _;
use cfb::CompoundFile;

use crate::vocab::FindingKind;

/// A `.msg` written as MIME.
#[derive(Debug)]
pub(crate) struct Converted {
    /// The message, CRLF line ends.
    pub(crate) eml: Vec<u8>,
    /// The body in RTF, decompressed, when the message keeps one beside
    /// its text: not in `eml`, but the inspector reads it.
    pub(crate) rtf: Option<Vec<u8>>,
    /// What the message held that is in neither, as findings would say it.
    pub(crate) left_out: Vec<(FindingKind, String)>,
}

/// Why a file is not converted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum MsgError {
    NotMsg,
    Unreadable(String),
    TooDeep(usize),
    TooManyAttachments(usize),
}

impl std::fmt::Display for MsgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MsgError::NotMsg => f.write_str("not an Outlook message"),
            MsgError::Unreadable(e) => write!(f, "unreadable Outlook message: {e}"),
            MsgError::TooDeep(n) => write!(f, "Outlook messages enclosed deeper than {n} levels"),
            MsgError::TooManyAttachments(n) => {
                write!(f, "more than {n} attachments in an Outlook message")
            }
        }
    }
}

/// How deep enclosed messages may go, and how many attachments all of
/// them may hold together.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MsgLimits {
    pub(crate) depth: usize,
    pub(crate) attachments: usize,
}

const PROPERTIES: &str = "__properties_version1.0";
const ATTACHMENT_PREFIX: &str = "__attach_version1.0_#";
const RECIPIENT_PREFIX: &str = "__recip_version1.0_#";

// Message properties.
const PR_SUBJECT: u16 = 0x0037;
const PR_CLIENT_SUBMIT_TIME: u16 = 0x0039;
const PR_SENDER_NAME: u16 = 0x0C1A;
const PR_SENDER_EMAIL_ADDRESS: u16 = 0x0C1F;
const PR_SENDER_SMTP_ADDRESS: u16 = 0x5D01;
const PR_MESSAGE_DELIVERY_TIME: u16 = 0x0E06;
const PR_BODY: u16 = 0x1000;
const PR_RTF_COMPRESSED: u16 = 0x1009;
const PR_HTML: u16 = 0x1013;
const PR_INTERNET_MESSAGE_ID: u16 = 0x1035;
const PR_INTERNET_CPID: u16 = 0x3FDE;
const PR_MESSAGE_CODEPAGE: u16 = 0x3FFD;
// Recipient properties.
const PR_RECIPIENT_TYPE: u16 = 0x0C15;
const PR_DISPLAY_NAME: u16 = 0x3001;
const PR_EMAIL_ADDRESS: u16 = 0x3003;
const PR_SMTP_ADDRESS: u16 = 0x39FE;
// Attachment properties.
const PR_ATTACH_DATA: u16 = 0x3701;
const PR_ATTACH_FILENAME: u16 = 0x3704;
const PR_ATTACH_METHOD: u16 = 0x3705;
const PR_ATTACH_LONG_FILENAME: u16 = 0x3707;
const PR_ATTACH_MIME_TAG: u16 = 0x370E;
const PR_ATTACH_CONTENT_ID: u16 = 0x3712;

// PR_ATTACH_METHOD values.
const ATTACH_BY_VALUE: u32 = 1;
const ATTACH_EMBEDDED_MSG: u32 = 5;
const ATTACH_OLE: u32 = 6;

/// The first bytes of every compound file.
pub(crate) const SIGNATURE: [u8; 8] = [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];

/// Whether the compound file is an Outlook message: its root holds the
/// property stream and property storages of one.
pub(crate) fn looks_like_msg<F>(cf: &CompoundFile<F>) -> bool {
    cf.is_stream(format!("/{PROPERTIES}"))
        && cf
            .read_root_storage()
            .any(|e| e.name().starts_with("__substg1.0_"))
}

/// The message in `b` as MIME.
pub(crate) fn convert(b: &[u8], limits: MsgLimits) -> Result<Converted, MsgError> {
    let mut cf = CompoundFile::open(Cursor::new(b)).map_err(|_| MsgError::NotMsg)?;
    if !looks_like_msg(&cf) {
        return Err(MsgError::NotMsg);
    }
    let mut reader = Reader {
        cf: &mut cf,
        cap: b.len(),
        limits,
        attachments: 0,
        left_out: Vec::new(),
        rtf: None,
        boundaries: 0,
    };
    let eml = reader.message("", 32, 0)?;
    Ok(Converted {
        eml,
        rtf: reader.rtf,
        left_out: reader.left_out,
    })
}

struct Reader<'c, F> {
    cf: &'c mut CompoundFile<F>,
    /// No stream is read past the size of the whole file.
    cap: usize,
    limits: MsgLimits,
    attachments: usize,
    left_out: Vec<(FindingKind, String)>,
    /// The top message's RTF body, when it has text besides.
    rtf: Option<Vec<u8>>,
    boundaries: usize,
}

/// A storage's fixed-size properties: id → (type, value).
type Fixed = HashMap<u16, (u16, [u8; 8])>;

impl<F: Read + std::io::Seek> Reader<'_, F> {
    fn stream(&mut self, path: &str) -> Result<Option<Vec<u8>>, MsgError> {
        if !self.cf.is_stream(path) {
            return Ok(None);
        }
        let mut data = Vec::new();
        self.cf
            .open_stream(path)
            .and_then(|s| s.take(self.cap as u64).read_to_end(&mut data))
            .map_err(|e| MsgError::Unreadable(e.to_string()))?;
        Ok(Some(data))
    }

    /// The fixed-size properties of the storage at `base`, whose property
    /// stream starts with a header of `header` bytes.
    fn fixed(&mut self, base: &str, header: usize) -> Result<Fixed, MsgError> {
        let data = self
            .stream(&format!("{base}/{PROPERTIES}"))?
            .unwrap_or_default();
        let mut props = HashMap::new();
        for entry in data.get(header..).unwrap_or_default().chunks_exact(16) {
            let ty = u16::from_le_bytes([entry[0], entry[1]]);
            let id = u16::from_le_bytes([entry[2], entry[3]]);
            let mut value = [0; 8];
            value.copy_from_slice(&entry[8..16]);
            props.insert(id, (ty, value));
        }
        Ok(props)
    }

    /// A string property, stored as UTF-16 or in the message's code page.
    fn string(
        &mut self,
        base: &str,
        id: u16,
        code_page: &'static encoding_rs::Encoding,
    ) -> Result<Option<String>, MsgError> {
        if let Some(wide) = self.stream(&format!("{base}/__substg1.0_{id:04X}001F"))? {
            let units: Vec<u16> = wide
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .take_while(|&u| u != 0)
                .collect();
            return Ok(Some(String::from_utf16_lossy(&units)));
        }
        Ok(self
            .stream(&format!("{base}/__substg1.0_{id:04X}001E"))?
            .map(|narrow| {
                let narrow = narrow.split(|&c| c == 0).next().unwrap_or_default();
                code_page.decode_without_bom_handling(narrow).0.into_owned()
            }))
    }

    fn binary(&mut self, base: &str, id: u16) -> Result<Option<Vec<u8>>, MsgError> {
        self.stream(&format!("{base}/__substg1.0_{id:04X}0102"))
    }

    /// Names of the storages under `base` that start with `prefix`, in order.
    fn storages(&self, base: &str, prefix: &str) -> Result<Vec<String>, MsgError> {
        let path = if base.is_empty() { "/" } else { base };
        let mut names: Vec<String> = self
            .cf
            .read_storage(path)
            .map_err(|e| MsgError::Unreadable(e.to_string()))?
            .filter(|e| e.is_storage() && e.name().starts_with(prefix))
            .map(|e| e.name().to_owned())
            .collect();
        names.sort();
        Ok(names)
    }

    /// The message stored at `base` (the root, or an enclosed message's
    /// storage), written as MIME.
    fn message(&mut self, base: &str, header: usize, depth: usize) -> Result<Vec<u8>, MsgError> {
        if depth > self.limits.depth {
            return Err(MsgError::TooDeep(self.limits.depth));
        }
        let fixed = self.fixed(base, header)?;
        let code_page = code_page(&fixed);
        let mut out = Vec::new();

        let sender_name = self.string(base, PR_SENDER_NAME, code_page)?;
        let sender = match self.string(base, PR_SENDER_SMTP_ADDRESS, code_page)? {
            Some(a) => Some(a),
            None => self.string(base, PR_SENDER_EMAIL_ADDRESS, code_page)?,
        };
        if let Some(from) = mailbox(sender_name.as_deref(), sender.as_deref()) {
            field(&mut out, "From", &from);
        }
        let mut to = Vec::new();
        let mut cc = Vec::new();
        for r in self.storages(base, RECIPIENT_PREFIX)? {
            let at = format!("{base}/{r}");
            let kind = self
                .fixed(&at, 8)?
                .get(&PR_RECIPIENT_TYPE)
                .map(|p| long(p.1));
            let name = self.string(&at, PR_DISPLAY_NAME, code_page)?;
            let address = match self.string(&at, PR_SMTP_ADDRESS, code_page)? {
                Some(a) => Some(a),
                None => self.string(&at, PR_EMAIL_ADDRESS, code_page)?,
            };
            // Blind copies are not shown to a reader of the message.
            match (kind, mailbox(name.as_deref(), address.as_deref())) {
                (Some(2), Some(m)) => cc.push(m),
                (Some(3), _) | (_, None) => {}
                (_, Some(m)) => to.push(m),
            }
        }
        if !to.is_empty() {
            field(&mut out, "To", &to.join(",\r\n "));
        }
        if !cc.is_empty() {
            field(&mut out, "Cc", &cc.join(",\r\n "));
        }
        if let Some(subject) = self.string(base, PR_SUBJECT, code_page)? {
            field(&mut out, "Subject", &crate::header::rfc2047(&subject));
        }
        let time = [PR_CLIENT_SUBMIT_TIME, PR_MESSAGE_DELIVERY_TIME]
            .iter()
            .find_map(|id| fixed.get(id).filter(|p| p.0 == 0x0040))
            .and_then(|p| date(u64::from_le_bytes(p.1)));
        if let Some(time) = time {
            field(&mut out, "Date", &time);
        }
        if let Some(id) = self.string(base, PR_INTERNET_MESSAGE_ID, code_page)?
            && id.starts_with('<')
            && id.ends_with('>')
            && id.bytes().all(|c| c.is_ascii_graphic())
        {
            field(&mut out, "Message-ID", &id);
        }
        field(&mut out, "MIME-Version", "1.0");

        let mut parts = Vec::new();
        let text = self.string(base, PR_BODY, code_page)?;
        let html = match self.binary(base, PR_HTML)? {
            Some(bytes) => Some((bytes, html_charset(&fixed))),
            None => self
                .string(base, PR_HTML, code_page)?
                .map(|s| (s.into_bytes(), "utf-8")),
        };
        let rtf = self.binary(base, PR_RTF_COMPRESSED)?;
        let body = match (text, html) {
            (Some(text), Some((html, charset))) => {
                let alternatives = vec![
                    leaf("text/plain; charset=utf-8", None, text.as_bytes()),
                    leaf(&format!("text/html; charset={charset}"), None, &html),
                ];
                Some(self.multipart("alternative", &alternatives))
            }
            (Some(text), None) => Some(leaf("text/plain; charset=utf-8", None, text.as_bytes())),
            (None, Some((html, charset))) => {
                Some(leaf(&format!("text/html; charset={charset}"), None, &html))
            }
            (None, None) => None,
        };
        let rtf = match rtf.map(|c| decompress_rtf(&c, self.cap)) {
            Some(None) => {
                self.left_out.push((
                    FindingKind::Malformed,
                    "an RTF body that does not decompress".into(),
                ));
                None
            }
            Some(Some(rtf)) => Some(rtf),
            None => None,
        };
        match (body, rtf) {
            (Some(body), rtf) => {
                // Outlook writes the same text in every body it keeps; the
                // RTF copy is read, not delivered.
                if depth == 0 {
                    self.rtf = rtf;
                }
                parts.push(body);
            }
            (None, Some(rtf)) => parts.push(leaf("application/rtf", Some("message.rtf"), &rtf)),
            (None, None) => parts.push(leaf("text/plain; charset=utf-8", None, b"")),
        }

        for a in self.storages(base, ATTACHMENT_PREFIX)? {
            self.attachments += 1;
            if self.attachments > self.limits.attachments {
                return Err(MsgError::TooManyAttachments(self.limits.attachments));
            }
            let at = format!("{base}/{a}");
            if let Some(part) = self.attachment(&at, code_page, depth)? {
                parts.push(part);
            }
        }

        let body = if parts.len() == 1 {
            parts.remove(0)
        } else {
            self.multipart("mixed", &parts)
        };
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// One attachment as a MIME part, or `None` (said in `left_out`) when
    /// it is not a file or an enclosed message.
    fn attachment(
        &mut self,
        at: &str,
        code_page: &'static encoding_rs::Encoding,
        depth: usize,
    ) -> Result<Option<Vec<u8>>, MsgError> {
        let fixed = self.fixed(at, 8)?;
        let method = fixed
            .get(&PR_ATTACH_METHOD)
            .map_or(ATTACH_BY_VALUE, |p| long(p.1));
        let mut name = None;
        for id in [PR_ATTACH_LONG_FILENAME, PR_ATTACH_FILENAME, PR_DISPLAY_NAME] {
            name = self
                .string(at, id, code_page)?
                .filter(|n| !n.trim().is_empty());
            if name.is_some() {
                break;
            }
        }
        let shown = name.clone().unwrap_or_else(|| "an attachment".into());
        let object = format!("{at}/__substg1.0_{PR_ATTACH_DATA:04X}000D");
        match method {
            ATTACH_EMBEDDED_MSG if self.cf.is_storage(&object) => {
                let inner = self.message(&object, 24, depth + 1)?;
                let name = format!("{}.eml", name.as_deref().unwrap_or("message"));
                let mut part = Vec::new();
                field(&mut part, "Content-Type", "message/rfc822");
                field(&mut part, "Content-Disposition", &disposition(&name));
                part.extend_from_slice(b"\r\n");
                part.extend_from_slice(&inner);
                Ok(Some(part))
            }
            ATTACH_BY_VALUE => {
                let Some(data) = self.binary(at, PR_ATTACH_DATA)? else {
                    self.left_out
                        .push((FindingKind::Malformed, format!("{shown}: no data")));
                    return Ok(None);
                };
                let content_type = self
                    .string(at, PR_ATTACH_MIME_TAG, code_page)?
                    .filter(|t| is_media_type(t))
                    .unwrap_or_else(|| "application/octet-stream".into());
                let name = name.unwrap_or_else(|| "attachment".into());
                let mut part = leaf(&content_type, Some(&name), &data);
                if let Some(id) = self.string(at, PR_ATTACH_CONTENT_ID, code_page)?
                    && !id.is_empty()
                    && id
                        .bytes()
                        .all(|c| c.is_ascii_graphic() && c != b'<' && c != b'>')
                {
                    // Pictures the HTML body shows by `cid:`.
                    let mut with_id = Vec::new();
                    field(&mut with_id, "Content-ID", &format!("<{id}>"));
                    with_id.extend_from_slice(&part);
                    part = with_id;
                }
                Ok(Some(part))
            }
            ATTACH_OLE => {
                self.left_out.push((
                    FindingKind::EmbeddedObject,
                    format!("{shown}: an OLE object inserted into the message"),
                ));
                Ok(None)
            }
            _ => {
                self.left_out.push((
                    FindingKind::ExternalReference,
                    format!("{shown}: attached by reference or as a link, not as a file"),
                ));
                Ok(None)
            }
        }
    }

    fn multipart(&mut self, subtype: &str, parts: &[Vec<u8>]) -> Vec<u8> {
        self.boundaries += 1;
        let boundary = format!("=_mugai_msg_{}", self.boundaries);
        let mut out = Vec::new();
        field(
            &mut out,
            "Content-Type",
            &format!("multipart/{subtype}; boundary=\"{boundary}\""),
        );
        out.extend_from_slice(b"\r\n");
        for part in parts {
            out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
            out.extend_from_slice(part);
            if !part.ends_with(b"\r\n") {
                out.extend_from_slice(b"\r\n");
            }
        }
        out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        out
    }
}

fn field(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
}

/// A leaf part in base64, a file when it has a name.
fn leaf(content_type: &str, name: Option<&str>, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    match name {
        Some(name) => {
            let quoted = crate::header::rfc2047(name);
            field(
                &mut out,
                "Content-Type",
                &format!("{content_type}; name=\"{quoted}\""),
            );
            field(&mut out, "Content-Disposition", &disposition(name));
        }
        None => field(&mut out, "Content-Type", content_type),
    }
    field(&mut out, "Content-Transfer-Encoding", "base64");
    out.extend_from_slice(b"\r\n");
    let encoded = base64::engine::general_purpose::STANDARD.encode(data);
    for line in encoded.as_bytes().chunks(76) {
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn disposition(name: &str) -> String {
    format!("attachment; filename=\"{}\"", crate::header::rfc2047(name))
}

/// `"name" <address>` with the name encoded, when there is an Internet
/// address; an Exchange address (`/O=...`) is no mailbox.
fn mailbox(name: Option<&str>, address: Option<&str>) -> Option<String> {
    let address = address.filter(|a| {
        a.contains('@')
            && a.bytes()
                .all(|c| c.is_ascii_graphic() && !b"<>\",;".contains(&c))
    })?;
    Some(
        match name
            .map(str::trim)
            .filter(|n| !n.is_empty() && *n != address)
        {
            Some(n) => format!("{} <{address}>", phrase(n)),
            None => address.to_owned(),
        },
    )
}

/// A display name as a phrase: quoted when ASCII, encoded words otherwise.
fn phrase(name: &str) -> String {
    if name.bytes().all(|c| (b' '..=b'~').contains(&c)) {
        format!("\"{}\"", name.replace('\\', "\\\\").replace('"', "\\\""))
    } else {
        crate::header::rfc2047(name)
    }
}

/// `type/subtype` and nothing else, so that a MIME tag cannot add fields.
fn is_media_type(t: &str) -> bool {
    let mut halves = t.split('/');
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|c| c.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&c))
    };
    matches!((halves.next(), halves.next(), halves.next()), (Some(a), Some(b), None) if token(a) && token(b))
}

fn long(v: [u8; 8]) -> u32 {
    u32::from_le_bytes([v[0], v[1], v[2], v[3]])
}

/// The code page of the message's 8-bit strings.
fn code_page(fixed: &Fixed) -> &'static encoding_rs::Encoding {
    let cp = [PR_MESSAGE_CODEPAGE, PR_INTERNET_CPID]
        .iter()
        .find_map(|id| fixed.get(id).filter(|p| p.0 == 0x0003))
        .map_or(1252, |p| long(p.1));
    encoding_for(cp)
}

/// The charset the HTML body's bytes are in.
fn html_charset(fixed: &Fixed) -> &'static str {
    let cp = fixed
        .get(&PR_INTERNET_CPID)
        .filter(|p| p.0 == 0x0003)
        .map_or(65001, |p| long(p.1));
    encoding_for(cp).name()
}

fn encoding_for(code_page: u32) -> &'static encoding_rs::Encoding {
    use encoding_rs::*;
    match code_page {
        932 => SHIFT_JIS,
        50220..=50222 => ISO_2022_JP,
        20932 | 51932 => EUC_JP,
        65001 => UTF_8,
        936 | 54936 => GB18030,
        949 | 51949 => EUC_KR,
        950 => BIG5,
        1200 => UTF_16LE,
        1201 => UTF_16BE,
        1250 => WINDOWS_1250,
        1251 => WINDOWS_1251,
        1253 => WINDOWS_1253,
        1254 => WINDOWS_1254,
        1255 => WINDOWS_1255,
        1256 => WINDOWS_1256,
        1257 => WINDOWS_1257,
        1258 => WINDOWS_1258,
        _ => WINDOWS_1252,
    }
}

/// A FILETIME (100 ns ticks since 1601) as an RFC 5322 date in UTC.
fn date(filetime: u64) -> Option<String> {
    let secs = (filetime / 10_000_000).checked_sub(11_644_473_600)?;
    (secs <= 253_402_300_799).then(|| crate::date::rfc5322(secs * 1000))
}

/// The dictionary compressed RTF starts with (MS-OXRTFCP).
const RTF_PRELOAD: &[u8] = b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript \\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par \\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx";

/// Decompresses `PR_RTF_COMPRESSED` (MS-OXRTFCP), to at most `cap` bytes;
/// `None` when it is damaged.
pub(crate) fn decompress_rtf(b: &[u8], cap: usize) -> Option<Vec<u8>> {
    let word =
        |i: usize| -> Option<u32> { Some(u32::from_le_bytes(b.get(i..i + 4)?.try_into().ok()?)) };
    let (comp_size, raw_size, magic) = (word(0)? as usize, word(4)? as usize, word(8)?);
    let data = b.get(16..)?;
    let data = data.get(..comp_size.checked_sub(12)?.min(data.len()))?;
    let limit = raw_size.min(cap.saturating_mul(64)).min(64 << 20);
    match magic {
        // "MELA": stored as it is.
        0x414C_454D => Some(data[..data.len().min(limit)].to_vec()),
        // "LZFu"
        0x7546_5A4C => {
            let mut dict = [0u8; 4096];
            dict[..RTF_PRELOAD.len()].copy_from_slice(RTF_PRELOAD);
            let mut write = RTF_PRELOAD.len();
            let mut out = Vec::with_capacity(limit.min(data.len() * 8));
            let mut i = 0;
            while i < data.len() && out.len() < limit {
                let control = data[i];
                i += 1;
                for bit in 0..8 {
                    if i >= data.len() || out.len() >= limit {
                        break;
                    }
                    if control & (1 << bit) == 0 {
                        let c = data[i];
                        i += 1;
                        dict[write] = c;
                        write = (write + 1) % 4096;
                        out.push(c);
                        continue;
                    }
                    let reference = u16::from_be_bytes([data[i], *data.get(i + 1)?]);
                    i += 2;
                    let offset = usize::from(reference >> 4);
                    let len = usize::from(reference & 0xF) + 2;
                    if offset == write {
                        return Some(out);
                    }
                    for k in 0..len {
                        let c = dict[(offset + k) % 4096];
                        dict[write] = c;
                        write = (write + 1) % 4096;
                        out.push(c);
                    }
                }
            }
            out.truncate(limit);
            Some(out)
        }
        _ => None,
    }
}

/// Outlook messages for tests and samples.
#[cfg(test)]
pub(crate) mod build {
    use std::io::{Cursor, Write};

    /// One property stream of a storage: a header of `header` zero bytes,
    /// then 16-byte entries.
    fn properties(header: usize, fixed: &[(u16, u16, u64)]) -> Vec<u8> {
        let mut out = vec![0; header];
        for &(ty, id, value) in fixed {
            out.extend_from_slice(&ty.to_le_bytes());
            out.extend_from_slice(&id.to_le_bytes());
            out.extend_from_slice(&6u32.to_le_bytes());
            out.extend_from_slice(&value.to_le_bytes());
        }
        out
    }

    fn utf16(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    /// What goes into a test message.
    pub(crate) struct Attachment<'a> {
        pub(crate) name: &'a str,
        pub(crate) method: u32,
        pub(crate) data: &'a [u8],
    }

    pub(crate) fn message(subject: &str, body: &str, attachments: &[Attachment<'_>]) -> Vec<u8> {
        let mut cf = cfb::CompoundFile::create(Cursor::new(Vec::new())).expect("cfb");
        let put = |cf: &mut cfb::CompoundFile<Cursor<Vec<u8>>>, path: &str, data: &[u8]| {
            cf.create_stream(path)
                .and_then(|mut s| s.write_all(data))
                .expect("stream");
        };
        put(&mut cf, "/__properties_version1.0", &properties(32, &[]));
        put(&mut cf, "/__substg1.0_0037001F", &utf16(subject));
        put(&mut cf, "/__substg1.0_1000001F", &utf16(body));
        put(&mut cf, "/__substg1.0_0C1A001F", &utf16("田中 太郎"));
        put(
            &mut cf,
            "/__substg1.0_5D01001F",
            &utf16("tanaka@example.jp"),
        );
        for (i, a) in attachments.iter().enumerate() {
            let at = format!("/__attach_version1.0_#{i:08X}");
            cf.create_storage(&at).expect("storage");
            put(
                &mut cf,
                &format!("{at}/__properties_version1.0"),
                &properties(8, &[(0x0003, 0x3705, u64::from(a.method))]),
            );
            put(
                &mut cf,
                &format!("{at}/__substg1.0_3707001F"),
                &utf16(a.name),
            );
            put(&mut cf, &format!("{at}/__substg1.0_37010102"), a.data);
        }
        cf.flush().expect("flush");
        cf.into_inner().into_inner()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: MsgLimits = MsgLimits {
        depth: 4,
        attachments: 100,
    };

    #[test]
    fn a_message_becomes_mime_with_its_attachments() {
        let b = build::message(
            "先日の会議の資料です",
            "資料を添付します。",
            &[
                build::Attachment {
                    name: "資料.txt",
                    method: ATTACH_BY_VALUE,
                    data: "議事録".as_bytes(),
                },
                build::Attachment {
                    name: "図.bin",
                    method: ATTACH_OLE,
                    data: b"object",
                },
            ],
        );
        assert_eq!(
            crate::identify::identify(&b),
            crate::identify::FileType::Msg
        );
        let converted = convert(&b, LIMITS).expect("converted");
        let parsed = mail_parser::MessageParser::default()
            .parse(&converted.eml)
            .expect("parses");
        assert_eq!(parsed.subject(), Some("先日の会議の資料です"));
        let from = parsed.from().and_then(|a| a.first()).expect("from");
        assert_eq!(from.address.as_deref(), Some("tanaka@example.jp"));
        assert_eq!(from.name.as_deref(), Some("田中 太郎"));
        assert_eq!(parsed.body_text(0).as_deref(), Some("資料を添付します。"));
        let files: Vec<_> = parsed
            .attachments()
            .map(|a| {
                use mail_parser::MimeHeaders;
                (
                    a.attachment_name().map(str::to_owned),
                    a.contents().to_vec(),
                )
            })
            .collect();
        assert_eq!(
            files,
            [(Some("資料.txt".to_owned()), "議事録".as_bytes().to_vec())]
        );
        assert_eq!(
            converted.left_out,
            [(
                FindingKind::EmbeddedObject,
                "図.bin: an OLE object inserted into the message".to_owned()
            )]
        );
        assert!(converted.eml.is_ascii());
    }

    #[test]
    fn other_compound_files_are_not_messages() {
        let mut cf = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
        cf.create_stream("/VisioDocument").unwrap();
        let b = cf.into_inner().into_inner();
        assert_eq!(
            crate::identify::identify(&b),
            crate::identify::FileType::Ole
        );
        assert_eq!(convert(&b, LIMITS).unwrap_err(), MsgError::NotMsg);
    }

    #[test]
    fn filetimes_are_dates() {
        // 2026-12-07 12:34:56 UTC.
        let secs: u64 = 1_796_646_896;
        let ft = (secs + 11_644_473_600) * 10_000_000;
        assert_eq!(date(ft).unwrap(), "Mon, 7 Dec 2026 12:34:56 +0000");
        assert_eq!(date(0), None);
    }

    #[test]
    fn compressed_rtf_decompresses() {
        // MS-OXRTFCP 3.1.2, example 1.
        let b = hex::decode(
            "2d0000002b0000004c5a4675f1c5c7a703000a00726370673132354232\
             0af32068656c090020627705b06c647d0a800fa0",
        )
        .expect("hex");
        assert_eq!(
            decompress_rtf(&b, 1 << 20).expect("decompresses"),
            b"{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n"
        );
        // A stored body comes back as it is.
        let mut stored = Vec::new();
        stored.extend_from_slice(&(12u32 + 5).to_le_bytes());
        stored.extend_from_slice(&5u32.to_le_bytes());
        stored.extend_from_slice(&0x414C_454Du32.to_le_bytes());
        stored.extend_from_slice(&0u32.to_le_bytes());
        stored.extend_from_slice(b"{\\rtf}");
        assert_eq!(decompress_rtf(&stored, 1 << 20).unwrap(), b"{\\rtf");
        assert_eq!(decompress_rtf(b"short", 100), None);
    }
}
