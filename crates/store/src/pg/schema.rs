//! The database schema, as numbered migrations applied in order at start.
//! A migration, once released, is never edited: a change is a new one.

use postgres::Client;

/// Serializes migrations of relay nodes that start together.
const MIGRATION_LOCK: i64 = 0x6d75_6761_6900_0001;

/// Migration `n` is `MIGRATIONS[n - 1]`.
const MIGRATIONS: &[&str] = &[
    // 1: the quarantine, the audit chain and the sent-Message-ID memory.
    "CREATE TABLE mugai_objects (
         sha256 text PRIMARY KEY,
         data bytea NOT NULL
     );
     CREATE TABLE mugai_quarantine (
         id text PRIMARY KEY,
         sha256 text NOT NULL REFERENCES mugai_objects (sha256),
         received_at_ms bigint NOT NULL,
         entry text NOT NULL
     );
     CREATE INDEX mugai_quarantine_sha256 ON mugai_quarantine (sha256);
     CREATE TABLE mugai_audit (
         seq bigint PRIMARY KEY,
         line text NOT NULL
     );
     CREATE TABLE mugai_sent (
         message_id text PRIMARY KEY
     );",
];

/// What went wrong bringing the schema up to date.
#[derive(Debug)]
pub(super) enum MigrateError {
    Database(postgres::Error),
    /// A newer mugai migrated this database.
    Newer {
        found: i32,
        known: usize,
    },
}

impl From<postgres::Error> for MigrateError {
    fn from(e: postgres::Error) -> Self {
        MigrateError::Database(e)
    }
}

/// Applies the migrations the database has not seen, in one transaction.
pub(super) fn migrate(client: &mut Client) -> Result<(), MigrateError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS mugai_schema (version integer NOT NULL)")?;
    let found: i32 = tx
        .query_one("SELECT coalesce(max(version), 0) FROM mugai_schema", &[])?
        .get(0);
    let applied = usize::try_from(found).unwrap_or(usize::MAX);
    if applied > MIGRATIONS.len() {
        return Err(MigrateError::Newer {
            found,
            known: MIGRATIONS.len(),
        });
    }
    for (version, sql) in (1_i32..).zip(MIGRATIONS).skip(applied) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO mugai_schema (version) VALUES ($1)",
            &[&version],
        )?;
    }
    tx.commit()?;
    Ok(())
}
