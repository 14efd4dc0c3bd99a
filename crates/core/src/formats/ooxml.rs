//! Office Open XML packages (docx/docm, xlsx/xlsm/xlsb, pptx/pptm and their
//! templates): find the active content, and rebuild the package without it.
//!
//! One analysis serves both: inspection turns its plan into findings, disarm
//! carries it out. Active content is found by part (VBA project, XLM and
//! dialog sheets, ActiveX, OLE embeddings, custom UI callbacks), in the
//! relationships (external targets other than plain hyperlinks) and in field
//! codes and formulas (DDE). Disarm removes those parts, the relationships
//! that lead to them and every element that uses such a relationship, blanks
//! DDE instructions, and fixes `[Content_Types].xml`, so the result is a
//! valid macro-free package (docm → docx). Parts it does not change are
//! copied compressed, byte for byte.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{Reader, Writer, XmlVersion};

use crate::formats::common::xml::{attr, filter_elements, local_name, xml_error};
use crate::formats::common::{
    Activity, Disarmed, FormatError, Inspection, Item, Package, field_activity, is_dde_formula,
};
use crate::identify::{FileType, identify};
use crate::limits::Budget;
use crate::vocab::FindingKind;

const REL_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const CONTENT_TYPES: &str = "[Content_Types].xml";

