//! The engine: one message in, one outcome out.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::disarm;
use crate::finding::Finding;
use crate::vocab::FindingKind;
use crate::identify::identify;
use crate::inspect::{Inspector, PartScan, sha256};
use crate::limits::Budget;
use crate::lure::{self, LureAction, LureRules, SentLog};
use crate::mime::{self, Body, Entity, Headline, MimeError};
use crate::notice;
use crate::policy::{ContentPolicy, DirectionPolicy, LinkMode, Policy};
use crate::rebuild::{Rebuild, Replacement};
use crate::report::{MessageInfo, PartReport, Report, Timings};
use crate::vocab::{Direction, MessageAction, PartAction, Verdict};

/// Who sent the message to whom, as seen by the MTA.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// MAIL FROM, without angle brackets; `None` for the null sender.
    pub mail_from: Option<String>,
    /// RCPT TO addresses.
    pub rcpt_to: Vec<String>,
    /// Address of the SMTP client.
    pub client_ip: Option<IpAddr>,
    /// HELO/EHLO name.
    pub helo: Option<String>,
    /// Which way the message crosses.
    pub direction: Direction,
}

/// What to do with one message.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The decision.
    pub verdict: Verdict,
    /// The rebuilt message; present exactly when the verdict is `Deliver`.
    pub message: Option<Vec<u8>>,
    /// The audit record.
    pub report: Report,
}

/// The sanitization engine. Immutable once built; share it across threads.
#[derive(Clone)]
pub struct Engine {
    policy: Policy,
    lure: Arc<LureRules>,
    /// `policy.organization`, prepared for scoring.
    org: Arc<lure::OrgIndex>,
    sent_log: Option<Arc<dyn SentLog>>,
    #[cfg(feature = "yara")]
    yara: Option<Arc<crate::yara::YaraRules>>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("Engine");
        d.field("policy", &self.policy)
            .field("lure_symbols", &self.lure.symbols.len())
            .field("sent_log", &self.sent_log.is_some());
        #[cfg(feature = "yara")]
        d.field("yara_rules", &self.yara.as_ref().map(|r| r.len()));
        d.finish()
    }
}

impl Engine {
    /// An engine applying `policy`, with the lure rules of `rules/lure.toml`.
    pub fn new(policy: Policy) -> Self {
        static BUILT_IN: OnceLock<Arc<LureRules>> = OnceLock::new();
        Self {
            org: Arc::new(lure::OrgIndex::new(&policy.organization)),
            policy,
            lure: BUILT_IN
                .get_or_init(|| Arc::new(LureRules::default()))
                .clone(),
            sent_log: None,
            #[cfg(feature = "yara")]
            yara: None,
        }
    }

    /// Runs these YARA rules over every part, archive member and embedded
    /// document.
    #[cfg(feature = "yara")]
    pub fn with_yara(mut self, rules: Arc<crate::yara::YaraRules>) -> Self {
        self.yara = Some(rules);
        self
    }

