//! LZH (LHA), still common in Japan: members header by header, decoded by
//! delharc, their CRC checked.

use delharc::LhaDecodeReader;

use crate::vocab::FindingKind;

use super::{Members, decode_name};
use crate::formats::common::{RATIO_FLOOR, read_bounded};

pub(super) fn walk(ins: &mut dyn Members, bytes: &[u8], location: &str, depth: usize) {
    let mut reader = match LhaDecodeReader::new(bytes) {
        Ok(r) => r,
        Err(e) => {
            ins.finding(
                FindingKind::UninspectableArchive,
                location,
                format!("corrupt LZH archive: {e}"),
            );
            return;
        }
    };
    loop {
        if ins.stop_at_bomb(location) {
            return;
        }
        let header = reader.header();
        // Level 0 and 1 names are raw bytes, Shift_JIS from Japanese tools.
        let name = if header.filename.is_empty() {
            header.parse_pathname_to_str()
        } else {
            decode_name(&header.filename)
        };
        let (size, compressed) = (header.original_size, header.compressed_size);
        let here = format!("{location}!{name}");
        if !header.is_directory() {
            if !reader.is_decoder_supported() {
                ins.name_only(&name, &here);
                ins.finding(
                    FindingKind::UninspectableArchive,
                    &here,
                    "LZH member compressed by a method mugai cannot decode".into(),
                );
            } else if size > RATIO_FLOOR
                && size / compressed.max(1) > ins.budget().limits.max_compression_ratio
            {
                ins.finding(
                    FindingKind::ArchiveBomb,
                    &here,
                    format!("compression ratio {}:1", size / compressed.max(1)),
                );
            } else {
                match read_bounded(ins.budget(), &mut reader, compressed) {
                    Ok(data) if reader.crc_check().is_ok() => {
                        if ins.member(&name, &data, location, depth).is_err() {
                            return;
                        }
                    }
                    Ok(_) => ins.finding(
                        FindingKind::Malformed,
                        &here,
                        "LZH member fails its CRC".into(),
                    ),
                    Err(failure) => super::report(failure, ins, &here),
                }
            }
        }
        match reader.next_file() {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                ins.finding(
                    FindingKind::Malformed,
                    location,
                    format!("LZH archive cut short after {name}: {e}"),
                );
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::identify::{FileType, identify};
    use crate::internal::inspect_as;

    /// A level-0 archive of stored (`-lh0-`) members.
    fn lzh(members: &[(&[u8], &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, data) in members {
            let mut h = Vec::new();
            h.extend_from_slice(b"-lh0-");
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&(data.len() as u32).to_le_bytes());
            h.extend_from_slice(&[0; 4]); // time
            h.push(0x20); // attribute
            h.push(0); // level
            h.push(name.len() as u8);
            h.extend_from_slice(name);
            h.extend_from_slice(&crc16(data).to_le_bytes());
            let sum = h.iter().fold(0u8, |s, b| s.wrapping_add(*b));
            out.push(h.len() as u8);
            out.push(sum);
            out.extend_from_slice(&h);
            out.extend_from_slice(data);
        }
        out.push(0);
        out
    }

    /// CRC-16/ARC, as LHA uses.
    fn crc16(data: &[u8]) -> u16 {
        let mut crc = 0u16;
        for &b in data {
            crc ^= u16::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xA001
                } else {
                    crc >> 1
                };
            }
        }
        crc
    }

    #[test]
    fn members_are_read_and_judged() {
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode("請求書.exe");
        let program = [b"MZ".as_slice(), &[0u8; 100]].concat();
        let archive = lzh(&[(b"readme.txt", b"hello"), (&sjis, &program)]);
        assert_eq!(identify(&archive), FileType::Lzh);
        let kinds: Vec<String> = inspect_as(FileType::Lzh, &archive)
            .iter()
            .map(|f| format!("{} @ {}", f.kind, f.location))
            .collect();
        assert!(
            kinds.contains(&"executable @ blob!請求書.exe".to_owned()),
            "{kinds:?}"
        );
    }

    #[test]
    fn a_damaged_member_is_a_finding() {
        let mut archive = lzh(&[(b"readme.txt", b"hello world")]);
        let at = archive.len() - 3;
        archive[at] ^= 0xFF;
        let kinds: Vec<String> = inspect_as(FileType::Lzh, &archive)
            .iter()
            .map(|f| f.kind.to_string())
            .collect();
        assert!(kinds.iter().any(|k| k == "malformed"), "{kinds:?}");
    }
}
