//! The audit log of the filesystem store: appends from every process that
//! uses the store go through one exclusive lock on the file and chain to
//! its last line as it is on disk; appends that arrive together are written
//! as one block with one fsync.
//!
//! `audit.jsonl` is the open segment. Rotation renames it to
//! `audit-NNNNNN.jsonl` (closed, never written again) and the chain goes on
//! in a new `audit.jsonl`: its first line chains to the last line of the
//! newest closed segment. A process whose open file was rotated away sees
//! it under the lock (the path no longer names its file) and reopens.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::files::{io, sync_dir};
use crate::appender::Appender;
use crate::audit::{GENESIS, chain_line, line_hash};
use crate::{AuditRecord, ChainError, StoreError, verify_chain};

#[derive(Debug)]
pub(super) struct AuditLog {
    path: PathBuf,
    /// Orders this process's appends; the file lock orders everyone's.
    file: Mutex<AuditFile>,
    appender: Appender,
}

#[derive(Debug)]
struct AuditFile {
    file: File,
    /// The log's length after this process's last append, and the hash of
    /// its last line then: when the length is still the same, nobody else
    /// appended since.
    len: u64,
    last_hash: String,
}

fn open_log(path: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
        .map_err(io("opening", path))
}

impl AuditLog {
    pub(super) fn open(path: PathBuf) -> Result<Self, StoreError> {
        let file = open_log(&path)?;
        Ok(Self {
            path,
            // Never equal to a real length: the first append reads the log.
            file: Mutex::new(AuditFile {
                file,
                len: u64::MAX,
                last_hash: GENESIS.to_owned(),
            }),
            appender: Appender::default(),
        })
    }

    /// Appends `record`; durable when this returns `Ok`. On failure the
    /// record waits and is written with the next append.
    pub(super) fn append(&self, record: &AuditRecord) -> Result<(), StoreError> {
        self.appender.append(record, |records| self.write(records))
    }

    /// `Ok` when the last append succeeded, or when the records a failed
    /// one left waiting can be written now.
    pub(super) fn ready(&self) -> Result<(), StoreError> {
        self.appender.ready(|records| self.write(records))
    }

    /// Whether records wait for the log to come back.
    pub(super) fn failing(&self) -> bool {
        self.appender.failing()
    }

    fn write(&self, records: &[AuditRecord]) -> Result<(), StoreError> {
        // A poisoned lock means another append panicked midway; the file
        // is truncated back on every failure, so carry on with it.
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        file.append(&self.path, records)
    }

    /// Closes the open segment: it becomes `audit-NNNNNN.jsonl` and the
    /// next record starts a new `audit.jsonl`, chained to it. `None` when
    /// the open segment is empty.
    pub(super) fn rotate(&self) -> Result<Option<PathBuf>, StoreError> {
        let mut file = self.file.lock().unwrap_or_else(|p| p.into_inner());
        file.lock_current(&self.path)?;
        let rotated = (|| {
            let (len, _) = last_line(&mut file.file, &self.path)?;
            if len == 0 {
                return Ok(None);
            }
            let segments = closed_segments(self.dir())?;
            let next = segments.last().map_or(1, |(n, _)| n + 1);
            let closed = self.dir().join(format!("audit-{next:06}.jsonl"));
            fs::rename(&self.path, &closed).map_err(io("rotating", &self.path))?;
            sync_dir(self.dir())?;
            Ok(Some(closed))
        })();
        let _ = file.file.unlock();
        rotated
    }

    /// Checks the whole chain, closed segments first; the number of records.
    pub(super) fn verify(&self) -> Result<usize, ChainError> {
        let mut reader: Box<dyn Read> = Box::new(std::io::empty());
        for (_, path) in
            closed_segments(self.dir()).map_err(|e| ChainError::Io(std::io::Error::other(e)))?
        {
            reader = Box::new(reader.chain(File::open(path)?));
        }
        reader = Box::new(reader.chain(File::open(&self.path)?));
        verify_chain(BufReader::new(reader))
    }

    fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("."))
    }
}

/// The closed segments in `dir`, oldest first, with their numbers.
fn closed_segments(dir: &Path) -> Result<Vec<(u32, PathBuf)>, StoreError> {
    let mut found = Vec::new();
    for item in fs::read_dir(dir).map_err(io("listing", dir))? {
        let item = item.map_err(io("listing", dir))?;
        let name = item.file_name();
        let number = name
            .to_str()
            .and_then(|n| n.strip_prefix("audit-"))
            .and_then(|n| n.strip_suffix(".jsonl"))
            .filter(|n| n.len() == 6)
            .and_then(|n| n.parse::<u32>().ok());
        if let Some(n) = number {
            found.push((n, item.path()));
        }
    }
    found.sort();
    Ok(found)
}

impl AuditFile {
    /// Takes the log's exclusive lock on the file the path names now,
    /// reopening it when it was rotated away since this process opened it.
    fn lock_current(&mut self, path: &Path) -> Result<(), StoreError> {
        loop {
            self.file.lock().map_err(io("locking", path))?;
            let ours = self.file.metadata().map_err(io("reading", path))?;
            match fs::metadata(path) {
                Ok(now) if now.dev() == ours.dev() && now.ino() == ours.ino() => return Ok(()),
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    let _ = self.file.unlock();
                    return Err(io("reading", path)(e));
                }
            }
            let _ = self.file.unlock();
            self.file = open_log(path)?;
            self.len = u64::MAX;
        }
    }

    /// Appends `records`, all or none, under the log's exclusive lock,
    /// chained to the log's last line as it is on disk (another process
    /// may have appended since, or rotated it).
    fn append(&mut self, path: &Path, records: &[AuditRecord]) -> Result<(), StoreError> {
        self.lock_current(path)?;
        let result = self.append_locked(path, records);
        let _ = self.file.unlock();
        result
    }

    fn append_locked(&mut self, path: &Path, records: &[AuditRecord]) -> Result<(), StoreError> {
        let len = self.file.metadata().map_err(io("reading", path))?.len();
        if len != self.len {
            // Someone else appended, or this is the first append: read the
            // head again (a torn last line, which only a crash leaves under
            // this lock, is cut off). A new segment goes on from the last.
            let (len, hash) = last_line(&mut self.file, path)?;
            self.len = len;
            // Listed under the lock, so no rotation can come in between.
            let newest = if len == 0 {
                closed_segments(path.parent().unwrap_or(Path::new(".")))?.pop()
            } else {
                None
            };
            self.last_hash = match newest {
                // Rotation cut any torn tail before closing it: read only.
                Some((_, closed)) => {
                    let mut file = File::open(&closed).map_err(io("reading", &closed))?;
                    last_line(&mut file, &closed)?.1
                }
                None => hash,
            };
        }
        let mut block = Vec::new();
        let mut hash = self.last_hash.clone();
        for record in records {
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
        Ok(())
    }
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
