//! tar: regular members read; links only have their names checked.

use std::io::Cursor;

use crate::vocab::FindingKind;

use super::{Members, decode_name};
use crate::formats::common::read_bounded;

pub(super) fn walk(ins: &mut dyn Members, bytes: &[u8], location: &str, depth: usize) {
    let mut archive = tar::Archive::new(Cursor::new(bytes));
    let entries = match archive.entries() {
        Ok(e) => e,
        Err(e) => {
            ins.finding(
                FindingKind::UninspectableArchive,
                location,
                format!("corrupt tar: {e}"),
            );
            return;
        }
    };
    for entry in entries {
        if ins.stop_at_bomb(location) {
            return;
        }
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                ins.finding(
                    FindingKind::Malformed,
                    location,
                    format!("corrupt tar entry: {e}"),
                );
                return;
            }
        };
        let kind = entry.header().entry_type();
        let name = decode_name(&entry.path_bytes());
        if kind.is_symlink() || kind.is_hard_link() {
            // A link holds no data, but extracted it still shows its name.
            ins.name_only(&name, &format!("{location}!{name}"));
            continue;
        }
        if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            continue;
        }
        // tar does not compress; a compressed tar came through walk_stream.
        let size = entry.header().size().unwrap_or(0);
        match read_bounded(ins.budget(), entry, size.max(1)) {
            Ok(data) => {
                if ins.member(&name, &data, location, depth).is_err() {
                    return;
                }
            }
            Err(failure) => super::report(failure, ins, &format!("{location}!{name}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::identify::FileType;
    use crate::vocab::FindingKind;

    #[test]
    fn tar_link_names_are_checked() {
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        tar.append_link(&mut header, "請求書.pdf.exe", "/bin/sh")
            .expect("append");
        let bytes = tar.into_inner().expect("tar");
        let findings = crate::internal::inspect_as(FileType::Tar, &bytes);
        assert!(
            findings
                .iter()
                .any(|f| f.kind == FindingKind::DoubleExtension && f.location.ends_with(".exe")),
            "{findings:?}"
        );
    }
}