/// Macro-enabled main content types and their macro-free equivalents.
const MACRO_FREE: [(&str, &str); 9] = [
    (
        "application/vnd.ms-word.document.macroEnabled.main+xml",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml",
    ),
    (
        "application/vnd.ms-word.template.macroEnabledTemplate.main+xml",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
    ),
    (
        "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    ),
    (
        "application/vnd.ms-excel.template.macroEnabled.main+xml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    ),
    (
        "application/vnd.ms-excel.addin.macroEnabled.main+xml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
    ),
    (
        "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
    ),
    (
        "application/vnd.ms-powerpoint.slideshow.macroEnabled.main+xml",
        "application/vnd.openxmlformats-officedocument.presentationml.slideshow.main+xml",
    ),
    (
        "application/vnd.ms-powerpoint.template.macroEnabled.main+xml",
        "application/vnd.openxmlformats-officedocument.presentationml.template.main+xml",
    ),
    (
        "application/vnd.ms-powerpoint.addin.macroEnabled.main+xml",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
    ),
];

/// Embedded files that are documents or pictures in their own right: kept,
/// and inspected like archive members. Anything else embedded is an object
/// that can run (OLE packages, equation editor objects, ...).
fn is_plain_embedding(t: FileType) -> bool {
    use FileType::*;
    matches!(
        t,
        Docx | Xlsx | Pptx | Xlsb | Ooxml | Png | Jpeg | Gif | Bmp | Tiff | Pdf
    )
}

/// What is active in a package, and how to take it out.
#[derive(Debug, Default)]
struct Plan {
    /// What inspection reports: items, embedded documents, VBA source.
    found: Inspection,
    /// Parts to drop, by lower-case name.
    remove: BTreeSet<String>,
    /// Relationship ids to drop, per `.rels` part (lower-case name).
    drop_rels: BTreeMap<String, BTreeSet<String>>,
    /// Word parts with DDE fields to blank.
    active_fields: BTreeSet<String>,
    /// Worksheets with DDE formulas to drop.
    dde_formulas: BTreeSet<String>,
    /// Parts already read, by exact name.
    read: BTreeMap<String, Vec<u8>>,
}

/// One relationship of a `.rels` part.
#[derive(Debug)]
struct Rel {
    id: String,
    kind: String,
    target: String,
    external: bool,
}

/// A package opened and planned: what is active, and how to take it out.
#[derive(Debug)]
pub(crate) struct Analysis<'a> {
    pkg: Package<'a>,
    plan: Plan,
}

/// Opens a package and plans its disarm.
pub(crate) fn analyze<'a>(
    bytes: &'a [u8],
    budget: &mut Budget,
) -> Result<Analysis<'a>, FormatError> {
    let mut pkg = Package::open(bytes, budget)?;
    let mut plan = Plan::default();
    let names = pkg.names.clone();
    // A part is what its declared content type says as much as what its
    // path says: a VBA project may sit anywhere under any name.
    let Some(ct_name) = pkg.by_lower.get(&CONTENT_TYPES.to_lowercase()).cloned() else {
        return Err(format!("no {CONTENT_TYPES}").into());
    };
    let ct_xml = pkg.read(&ct_name, budget)?;
    let declared = ContentTypes::parse(&ct_xml)?;

    for name in &names {
        let lower = name.to_lowercase();
        let base = lower.rsplit('/').next().unwrap_or(&lower);
        let ctype = declared.of(&lower);
        let what = if base == "vbaproject.bin"
            || base == "vbadata.xml"
            || base.starts_with("vbaprojectsignature")
            || base == "attachedtoolbars.bin"
            || ctype.contains("vbaproject")
            || ctype.contains("vbadata")
            || ctype.contains("attachedtoolbars")
        {
            Some((FindingKind::Macro, "VBA project"))
        } else if lower.contains("macrosheets/") || ctype.contains("macrosheet") {
            Some((FindingKind::Macro, "Excel 4.0 (XLM) macro sheet"))
        } else if lower.contains("dialogsheets/") || ctype.contains("dialogsheet") {
            Some((FindingKind::Macro, "Excel 5.0 dialog sheet"))
        } else if lower.contains("activex/") || ctype.contains("activex") {
            Some((FindingKind::EmbeddedObject, "ActiveX control"))
        } else {
            None
        };
        if let Some((kind, what)) = what {
            // Their own relationships go with them.
            if !base.ends_with(".rels") {
                let mut detail = format!("{what}: {name}");
                if base == "vbaproject.bin" || ctype.contains("vbaproject") {
                    let project = pkg.read(name, budget)?;
                    if let Some(vba) = cfb::CompoundFile::open(Cursor::new(project.as_slice()))
                        .ok()
                        .and_then(|mut cf| crate::formats::ole::vba::read_projects(&mut cf))
                    {
                        detail = format!("{detail}; {}", vba.summary);
                        plan.found.scripts.push(vba.source);
                    }
                }
                plan.found.items.push(Item { kind, detail });
            }
            plan.remove.insert(lower);
            continue;
        }
        if lower.starts_with("customui/") {
            if !base.ends_with(".rels") && base.ends_with(".xml") {
                let xml = pkg.read(name, budget)?;
                if let Some(cb) = ui_callback(&xml) {
                    plan.found.items.push(Item {
                        kind: FindingKind::Macro,
                        detail: format!("custom UI calls macros ({cb}): {name}"),
                    });
                }
            }
            // Ribbon customizations are only ever there for macros.
            plan.remove.insert(lower);
            continue;
        }
        // Embedded objects by path, by declared type, or by content: OLE2
        // data is an object wherever it sits, whatever it is called.
        let sniffed_ole = !base.ends_with(".xml")
            && !base.ends_with(".rels")
            && !ctype.starts_with("image/")
            && pkg.starts_with(name, OLE_MAGIC)?;
        if (lower.contains("/embeddings/") || ctype.contains("oleobject") || sniffed_ole)
            && !base.ends_with(".rels")
        {
            let data = pkg.read(name, budget)?;
            let t = identify(&data);
            if is_plain_embedding(t) {
                plan.found.embedded.push((name.clone(), data));
            } else {
                plan.found.items.push(Item {
                    kind: FindingKind::EmbeddedObject,
                    detail: format!("embedded {} object: {name}", t.name()),
                });
                plan.remove.insert(lower);
            }
            continue;
        }
        if lower.starts_with("xl/externallinks/") && base.ends_with(".xml") {
            let xml = pkg.read(name, budget)?;
            if let Some(link) = dde_link(&xml)? {
                plan.found.items.push(Item {
                    kind: FindingKind::Dde,
                    detail: format!("DDE link {link}: {name}"),
                });
                plan.remove.insert(lower);
            }
            continue;
        }
        if lower.starts_with("word/") && base.ends_with(".xml") {
            let xml = pkg.read(name, budget)?;
            let fields = active_fields(&xml)?;
            for (f, (kind, why)) in &fields {
                let detail = match (kind, *why) {
                    (FindingKind::Dde, "DDE") => format!("DDE field {}: {name}", clip(f)),
                    _ => format!("field {why}: {}: {name}", clip(f)),
                };
                plan.found.items.push(Item::new(*kind, detail));
            }
            if !fields.is_empty() {
                plan.active_fields.insert(lower);
            }
            // Kept: disarm may need it again, and reading it twice costs more.
            plan.read.insert(name.clone(), xml);
            continue;
        }
        if lower.starts_with("xl/worksheets/") && base.ends_with(".xml") {
            let xml = pkg.read(name, budget)?;
            // (`'` may be written `&apos;`: look for the pipe alone.)
            if memchr::memchr(b'|', &xml).is_some() {
                let formulas = dde_formulas(&xml, false)?.0;
                for f in &formulas {
                    plan.found.items.push(Item {
                        kind: FindingKind::Dde,
                        detail: format!("DDE formula ={}: {name}", clip(f)),
                    });
                }
                if !formulas.is_empty() {
                    plan.dde_formulas.insert(lower);
                    plan.read.insert(name.clone(), xml);
                }
            }
        }
    }

    // A part's relationships live in `dir/_rels/base.rels`; they go with it.
    for name in &names {
        let lower = name.to_lowercase();
        if let Some(source) = rels_source(&lower)
            && plan.remove.contains(&source)
        {
            plan.remove.insert(lower);
        }
    }

    for name in &names {
        let lower = name.to_lowercase();
        let Some(source) = rels_source(&lower) else {
            continue;
        };
        if plan.remove.contains(&lower) {
            continue;
        }
        let xml = pkg.read(name, budget)?;
        let rels = parse_rels(&xml).map_err(|e| format!("{name}: {e}"))?;
        let dir = source.rsplit_once('/').map_or("", |(d, _)| d);
        let mut dropped = BTreeSet::new();
        for rel in &rels {
            let kind = rel.kind.rsplit('/').next().unwrap_or(&rel.kind);
            if rel.external {
                if let Some(why) = external_is_active(kind, &rel.target) {
                    plan.found.items.push(Item {
                        kind: FindingKind::ExternalReference,
                        detail: format!("{why} → {}: {name}", clip(&rel.target)),
                    });
                    dropped.insert(rel.id.clone());
                }
                continue;
            }
            let target = resolve(dir, &rel.target);
            if let Some(exact) = pkg.by_lower.get(&target).cloned()
                && !plan.remove.contains(&target)
                && !plan.found.embedded.iter().any(|(n, _)| *n == exact)
                && let Some(item) = object_target(&mut pkg, kind, &exact, budget, &mut plan)?
            {
                plan.found.items.push(item);
                plan.remove.insert(target.clone());
            }
            if plan.remove.contains(&target)
                || kind.eq_ignore_ascii_case("vbaProject")
                || kind.eq_ignore_ascii_case("extensibility")
            {
                dropped.insert(rel.id.clone());
            }
        }
        if !dropped.is_empty() {
            plan.drop_rels.insert(lower, dropped);
        }
        plan.read.insert(name.clone(), xml);
    }

    plan.read.insert(ct_name, ct_xml);
    pkg.refuse_unread_dtds(budget)?;
    Ok(Analysis { pkg, plan })
}

