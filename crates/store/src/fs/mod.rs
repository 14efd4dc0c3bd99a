//! The filesystem store: one directory, durable writes.
//!
//! ```text
//! <root>/quarantine/objects/<sha256>      originals, written once
//! <root>/quarantine/entries/<id>.json     one per quarantine event
//! <root>/quarantine/lock                  shared by writers, exclusive for
//!                                         deletes (an object in use is
//!                                         never removed)
//! <root>/spool/<id>.msg                   accepted, not yet delivered
//!                                         (`spool_dir.rs`)
//! <root>/spool/owner.lock                 held by the one process that
//!                                         delivers the spool
//! <root>/audit.jsonl                      the chained audit log
//! <root>/sent-message-ids                 one Message-ID per line
//! ```
//!
//! Several processes may use one store at once: the relay's sessions and
//! spool worker, `mugai quarantine` and `mugai audit` commands, another
//! relay. Appends to the audit log take an exclusive lock on it and chain
//! to its last line as it is on disk (`audit_log.rs`); every file is
//! written under a name of its own and renamed or linked into place
//! (`files.rs`); only the spool's owner sweeps the spool. Writers that
//! arrive together share the fsyncs of a directory and of the log.

mod audit_log;
mod files;
mod spool_dir;

pub(crate) use spool_dir::SpoolDir;

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use mugai_core::normalize_message_id;
use sha2::{Digest, Sha256};

use crate::{AuditRecord, ChainError, EntryId, QuarantineEntry, SpoolEntry, Store, StoreError};
use audit_log::AuditLog;
use files::{Dir, Lock, io, sync_dir, take_lock};

/// Everything in one directory on a local filesystem.
#[derive(Debug)]
pub struct FsStore {
    root: PathBuf,
    audit: AuditLog,
    objects: Dir,
    entries: Dir,
    spool: SpoolDir,
    /// Message-IDs the outbound side sent, loaded at open, and the file
    /// new ones are appended to.
    sent: Mutex<(HashSet<String>, File)>,
}

impl FsStore {
    /// Opens (creating if needed) the store under `root`. Opening changes
    /// nothing that another process may be using: the spool is swept by
    /// [`FsStore::own_spool`], a torn audit line is dropped by the next
    /// append, under the log's lock.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root = root.into();
        for dir in [
            root.join("quarantine/objects"),
            root.join("quarantine/entries"),
        ] {
            fs::create_dir_all(&dir).map_err(io("creating", &dir))?;
        }
        let sent_path = root.join("sent-message-ids");
        let mut sent_file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&sent_path)
            .map_err(io("opening", &sent_path))?;
        let mut known = String::new();
        sent_file
            .read_to_string(&mut known)
            .map_err(io("reading", &sent_path))?;
        let known = known.lines().map(str::to_owned).collect();
        let audit = AuditLog::open(root.join("audit.jsonl"))?;
        sync_dir(&root)?;
        Ok(Self {
            audit,
            objects: Dir::new(root.join("quarantine/objects")),
            entries: Dir::new(root.join("quarantine/entries")),
            spool: SpoolDir::open(root.join("spool"))?,
            sent: Mutex::new((known, sent_file)),
            root,
        })
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The audit log's open segment.
    pub fn audit_path(&self) -> PathBuf {
        self.root.join("audit.jsonl")
    }

    /// Closes the audit log's open segment (`audit-NNNNNN.jsonl`); the chain
    /// goes on in a new one. `None` when there was nothing to close.
    pub fn rotate_audit(&self) -> Result<Option<PathBuf>, StoreError> {
        self.audit.rotate()
    }

    fn object_path(&self, sha256: &str) -> PathBuf {
        self.objects.path.join(sha256)
    }

    fn entry_path(&self, id: &EntryId) -> PathBuf {
        self.entries.path.join(format!("{id}.json"))
    }

    /// The quarantine's lock, held until the returned file is dropped.
    fn quarantine_lock(&self, how: Lock) -> Result<File, StoreError> {
        take_lock(&self.root.join("quarantine/lock"), how)
    }

    /// The quarantine's entry ids, oldest first.
    fn entry_ids(&self) -> Result<Vec<EntryId>, StoreError> {
        let dir = &self.entries.path;
        let mut ids = Vec::new();
        for item in fs::read_dir(dir).map_err(io("listing", dir))? {
            let item = item.map_err(io("listing", dir))?;
            let name = item.file_name();
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if let Ok(id) = EntryId::parse(stem) {
                ids.push(id);
            }
        }
        ids.sort();
        Ok(ids)
    }

    fn read_entry(&self, id: &EntryId) -> Result<QuarantineEntry, StoreError> {
        let path = self.entry_path(id);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound(id.to_string()));
            }
            Err(e) => return Err(io("reading", &path)(e)),
        };
        serde_json::from_slice(&bytes).map_err(|source| StoreError::Corrupt {
            what: format!("quarantine entry {}", path.display()),
            source,
        })
    }
}

