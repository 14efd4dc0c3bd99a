//! PDF rebuild: the document is read object by object (object streams
//! expanded, the newest revision only, decrypted when no password is needed)
//! and written again without anything that acts on its own or carries a
//! file. Older revisions, object streams and encryption do not survive, so the
//! token scanner in `super` sees every name of the result.

use std::collections::HashSet;

use lopdf::{Dictionary, Document, LoadOptions, Object, ObjectId};

use crate::disarm::Tally;
use crate::limits::Budget;
use crate::policy::LinkMode;

/// Dictionary keys that are active content wherever they appear: the action
/// or file is dropped with the key.
const ACTIVE_KEYS: &[(&[u8], &str)] = &[
    (b"JS", "JavaScript"),
    (b"JavaScript", "JavaScript"),
    (b"AA", "additional actions (/AA)"),
    (b"EmbeddedFiles", "embedded files"),
    (b"EF", "embedded file"),
    (b"XFA", "XFA form"),
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
    // Containers of the old file: their members were read into `objects`.
    doc.objects
        .retain(|_, o| !matches!(type_of(o), Some(b"ObjStm" | b"XRef")));

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
    doc.renumber_objects();
    budget
        .check_time()
        .map_err(|e| e.describe(&budget.limits))?;

    let mut out = Vec::with_capacity(bytes.len());
    doc.save_to(&mut out)
        .map_err(|e| format!("the rebuilt PDF could not be written: {e}"))?;
    Ok((out, removed.lines()))
}

/// Opens a PDF within the budget: no stream inflates past what one archive
/// member may. `Ok` with `is_encrypted()` true means a password is needed.
pub(crate) fn load(bytes: &[u8], budget: &mut Budget) -> Result<Document, String> {
    let allowance = usize::try_from(budget.entry_allowance()).unwrap_or(usize::MAX);
    let options = LoadOptions {
        max_decompressed_size: Some(allowance),
        ..LoadOptions::default()
    };
    let doc = Document::load_mem_with_options(bytes, options)
        .map_err(|e| format!("unreadable PDF: {e}"))?;
    if doc.is_encrypted() && !doc.was_encrypted() {
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
                self.clean_dict(&mut s.dict, removed, depth)
            }
            Object::Array(items) => {
                items.retain(|o| !self.is_doomed(o));
                for o in items {
                    self.clean(o, removed, depth + 1)?;
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

fn type_of(o: &Object) -> Option<&[u8]> {
    match o {
        Object::Dictionary(d) => type_of_dict(d),
        Object::Stream(s) => type_of_dict(&s.dict),
        _ => None,
    }
}

fn type_of_dict(d: &Dictionary) -> Option<&[u8]> {
    match d.get(b"Type") {
        Ok(Object::Name(n)) => Some(n),
        _ => None,
    }
}
