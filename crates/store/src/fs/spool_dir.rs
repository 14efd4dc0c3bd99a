//! The spool of the filesystem store. One file per message, written once:
//!
//! ```text
//! <id>.msg     the entry as accepted (one JSON line), then the message
//! <id>.state   the entry after the latest attempt, when there was one
//! ```
//!
//! A message is accepted with one file write, one fsync of it and one
//! fsync of the directory shared with the messages accepted at the same
//! time. Spools written before this format (`<id>.eml` beside `<id>.json`)
//! are still read and delivered.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::Mutex;

use sha2::{Digest, Sha256};

use super::files::{Dir, io, lock_file};
use crate::{EntryId, SpoolEntry, StoreError};

/// The longest entry line read from a message file.
const MAX_HEADER: u64 = 4 << 20;

/// A spool directory on a local filesystem. Every relay node has its own,
/// whichever store holds the quarantine and the audit log.
#[derive(Debug)]
pub(crate) struct SpoolDir {
    dir: Dir,
    /// The spool's lock, once this process owns the spool.
    owner: Mutex<Option<File>>,
}

impl SpoolDir {
    /// Opens (creating) the spool directory at `path`.
    pub(crate) fn open(path: PathBuf) -> Result<Self, StoreError> {
        fs::create_dir_all(&path).map_err(io("creating", &path))?;
        Ok(Self {
            dir: Dir::new(path),
            owner: Mutex::new(None),
        })
    }