    /// A YARA scanner for one message, when there are rules.
    fn scanner(&self) -> Option<Box<dyn PartScan + '_>> {
        #[cfg(feature = "yara")]
        if let Some(rules) = &self.yara {
            let limits = &self.policy.limits;
            return Some(Box::new(rules.scanner(
                std::time::Duration::from_millis(limits.yara_timeout_ms),
                limits.yara_max_scan_bytes,
            )));
        }
        None
    }

    /// Scores lures with these rules instead of the built-in ones.
    pub fn with_lure_rules(mut self, rules: LureRules) -> Self {
        self.lure = Arc::new(rules);
        self
    }

    /// Checks inbound replies against the Message-IDs our side sent.
    pub fn with_sent_log(mut self, log: Arc<dyn SentLog>) -> Self {
        self.sent_log = Some(log);
        self
    }

    /// The policy in force.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Inspects, disarms and rebuilds one message. Never passes the original
    /// through on failure: a panic anywhere below becomes `Tempfail`.
    pub fn process(&self, raw: &[u8], envelope: &Envelope) -> Outcome {
        let started = Instant::now();
        match catch_unwind(AssertUnwindSafe(|| {
            self.process_inner(raw, envelope, started)
        })) {
            Ok(outcome) => outcome,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into());
                let mut report = self.empty_report(raw, envelope, started);
                report.verdict = Verdict::Tempfail;
                report.reason = Some(format!("internal error: {what}"));
                Outcome {
                    verdict: Verdict::Tempfail,
                    message: None,
                    report,
                }
            }
        }
    }

    fn empty_report(&self, raw: &[u8], envelope: &Envelope, started: Instant) -> Report {
        Report {
            mugai_version: env!("CARGO_PKG_VERSION").into(),
            direction: envelope.direction,
            verdict: Verdict::Tempfail,
            reason: None,
            message: MessageInfo {
                sha256: hex::encode(sha256(raw)),
                size: raw.len() as u64,
                ..MessageInfo::default()
            },
            output_sha256: None,
            parts: Vec::new(),
            lure: None,
            timings_us: Timings {
                total: micros(started),
                ..Timings::default()
            },
        }
    }

    fn process_inner(&self, raw: &[u8], envelope: &Envelope, started: Instant) -> Outcome {
        let dir = self.policy.direction(envelope.direction);
        let limits = &self.policy.limits;
        let mut report = self.empty_report(raw, envelope, started);
        // SMTP hands every message over with its last line ended, and that is
        // what the recipient reads: a header field cut off by the end of the
        // input loses its address to the parser until a line end follows it.
        let completed;
        let raw = if raw.is_empty() || raw.ends_with(b"\n") {
            raw
        } else {
            completed = [raw, line_ending(raw)].concat();
            &completed[..]
        };
        let stop = |mut report: Report, action: MessageAction, reason: String| {
            report.verdict = match action {
                MessageAction::Quarantine => Verdict::Quarantine,
                MessageAction::Reject => Verdict::Reject,
                MessageAction::Tempfail => Verdict::Tempfail,
            };
            report.reason = Some(reason);
            report.timings_us.total = micros(started);
            Outcome {
                verdict: report.verdict,
                message: None,
                report,
            }
        };
        if raw.len() > limits.max_message_bytes {
            let reason = format!("message larger than {} bytes", limits.max_message_bytes);
            return stop(report, dir.on_limit, reason);
        }

        let t = Instant::now();
        let (headline, parsed) = mime::parse_with_headline(raw, limits);
        report.message.message_id = headline.message_id.clone();
        report.message.subject = headline.subject.clone();
        report.message.from = headline.from.clone();
        let mut root = match parsed {
            Ok(root) => root,
            Err(e) => {
                let action = if e.is_limit() {
                    dir.on_limit
                } else {
                    dir.on_malformed
                };
                return stop(report, action, e.describe());
            }
        };
        report.timings_us.parse = micros(t);

        let t = Instant::now();
        let mut budget = Budget::new(limits);
        let mut leaves = Vec::new();
        collect_leaves(&root, &mut leaves);
        let mut scanner = self.scanner();
        for leaf in &leaves {
            report
                .parts
                .push(inspect_part(leaf, dir, &mut budget, reborrow(&mut scanner)));
        }
        report.timings_us.inspect = micros(t);

        let t = Instant::now();
        let content = self.policy.content(envelope.direction);
        let mut replacements: BTreeMap<String, Replacement> = BTreeMap::new();
        for (leaf, part) in leaves.iter().zip(report.parts.iter_mut()) {
            let replacement = match part.action {
                PartAction::Disarm => disarm_part(
                    leaf,
                    part,
                    dir,
                    content.links,
                    &mut budget,
                    reborrow(&mut scanner),
                ),
                PartAction::Keep => rebuild_part(
                    leaf,
                    part,
                    dir,
                    &content,
                    &mut budget,
                    reborrow(&mut scanner),
                ),
                _ => None,
            };
            if let Some(r) = replacement {
                replacements.insert(part.path.clone(), r);
            }
        }
        report.timings_us.disarm = micros(t);
        if let Err(e) = budget.check_time() {
            return stop(report, dir.on_limit, e.describe(limits));
        }

        let t = Instant::now();
        let facts = lure_facts(&headline, envelope, &leaves, &report, &replacements);
        let lure_policy = self.policy.lure(envelope.direction);
        let lure = lure::score(
            &self.lure,
            &self.org,
            &lure_policy,
            self.sent_log.as_deref(),
            &facts,
        );
        let lure_action = lure.action;
        report.lure = Some(lure);
        report.timings_us.score = micros(t);

        let strictest = report
            .parts
            .iter()
            .map(|p| p.action)
            .chain(match lure_action {
                LureAction::Reject => Some(PartAction::Reject),
                LureAction::Quarantine => Some(PartAction::Quarantine),
                LureAction::None | LureAction::Tag => None,
            })
            .max()
            .unwrap_or(PartAction::Keep);
        match strictest {
            PartAction::Reject => {
                let reason = policy_reason(&report, PartAction::Reject);
                return stop(report, MessageAction::Reject, reason);
            }
            PartAction::Quarantine => {
                let reason = policy_reason(&report, PartAction::Quarantine);
                return stop(report, MessageAction::Quarantine, reason);
            }
            PartAction::Keep | PartAction::Disarm | PartAction::Remove => {}
        }

        let t = Instant::now();
        let reference = notice::reference(&report.message.sha256).to_owned();
        let removed: Vec<&PartReport> = report.removed().collect();
        let disarmed: Vec<&PartReport> = report.disarmed().collect();
        for p in &removed {
            let text = notice::removed_part(p, &reference, &self.policy.notice);
            replacements.insert(p.path.clone(), Replacement::Notice(text));
        }
        let summary = (!removed.is_empty() || !disarmed.is_empty())
            .then(|| notice::summary(&removed, &disarmed, &reference, &self.policy.notice));
        // The header lists a few parts; the report and the notice list them all.
        const LISTED: usize = 20;
        let changed: Vec<(&PartReport, &str)> = report
            .parts
            .iter()
            .filter_map(|p| match p.action {
                PartAction::Remove => Some((p, "removed")),
                PartAction::Disarm => Some((p, "disarmed")),
                PartAction::Keep if p.disarmed.is_some() => Some((p, "rebuilt")),
                _ => None,
            })
            .collect();
        let mut actions: Vec<String> = changed
            .iter()
            .take(LISTED)
            .map(|(p, what)| {
                let mut kinds: Vec<String> = p
                    .findings
                    .iter()
                    .map(|f| f.kind.name().to_owned())
                    .collect();
                if kinds.is_empty() {
                    kinds.push(p.true_type.name());
                }
                kinds.sort_unstable();
                kinds.dedup();
                format!("{}={what}({})", p.path, kinds.join(","))
            })
            .collect();
        if changed.len() > LISTED {
            actions.push(format!("+{} more", changed.len() - LISTED));
        }
        let tagged = lure_action == LureAction::Tag;
        if tagged {
            root.header = crate::rebuild::tag_subject(
                &root.header,
                &lure_policy.subject_tag,
                line_ending(raw),
            );
        }
        let mut trace = vec![
            (
                "X-Mugai-Verdict",
                format!(
                    "{}; version={}",
                    // Rebuilt: nothing was found, the content was rebuilt anyway.
                    if changed.iter().any(|(_, what)| *what != "rebuilt") {
                        "disarmed"
                    } else if changed.is_empty() {
                        "clean"
                    } else {
                        "rebuilt"
                    },
                    env!("CARGO_PKG_VERSION")
                ),
            ),
            (
                "X-Mugai-Actions",
                if actions.is_empty() {
                    "none".into()
                } else {
                    actions.join("; ")
                },
            ),
            ("X-Mugai-Message-SHA256", report.message.sha256.clone()),
        ];
        if let Some(l) = report.lure.as_ref().filter(|_| tagged) {
            trace.push(("X-Mugai-Lure", l.summary()));
        }
        // Derived from, but not equal to, the published message hash.
        let seed = sha256(report.message.sha256.as_bytes());
        let rebuild = Rebuild {
            eol: line_ending(raw),
            replacements: &replacements,
            seed,
        };
        let output = rebuild.message(&root, &trace, summary.as_deref());
        report.timings_us.rebuild = micros(t);

        // Our header fields on top of the untouched original hold nothing that
        // was not inspected; anything else is parsed again and checked.
        let t = Instant::now();
        let untouched = replacements.is_empty() && output.ends_with(raw);
        let unchanged = Rebuild {
            replacements: &BTreeMap::new(),
            ..rebuild
        };
        if !untouched
            && let Err(why) = verify(
                &output,
                expected_leaves(&report, &replacements, summary.as_deref()),
                limits,
                |root| unchanged.message(root, &trace, None),
            )
        {
            return stop(
                report,
                MessageAction::Quarantine,
                format!("rebuilt message failed verification: {why}"),
            );
        }
        report.timings_us.verify = micros(t);

        report.verdict = Verdict::Deliver;
        report.output_sha256 = Some(hex::encode(sha256(&output)));
        report.timings_us.total = micros(started);
        Outcome {
            verdict: Verdict::Deliver,
            message: Some(output),
            report,
        }
    }
}

