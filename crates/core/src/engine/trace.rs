//! The trace the engine leaves on a delivered message: `X-Mugai-*` header
//! fields, and the reason given when it delivers nothing.

use crate::lure::{LureAction, LureReport};
use crate::report::{PartReport, Report};
use crate::vocab::PartAction;

/// The header lists a few parts; the report and the notice list them all.
const LISTED: usize = 20;

/// What the engine did to one part, as the trace names it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    Removed,
    Disarmed,
    /// Nothing was found; the content policy rebuilt it anyway.
    Rebuilt,
}

impl Change {
    fn of(p: &PartReport) -> Option<Self> {
        match p.action {
            PartAction::Remove => Some(Change::Removed),
            PartAction::Disarm => Some(Change::Disarmed),
            PartAction::Keep if p.disarmed.is_some() => Some(Change::Rebuilt),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Change::Removed => "removed",
            Change::Disarmed => "disarmed",
            Change::Rebuilt => "rebuilt",
        }
    }
}

/// `X-Mugai-Verdict`, `X-Mugai-Actions`, `X-Mugai-Message-SHA256`, and
/// `X-Mugai-Lure` when the message was tagged.
pub(super) fn fields(report: &Report, tagged: Option<&LureReport>) -> Vec<(&'static str, String)> {
    let changed: Vec<(&PartReport, Change)> = report
        .parts
        .iter()
        .filter_map(|p| Change::of(p).map(|c| (p, c)))
        .collect();
    let mut actions: Vec<String> = changed
        .iter()
        .take(LISTED)
        .map(|(p, change)| {
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
            format!("{}={}({})", p.path, change.name(), kinds.join(","))
        })
        .collect();
    if changed.len() > LISTED {
        actions.push(format!("+{} more", changed.len() - LISTED));
    }
    for u in &report.unpacked {
        actions.push(format!("{}=unpacked({})", u.path, u.kind));
    }
    let verdict = if changed.iter().any(|(_, c)| *c != Change::Rebuilt) {
        "disarmed"
    } else if changed.is_empty() && report.unpacked.is_empty() {
        "clean"
    } else {
        "rebuilt"
    };
    let mut fields = vec![
        (
            "X-Mugai-Verdict",
            format!("{verdict}; version={}", env!("CARGO_PKG_VERSION")),
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
    if let Some(lure) = tagged {
        fields.push(("X-Mugai-Lure", lure.summary()));
    }
    fields
}

/// Why nothing is delivered, when the strictest action is `action`
/// (quarantine or reject): the lure score that reached its threshold, or
/// the findings that asked for it.
pub(super) fn reason(report: &Report, action: PartAction) -> String {
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
            l.heaviest()
        );
    }
    let hits: Vec<String> = report
        .parts
        .iter()
        .filter(|p| p.action == action)
        .flat_map(|p| {
            p.findings
                .iter()
                .map(|f| format!("{} in {}", f.kind, f.location))
        })
        .collect();
    format!("policy: {}", hits.join("; "))
}