/// A part a relationship names as code or an object, wherever it sits and
/// whatever it is called: what to report when it goes, or `None` when it
/// stays (a document or picture embedded as a package, then inspected like
/// an archive member, or a relationship of no such kind).
fn object_target(
    pkg: &mut Package<'_>,
    kind: &str,
    exact: &str,
    budget: &mut Budget,
    plan: &mut Plan,
) -> Result<Option<Item>, FormatError> {
    let code = [
        "vbaProject",
        "wordVbaData",
        "attachedToolbars",
        "keyMapCustomizations",
        "activeXControl",
        "activeXControlBinary",
    ];
    if code.iter().any(|c| kind.eq_ignore_ascii_case(c)) {
        let what = if kind.to_ascii_lowercase().starts_with("activex") {
            FindingKind::EmbeddedObject
        } else {
            FindingKind::Macro
        };
        return Ok(Some(Item::new(what, format!("{kind} part: {exact}"))));
    }
    // An altChunk (`aFChunk`) is imported into the document when it opens,
    // as whatever it is (RTF with objects, MHT with script, HTML).
    let imported = kind.eq_ignore_ascii_case("aFChunk");
    if !(imported || kind.eq_ignore_ascii_case("oleObject") || kind.eq_ignore_ascii_case("package"))
    {
        return Ok(None);
    }
    let data = pkg.read(exact, budget)?;
    let t = identify(&data);
    if imported {
        return Ok(Some(Item::new(
            FindingKind::EmbeddedObject,
            format!("{} imported on opening (altChunk): {exact}", t.name()),
        )));
    }
    if is_plain_embedding(t) {
        plan.found.embedded.push((exact.to_owned(), data));
        return Ok(None);
    }
    Ok(Some(Item::new(
        FindingKind::EmbeddedObject,
        format!("embedded {} object: {exact}", t.name()),
    )))
}

/// The compound-file signature: OLE objects, VBA projects, legacy documents.
const OLE_MAGIC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// `[Content_Types].xml`: the content type of each part, by override or by
/// the default for its extension, lower case.
#[derive(Debug, Default)]
struct ContentTypes {
    overrides: BTreeMap<String, String>,
    defaults: BTreeMap<String, String>,
}

impl ContentTypes {
    fn parse(xml: &[u8]) -> Result<Self, String> {
        let mut types = ContentTypes::default();
        let mut reader = Reader::from_reader(xml);
        loop {
            match reader.read_event().map_err(xml_error)? {
                Event::Start(e) | Event::Empty(e) => {
                    let ct = attr(&e, "ContentType").unwrap_or_default().to_lowercase();
                    match local_name(&e) {
                        "Override" => {
                            let part = attr(&e, "PartName").unwrap_or_default();
                            types.overrides.insert(resolve("", &part), ct);
                        }
                        "Default" => {
                            let ext = attr(&e, "Extension").unwrap_or_default();
                            types.defaults.insert(ext.to_lowercase(), ct);
                        }
                        _ => {}
                    }
                }
                Event::Eof => return Ok(types),
                _ => {}
            }
        }
    }

    /// The declared type of a part (lower-case name), or "".
    fn of(&self, lower: &str) -> &str {
        if let Some(ct) = self.overrides.get(lower) {
            return ct;
        }
        let ext = lower.rsplit_once('.').map_or("", |(_, e)| e);
        self.defaults.get(ext).map_or("", String::as_str)
    }
}

impl Analysis<'_> {
    /// What inspection reports.
    pub(crate) fn found(&self) -> &Inspection {
        &self.plan.found
    }

    /// The embedded documents, handed over for inspection (disarm keeps
    /// them as they are).
    pub(crate) fn take_embedded(&mut self) -> Vec<(String, Vec<u8>)> {
        std::mem::take(&mut self.plan.found.embedded)
    }

    /// The package rebuilt according to the plan, with a line per change.
    pub(crate) fn disarm(self, budget: &mut Budget) -> Result<Disarmed, FormatError> {
        if self.plan.found.items.is_empty() {
            return Err(FormatError::Unsupported(
                "the active content is not in a part mugai can rebuild".into(),
            ));
        }
        let (bytes, removed) = rebuild(self.pkg, self.plan, budget)?;
        Ok(Disarmed { bytes, removed })
    }
}

