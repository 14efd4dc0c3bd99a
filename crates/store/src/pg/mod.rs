//! The PostgreSQL store, shared by several relay nodes: the quarantine
//! (entries and their originals), the audit chain and the sent-Message-ID
//! memory live in the database; each node keeps its own spool in a local
//! directory, as Postfix keeps its queue.
//!
//! ```text
//! mugai_objects     (sha256, data)                    originals, written once
//! mugai_quarantine  (id, sha256, received_at_ms, entry)
//! mugai_audit       (seq, line)                       the chained audit log
//! mugai_sent        (message_id)
//! mugai_schema      (version)                         migrations applied
//! ```
//!
//! Audit appends of every node are serialized by a transaction-scoped
//! advisory lock, under which the head is read: one chain, never forked.
//! Appends that arrive together in one process share one transaction.

mod pool;
mod schema;

#[cfg(any(test, feature = "test-cluster"))]
mod cluster;

#[cfg(any(test, feature = "test-cluster"))]
pub use cluster::PgCluster;

use std::path::Path;

use mugai_core::normalize_message_id;
use postgres::{Client, GenericClient};
use sha2::{Digest, Sha256};

use crate::appender::Appender;
use crate::audit::{ChainCheck, GENESIS, chain_line, line_hash};
use crate::fs::SpoolDir;
use crate::{AuditRecord, ChainError, EntryId, QuarantineEntry, SpoolEntry, Store, StoreError};
use pool::Pool;
use schema::MigrateError;

/// Connections one process opens at most.
const MAX_CONNECTIONS: usize = 10;

/// Serializes audit appends across nodes.
const AUDIT_LOCK: i64 = 0x6d75_6761_6900_0002;

/// Records read per query when the chain is verified.
const VERIFY_BATCH: i64 = 1000;

/// The quarantine and audit log in PostgreSQL, the spool in a local directory.
#[derive(Debug)]
pub struct PgStore {
    pool: Pool,
    spool: SpoolDir,
    appender: Appender,
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://...`, or libpq's
    /// `key=value` form), applies the migrations it has not seen, and
    /// opens the local spool under `local`.
    pub fn open(url: &str, local: &Path) -> Result<Self, StoreError> {
        let config: postgres::Config = url.parse().map_err(|source| StoreError::Database {
            what: "reading the database address".into(),
            source,
        })?;
        let pool = Pool::new(config, MAX_CONNECTIONS);
        pool.with("migrating the schema", |client| Ok(schema::migrate(client)))?
            .map_err(|e| match e {
                MigrateError::Database(source) => StoreError::Database {
                    what: "migrating the schema".into(),
                    source,
                },
                MigrateError::Newer { found, known } => StoreError::Unusable(format!(
                    "the database is at schema version {found}, written by a newer mugai; \
                 this one knows versions up to {known}"
                )),
            })?;
        Ok(Self {
            pool,
            spool: SpoolDir::open(local.join("spool"))?,
            appender: Appender::default(),
        })
    }

    /// Appends `records` in one transaction.
    fn write(&self, records: &[AuditRecord]) -> Result<(), StoreError> {
        self.pool
            .with("appending to the audit log", |c| append(c, records))
    }
}

/// Chains `records` to the log's last line, as it is in the database.
fn append(client: &mut Client, records: &[AuditRecord]) -> Result<(), postgres::Error> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&AUDIT_LOCK])?;
    let head = tx.query_opt(
        "SELECT seq, line FROM mugai_audit ORDER BY seq DESC LIMIT 1",
        &[],
    )?;
    let (mut seq, mut prev) = match head {
        Some(row) => (
            row.get::<_, i64>(0),
            line_hash(row.get::<_, &str>(1).as_bytes()),
        ),
        None => (0, GENESIS.to_owned()),
    };
    let insert = tx.prepare("INSERT INTO mugai_audit (seq, line) VALUES ($1, $2)")?;
    for record in records {
        // JSON written by serde_json is UTF-8.
        let line = String::from_utf8_lossy(&chain_line(&prev, record)).into_owned();
        seq += 1;
        tx.execute(&insert, &[&seq, &line])?;
        prev = line_hash(line.as_bytes());
    }
    tx.commit()
}

