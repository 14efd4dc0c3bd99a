//! The work on one leaf part: inspect it, disarm or rebuild it, and check
//! what was rebuilt before it may be delivered.

use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::disarm::{self, PartInfo};
use crate::finding::Finding;
use crate::formats::archive::{self, Rebuilder};
use crate::formats::{Disarmed, Document};
use crate::identify::{FileType, identify};
use crate::inspect::{Inspector, PartScan, sha256};
use crate::limits::Budget;
use crate::mime::Entity;
use crate::names;
use crate::policy::{ContentPolicy, DirectionPolicy};
use crate::rebuild::Replacement;
use crate::report::{DisarmReport, PartReport};
use crate::vocab::{FindingKind, PartAction};

use super::charset;

/// What the work on every part of one message shares: the direction's
/// policy, the message's budget and the rules scanner.
pub(super) struct PartWork<'w> {
    pub(super) dir: &'w DirectionPolicy,
    pub(super) content: &'w ContentPolicy,
    pub(super) budget: Budget,
    pub(super) scanner: Option<Box<dyn PartScan + 'w>>,
}

/// A rebuilt part and how it is to be declared.
struct Output {
    disarmed: Disarmed,
    name: Option<String>,
    content_type: String,
}

impl PartWork<'_> {
    /// Inspects one leaf. A document opened to look inside comes back with
    /// the report, for disarm to consume.
    pub(super) fn inspect<'e>(&mut self, e: &'e Entity) -> (PartReport, Option<Document<'e>>) {
        let bytes = e.decoded();
        let hash = sha256(bytes);
        let location = location(e, e.filename.as_deref());
        let mut ins = Inspector::new(&mut self.budget);
        ins.scan = reborrow(&mut self.scanner);
        let declared =
            (e.content_type != "application/octet-stream").then_some(e.content_type.as_str());
        // A parser that panics on hostile input costs the part, not the message.
        let inspected = catch_unwind(AssertUnwindSafe(|| {
            ins.inspect_part(bytes, &hash, e.filename.as_deref(), declared, &location)
        }));
        let (true_type, document) = match inspected {
            Ok(found) => found,
            Err(_) => {
                ins.finding(
                    FindingKind::Malformed,
                    &location,
                    "parser failure on this content".into(),
                );
                (FileType::Unknown, None)
            }
        };
        let Inspector {
            findings, entries, ..
        } = ins;
        let mut action = findings
            .iter()
            .map(|f| self.dir.finding_action(f))
            .max()
            .unwrap_or(PartAction::Keep);
        // An archive whose only trouble is in some of its members is
        // rebuilt without them rather than removed whole.
        if matches!(action, PartAction::Disarm | PartAction::Remove)
            && archive::rebuilds(true_type)
            && unwanted_inside(self.dir, &findings, &location)
        {
            action = PartAction::Disarm;
        }
        let report = PartReport {
            path: e.path.clone(),
            declared_type: e.content_type.clone(),
            declared_name: e.filename.clone(),
            true_type,
            size: bytes.len() as u64,
            sha256: hex::encode(hash),
            findings,
            action,
            entries,
            disarmed: None,
            disarm_failed: None,
        };
        (report, document)
    }

    /// What becomes of a part as its action says: disarmed, rebuilt by the
    /// content policy, or left to the notices (`None`).
    pub(super) fn replacement<'e>(
        &mut self,
        e: &'e Entity,
        part: &mut PartReport,
        document: Option<Document<'e>>,
    ) -> Option<Replacement> {
        match part.action {
            PartAction::Disarm => self.disarm(e, part, document),
            PartAction::Keep => self.rebuild(e, part),
            _ => None,
        }
    }

    /// Rebuilds a part the policy wants disarmed and inspects the result
    /// again. On any failure, or when anything the policy acts on is left,
    /// the part is removed instead and the report says why.
    fn disarm<'e>(
        &mut self,
        e: &'e Entity,
        part: &mut PartReport,
        document: Option<Document<'e>>,
    ) -> Option<Replacement> {
        let bytes = e.decoded();
        let links = self.content.links;
        let budget = &mut self.budget;
        let (dir, findings) = (self.dir, &part.findings);
        let here = location(e, e.filename.as_deref());
        let disarmed = match catch_unwind(AssertUnwindSafe(|| {
            let t = part.true_type;
            if archive::rebuilds(t) || only_outside_data(t, findings) {
                let mut judge = MemberJudge {
                    dir,
                    findings,
                    links,
                    budget,
                };
                // A zip-based document is written anew as the zip it is.
                let t = if archive::rebuilds(t) {
                    t
                } else {
                    FileType::Zip
                };
                archive::rebuild(t, bytes, &here, &mut judge)
            } else {
                disarm::disarm(bytes, part.true_type, document, links, budget)
            }
        })) {
            Ok(Ok(d)) => d,
            Ok(Err(why)) => return fail(part, why.to_string()),
            Err(_) => return fail(part, "parser failure while disarming".into()),
        };
        let true_type = identify(&disarmed.bytes);
        let output = Output {
            name: e.filename.as_deref().map(|n| disarm::rename(n, true_type)),
            content_type: disarm::content_type(&e.content_type, true_type),
            disarmed,
        };
        self.deliver(e, part, output)
    }

    /// Rebuilds a part no finding acted on, when the content policy
    /// rebuilds its kind. A part that cannot be rebuilt is removed: what the
    /// policy rebuilds is never delivered as received.
    fn rebuild(&mut self, e: &Entity, part: &mut PartReport) -> Option<Replacement> {
        let bytes = e.decoded();
        let info = PartInfo {
            true_type: part.true_type,
            declared_type: &e.content_type,
            charset: charset(e),
            name: e.filename.as_deref(),
        };
        let (content, budget) = (self.content, &mut self.budget);
        let rebuilt = match catch_unwind(AssertUnwindSafe(|| {
            disarm::rebuild(bytes, &info, content, budget)
        })) {
            Ok(None) => return None,
            Ok(Some(Ok(r))) => r,
            failed => {
                let why = match failed {
                    Ok(Some(Err(why))) => why.to_string(),
                    _ => "parser failure while rebuilding".into(),
                };
                // The notice needs a reason: nothing was found before.
                part.findings.push(Finding {
                    kind: FindingKind::Malformed,
                    location: location(e, e.filename.as_deref()),
                    detail: format!("could not be rebuilt: {why}"),
                    rule: None,
                });
                return fail(part, why);
            }
        };
        if rebuilt.disarmed.bytes == bytes {
            return None;
        }
        let output = Output {
            name: rebuilt.name.or_else(|| e.filename.clone()),
            content_type: rebuilt
                .content_type
                .unwrap_or_else(|| e.content_type.clone()),
            disarmed: rebuilt.disarmed,
        };
        self.deliver(e, part, output)
    }

    /// Inspects a rebuilt part again and delivers it only when nothing the
    /// policy acts on is left; otherwise the part is removed.
    fn deliver(&mut self, e: &Entity, part: &mut PartReport, out: Output) -> Option<Replacement> {
        let Output {
            disarmed,
            name,
            content_type,
        } = out;
        let true_type = identify(&disarmed.bytes);
        let hash = sha256(&disarmed.bytes);
        let location = location(e, name.as_deref());
        let mut ins = Inspector::new(&mut self.budget);
        ins.scan = reborrow(&mut self.scanner);
        let again = catch_unwind(AssertUnwindSafe(|| {
            ins.inspect_part(&disarmed.bytes, &hash, name.as_deref(), None, &location)
                .0
        }));
        if again.is_err() {
            return fail(
                part,
                "parser failure while checking the disarmed part".into(),
            );
        }
        let left: Vec<String> = ins
            .findings
            .iter()
            .filter(|f| self.dir.finding_action(f) >= PartAction::Disarm)
            .map(|f| format!("{} ({})", f.kind, f.detail))
            .collect();
        if !left.is_empty() {
            return fail(
                part,
                format!("still active after disarm: {}", left.join("; ")),
            );
        }
        let relabel = name.as_deref() != e.filename.as_deref() || content_type != e.content_type;
        part.disarmed = Some(DisarmReport {
            removed: disarmed.removed,
            name: name.clone(),
            content_type: content_type.clone(),
            true_type,
            size: disarmed.bytes.len() as u64,
            sha256: hex::encode(hash),
        });
        Some(Replacement::Disarmed {
            bytes: disarmed.bytes,
            content_type,
            name,
            relabel,
        })
    }
}