fn rebuild(
    mut pkg: Package<'_>,
    plan: Plan,
    budget: &mut Budget,
) -> Result<(Vec<u8>, Vec<String>), FormatError> {
    let mut changed: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut log: Vec<String> = plan.found.items.iter().map(|i| i.detail.clone()).collect();

    // Relationships, then the elements in their source parts that used them.
    for (rels, ids) in &plan.drop_rels {
        let exact = &pkg.by_lower[rels];
        let xml = &plan.read[exact];
        changed.insert(exact.clone(), drop_relationships(xml, ids)?);
        let source = rels_source(rels).unwrap_or_default();
        if source.is_empty() || plan.remove.contains(&source) {
            continue;
        }
        let Some(source_exact) = pkg.by_lower.get(&source).cloned() else {
            continue;
        };
        if !source.ends_with(".xml") {
            // A binary part (xlsb) cannot be rewritten. It only refers to its
            // VBA project through the relationship itself; anything else it
            // refers to by id would dangle.
            let only_vba = plan.remove.iter().all(|r| {
                let base = r.rsplit('/').next().unwrap_or(r);
                base.starts_with("vbaproject") || base == "vbadata.xml"
            });
            if only_vba {
                continue;
            }
            return Err(FormatError::Unsupported(format!(
                "binary part {source_exact} refers to removed content"
            )));
        }
        let (xml, already_changed) = match changed.remove(&source_exact) {
            Some(x) => (x, true),
            None => match plan.read.get(&source_exact) {
                Some(x) => (x.clone(), false),
                None => (pkg.read(&source_exact, budget)?, false),
            },
        };
        // Most sources never mention the dropped ids (a document does not
        // refer to its VBA project): then the part is copied as it was.
        let mentioned = ids.iter().any(|id| {
            [format!("\"{id}\""), format!("'{id}'")]
                .iter()
                .any(|q| memchr::memmem::find(&xml, q.as_bytes()).is_some())
        });
        if mentioned {
            changed.insert(source_exact, drop_elements_using(&xml, ids)?);
        } else if already_changed {
            changed.insert(source_exact, xml);
        }
    }

    for part in &plan.active_fields {
        let exact = pkg.by_lower[part].clone();
        let xml = changed
            .remove(&exact)
            .unwrap_or_else(|| plan.read[&exact].clone());
        changed.insert(exact, blank_active_fields(&xml)?);
    }
    for part in &plan.dde_formulas {
        let exact = pkg.by_lower[part].clone();
        let xml = changed
            .remove(&exact)
            .unwrap_or_else(|| plan.read[&exact].clone());
        changed.insert(exact, dde_formulas(&xml, true)?.1);
    }
    if plan.remove.iter().any(|r| r.contains("macrosheets/"))
        && let Some(exact) = pkg.by_lower.get("xl/workbook.xml").cloned()
    {
        let xml = match changed.remove(&exact) {
            Some(x) => x,
            None => pkg.read(&exact, budget)?,
        };
        let (xml, names) = drop_auto_names(&xml)?;
        for n in names {
            log.push(format!(
                "defined name {n} (runs a macro on opening): {exact}"
            ));
        }
        changed.insert(exact, xml);
    }

    let ct_name = pkg.by_lower[&CONTENT_TYPES.to_lowercase()].clone();
    let (ct, renamed) = fix_content_types(&plan.read[&ct_name], &plan.remove)?;
    if renamed {
        log.push("main part declared macro-free".into());
    }
    changed.insert(ct_name, ct);

    let out = pkg.rewrite(|name| plan.remove.contains(&name.to_lowercase()), &changed)?;
    Ok((out, log))
}

/// Shortens evidence for a report line.
fn clip(s: &str) -> String {
    const MAX: usize = 200;
    let s = s.trim();
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        s.chars().take(MAX).chain(['…']).collect()
    }
}

/// `word/_rels/document.xml.rels` → `word/document.xml`; `_rels/.rels` → ``.
fn rels_source(lower: &str) -> Option<String> {
    let stripped = lower.strip_suffix(".rels")?;
    let (dir, base) = stripped.rsplit_once('/')?;
    let parent = dir.strip_suffix("_rels")?;
    Some(format!("{parent}{base}"))
}

/// A relationship target resolved against its source's folder, lower case,
/// without a leading slash.
fn resolve(dir: &str, target: &str) -> String {
    let target = target.split('#').next().unwrap_or_default();
    let joined = match target.strip_prefix('/') {
        Some(abs) => abs.to_owned(),
        None if dir.is_empty() => target.to_owned(),
        None => format!("{dir}/{target}"),
    };
    let mut parts: Vec<&str> = Vec::new();
    for seg in joined.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/").to_lowercase()
}

/// Why an external relationship is active, or `None` for a plain link.
fn external_is_active(kind: &str, target: &str) -> Option<String> {
    if !kind.eq_ignore_ascii_case("hyperlink") {
        return Some(format!("external {kind}"));
    }
    let t = target.trim_start();
    let scheme = t
        .split_once(':')
        .map(|(s, _)| s.to_ascii_lowercase())
        .filter(|s| {
            s.len() > 1
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        });
    match scheme.as_deref() {
        None if t.starts_with("\\\\") || t.starts_with("//") => {
            Some("hyperlink to a network share".into())
        }
        None | Some("http" | "https" | "mailto" | "ftp") => None,
        Some(s) => Some(format!("hyperlink with {s}: scheme")),
    }
}

