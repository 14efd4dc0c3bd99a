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
//! <root>/quarantine/lock                  shared by writers, exclusive for
//!                                         deletes (an object in use is
//!                                         never removed)
//! <root>/spool/owner.lock                 held by the one process that
//!                                         delivers the spool
//! ```
//!
//! Several processes may use one store at once: the relay's sessions and
//! spool workers, `mugai quarantine` and `mugai audit` commands, another
//! relay. Appends to the audit log take an exclusive lock on it and chain
//! to its last line as it is on disk; every file is written under a name of
//! its own and renamed into place; only the spool's owner sweeps the spool.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use mugai_core::normalize_message_id;
use sha2::{Digest, Sha256};

use crate::audit::{GENESIS, chain_line, line_hash};
use crate::{AuditRecord, EntryId, QuarantineEntry, SpoolEntry, Store, StoreError};

/// Everything in one directory on a local filesystem.
#[derive(Debug)]
pub struct FsStore {
    root: PathBuf,
    /// The open log, what this process last saw of it, and records not yet
    /// written; the mutex orders this process's appends, a file lock
    /// everyone's.
    audit: Mutex<AuditFile>,
    /// Message-IDs the outbound side sent, loaded at open, and the file
    /// new ones are appended to.
    sent: Mutex<(HashSet<String>, File)>,
    /// The spool's lock, once this process owns the spool.
    spool_owner: Mutex<Option<File>>,
}

#[derive(Debug)]
struct AuditFile {
    file: File,
    /// The log's length after this process's last append, and the hash of
    /// its last line then: when the length is still the same, nobody else
    /// appended since.
    len: u64,
    last_hash: String,
    /// Records whose append failed (a full disk), written before the next
    /// one so that none is lost while the process runs.
    pending: Vec<AuditRecord>,
}

/// At most this many records wait for a failed audit log to come back.
const MAX_PENDING_AUDIT: usize = 100_000;

/// A temporary file this old was left by a writer that died.
const STALE_TEMP: Duration = Duration::from_secs(3600);

