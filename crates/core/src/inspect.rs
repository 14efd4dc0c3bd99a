//! The inspector: identify a blob, check its name, look inside by type, and
//! walk archives recursively, all within one message's budget.

use sha2::{Digest, Sha256};

use crate::finding::Finding;
use crate::formats::archive::{self, Members};
use crate::formats::{Document, FormatError, Inspection, html, pdf, text};
use crate::identify::{FileType, identify};
use crate::limits::{Budget, Exhausted};
use crate::report::EntryReport;
use crate::vocab::FindingKind;
use crate::{mime, msg, names};

pub(crate) fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// Something that looks at every blob the inspector sees (YARA rules):
/// the part, each archive member, each embedded document.
pub(crate) trait PartScan {
    fn scan(&mut self, bytes: &[u8], location: &str, out: &mut Vec<Finding>);
}

/// Collects findings and archive members for one MIME part.
pub(crate) struct Inspector<'b> {
    pub(crate) budget: &'b mut Budget,
    /// Rules run over every blob, when the engine has any.
    pub(crate) scan: Option<&'b mut dyn PartScan>,
    pub(crate) findings: Vec<Finding>,
    pub(crate) entries: Vec<EntryReport>,
    /// Hashes of the archives being walked: an archive that contains itself
    /// (a quine like droste.zip) is a bomb, not a reason to recurse.
    ancestors: Vec<[u8; 32]>,
}

impl<'b> Inspector<'b> {
    pub(crate) fn new(budget: &'b mut Budget) -> Self {
        Self {
            budget,
            scan: None,
            findings: Vec::new(),
            entries: Vec::new(),
            ancestors: Vec::new(),
        }
    }

    pub(crate) fn finding(&mut self, kind: FindingKind, location: &str, detail: String) {
        self.findings.push(Finding {
            kind,
            location: location.to_owned(),
            detail,
            rule: None,
        });
    }