fn micros(since: Instant) -> u64 {
    since.elapsed().as_micros() as u64
}

pub(crate) fn line_ending(raw: &[u8]) -> &'static [u8] {
    match raw.iter().position(|&c| c == b'\n') {
        Some(i) if i > 0 && raw[i - 1] == b'\r' => b"\r\n",
        _ => b"\n",
    }
}

fn collect_leaves<'e>(e: &'e Entity, out: &mut Vec<&'e Entity>) {
    match &e.body {
        Body::Leaf(_) => out.push(e),
        Body::Multipart { children, .. } => children.iter().for_each(|c| collect_leaves(c, out)),
        Body::Message { inner, .. } => collect_leaves(inner, out),
    }
}

fn charset(e: &Entity) -> Option<&str> {
    e.params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("charset"))
        .map(|(_, v)| v.as_str())
}

fn decoded(e: &Entity) -> &[u8] {
    match &e.body {
        Body::Leaf(l) => &l.decoded,
        _ => &[],
    }
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

fn inspect_part<'a>(
    e: &Entity,
    dir: &DirectionPolicy,
    budget: &'a mut Budget,
    scan: Option<&'a mut (dyn PartScan + 'a)>,
) -> PartReport {
    let bytes = decoded(e);
    let hash = sha256(bytes);
    let location = e
        .filename
        .clone()
        .unwrap_or_else(|| format!("part {}", e.path));
    let mut ins = Inspector::new(budget);
    ins.scan = scan;
    let declared =
        (e.content_type != "application/octet-stream").then_some(e.content_type.as_str());
    // A parser that panics on hostile input costs the part, not the message.
    let inspected = catch_unwind(AssertUnwindSafe(|| {
        ins.inspect(bytes, &hash, e.filename.as_deref(), declared, &location, 0)
    }));
    let true_type = match inspected {
        Ok(t) => t,
        Err(_) => {
            ins.finding(
                FindingKind::Malformed,
                &location,
                "parser failure on this content".into(),
            );
            crate::identify::FileType::Unknown
        }
    };
    let Inspector {
        findings, entries, ..
    } = ins;
    let action = findings
        .iter()
        .map(|f| dir.finding_action(f))
        .max()
        .unwrap_or(PartAction::Keep);
    PartReport {
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
    }
}