/// Decides what an archive rebuilt member by member keeps, from the
/// findings its inspection made: a member with none the policy acts on is
/// kept as it came, a nested archive with trouble only in its own members
/// is rebuilt the same way, a member to be disarmed is disarmed, and the
/// rest are left out. The engine inspects the rebuilt archive again before
/// it is delivered.
struct MemberJudge<'j> {
    dir: &'j DirectionPolicy,
    findings: &'j [Finding],
    links: crate::policy::LinkMode,
    budget: &'j mut Budget,
}

impl MemberJudge<'_> {
    /// The strictest action of the findings at `location` or inside it.
    fn action(&self, location: &str) -> PartAction {
        self.findings
            .iter()
            .filter(|f| f.location == location || inside(&f.location, location))
            .map(|f| self.dir.finding_action(f))
            .max()
            .unwrap_or(PartAction::Keep)
    }
}

impl Rebuilder for MemberJudge<'_> {
    fn budget(&mut self) -> &mut Budget {
        self.budget
    }

    fn clean(&mut self, location: &str) -> bool {
        self.action(location) < PartAction::Disarm
    }

    fn rework(&mut self, name: &str, data: &[u8], location: &str) -> Option<(String, Disarmed)> {
        let action = self.action(location);
        let t = names::rendered_as(identify(data), Some(name), None);
        if archive::rebuilds(t) && unwanted_inside(self.dir, self.findings, location) {
            let rebuilt = archive::rebuild(t, data, location, self).ok()?;
            return Some((disarm::rename(name, identify(&rebuilt.bytes)), rebuilt));
        }
        if action != PartAction::Disarm {
            return None;
        }
        let disarmed = disarm::disarm(data, t, None, self.links, self.budget).ok()?;
        let name = disarm::rename(name, identify(&disarmed.bytes));
        Some((name, disarmed))
    }
}

