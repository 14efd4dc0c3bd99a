//! OLE2 compound files (doc, xls, ppt): VBA storages, XLM macro sheets,
//! embedded objects and DDE fields; disarm copies the file without them.

pub(crate) mod vba;

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use crate::formats::common::{Disarmed, FormatError, Inspection, Item};
use crate::identify::FileType;
use crate::limits::Budget;
use crate::vocab::FindingKind;

const VBA_STORAGES: [&str; 4] = ["macros", "_vba_project_cur", "vba", "_vba_project"];
/// Caps the streams read while looking inside.
const MAX_STREAM_BYTES: u64 = 64 << 20;
/// Longest field instruction looked at, in characters.
const MAX_INSTRUCTION: usize = 512;

/// What is active in a compound file, and where.
#[derive(Debug, Default)]
struct Plan {
    /// What inspection reports: items and VBA source.
    found: Inspection,
    /// Storages to leave out of the copy.
    drop: Vec<PathBuf>,
    /// Why the file cannot be disarmed, when it cannot.
    blocker: Option<String>,
    /// The Word text stream holds DDE fields to blank.
    word_dde: bool,
    /// The PowerPoint stream holds objects (or a VBA project) to empty.
    ppt_objects: bool,
}

fn plan(cf: &mut cfb::CompoundFile<Cursor<&[u8]>>, t: FileType) -> Result<Plan, String> {
    let mut a = Plan::default();
    let mut vba = Vec::new();
    let mut workbook = None;
    let mut embedded = Vec::new();
    for entry in cf.walk() {
        let name = entry.name().to_ascii_lowercase();
        let path = entry.path().to_owned();
        let at_root = path.parent() == Some(Path::new("/"));
        if entry.is_storage() && VBA_STORAGES.contains(&name.as_str()) {
            vba.push(path);
        } else if entry.is_stream() && at_root && (name == "workbook" || name == "book") {
            workbook = Some(path);
        } else if entry.is_storage()
            && at_root
            && (name == "objectpool" || (t == FileType::Xls && name.starts_with("mbd")))
        {
            embedded.push(path);
        }
    }
    // A VBA storage inside another one goes with it.
    let all = vba.clone();
    vba.retain(|p| !all.iter().any(|q| q != p && p.starts_with(q)));
    if !vba.is_empty() {
        let list: Vec<String> = vba.iter().map(|p| p.display().to_string()).collect();
        let mut detail = format!("VBA storages: {}", list.join(", "));
        if let Some(vba) = crate::formats::ole::vba::read_projects(cf) {
            detail = format!("{detail}; {}", vba.summary);
            a.found.scripts.push(vba.source);
        }
        a.found.items.push(Item {
            kind: FindingKind::Macro,
            detail,
        });
        a.drop.extend(vba);
    }
    if !embedded.is_empty() {
        let list: Vec<String> = embedded.iter().map(|p| p.display().to_string()).collect();
        a.found.items.push(Item {
            kind: FindingKind::EmbeddedObject,
            detail: format!("embedded OLE objects: {}", list.join(", ")),
        });
        if t == FileType::Doc {
            // Word keeps each object's picture in the document itself.
            a.drop.extend(embedded);
        } else {
            a.blocker = Some("embedded objects in a workbook cannot be taken out".into());
        }
    }
    if let Some(path) = workbook {
        let stream = read_stream(cf, &path)?;
        let sheets = xlm_macro_sheets(&stream);
        if !sheets.is_empty() {
            a.found.items.push(Item {
                kind: FindingKind::Macro,
                detail: format!("Excel 4.0 (XLM) macro sheets: {}", sheets.join(", ")),
            });
            a.blocker = Some("XLM macro sheets cannot be taken out of a legacy workbook".into());
        }
    }
    if t == FileType::Doc {
        let mut stream = read_stream(cf, Path::new("/WordDocument"))?;
        for f in word_dde_fields(&mut stream, false) {
            a.found.items.push(Item {
                kind: FindingKind::Dde,
                detail: format!("DDE field: {f}"),
            });
            a.word_dde = true;
        }
    }
    if t == FileType::Ppt {
        let stream = read_stream(cf, Path::new("/PowerPoint Document"))?;
        let records = ppt_records(&stream);
        if records.truncated {
            a.found.items.push(Item {
                kind: FindingKind::LimitExceeded,
                detail: "more PowerPoint records than mugai reads".into(),
            });
        }
        if records.vba {
            a.found.items.push(Item {
                kind: FindingKind::Macro,
                detail: "VBA project in the PowerPoint Document stream (VBAInfo record)".into(),
            });
        }
        if records.ole_objects > 0 {
            a.found.items.push(Item {
                kind: FindingKind::EmbeddedObject,
                detail: format!(
                    "embedded OLE objects in the PowerPoint Document stream ({} ExOleObjStg records)",
                    records.ole_objects
                ),
            });
        }
        if records.actions > 0 {
            a.found.items.push(Item {
                kind: FindingKind::Macro,
                detail: format!(
                    "{} action settings that run a macro or a program on click or hover",
                    records.actions
                ),
            });
        }
        a.ppt_objects = records.vba || records.ole_objects > 0 || records.actions > 0;
        if records.truncated {
            a.blocker = Some("PowerPoint records beyond what mugai reads".into());
        }
    }
    Ok(a)
}

