//! The filesystem store: one directory, durable writes.
//!
//! ```text
//! <root>/quarantine/objects/<sha256>      originals, written once
//! <root>/quarantine/entries/<id>.json     one per quarantine event
//! <root>/spool/<id>.eml                  accepted, not yet delivered
//! <root>/spool/<id>.json                  its envelope and attempts; written
//!                                         after the .eml, so its presence
//!                                         means the entry is whole
//! <root>/audit.jsonl                      the chained audit log
//! <root>/sent-message-ids                 one Message-ID per line
//! ```

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use mugai_core::normalize_message_id;
use sha2::{Digest, Sha256};

use crate::audit::{GENESIS, chain_line, line_hash};
use crate::{AuditRecord, EntryId, QuarantineEntry, SpoolEntry, Store, StoreError};

/// Everything in one directory on a local filesystem.
#[derive(Debug)]
pub struct FsStore {
    root: PathBuf,
    /// The open log and the hash of its last line; the lock orders appends.
    audit: Mutex<AuditFile>,
    /// Message-IDs the outbound side sent, loaded at open, and the file
    /// new ones are appended to.
    sent: Mutex<(HashSet<String>, File)>,
}

#[derive(Debug)]
struct AuditFile {
    file: File,
    last_hash: String,
}

fn io(what: impl std::fmt::Display, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let what = format!("{what} {}", path.display());
    move |source| StoreError::Io { what, source }
}

impl FsStore {
    /// Opens (creating if needed) the store under `root`.
    ///
    /// A last audit line without its newline is a write that a crash cut
    /// short; it was never acknowledged, so it is dropped.
    pub fn open(root: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let root = root.into();
        for dir in [
            root.join("quarantine/objects"),
            root.join("quarantine/entries"),
            root.join("spool"),
        ] {
            fs::create_dir_all(&dir).map_err(io("creating", &dir))?;
        }
        let path = root.join("audit.jsonl");
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io("opening", &path))?;
        let last_hash = last_line_hash(&mut file, &path)?;
        sweep_spool(&root.join("spool"))?;
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
        sync_dir(&root)?;
        Ok(Self {
            root,
            audit: Mutex::new(AuditFile { file, last_hash }),
            sent: Mutex::new((known, sent_file)),
        })
    }

    /// The store's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The audit log's path, for `mugai audit verify`.
    pub fn audit_path(&self) -> PathBuf {
        self.root.join("audit.jsonl")
    }

    fn object_path(&self, sha256: &str) -> PathBuf {
        self.root.join("quarantine/objects").join(sha256)
    }

    fn spool_path(&self, id: &EntryId, ext: &str) -> PathBuf {
        self.root.join("spool").join(format!("{id}.{ext}"))
    }

    fn entry_path(&self, id: &EntryId) -> PathBuf {
        self.root
            .join("quarantine/entries")
            .join(format!("{id}.json"))
    }
}

