//! The engine: one message in, one outcome out, in named stages: parse,
//! inspect, disarm, score, decide, rebuild, verify. Each part's work is in
//! `parts`, lure facts in `facts`, the `X-Mugai-*` trace in `trace`, the
//! check of the rebuilt message in `verify`.

mod facts;
mod parts;
mod trace;
mod verify;

// The engine turns a panic in a parser into a tempfail (and a panic in one
// part's parser into that part's removal). Built to abort on panic, that
// isolation is gone and a hostile attachment takes the relay down with it.
#[cfg(panic = "abort")]
compile_error!("mugai-core needs panic = \"unwind\": the engine isolates parser panics");

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::inspect::{PartScan, sha256};
use crate::limits::Budget;
use crate::lure::{self, LureAction, LureRules, SentLog};
use crate::mime::{self, Body, Entity};
use crate::notice;
use crate::policy::Policy;
use crate::rebuild::{Rebuild, Replacement};
use crate::report::{MessageInfo, PartReport, Report, Timings, UnpackedReport};
use crate::vocab::{Direction, MessageAction, PartAction, Verdict};

use parts::PartWork;

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
            unpacked: Vec::new(),
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
        if raw.len() > limits.max_message_bytes {
            let reason = format!("message larger than {} bytes", limits.max_message_bytes);
            return stop(report, dir.on_limit, reason, started);
        }

        // Parse.
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
                return stop(report, action, e.describe(), started);
            }
        };
        report.timings_us.parse = micros(t);

        // Inspect every leaf; documents opened on the way are kept for disarm.
        let t = Instant::now();
        let content = self.policy.content(envelope.direction);
        let mut work = PartWork {
            dir,
            content: &content,
            budget: Budget::new(limits),
            scanner: self.scanner(),
        };
        let leaves = root.leaves();
        collect_unpacked(&root, &mut report.unpacked);
        let mut documents = Vec::with_capacity(leaves.len());
        for leaf in &leaves {
            let (part, document) = work.inspect(leaf);
            // Only a part to disarm needs its document again.
            documents.push(document.filter(|_| part.action == PartAction::Disarm));
            report.parts.push(part);
        }
        report.timings_us.inspect = micros(t);

        // Disarm what the policy disarms, rebuild what the content policy
        // rebuilds.
        let t = Instant::now();
        let mut replacements: BTreeMap<String, Replacement> = BTreeMap::new();
        for ((leaf, part), document) in leaves.iter().zip(report.parts.iter_mut()).zip(documents) {
            if let Some(r) = work.replacement(leaf, part, document) {
                replacements.insert(part.path.clone(), r);
            }
        }
        report.timings_us.disarm = micros(t);
        if let Err(e) = work.budget.check_time() {
            return stop(report, dir.on_limit, e.describe(limits), started);
        }

        // Score.
        let t = Instant::now();
        let facts = facts::lure_facts(&headline, envelope, &leaves, &report, &replacements);
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

        // Decide: the strictest of every part's action and the lure's.
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
        let held = match strictest {
            PartAction::Reject => Some(MessageAction::Reject),
            PartAction::Quarantine => Some(MessageAction::Quarantine),
            PartAction::Keep | PartAction::Disarm | PartAction::Remove => None,
        };
        if let Some(action) = held {
            let reason = trace::reason(&report, strictest);
            return stop(report, action, reason, started);
        }

        // Rebuild: notices for what was removed, the trace on top.
        let t = Instant::now();
        let reference = notice::reference(&report.message.sha256).to_owned();
        let removed: Vec<&PartReport> = report.removed().collect();
        let disarmed: Vec<&PartReport> = report.disarmed().collect();
        for p in &removed {
            let text = notice::removed_part(p, &reference, &self.policy.notice);
            replacements.insert(p.path.clone(), Replacement::Notice(text));
        }
        let unpacked = &report.unpacked;
        let summary =
            (!removed.is_empty() || !disarmed.is_empty() || !unpacked.is_empty()).then(|| {
                notice::summary(
                    &removed,
                    &disarmed,
                    unpacked,
                    &reference,
                    &self.policy.notice,
                )
            });
        let tagged = report
            .lure
            .as_ref()
            .filter(|_| lure_action == LureAction::Tag);
        if tagged.is_some() {
            root.header = crate::header::tag_subject(
                &root.header,
                &lure_policy.subject_tag,
                line_ending(raw),
            );
        }
        let trace = trace::fields(&report, tagged);
        // Derived from, but not equal to, the published message hash.
        let seed = sha256(report.message.sha256.as_bytes());
        let rebuild = Rebuild {
            eol: line_ending(raw),
            replacements: &replacements,
            seed,
        };
        let output = rebuild.message(&root, &trace, summary.as_deref());
        report.timings_us.rebuild = micros(t);

        // Verify. Our header fields on top of the untouched original hold
        // nothing that was not inspected; anything else is parsed again and
        // checked.
        let t = Instant::now();
        let untouched = replacements.is_empty() && output.ends_with(raw);
        let unchanged = Rebuild {
            replacements: &BTreeMap::new(),
            ..rebuild
        };
        if !untouched
            && let Err(why) = verify::verify(
                &output,
                verify::expected_leaves(&report, &replacements, summary.as_deref()),
                limits,
                |root| unchanged.message(root, &trace, None),
            )
        {
            return stop(
                report,
                MessageAction::Quarantine,
                format!("rebuilt message failed verification: {why}"),
                started,
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

/// The outcome of a message held or refused as a whole: nothing comes out.
fn stop(mut report: Report, action: MessageAction, reason: String, started: Instant) -> Outcome {
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

fn collect_unpacked(e: &Entity, out: &mut Vec<UnpackedReport>) {
    if let Some((kind, detail)) = &e.unpacked {
        out.push(UnpackedReport {
            path: e.path.clone(),
            kind: (*kind).to_owned(),
            detail: detail.clone(),
        });
    }
    match &e.body {
        Body::Leaf(_) => {}
        Body::Multipart { children, .. } => children.iter().for_each(|c| collect_unpacked(c, out)),
        Body::Message { inner, .. } => collect_unpacked(inner, out),
    }
}

fn charset<'e>(e: &'e Entity<'_>) -> Option<&'e str> {
    e.params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("charset"))
        .map(|(_, v)| v.as_str())
}