fn parse_rels(xml: &[u8]) -> Result<Vec<Rel>, String> {
    let mut reader = Reader::from_reader(xml);
    let mut rels = Vec::new();
    loop {
        match reader.read_event().map_err(xml_error)? {
            Event::Start(e) | Event::Empty(e) if local_name(&e) == "Relationship" => {
                rels.push(Rel {
                    id: attr(&e, "Id").unwrap_or_default(),
                    kind: attr(&e, "Type").unwrap_or_default(),
                    target: attr(&e, "Target").unwrap_or_default(),
                    external: attr(&e, "TargetMode")
                        .is_some_and(|m| m.eq_ignore_ascii_case("External")),
                });
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(rels)
}

fn drop_relationships(xml: &[u8], ids: &BTreeSet<String>) -> Result<Vec<u8>, String> {
    filter_elements(xml, |_, e| {
        local_name(e) == "Relationship" && attr(e, "Id").is_some_and(|id| ids.contains(&id))
    })
}

/// Leaves out every element with an attribute in the relationships
/// namespace (`r:id`, `r:embed`, `r:link`, ...) naming a dropped id.
fn drop_elements_using(xml: &[u8], ids: &BTreeSet<String>) -> Result<Vec<u8>, String> {
    filter_elements(xml, |reader, e| {
        e.attributes().flatten().any(|a| {
            matches!(
                reader.resolver().resolve_attribute(a.key).0,
                ResolveResult::Bound(ns) if ns.0 == REL_NS
            ) && a
                .normalized_value(XmlVersion::Implicit1_0)
                .is_ok_and(|v| ids.contains(v.as_ref()))
        })
    })
}

/// The first macro callback attribute of a custom UI part.
fn ui_callback(xml: &[u8]) -> Option<&'static str> {
    const CALLBACKS: [&str; 8] = [
        "onLoad=",
        "onAction=",
        "onChange=",
        "getEnabled=",
        "getVisible=",
        "getLabel=",
        "getContent=",
        "loadImage=",
    ];
    CALLBACKS
        .into_iter()
        .find(|c| memchr::memmem::find(xml, c.as_bytes()).is_some())
}

/// `service|topic` of an external link that is a DDE link.
fn dde_link(xml: &[u8]) -> Result<Option<String>, String> {
    let mut reader = Reader::from_reader(xml);
    loop {
        match reader.read_event().map_err(xml_error)? {
            Event::Start(e) | Event::Empty(e) if local_name(&e) == "ddeLink" => {
                let service = attr(&e, "ddeService").unwrap_or_default();
                let topic = attr(&e, "ddeTopic").unwrap_or_default();
                return Ok(Some(clip(&format!("{service}|{topic}"))));
            }
            Event::Eof => return Ok(None),
            _ => {}
        }
    }
}

/// Text of a text event, entity references resolved.
fn push_text(out: &mut String, event: &Event<'_>) {
    match event {
        Event::Text(t) => out.push_str(&t.xml10_content()),
        Event::CData(t) => out.push_str(t),
        Event::GeneralRef(r) => {
            let name: &str = r;
            match name {
                "quot" => out.push('"'),
                "amp" => out.push('&'),
                "apos" => out.push('\''),
                "lt" => out.push('<'),
                "gt" => out.push('>'),
                _ => {
                    if let Ok(Some(c)) = r.resolve_char_ref() {
                        out.push(c);
                    }
                }
            }
        }
        _ => {}
    }
}

/// Instructions of the active fields (DDE, remote INCLUDEPICTURE and the
/// like) in a WordprocessingML part: simple fields (`w:fldSimple w:instr`)
/// and complex ones, whose instruction may be split over many
/// `w:instrText` runs to hide it.
fn active_fields(xml: &[u8]) -> Result<Vec<(String, Activity)>, String> {
    if memchr::memmem::find(xml, b"instrText").is_none()
        && memchr::memmem::find(xml, b"fldSimple").is_none()
    {
        return Ok(Vec::new());
    }
    Ok(scan_fields(xml)?
        .into_iter()
        .filter_map(|f| f.activity().map(|a| (f.instr, a)))
        .collect())
}

/// One field of a WordprocessingML part.
struct Field {
    instr: String,
    /// A field nested at the start of its instruction gives it its kind.
    kind_from_nested: bool,
}

impl Field {
    fn activity(&self) -> Option<Activity> {
        field_activity(&self.instr, self.kind_from_nested)
    }
}

/// Every field, in document order of the fields' starts.
fn scan_fields(xml: &[u8]) -> Result<Vec<Field>, String> {
    let mut reader = Reader::from_reader(xml);
    let mut fields: Vec<String> = Vec::new();
    // The field nested first in each field's instruction, when nothing
    // came before it there.
    let mut first_child: Vec<Option<usize>> = Vec::new();
    // Indices into `fields` of the complex fields open at this point.
    let mut open: Vec<usize> = Vec::new();
    let mut in_instr = false;
    loop {
        let event = reader.read_event().map_err(xml_error)?;
        match &event {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) => match local_name(e) {
                "fldSimple" => {
                    fields.push(attr(e, "instr").unwrap_or_default());
                    first_child.push(None);
                }
                "fldChar" => match attr(e, "fldCharType").as_deref() {
                    Some("begin") => {
                        if let Some(&outer) = open.last()
                            && fields[outer].trim().is_empty()
                            && first_child[outer].is_none()
                        {
                            first_child[outer] = Some(fields.len());
                        }
                        open.push(fields.len());
                        fields.push(String::new());
                        first_child.push(None);
                    }
                    Some("end") => {
                        open.pop();
                    }
                    _ => {}
                },
                "instrText" if matches!(event, Event::Start(_)) => in_instr = true,
                _ => {}
            },
            Event::End(e) if e.local_name().as_ref() == "instrText" => in_instr = false,
            _ if in_instr => {
                if let Some(&i) = open.last() {
                    push_text(&mut fields[i], &event);
                }
            }
            _ => {}
        }
    }
    // A field that starts the instruction of the one around it gives that
    // one its kind when Word runs it; one blanked by disarm gives nothing.
    // Inner fields first, so that the mark climbs through every level.
    let mut nested = vec![false; fields.len()];
    for i in (0..fields.len()).rev() {
        nested[i] = first_child[i].is_some_and(|c| nested[c] || !fields[c].trim().is_empty());
    }
    Ok(fields
        .into_iter()
        .zip(nested)
        .map(|(instr, kind_from_nested)| Field {
            instr,
            kind_from_nested,
        })
        .collect())
}

/// Blanks the instruction of every active field, and of the fields nested
/// in it; the field's last result (the text shown) stays.
fn blank_active_fields(xml: &[u8]) -> Result<Vec<u8>, String> {
    let dde: Vec<bool> = scan_fields(xml)?
        .iter()
        .map(|f| f.activity().is_some())
        .collect();
    let mut reader = Reader::from_reader(xml);
    let mut writer = Writer::new(Vec::with_capacity(xml.len()));
    let mut next = 0usize;
    let mut open: Vec<usize> = Vec::new();
    let mut in_instr = false;
    loop {
        let event = reader.read_event().map_err(xml_error)?;
        match &event {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) if local_name(e) == "fldSimple" => {
                let is_dde = dde.get(next).copied().unwrap_or(true);
                next += 1;
                if is_dde {
                    let mut blank = BytesStart::new(e.name().0.to_owned());
                    blank.extend_attributes(
                        e.attributes()
                            .flatten()
                            .filter(|a| !a.key.as_ref().ends_with("instr")),
                    );
                    blank.push_attribute(("w:instr", ""));
                    let rebuilt = match event {
                        Event::Start(_) => Event::Start(blank),
                        _ => Event::Empty(blank),
                    };
                    writer.write_event(rebuilt).map_err(xml_error)?;
                    continue;
                }
            }
            Event::Start(e) | Event::Empty(e) if local_name(e) == "fldChar" => {
                match attr(e, "fldCharType").as_deref() {
                    Some("begin") => {
                        open.push(next);
                        next += 1;
                    }
                    Some("end") => {
                        open.pop();
                    }
                    _ => {}
                }
            }
            Event::Start(e) if local_name(e) == "instrText" => in_instr = true,
            Event::End(e) if e.local_name().as_ref() == "instrText" => in_instr = false,
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_)
                if in_instr && open.iter().any(|&i| dde.get(i).copied().unwrap_or(true)) =>
            {
                continue;
            }
            _ => {}
        }
        writer.write_event(event).map_err(xml_error)?;
    }
    Ok(writer.into_inner())
}

