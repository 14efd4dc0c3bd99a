//! PDF rebuild: the document is read object by object (object streams
//! expanded, the newest revision only, decrypted when no password is needed)
//! and written again without anything that acts on its own or carries a
//! file. Older revisions, object streams and encryption do not survive, so the
//! token scanner in `super` sees every name of the result.

use std::collections::HashSet;

use lopdf::{Dictionary, Document, LoadOptions, Object, ObjectId};

use crate::formats::common::Tally;
use crate::limits::Budget;
use crate::policy::LinkMode;

/// Dictionary keys that carry rich media; every key the inspector looks
/// for (`/JS`, `/AA`, `/EF`, `/XFA`, ...) goes as well, by `super::active_name`.
const ACTIVE_KEYS: &[(&[u8], &str)] = &[
    (b"RichMediaContent", "rich media (Flash)"),
    (b"RichMediaSettings", "rich media (Flash)"),
];

/// Action types (`/S`) that run code, submit, import or open something
/// outside the document.
const ACTIVE_ACTIONS: &[(&[u8], &str)] = &[
    (b"JavaScript", "JavaScript"),
    (b"Launch", "launch action"),
    (b"SubmitForm", "form submission"),
    (b"ImportData", "data import"),
    (b"GoToR", "remote go-to action"),
    (b"GoToE", "embedded go-to action"),
    (b"RichMediaExecute", "rich media (Flash)"),
    (b"Rendition", "media rendition"),
    (b"Movie", "movie action"),
    (b"Sound", "sound action"),
];

/// Annotation types (`/Subtype`) that carry files, media or 3D scripts.
const ACTIVE_ANNOTATIONS: &[(&[u8], &str)] = &[
    (b"FileAttachment", "file attachment annotation"),
    (b"RichMedia", "rich media (Flash)"),
    (b"Screen", "screen annotation"),
    (b"Movie", "movie annotation"),
    (b"Sound", "sound annotation"),
    (b"3D", "3D annotation"),
];

/// Deeper than the parser nests (100), so never reached on what it read.
const MAX_DEPTH: usize = 128;

/// Rebuilds a PDF without active content. Returns the new file and what was
/// taken out, a line each; an empty list means the document had nothing
/// active and was only rewritten.
pub(crate) fn rebuild(
    bytes: &[u8],
    links: LinkMode,
    budget: &mut Budget,
) -> Result<(Vec<u8>, Vec<String>), String> {
    let mut doc = load(bytes, budget)?;
    let mut removed = Tally::default();
    if doc.was_encrypted() {
        removed.add("encryption (opened without a password)");
    }
    doc.trailer.remove(b"Encrypt");
    doc.encryption_state = None;
    // Containers of the old file (their members were read into `objects`)
    // and the linearization dictionary: the writer leaves them out, so
    // they go first, and references to them become null.
    doc.objects
        .retain(|_, o| !matches!(o.type_name(), Ok(b"ObjStm" | b"XRef" | b"Linearized")));

    let doomed_ids: HashSet<ObjectId> = doc
        .objects
        .iter()
        .filter(|(_, o)| doomed(o, links).is_some())
        .map(|(id, _)| *id)
        .collect();
    let cleaner = Cleaner {
        doomed: &doomed_ids,
        links,
    };
    for (id, object) in doc.objects.iter_mut() {
        if doomed_ids.contains(id) {
            if let Some(what) = doomed(object, links) {
                removed.add(what);
            }
            *object = Object::Null;
        } else {
            cleaner.clean(object, &mut removed, 0)?;
        }
    }
    // What is left of an open action after the active ones went (a link,
    // a named action, a go-to with more to follow) still acts by itself.
    if runs_on_opening(&doc) {
        if let Ok(catalog) = doc.catalog_mut() {
            catalog.remove(b"OpenAction");
        }
        removed.add("action run on opening");
    }
    // A classic trailer and table: the same document written twice is the
    // same file (an xref stream would take a new object number each time).
    let stream_keys: Vec<Vec<u8>> = doc
        .trailer
        .iter()
        .map(|(k, _)| k.clone())
        .filter(|k| !matches!(k.as_slice(), b"Root" | b"Info" | b"ID"))
        .collect();
    for k in stream_keys {
        doc.trailer.remove(&k);
    }
    doc.reference_table.cross_reference_type = lopdf::xref::XrefType::CrossReferenceTable;
    cleaner.clean_dict(&mut doc.trailer, &mut removed, 0)?;
    doc.prune_objects();
    drop_dangling_references(&mut doc);
    doc.renumber_objects();
    if !doc.catalog().is_ok_and(|c| c.has(b"Pages")) {
        return Err("a PDF without a readable document catalog".into());
    }
    budget
        .check_time()
        .map_err(|e| e.describe(&budget.limits))?;

    let mut out = Vec::with_capacity(bytes.len());
    doc.save_to(&mut out)
        .map_err(|e| format!("the rebuilt PDF could not be written: {e}"))?;
    Ok((out, removed.lines()))
}

