//! What every audit log does with the records handed to it, whatever it
//! writes to: records arriving together are written together (group
//! commit), and records whose write failed wait in memory and go out
//! before the next ones, so that none is lost while the process runs.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::group::Group;
use crate::{AuditRecord, StoreError};

/// At most this many records wait for a failed audit log to come back.
const MAX_PENDING: usize = 100_000;

#[derive(Debug, Default)]
pub(crate) struct Appender {
    /// Records handed in and not yet taken by a writer, oldest first.
    queue: Mutex<Vec<AuditRecord>>,
    /// Records taken whose write failed, written before the next ones.
    pending: Mutex<Vec<AuditRecord>>,
    group: Group,
    /// The last write failed: records wait in `pending`.
    failing: AtomicBool,
}

impl Appender {
    /// Hands `record` in; `Ok` once a write that holds it succeeded.
    /// `write` writes all the records it is given, or none.
    pub(crate) fn append(
        &self,
        record: &AuditRecord,
        write: impl Fn(&[AuditRecord]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        lock(&self.queue).push(record.clone());
        self.group.commit(|| self.write_waiting(&write))
    }

    /// Whether records wait for the log to come back.
    pub(crate) fn failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }

    /// `Ok` when the last write succeeded, or when the records a failed
    /// one left waiting can be written now.
    pub(crate) fn ready(
        &self,
        write: impl Fn(&[AuditRecord]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        if !self.failing() {
            return Ok(());
        }
        self.group.commit(|| self.write_waiting(&write))
    }

    fn write_waiting(
        &self,
        write: &impl Fn(&[AuditRecord]) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut pending = lock(&self.pending);
        pending.extend(std::mem::take(&mut *lock(&self.queue)));
        if pending.is_empty() {
            return Ok(());
        }
        let written = write(&pending);
        match &written {
            Ok(()) => pending.clear(),
            // Bounded memory: past this the log has been down for hours,
            // and every failure was reported to the caller.
            Err(_) if pending.len() > MAX_PENDING => {
                let over = pending.len() - MAX_PENDING;
                pending.drain(..over);
            }
            Err(_) => {}
        }
        self.failing.store(written.is_err(), Ordering::Relaxed);
        written
    }
}

/// A poisoned lock means a writer panicked midway; every write is all or
/// nothing, so carry on with what it left.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