fn read_stream(cf: &mut cfb::CompoundFile<Cursor<&[u8]>>, path: &Path) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    cf.open_stream(path)
        .and_then(|s| s.take(MAX_STREAM_BYTES).read_to_end(&mut out))
        .map_err(|e| format!("unreadable {}: {e}", path.display()))?;
    Ok(out)
}

/// A compound file opened and planned: what is active, and how to copy it
/// without.
pub(crate) struct Analysis<'a> {
    cf: cfb::CompoundFile<Cursor<&'a [u8]>>,
    plan: Plan,
}

impl std::fmt::Debug for Analysis<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analysis")
            .field("plan", &self.plan)
            .finish()
    }
}

/// Opens a compound file of type `t` (doc, xls, ppt or other) and plans its
/// disarm.
pub(crate) fn analyze(bytes: &[u8], t: FileType) -> Result<Analysis<'_>, FormatError> {
    let mut cf = cfb::CompoundFile::open(Cursor::new(bytes))
        .map_err(|e| format!("corrupt OLE2 file: {e}"))?;
    let plan = plan(&mut cf, t)?;
    Ok(Analysis { cf, plan })
}

impl Analysis<'_> {
    /// What inspection reports.
    pub(crate) fn found(&self) -> &Inspection {
        &self.plan.found
    }

    /// The compound file copied without its VBA storages and (in Word
    /// files) embedded objects, DDE instructions blanked; or why that
    /// cannot be done.
    pub(crate) fn disarm(self, budget: &mut Budget) -> Result<Disarmed, FormatError> {
        let Analysis { mut cf, plan: a } = self;
        if let Some(why) = a.blocker {
            return Err(FormatError::Unsupported(why));
        }
        if a.found.items.is_empty() {
            return Err(FormatError::Unsupported(
                "nothing in this file could be taken out".into(),
            ));
        }
        let bytes = copy_without(&mut cf, &a, budget)?;
        let mut removed: Vec<String> = a.found.items.into_iter().map(|i| i.detail).collect();
        if a.word_dde {
            removed.push("DDE instructions blanked in /WordDocument".into());
        }
        if a.ppt_objects {
            removed.push(
                "each object's storage replaced in place by an empty one; the slides keep their pictures"
                    .into(),
            );
        }
        Ok(Disarmed { bytes, removed })
    }
}

