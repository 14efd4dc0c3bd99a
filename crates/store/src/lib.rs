//! mugai-store: what mugai keeps on disk.
//!
//! - The **quarantine** holds originals: every message that was held and every
//!   message that was delivered only after a part was removed, so that an
//!   operator can look at it and release it. Objects are addressed by their
//!   sha256; each quarantine entry adds the envelope, the verdict and the report.
//! - The **spool** holds messages accepted in spool mode until they are
//!   delivered, quarantined or bounced; it survives a crash.
//! - The **sent-Message-ID memory** lists what the outbound direction
//!   delivered, for lure scoring of replies.
//! - The **audit log** is append-only JSON lines. Each record carries the sha256
//!   of the line before it, so an edited or deleted line breaks the chain and
//!   `verify` says where.
//!
//! [`Store`] is the interface, with two backends; every write is durable
//! before it returns, because an SMTP 250 may follow right after.
//!
//! - [`FsStore`] keeps everything in one local directory (fsync of the file
//!   and its directory). The default.
//! - [`PgStore`] keeps the quarantine, the audit chain and the
//!   sent-Message-ID memory in PostgreSQL, shared by several relay nodes;
//!   each node's spool stays in a local directory.
//!
//! [`StoreLocation`] is how a configuration names either, and opens it.

mod appender;
mod audit;
mod fs;
mod group;
mod location;
mod pg;
mod quarantine;
mod retention;
mod spool;
#[cfg(test)]
mod testing;

pub use audit::{AuditEvent, AuditRecord, ChainError, verify_chain};
pub use fs::FsStore;
pub use location::StoreLocation;
#[cfg(any(test, feature = "test-cluster"))]
pub use pg::PgCluster;
pub use pg::PgStore;
pub use quarantine::{EntryId, QuarantineEntry};
pub use retention::{Retention, expire};
pub use spool::SpoolEntry;

/// What can go wrong with the store. Every variant means "not durably done":
/// the SMTP side answers 451 and the client keeps the message.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The filesystem refused.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, with the path.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A stored record could not be read back.
    #[error("{what}: {source}")]
    Corrupt {
        /// What was being read, with the path.
        what: String,
        /// The underlying error.
        source: serde_json::Error,
    },
    /// No entry has this id.
    #[error("no entry {0}")]
    NotFound(String),
    /// Another process holds what this one needs (the spool), or every
    /// database connection stayed busy.
    #[error("{0}")]
    Busy(String),
    /// The database refused, or could not be reached.
    #[error("{what}: {source}")]
    Database {
        /// What was being done.
        what: String,
        /// The client's error, with the server's message when there is one.
        source: postgres::Error,
    },
    /// The store cannot be used as it is (a database migrated by a newer
    /// mugai).
    #[error("{0}")]
    Unusable(String),
}

impl StoreError {
    /// What was asked for is not there (an entry, or a file of one).
    pub fn is_missing(&self) -> bool {
        match self {
            StoreError::NotFound(_) => true,
            StoreError::Io { source, .. } => source.kind() == std::io::ErrorKind::NotFound,
            _ => false,
        }
    }

    /// The disk is full: SMTP says 452 rather than 451.
    pub fn is_disk_full(&self) -> bool {
        match self {
            StoreError::Io { source, .. } => source.kind() == std::io::ErrorKind::StorageFull,
            StoreError::Database { source, .. } => {
                source.code() == Some(&postgres::error::SqlState::DISK_FULL)
            }
            _ => false,
        }
    }
}

/// Quarantine, spool and audit, as the relay needs them.
pub trait Store: mugai_core::SentLog + Send + Sync {
    /// Keeps `original` with its entry; durable when this returns.
    fn quarantine(&self, original: &[u8], entry: QuarantineEntry) -> Result<EntryId, StoreError>;

    /// Every entry, oldest first.
    fn list(&self) -> Result<Vec<(EntryId, QuarantineEntry)>, StoreError>;

    /// One entry and its original.
    fn get(&self, id: &EntryId) -> Result<(QuarantineEntry, Vec<u8>), StoreError>;

    /// Drops an entry, and its original once no other entry refers to it.
    fn delete(&self, id: &EntryId) -> Result<(), StoreError>;

    /// Appends one record to the audit log; durable when this returns.
    fn audit(&self, record: &AuditRecord) -> Result<(), StoreError>;

    /// Whether a failed append left records waiting; cheap, never blocks.
    fn audit_failing(&self) -> bool;

    /// `Ok` when the audit log takes records now. After a failed append
    /// the records left waiting are tried again here; until they are
    /// written, an in-line relay refuses mail (451) rather than deliver
    /// what it cannot record.
    fn ready(&self) -> Result<(), StoreError>;

    /// Checks the whole audit chain; the number of records.
    fn verify_audit(&self) -> Result<usize, ChainError>;

    /// Makes this process the one that delivers the (local) spool, and
    /// removes what a crash left half-written there. Fails when another
    /// process delivers it.
    fn own_spool(&self) -> Result<(), StoreError>;

    /// Keeps a message until it is delivered; durable when this returns.
    fn spool(&self, message: &[u8], entry: &SpoolEntry) -> Result<EntryId, StoreError>;

    /// Every spooled message, oldest first.
    fn spooled(&self) -> Result<Vec<(EntryId, SpoolEntry)>, StoreError>;

    /// A spooled message's bytes.
    fn spooled_message(&self, id: &EntryId) -> Result<Vec<u8>, StoreError>;

    /// Sets a spool entry aside for an operator: its message cannot be
    /// read, so it is not tried again (`<id>.json.corrupt`).
    fn set_aside(&self, id: &EntryId) -> Result<(), StoreError>;

    /// Rewrites a spool entry after an attempt; durable when this returns.
    fn respool(&self, id: &EntryId, entry: &SpoolEntry) -> Result<(), StoreError>;

    /// Forgets a spooled message: it was delivered, quarantined or bounced.
    fn unspool(&self, id: &EntryId) -> Result<(), StoreError>;

    /// Remembers the Message-ID of a message our side sent out, so that a
    /// reply claiming to answer it can be told from one that only pretends to
    /// (lure scoring: a "reply" in a thread we never started).
    fn remember_sent(&self, message_id: &str) -> Result<(), StoreError>;
}