impl Store for FsStore {
    fn quarantine(&self, original: &[u8], entry: QuarantineEntry) -> Result<EntryId, StoreError> {
        let sha256 = hex::encode(Sha256::digest(original));
        let object = self.object_path(&sha256);
        if !object.exists() {
            write_durably(&object, original)?;
        }
        let entry = QuarantineEntry { sha256, ..entry };
        let json = serde_json::to_vec_pretty(&entry).unwrap_or_default();
        // The same original twice in one millisecond gets a numbered id.
        for attempt in 0..1000 {
            let id = EntryId::new(entry.received_at_ms, &entry.sha256, attempt);
            let path = self.entry_path(&id);
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    file.write_all(&json).map_err(io("writing", &path))?;
                    file.sync_all().map_err(io("syncing", &path))?;
                    sync_dir(path.parent().unwrap_or(&self.root))?;
                    return Ok(id);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io("creating", &path)(e)),
            }
        }
        Err(StoreError::Io {
            what: "naming a quarantine entry".into(),
            source: std::io::Error::other("1000 entries for one original in one millisecond"),
        })
    }

    fn list(&self) -> Result<Vec<(EntryId, QuarantineEntry)>, StoreError> {
        let dir = self.root.join("quarantine/entries");
        let mut ids = Vec::new();
        for item in fs::read_dir(&dir).map_err(io("listing", &dir))? {
            let item = item.map_err(io("listing", &dir))?;
            let name = item.file_name();
            let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".json")) else {
                continue;
            };
            if let Ok(id) = EntryId::parse(stem) {
                ids.push(id);
            }
        }
        ids.sort();
        ids.into_iter()
            .map(|id| {
                let entry = self.read_entry(&id)?;
                Ok((id, entry))
            })
            .collect()
    }

    fn get(&self, id: &EntryId) -> Result<(QuarantineEntry, Vec<u8>), StoreError> {
        let entry = self.read_entry(id)?;
        let path = self.object_path(&entry.sha256);
        let original = fs::read(&path).map_err(io("reading", &path))?;
        Ok((entry, original))
    }

    fn delete(&self, id: &EntryId) -> Result<(), StoreError> {
        let entry = self.read_entry(id)?;
        let path = self.entry_path(id);
        fs::remove_file(&path).map_err(io("removing", &path))?;
        let shared = self
            .list()?
            .iter()
            .any(|(_, other)| other.sha256 == entry.sha256);
        if !shared {
            let object = self.object_path(&entry.sha256);
            fs::remove_file(&object).map_err(io("removing", &object))?;
        }
        sync_dir(&self.root.join("quarantine/entries"))
    }

    fn spool(&self, message: &[u8], entry: &SpoolEntry) -> Result<EntryId, StoreError> {
        let sha256 = hex::encode(Sha256::digest(message));
        for attempt in 0..1000 {
            let id = EntryId::new(entry.received_at_ms, &sha256, attempt);
            let eml = self.spool_path(&id, "eml");
            match OpenOptions::new().write(true).create_new(true).open(&eml) {
                Ok(mut file) => {
                    file.write_all(message).map_err(io("writing", &eml))?;
                    file.sync_all().map_err(io("syncing", &eml))?;
                    let json = serde_json::to_vec_pretty(entry).unwrap_or_default();
                    write_durably(&self.spool_path(&id, "json"), &json)?;
                    return Ok(id);
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io("creating", &eml)(e)),
            }
        }
        Err(StoreError::Io {
            what: "naming a spool entry".into(),
            source: std::io::Error::other("1000 entries for one message in one millisecond"),
        })
    }

    fn spooled(&self) -> Result<Vec<(EntryId, SpoolEntry)>, StoreError> {
        let mut out = Vec::new();
        for id in self.spool_ids()? {
            let path = self.spool_path(&id, "json");
            let bytes = match fs::read(&path) {
                Ok(b) => b,
                // Delivered and removed since the listing.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io("reading", &path)(e)),
            };
            match serde_json::from_slice(&bytes) {
                Ok(entry) => out.push((id, entry)),
                // One unreadable entry must not stall the whole queue: it is
                // set aside, message and all, for an operator to look at.
                Err(_) => {
                    let aside = path.with_extension("json.corrupt");
                    fs::rename(&path, &aside).map_err(io("setting aside", &path))?;
                }
            }
        }
        Ok(out)
    }

    fn spooled_message(&self, id: &EntryId) -> Result<Vec<u8>, StoreError> {
        let path = self.spool_path(id, "eml");
        fs::read(&path).map_err(io("reading", &path))
    }

    fn respool(&self, id: &EntryId, entry: &SpoolEntry) -> Result<(), StoreError> {
        let json = serde_json::to_vec_pretty(entry).unwrap_or_default();
        write_durably(&self.spool_path(id, "json"), &json)
    }

    fn unspool(&self, id: &EntryId) -> Result<(), StoreError> {
        // The .json goes first: without it, the .eml is a leftover that
        // open() sweeps, never a message delivered twice.
        for ext in ["json", "eml"] {
            let path = self.spool_path(id, ext);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io("removing", &path)(e)),
            }
        }
        sync_dir(&self.root.join("spool"))
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
        let path = self.audit_path();
        // A poisoned lock means another append panicked midway; the file
        // itself is still append-only, so carry on with it.
        let mut audit = self.audit.lock().unwrap_or_else(|p| p.into_inner());
        let mut line = chain_line(&audit.last_hash, record);
        let hash = line_hash(&line);
        line.push(b'\n');
        audit
            .file
            .write_all(&line)
            .map_err(io("appending to", &path))?;
        audit.file.sync_data().map_err(io("syncing", &path))?;
        audit.last_hash = hash;
        Ok(())
    }
}

impl mugai_core::SentLog for FsStore {
    fn was_sent(&self, message_id: &str) -> bool {
        let sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.0.contains(&normalize_message_id(message_id))
    }
}

