//! A few connections to the database, shared by the relay's blocking
//! threads: taken for one call and put back while still open.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

use postgres::{Client, Config, NoTls};

use crate::StoreError;

/// How long a caller waits for a connection when all are in use.
const WAIT: Duration = Duration::from_secs(30);

pub(super) struct Pool {
    config: Config,
    max: usize,
    state: Mutex<State>,
    freed: Condvar,
}

#[derive(Default)]
struct State {
    idle: Vec<Client>,
    /// Connections open, idle or in use.
    open: usize,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool").field("max", &self.max).finish()
    }
}

impl Pool {
    pub(super) fn new(mut config: Config, max: usize) -> Self {
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(10));
        }
        Self {
            config,
            max,
            state: Mutex::default(),
            freed: Condvar::new(),
        }
    }

    /// Runs `call` on a connection; `what` names it in an error.
    pub(super) fn with<T>(
        &self,
        what: &str,
        call: impl FnOnce(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let mut client = self.take(what)?;
        let result = call(&mut client);
        self.put_back(client);
        result.map_err(|source| StoreError::Database {
            what: what.to_owned(),
            source,
        })
    }

    fn take(&self, what: &str) -> Result<Client, StoreError> {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            while let Some(client) = state.idle.pop() {
                if !client.is_closed() {
                    return Ok(client);
                }
                state.open -= 1;
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return self.config.connect(NoTls).map_err(|source| {
                    self.forget_one();
                    StoreError::Database {
                        what: format!("{what}: connecting to the database"),
                        source,
                    }
                });
            }
            let (next, timeout) = self
                .freed
                .wait_timeout(state, WAIT)
                .unwrap_or_else(|p| p.into_inner());
            state = next;
            if timeout.timed_out() && state.idle.is_empty() && state.open >= self.max {
                return Err(StoreError::Busy(format!(
                    "{what}: all {} database connections stayed busy for {} s",
                    self.max,
                    WAIT.as_secs()
                )));
            }
        }
    }

    fn put_back(&self, client: Client) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        if client.is_closed() {
            state.open -= 1;
        } else {
            state.idle.push(client);
        }
        self.freed.notify_one();
    }

    fn forget_one(&self) {
        let mut state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        state.open -= 1;
        self.freed.notify_one();
    }
}
