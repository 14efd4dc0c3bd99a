//! 7z: members decoded within a dictionary limit; encrypted ones are a
//! finding, not a password prompt.

use std::io::Cursor;

use crate::vocab::FindingKind;

use super::Members;
use crate::formats::common::read_bounded;

pub(super) fn walk(ins: &mut dyn Members, bytes: &[u8], location: &str, depth: usize) {
    use sevenz_rust2::{ArchiveReader, EntryDecision, Error, Password};
    const DICTIONARY_LIMIT_KB: usize = 256 * 1024;
    let mut reader = match ArchiveReader::new_with_memory_limit(
        Cursor::new(bytes),
        Password::empty(),
        DICTIONARY_LIMIT_KB,
    ) {
        Ok(r) => r,
        Err(Error::PasswordRequired | Error::MaybeBadPassword(_)) => {
            ins.finding(
                FindingKind::EncryptedArchive,
                location,
                "7z with encrypted headers: member names hidden".into(),
            );
            return;
        }
        Err(e) => {
            ins.finding(
                FindingKind::UninspectableArchive,
                location,
                format!("unreadable 7z: {e}"),
            );
            return;
        }
    };
    reader.set_thread_count(1);
    // Members of a solid block report no compressed size of their own: the
    // archive's size is the only honest basis for the ratio check.
    let compressed = bytes.len() as u64;
    let result = reader.for_each_entries_with_decision(|entry, r| {
        if ins.stop_at_bomb(location) {
            return Ok(EntryDecision::Stop);
        }
        if entry.is_directory || !entry.has_stream {
            return Ok(EntryDecision::Continue);
        }
        let name = entry.name.clone();
        Ok(match read_bounded(ins.budget(), r, compressed) {
            Ok(data) => match ins.member(&name, &data, location, depth) {
                Ok(()) => EntryDecision::Continue,
                // The budget is spent: nothing more will be inspected.
                Err(_) => EntryDecision::Stop,
            },
            Err(failure) => {
                // A block read halfway cannot go on; later blocks still can.
                super::report(failure, ins, &format!("{location}!{name}"));
                EntryDecision::SkipBlock
            }
        })
    });
    match result {
        Ok(()) => {}
        Err(Error::PasswordRequired | Error::MaybeBadPassword(_)) => {
            let names: Vec<String> = reader
                .archive()
                .files
                .iter()
                .map(|f| f.name.clone())
                .collect();
            for name in names {
                let here = format!("{location}!{name}");
                ins.name_only(&name, &here);
                ins.finding(
                    FindingKind::EncryptedArchive,
                    &here,
                    "encrypted member cannot be inspected".into(),
                );
            }
        }
        Err(e) => ins.finding(
            FindingKind::UninspectableArchive,
            location,
            format!("7z: {e}"),
        ),
    }
}