fn io(what: impl std::fmt::Display, path: &Path) -> impl FnOnce(std::io::Error) -> StoreError {
    let what = format!("{what} {}", path.display());
    move |source| StoreError::Io { what, source }
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
            root.join("spool"),
        ] {
            fs::create_dir_all(&dir).map_err(io("creating", &dir))?;
        }
        let path = root.join("audit.jsonl");
        let file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(&path)
            .map_err(io("opening", &path))?;
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
            // Never equal to a real length: the first append reads the log.
            audit: Mutex::new(AuditFile {
                file,
                len: u64::MAX,
                last_hash: GENESIS.to_owned(),
                pending: Vec::new(),
            }),
            sent: Mutex::new((known, sent_file)),
            spool_owner: Mutex::new(None),
        })
    }

    /// Makes this process the one that delivers the spool: takes the
    /// spool's lock for as long as the store is open, then removes what a
    /// crash left half-written. Fails when another process holds it.
    pub fn own_spool(&self) -> Result<(), StoreError> {
        let mut owner = self.spool_owner.lock().unwrap_or_else(|p| p.into_inner());
        if owner.is_some() {
            return Ok(());
        }
        let path = self.root.join("spool/owner.lock");
        let file = lock_file(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Busy(format!(
                    "another mugai process delivers the spool in {}",
                    self.root.join("spool").display()
                )));
            }
            Err(fs::TryLockError::Error(e)) => return Err(io("locking", &path)(e)),
        }
        sweep_spool(&self.root.join("spool"))?;
        for dir in ["quarantine/objects", "quarantine/entries"] {
            sweep_stale_temps(&self.root.join(dir))?;
        }
        *owner = Some(file);
        Ok(())
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
        // Shared with other writers, exclusive of deletes: the object found
        // here stays until the entry that needs it is written.
        let _writers = self.quarantine_lock(Lock::Shared)?;
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
            match create_new_durably(&path, &json) {
                Ok(true) => return Ok(id),
                Ok(false) => continue,
                Err(e) => return Err(e),
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
        let shared = self
            .list()?
            .iter()
            .any(|(_, other)| other.sha256 == entry.sha256);
        if !shared {
            let object = self.object_path(&entry.sha256);
            match fs::remove_file(&object) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io("removing", &object)(e)),
            }
        }
        sync_dir(&self.root.join("quarantine/entries"))
    }

    fn spool(&self, message: &[u8], entry: &SpoolEntry) -> Result<EntryId, StoreError> {
        let sha256 = hex::encode(Sha256::digest(message));
        let json = serde_json::to_vec_pretty(entry).unwrap_or_default();
        for attempt in 0..1000 {
            let id = EntryId::new(entry.received_at_ms, &sha256, attempt);
            let eml = self.spool_path(&id, "eml");
            if !create_new_durably(&eml, message)? {
                continue;
            }
            // The .json makes the entry whole; without it the .eml was
            // never acknowledged and must not stay behind.
            if let Err(e) = write_durably(&self.spool_path(&id, "json"), &json) {
                let _ = fs::remove_file(&eml);
                return Err(e);
            }
            return Ok(id);
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

    fn set_aside(&self, id: &EntryId) -> Result<(), StoreError> {
        let path = self.spool_path(id, "json");
        let aside = path.with_extension("json.corrupt");
        match fs::rename(&path, &aside) {
            Ok(()) => sync_dir(&self.root.join("spool")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(io("setting aside", &path)(e)),
        }
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
        // A poisoned lock means another append panicked midway; the file
        // is truncated back on every failure, so carry on with it.
        let mut audit = self.audit.lock().unwrap_or_else(|p| p.into_inner());
        audit.pending.push(record.clone());
        let path = self.audit_path();
        let written = audit.append_pending(&path);
        if written.is_err() && audit.pending.len() > MAX_PENDING_AUDIT {
            // Bounded memory: past this the log has been down for hours,
            // and every failure was reported to the caller.
            audit.pending.remove(0);
        }
        written
    }
}

impl AuditFile {
    /// Appends every waiting record, each whole or not at all, under the
    /// log's exclusive lock, chained to the log's last line as it is on
    /// disk (another process may have appended since).
    fn append_pending(&mut self, path: &Path) -> Result<(), StoreError> {
        self.file.lock().map_err(io("locking", path))?;
        let result = self.append_locked(path);
        let _ = self.file.unlock();
        result
    }

    fn append_locked(&mut self, path: &Path) -> Result<(), StoreError> {
        let len = self.file.metadata().map_err(io("reading", path))?.len();
        if len != self.len {
            // Someone else appended, or this is the first append: read the
            // head again (a torn last line, which only a crash leaves under
            // this lock, is cut off).
            let (len, hash) = last_line(&mut self.file, path)?;
            self.len = len;
            self.last_hash = hash;
        }
        let mut block = Vec::new();
        let mut hash = self.last_hash.clone();
        for record in &self.pending {
            let line = chain_line(&hash, record);
            hash = line_hash(&line);
            block.extend_from_slice(&line);
            block.push(b'\n');
        }
        let wrote = self
            .file
            .write_all(&block)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = wrote {
            // All or nothing: what part of the block reached the file goes.
            let _ = self.file.set_len(self.len);
            let _ = self.file.sync_data();
            return Err(io("appending to", path)(e));
        }
        self.len += block.len() as u64;
        self.last_hash = hash;
        self.pending.clear();
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

/// Removes what a crash left half-written in the spool: a message whose
/// entry file never appeared was never acknowledged. Only the spool's
/// owner runs this, before it accepts anything.
fn sweep_spool(dir: &Path) -> Result<(), StoreError> {
    for item in fs::read_dir(dir).map_err(io("listing", dir))? {
        let path = item.map_err(io("listing", dir))?.path();
        let orphan = match path.extension().and_then(|e| e.to_str()) {
            Some("tmp") => true,
            Some("lock") => false,
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

/// Removes temporary files older than [`STALE_TEMP`] from `dir`: their
/// writers died (a live one renames its file within seconds).
fn sweep_stale_temps(dir: &Path) -> Result<(), StoreError> {
    let now = SystemTime::now();
    for item in fs::read_dir(dir).map_err(io("listing", dir))? {
        let item = item.map_err(io("listing", dir))?;
        let path = item.path();
        if path.extension().and_then(|e| e.to_str()) != Some("tmp") {
            continue;
        }
        let old = item
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > STALE_TEMP));
        if old {
            let _ = fs::remove_file(&path);
        }
    }
    Ok(())
}

/// A name no other writer uses, beside `path`: `.<name>.<pid>-<n>.tmp`.
fn temp_path(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.{}-{n}.tmp", std::process::id()))
}

/// Writes `bytes` to `path` so that after a crash the file is either absent or
/// whole: a temporary file of this writer's own, fsync, rename, fsync of the
/// directory. A failed write leaves no temporary file behind.
fn write_durably(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    let tmp = temp_path(path);
    let written = (|| {
        let mut file = File::create(&tmp).map_err(io("creating", &tmp))?;
        file.write_all(bytes).map_err(io("writing", &tmp))?;
        file.sync_all().map_err(io("syncing", &tmp))?;
        fs::rename(&tmp, path).map_err(io("renaming", &tmp))
    })();
    if written.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    written?;
    sync_dir(path.parent().unwrap_or(Path::new(".")))
}

/// Writes `bytes` to a new file at `path`, durably; `false` when the name
/// is taken. Readers never see it half-written: it is written under a
/// name of its own and linked into place, which fails if `path` exists.
fn create_new_durably(path: &Path, bytes: &[u8]) -> Result<bool, StoreError> {
    if path.exists() {
        return Ok(false);
    }
    let tmp = temp_path(path);
    let linked = (|| {
        let mut file = File::create(&tmp).map_err(io("creating", &tmp))?;
        file.write_all(bytes).map_err(io("writing", &tmp))?;
        file.sync_all().map_err(io("syncing", &tmp))?;
        match fs::hard_link(&tmp, path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(io("linking", path)(e)),
        }
    })();
    let _ = fs::remove_file(&tmp);
    if linked? {
        sync_dir(path.parent().unwrap_or(Path::new(".")))?;
        return Ok(true);
    }
    Ok(false)
}

/// How a lock file is taken.
enum Lock {
    Shared,
    Exclusive,
}

/// Opens (creating) a lock file.
fn lock_file(path: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io("opening", path))
}

impl FsStore {
    /// The quarantine's lock, held until the returned file is dropped.
    fn quarantine_lock(&self, how: Lock) -> Result<File, StoreError> {
        let path = self.root.join("quarantine/lock");
        let file = lock_file(&path)?;
        match how {
            Lock::Shared => file.lock_shared(),
            Lock::Exclusive => file.lock(),
        }
        .map_err(io("locking", &path))?;
        Ok(file)
    }
}

fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("syncing directory", dir))
}

/// The log's length and the hash of its last complete line, after cutting
/// off a torn tail (a write a crash stopped midway; never acknowledged).
fn last_line(file: &mut File, path: &Path) -> Result<(u64, String), StoreError> {
    let len = file.metadata().map_err(io("reading", path))?.len();
    if len == 0 {
        return Ok((0, GENESIS.to_owned()));
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
                file.sync_all().map_err(io("syncing", path))?;
                return Ok((0, GENESIS.to_owned()));
            }
            None => {
                window *= 2;
                continue;
            }
        };
        let whole = start + complete as u64 + 1;
        if whole < len {
            file.set_len(whole).map_err(io("truncating", path))?;
            file.sync_all().map_err(io("syncing", path))?;
        }
        let body = &tail[..complete];
        match body.iter().rposition(|&b| b == b'\n') {
            Some(begin) => return Ok((whole, line_hash(&body[begin + 1..]))),
            None if start == 0 => return Ok((whole, line_hash(body))),
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
        assert!(
            dir.path().join("spool/0000000000009-ab.eml").exists(),
            "opening the store sweeps nothing: another process may be writing"
        );
        store.own_spool().expect("owner");
        let spooled = store.spooled().expect("list");
        assert_eq!(spooled.len(), 1, "the damaged entry is set aside");
        assert!(
            dir.path()
                .join("spool/0000000000008-cd.json.corrupt")
                .exists()
        );
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

        // A message that cannot be read is set aside, not tried forever.
        let lost = store.spool(b"gone", &spool_entry).expect("spool");
        fs::remove_file(dir.path().join(format!("spool/{lost}.eml"))).expect("lose it");
        assert!(store.spooled_message(&lost).is_err());
        store.set_aside(&lost).expect("aside");
        assert!(store.spooled().expect("list").is_empty());
        assert!(
            dir.path()
                .join(format!("spool/{lost}.json.corrupt"))
                .exists()
        );
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
