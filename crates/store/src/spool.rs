//! Spool entries: a message accepted with 250 and not yet delivered.

use mugai_core::Envelope;
use serde::{Deserialize, Serialize};

/// What is kept beside a spooled message; rewritten after each attempt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpoolEntry {
    /// When the message was accepted, in Unix milliseconds.
    pub received_at_ms: u64,
    /// Which listener accepted it (its policy direction and next hop apply).
    pub listener: String,
    /// The envelope as accepted.
    pub envelope: Envelope,
    /// The client asked for BODY=8BITMIME.
    #[serde(default)]
    pub body_8bit: bool,
    /// The client asked for SMTPUTF8.
    #[serde(default)]
    pub smtputf8: bool,
    /// Recipients not yet delivered or bounced.
    pub pending: Vec<String>,
    /// Delivery attempts so far.
    #[serde(default)]
    pub attempts: u32,
    /// Not before this time (Unix milliseconds).
    #[serde(default)]
    pub next_attempt_ms: u64,
    /// The quarantine entry of the original, once one was needed (kept
    /// across attempts so a retry does not store it again).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quarantine: Option<crate::EntryId>,
    /// Why the last attempt failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}
