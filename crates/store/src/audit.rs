//! The audit log: one JSON object per line, each chained to the one before.

use std::io::BufRead;

use mugai_core::{Direction, Verdict};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::EntryId;

/// The `prev` of the first record.
pub(crate) const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an audit record records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditEvent {
    /// A message the relay answered in-line, or refused before the engine ran.
    #[default]
    Message,
    /// A message accepted into the spool.
    Queued,
    /// A spooled message delivered, quarantined or bounced.
    Delivery,
    /// A spooled message tried and kept for a later attempt.
    Deferred,
    /// A spooled message bounced at the end of its lifetime.
    Expired,
    /// A spooled message past its lifetime that could not be quarantined,
    /// so it stays in the spool.
    ExpiredKept,
    /// An operator released a quarantined message.
    Release,
    /// An operator deleted a quarantined message.
    Delete,
    /// An original was removed at the end of its retention.
    Purge,
}

impl AuditEvent {
    /// The name in the log: `message`, `queued`, `release`, ...
    pub fn name(self) -> &'static str {
        match self {
            AuditEvent::Message => "message",
            AuditEvent::Queued => "queued",
            AuditEvent::Delivery => "delivery",
            AuditEvent::Deferred => "deferred",
            AuditEvent::Expired => "expired",
            AuditEvent::ExpiredKept => "expired_kept",
            AuditEvent::Release => "release",
            AuditEvent::Delete => "delete",
            AuditEvent::Purge => "purge",
        }
    }
}

impl std::fmt::Display for AuditEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One event worth an auditor's attention. Fields that do not apply stay out
/// of the line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When, in Unix milliseconds.
    pub time_ms: u64,
    /// What happened.
    pub event: AuditEvent,
    /// The listener (segment crossing) involved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listener: Option<String>,
    /// Which way the message crossed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
    /// SMTP client address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_ip: Option<String>,
    /// HELO/EHLO name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helo: Option<String>,
    /// MAIL FROM; empty for the null sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail_from: Option<String>,
    /// RCPT TO.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rcpt_to: Vec<String>,
    /// Message-ID header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// sha256 of the message as received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Size as received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The engine's decision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// Why, in a line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// `kind@location` of every finding that changed the message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<String>,
    /// The quarantine entry holding the original.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantine: Option<EntryId>,
    /// What the next hop answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_hop_reply: Option<String>,
    /// What mugai answered the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    /// Who did it, for operator actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
}

#[derive(Serialize)]
struct Chained<'a> {
    prev: &'a str,
    #[serde(flatten)]
    record: &'a AuditRecord,
}

/// The line to append after a line whose hash is `prev`.
pub(crate) fn chain_line(prev: &str, record: &AuditRecord) -> Vec<u8> {
    // Serializing plain data into a Vec cannot fail.
    serde_json::to_vec(&Chained { prev, record }).unwrap_or_default()
}

pub(crate) fn line_hash(line: &[u8]) -> String {
    hex::encode(Sha256::digest(line))
}

/// Where a chain breaks.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The log could not be read.
    #[error("reading the audit log: {0}")]
    Io(#[from] std::io::Error),
    /// Line `line` (1-based) is not a record, or does not follow the line before.
    #[error("line {line}: {what}")]
    Broken {
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        what: String,
    },
}

/// Checks every link of the chain; returns the number of records.
///
/// A chain proves that no line was changed, inserted or removed in the middle.
/// Lines cut off the end leave a shorter valid chain: compare the count with
/// what was reported elsewhere (the metrics, a copy) to see that.
pub fn verify_chain(log: impl BufRead) -> Result<usize, ChainError> {
    let mut chain = ChainCheck::default();
    for line in log.split(b'\n') {
        chain.next(&line?)?;
    }
    Ok(chain.count)
}

/// Follows a chain one line at a time, wherever the lines come from.
#[derive(Debug)]
pub(crate) struct ChainCheck {
    prev: String,
    /// Lines checked so far.
    pub(crate) count: usize,
}

impl Default for ChainCheck {
    fn default() -> Self {
        Self {
            prev: GENESIS.to_owned(),
            count: 0,
        }
    }
}

impl ChainCheck {
    /// Checks that `line` is a record chained to the line before.
    pub(crate) fn next(&mut self, line: &[u8]) -> Result<(), ChainError> {
        let number = self.count + 1;
        let broken = |what: String| ChainError::Broken { line: number, what };
        let value: serde_json::Value =
            serde_json::from_slice(line).map_err(|e| broken(format!("not JSON: {e}")))?;
        let claimed = value
            .get("prev")
            .and_then(|p| p.as_str())
            .ok_or_else(|| broken("no prev field".into()))?;
        if claimed != self.prev {
            return Err(broken(format!(
                "prev is {claimed}, but the line before hashes to {}",
                self.prev
            )));
        }
        self.prev = line_hash(line);
        self.count = number;
        Ok(())
    }
}