/// Rebuilds a part the policy wants disarmed and inspects the result again.
/// On any failure, or when anything the policy acts on is left, the part is
/// removed instead and the report says why.
fn disarm_part<'a>(
    e: &Entity,
    part: &mut PartReport,
    dir: &DirectionPolicy,
    links: LinkMode,
    budget: &'a mut Budget,
    scan: Option<&'a mut (dyn PartScan + 'a)>,
) -> Option<Replacement> {
    let bytes = decoded(e);
    let rebuilt = match catch_unwind(AssertUnwindSafe(|| {
        disarm::disarm(bytes, part.true_type, links, budget)
    })) {
        Ok(Ok(d)) => d,
        Ok(Err(why)) => return fail(part, why),
        Err(_) => return fail(part, "parser failure while disarming".into()),
    };
    let true_type = identify(&rebuilt.bytes);
    let name = e.filename.as_deref().map(|n| disarm::rename(n, true_type));
    let content_type = disarm::content_type(&e.content_type, true_type);
    deliver_rebuilt(e, part, rebuilt, name, content_type, dir, budget, scan)
}

/// Removes a part whose rebuild failed, saying why.
fn fail(part: &mut PartReport, why: String) -> Option<Replacement> {
    part.action = PartAction::Remove;
    part.disarm_failed = Some(why);
    None
}