    /// Inspects one MIME part: its findings and archive members go into
    /// `self`, and a document opened to look inside comes back for disarm
    /// to consume, so the part is analysed once.
    pub(crate) fn inspect_part<'a>(
        &mut self,
        bytes: &'a [u8],
        hash: &[u8; 32],
        name: Option<&str>,
        declared_mime: Option<&str>,
        location: &str,
    ) -> (FileType, Option<Document<'a>>) {
        self.inspect_at(bytes, hash, name, declared_mime, location, 0)
    }

    /// Inspects a blob nested `depth` archives deep (0 for a MIME part).
    fn inspect_at<'a>(
        &mut self,
        bytes: &'a [u8],
        hash: &[u8; 32],
        name: Option<&str>,
        declared_mime: Option<&str>,
        location: &str,
        depth: usize,
    ) -> (FileType, Option<Document<'a>>) {
        let t = identify(bytes);
        if let Some(scan) = self.scan.as_deref_mut() {
            scan.scan(bytes, location, &mut self.findings);
        }
        if let Some(name) = name {
            names::check_name(name, location, &mut self.findings);
        }
        names::check_mismatch(t, name, declared_mime, location, &mut self.findings);
        // Text a client renders as markup, by its declared type or name, is
        // judged as markup.
        let rendered = names::rendered_as(t, name, declared_mime);
        // A message in an archive is walked as one. At the top, the MIME
        // layer has already opened every message it could read.
        let rendered =
            if depth > 0 && rendered == FileType::Text && names::is_message_file(bytes, name) {
                FileType::Mime
            } else {
                rendered
            };
        let walked = depth > 0 && matches!(rendered, FileType::Mime | FileType::Msg);
        let unchecked = || unverified(rendered).filter(|_| !walked);
        if let Some((kind, detail)) = type_finding(t).or_else(unchecked) {
            self.finding(kind, location, detail.into());
        }
        if archive::has_prefix(t, bytes) {
            self.finding(
                FindingKind::PrependedData,
                location,
                format!(
                    "a zip behind other data ({}): zip readers find it from its end",
                    t.name()
                ),
            );
        }
        let after = archive::appended(t, bytes);
        if after > 0 {
            self.finding(
                FindingKind::AppendedData,
                location,
                format!(
                    "{after} bytes after the end of the zip ({}): readers that look for another archive there open that one",
                    t.name()
                ),
            );
        }
        if let Err(e) = self.budget.check_time() {
            let detail = e.describe(&self.budget.limits);
            self.finding(FindingKind::LimitExceeded, location, detail);
            return (t, None);
        }
        (
            t,
            self.look_inside(rendered, bytes, hash, name, location, depth),
        )
    }

    /// Inspects `bytes` named `name` as type `t`, whatever their magic
    /// says (for fuzz targets: one walker or format on arbitrary bytes).
    pub(crate) fn inspect_as(
        &mut self,
        t: FileType,
        bytes: &[u8],
        hash: &[u8; 32],
        name: Option<&str>,
        location: &str,
    ) {
        self.look_inside(t, bytes, hash, name, location, 0);
    }

    /// What is inside `bytes`, read as type `t`: archive members, a
    /// document's active content, or markup and formulas.
    fn look_inside<'a>(
        &mut self,
        t: FileType,
        bytes: &'a [u8],
        hash: &[u8; 32],
        name: Option<&str>,
        location: &str,
        depth: usize,
    ) -> Option<Document<'a>> {
        if t.is_archive() {
            self.walk_archive(t, bytes, hash, location, depth);
            return None;
        }
        if depth > 0 && matches!(t, FileType::Mime | FileType::Msg) {
            self.walk_message(t, bytes, location, depth);
            return None;
        }
        if let Some(opened) = Document::open(bytes, t, self.budget) {
            return match opened {
                Ok(doc) => Some(self.read_document(doc, location, depth)),
                Err(e) => {
                    let (kind, detail) = unreadable(t, e);
                    self.finding(kind, location, detail);
                    None
                }
            };
        }
        let found = match t {
            FileType::Text => text::inspect(bytes, name),
            FileType::Pdf => pdf::inspect(bytes, self.budget),
            FileType::Html | FileType::Hta | FileType::Svg => html::inspect(bytes),
            _ => Inspection::default(),
        };
        self.record(&found, location);
        // Files encoded into text are members like an archive's.
        for (member, data) in &found.embedded {
            if self.member(member, data, location, depth).is_err() {
                break;
            }
        }
        None
    }

    fn record(&mut self, found: &Inspection, location: &str) {
        for item in &found.items {
            self.finding(item.kind, location, item.detail.clone());
        }
    }

    /// A document's findings, its macro source for the rules, and the
    /// documents embedded in it, inspected like archive members.
    fn read_document<'a>(
        &mut self,
        mut doc: Document<'a>,
        location: &str,
        depth: usize,
    ) -> Document<'a> {
        self.record(doc.found(), location);
        self.scan_scripts(&doc.found().scripts, location);
        for (name, data) in doc.take_embedded() {
            if self.member(&name, &data, location, depth).is_err() {
                break;
            }
        }
        doc
    }

    /// Rules see VBA as its authors wrote it: the decompressed module
    /// source the analysis read, as a blob of its own
    /// (`report.docm!VBA source`). Disarming takes the VBA out whatever it
    /// says, so a rule that matches it weighs in the score but does not turn
    /// the disarm of the document into its removal.
    fn scan_scripts(&mut self, sources: &[String], location: &str) {
        let Some(scan) = self.scan.as_deref_mut() else {
            return;
        };
        let first = self.findings.len();
        let here = format!("{location}!VBA source");
        for source in sources {
            scan.scan(source.as_bytes(), &here, &mut self.findings);
        }
        for f in &mut self.findings[first..] {
            if let Some(rule) = f.rule.as_mut() {
                rule.action = None;
            }
        }
    }

    /// A message inside an archive (a saved `.eml`, an MHT page, an
    /// Outlook `.msg` read as the MIME it holds): each leaf is a member, as
    /// in an archive, and so is the RTF body a `.msg` keeps beside its
    /// text; what a `.msg` holds that is neither is a finding.
    fn walk_message(&mut self, t: FileType, bytes: &[u8], location: &str, depth: usize) {
        if depth >= self.budget.limits.max_archive_depth {
            let detail = format!(
                "message nested deeper than {} levels",
                self.budget.limits.max_archive_depth
            );
            self.finding(FindingKind::LimitExceeded, location, detail);
            return;
        }
        let limits = self.budget.limits.clone();
        let converted;
        let eml = if t == FileType::Msg {
            let msg_limits = msg::MsgLimits {
                depth: limits.max_archive_depth,
                attachments: limits.max_parts,
            };
            converted = match msg::convert(bytes, msg_limits) {
                Ok(c) => c,
                Err(e) => {
                    self.finding(FindingKind::Malformed, location, e.to_string());
                    return;
                }
            };
            for (kind, detail) in &converted.left_out {
                self.finding(*kind, location, detail.clone());
            }
            if let Some(rtf) = &converted.rtf
                && self.member("message.rtf", rtf, location, depth).is_err()
            {
                return;
            }
            &converted.eml[..]
        } else {
            bytes
        };
        let root = match mime::parse(eml, &limits) {
            Ok(root) => root,
            Err(e) => {
                let kind = if e.is_limit() {
                    FindingKind::LimitExceeded
                } else {
                    FindingKind::Malformed
                };
                self.finding(kind, location, e.describe());
                return;
            }
        };
        for leaf in root.leaves() {
            let name = leaf
                .filename
                .clone()
                .unwrap_or_else(|| format!("part {}", leaf.path));
            if self.member(&name, leaf.decoded(), location, depth).is_err() {
                return;
            }
        }
    }

    fn walk_archive(
        &mut self,
        t: FileType,
        bytes: &[u8],
        hash: &[u8; 32],
        location: &str,
        depth: usize,
    ) {
        if self.ancestors.contains(hash) {
            self.finding(
                FindingKind::ArchiveBomb,
                location,
                "archive contains itself (recursive quine)".into(),
            );
        } else if depth >= self.budget.limits.max_archive_depth {
            let detail = format!(
                "archive nested deeper than {} levels",
                self.budget.limits.max_archive_depth
            );
            self.finding(FindingKind::LimitExceeded, location, detail);
        } else {
            self.ancestors.push(*hash);
            archive::walk(self, t, bytes, location, depth);
            self.ancestors.pop();
        }
    }
}