/// DDE formulas in a worksheet; with `rewrite`, the sheet without them (the
/// cached values stay).
fn dde_formulas(xml: &[u8], rewrite: bool) -> Result<(Vec<String>, Vec<u8>), String> {
    let mut reader = Reader::from_reader(xml);
    let mut found = Vec::new();
    let mut in_f = false;
    let mut text = String::new();
    loop {
        let event = reader.read_event().map_err(xml_error)?;
        match &event {
            Event::Eof => break,
            Event::Start(e) if local_name(e) == "f" => {
                in_f = true;
                text.clear();
            }
            Event::End(e) if e.local_name().as_ref() == "f" => {
                in_f = false;
                if is_dde_formula(&text) {
                    found.push(text.clone());
                }
            }
            _ if in_f => push_text(&mut text, &event),
            _ => {}
        }
    }
    if !rewrite || found.is_empty() {
        return Ok((found, Vec::new()));
    }
    let mut text = String::new();
    let mut reader = Reader::from_reader(xml);
    let mut held: Vec<Event<'_>> = Vec::new();
    let mut writer = Writer::new(Vec::with_capacity(xml.len()));
    loop {
        let event = reader.read_event().map_err(xml_error)?;
        match &event {
            Event::Eof => break,
            Event::Start(e) if local_name(e) == "f" => {
                text.clear();
                held.push(event);
                continue;
            }
            Event::End(e) if e.local_name().as_ref() == "f" && !held.is_empty() => {
                held.push(event);
                if !is_dde_formula(&text) {
                    for e in held.drain(..) {
                        writer.write_event(e).map_err(xml_error)?;
                    }
                }
                held.clear();
                continue;
            }
            _ if !held.is_empty() => {
                push_text(&mut text, &event);
                held.push(event);
                continue;
            }
            _ => {}
        }
        writer.write_event(event).map_err(xml_error)?;
    }
    Ok((found, writer.into_inner()))
}

/// Drops `Auto_Open`-style defined names, which run an XLM macro on opening.
fn drop_auto_names(xml: &[u8]) -> Result<(Vec<u8>, Vec<String>), String> {
    let mut dropped = Vec::new();
    let out = filter_elements(xml, |_, e| {
        if local_name(e) != "definedName" {
            return false;
        }
        let name = attr(e, "name").unwrap_or_default();
        let lower = name.to_ascii_lowercase();
        let lower = lower.strip_prefix("_xlnm.").unwrap_or(&lower);
        let auto = [
            "auto_open",
            "auto_close",
            "auto_activate",
            "auto_deactivate",
        ]
        .iter()
        .any(|a| lower.starts_with(a));
        if auto {
            dropped.push(name);
        }
        auto
    })?;
    Ok((out, dropped))
}