/// Rebuilds a part no finding acted on, when the content policy rebuilds
/// its kind. A part that cannot be rebuilt is removed: what the policy
/// rebuilds is never delivered as received.
fn rebuild_part<'a>(
    e: &Entity,
    part: &mut PartReport,
    dir: &DirectionPolicy,
    content: &ContentPolicy,
    budget: &'a mut Budget,
    scan: Option<&'a mut (dyn PartScan + 'a)>,
) -> Option<Replacement> {
    let bytes = decoded(e);
    let info = disarm::PartInfo {
        true_type: part.true_type,
        declared_type: &e.content_type,
        charset: charset(e),
        name: e.filename.as_deref(),
    };
    let rebuilt = match catch_unwind(AssertUnwindSafe(|| {
        disarm::rebuild(bytes, &info, content, budget)
    })) {
        Ok(None) => return None,
        Ok(Some(Ok(r))) => r,
        failed => {
            let why = match failed {
                Ok(Some(Err(why))) => why,
                _ => "parser failure while rebuilding".into(),
            };
            // The notice needs a reason: nothing was found before.
            part.findings.push(Finding {
                kind: FindingKind::Malformed,
                location: e
                    .filename
                    .clone()
                    .unwrap_or_else(|| format!("part {}", e.path)),
                detail: format!("could not be rebuilt: {why}"),
                rule: None,
            });
            return fail(part, why);
        }
    };
    if rebuilt.disarmed.bytes == bytes {
        return None;
    }
    let name = rebuilt.name.or_else(|| e.filename.clone());
    let content_type = rebuilt
        .content_type
        .unwrap_or_else(|| e.content_type.clone());
    deliver_rebuilt(
        e,
        part,
        rebuilt.disarmed,
        name,
        content_type,
        dir,
        budget,
        scan,
    )
}