fn copy_without(
    cf: &mut cfb::CompoundFile<Cursor<&[u8]>>,
    a: &Plan,
    budget: &mut Budget,
) -> Result<Vec<u8>, FormatError> {
    let kept: Vec<cfb::Entry> = cf
        .walk()
        .filter(|e| !a.drop.iter().any(|d| e.path().starts_with(d)))
        .collect();
    let total: u64 = kept.iter().filter(|e| e.is_stream()).map(|e| e.len()).sum();
    if total > budget.entry_allowance() {
        return Err(FormatError::Limit(format!(
            "streams larger than {} bytes",
            budget.entry_allowance()
        )));
    }
    budget
        .spend_bytes(total)
        .map_err(|e| FormatError::Limit(e.describe(&budget.limits)))?;
    let io = |e: std::io::Error| format!("writing OLE2: {e}");
    let mut copy = cfb::CompoundFile::create_with_version(cf.version(), Cursor::new(Vec::new()))
        .map_err(io)?;
    for entry in &kept {
        if entry.is_stream() {
            let mut data = read_stream(cf, entry.path())?;
            if a.word_dde && entry.path() == Path::new("/WordDocument") {
                word_dde_fields(&mut data, true);
            }
            if a.ppt_objects && entry.path() == Path::new("/PowerPoint Document") {
                empty_ppt_objects(&mut data)?;
            }
            copy.create_stream(entry.path())
                .and_then(|mut s| s.write_all(&data))
                .map_err(io)?;
        } else if !entry.is_root() {
            copy.create_storage(entry.path()).map_err(io)?;
        }
    }
    for entry in &kept {
        copy.set_state_bits(entry.path(), entry.state_bits())
            .map_err(io)?;
        if !entry.is_stream() {
            copy.set_storage_clsid(entry.path(), *entry.clsid())
                .map_err(io)?;
        }
    }
    copy.flush().map_err(io)?;
    Ok(copy.into_inner().into_inner())
}

/// DDE field instructions in a Word text stream: a field-begin mark (0x13)
/// followed by `DDE` or `DDEAUTO`, in 8-bit or UTF-16 text. With `blank`,
/// each instruction is overwritten with spaces up to the separator (0x14)
/// or end (0x15) mark, so every offset in the file stays valid.
fn word_dde_fields(stream: &mut [u8], blank: bool) -> Vec<String> {
    let mut found = Vec::new();
    for wide in [false, true] {
        let unit = if wide { 2 } else { 1 };
        let mut i = 0;
        while i + unit <= stream.len() {
            let is_begin = stream[i] == 0x13 && (!wide || stream[i + 1] == 0);
            if !is_begin {
                i += 1;
                continue;
            }
            let start = i + unit;
            let mut end = start;
            let mut text = String::new();
            while end + unit <= stream.len() && text.chars().count() < MAX_INSTRUCTION {
                let c = if wide {
                    u16::from_le_bytes([stream[end], stream[end + 1]])
                } else {
                    u16::from(stream[end])
                };
                if c == 0x14 || c == 0x15 || c == 0x13 {
                    break;
                }
                text.push(char::from_u32(u32::from(c)).unwrap_or('\u{fffd}'));
                end += unit;
            }
            if text.trim_start().to_ascii_uppercase().starts_with("DDE") {
                found.push(text.trim().chars().take(200).collect());
                if blank {
                    for (k, b) in stream[start..end].iter_mut().enumerate() {
                        *b = if wide && k % 2 == 1 { 0 } else { b' ' };
                    }
                }
            }
            i = end.max(i + 1);
        }
    }
    found
}

/// What the records of a PowerPoint 97 stream hold that can run.
#[derive(Debug, Default, PartialEq, Eq)]
struct PptRecords {
    /// A VBAInfo atom that says the file has macros (`fHasMacros`, MS-PPT
    /// 2.4.10): the project itself is a compressed storage the atom points
    /// to. Files without macros may carry the atom with the flag off.
    vba: bool,
    /// ExOleObjStg records (MS-PPT 2.10.34) other than the one a VBA
    /// project is stored in: embedded OLE objects such as Packager files,
    /// which open what they hold with a double click.
    ole_objects: usize,
    /// Action settings (InteractiveInfoAtom, MS-PPT 2.7.7) that run a
    /// macro or a program when a shape is clicked or hovered over.
    actions: usize,
    /// The walk stopped at its record limit: the rest was not read.
    truncated: bool,
}

