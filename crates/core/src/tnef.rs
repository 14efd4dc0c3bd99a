//! TNEF (`winmail.dat`, `application/ms-tnef`): Outlook's wrapper for a
//! message's attachments and rich-text body (MS-OXTNEF). The MIME layer
//! unpacks it into its attachments, which then cross as ordinary MIME
//! parts, each inspected like any other. What is not a plain file attachment (an
//! embedded message or OLE object) is handed over as the bytes Outlook
//! stored, for the engine to judge (and remove). The rich-text body and
//! the message's other properties are not kept: Outlook sends the text
//! beside the TNEF part.
//!
//! Nothing is decompressed, so what comes out is never larger than what
//! went in. A damaged stream (bad checksum, truncated record, properties
//! that do not parse) is not unpacked at all.

/// The stream's first bytes (0x223E9F78, little-endian).
pub(crate) const SIGNATURE: [u8; 4] = [0x78, 0x9f, 0x3e, 0x22];

/// One attachment, as it will cross.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Attachment {
    pub(crate) name: String,
    pub(crate) data: Vec<u8>,
}

/// Why a stream is not unpacked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TnefError {
    NotTnef,
    Truncated,
    Checksum,
    Level(u8),
    Properties,
    TooManyAttachments(usize),
}

impl std::fmt::Display for TnefError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TnefError::NotTnef => f.write_str("not a TNEF stream"),
            TnefError::Truncated => f.write_str("TNEF record cut short"),
            TnefError::Checksum => f.write_str("TNEF record checksum mismatch"),
            TnefError::Level(l) => write!(f, "TNEF record of unknown level {l}"),
            TnefError::Properties => f.write_str("TNEF attachment properties do not parse"),
            TnefError::TooManyAttachments(n) => write!(f, "more than {n} TNEF attachments"),
        }
    }
}

// Attribute ids (type in the high word, id in the low word).
const ATT_OEM_CODEPAGE: u32 = 0x0006_9007;
const ATT_ATTACH_RENDDATA: u32 = 0x0006_9002;
const ATT_ATTACH_TITLE: u32 = 0x0001_8010;
const ATT_ATTACH_DATA: u32 = 0x0006_800F;
const ATT_ATTACHMENT: u32 = 0x0006_9005;

// MAPI properties of an attachment.
const PR_ATTACH_DATA_OBJ: u16 = 0x3701;
const PR_ATTACH_LONG_FILENAME: u16 = 0x3707;
const PR_ATTACH_METHOD: u16 = 0x3705;
const PR_DISPLAY_NAME: u16 = 0x3001;

/// `PR_ATTACH_METHOD` of a plain file.
const ATTACH_BY_VALUE: u32 = 1;

/// The attachments of a TNEF stream, at most `max` of them.
pub(crate) fn unpack(b: &[u8], max: usize) -> Result<Vec<Attachment>, TnefError> {
    let mut r = Reader(b);
    if r.take(4)? != SIGNATURE {
        return Err(TnefError::NotTnef);
    }
    r.take(2)?; // legacy key
    let mut code_page = 1252;
    let mut found: Vec<Pending> = Vec::new();
    while !r.0.is_empty() {
        let level = r.take(1)?[0];
        let id = r.u32()?;
        let len = usize::try_from(r.u32()?).map_err(|_| TnefError::Truncated)?;
        let data = r.take(len)?;
        let checksum = data.iter().fold(0u16, |s, &c| s.wrapping_add(u16::from(c)));
        if r.u16()? != checksum {
            return Err(TnefError::Checksum);
        }
        match (level, id) {
            (1, ATT_OEM_CODEPAGE) if data.len() >= 4 => {
                code_page = u32::from_le_bytes([data[0], data[1], data[2], data[3]]);
            }
            (1, _) => {}
            (2, ATT_ATTACH_RENDDATA) => {
                if found.len() == max {
                    return Err(TnefError::TooManyAttachments(max));
                }
                found.push(Pending::default());
            }
            (2, _) => {
                // Attributes before the first rendering record start one too.
                if found.is_empty() {
                    found.push(Pending::default());
                }
                let current = found.last_mut().ok_or(TnefError::Truncated)?;
                match id {
                    ATT_ATTACH_TITLE => current.title = Some(oem_string(data, code_page)),
                    ATT_ATTACH_DATA => current.data = Some(data.to_vec()),
                    ATT_ATTACHMENT => properties(data, current)?,
                    _ => {}
                }
            }
            (other, _) => return Err(TnefError::Level(other)),
        }
    }
    Ok(found
        .into_iter()
        .enumerate()
        .filter_map(|(i, p)| p.finish(i + 1))
        .collect())
}