fn corrupt(what: String) -> impl FnOnce(serde_json::Error) -> StoreError {
    move |source| StoreError::Corrupt { what, source }
}

fn parse_entry(id: &str, json: &str) -> Result<QuarantineEntry, StoreError> {
    serde_json::from_str(json).map_err(corrupt(format!("quarantine entry {id}")))
}

/// Removes an entry, and its original when no other entry refers to it;
/// `false` when there was no such entry.
fn delete_entry(client: &mut Client, id: &str) -> Result<bool, postgres::Error> {
    let mut tx = client.transaction()?;
    let Some(row) = tx.query_opt("SELECT sha256 FROM mugai_quarantine WHERE id = $1", &[&id])?
    else {
        return Ok(false);
    };
    let sha256: String = row.get(0);
    // The original is locked before its entries, the order writers take
    // them in (see `keep_object`), so the two never wait on each other;
    // and no writer adds an entry for it until this commits.
    tx.execute(
        "SELECT 1 FROM mugai_objects WHERE sha256 = $1 FOR UPDATE",
        &[&sha256],
    )?;
    if tx.execute("DELETE FROM mugai_quarantine WHERE id = $1", &[&id])? == 0 {
        // Deleted by someone else meanwhile.
        return Ok(false);
    }
    tx.execute(
        "DELETE FROM mugai_objects WHERE sha256 = $1 \
         AND NOT EXISTS (SELECT 1 FROM mugai_quarantine WHERE sha256 = $1)",
        &[&sha256],
    )?;
    tx.commit()?;
    Ok(true)
}

/// Makes sure the object `sha256` exists and stays until this transaction
/// ends (a delete of it waits for the key-share lock).
fn keep_object(
    tx: &mut impl GenericClient,
    sha256: &str,
    original: &[u8],
) -> Result<(), postgres::Error> {
    loop {
        let found = tx.query_opt(
            "SELECT 1 FROM mugai_objects WHERE sha256 = $1 FOR KEY SHARE",
            &[&sha256],
        )?;
        if found.is_some() {
            return Ok(());
        }
        let inserted = tx.execute(
            "INSERT INTO mugai_objects (sha256, data) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            &[&sha256, &original],
        )?;
        if inserted == 1 {
            return Ok(());
        }
        // Another writer inserted it and committed: lock theirs.
    }
}

impl Store for PgStore {
    fn quarantine(&self, original: &[u8], entry: QuarantineEntry) -> Result<EntryId, StoreError> {
        let sha256 = hex::encode(Sha256::digest(original));
        let entry = QuarantineEntry { sha256, ..entry };
        let json = serde_json::to_string(&entry).unwrap_or_default();
        let received = i64::try_from(entry.received_at_ms).unwrap_or(i64::MAX);
        let named = self.pool.with("quarantining an original", |client| {
            let mut tx = client.transaction()?;
            keep_object(&mut tx, &entry.sha256, original)?;
            // The same original twice in one millisecond gets a numbered id.
            for attempt in 0..1000 {
                let id = EntryId::new(entry.received_at_ms, &entry.sha256, attempt);
                let inserted = tx.execute(
                    "INSERT INTO mugai_quarantine (id, sha256, received_at_ms, entry) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (id) DO NOTHING",
                    &[&id.as_str(), &entry.sha256, &received, &json],
                )?;
                if inserted == 1 {
                    tx.commit()?;
                    return Ok(Some(id));
                }
            }
            Ok(None)
        })?;
        named.ok_or_else(|| StoreError::Io {
            what: "naming a quarantine entry".into(),
            source: std::io::Error::other("1000 entries for one original in one millisecond"),
        })
    }

    fn list(&self) -> Result<Vec<(EntryId, QuarantineEntry)>, StoreError> {
        let rows = self.pool.with("listing the quarantine", |c| {
            c.query("SELECT id, entry FROM mugai_quarantine ORDER BY id", &[])
        })?;
        rows.iter()
            .map(|row| {
                let id: &str = row.get(0);
                let entry = parse_entry(id, row.get(1))?;
                Ok((EntryId::parse(id)?, entry))
            })
            .collect()
    }

