//! Durable file writes and lock files: how the filesystem store writes so
//! that a crash leaves each file absent or whole, and so that writers
//! arriving together share one fsync.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crate::StoreError;
use crate::group::Group;

/// A temporary file this old was left by a writer that died.
const STALE_TEMP: Duration = Duration::from_secs(3600);

pub(super) fn io(
    what: impl std::fmt::Display,
    path: &Path,
) -> impl FnOnce(std::io::Error) -> StoreError {
    let what = format!("{what} {}", path.display());
    move |source| StoreError::Io { what, source }
}

/// A directory whose entries (new names, renames) are made durable by one
/// fsync for all the writers that changed it together.
#[derive(Debug)]
pub(super) struct Dir {
    pub(super) path: PathBuf,
    group: Group,
}

impl Dir {
    pub(super) fn new(path: PathBuf) -> Self {
        Self {
            path,
            group: Group::default(),
        }
    }

    /// Makes every change to the directory so far durable.
    pub(super) fn sync(&self) -> Result<(), StoreError> {
        self.group.commit(|| sync_dir(&self.path))
    }

    /// Writes `parts` to the file `name` in this directory so that after a
    /// crash it is either absent or whole: a temporary file of this
    /// writer's own, fsync, rename, fsync of the directory (shared with
    /// the writers at the same time). A failed write leaves no temporary
    /// file behind.
    pub(super) fn write(&self, name: &str, parts: &[&[u8]]) -> Result<(), StoreError> {
        let path = self.path.join(name);
        let tmp = temp_path(&path);
        let written = write_file(&tmp, parts)
            .and_then(|()| fs::rename(&tmp, &path).map_err(io("renaming", &tmp)));
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written?;
        self.sync()
    }

    /// Like [`Dir::write`], but `false` (and nothing written) when `name`
    /// exists. Readers never see it half-written: it is written under a
    /// name of its own and linked into place, which fails if `name` exists.
    pub(super) fn create(&self, name: &str, parts: &[&[u8]]) -> Result<bool, StoreError> {
        let path = self.path.join(name);
        if path.exists() {
            return Ok(false);
        }
        let tmp = temp_path(&path);
        let linked = write_file(&tmp, parts).and_then(|()| match fs::hard_link(&tmp, &path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(io("linking", &path)(e)),
        });
        let _ = fs::remove_file(&tmp);
        if linked? {
            self.sync()?;
            return Ok(true);
        }
        Ok(false)
    }

    /// Removes temporary files older than an hour: their writers died (a
    /// live one renames its file within seconds).
    pub(super) fn sweep_stale_temps(&self) -> Result<(), StoreError> {
        let now = SystemTime::now();
        for item in fs::read_dir(&self.path).map_err(io("listing", &self.path))? {
            let item = item.map_err(io("listing", &self.path))?;
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
}

/// Writes `parts` into a new file at `path` and syncs its data.
fn write_file(path: &Path, parts: &[&[u8]]) -> Result<(), StoreError> {
    let mut file = File::create(path).map_err(io("creating", path))?;
    for part in parts {
        file.write_all(part).map_err(io("writing", path))?;
    }
    file.sync_data().map_err(io("syncing", path))
}

/// A name no other writer uses, beside `path`: `.<name>.<pid>-<n>.tmp`.
fn temp_path(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".{name}.{}-{n}.tmp", std::process::id()))
}

pub(super) fn sync_dir(dir: &Path) -> Result<(), StoreError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io("syncing directory", dir))
}

/// How a lock file is taken.
pub(super) enum Lock {
    Shared,
    Exclusive,
}

/// Opens (creating) a lock file.
pub(super) fn lock_file(path: &Path) -> Result<File, StoreError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .map_err(io("opening", path))
}

/// Takes the lock file at `path`, held until the returned file is dropped.
pub(super) fn take_lock(path: &Path, how: Lock) -> Result<File, StoreError> {
    let file = lock_file(path)?;
    match how {
        Lock::Shared => file.lock_shared(),
        Lock::Exclusive => file.lock(),
    }
    .map_err(io("locking", path))?;
    Ok(file)
}
