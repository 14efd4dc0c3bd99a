//! Hard caps on the work done for one message.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Caps that bound memory and time for one message. Exceeding one is a finding
/// plus a fail-closed action, never a panic and never a pass-through.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest message accepted for inspection, in bytes.
    pub max_message_bytes: usize,
    /// Deepest MIME nesting (multipart inside multipart, message/rfc822 inside it).
    pub max_mime_depth: usize,
    /// Most MIME parts in one message, nested messages included.
    pub max_parts: usize,
    /// Deepest archive nesting (a zip in a zip in a zip ...).
    pub max_archive_depth: usize,
    /// Most archive members inspected in one message, all archives together.
    pub max_archive_entries: usize,
    /// Largest single decompressed archive member, in bytes.
    pub max_entry_bytes: u64,
    /// Most bytes decompressed for one message, all archives together.
    pub max_decompressed_bytes: u64,
    /// Largest ratio of decompressed to compressed size for a member above 1 MiB.
    pub max_compression_ratio: u64,
    /// Wall-clock budget for one message, in milliseconds.
    pub max_time_ms: u64,
    /// Time one YARA scan of one blob may take, in milliseconds; a scan that
    /// runs out is a `limit_exceeded` finding.
    pub yara_timeout_ms: u64,
    /// Largest blob YARA scans, in bytes; a larger one is a
    /// `limit_exceeded` finding, never scanned in part and passed.
    pub yara_max_scan_bytes: usize,
    /// Most pixels of one image (one frame of an animation) decoded to be
    /// encoded again; a larger one is removed, never passed through.
    pub max_image_pixels: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_message_bytes: 64 << 20,
            max_mime_depth: 32,
            max_parts: 1_000,
            max_archive_depth: 6,
            max_archive_entries: 10_000,
            max_entry_bytes: 128 << 20,
            max_decompressed_bytes: 512 << 20,
            max_compression_ratio: 250,
            max_time_ms: 60_000,
            yara_timeout_ms: 10_000,
            yara_max_scan_bytes: 64 << 20,
            max_image_pixels: 40_000_000,
        }
    }
}

/// What is left of the limits while one message is inspected.
#[derive(Debug)]
pub(crate) struct Budget {
    pub(crate) limits: Limits,
    deadline: Instant,
    decompressed: u64,
    entries: usize,
}

/// Why a budget refused more work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Exhausted {
    Time,
    Entries,
    Bytes,
}

impl Exhausted {
    pub(crate) fn describe(&self, limits: &Limits) -> String {
        match self {
            Exhausted::Time => format!("time limit of {} ms reached", limits.max_time_ms),
            Exhausted::Entries => format!(
                "more than {} archive members in one message",
                limits.max_archive_entries
            ),
            Exhausted::Bytes => format!(
                "more than {} bytes decompressed in one message",
                limits.max_decompressed_bytes
            ),
        }
    }
}

impl Budget {
    pub(crate) fn new(limits: &Limits) -> Self {
        Self {
            limits: limits.clone(),
            deadline: Instant::now() + Duration::from_millis(limits.max_time_ms),
            decompressed: 0,
            entries: 0,
        }
    }

    pub(crate) fn check_time(&self) -> Result<(), Exhausted> {
        if Instant::now() > self.deadline {
            Err(Exhausted::Time)
        } else {
            Ok(())
        }
    }

    pub(crate) fn take_entry(&mut self) -> Result<(), Exhausted> {
        self.check_time()?;
        self.entries += 1;
        if self.entries > self.limits.max_archive_entries {
            Err(Exhausted::Entries)
        } else {
            Ok(())
        }
    }

    /// Bytes that may still be decompressed for one member.
    pub(crate) fn entry_allowance(&self) -> u64 {
        self.limits.max_entry_bytes.min(
            self.limits
                .max_decompressed_bytes
                .saturating_sub(self.decompressed),
        )
    }

    pub(crate) fn spend_bytes(&mut self, n: u64) -> Result<(), Exhausted> {
        self.decompressed = self.decompressed.saturating_add(n);
        if self.decompressed > self.limits.max_decompressed_bytes {
            Err(Exhausted::Bytes)
        } else {
            Ok(())
        }
    }
}