#[derive(Default)]
struct Pending {
    title: Option<String>,
    long_name: Option<String>,
    data: Option<Vec<u8>>,
    method: Option<u32>,
    object: Option<Vec<u8>>,
}

impl Pending {
    fn finish(self, n: usize) -> Option<Attachment> {
        let name = self
            .long_name
            .or(self.title)
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| format!("attachment-{n}"));
        // An embedded message or OLE object is the object's bytes; a
        // plain file its data.
        let data = match self.method {
            Some(m) if m != ATTACH_BY_VALUE => self.object.or(self.data),
            _ => self.data.or(self.object),
        }?;
        Some(Attachment { name, data })
    }
}

/// Reads the MAPI properties of an attachment (`attAttachment`).
fn properties(b: &[u8], into: &mut Pending) -> Result<(), TnefError> {
    let bad = |_| TnefError::Properties;
    let mut r = Reader(b);
    let count = r.u32().map_err(bad)?;
    for _ in 0..count {
        let ty = r.u16().map_err(bad)?;
        let id = r.u16().map_err(bad)?;
        if id >= 0x8000 {
            // A named property: its GUID and its name or number.
            r.take(16).map_err(bad)?;
            match r.u32().map_err(bad)? {
                0 => {
                    r.u32().map_err(bad)?;
                }
                1 => {
                    let len = r.u32().map_err(bad)? as usize;
                    r.take(padded(len)).map_err(bad)?;
                }
                _ => return Err(TnefError::Properties),
            }
        }
        let values = if ty & 0x1000 != 0 {
            r.u32().map_err(bad)? as usize
        } else {
            1
        };
        let base = ty & !0x1000;
        for _ in 0..values {
            let value = match fixed_size(base) {
                Some(size) => r.take(size).map_err(bad)?,
                None if variable(base) => {
                    // Single variable-length values carry a count too.
                    if ty & 0x1000 == 0 {
                        r.u32().map_err(bad)?;
                    }
                    let len = r.u32().map_err(bad)? as usize;
                    let v = r.take(len).map_err(bad)?;
                    r.take(padded(len) - len).map_err(bad)?;
                    v
                }
                None => return Err(TnefError::Properties),
            };
            match (id, base) {
                (PR_ATTACH_LONG_FILENAME | PR_DISPLAY_NAME, 0x001F) => {
                    let name = utf16(value);
                    if id == PR_ATTACH_LONG_FILENAME || into.long_name.is_none() {
                        into.long_name = Some(name);
                    }
                }
                (PR_ATTACH_LONG_FILENAME | PR_DISPLAY_NAME, 0x001E) => {
                    let name =
                        String::from_utf8_lossy(value.split(|&c| c == 0).next().unwrap_or(&[]))
                            .into_owned();
                    if id == PR_ATTACH_LONG_FILENAME || into.long_name.is_none() {
                        into.long_name = Some(name);
                    }
                }
                (PR_ATTACH_METHOD, 0x0003) if value.len() >= 4 => {
                    into.method =
                        Some(u32::from_le_bytes([value[0], value[1], value[2], value[3]]));
                }
                (PR_ATTACH_DATA_OBJ, 0x000D | 0x0102) => {
                    // An object starts with the interface id it is stored as.
                    let object = if base == 0x000D {
                        value.get(16..).unwrap_or_default()
                    } else {
                        value
                    };
                    into.object = Some(object.to_vec());
                }
                _ => {}
            }
        }
    }
    Ok(())
}

/// Bytes a fixed-size value takes in the stream (padded to 4).
fn fixed_size(ty: u16) -> Option<usize> {
    Some(match ty {
        0x0001 | 0x0002 | 0x0003 | 0x0004 | 0x000A | 0x000B => 4,
        0x0005 | 0x0006 | 0x0007 | 0x0014 | 0x0040 => 8,
        0x0048 => 16,
        _ => return None,
    })
}

