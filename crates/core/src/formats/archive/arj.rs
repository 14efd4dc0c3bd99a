//! ARJ: headers checked by their CRC, members stored (method 0), compressed
//! by methods 1 to 3 (the LHA `-lh7-` coding, which delharc decodes) or by
//! method 4 (ARJ's own "fastest" coding, decoded here), each checked
//! against its CRC. Encrypted ("garbled") members and members continued in
//! another volume cannot be read and are findings.

use std::io::Read;

use delharc::decode::{Decoder, Lh7Decoder};

use crate::vocab::FindingKind;

use super::{Members, decode_name};
use crate::formats::common::{RATIO_FLOOR, read_bounded};

const MAGIC: [u8; 2] = [0x60, 0xEA];
/// The largest basic header ARJ writes.
const MAX_HEADER: usize = 2600;

const GARBLED: u8 = 0x01;
const VOLUME: u8 = 0x04;

/// One header: the fixed fields mugai reads, the name, and where the
/// member's data starts.
struct Header {
    flags: u8,
    method: u8,
    file_type: u8,
    compressed: usize,
    original: usize,
    crc: u32,
    name: String,
    data_at: usize,
}

/// The header at `at`: `None` at the end-of-archive marker.
fn header_at(b: &[u8], at: usize) -> Result<Option<Header>, &'static str> {
    let cut = "header cut short";
    if b.get(at..at + 2) != Some(&MAGIC[..]) {
        return Err("no header where one should start");
    }
    let size = usize::from(u16::from_le_bytes([
        *b.get(at + 2).ok_or(cut)?,
        *b.get(at + 3).ok_or(cut)?,
    ]));
    if size == 0 {
        return Ok(None);
    }
    if size > MAX_HEADER {
        return Err("header larger than ARJ writes");
    }
    let basic = b.get(at + 4..at + 4 + size).ok_or(cut)?;
    let crc = b.get(at + 4 + size..at + 8 + size).ok_or(cut)?;
    if crc32(basic).to_le_bytes() != crc {
        return Err("header fails its CRC");
    }
    let fixed = usize::from(basic[0]);
    if fixed < 30 || fixed > basic.len() {
        return Err("header too short");
    }
    let u32_at =
        |i: usize| u32::from_le_bytes([basic[i], basic[i + 1], basic[i + 2], basic[i + 3]]);
    let rest = &basic[fixed..];
    let raw_name = rest.split(|&c| c == 0).next().unwrap_or_default();
    // Extended headers follow, each with its own size; 0 ends them.
    let mut next = at + 8 + size;
    loop {
        let ext = u16::from_le_bytes([*b.get(next).ok_or(cut)?, *b.get(next + 1).ok_or(cut)?]);
        next += 2;
        if ext == 0 {
            break;
        }
        next = next.checked_add(usize::from(ext) + 4).ok_or(cut)?;
    }
    Ok(Some(Header {
        flags: basic[4],
        method: basic[5],
        file_type: basic[6],
        compressed: u32_at(12) as usize,
        original: u32_at(16) as usize,
        crc: u32_at(20),
        // Japanese ARJ writes Shift_JIS.
        name: decode_name(raw_name),
        data_at: next,
    }))
}

pub(super) fn walk(ins: &mut dyn Members, bytes: &[u8], location: &str, depth: usize) {
    let main = match header_at(bytes, 0) {
        Ok(Some(h)) if h.file_type == 2 => h,
        _ => {
            ins.finding(
                FindingKind::UninspectableArchive,
                location,
                "corrupt ARJ archive: no main header".into(),
            );
            return;
        }
    };
    let mut at = main.data_at;
    loop {
        if ins.stop_at_bomb(location) {
            return;
        }
        let header = match header_at(bytes, at) {
            Ok(Some(h)) => h,
            Ok(None) => return,
            Err(why) => {
                ins.finding(
                    FindingKind::Malformed,
                    location,
                    format!("ARJ archive damaged at byte {at}: {why}"),
                );
                return;
            }
        };
        let Some(data) = bytes.get(header.data_at..header.data_at + header.compressed) else {
            ins.finding(
                FindingKind::Malformed,
                location,
                format!("ARJ member {} cut short", header.name),
            );
            return;
        };
        at = header.data_at + header.compressed;
        // Directories and volume labels hold nothing; 0 and 1 are files.
        if header.file_type > 1 {
            continue;
        }
        let name = header.name.clone();
        let here = format!("{location}!{name}");
        // What cannot be read has only its name checked, and says why.
        let unreadable = if header.flags & GARBLED != 0 {
            Some((
                FindingKind::EncryptedArchive,
                "encrypted ARJ member cannot be inspected".to_owned(),
            ))
        } else if header.flags & VOLUME != 0 {
            Some((
                FindingKind::UninspectableArchive,
                "ARJ member continued in another volume".to_owned(),
            ))
        } else if header.method > 4 {
            Some((
                FindingKind::UninspectableArchive,
                format!("ARJ member compressed by unknown method {}", header.method),
            ))
        } else {
            None
        };
        if let Some((kind, detail)) = unreadable {
            ins.name_only(&name, &here);
            ins.finding(kind, &here, detail);
            continue;
        }
        let (size, compressed) = (header.original as u64, header.compressed as u64);
        if size > RATIO_FLOOR
            && size / compressed.max(1) > ins.budget().limits.max_compression_ratio
        {
            ins.finding(
                FindingKind::ArchiveBomb,
                &here,
                format!("compression ratio {}:1", size / compressed.max(1)),
            );
            continue;
        }
        let read = match header.method {
            0 => read_bounded(ins.budget(), data.take(size), compressed),
            1..=3 => read_bounded(
                ins.budget(),
                Lh7 {
                    decoder: Lh7Decoder::new(data),
                    left: header.original,
                },
                compressed,
            ),
            _ => read_bounded(
                ins.budget(),
                Fastest::new(data, header.original),
                compressed,
            ),
        };
        match read {
            Ok(data) if data.len() == header.original && crc32(&data) == header.crc => {
                if ins.member(&name, &data, location, depth).is_err() {
                    return;
                }
            }
            Ok(_) => ins.finding(
                FindingKind::Malformed,
                &here,
                "ARJ member fails its CRC".into(),
            ),
            Err(failure) => super::report(failure, ins, &here),
        }
    }
}

