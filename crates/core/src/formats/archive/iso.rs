//! ISO 9660: the directory tree read sector by sector, within limits.

use crate::vocab::FindingKind;

use super::Members;

const SECTOR: usize = 2048;
const MAX_DIR_DEPTH: usize = 16;

pub(super) fn walk(ins: &mut dyn Members, b: &[u8], location: &str, depth: usize) {
    // Prefer the Joliet tree (Unicode names) over the 8.3 primary tree.
    let mut root = None;
    for n in 16..48 {
        let Some(vd) = b.get(n * SECTOR..(n + 1) * SECTOR) else {
            break;
        };
        if &vd[1..6] != b"CD001" || vd[0] == 255 {
            break;
        }
        let joliet = vd[0] == 2 && matches!(&vd[88..91], b"%/@" | b"%/C" | b"%/E");
        if vd[0] == 1 || joliet {
            let rec = &vd[156..190];
            let lba = crate::identify::u32_le(rec, 2).unwrap_or(0) as usize;
            let len = crate::identify::u32_le(rec, 10).unwrap_or(0) as usize;
            if joliet || root.is_none() {
                root = Some((lba, len, joliet));
            }
        }
    }
    let Some((lba, len, joliet)) = root else {
        ins.finding(
            FindingKind::UninspectableArchive,
            location,
            "ISO without a readable volume descriptor".into(),
        );
        return;
    };
    let mut image = Image {
        ins,
        b,
        location,
        depth,
        joliet,
        visited: Vec::new(),
    };
    if let Err(what) = image.dir((lba, len), "", 0) {
        image.ins.finding(FindingKind::Malformed, location, what);
    }
}

/// One image being walked: where its members go, and the directories
/// already read (a directory that contains itself is a loop, not a tree).
struct Image<'w, 'b> {
    ins: &'w mut dyn Members,
    b: &'b [u8],
    location: &'w str,
    /// Archive depth of the image itself.
    depth: usize,
    /// Names are UTF-16 (the Joliet tree) rather than 8.3.
    joliet: bool,
    visited: Vec<usize>,
}

impl Image<'_, '_> {
    /// Walks the directory at `(lba, len)`, `dir_depth` below the root.
    fn dir(
        &mut self,
        (lba, len): (usize, usize),
        prefix: &str,
        dir_depth: usize,
    ) -> Result<(), String> {
        let (b, location, depth, joliet) = (self.b, self.location, self.depth, self.joliet);
        if dir_depth > MAX_DIR_DEPTH || self.visited.contains(&lba) {
            return Err("directory loop or too deep".into());
        }
        self.visited.push(lba);
        let start = lba.checked_mul(SECTOR).ok_or("bad extent")?;
        let dir = b
            .get(start..start.saturating_add(len).min(b.len()))
            .ok_or("directory outside image")?;
        let mut pos = 0;
        while pos < dir.len() {
            let rec_len = dir[pos] as usize;
            if rec_len == 0 {
                pos = (pos / SECTOR + 1) * SECTOR;
                continue;
            }
            let Some(rec) = dir.get(pos..pos + rec_len).filter(|r| r.len() >= 34) else {
                return Err("truncated directory record".into());
            };
            pos += rec_len;
            let name_len = rec[32] as usize;
            let Some(raw_name) = rec.get(33..33 + name_len) else {
                continue;
            };
            if raw_name == [0] || raw_name == [1] {
                continue;
            }
            let name = if joliet {
                let units: Vec<u16> = raw_name
                    .chunks_exact(2)
                    .map(|c| u16::from_be_bytes([c[0], c[1]]))
                    .collect();
                String::from_utf16_lossy(&units)
            } else {
                String::from_utf8_lossy(raw_name).into_owned()
            };
            let name = name
                .split(';')
                .next()
                .unwrap_or(&name)
                .trim_end_matches('.')
                .to_owned();
            let path = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let extent = crate::identify::u32_le(rec, 2).unwrap_or(0) as usize;
            let size = crate::identify::u32_le(rec, 10).unwrap_or(0) as usize;
            if rec[25] & 0x02 != 0 {
                self.dir((extent, size), &path, dir_depth + 1)?;
                continue;
            }
            let data_start = extent.saturating_mul(SECTOR);
            let Some(data) = b.get(data_start..data_start.saturating_add(size)) else {
                self.ins.finding(
                    FindingKind::Malformed,
                    &format!("{location}!{path}"),
                    "file extent outside the image".into(),
                );
                continue;
            };
            // Extents may be shared; each read counts, so aliasing cannot amplify.
            if self.ins.budget().spend_bytes(data.len() as u64).is_err() {
                self.ins.finding(
                    FindingKind::LimitExceeded,
                    location,
                    "ISO members exceed the decompression budget".into(),
                );
                return Ok(());
            }
            if self.ins.member(&path, data, location, depth).is_err() {
                return Ok(());
            }
        }
        Ok(())
    }
}