impl FsStore {
    fn spool_ids(&self) -> Result<Vec<EntryId>, StoreError> {
        let dir = self.root.join("spool");
        let mut ids = Vec::new();
        for item in fs::read_dir(&dir).map_err(io("listing", &dir))? {
            let item = item.map_err(io("listing", &dir))?;
            let name = item.file_name();
            if let Some(id) = name
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
                .and_then(|n| EntryId::parse(n).ok())
            {
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

/// `<id@host>` and ` id@host ` name the same message: the brackets and
/// spaces go, and so would any line break an attacker put in.
/// Removes what a crash left half-written in the spool: a message whose
/// entry file never appeared was never acknowledged.
fn sweep_spool(dir: &Path) -> Result<(), StoreError> {
    for item in fs::read_dir(dir).map_err(io("listing", dir))? {
        let path = item.map_err(io("listing", dir))?.path();
        let orphan = match path.extension().and_then(|e| e.to_str()) {
            Some("tmp") => true,
            Some("eml") => {
                !path.with_extension("json").exists()
                    && !path.with_extension("json.corrupt").exists()
            }
            _ => false,
        };
        if orphan {
            fs::remove_file(&path).map_err(io("removing", &path))?;
        }
    }
    Ok(())
}

/// Writes `bytes` to `path` so that after a crash the file is either absent or
/// whole: a temporary file, fsync, rename, fsync of the directory.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let tmp = path.with_extension("tmp");
    let mut file = File::create(&tmp).map_err(io("creating", &tmp))?;
    file.write_all(bytes).map_err(io("writing", &tmp))?;
    file.sync_all().map_err(io("syncing", &tmp))?;
    fs::rename(&tmp, path).map_err(io("renaming", &tmp))?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("syncing directory", dir))
}

/// The hash of the log's last complete line, dropping a torn tail.
fn last_line_hash(file: &mut File, path: &Path) -> Result<String, StoreError> {
    let len = file.metadata().map_err(io("reading", path))?.len();
    if len == 0 {
        return Ok(GENESIS.to_owned());
    }
    // Read backwards in growing windows until one holds a whole last line.
    let mut window = 64 * 1024u64;
    loop {
        let start = len.saturating_sub(window);
        file.seek(SeekFrom::Start(start))
            .map_err(io("seeking", path))?;
        let mut tail = Vec::new();
        file.read_to_end(&mut tail).map_err(io("reading", path))?;
        let complete = match tail.iter().rposition(|&b| b == b'\n') {
            Some(end) => end,
            None if start == 0 => {
                // Nothing complete at all: the whole file is a torn first line.
                file.set_len(0).map_err(io("truncating", path))?;
                return Ok(GENESIS.to_owned());
            }
            None => {
                window *= 2;
                continue;
            }
        };
        if complete + 1 < tail.len() {
            file.set_len(start + complete as u64 + 1)
                .map_err(io("truncating", path))?;
            file.sync_all().map_err(io("syncing", path))?;
        }
        let body = &tail[..complete];
        match body.iter().rposition(|&b| b == b'\n') {
            Some(begin) => return Ok(line_hash(&body[begin + 1..])),
            None if start == 0 => return Ok(line_hash(body)),
            None => window *= 2,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::io::BufReader;

    use mugai_core::{Engine, Envelope, Policy, Verdict};

    use super::*;
    use crate::{AuditEvent, verify_chain};

    fn entry(at: u64) -> QuarantineEntry {
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

    fn record(event: AuditEvent) -> AuditRecord {
        AuditRecord {
            time_ms: 1,
            event,
            ..AuditRecord::default()
        }
    }

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

    #[test]
    fn spool_survives_reopen_and_sweeps_half_writes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let spool_entry = SpoolEntry {
            received_at_ms: 5,
            listener: "inbound".into(),
            envelope: Envelope::default(),
            body_8bit: false,
            smtputf8: false,
            pending: vec!["b@example.lg.jp".into()],
            attempts: 0,
            next_attempt_ms: 0,
            last_error: None,
            quarantine: None,
        };
        let id = {
            let store = FsStore::open(dir.path()).expect("open");
            store.spool(b"message", &spool_entry).expect("spool")
        };
        // A crash between the two writes of another message.
        fs::write(dir.path().join("spool/0000000000009-ab.eml"), b"half").expect("orphan");
        // And an entry whose envelope file is damaged.
        fs::write(dir.path().join("spool/0000000000008-cd.eml"), b"kept").expect("eml");
        fs::write(dir.path().join("spool/0000000000008-cd.json"), b"{not json").expect("json");
        let store = FsStore::open(dir.path()).expect("reopen");
        let spooled = store.spooled().expect("list");
        assert_eq!(spooled.len(), 1, "the damaged entry is set aside");
        assert!(
            dir.path()
                .join("spool/0000000000008-cd.json.corrupt")
                .exists()
        );
        drop(store);
        let store = FsStore::open(dir.path()).expect("reopen");
        assert!(
            dir.path().join("spool/0000000000008-cd.eml").exists(),
            "its message is kept"
        );
        assert_eq!(spooled[0].0, id);
        assert!(!dir.path().join("spool/0000000000009-ab.eml").exists());
        let mut entry = spooled[0].1.clone();
        entry.attempts = 3;
        store.respool(&id, &entry).expect("respool");
        assert_eq!(store.spooled().expect("list")[0].1.attempts, 3);
        assert_eq!(store.spooled_message(&id).expect("bytes"), b"message");
        store.unspool(&id).expect("unspool");
        assert!(store.spooled().expect("list").is_empty());
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
    fn a_torn_last_line_is_dropped_on_open() {
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
