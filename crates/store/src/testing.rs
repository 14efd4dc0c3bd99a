//! What the tests of every backend build their records from.

use mugai_core::{Engine, Envelope, Policy, Verdict};

use crate::{AuditEvent, AuditRecord, QuarantineEntry};

pub(crate) fn entry(at: u64) -> QuarantineEntry {
    QuarantineEntry {
        received_at_ms: at,
        envelope: Envelope {
            mail_from: Some("a@example.com".into()),
            rcpt_to: vec!["b@example.lg.jp".into()],
            ..Envelope::default()
        },
        listener: "inbound".into(),
        sha256: String::new(),
        size: 5,
        verdict: Verdict::Quarantine,
        report: Engine::new(Policy::default())
            .process(b"hello", &Envelope::default())
            .report,
    }
}

pub(crate) fn record(event: AuditEvent) -> AuditRecord {
    AuditRecord {
        time_ms: 1,
        event,
        ..AuditRecord::default()
    }
}