/// Strings, binary and objects: a length, then the bytes, padded to 4.
fn variable(ty: u16) -> bool {
    matches!(ty, 0x000D | 0x001E | 0x001F | 0x0102)
}

fn padded(len: usize) -> usize {
    len.saturating_add(3) & !3
}

fn utf16(b: &[u8]) -> String {
    let units: Vec<u16> = b
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .take_while(|&u| u != 0)
        .collect();
    String::from_utf16_lossy(&units)
}

/// A zero-terminated string in the stream's OEM code page.
fn oem_string(b: &[u8], code_page: u32) -> String {
    let b = b.split(|&c| c == 0).next().unwrap_or_default();
    let encoding = match code_page {
        932 => encoding_rs::SHIFT_JIS,
        65001 => encoding_rs::UTF_8,
        _ => encoding_rs::WINDOWS_1252,
    };
    encoding.decode_without_bom_handling(b).0.into_owned()
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], TnefError> {
        if self.0.len() < n {
            return Err(TnefError::Truncated);
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn u16(&mut self) -> Result<u16, TnefError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, TnefError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// TNEF streams for tests and samples: records with their checksums.
#[cfg(test)]
pub(crate) mod build {
    pub(crate) fn record(level: u8, id: u32, data: &[u8]) -> Vec<u8> {
        let mut out = vec![level];
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        let sum = data.iter().fold(0u16, |s, &c| s.wrapping_add(u16::from(c)));
        out.extend_from_slice(&sum.to_le_bytes());
        out
    }

    /// A stream with one file attachment per `(name, data)`, the name as
    /// a long file name (UTF-16) and an 8.3 title.
    pub(crate) fn stream(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = super::SIGNATURE.to_vec();
        out.extend_from_slice(&1u16.to_le_bytes());
        out.extend(record(1, 0x0008_9006, &[0, 0, 1, 0]));
        out.extend(record(
            1,
            super::ATT_OEM_CODEPAGE,
            &[0xe4, 0x04, 0, 0, 0, 0, 0, 0],
        ));
        for (name, data) in files {
            out.extend(record(
                2,
                super::ATT_ATTACH_RENDDATA,
                &[1, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0],
            ));
            out.extend(record(2, super::ATT_ATTACH_TITLE, b"ATTACH~1.BIN\0"));
            out.extend(record(2, super::ATT_ATTACH_DATA, data));
            let mut props = 1u32.to_le_bytes().to_vec();
            props.extend_from_slice(&0x001Fu16.to_le_bytes());
            props.extend_from_slice(&super::PR_ATTACH_LONG_FILENAME.to_le_bytes());
            let mut utf16: Vec<u8> = name
                .encode_utf16()
                .chain([0])
                .flat_map(u16::to_le_bytes)
                .collect();
            props.extend_from_slice(&1u32.to_le_bytes());
            props.extend_from_slice(&(utf16.len() as u32).to_le_bytes());
            while !utf16.len().is_multiple_of(4) {
                utf16.push(0);
            }
            props.extend_from_slice(&utf16);
            out.extend(record(2, super::ATT_ATTACHMENT, &props));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachments_come_out_under_their_long_names() {
        let stream = build::stream(&[("請求書.exe", b"MZ\x90\x00"), ("議事録.txt", b"3 pm")]);
        let got = unpack(&stream, 10).expect("unpacks");
        assert_eq!(
            got,
            [
                Attachment {
                    name: "請求書.exe".into(),
                    data: b"MZ\x90\x00".to_vec()
                },
                Attachment {
                    name: "議事録.txt".into(),
                    data: b"3 pm".to_vec()
                },
            ]
        );
    }

    #[test]
    fn damaged_streams_are_not_unpacked() {
        let stream = build::stream(&[("a.txt", b"text")]);
        assert_eq!(
            unpack(&stream[..stream.len() - 3], 10),
            Err(TnefError::Truncated)
        );
        let mut bad = stream.clone();
        let at = bad.len() - 40;
        bad[at] ^= 0x55;
        assert!(unpack(&bad, 10).is_err());
        assert_eq!(unpack(b"PK\x03\x04", 10), Err(TnefError::NotTnef));
        assert_eq!(
            unpack(&build::stream(&[("a", b"1"), ("b", b"2")]), 1),
            Err(TnefError::TooManyAttachments(1))
        );
    }
}
