//! OpenDocument packages (odt, ods, odp): Basic macros, scripts, macro
//! bindings on events, and OLE objects; disarm removes them and fixes the
//! manifest. Charts and formulas embedded as ODF sub-documents stay.

use std::collections::{BTreeMap, BTreeSet};

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::formats::common::xml::{attr, filter_elements, local_name, xml_error};
use crate::formats::common::{Disarmed, FormatError, Inspection, Item, Package};
use crate::identify::{FileType, identify};
use crate::limits::Budget;
use crate::vocab::FindingKind;

/// Parts whose XML can bind macros to events.
const EVENT_PARTS: [&str; 2] = ["content.xml", "styles.xml"];
const MANIFEST: &str = "META-INF/manifest.xml";

/// What is active in a package, and how to take it out.
#[derive(Debug, Default)]
struct Plan {
    found: Inspection,
    /// Parts to drop, exact names.
    remove: BTreeSet<String>,
    /// Parts whose event bindings go.
    events: BTreeMap<String, Vec<u8>>,
}

/// Elements that bind a macro or script to an event, or hold a script.
fn is_event_binding(name: &str) -> bool {
    matches!(
        name,
        "scripts" | "event-listeners" | "event-listener" | "script"
    )
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
    for name in pkg.names.clone() {
        let lower = name.to_ascii_lowercase();
        if lower.starts_with("basic/") || lower.starts_with("scripts/") {
            if !name.ends_with('/') {
                plan.found.items.push(Item {
                    kind: FindingKind::Macro,
                    detail: format!("OpenDocument Basic or script: {name}"),
                });
            }
            plan.remove.insert(name);
            continue;
        }
        // OLE objects are stored as compound files named `Object N` (or
        // under `ObjectReplacements/` as their pictures, which stay).
        if lower.starts_with("object") && !lower.contains('/') {
            let data = pkg.read(&name, budget)?;
            if matches!(
                identify(&data),
                FileType::Ole | FileType::Doc | FileType::Xls | FileType::Ppt
            ) {
                plan.found.items.push(Item {
                    kind: FindingKind::EmbeddedObject,
                    detail: format!("embedded OLE object: {name}"),
                });
                plan.remove.insert(name);
            }
            continue;
        }
        if EVENT_PARTS.contains(&name.as_str()) {
            let xml = pkg.read(&name, budget)?;
            let bindings = event_bindings(&xml)?;
            for b in &bindings {
                plan.found.items.push(Item {
                    kind: FindingKind::Macro,
                    detail: format!("macro bound to an event ({b}): {name}"),
                });
            }
            if !bindings.is_empty() {
                plan.events.insert(name, xml);
            }
        }
    }
    pkg.refuse_unread_dtds(budget)?;
    Ok(Analysis { pkg, plan })
}

/// `event → script` of every event listener that names a script.
fn event_bindings(xml: &[u8]) -> Result<Vec<String>, String> {
    let mut reader = Reader::from_reader(xml);
    let mut found = Vec::new();
    loop {
        match reader.read_event().map_err(xml_error)? {
            Event::Start(e) | Event::Empty(e) if local_name(&e) == "event-listener" => {
                let event = attr(&e, "event-name").unwrap_or_default();
                let target = attr(&e, "href")
                    .or_else(|| attr(&e, "macro-name"))
                    .unwrap_or_default();
                found.push(format!(
                    "{event} → {}",
                    target.chars().take(200).collect::<String>()
                ));
            }
            Event::Start(e) | Event::Empty(e) if local_name(&e) == "script" => {
                let language = attr(&e, "language").unwrap_or_default();
                found.push(format!("inline {language} script"));
            }
            Event::Eof => return Ok(found),
            _ => {}
        }
    }
}

impl Analysis<'_> {
    /// What inspection reports.
    pub(crate) fn found(&self) -> &Inspection {
        &self.plan.found
    }

    /// The package rebuilt according to the plan, with a line per change.
    pub(crate) fn disarm(self, budget: &mut Budget) -> Result<Disarmed, FormatError> {
        if self.plan.found.items.is_empty() {
            return Err(FormatError::Unsupported(
                "nothing in this OpenDocument file could be taken out".into(),
            ));
        }
        rebuild(self.pkg, self.plan, budget)
    }
}

fn rebuild(mut pkg: Package<'_>, plan: Plan, budget: &mut Budget) -> Result<Disarmed, FormatError> {
    let mut changed = BTreeMap::new();
    for (name, xml) in &plan.events {
        let out = filter_elements(xml, |_, e| is_event_binding(local_name(e)))?;
        changed.insert(name.clone(), out);
    }
    if !plan.remove.is_empty()
        && let Some(manifest) = pkg.names.iter().find(|n| *n == MANIFEST).cloned()
    {
        let xml = pkg.read(&manifest, budget)?;
        let removed = &plan.remove;
        let out = filter_elements(&xml, |_, e| {
            local_name(e) == "file-entry"
                && attr(e, "full-path").is_some_and(|p| removed.contains(&p))
        })?;
        changed.insert(manifest, out);
    }
    let out = pkg.rewrite(|name| plan.remove.contains(name), &changed)?;
    Ok(Disarmed {
        bytes: out,
        removed: plan.found.items.into_iter().map(|i| i.detail).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_bindings_are_found_and_dropped() {
        let xml = r#"<office:document-content xmlns:office="o" xmlns:script="s" xmlns:xlink="x"><office:scripts><office:event-listeners><script:event-listener script:language="ooo:script" script:event-name="dom:load" xlink:href="vnd.sun.star.script:Standard.Module1.Main?language=Basic&amp;location=document"/></office:event-listeners></office:scripts><office:body><text:p>本文</text:p></office:body></office:document-content>"#
            .as_bytes();
        let found = event_bindings(xml).unwrap();
        assert_eq!(
            found,
            [
                "dom:load → vnd.sun.star.script:Standard.Module1.Main?language=Basic&location=document"
            ]
        );
        let out = filter_elements(xml, |_, e| is_event_binding(local_name(e))).unwrap();
        assert!(event_bindings(&out).unwrap().is_empty());
        assert!(String::from_utf8(out).unwrap().contains("本文"));
    }
}