const VBA_INFO_ATOM: u16 = 0x0400;
const EX_OLE_OBJ_STG: u16 = 0x1011;
const INTERACTIVE_INFO_ATOM: u16 = 0x0FF3;
/// Where an InteractiveInfoAtom keeps its action, and the actions that run
/// something: a macro (1) or a program (2).
const ACTION_AT: usize = 8;
const RUNS: [u8; 2] = [1, 2];
/// Records walked at most in one PowerPoint stream.
const MAX_PPT_RECORDS: usize = 1_000_000;

/// Calls `visit(kind, instance, start, end)` for every record of a
/// PowerPoint Document stream, containers and what they hold, with the
/// bounds of its body; `false` when the walk stopped at its record limit.
fn walk_ppt(stream: &[u8], mut visit: impl FnMut(u16, u16, usize, usize)) -> bool {
    // Record ranges still to walk; containers (version 0xF) are entered.
    let mut ranges = vec![(0usize, stream.len())];
    let mut records = 0usize;
    while let Some((mut pos, end)) = ranges.pop() {
        while let Some(head) = stream.get(pos..pos + 8).filter(|_| pos + 8 <= end) {
            records += 1;
            if records > MAX_PPT_RECORDS {
                return false;
            }
            let version = head[0] & 0x0F;
            let instance = u16::from_le_bytes([head[0], head[1]]) >> 4;
            let kind = u16::from_le_bytes([head[2], head[3]]);
            let len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
            let body_end = (pos + 8).saturating_add(len).min(end);
            visit(kind, instance, pos + 8, body_end);
            if version == 0x0F {
                ranges.push((pos + 8, body_end));
            }
            pos = body_end;
        }
    }
    true
}

/// Walks the records of a PowerPoint Document stream, containers included.
fn ppt_records(stream: &[u8]) -> PptRecords {
    let mut found = PptRecords::default();
    found.truncated = !walk_ppt(stream, |kind, instance, start, end| {
        let body = &stream[start..end];
        let flag = body.get(4..8);
        found.vba |= kind == VBA_INFO_ATOM && flag == Some(&1u32.to_le_bytes()[..]);
        // A storage left empty (by disarm) holds nothing to run.
        if kind == EX_OLE_OBJ_STG && !is_empty_storage(body, instance) {
            found.ole_objects += 1;
        }
        if kind == INTERACTIVE_INFO_ATOM && body.get(ACTION_AT).is_some_and(|a| RUNS.contains(a)) {
            found.actions += 1;
        }
    });
    // The VBA project is an ExOleObjStg of its own.
    found.ole_objects = found.ole_objects.saturating_sub(usize::from(found.vba));
    found
}

/// An ExOleObjStg body that holds a compound file with nothing in it:
/// what disarm leaves in place of an object.
fn is_empty_storage(body: &[u8], instance: u16) -> bool {
    let storage = if instance == 1 {
        // Compressed: the size it inflates to, then zlib.
        let Some(size) = body
            .get(..4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        else {
            return false;
        };
        if size > 4096 {
            return false;
        }
        let mut out = Vec::new();
        let inflated = flate2::read::ZlibDecoder::new(&body[4..])
            .take(4096)
            .read_to_end(&mut out);
        if inflated.is_err() {
            return false;
        }
        out
    } else {
        body.to_vec()
    };
    cfb::CompoundFile::open(Cursor::new(&storage[..])).is_ok_and(|cf| cf.walk().count() == 1)
}

/// The body that replaces an object: an empty compound file, compressed.
fn empty_storage() -> Result<Vec<u8>, String> {
    let io = |e: std::io::Error| format!("writing an empty storage: {e}");
    let mut cf = cfb::CompoundFile::create_with_version(cfb::Version::V3, Cursor::new(Vec::new()))
        .map_err(io)?;
    cf.flush().map_err(io)?;
    let plain = cf.into_inner().into_inner();
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&plain).map_err(io)?;
    let mut body = u32::try_from(plain.len())
        .unwrap_or(u32::MAX)
        .to_le_bytes()
        .to_vec();
    body.extend(z.finish().map_err(io)?);
    Ok(body)
}