    /// Makes this process the one that delivers the spool: takes
    /// `owner.lock` for as long as the spool is open, then removes what a
    /// crash left half-written. `true` when it was not owned before; fails
    /// when another process holds it.
    pub(crate) fn own(&self) -> Result<bool, StoreError> {
        let mut owner = self.owner.lock().unwrap_or_else(|p| p.into_inner());
        if owner.is_some() {
            return Ok(false);
        }
        let path = self.dir.path.join("owner.lock");
        let file = lock_file(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Busy(format!(
                    "another mugai process delivers the spool in {}",
                    self.dir.path.display()
                )));
            }
            Err(fs::TryLockError::Error(e)) => return Err(io("locking", &path)(e)),
        }
        self.sweep()?;
        *owner = Some(file);
        Ok(true)
    }

    fn path(&self, id: &EntryId, ext: &str) -> PathBuf {
        self.dir.path.join(format!("{id}.{ext}"))
    }

    /// Keeps `message` until it is delivered; durable when this returns.
    pub(crate) fn add(&self, message: &[u8], entry: &SpoolEntry) -> Result<EntryId, StoreError> {
        let sha256 = hex::encode(Sha256::digest(message));
        let header = serde_json::to_vec(entry).unwrap_or_default();
        for attempt in 0..1000 {
            let id = EntryId::new(entry.received_at_ms, &sha256, attempt);
            if self
                .dir
                .create(&format!("{id}.msg"), &[&header, b"\n", message])?
            {
                return Ok(id);
            }
        }
        Err(StoreError::Io {
            what: "naming a spool entry".into(),
            source: std::io::Error::other("1000 entries for one message in one millisecond"),
        })
    }

    /// Every entry, oldest first. One that cannot be read is set aside for
    /// an operator, so that it does not stall the rest.
    pub(crate) fn entries(&self) -> Result<Vec<(EntryId, SpoolEntry)>, StoreError> {
        let mut out = Vec::new();
        for (id, legacy) in self.ids()? {
            let read = if legacy {
                read_json(&self.path(&id, "json"))
            } else {
                match read_json(&self.path(&id, "state")) {
                    Err(e) if e.is_missing() => self.header(&id),
                    other => other,
                }
            };
            match read {
                Ok(entry) => out.push((id, entry)),
                // Delivered and removed since the listing.
                Err(e) if e.is_missing() => {}
                Err(StoreError::Corrupt { .. }) => self.set_aside(&id)?,
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    /// Ids of the entries, with whether each is of the older format.
    fn ids(&self) -> Result<Vec<(EntryId, bool)>, StoreError> {
        let dir = &self.dir.path;
        let mut ids = Vec::new();
        for item in fs::read_dir(dir).map_err(io("listing", dir))? {
            let name = item.map_err(io("listing", dir))?.file_name();
            let Some(name) = name.to_str() else { continue };
            let (stem, legacy) = match name.rsplit_once('.') {
                Some((stem, "msg")) => (stem, false),
                Some((stem, "json")) => (stem, true),
                _ => continue,
            };
            if let Ok(id) = EntryId::parse(stem) {
                ids.push((id, legacy));
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// The entry line at the head of a message file.
    fn header(&self, id: &EntryId) -> Result<SpoolEntry, StoreError> {
        let path = self.path(id, "msg");
        let file = File::open(&path).map_err(io("reading", &path))?;
        let mut line = Vec::new();
        BufReader::new(file)
            .take(MAX_HEADER)
            .read_until(b'\n', &mut line)
            .map_err(io("reading", &path))?;
        serde_json::from_slice(&line).map_err(|source| StoreError::Corrupt {
            what: format!("spool entry {}", path.display()),
            source,
        })
    }

    /// A spooled message's bytes.
    pub(crate) fn message(&self, id: &EntryId) -> Result<Vec<u8>, StoreError> {
        let path = self.path(id, "msg");
        match fs::read(&path) {
            Ok(mut bytes) => {
                let start = bytes.iter().position(|&b| b == b'\n').map_or(0, |i| i + 1);
                bytes.drain(..start);
                Ok(bytes)
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let legacy = self.path(id, "eml");
                fs::read(&legacy).map_err(io("reading", &legacy))
            }
            Err(e) => Err(io("reading", &path)(e)),
        }
    }

    /// Records an entry after an attempt; durable when this returns.
    pub(crate) fn update(&self, id: &EntryId, entry: &SpoolEntry) -> Result<(), StoreError> {
        let json = serde_json::to_vec_pretty(entry).unwrap_or_default();
        let ext = if self.path(id, "msg").exists() {
            "state"
        } else {
            "json"
        };
        self.dir.write(&format!("{id}.{ext}"), &[&json])
    }

    /// Forgets a message: delivered, quarantined or bounced. Not synced:
    /// after a crash it may come back and be delivered again, a duplicate
    /// rather than a loss (Postfix does the same).
    pub(crate) fn remove(&self, id: &EntryId) -> Result<(), StoreError> {
        // The message goes first: what is left without it is swept.
        for ext in ["msg", "json", "state", "eml"] {
            let path = self.path(id, ext);
            match fs::remove_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io("removing", &path)(e)),
            }
        }
        Ok(())
    }

    /// Sets an entry aside for an operator (`.corrupt` appended to its
    /// files' names): it is not tried again.
    pub(crate) fn set_aside(&self, id: &EntryId) -> Result<(), StoreError> {
        for ext in ["msg", "json", "state"] {
            let path = self.path(id, ext);
            let aside = self.path(id, &format!("{ext}.corrupt"));
            match fs::rename(&path, &aside) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io("setting aside", &path)(e)),
            }
        }
        self.dir.sync()
    }

    /// Removes what a crash left half-written: temporary files, and files
    /// of entries whose message is gone. Only the spool's owner runs this,
    /// before it accepts anything.
    fn sweep(&self) -> Result<(), StoreError> {
        let dir = &self.dir.path;
        for item in fs::read_dir(dir).map_err(io("listing", dir))? {
            let path = item.map_err(io("listing", dir))?.path();
            let with = |ext: &str| path.with_extension(ext).exists();
            let orphan = match path.extension().and_then(|e| e.to_str()) {
                Some("tmp") => true,
                Some("state") => !with("msg"),
                // The older format wrote the message first, then its entry.
                Some("eml") => !with("json") && !with("json.corrupt"),
                _ => false,
            };
            if orphan {
                fs::remove_file(&path).map_err(io("removing", &path))?;
            }
        }
        Ok(())
    }
}

fn read_json(path: &std::path::Path) -> Result<SpoolEntry, StoreError> {
    let bytes = fs::read(path).map_err(io("reading", path))?;
    serde_json::from_slice(&bytes).map_err(|source| StoreError::Corrupt {
        what: format!("spool entry {}", path.display()),
        source,
    })
}
