//! Archives other than zip, rebuilt member by member as a zip. The
//! archive's own walker hands the members over again, in the order and
//! under the names the inspection saw them, so the judge's verdicts (kept
//! by location) apply; what was kept goes into a fresh zip, the one
//! archive every recipient can open without another program.

use std::collections::HashSet;
use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::identify::FileType;
use crate::limits::{Budget, Exhausted};
use crate::vocab::FindingKind;

use super::{Members, Rebuilder};
use crate::formats::common::{Disarmed, FormatError};

/// The archive of type `t` at `location`, as a zip of what `judge` keeps.
pub(super) fn repack(
    t: FileType,
    bytes: &[u8],
    location: &str,
    judge: &mut dyn Rebuilder,
) -> Result<Disarmed, FormatError> {
    let mut sink = Repack {
        judge,
        location,
        out: ZipWriter::new(Cursor::new(Vec::with_capacity(bytes.len()))),
        names: HashSet::new(),
        removed: vec![format!("{} archive written anew as a zip", t.name())],
        failed: None,
    };
    super::walk(&mut sink, t, bytes, location, 0);
    let Repack {
        out,
        names,
        removed,
        failed,
        ..
    } = sink;
    if let Some(why) = failed {
        return Err(why);
    }
    if names.is_empty() {
        return Err(FormatError::Unsupported(
            "no member of the archive could be kept".into(),
        ));
    }
    let bytes = out.finish().map_err(broken)?.into_inner();
    Ok(Disarmed { bytes, removed })
}

struct Repack<'r> {
    judge: &'r mut dyn Rebuilder,
    location: &'r str,
    out: ZipWriter<Cursor<Vec<u8>>>,
    /// Names written (the members kept): a name twice (tar allows it)
    /// keeps the first.
    names: HashSet<String>,
    removed: Vec<String>,
    /// Why the archive cannot be rebuilt: the walk failed where the
    /// inspection did not, or the zip could not be written.
    failed: Option<FormatError>,
}

impl Repack<'_> {
    fn write(&mut self, name: &str, data: &[u8]) -> Result<(), FormatError> {
        let options = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
        self.out.start_file(name, options).map_err(broken)?;
        self.out
            .write_all(data)
            .map_err(|e| FormatError::Malformed(format!("zip: {e}")))
    }

    /// `name` as a member of the new zip: the archive's own, unless it was
    /// written already.
    fn fresh(&mut self, name: &str) -> bool {
        if self.names.insert(name.to_owned()) {
            return true;
        }
        self.removed
            .push(format!("{name}: a second member of that name, left out"));
        false
    }
}

impl Members for Repack<'_> {
    fn budget(&mut self) -> &mut Budget {
        self.judge.budget()
    }

    /// A member the walk could not read this time is left out; trouble
    /// with the archive itself means it is not rebuilt at all.
    fn finding(&mut self, _kind: FindingKind, location: &str, detail: String) {
        match location.strip_prefix(self.location) {
            Some(rest) if rest.starts_with('!') => {
                let member = &rest[1..];
                let said = format!("{member}: ");
                if !self.removed.iter().any(|r| r.starts_with(&said)) {
                    self.removed.push(format!("{said}left out ({detail})"));
                }
            }
            _ => {
                self.failed
                    .get_or_insert(FormatError::Malformed(format!("archive: {detail}")));
            }
        }
    }

    fn stop_at_bomb(&mut self, _location: &str) -> bool {
        // A bombed archive is never rebuilt; what is read now was read once.
        false
    }

    fn member(
        &mut self,
        name: &str,
        data: &[u8],
        archive_location: &str,
        _depth: usize,
    ) -> Result<(), Exhausted> {
        if self.failed.is_some() {
            return Err(Exhausted::Entries);
        }
        let here = format!("{archive_location}!{name}");
        let (new_name, data, notes) = if self.judge.clean(&here) {
            (
                name.to_owned(),
                std::borrow::Cow::Borrowed(data),
                Vec::new(),
            )
        } else {
            match self.judge.rework(name, data, &here) {
                Some((new_name, rebuilt)) => {
                    let named = if new_name == name {
                        name.to_owned()
                    } else {
                        format!("{name} (now {new_name})")
                    };
                    let notes = rebuilt
                        .removed
                        .iter()
                        .map(|r| format!("{named}: {r}"))
                        .collect();
                    (new_name, std::borrow::Cow::Owned(rebuilt.bytes), notes)
                }
                None => {
                    self.removed
                        .push(format!("{name}: removed from the archive"));
                    return Ok(());
                }
            }
        };
        if !self.fresh(&new_name) {
            return Ok(());
        }
        if let Err(e) = self.write(&new_name, &data) {
            self.failed = Some(e);
            return Err(Exhausted::Entries);
        }
        self.removed.extend(notes);
        Ok(())
    }

    fn name_only(&mut self, name: &str, _location: &str) {
        self.removed
            .push(format!("{name}: a link or an encrypted member, left out"));
    }
}

fn broken(e: zip::result::ZipError) -> FormatError {
    FormatError::Malformed(format!("zip: {e}"))
}