/// Empties, in place, every ExOleObjStg record of a PowerPoint stream (the
/// embedded objects and the VBA project, each a compound file of its own),
/// clears the VBAInfo atom's macro flag and turns actions that run a macro
/// or a program into no action. Record sizes, and so every
/// offset the file keeps, stay as they were; each object's picture stays
/// on its slide.
fn empty_ppt_objects(stream: &mut [u8]) -> Result<(), String> {
    let empty = empty_storage()?;
    let mut objects = Vec::new();
    let mut flags = Vec::new();
    let mut actions = Vec::new();
    walk_ppt(stream, |kind, _, start, end| match kind {
        EX_OLE_OBJ_STG => objects.push((start, end)),
        VBA_INFO_ATOM if end >= start + 8 => flags.push(start + 4),
        INTERACTIVE_INFO_ATOM if end > start + ACTION_AT => actions.push(start + ACTION_AT),
        _ => {}
    });
    for at in actions {
        if RUNS.contains(&stream[at]) {
            // NoAction: the shape stays, a click does nothing.
            stream[at] = 0;
        }
    }
    for (start, end) in objects {
        if end - start < empty.len() {
            return Err("an object record too small to hold an empty storage".into());
        }
        // The record becomes compressed (instance 1), whatever it was.
        let head = start - 8;
        let ver_inst = u16::from_le_bytes([stream[head], stream[head + 1]]);
        stream[head..head + 2].copy_from_slice(&((ver_inst & 0x000F) | 0x0010).to_le_bytes());
        stream[start..start + empty.len()].copy_from_slice(&empty);
        stream[start + empty.len()..end].fill(0);
    }
    for at in flags {
        stream[at..at + 4].fill(0);
    }
    Ok(())
}