/// Inspects a rebuilt part again and delivers it only when nothing the
/// policy acts on is left; otherwise the part is removed.
#[allow(clippy::too_many_arguments)]
fn deliver_rebuilt<'a>(
    e: &Entity,
    part: &mut PartReport,
    rebuilt: disarm::Disarmed,
    name: Option<String>,
    content_type: String,
    dir: &DirectionPolicy,
    budget: &'a mut Budget,
    scan: Option<&'a mut (dyn PartScan + 'a)>,
) -> Option<Replacement> {
    let true_type = identify(&rebuilt.bytes);
    let hash = sha256(&rebuilt.bytes);
    let location = name.clone().unwrap_or_else(|| format!("part {}", e.path));
    let mut ins = Inspector::new(budget);
    ins.scan = scan;
    let again = catch_unwind(AssertUnwindSafe(|| {
        ins.inspect(&rebuilt.bytes, &hash, name.as_deref(), None, &location, 0)
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
        .filter(|f| dir.finding_action(f) >= PartAction::Disarm)
        .map(|f| format!("{} ({})", f.kind, f.detail))
        .collect();
    if !left.is_empty() {
        return fail(
            part,
            format!("still active after disarm: {}", left.join("; ")),
        );
    }
    let relabel = name.as_deref() != e.filename.as_deref() || content_type != e.content_type;
    part.disarmed = Some(crate::report::DisarmReport {
        removed: rebuilt.removed,
        name: name.clone(),
        content_type: content_type.clone(),
        true_type,
        size: rebuilt.bytes.len() as u64,
        sha256: hex::encode(hash),
    });
    Some(Replacement::Disarmed {
        bytes: rebuilt.bytes,
        content_type,
        name,
        relabel,
    })
}

fn policy_reason(report: &Report, action: PartAction) -> String {
    if let Some(l) = &report.lure
        && matches!(
            (l.action, action),
            (LureAction::Reject, PartAction::Reject)
                | (LureAction::Quarantine, PartAction::Quarantine)
        )
    {
        return format!(
            "lure score {} reached the {} threshold: {}",
            l.score,
            if action == PartAction::Reject {
                "reject"
            } else {
                "quarantine"
            },
            l.summary().split_once("; ").map_or("", |(_, s)| s)
        );
    }
    let hits: Vec<String> = report
        .parts
        .iter()
        .filter(|p| p.action == action)
        .flat_map(|p| {
            p.findings
                .iter()
                .map(|f: &Finding| format!("{} in {}", f.kind, f.location))
        })
        .collect();
    format!("policy: {}", hits.join("; "))
}

/// What lure scoring needs from the parsed message and the inspection.
fn lure_facts(
    headline: &Headline,
    envelope: &Envelope,
    leaves: &[&Entity],
    report: &Report,
    replacements: &BTreeMap<String, Replacement>,
) -> lure::Facts {
    let mut bodies = Vec::new();
    let mut attachment_names = Vec::new();
    for leaf in leaves {
        if let Some(name) = &leaf.filename {
            attachment_names.push(name.clone());
            continue;
        }
        let location = format!(
            "body part {}",
            if leaf.path.is_empty() {
                "1"
            } else {
                &leaf.path
            }
        );
        // A rebuilt body is scored as well, as delivered (UTF-8, and typed
        // by its content even when its declared type was garbage): the next
        // gateway, or this one again, sees only that, and must not score
        // the message higher than this pass did.
        if let Some(Replacement::Disarmed {
            bytes,
            content_type,
            ..
        }) = replacements.get(&leaf.path)
            && content_type.starts_with("text/")
        {
            bodies.push(lure::BodyText {
                location: format!("{location} (as delivered)"),
                text: lure::decode_text(bytes, Some("utf-8")),
                html: content_type.starts_with("text/html"),
            });
        }
        let html = leaf.content_type == "text/html";
        if !(html || leaf.content_type == "text/plain") {
            continue;
        }
        // Decoded from the bytes we deliver, not from mail-parser's text:
        // on hostile input the two can differ, and the score of a message
        // must not change when it is sanitized again.
        bodies.push(lure::BodyText {
            location,
            text: lure::decode_text(decoded(leaf), charset(leaf)),
            html,
        });
    }
    lure::Facts {
        direction: envelope.direction,
        from_name: headline.from_name.clone(),
        from_address: headline.from_address.clone(),
        reply_to: headline.reply_to.clone(),
        envelope_from: envelope
            .mail_from
            .clone()
            .or_else(|| headline.return_path.clone())
            .filter(|s| !s.trim().trim_matches(['<', '>']).is_empty()),
        subject: headline.subject.clone().unwrap_or_default(),
        in_reply_to: headline.in_reply_to.clone(),
        references: headline.references.clone(),
        authentication_results: headline.authentication_results.clone(),
        bodies,
        attachment_names,
        findings: report
            .parts
            .iter()
            .flat_map(|p| p.findings.iter().map(|f| (f.kind, f.location.clone())))
            .collect(),
        rule_hits: report
            .parts
            .iter()
            .flat_map(|p| &p.findings)
            .filter_map(|f| {
                let r = f.rule.as_ref()?;
                let description = f.detail.split_once(": ").map_or("", |(_, d)| d);
                Some((
                    format!("{}.{}", r.namespace, r.name),
                    r.weight,
                    description.to_owned(),
                    f.location.clone(),
                ))
            })
            .collect(),
    }
}

/// The multiset of leaf contents the rebuilt message must hold: kept parts as
/// inspected, disarmed parts as rebuilt, plus the notices we wrote.
fn expected_leaves(
    report: &Report,
    replacements: &BTreeMap<String, Replacement>,
    summary: Option<&str>,
) -> Vec<[u8; 32]> {
    let mut want: Vec<[u8; 32]> = report
        .parts
        .iter()
        .map(|p| match replacements.get(&p.path) {
            Some(r) => sha256(r.content()),
            None => {
                let mut hash = [0u8; 32];
                // Our own hex; a failure would only make verification fail closed.
                let _ = hex::decode_to_slice(&p.sha256, &mut hash);
                hash
            }
        })
        .collect();
    if let Some(s) = summary {
        want.push(sha256(s.as_bytes()));
    }
    want.sort_unstable();
    want
}

/// Parses our own output and checks that every leaf in it is one we meant
/// to deliver: nothing more, nothing less, nothing decoded differently.
fn verify(
    output: &[u8],
    expected: Vec<[u8; 32]>,
    limits: &crate::limits::Limits,
    serialize: impl Fn(&Entity) -> Vec<u8>,
) -> Result<(), String> {
    let root = mime::parse(output, limits).map_err(|e: MimeError| e.describe())?;
    let mut leaves = Vec::new();
    collect_leaves(&root, &mut leaves);
    let mut got: Vec<[u8; 32]> = leaves.iter().map(|e| sha256(decoded(e))).collect();
    got.sort_unstable();
    if got != expected {
        return Err(format!(
            "{} leaves found, {} expected, or their contents differ",
            got.len(),
            expected.len()
        ));
    }
    // Read the next time (by the client, or a gateway after us), it must
    // read the same: written again from its own parse, it is the same bytes.
    // Where mail-parser's recovery from corrupt structure is no fixed point,
    // it is not.
    if serialize(&root) != output {
        return Err("it does not read back as written".into());
    }
    Ok(())
}
