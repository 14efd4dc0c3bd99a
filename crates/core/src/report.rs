//! The audit record of one message: every part, every finding, every action.

use serde::{Deserialize, Serialize};

use crate::finding::Finding;
use crate::identify::FileType;
use crate::lure::LureReport;
use crate::vocab::{Direction, PartAction, Verdict};

/// The audit record of one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Version of mugai that wrote the record.
    pub mugai_version: String,
    /// Which way the message crossed.
    pub direction: Direction,
    /// The decision.
    pub verdict: Verdict,
    /// Why the message was not delivered, or what went wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The message as received.
    pub message: MessageInfo,
    /// sha256 of the message as delivered, when delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_sha256: Option<String>,
    /// Every leaf part, in MIME order.
    pub parts: Vec<PartReport>,
    /// Wrappers written anew as the parts they held (a TNEF part as its
    /// attachments): the message changed even when no part did.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unpacked: Vec<UnpackedReport>,
    /// The lure score, when the message got that far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lure: Option<LureReport>,
    /// Where the time went, in microseconds.
    pub timings_us: Timings,
}

impl Report {
    /// Whether inspection found anything in any part.
    pub fn found_anything(&self) -> bool {
        self.parts.iter().any(|p| !p.findings.is_empty())
    }

    /// Parts the policy removed.
    pub fn removed(&self) -> impl Iterator<Item = &PartReport> {
        self.parts.iter().filter(|p| p.action == PartAction::Remove)
    }

    /// Parts delivered rebuilt without their active content.
    pub fn disarmed(&self) -> impl Iterator<Item = &PartReport> {
        self.parts.iter().filter(|p| p.action == PartAction::Disarm)
    }
}

/// Identity of the message as received.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MessageInfo {
    /// sha256 of the raw message: the reference quoted in notices.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Message-ID header, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// From header, decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Subject header, decoded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
}

/// One leaf part of the MIME tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartReport {
    /// IMAP-style section path (`1`, `2.1`, ...).
    pub path: String,
    /// Declared Content-Type (type/subtype, lower case).
    pub declared_type: String,
    /// Declared file name, decoded (RFC 2047/2231).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared_name: Option<String>,
    /// Type found from the bytes.
    pub true_type: FileType,
    /// Decoded size in bytes.
    pub size: u64,
    /// sha256 of the decoded content.
    pub sha256: String,
    /// Everything inspection found.
    pub findings: Vec<Finding>,
    /// What the policy did with the part.
    pub action: PartAction,
    /// Archive members, recursively, when the part is an archive.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entries: Vec<EntryReport>,
    /// The rebuilt part, when the action is `disarm`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disarmed: Option<DisarmReport>,
    /// Why disarming failed, when the policy asked for it and the part was
    /// removed instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disarm_failed: Option<String>,
}

/// A wrapper the MIME layer wrote anew as the parts it held.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnpackedReport {
    /// Section path of the wrapper, whose parts are now below it.
    pub path: String,
    /// What kind of wrapper: `tnef`.
    pub kind: String,
    /// What became of it, in a sentence.
    pub detail: String,
}

/// A part as delivered after disarming.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DisarmReport {
    /// What was taken out, one line each, with where it was.
    pub removed: Vec<String>,
    /// The file name it is delivered under (`x.docm` becomes `x.docx`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The MIME type it is delivered as.
    pub content_type: String,
    /// Type found from the rebuilt bytes.
    pub true_type: FileType,
    /// Size in bytes.
    pub size: u64,
    /// sha256 of the rebuilt content.
    pub sha256: String,
}

/// One archive member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryReport {
    /// Location, `part.zip!dir/member`.
    pub path: String,
    /// Decompressed size in bytes.
    pub size: u64,
    /// Type found from the bytes.
    pub true_type: FileType,
    /// sha256 of the member.
    pub sha256: String,
}

/// Time spent per stage, in microseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timings {
    /// MIME parsing.
    pub parse: u64,
    /// Identification and inspection of every part.
    pub inspect: u64,
    /// Rebuilding parts without their active content, and checking them.
    #[serde(default)]
    pub disarm: u64,
    /// Lure scoring.
    #[serde(default)]
    pub score: u64,
    /// Rebuilding the message.
    pub rebuild: u64,
    /// Checking the rebuilt message.
    pub verify: u64,
    /// Everything.
    pub total: u64,
}