/// Names of BIFF8 BOUNDSHEET records whose sheet type is a macro sheet.
fn xlm_macro_sheets(stream: &[u8]) -> Vec<String> {
    const BOUNDSHEET: u16 = 0x0085;
    const EOF: u16 = 0x000A;
    let mut sheets = Vec::new();
    let mut pos = 0;
    while let Some(hdr) = stream.get(pos..pos + 4) {
        let kind = u16::from_le_bytes([hdr[0], hdr[1]]);
        let len = u16::from_le_bytes([hdr[2], hdr[3]]) as usize;
        let Some(data) = stream.get(pos + 4..pos + 4 + len) else {
            break;
        };
        if kind == BOUNDSHEET && data.len() >= 8 && data[5] == 0x01 {
            let n = data[6] as usize;
            let name = if data[7] & 1 == 1 {
                let units: Vec<u16> = data[8..]
                    .chunks_exact(2)
                    .take(n)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect();
                String::from_utf16_lossy(&units)
            } else {
                data[8..].iter().take(n).map(|&c| c as char).collect()
            };
            sheets.push(name);
        }
        // The first EOF closes the workbook globals, where BOUNDSHEETs live.
        if kind == EOF {
            break;
        }
        pos += 4 + len;
    }
    sheets
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PowerPoint record: version and instance, type, body.
    fn record(ver_inst: u16, kind: u16, body: &[u8]) -> Vec<u8> {
        let mut r = ver_inst.to_le_bytes().to_vec();
        r.extend_from_slice(&kind.to_le_bytes());
        r.extend_from_slice(&(body.len() as u32).to_le_bytes());
        r.extend_from_slice(body);
        r
    }

    #[test]
    fn vba_info_is_found_inside_containers() {
        let info = record(
            0x0F,
            0x03FF,
            &record(0x02, 0x0400, &[0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0]),
        );
        let doc = record(
            0x0F,
            0x03E8,
            &[record(0x00, 0x03E9, &[0; 4]), record(0x0F, 0x07D0, &info)].concat(),
        );
        assert!(ppt_records(&doc).vba);
        let plain = record(0x0F, 0x03E8, &record(0x00, 0x03E9, &[0; 4]));
        assert_eq!(ppt_records(&plain), PptRecords::default());
        let off = record(0x0F, 0x03FF, &record(0x02, 0x0400, &[0; 12]));
        assert!(!ppt_records(&off).vba);
        assert!(!ppt_records(&doc[..20]).vba);
        // An OLE object's storage, anywhere in the tree.
        let objects = record(
            0x0F,
            0x03E8,
            &[
                record(0x0F, 0x0409, &record(0x00, 0x1011, &[0; 16])),
                record(0x10, 0x1011, &[0; 8]),
            ]
            .concat(),
        );
        assert_eq!(ppt_records(&objects).ole_objects, 2);
        // Past the record limit the rest is unread, and says so.
        let many = record(0x00, 0x03E9, &[]).repeat(1_000_001);
        assert!(ppt_records(&many).truncated);
        assert!(!ppt_records(&plain).truncated);
    }

    #[test]
    fn objects_are_emptied_in_place_and_the_stream_keeps_its_size() {
        // An OLE Package storage holding a program, compressed as
        // PowerPoint stores it (instance 1: size, then zlib).
        let mut package =
            cfb::CompoundFile::create_with_version(cfb::Version::V3, Cursor::new(Vec::new()))
                .unwrap();
        package
            .create_stream("/\u{1}Ole10Native")
            .and_then(|mut s| {
                s.write_all(&[b"\x02\x00run.exe\x00MZ".as_slice(), &[0x90; 3000]].concat())
            })
            .unwrap();
        package.flush().unwrap();
        let plain = package.into_inner().into_inner();
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
        z.write_all(&plain).unwrap();
        let body = [
            (plain.len() as u32).to_le_bytes().to_vec(),
            z.finish().unwrap(),
        ]
        .concat();
        let info = record(
            0x000F,
            0x03FF,
            &record(0x0002, 0x0400, &[0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0]),
        );
        let run = record(
            0x0000,
            0x0FF3,
            &[0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0],
        );
        let jump = record(
            0x0000,
            0x0FF3,
            &[0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0],
        );
        let mut stream = record(
            0x000F,
            0x03E8,
            &[
                record(0x0000, 0x03E9, &[0; 4]),
                record(0x000F, 0x07D0, &info),
                record(0x0010, 0x1011, &body),
                record(0x0010, 0x1011, &body),
                record(0x000F, 0x0FF2, &[run, jump.clone()].concat()),
            ]
            .concat(),
        );
        let before = ppt_records(&stream);
        assert!(before.vba);
        assert_eq!(
            before.ole_objects, 1,
            "the other storage is the VBA project's"
        );
        assert_eq!(before.actions, 1, "a jump to a slide runs nothing");
        let len = stream.len();
        empty_ppt_objects(&mut stream).expect("emptied");
        assert_eq!(stream.len(), len);
        assert_eq!(ppt_records(&stream), PptRecords::default());
        assert!(stream.ends_with(&jump), "other actions stay");
        // A record too small for an empty storage cannot be emptied.
        let mut tiny = record(0x0010, 0x1011, &[0; 16]);
        assert!(empty_ppt_objects(&mut tiny).is_err());
    }

    #[test]
    fn dde_fields_in_both_widths_are_blanked_in_place() {
        let mut narrow =
            b"text\x13 DDEAUTO c:\\\\cmd.exe \"/c calc\"\x14shown\x15 \x13 PAGE \x151".to_vec();
        let len = narrow.len();
        let found = word_dde_fields(&mut narrow, true);
        assert_eq!(found, ["DDEAUTO c:\\\\cmd.exe \"/c calc\""]);
        assert_eq!(narrow.len(), len);
        assert!(word_dde_fields(&mut narrow, false).is_empty());
        assert!(narrow.ends_with(b"\x14shown\x15 \x13 PAGE \x151"));

        let wide: Vec<u8> = "\u{13}DDE cmd\u{14}x"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        let mut wide = wide;
        assert_eq!(word_dde_fields(&mut wide, true), ["DDE cmd"]);
        assert!(word_dde_fields(&mut wide, false).is_empty());
    }
}