    fn get(&self, id: &EntryId) -> Result<(QuarantineEntry, Vec<u8>), StoreError> {
        let row = self.pool.with("reading a quarantine entry", |c| {
            c.query_opt(
                "SELECT q.entry, o.data FROM mugai_quarantine q \
                 JOIN mugai_objects o ON o.sha256 = q.sha256 WHERE q.id = $1",
                &[&id.as_str()],
            )
        })?;
        let row = row.ok_or_else(|| StoreError::NotFound(id.to_string()))?;
        Ok((parse_entry(id.as_str(), row.get(0))?, row.get(1)))
    }

    fn delete(&self, id: &EntryId) -> Result<(), StoreError> {
        let deleted = self.pool.with("deleting a quarantine entry", |c| {
            delete_entry(c, id.as_str())
        })?;
        if deleted {
            Ok(())
        } else {
            Err(StoreError::NotFound(id.to_string()))
        }
    }

    fn audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        self.appender.append(record, |records| self.write(records))
    }

    fn audit_failing(&self) -> bool {
        self.appender.failing()
    }

    fn ready(&self) -> Result<(), StoreError> {
        self.appender.ready(|records| self.write(records))
    }

    fn verify_audit(&self) -> Result<usize, ChainError> {
        let mut chain = ChainCheck::default();
        loop {
            let after = i64::try_from(chain.count).unwrap_or(i64::MAX);
            let rows = self
                .pool
                .with("reading the audit log", |c| {
                    c.query(
                        "SELECT seq, line FROM mugai_audit WHERE seq > $1 ORDER BY seq LIMIT $2",
                        &[&after, &VERIFY_BATCH],
                    )
                })
                .map_err(|e| ChainError::Io(std::io::Error::other(e)))?;
            if rows.is_empty() {
                return Ok(chain.count);
            }
            for row in rows {
                let seq: i64 = row.get(0);
                if seq != after_plus(chain.count) {
                    return Err(ChainError::Broken {
                        line: chain.count + 1,
                        what: format!("record {} is missing (the next is {seq})", chain.count + 1),
                    });
                }
                chain.next(row.get::<_, &str>(1).as_bytes())?;
            }
        }
    }

    fn own_spool(&self) -> Result<(), StoreError> {
        self.spool.own().map(drop)
    }

    fn spool(&self, message: &[u8], entry: &SpoolEntry) -> Result<EntryId, StoreError> {
        self.spool.add(message, entry)
    }

    fn spooled(&self) -> Result<Vec<(EntryId, SpoolEntry)>, StoreError> {
        self.spool.entries()
    }

    fn spooled_message(&self, id: &EntryId) -> Result<Vec<u8>, StoreError> {
        self.spool.message(id)
    }

    fn set_aside(&self, id: &EntryId) -> Result<(), StoreError> {
        self.spool.set_aside(id)
    }

    fn respool(&self, id: &EntryId, entry: &SpoolEntry) -> Result<(), StoreError> {
        self.spool.update(id, entry)
    }

    fn unspool(&self, id: &EntryId) -> Result<(), StoreError> {
        self.spool.remove(id)
    }

    fn remember_sent(&self, message_id: &str) -> Result<(), StoreError> {
        let id = normalize_message_id(message_id);
        if id.is_empty() {
            return Ok(());
        }
        self.pool.with("remembering a sent Message-ID", |c| {
            c.execute(
                "INSERT INTO mugai_sent (message_id) VALUES ($1) ON CONFLICT DO NOTHING",
                &[&id],
            )
            .map(drop)
        })
    }
}

/// The sequence number record `count + 1` must carry.
fn after_plus(count: usize) -> i64 {
    i64::try_from(count).unwrap_or(i64::MAX).saturating_add(1)
}

impl mugai_core::SentLog for PgStore {
    /// A database that cannot be asked answers "not ours": a reply then
    /// gets no credit for answering a thread we started.
    fn was_sent(&self, message_id: &str) -> bool {
        let id = normalize_message_id(message_id);
        let found = self.pool.with("looking up a sent Message-ID", |c| {
            c.query_one(
                "SELECT EXISTS (SELECT 1 FROM mugai_sent WHERE message_id = $1)",
                &[&id],
            )
        });
        match found {
            Ok(row) => row.get(0),
            Err(e) => {
                tracing::warn!(error = %e, "sent Message-IDs cannot be read");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests;