/// `[Content_Types].xml` without overrides for removed parts, without the
/// VBA defaults, and with the main part declared macro-free. True when the
/// main part's type changed.
fn fix_content_types(xml: &[u8], removed: &BTreeSet<String>) -> Result<(Vec<u8>, bool), String> {
    let mut reader = Reader::from_reader(xml);
    let mut writer = Writer::new(Vec::with_capacity(xml.len()));
    let mut renamed = false;
    loop {
        let event = reader.read_event().map_err(xml_error)?;
        match &event {
            Event::Eof => break,
            Event::Start(e) | Event::Empty(e) if local_name(e) == "Override" => {
                let part = attr(e, "PartName").unwrap_or_default();
                if removed.contains(&resolve("", &part)) {
                    continue;
                }
                let ct = attr(e, "ContentType").unwrap_or_default();
                if let Some((_, free)) =
                    MACRO_FREE.iter().find(|(m, _)| m.eq_ignore_ascii_case(&ct))
                {
                    let mut fixed = BytesStart::new(e.name().0.to_owned());
                    fixed.extend_attributes(
                        e.attributes()
                            .flatten()
                            .filter(|a| a.key.as_ref() != "ContentType"),
                    );
                    fixed.push_attribute(("ContentType", *free));
                    renamed = true;
                    writer.write_event(Event::Empty(fixed)).map_err(xml_error)?;
                    if matches!(event, Event::Start(_)) {
                        reader.read_to_end(e.name()).map_err(xml_error)?;
                    }
                    continue;
                }
            }
            Event::Start(e) | Event::Empty(e) if local_name(e) == "Default" => {
                let ct = attr(e, "ContentType")
                    .unwrap_or_default()
                    .to_ascii_lowercase();
                if ct.contains("vbaproject") {
                    continue;
                }
            }
            _ => {}
        }
        writer.write_event(event).map_err(xml_error)?;
    }
    Ok((writer.into_inner(), renamed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Limits;

    /// A clean docx from the corpus with `extra` parts added and the
    /// content types and document relationships replaced.
    fn docx_with(extra: &[(&str, &[u8])], types: &str, rels: &str) -> Vec<u8> {
        use std::io::{Read, Write};
        let base = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../samples/files/tk_testWORD.docx"
        ))
        .expect("sample");
        let mut zip = zip::ZipArchive::new(Cursor::new(base)).expect("zip");
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default();
        for i in 0..zip.len() {
            let mut f = zip.by_index(i).expect("member");
            let name = f.name().expect("name").into_owned();
            let mut data = Vec::new();
            f.read_to_end(&mut data).expect("read");
            let data = match name.as_str() {
                "[Content_Types].xml" => String::from_utf8(data)
                    .expect("utf-8")
                    .replace("</Types>", &format!("{types}</Types>"))
                    .into_bytes(),
                "word/_rels/document.xml.rels" => String::from_utf8(data)
                    .expect("utf-8")
                    .replace("</Relationships>", &format!("{rels}</Relationships>"))
                    .into_bytes(),
                _ => data,
            };
            out.start_file(name, options).expect("start");
            out.write_all(&data).expect("write");
        }
        for (name, data) in extra {
            out.start_file(*name, options).expect("start");
            out.write_all(data).expect("write");
        }
        out.finish().expect("finish").into_inner()
    }

    fn found(docx: &[u8]) -> Vec<(FindingKind, String)> {
        let mut budget = Budget::new(&Limits::default());
        analyze(docx, &mut budget)
            .expect("opens")
            .found()
            .items
            .iter()
            .map(|i| (i.kind, i.detail.clone()))
            .collect()
    }

    fn assert_found(docx: &[u8], kind: FindingKind, naming: &str) {
        let items = found(docx);
        assert!(
            items.iter().any(|(k, d)| *k == kind && d.contains(naming)),
            "no {kind} naming {naming}: {items:?}"
        );
    }

    /// Code and objects are found by content type, relationship and
    /// content, not only at their usual paths.
    #[test]
    fn parts_away_from_the_usual_paths() {
        let ole = [OLE_MAGIC, &[0u8; 504]].concat();
        let vba_by_type = docx_with(
            &[("word/settingsData.bin", &ole)],
            r#"<Override PartName="/word/settingsData.bin" ContentType="application/vnd.ms-office.vbaProject"/>"#,
            "",
        );
        assert_found(&vba_by_type, FindingKind::Macro, "settingsData.bin");
        let ole_as_picture = docx_with(
            &[("word/media/image9.png", &ole)],
            "",
            r#"<Relationship Id="rIdX" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/oleObject" Target="media/image9.png"/>"#,
        );
        assert_found(&ole_as_picture, FindingKind::EmbeddedObject, "image9.png");
        let alt_chunk = docx_with(
            &[(
                "word/afchunk.rtf",
                b"{\\rtf1 {\\object\\objemb{\\*\\objdata 0105}}}",
            )],
            r#"<Default Extension="rtf" ContentType="application/rtf"/>"#,
            r#"<Relationship Id="rIdA" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/aFChunk" Target="afchunk.rtf"/>"#,
        );
        assert_found(&alt_chunk, FindingKind::EmbeddedObject, "altChunk");
        let loose_ole = docx_with(&[("customXml/item9.bin", &ole)], "", "");
        assert_found(&loose_ole, FindingKind::EmbeddedObject, "item9.bin");
        // Disarmed, none of it is left.
        for docx in [vba_by_type, ole_as_picture, alt_chunk, loose_ole] {
            let mut budget = Budget::new(&Limits::default());
            let out = analyze(&docx, &mut budget)
                .expect("opens")
                .disarm(&mut budget)
                .expect("disarms");
            assert!(found(&out.bytes).is_empty(), "{:?}", found(&out.bytes));
        }
        assert!(found(&docx_with(&[], "", "")).is_empty(), "the clean base");
    }

    #[test]
    fn a_dtd_in_a_part_nobody_reads_is_refused() {
        let dtd = docx_with(
            &[(
                "customXml/item1.xml",
                b"<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;\">]><l>&b;</l>",
            )],
            "",
            "",
        );
        let mut budget = Budget::new(&Limits::default());
        let err = analyze(&dtd, &mut budget).expect_err("refused");
        assert!(err.to_string().contains("customXml/item1.xml"), "{err}");
    }

    #[test]
    fn a_dtd_in_a_part_is_refused() {
        let dtd = docx_with(
            &[(
                "word/glossary.xml",
                b"<?xml version=\"1.0\"?><!DOCTYPE g [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><g>&x;</g>",
            )],
            "",
            "",
        );
        let mut budget = Budget::new(&Limits::default());
        let err = analyze(&dtd, &mut budget).expect_err("refused");
        assert!(err.to_string().contains("DTD"), "{err}");
    }

    #[test]
    fn rels_sources_and_targets() {
        assert_eq!(
            rels_source("word/_rels/document.xml.rels").as_deref(),
            Some("word/document.xml")
        );
        assert_eq!(rels_source("_rels/.rels").as_deref(), Some(""));
        assert_eq!(rels_source("word/document.xml"), None);
        assert_eq!(resolve("word", "vbaProject.bin"), "word/vbaproject.bin");
        assert_eq!(resolve("xl/worksheets", "../media/a.png"), "xl/media/a.png");
        assert_eq!(
            resolve("word", "/customUI/customUI.xml"),
            "customui/customui.xml"
        );
    }

    #[test]
    fn external_targets() {
        assert!(external_is_active("hyperlink", "https://example.jp/").is_none());
        assert!(external_is_active("hyperlink", "mailto:a@example.jp").is_none());
        assert!(external_is_active("hyperlink", "report.xlsx").is_none());
        assert!(external_is_active("hyperlink", "ms-msdt:/id PCWDiagnostic").is_some());
        assert!(external_is_active("hyperlink", "\\\\evil\\share\\x").is_some());
        assert!(external_is_active("attachedTemplate", "https://evil.example/t.dotm").is_some());
        assert!(external_is_active("oleObject", "mhtml:http://x/!x-usc:http://x").is_some());
    }

    #[test]
    fn a_field_whose_kind_comes_from_a_nested_field_is_active() {
        let xml = r#"<w:document xmlns:w="w"><w:body><w:p>
<w:r><w:fldChar w:fldCharType="begin"/></w:r>
<w:r><w:fldChar w:fldCharType="begin"/></w:r>
<w:r><w:instrText>QUOTE 68 68 69 65 85 84 79</w:instrText></w:r>
<w:r><w:fldChar w:fldCharType="end"/></w:r>
<w:r><w:instrText> c:\windows\system32\cmd.exe &quot;/k calc&quot;</w:instrText></w:r>
<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>shown</w:t></w:r>
<w:r><w:fldChar w:fldCharType="end"/></w:r>
<w:r><w:fldChar w:fldCharType="begin"/></w:r>
<w:r><w:instrText> IF </w:instrText></w:r>
<w:r><w:fldChar w:fldCharType="begin"/></w:r>
<w:r><w:instrText>MERGEFIELD 区分</w:instrText></w:r>
<w:r><w:fldChar w:fldCharType="end"/></w:r>
<w:r><w:instrText> = "1" "甲" "乙"</w:instrText></w:r>
<w:r><w:fldChar w:fldCharType="end"/></w:r>
</w:p></w:body></w:document>"#;
        let xml = xml.as_bytes();
        let found = active_fields(xml).unwrap();
        assert_eq!(found.len(), 1, "only the built one: {found:?}");
        assert!(found[0].0.contains("cmd.exe"), "{found:?}");
        let clean = blank_active_fields(xml).unwrap();
        assert!(active_fields(&clean).unwrap().is_empty());
        let text = String::from_utf8(clean).unwrap();
        assert!(
            !text.contains("QUOTE") && !text.contains("cmd.exe"),
            "{text}"
        );
        assert!(
            text.contains("shown") && text.contains("MERGEFIELD"),
            "{text}"
        );
    }

    #[test]
    fn dde_fields_split_over_runs() {
        let xml = br#"<w:document xmlns:w="w"><w:body><w:p>
<w:r><w:fldChar w:fldCharType="begin"/></w:r>
<w:r><w:instrText xml:space="preserve"> DD</w:instrText></w:r>
<w:r><w:instrText>EAUTO c:\\windows\\system32\\cmd.exe &quot;/k calc&quot;</w:instrText></w:r>
<w:r><w:fldChar w:fldCharType="separate"/></w:r><w:r><w:t>shown</w:t></w:r>
<w:r><w:fldChar w:fldCharType="end"/></w:r>
<w:fldSimple w:instr=" PAGE "><w:r><w:t>1</w:t></w:r></w:fldSimple>
<w:fldSimple w:instr="DDE cmd x"><w:r><w:t>2</w:t></w:r></w:fldSimple>
<w:r><w:fldChar w:fldCharType="begin"/></w:r>
<w:r><w:instrText> INCLUDEPICTURE "\\198.51.100.7\s\a.png" \d</w:instrText></w:r>
<w:r><w:fldChar w:fldCharType="end"/></w:r>
</w:p></w:body></w:document>"#;
        let found = active_fields(xml).unwrap();
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(found[2].1.0, FindingKind::ExternalReference, "{found:?}");
        assert!(found[0].0.contains("cmd.exe \"/k calc\""), "{found:?}");
        let clean = blank_active_fields(xml).unwrap();
        assert!(active_fields(&clean).unwrap().is_empty());
        let text = String::from_utf8(clean).unwrap();
        assert!(text.contains("shown") && text.contains(" PAGE "), "{text}");
        assert!(!text.contains("calc"), "{text}");
    }

    #[test]
    fn dde_formulas_go_values_stay() {
        assert!(is_dde_formula("cmd|'/c calc'!A0"));
        assert!(is_dde_formula("SUM(1)+msexcel|'\\..\\..\\cmd.exe /c x'!''"));
        assert!(!is_dde_formula("\"a|'b\""));
        assert!(!is_dde_formula("IF(A1=\"x|'y'!\",1,0)"));
        let xml = br#"<worksheet><sheetData><row><c r="A1"><f>cmd|&apos;/c calc'!A0</f><v>0</v></c><c r="A2"><f>SUM(B1)</f><v>3</v></c></row></sheetData></worksheet>"#;
        let (found, out) = dde_formulas(xml, true).unwrap();
        assert_eq!(found.len(), 1);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            r#"<worksheet><sheetData><row><c r="A1"><v>0</v></c><c r="A2"><f>SUM(B1)</f><v>3</v></c></row></sheetData></worksheet>"#
        );
    }

    #[test]
    fn elements_using_dropped_relationships_go() {
        let xml = br#"<w:settings xmlns:w="w" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:attachedTemplate r:id="rId1"/><w:zoom w:percent="100"/><w:x r:id="rId2"><w:y/></w:x></w:settings>"#;
        let ids = BTreeSet::from(["rId1".to_owned(), "rId2".to_owned()]);
        let out = String::from_utf8(drop_elements_using(xml, &ids).unwrap()).unwrap();
        assert_eq!(
            out,
            r#"<w:settings xmlns:w="w" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:zoom w:percent="100"/></w:settings>"#
        );
    }

    #[test]
    fn content_types_become_macro_free() {
        let xml = br#"<Types><Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/><Override PartName="/word/vbaData.xml" ContentType="application/vnd.ms-word.vbaData+xml"/></Types>"#;
        let removed = BTreeSet::from(["word/vbadata.xml".to_owned()]);
        let (out, renamed) = fix_content_types(xml, &removed).unwrap();
        assert!(renamed);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            r#"<Types><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#
        );
    }
}