/// Whether the archive at `location` can be rebuilt to deliver it: every
/// finding the policy acts on (disarm or more) lies inside a member, or
/// asks only that the archive itself be disarmed (written anew, as for
/// data in front of a zip). An archive with a bomb anywhere in it was built
/// to hurt and goes whole.
fn unwanted_inside(dir: &DirectionPolicy, findings: &[Finding], location: &str) -> bool {
    let within = findings
        .iter()
        .filter(|f| inside(&f.location, location) || f.location == location);
    within.clone().all(|f| f.kind != FindingKind::ArchiveBomb)
        && within
            .filter(|f| dir.finding_action(f) > PartAction::Disarm)
            .all(|f| inside(&f.location, location))
}

/// Whether `location` names something inside the archive at `archive`
/// (`a.zip!b.exe`, `a.zip!c.zip!d.js`).
fn inside(location: &str, archive: &str) -> bool {
    location
        .strip_prefix(archive)
        .is_some_and(|rest| rest.starts_with('!'))
}

/// Where findings in a part are said to be: its name, or its MIME path.
fn location(e: &Entity, name: Option<&str>) -> String {
    name.map_or_else(|| format!("part {}", e.path), str::to_owned)
}

/// Removes a part whose rebuild failed, saying why.
fn fail(part: &mut PartReport, why: String) -> Option<Replacement> {
    part.action = PartAction::Remove;
    part.disarm_failed = Some(why);
    None
}

/// The scanner for one call, its lifetime shortened to the call's.
fn reborrow<'a>(
    scanner: &'a mut Option<Box<dyn PartScan + '_>>,
) -> Option<&'a mut (dyn PartScan + 'a)> {
    match scanner {
        Some(s) => Some(&mut **s),
        None => None,
    }
}

/// A zip-based document (an Office or OpenDocument package) whose only
/// findings are bytes outside its archive: written anew as the same
/// archive, member for member, which leaves them behind.
fn only_outside_data(t: FileType, findings: &[Finding]) -> bool {
    t.is_zip_based()
        && !findings.is_empty()
        && findings.iter().all(|f| {
            matches!(
                f.kind,
                FindingKind::PrependedData | FindingKind::AppendedData
            )
        })
}