impl Store for FsStore {
    fn quarantine(&self, original: &[u8], entry: QuarantineEntry) -> Result<EntryId, StoreError> {
        let sha256 = hex::encode(Sha256::digest(original));
        // Shared with other writers, exclusive of deletes: the object found
        // here stays until the entry that needs it is written.
        let _writers = self.quarantine_lock(Lock::Shared)?;
        if !self.object_path(&sha256).exists() {
            self.objects.write(&sha256, &[original])?;
        }
        let entry = QuarantineEntry { sha256, ..entry };
        let json = serde_json::to_vec_pretty(&entry).unwrap_or_default();
        // The same original twice in one millisecond gets a numbered id.
        for attempt in 0..1000 {
            let id = EntryId::new(entry.received_at_ms, &entry.sha256, attempt);
            if self.entries.create(&format!("{id}.json"), &[&json])? {
                return Ok(id);
            }
        }
        Err(StoreError::Io {
            what: "naming a quarantine entry".into(),
            source: std::io::Error::other("1000 entries for one original in one millisecond"),
        })
    }

    fn list(&self) -> Result<Vec<(EntryId, QuarantineEntry)>, StoreError> {
        let ids = self.entry_ids()?;
        let mut entries = Vec::with_capacity(ids.len());
        for id in ids {
            match self.read_entry(&id) {
                Ok(entry) => entries.push((id, entry)),
                // Deleted since the listing.
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(entries)
    }

    fn get(&self, id: &EntryId) -> Result<(QuarantineEntry, Vec<u8>), StoreError> {
        let entry = self.read_entry(id)?;
        let path = self.object_path(&entry.sha256);
        let original = fs::read(&path).map_err(io("reading", &path))?;
        Ok((entry, original))
    }

    fn delete(&self, id: &EntryId) -> Result<(), StoreError> {
        let _alone = self.quarantine_lock(Lock::Exclusive)?;
        let entry = self.read_entry(id)?;
        let path = self.entry_path(id);
        fs::remove_file(&path).map_err(io("removing", &path))?;
        // Entry ids carry their original's sha256 prefix: only those that
        // share it are read. One that cannot be read keeps the original.
        let shared = self
            .entry_ids()?
            .iter()
            .filter(|other| other.sha256_prefix() == id.sha256_prefix())
            .any(|other| {
                self.read_entry(other)
                    .map_or(true, |e| e.sha256 == entry.sha256)
            });
        if !shared {
            let object = self.object_path(&entry.sha256);
            match fs::remove_file(&object) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io("removing", &object)(e)),
            }
        }
        self.entries.sync()
    }

    fn own_spool(&self) -> Result<(), StoreError> {
        if self.spool.own()? {
            self.objects.sweep_stale_temps()?;
            self.entries.sweep_stale_temps()?;
        }
        Ok(())
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
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        if sent.0.insert(id.clone()) {
            let path = self.root.join("sent-message-ids");
            sent.1
                .write_all(format!("{id}\n").as_bytes())
                .map_err(io("appending to", &path))?;
        }
        Ok(())
    }

    fn audit(&self, record: &AuditRecord) -> Result<(), StoreError> {
        self.audit.append(record)
    }

    fn audit_failing(&self) -> bool {
        self.audit.failing()
    }

