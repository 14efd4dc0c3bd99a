//! Quarantine entries: who sent what to whom, and what mugai decided.

use std::fmt;

use mugai_core::{Envelope, Report, Verdict};
use serde::{Deserialize, Serialize};

use crate::StoreError;

/// Names one quarantine entry: `<unix milliseconds>-<sha256 prefix>`, so that
/// a plain listing sorts by arrival.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EntryId(String);

impl EntryId {
    pub(crate) fn new(received_at_ms: u64, sha256: &str, attempt: u32) -> Self {
        let prefix = sha256.get(..16).unwrap_or(sha256);
        match attempt {
            0 => Self(format!("{received_at_ms:013}-{prefix}")),
            n => Self(format!("{received_at_ms:013}-{prefix}-{n}")),
        }
    }

    /// Parses an id typed by an operator. Only digits, lowercase hex and `-`
    /// pass, so an id can never name a path outside the store.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'-');
        if ok {
            Ok(Self(s.to_owned()))
        } else {
            Err(StoreError::NotFound(s.to_owned()))
        }
    }

    /// The sha256 prefix of the original it names.
    pub(crate) fn sha256_prefix(&self) -> Option<&str> {
        self.0.split('-').nth(1)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What is kept beside a quarantined original.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarantineEntry {
    /// When the message arrived, in Unix milliseconds.
    pub received_at_ms: u64,
    /// The SMTP envelope, which a release sends to again.
    pub envelope: Envelope,
    /// Which listener took the message.
    pub listener: String,
    /// sha256 of the original: the object's address.
    pub sha256: String,
    /// Size of the original in bytes.
    pub size: u64,
    /// The engine's decision. `Deliver` means a sanitized copy went on and
    /// this is the original behind it.
    pub verdict: Verdict,
    /// The engine's report.
    pub report: Report,
}