fn crc32(b: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(b);
    crc.sum()
}

/// Methods 1 to 3: delharc's `-lh7-` decoder, read up to the member's size.
struct Lh7<'a> {
    decoder: Lh7Decoder<&'a [u8]>,
    left: usize,
}

impl Read for Lh7<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf.len().min(self.left);
        if n == 0 {
            return Ok(0);
        }
        self.decoder
            .fill_buffer(&mut buf[..n])
            .map_err(|e| std::io::Error::other(format!("ARJ: {e}")))?;
        self.left -= n;
        Ok(n)
    }
}

/// Method 4 ("fastest"): literals and copies whose lengths and distances
/// are written in a unary-prefixed code, over a 26,624-byte window.
struct Fastest<'a> {
    bits: Bits<'a>,
    window: Vec<u8>,
    at: usize,
    left: usize,
    /// A copy under way: its distance back and the bytes still to copy.
    copy: Option<(usize, usize)>,
}

const WINDOW: usize = 26_624;

impl<'a> Fastest<'a> {
    fn new(data: &'a [u8], original: usize) -> Self {
        Self {
            bits: Bits { data, at: 0 },
            window: vec![0; WINDOW],
            at: 0,
            left: original,
            copy: None,
        }
    }

    /// A number in the prefix code: up to `stop - start` one bits, each
    /// widening the field that follows.
    fn code(&mut self, start: u32, stop: u32) -> Option<usize> {
        let (mut plus, mut power, mut width) = (0usize, 1usize << start, start);
        while width < stop {
            if self.bits.take(1)? == 0 {
                break;
            }
            plus += power;
            power <<= 1;
            width += 1;
        }
        let field = if width == 0 {
            0
        } else {
            self.bits.take(width)? as usize
        };
        Some(field + plus)
    }

    fn put(&mut self, c: u8) -> u8 {
        self.window[self.at] = c;
        self.at = (self.at + 1) % WINDOW;
        self.left -= 1;
        c
    }
}

impl Read for Fastest<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let cut = || std::io::Error::other("ARJ: compressed data cut short");
        let mut n = 0;
        while n < buf.len() && self.left > 0 {
            if let Some((distance, count)) = self.copy {
                let c = self.window[(self.at + WINDOW - distance) % WINDOW];
                buf[n] = self.put(c);
                n += 1;
                self.copy = (count > 1).then_some((distance, count - 1));
                continue;
            }
            let len = self.code(0, 7).ok_or_else(cut)?;
            if len == 0 {
                let c = self.bits.take(8).ok_or_else(cut)? as u8;
                buf[n] = self.put(c);
                n += 1;
            } else {
                let distance = self.code(9, 13).ok_or_else(cut)? + 1;
                if distance > WINDOW {
                    return Err(std::io::Error::other("ARJ: copy from beyond the window"));
                }
                self.copy = Some((distance, len + 2));
            }
        }
        Ok(n)
    }
}

/// Bits, most significant first.
struct Bits<'a> {
    data: &'a [u8],
    at: usize,
}

impl Bits<'_> {
    fn take(&mut self, n: u32) -> Option<u32> {
        let mut v = 0;
        for _ in 0..n {
            let byte = *self.data.get(self.at / 8)?;
            v = (v << 1) | u32::from(byte >> (7 - self.at % 8) & 1);
            self.at += 1;
        }
        Some(v)
    }
}

#[cfg(test)]
mod tests {
    use mail_parser::MimeHeaders;

    use crate::identify::{FileType, identify};
    use crate::vocab::FindingKind;

    /// The ARJ archive (method 2, written by the arj tool) in the control sample.
    fn control() -> Vec<u8> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../samples/deny/control_arj_text.eml"
        );
        let raw = std::fs::read(path).expect("sample");
        let msg = mail_parser::MessageParser::default()
            .parse(&raw)
            .expect("mail");
        let part = msg
            .attachments()
            .find(|a| a.attachment_name() == Some("議事録.arj"))
            .expect("the archive");
        part.contents().to_vec()
    }

    #[test]
    fn a_whole_archive_reads_clean() {
        let arj = control();
        assert_eq!(identify(&arj), FileType::Arj);
        assert_eq!(crate::internal::inspect_as(FileType::Arj, &arj), []);
    }

    #[test]
    fn a_damaged_archive_is_a_finding_wherever_it_is_cut_or_flipped() {
        let arj = control();
        for cut in 0..arj.len() - 1 {
            let findings = crate::internal::inspect_as(FileType::Arj, &arj[..cut]);
            assert!(!findings.is_empty(), "cut at {cut} passed");
        }
        for at in (0..arj.len()).step_by(7) {
            let mut flipped = arj.clone();
            flipped[at] ^= 0x55;
            let findings = crate::internal::inspect_as(FileType::Arj, &flipped);
            assert!(
                findings.iter().any(|f| matches!(
                    f.kind,
                    FindingKind::Malformed | FindingKind::UninspectableArchive
                )) || findings.is_empty() && at >= arj.len() - 4,
                "flip at {at}: {findings:?}"
            );
        }
    }
}