    fn ready(&self) -> Result<(), StoreError> {
        self.audit.ready()
    }

    /// Walks every segment, closed ones first.
    fn verify_audit(&self) -> Result<usize, ChainError> {
        self.audit.verify()
    }
}

impl mugai_core::SentLog for FsStore {
    fn was_sent(&self, message_id: &str) -> bool {
        let sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.0.contains(&normalize_message_id(message_id))
    }
}

#[cfg(test)]
mod tests {
    use std::io::BufReader;

    use mugai_core::Envelope;

    use super::*;
    use crate::testing::{entry, record};
    use crate::{AuditEvent, verify_chain};

    fn verify(store: &FsStore) -> Result<usize, crate::ChainError> {
        verify_chain(BufReader::new(File::open(store.audit_path()).expect("log")))
    }

    #[test]
    fn quarantine_round_trip_and_shared_objects() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FsStore::open(dir.path()).expect("open");
        let a = store.quarantine(b"hello", entry(7)).expect("a");
        let b = store.quarantine(b"hello", entry(7)).expect("b");
        assert_ne!(a, b, "same original, same millisecond: two entries");
        let (got, original) = store.get(&a).expect("get");
        assert_eq!(original, b"hello");
        assert_eq!(got.envelope.rcpt_to, ["b@example.lg.jp"]);
        assert_eq!(store.list().expect("list").len(), 2);
        store.delete(&a).expect("delete a");
        assert_eq!(store.get(&b).expect("b still there").1, b"hello");
        store.delete(&b).expect("delete b");
        assert!(matches!(store.get(&b), Err(StoreError::NotFound(_))));
        let objects = fs::read_dir(dir.path().join("quarantine/objects")).expect("objects");
        assert_eq!(objects.count(), 0, "the last entry takes its object along");
    }

    fn spool_entry(at: u64) -> SpoolEntry {
        SpoolEntry {
            received_at_ms: at,
            listener: "inbound".into(),
            envelope: Envelope::default(),
            body_8bit: false,
            smtputf8: false,
            pending: vec!["b@example.lg.jp".into()],
            attempts: 0,
            next_attempt_ms: 0,
            last_error: None,
            quarantine: None,
        }
    }

    #[test]
    fn a_damaged_entry_does_not_block_deleting_others() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = FsStore::open(dir.path()).expect("open");
        let a = store.quarantine(b"one", entry(7)).expect("a");
        let b = store.quarantine(b"two", entry(8)).expect("b");
        fs::write(
            dir.path().join(format!("quarantine/entries/{b}.json")),
            b"{damaged",
        )
        .expect("damage");
        store.delete(&a).expect("delete a");
        let objects = fs::read_dir(dir.path().join("quarantine/objects")).expect("objects");
        assert_eq!(objects.count(), 1, "a's original went, b's stays");
    }

    #[test]
    fn spool_survives_reopen_and_sweeps_half_writes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = dir.path().join("spool");
        let id = {
            let store = FsStore::open(dir.path()).expect("open");
            store.spool(b"message", &spool_entry(5)).expect("spool")
        };
        // What a crash leaves: a temporary file, and the attempt record of
        // a message already gone.
        fs::write(spool.join(".0000000000009-ab.msg.1-0.tmp"), b"half").expect("temp");
        fs::write(spool.join("0000000000009-ab.state"), b"{}").expect("orphan");
        // An entry whose line is damaged.
        fs::write(spool.join("0000000000008-cd.msg"), b"{not json\nkept").expect("damaged");
        let store = FsStore::open(dir.path()).expect("reopen");
        assert!(
            spool.join("0000000000009-ab.state").exists(),
            "opening the store sweeps nothing: another process may be writing"
        );
        store.own_spool().expect("owner");
        assert!(!spool.join("0000000000009-ab.state").exists());
        assert!(!spool.join(".0000000000009-ab.msg.1-0.tmp").exists());
        let spooled = store.spooled().expect("list");
        assert_eq!(spooled.len(), 1, "the damaged entry is set aside");
        assert!(spool.join("0000000000008-cd.msg.corrupt").exists());
        drop(store);
        let store = FsStore::open(dir.path()).expect("reopen");
        store
            .own_spool()
            .expect("owner again once the first is gone");
        assert!(
            matches!(
                FsStore::open(dir.path()).expect("a second").own_spool(),
                Err(StoreError::Busy(_))
            ),
            "one owner at a time"
        );
        assert_eq!(spooled[0].0, id);
        assert_eq!(spooled[0].1, spool_entry(5));
        let mut entry = spooled[0].1.clone();
        entry.attempts = 3;
        store.respool(&id, &entry).expect("respool");
        assert_eq!(store.spooled().expect("list")[0].1.attempts, 3);
        assert_eq!(store.spooled_message(&id).expect("bytes"), b"message");
        store.unspool(&id).expect("unspool");
        assert!(store.spooled().expect("list").is_empty());
        let left: Vec<_> = fs::read_dir(&spool)
            .expect("spool")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(left.len(), 2, "the lock and the damaged entry: {left:?}");
    }

    #[test]
    fn spools_of_the_older_format_are_still_delivered() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool = dir.path().join("spool");
        fs::create_dir_all(&spool).expect("spool");
        let json = serde_json::to_vec(&spool_entry(3)).expect("json");
        fs::write(spool.join("0000000000003-aa.eml"), b"old message").expect("eml");
        fs::write(spool.join("0000000000003-aa.json"), &json).expect("json");
        // And one whose message went missing.
        fs::write(spool.join("0000000000004-bb.json"), &json).expect("json");
        let store = FsStore::open(dir.path()).expect("open");
        store.own_spool().expect("owner");
        let spooled = store.spooled().expect("list");
        assert_eq!(spooled.len(), 2);
        let (old, gone) = (&spooled[0].0, &spooled[1].0);
        assert_eq!(store.spooled_message(old).expect("bytes"), b"old message");
        let mut entry = spooled[0].1.clone();
        entry.attempts = 1;
        store.respool(old, &entry).expect("respool");
        assert_eq!(store.spooled().expect("list")[0].1.attempts, 1);
        // A message that cannot be read is set aside, not tried forever.
        assert!(store.spooled_message(gone).expect_err("gone").is_missing());
        store.set_aside(gone).expect("aside");
        assert!(spool.join("0000000000004-bb.json.corrupt").exists());
        store.unspool(old).expect("unspool");
        assert!(store.spooled().expect("list").is_empty());
    }

    #[test]
    fn many_writers_one_chain_and_every_object() {
        // Separate store instances are separate open files: their locks
        // exclude each other as those of separate processes do.
        let dir = tempfile::tempdir().expect("tempdir");
        let writers = 8;
        let each = 25;
        std::thread::scope(|s| {
            for w in 0..writers {
                let root = dir.path().to_owned();
                s.spawn(move || {
                    let store = FsStore::open(&root).expect("open");
                    for i in 0..each {
                        store.audit(&record(AuditEvent::Message)).expect("audit");
                        // The same original from every writer at once.
                        store
                            .quarantine(b"same macro document", entry(7))
                            .expect("quarantine");
                        if i % 5 == 0 {
                            let (id, _) =
                                store.list().expect("list").into_iter().next().expect("one");
                            match store.delete(&id) {
                                Ok(()) | Err(StoreError::NotFound(_)) => {}
                                Err(e) => panic!("delete {w}: {e}"),
                            }
                        }
                    }
                });
            }
        });
        let store = FsStore::open(dir.path()).expect("open");
        assert_eq!(verify(&store).expect("one unbroken chain"), writers * each);
        for (id, _) in store.list().expect("list") {
            store.get(&id).expect("every entry keeps its original");
        }
        let temps = fs::read_dir(dir.path().join("quarantine/objects"))
            .expect("objects")
            .filter(|e| {
                e.as_ref()
                    .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "tmp"))
            })
            .count();
        assert_eq!(temps, 0, "no temporary file left");
    }

    #[test]
    fn appends_follow_records_written_by_another_process() {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = FsStore::open(dir.path()).expect("server");
        server.audit(&record(AuditEvent::Message)).expect("1");
        // `mugai quarantine release` in another process.
        FsStore::open(dir.path())
            .expect("cli")
            .audit(&record(AuditEvent::Release))
            .expect("2");
        server.audit(&record(AuditEvent::Message)).expect("3");
        assert_eq!(verify(&server).expect("valid"), 3);
    }

    #[test]
    fn sent_message_ids_are_remembered_across_restarts() {
        use mugai_core::SentLog;
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = FsStore::open(dir.path()).expect("open");
            store
                .remember_sent("<abc@city.example.lg.jp>")
                .expect("remember");
            store
                .remember_sent("<abc@city.example.lg.jp>")
                .expect("twice");
            store.remember_sent("").expect("nothing");
        }
        let store = FsStore::open(dir.path()).expect("reopen");
        assert!(store.was_sent(" <abc@city.example.lg.jp>"));
        assert!(!store.was_sent("<other@x>"));
        let file = fs::read_to_string(dir.path().join("sent-message-ids")).expect("file");
        assert_eq!(file, "abc@city.example.lg.jp\n");
    }

    #[test]
    fn ids_cannot_leave_the_store() {
        for bad in ["../x", "", "a/b", "/etc/passwd", "ABC"] {
            assert!(EntryId::parse(bad).is_err(), "{bad}");
        }
        assert!(EntryId::parse("0001700000000-0123abcd").is_ok());
    }

    #[test]
    fn audit_chain_survives_reopen_and_shows_tampering() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = FsStore::open(dir.path()).expect("open");
            store.audit(&record(AuditEvent::Message)).expect("1");
            store.audit(&record(AuditEvent::Message)).expect("2");
        }
        let store = FsStore::open(dir.path()).expect("reopen");
        store.audit(&record(AuditEvent::Release)).expect("3");
        assert_eq!(verify(&store).expect("valid"), 3);

        // Changing any line but the last breaks the line after it (the last
        // one is only checked by whoever holds its hash).
        let log = fs::read_to_string(store.audit_path()).expect("read");
        fs::write(store.audit_path(), log.replacen("message", "mess", 1)).expect("write");
        let err = verify(&store).expect_err("broken");
        assert!(err.to_string().starts_with("line 2:"), "{err}");
    }

    #[test]
    fn the_chain_goes_on_across_rotated_segments() {
        let dir = tempfile::tempdir().expect("tempdir");
        let server = FsStore::open(dir.path()).expect("server");
        server.audit(&record(AuditEvent::Message)).expect("1");
        server.audit(&record(AuditEvent::Message)).expect("2");
        // Another process rotates under the server's feet.
        let cli = FsStore::open(dir.path()).expect("cli");
        let closed = cli.rotate_audit().expect("rotate").expect("a segment");
        assert!(closed.ends_with("audit-000001.jsonl"));
        assert!(
            cli.rotate_audit().expect("rotate").is_none(),
            "nothing new to close"
        );
        server.audit(&record(AuditEvent::Message)).expect("3");
        cli.audit(&record(AuditEvent::Release)).expect("4");
        cli.rotate_audit().expect("rotate").expect("second segment");
        server.audit(&record(AuditEvent::Message)).expect("5");
        assert_eq!(server.verify_audit().expect("one chain"), 5);
        assert_eq!(
            fs::read_to_string(&closed).expect("closed").lines().count(),
            2
        );
        // A segment removed from the middle breaks the chain.
        fs::remove_file(dir.path().join("audit-000002.jsonl")).expect("remove");
        assert!(server.verify_audit().is_err());
    }

    #[test]
    fn a_torn_last_line_is_dropped_by_the_next_append() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let store = FsStore::open(dir.path()).expect("open");
            store.audit(&record(AuditEvent::Message)).expect("1");
        }
        let path = dir.path().join("audit.jsonl");
        let mut file = OpenOptions::new().append(true).open(&path).expect("append");
        file.write_all(b"{\"prev\":\"torn").expect("torn write");
        drop(file);
        let store = FsStore::open(dir.path()).expect("reopen");
        store.audit(&record(AuditEvent::Message)).expect("2");
        assert_eq!(verify(&store).expect("valid"), 2);
    }
}