impl Members for Inspector<'_> {
    fn budget(&mut self) -> &mut Budget {
        self.budget
    }

    fn finding(&mut self, kind: FindingKind, location: &str, detail: String) {
        Inspector::finding(self, kind, location, detail);
    }

    /// Whether to stop walking because a bomb was found in this part: with
    /// the default policy the part is removed whatever else is inside, so
    /// walkers stop instead of working through the rest (42.zip would
    /// otherwise be reported a thousand times over). The members left
    /// uninspected are a `limit_exceeded` finding of their own, so that a
    /// policy that keeps bombs still never passes them unread.
    fn stop_at_bomb(&mut self, location: &str) -> bool {
        if !self
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::ArchiveBomb)
        {
            return false;
        }
        if !self
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::LimitExceeded)
        {
            self.finding(
                FindingKind::LimitExceeded,
                location,
                "members after an archive bomb were not inspected".into(),
            );
        }
        true
    }

    /// Inspects one archive member; `Err` tells the walker to stop.
    fn member(
        &mut self,
        name: &str,
        data: &[u8],
        archive_location: &str,
        depth: usize,
    ) -> Result<(), Exhausted> {
        let here = format!("{archive_location}!{name}");
        if self.stop_at_bomb(archive_location) {
            return Err(Exhausted::Entries);
        }
        if let Err(e) = self.budget.take_entry() {
            let detail = e.describe(&self.budget.limits);
            self.finding(FindingKind::LimitExceeded, archive_location, detail);
            return Err(e);
        }
        let hash = sha256(data);
        let (true_type, _) = self.inspect_at(data, &hash, Some(name), None, &here, depth + 1);
        self.entries.push(EntryReport {
            path: here,
            size: data.len() as u64,
            true_type,
            sha256: hex::encode(hash),
        });
        Ok(())
    }

    fn name_only(&mut self, name: &str, location: &str) {
        names::check_name(name, location, &mut self.findings);
    }
}

