//! The relay: sanitize each message and pass it on, in one of two modes.
//!
//! **In-line**: the client's MAIL and RCPT go to the next hop as they arrive, so each
//! recipient gets the next hop's own answer. At the end of DATA the engine
//! decides; a delivered message goes to the next hop within the same
//! transaction, and the client hears 250 only once the next hop said 250 or
//! the original is durably in the quarantine. Anything else is 4xx or 5xx:
//! the client still owns the message, nothing is lost.
//!
//! **Spool**: the message is fsynced to the spool and answered 250; the
//! spool worker (`worker.rs`) sanitizes and delivers it, with retries.
//!
//! `connection.rs` answers the client in both modes; `shared.rs` holds what
//! a listener's connections and worker share; `dsn.rs` writes bounces.

mod connection;
mod dsn;
mod shared;
mod worker;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use mugai_core::{Direction, Engine, Outcome, PartAction};
use mugai_store::{AuditRecord, Store};

pub use connection::RelayConnection;

use crate::Reply;
use crate::client::ClientError;
use crate::metrics::Metrics;
use crate::server::Handler;
use shared::Shared;

/// Where sanitized mail goes.
#[derive(Debug, Clone)]
pub enum Delivery {
    /// An SMTP next hop (`host:port`).
    NextHop {
        /// Address of the next hop.
        addr: String,
        /// Per-command timeout towards it.
        timeout: Duration,
    },
    /// Files in a directory: `<time>-<sha256>.eml` with its envelope beside
    /// it as `.json`. For trying mugai out, and for tests.
    Directory(PathBuf),
}

/// When the client hears 250.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// After the next hop accepted the sanitized message.
    #[default]
    Inline,
    /// After the message is on disk in the spool.
    Spool,
}

/// The relay handler of one listener. Cheap to clone.
#[derive(Clone)]
pub struct Relay {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("listener", &self.shared.listener())
            .field("delivery", self.shared.delivery())
            .finish_non_exhaustive()
    }
}

/// What a relay needs to know.
#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// Listener name, recorded with each message.
    pub listener: String,
    /// Which policy applies.
    pub direction: Direction,
    /// Our name in Received headers and EHLO to the next hop.
    pub hostname: String,
    /// Where clean mail goes.
    pub delivery: Delivery,
    /// Engine runs at once.
    pub engine_slots: usize,
    /// Received headers before a message counts as looping.
    pub max_hops: usize,
    /// In-line or spool.
    pub mode: Mode,
    /// Spool mode: the first retry delay.
    pub retry_base: Duration,
    /// Spool mode: delivery attempts at once.
    pub delivery_concurrency: usize,
    /// Spool mode: how long to keep trying.
    pub lifetime: Duration,
    /// Spool mode: where bounces go.
    pub bounce_next_hop: Option<String>,
}

impl Relay {
    /// A relay for one listener.
    pub fn new(
        settings: RelaySettings,
        engine: Engine,
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            shared: Arc::new(Shared::new(settings, engine, store, metrics)),
        }
    }

    /// Spool mode: the worker that delivers what this relay spooled. Runs
    /// until `shutdown`; in-line relays have nothing to do.
    pub async fn run_spool(&self, shutdown: tokio_util::sync::CancellationToken) {
        if self.shared.mode() == Mode::Spool {
            worker::run(Arc::clone(&self.shared), shutdown).await;
        }
    }
}

impl Handler for Relay {
    type Connection = RelayConnection;

    fn connect(&self, peer: SocketAddr) -> RelayConnection {
        let metrics = self.shared.metrics();
        metrics.add(
            "mugai_connections_total",
            format!("listener=\"{}\"", self.shared.listener()),
            1,
        );
        metrics.session_opened();
        RelayConnection::new(Arc::clone(&self.shared), peer)
    }
}

/// Fills in what the engine found.
fn describe(record: &mut AuditRecord, outcome: &Outcome) {
    let report = &outcome.report;
    record.sha256 = Some(report.message.sha256.clone());
    record.message_id = report.message.message_id.clone();
    record.verdict = Some(outcome.verdict);
    record.reason = report.reason.clone();
    record.findings = report
        .parts
        .iter()
        .filter(|p| p.action != PartAction::Keep)
        .flat_map(|p| p.findings.iter())
        .map(|f| format!("{}@{}", f.kind.name(), f.location))
        .collect();
}

/// The message's sha256 prefix, as replies and file names quote it.
fn short_id(record: &AuditRecord) -> String {
    record
        .sha256
        .as_deref()
        .and_then(|s| s.get(..12))
        .unwrap_or("")
        .to_owned()
}

fn next_hop_down(e: &ClientError) -> Reply {
    tracing::warn!(error = %e, "next hop failed");
    Reply::new(451, "4.4.2", "next hop unavailable, try again later")
}
