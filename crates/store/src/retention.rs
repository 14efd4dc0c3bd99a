//! How long originals are kept, and the pass that removes those past it.
//! Each removal is an audit record; the audit log itself is never removed.

use mugai_core::Verdict;
use serde::Deserialize;

use crate::{AuditEvent, AuditRecord, EntryId, Store, StoreError};

/// Days an original is kept in the quarantine, by the verdict on its
/// message (`[retention_days]` in the configuration). 90 days each by
/// default: the usual period in which a recipient asks for an original.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Originals of messages delivered sanitized.
    #[serde(default = "ninety")]
    pub deliver: u32,
    /// Originals of messages held in the quarantine.
    #[serde(default = "ninety")]
    pub quarantine: u32,
    /// Originals of refused messages, and anything else kept.
    #[serde(default = "ninety")]
    pub reject: u32,
}

fn ninety() -> u32 {
    90
}

impl Default for Retention {
    fn default() -> Self {
        Self {
            deliver: ninety(),
            quarantine: ninety(),
            reject: ninety(),
        }
    }
}

impl Retention {
    /// The days an original of a message with `verdict` is kept.
    pub fn days(&self, verdict: Verdict) -> u32 {
        match verdict {
            Verdict::Deliver => self.deliver,
            Verdict::Quarantine => self.quarantine,
            Verdict::Reject | Verdict::Tempfail => self.reject,
        }
    }
}

const DAY_MS: u64 = 24 * 3600 * 1000;

/// Removes every quarantine entry older than its retention at `now_ms`,
/// with its original once no other entry needs it, and records each
/// removal in the audit log (before the entry goes: a removal that is not
/// recorded does not happen). Returns the ids removed.
pub fn expire(
    store: &dyn Store,
    retention: &Retention,
    now_ms: u64,
) -> Result<Vec<EntryId>, StoreError> {
    let mut removed = Vec::new();
    for (id, entry) in store.list()? {
        let keep_ms = u64::from(retention.days(entry.verdict)) * DAY_MS;
        if entry.received_at_ms.saturating_add(keep_ms) > now_ms {
            continue;
        }
        store.audit(&AuditRecord {
            time_ms: now_ms,
            event: AuditEvent::Purge,
            listener: Some(entry.listener.clone()),
            direction: Some(entry.envelope.direction),
            mail_from: entry.envelope.mail_from.clone(),
            rcpt_to: entry.envelope.rcpt_to.clone(),
            message_id: entry.report.message.message_id.clone(),
            sha256: Some(entry.sha256.clone()),
            size: Some(entry.size),
            verdict: Some(entry.verdict),
            reason: Some(format!(
                "retention of {} days ended",
                retention.days(entry.verdict)
            )),
            quarantine: Some(id.clone()),
            ..AuditRecord::default()
        })?;
        match store.delete(&id) {
            // Another process removed it meanwhile.
            Ok(()) | Err(StoreError::NotFound(_)) => removed.push(id),
            Err(e) => return Err(e),
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use mugai_core::{Engine, Envelope, Policy};

    use super::*;
    use crate::{FsStore, QuarantineEntry};

    fn entry(at: u64, verdict: Verdict) -> QuarantineEntry {
        QuarantineEntry {
            received_at_ms: at,
            envelope: Envelope::default(),
            listener: "inbound".into(),
            sha256: String::new(),
            size: 5,
            verdict,
            report: Engine::new(Policy::default())
                .process(b"hello", &Envelope::default())
                .report,
        }
    }

    #[test]
    fn originals_past_their_retention_go_and_the_log_says_so() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FsStore::open(dir.path()).expect("open");
        let now = 200 * DAY_MS;
        let old = store
            .quarantine(b"old", entry(now - 91 * DAY_MS, Verdict::Deliver))
            .expect("old");
        let young = store
            .quarantine(b"young", entry(now - 89 * DAY_MS, Verdict::Deliver))
            .expect("young");
        let held = store
            .quarantine(b"held", entry(now - 91 * DAY_MS, Verdict::Quarantine))
            .expect("held");
        let retention = Retention {
            quarantine: 365,
            ..Retention::default()
        };
        assert_eq!(expire(&store, &retention, now).expect("expire"), [old]);
        let left: Vec<EntryId> = store
            .list()
            .expect("list")
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(left, [held, young], "oldest first");
        let log = std::fs::read_to_string(store.audit_path()).expect("log");
        assert_eq!(log.lines().count(), 1);
        assert!(log.contains("\"event\":\"purge\""), "{log}");
        assert!(expire(&store, &retention, now).expect("again").is_empty());
    }
}
