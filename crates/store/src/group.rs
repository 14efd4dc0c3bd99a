//! Group commit: writers that arrive together share one sync (an fsync of
//! a directory or a log, or one database transaction).

use std::sync::{Condvar, Mutex, MutexGuard};

use crate::StoreError;

/// Group commit: callers that arrive while one of them is syncing wait for
/// the next sync, which one of them runs for all. Each caller returns only
/// after a sync that began after its own write finished.
#[derive(Debug, Default)]
pub(crate) struct Group {
    state: Mutex<GroupState>,
    synced: Condvar,
}

#[derive(Debug, Default)]
struct GroupState {
    /// Tickets handed out: each is a write waiting to be made durable.
    issued: u64,
    /// Every ticket up to this one is durable.
    done: u64,
    /// A caller is syncing now.
    leading: bool,
}

impl Group {
    /// Waits until a sync covers a write that finished before this call;
    /// runs `sync` when no other caller is running it.
    pub(crate) fn commit(
        &self,
        sync: impl Fn() -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut state = self.lock();
        state.issued += 1;
        let ticket = state.issued;
        loop {
            if state.done >= ticket {
                return Ok(());
            }
            if state.leading {
                state = self.synced.wait(state).unwrap_or_else(|p| p.into_inner());
                continue;
            }
            // Every ticket issued so far is for a write already made.
            state.leading = true;
            let covers = state.issued;
            drop(state);
            let result = sync();
            state = self.lock();
            state.leading = false;
            if result.is_ok() {
                state.done = state.done.max(covers);
            }
            self.synced.notify_all();
            // On failure the waiting callers try for themselves.
            result?;
        }
    }

    fn lock(&self) -> MutexGuard<'_, GroupState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[test]
    fn one_sync_serves_the_writers_waiting_for_it() {
        let group = Group::default();
        let syncs = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..16 {
                s.spawn(|| {
                    for _ in 0..20 {
                        group
                            .commit(|| {
                                std::thread::sleep(Duration::from_millis(2));
                                syncs.fetch_add(1, Ordering::Relaxed);
                                Ok(())
                            })
                            .expect("sync");
                    }
                });
            }
        });
        let syncs = syncs.load(Ordering::Relaxed);
        assert!(syncs < 16 * 20, "{syncs} syncs for 320 commits");
    }

    #[test]
    fn a_failed_sync_is_every_waiters_failure_until_one_succeeds() {
        let group = Group::default();
        let fail = |_: ()| -> Result<(), StoreError> { Err(StoreError::Busy("disk gone".into())) };
        assert!(group.commit(|| fail(())).is_err());
        assert!(group.commit(|| Ok(())).is_ok());
    }
}