/// Opens a PDF within the budget: no stream inflates past what one archive
/// member may; an encrypted one must open without a password.
pub(crate) fn load(bytes: &[u8], budget: &mut Budget) -> Result<Document, String> {
    let allowance = usize::try_from(budget.entry_allowance()).unwrap_or(usize::MAX);
    let options = LoadOptions {
        max_decompressed_size: Some(allowance),
        ..LoadOptions::default()
    };
    let doc = Document::load_mem_with_options(bytes, options)
        .map_err(|e| format!("unreadable PDF: {e}"))?;
    // `is_encrypted` looks the dictionary up, and it is not loaded then.
    if doc.trailer.has(b"Encrypt") && !doc.was_encrypted() {
        return Err("encrypted PDF that needs a password".into());
    }
    if doc.objects.is_empty() {
        return Err("a PDF without objects".into());
    }
    Ok(doc)
}

struct Cleaner<'a> {
    /// Indirect objects that are active actions or annotations.
    doomed: &'a HashSet<ObjectId>,
    links: LinkMode,
}

impl Cleaner<'_> {
    fn clean(&self, object: &mut Object, removed: &mut Tally, depth: usize) -> Result<(), String> {
        if depth > MAX_DEPTH {
            return Err("PDF objects nested too deep".into());
        }
        match object {
            Object::Dictionary(d) => self.clean_dict(d, removed, depth),
            Object::Stream(s) => {
                if type_of_dict(&s.dict) == Some(b"EmbeddedFile") {
                    removed.add("embedded file");
                    *object = Object::Null;
                    return Ok(());
                }
                // Real object streams were expanded and dropped; a stream
                // that only names /ObjStm somewhere would be inflated by the
                // inspector as one, and nothing a reader draws looks so.
                if s.dict
                    .iter()
                    .any(|(k, v)| k == b"ObjStm" || matches!(v, Object::Name(n) if n == b"ObjStm"))
                {
                    removed.add("stream posing as an object stream");
                    *object = Object::Null;
                    return Ok(());
                }
                self.clean_dict(&mut s.dict, removed, depth)
            }
            Object::Array(items) => {
                items.retain(|o| !self.is_doomed(o));
                for o in items {
                    self.clean(o, removed, depth + 1)?;
                }
                Ok(())
            }
            // Anywhere else an active name means nothing to a reader, but
            // it is what the inspector looks for: it goes too.
            Object::Name(n) => {
                if let Some(what) = super::active_name(n) {
                    removed.add(what);
                    *object = Object::Null;
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }

    fn clean_dict(
        &self,
        d: &mut Dictionary,
        removed: &mut Tally,
        depth: usize,
    ) -> Result<(), String> {
        for (key, what) in ACTIVE_KEYS {
            if d.remove(key).is_some() {
                removed.add(what);
            }
        }
        let active: Vec<Vec<u8>> = d
            .iter()
            .filter(|(k, _)| super::active_name(k).is_some())
            .map(|(k, _)| k.clone())
            .collect();
        for key in active {
            d.remove(&key);
            removed.add(super::active_name(&key).unwrap_or("active name"));
        }
        // A direct action or annotation inside this dictionary goes with
        // its key (`/OpenAction << /S /JavaScript ... >>`, `/A 12 0 R`).
        let keys: Vec<Vec<u8>> = d
            .iter()
            .filter(|(_, v)| self.is_doomed(v))
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            if let Some(v) = d.remove(&key)
                && let Some(what) = doomed(&v, self.links)
            {
                removed.add(what);
            }
        }
        for (_, v) in d.iter_mut() {
            self.clean(v, removed, depth + 1)?;
        }
        Ok(())
    }

    fn is_doomed(&self, o: &Object) -> bool {
        match o {
            Object::Reference(id) => self.doomed.contains(id),
            other => doomed(other, self.links).is_some(),
        }
    }
}

/// References to objects that do not exist (or are null) become null, as a
/// reader reads them; left in place, renumbering would point them at other
/// objects.
fn drop_dangling_references(doc: &mut Document) {
    fn walk(o: &mut Object, live: &HashSet<ObjectId>, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        match o {
            Object::Reference(id) if !live.contains(id) => *o = Object::Null,
            Object::Array(items) => items.iter_mut().for_each(|i| walk(i, live, depth + 1)),
            Object::Dictionary(d) => d.iter_mut().for_each(|(_, v)| walk(v, live, depth + 1)),
            Object::Stream(s) => s
                .dict
                .iter_mut()
                .for_each(|(_, v)| walk(v, live, depth + 1)),
            _ => {}
        }
    }
    // A null object is not written: references to it are null too, and an
    // object that is only such a reference becomes null in turn.
    // Each round removes at least one object, so this ends.
    loop {
        doc.objects.retain(|_, o| !matches!(o, Object::Null));
        let live: HashSet<ObjectId> = doc.objects.keys().copied().collect();
        for o in doc.objects.values_mut() {
            walk(o, &live, 0);
        }
        for (_, v) in doc.trailer.iter_mut() {
            walk(v, &live, 0);
        }
        if !doc.objects.values().any(|o| matches!(o, Object::Null)) {
            break;
        }
    }
}

/// Whether the document acts by itself when opened: any open action but a
/// destination or a plain go-to within it.
fn runs_on_opening(doc: &Document) -> bool {
    let Ok(open) = doc.catalog().and_then(|c| c.get(b"OpenAction")) else {
        return false;
    };
    let action = match open {
        Object::Reference(id) => doc.get_object(*id).ok(),
        other => Some(other),
    };
    match action {
        // A destination: a page and a view.
        Some(Object::Array(_)) | Some(Object::Null) | None => false,
        Some(Object::Dictionary(a)) => {
            !matches!(a.get(b"S"), Ok(Object::Name(s)) if s == b"GoTo") || a.has(b"Next")
        }
        Some(_) => true,
    }
}

/// What an action or annotation dictionary is when it has to go.
fn doomed(o: &Object, links: LinkMode) -> Option<&'static str> {
    let d = match o {
        Object::Dictionary(d) => d,
        _ => return None,
    };
    if let Ok(Object::Name(s)) = d.get(b"S") {
        if let Some((_, what)) = ACTIVE_ACTIONS.iter().find(|(n, _)| n == s) {
            return Some(what);
        }
        if s == b"URI" && links == LinkMode::Defang {
            return Some("link (URI action)");
        }
    }
    if let Ok(Object::Name(s)) = d.get(b"Subtype")
        && let Some((_, what)) = ACTIVE_ANNOTATIONS.iter().find(|(n, _)| n == s)
    {
        return Some(what);
    }
    None
}