/// The finding for a document its format could not open: malformed, except
/// RTF, which Word reads whatever its grammar, so what mugai cannot take
/// apart may hold an object.
fn unreadable(t: FileType, e: FormatError) -> (FindingKind, String) {
    match t {
        FileType::Odf => (
            FindingKind::Malformed,
            format!("unreadable OpenDocument package: {e}"),
        ),
        FileType::Doc | FileType::Xls | FileType::Ppt | FileType::Ole => {
            (FindingKind::Malformed, e.to_string())
        }
        FileType::Rtf => (
            FindingKind::EmbeddedObject,
            format!("RTF that mugai cannot take apart: {e}"),
        ),
        _ => (
            FindingKind::Malformed,
            format!("unreadable Office package: {e}"),
        ),
    }
}

/// Default-deny: what mugai does not parse and then rebuild or verify is
/// never delivered as it came. `None` for the types it does: archives and
/// containers (walked member by member), Office documents, PDF, RTF,
/// markup, raster images it re-encodes, text (checked for formulas), and
/// nothing at all. Types with a finding of their own (executables, disk
/// images, ...) are named by `type_finding` instead.
pub(crate) fn unverified(t: FileType) -> Option<(FindingKind, &'static str)> {
    use FileType::*;
    let why = match t {
        Zip | SevenZip | Tar | Gzip | Bzip2 | Xz | Zstd | Lzh | Arj | Iso => return None,
        Docx | Docm | Xlsx | Xlsm | Xlsb | Pptx | Pptm | Ooxml | Odf | Doc | Xls | Ppt => {
            return None;
        }
        Pdf | Rtf | Html | Svg | Png | Jpeg | Gif | Bmp | Tiff | Webp | Text | Empty => {
            return None;
        }
        Xml => "XML of no dialect mugai checks (Office and OpenDocument XML run macros)",
        Ico => "icon file, not re-encoded",
        Mime => "MIME document (a saved message, or an MHT web archive Word opens as a page)",
        Msg => "Outlook message mugai could not read (damaged, or beyond its limits)",
        Ole => "OLE2 file of no kind mugai checks (Visio, Publisher, ...)",
        _ => "content of a type mugai cannot identify",
    };
    Some((FindingKind::UnknownType, why))
}

/// Findings that follow from the true type alone.
fn type_finding(t: FileType) -> Option<(FindingKind, &'static str)> {
    use FileType::*;
    let f = match t {
        Pe => (FindingKind::Executable, "Windows program (PE)"),
        Elf => (FindingKind::Executable, "ELF program"),
        MachO => (FindingKind::Executable, "Mach-O program"),
        Msi => (FindingKind::Executable, "Windows Installer package"),
        Jar => (FindingKind::Executable, "Java archive"),
        Script => (FindingKind::Script, "script content"),
        Hta => (FindingKind::Script, "HTML Application (HTA)"),
        Lnk => (FindingKind::Shortcut, "Windows shortcut (LNK)"),
        Iso => (FindingKind::DiskImage, "ISO 9660 image"),
        Udf => (FindingKind::DiskImage, "UDF image"),
        Vhd => (FindingKind::DiskImage, "virtual hard disk (VHD)"),
        Vhdx => (FindingKind::DiskImage, "virtual hard disk (VHDX)"),
        DiskImg => (FindingKind::DiskImage, "raw disk image"),
        OneNote => (FindingKind::OneNote, "OneNote section"),
        Chm => (FindingKind::HelpFile, "compiled HTML help (CHM)"),
        Rar => (FindingKind::UninspectableArchive, "RAR archive"),
        Cab => (FindingKind::UninspectableArchive, "cabinet archive"),
        EncryptedOffice => (
            FindingKind::EncryptedDocument,
            "password-protected Office document",
        ),
        _ => return None,
    };
    Some(f)
}