fn type_of_dict(d: &Dictionary) -> Option<&[u8]> {
    match d.get(b"Type") {
        Ok(Object::Name(n)) => Some(n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Limits;

    fn rebuilt(pdf: &[u8]) -> Vec<u8> {
        rebuild(pdf, LinkMode::Show, &mut Budget::new(&Limits::default()))
            .expect("rebuilt")
            .0
    }

    #[test]
    fn only_a_go_to_runs_on_opening() {
        let pdf = |open: &str| {
            format!(
                "%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R/OpenAction {open}>>endobj\n\
                 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n3 0 obj<</S/URI/URI(https://example.com/)>>endobj\n\
                 trailer<</Root 1 0 R>>"
            )
        };
        for (open, kept) in [
            ("<</S/URI/URI(https://example.com/)>>", false),
            ("3 0 R", false),
            ("<</S/GoTo/D[2 0 R/Fit]/Next 3 0 R>>", false),
            ("<</S/GoTo/D[2 0 R/Fit]>>", true),
            ("[2 0 R/Fit]", true),
        ] {
            let (out, removed) = rebuild(
                pdf(open).as_bytes(),
                LinkMode::Show,
                &mut Budget::new(&Limits::default()),
            )
            .expect("rebuilt");
            let text = String::from_utf8_lossy(&out);
            assert_eq!(text.contains("/OpenAction"), kept, "{open}: {text}");
            assert_eq!(
                removed.contains(&"action run on opening".to_owned()),
                !kept,
                "{open}: {removed:?}"
            );
        }
    }

    #[test]
    fn fuzz_pdf_807b5349_dangling_references_become_null() {
        let pdf = b"%PDF-\n5 0 obj<</Type/Catalog/Pages 30 0R>>\n30 0 obj<</Kids[3 0R2 0R]>>\n";
        let once = rebuilt(pdf);
        assert_eq!(rebuilt(&once), once);
        assert!(!String::from_utf8_lossy(&once).contains("3 0 R"));
        // An object that is only a reference to nothing is nothing.
        let chain =
            b"%PDF-\ntrailer<</Root 60 0 R>>\n60 0 obj<</Pages 19 0 R>>\n19 0 obj 5 0 R endobj";
        let once = rebuilt(chain);
        assert_eq!(rebuilt(&once), once);
    }

    #[test]
    fn active_actions_annotations_and_files_go_links_stay() {
        let pdf = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R/OpenAction<</S/JavaScript/JS(x)>>/Names<</EmbeddedFiles 5 0 R>>>>endobj\n\
2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n\
3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 10 10]/Annots[4 0 R 6 0 R]/AA<</O 7 0 R>>>>endobj\n\
4 0 obj<</Type/Annot/Subtype/FileAttachment/Rect[0 0 1 1]>>endobj\n\
5 0 obj<</Names[(a.exe)8 0 R]>>endobj\n\
6 0 obj<</Type/Annot/Subtype/Link/Rect[0 0 1 1]/A<</S/URI/URI(https://www.example.jp/)>>>>endobj\n\
7 0 obj<</S/Launch/F(cmd.exe)>>endobj\n\
8 0 obj<</Type/Filespec/EF<</F 9 0 R>>>>endobj\n\
9 0 obj<</Type/EmbeddedFile/Length 2>>stream\nMZ\nendstream endobj\n\
trailer<</Root 1 0 R>>";
        let (out, removed) =
            rebuild(pdf, LinkMode::Show, &mut Budget::new(&Limits::default())).unwrap();
        let text = String::from_utf8_lossy(&out);
        for gone in [
            "JavaScript",
            "EmbeddedFile",
            "FileAttachment",
            "Launch",
            "/AA",
            "MZ",
        ] {
            assert!(!text.contains(gone), "{gone} left in {text}");
        }
        assert!(text.contains("https://www.example.jp/"), "{text}");
        assert_eq!(
            removed,
            [
                "JavaScript",
                "additional actions (/AA)",
                "embedded file ×2",
                "embedded files",
                "file attachment annotation",
                "launch action"
            ]
        );
        let (out, removed) =
            rebuild(pdf, LinkMode::Defang, &mut Budget::new(&Limits::default())).unwrap();
        assert!(!String::from_utf8_lossy(&out).contains("example.jp"));
        assert!(
            removed.contains(&"link (URI action)".to_owned()),
            "{removed:?}"
        );
    }

    #[test]
    fn fuzz_pdf_0cec8a81_stray_active_names_go() {
        let once = rebuilt(
            b"%PDF-\n1 0 obj<<//EF/Type/Catalog/Pages 1 0 R/X[/ImportData]>>trailer<</Root 1 0R>>",
        );
        let text = String::from_utf8_lossy(&once);
        assert!(
            !text.contains("/EF") && !text.contains("ImportData"),
            "{text}"
        );
    }

    #[test]
    fn fuzz_pdf_dc05d153_streams_posing_as_object_streams_go() {
        let once = rebuilt(
            b"%PDF-\n1 0 obj<</Type/Catalog/Pages 1 0 R/X 2 0 R>>endobj\n2 0 obj<<//ObjStm/Length 3>>stream\nabc\nendstream endobj trailer<</Root 1 0 R>>",
        );
        assert!(!String::from_utf8_lossy(&once).contains("ObjStm"));
    }

    #[test]
    fn a_password_is_a_refusal() {
        let err = load(
            &std::fs::read(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../samples/files/pj_issue6010_1.pdf.in.zip"
            ))
            .ok()
            .and_then(|b| crate::input::decode_container(&b).ok())
            .expect("sample")
            .1,
            &mut Budget::new(&Limits::default()),
        )
        .unwrap_err();
        assert!(err.contains("password"), "{err}");
    }
}
