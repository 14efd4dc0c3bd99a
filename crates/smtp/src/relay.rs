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
//! spool worker (`spool.rs`) sanitizes and delivers it, with retries.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mugai_core::{Direction, Engine, Envelope, Outcome, PartAction, Verdict};
use mugai_store::{AuditRecord, EntryId, QuarantineEntry, SpoolEntry, Store};
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::Reply;
use crate::client::{Client, ClientError};
use crate::metrics::Metrics;
use crate::server::{Connection, Handler};
use crate::session::{MailFrom, Peer};
use crate::time::{now_ms, rfc5322};

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
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) listener: String,
    pub(crate) direction: Direction,
    pub(crate) hostname: String,
    pub(crate) engine: Engine,
    pub(crate) store: Arc<dyn Store>,
    pub(crate) delivery: Delivery,
    pub(crate) mode: Mode,
    /// Spool mode: first retry after this; each later one waits twice as long.
    pub(crate) retry_base: Duration,
    /// Spool mode: give up (and bounce) after this long.
    pub(crate) lifetime: Duration,
    /// Spool mode: where bounces go (`host:port`); none keeps them in the
    /// quarantine instead.
    pub(crate) bounce_next_hop: Option<String>,
    /// Wakes the spool worker when a message was spooled.
    pub(crate) wake: tokio::sync::Notify,
    /// Bounds the engine runs on the blocking pool, so a flood of large
    /// messages queues here rather than starving everything else.
    engine_slots: Semaphore,
    /// More Received headers than this is a mail loop.
    max_hops: usize,
    pub(crate) metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("listener", &self.inner.listener)
            .field("delivery", &self.inner.delivery)
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
            inner: Arc::new(Inner {
                listener: settings.listener,
                direction: settings.direction,
                hostname: settings.hostname,
                engine,
                store,
                delivery: settings.delivery,
                engine_slots: Semaphore::new(settings.engine_slots.max(1)),
                max_hops: settings.max_hops,
                mode: settings.mode,
                retry_base: settings.retry_base,
                lifetime: settings.lifetime,
                bounce_next_hop: settings.bounce_next_hop,
                wake: tokio::sync::Notify::new(),
                metrics,
            }),
        }
    }
}

impl Relay {
    /// Spool mode: the worker that delivers what this relay spooled. Runs
    /// until `shutdown`; in-line relays have nothing to do.
    pub async fn run_spool(&self, shutdown: tokio_util::sync::CancellationToken) {
        if self.inner.mode == Mode::Spool {
            crate::spool::run(Arc::clone(&self.inner), shutdown).await;
        }
    }

    fn listener_label(&self) -> String {
        format!("listener=\"{}\"", self.inner.listener)
    }
}

impl Handler for Relay {
    type Connection = RelayConnection;

    fn connect(&self, peer: SocketAddr) -> RelayConnection {
        let metrics = &self.inner.metrics;
        metrics.add("mugai_connections_total", self.listener_label(), 1);
        metrics.session_opened();
        RelayConnection {
            relay: Arc::clone(&self.inner),
            peer,
            next_hop: None,
            mail: None,
            rcpt_to: Vec::new(),
        }
    }
}

/// One client connection through the relay.
pub struct RelayConnection {
    relay: Arc<Inner>,
    peer: SocketAddr,
    /// Kept across transactions of the same client session.
    next_hop: Option<Client>,
    mail: Option<MailFrom>,
    rcpt_to: Vec<String>,
}

/// Fills in what the engine found.
pub(crate) fn describe(record: &mut AuditRecord, outcome: &Outcome) {
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
pub(crate) fn short_id(record: &AuditRecord) -> String {
    record
        .sha256
        .as_deref()
        .and_then(|s| s.get(..12))
        .unwrap_or("")
        .to_owned()
}

pub(crate) fn next_hop_down(e: &ClientError) -> Reply {
    tracing::warn!(error = %e, "next hop failed");
    Reply::new(451, "4.4.2", "next hop unavailable, try again later")
}

impl RelayConnection {
    async fn next_hop(&mut self) -> Result<&mut Client, Reply> {
        let Delivery::NextHop { addr, timeout } = &self.relay.delivery else {
            return Err(Reply::tempfail("no next hop"));
        };
        if self.next_hop.is_none() {
            let client = Client::connect(addr, &self.relay.hostname, *timeout)
                .await
                .map_err(|e| next_hop_down(&e))?;
            self.next_hop = Some(client);
        }
        self.next_hop
            .as_mut()
            .ok_or_else(|| Reply::tempfail("no next hop"))
    }

    /// Ends the next hop's transaction; a next hop that cannot is dropped.
    async fn reset_next_hop(&mut self) {
        if let Some(client) = &mut self.next_hop
            && !matches!(client.rset().await, Ok(r) if r.is_positive())
        {
            self.next_hop = None;
        }
    }

    /// In-line towards a next hop: MAIL and RCPT are asked of it as they come.
    fn proxies(&self) -> bool {
        self.relay.mode == Mode::Inline && matches!(self.relay.delivery, Delivery::NextHop { .. })
    }

    fn envelope(&self, peer: &Peer) -> Envelope {
        Envelope {
            mail_from: self
                .mail
                .as_ref()
                .map(|m| m.address.clone())
                .filter(|a| !a.is_empty()),
            rcpt_to: self.rcpt_to.clone(),
            client_ip: Some(self.peer.ip()),
            helo: peer.helo.clone(),
            direction: self.relay.direction,
        }
    }

    async fn process(&mut self, peer: &Peer, data: Vec<u8>) -> Reply {
        let received_at_ms = now_ms();
        let envelope = self.envelope(peer);
        let relay = Arc::clone(&self.relay);
        let mut record = relay.record("message", &envelope, data.len());
        record.time_ms = received_at_ms;
        if count_received(&data) >= relay.max_hops {
            let reply = Reply::new(554, "5.4.6", "too many hops, mail loop");
            return self.finish(record, reply).await;
        }
        // Our trace header goes on first, so that the original kept in the
        // quarantine and the spool shows where it entered.
        let mut traced = self.received_header(peer, &data).into_bytes();
        traced.extend_from_slice(&data);
        let data = Arc::new(traced);
        if relay.mode == Mode::Spool {
            record.event = "queued".into();
            let reply = self.spool(&data, envelope, received_at_ms).await;
            return self.finish(record, reply).await;
        }
        let outcome = match relay.sanitize(Arc::clone(&data), envelope.clone()).await {
            Ok(o) => o,
            Err(reply) => return self.finish(record, reply).await,
        };
        describe(&mut record, &outcome);
        if relay.keeps_original(&outcome) {
            match relay
                .keep_original(&data, &envelope, &outcome, received_at_ms)
                .await
            {
                Ok(id) => record.quarantine = Some(id),
                Err(reply) => return self.finish(record, reply).await,
            }
        }
        let reply = match outcome.verdict {
            Verdict::Deliver => return self.deliver(record, outcome, envelope).await,
            Verdict::Quarantine => {
                let id = record
                    .quarantine
                    .as_ref()
                    .map(EntryId::to_string)
                    .unwrap_or_default();
                Reply::new(250, "2.0.0", format!("held in quarantine as {id}"))
            }
            Verdict::Reject => Reply::new(
                550,
                "5.7.1",
                format!(
                    "rejected by policy: {}",
                    outcome.report.reason.as_deref().unwrap_or("content")
                ),
            ),
            Verdict::Tempfail => Reply::tempfail("sanitization failed, try again later"),
        };
        self.finish(record, reply).await
    }

    async fn spool(&self, data: &Arc<Vec<u8>>, envelope: Envelope, received_at_ms: u64) -> Reply {
        let from = self.mail.clone().unwrap_or_else(|| MailFrom {
            address: String::new(),
            body_8bit: false,
            smtputf8: false,
            size: 0,
        });
        let entry = SpoolEntry {
            received_at_ms,
            listener: self.relay.listener.clone(),
            pending: envelope.rcpt_to.clone(),
            envelope,
            body_8bit: from.body_8bit,
            smtputf8: from.smtputf8,
            attempts: 0,
            next_attempt_ms: 0,
            last_error: None,
            quarantine: None,
        };
        let store = Arc::clone(&self.relay.store);
        let data = Arc::clone(data);
        match tokio::task::spawn_blocking(move || store.spool(&data, &entry)).await {
            Ok(Ok(id)) => {
                self.relay.wake.notify_one();
                Reply::new(250, "2.0.0", format!("queued as {id}"))
            }
            Ok(Err(e)) => {
                tracing::error!(error = %e, "spooling failed");
                if e.is_disk_full() {
                    Reply::new(452, "4.3.1", "insufficient system storage")
                } else {
                    Reply::tempfail("cannot store the message, try again later")
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "spool task failed");
                Reply::tempfail("cannot store the message, try again later")
            }
        }
    }

    async fn deliver(
        &mut self,
        mut record: AuditRecord,
        outcome: Outcome,
        envelope: Envelope,
    ) -> Reply {
        let Some(message) = outcome.message else {
            return self
                .finish(record, Reply::tempfail("nothing to deliver"))
                .await;
        };
        let id = short_id(&record);
        let reply = match &self.relay.delivery {
            Delivery::NextHop { .. } => {
                let sent = match self.next_hop().await {
                    Ok(client) => client.data(&message).await,
                    Err(reply) => return self.finish(record, reply).await,
                };
                match sent {
                    Ok(r) => {
                        record.next_hop_reply = Some(r.to_string());
                        if r.is_positive() {
                            self.relay.remember_sent(&record).await;
                            Reply::new(250, "2.0.0", format!("{id} sanitized and relayed"))
                        } else {
                            Reply {
                                lines: vec![format!("next hop: {}", r.lines.join(" "))],
                                ..r
                            }
                        }
                    }
                    Err(e) => {
                        self.next_hop = None;
                        next_hop_down(&e)
                    }
                }
            }
            Delivery::Directory(dir) => {
                match write_to_dir(
                    dir.clone(),
                    format!("{}-{id}", record.time_ms),
                    message,
                    envelope,
                )
                .await
                {
                    Ok(()) => {
                        self.relay.remember_sent(&record).await;
                        Reply::new(250, "2.0.0", format!("{id} sanitized and stored"))
                    }
                    Err(reply) => reply,
                }
            }
        };
        self.finish(record, reply).await
    }

    /// Audits the transaction and ends it.
    async fn finish(&mut self, mut record: AuditRecord, reply: Reply) -> Reply {
        if !reply.is_positive() {
            self.reset_next_hop().await;
        }
        record.reply = Some(reply.to_string());
        tracing::info!(
            listener = %self.relay.listener,
            client = %self.peer,
            verdict = ?record.verdict,
            reply = %reply,
            "message"
        );
        self.relay.count(&record, &reply);
        self.relay.audit(record).await;
        self.mail = None;
        self.rcpt_to.clear();
        reply
    }

    fn received_header(&self, peer: &Peer, data: &[u8]) -> String {
        let with = match (peer.esmtp, peer.tls) {
            (true, true) => "ESMTPS",
            (true, false) => "ESMTP",
            (false, true) => "SMTPS",
            (false, false) => "SMTP",
        };
        let helo: String = peer
            .helo
            .as_deref()
            .unwrap_or("unknown")
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(255)
            .collect();
        let id = hex::encode(&Sha256::digest(data)[..6]);
        format!(
            "Received: from {helo} ([{ip}])\r\n\tby {host} (mugai) with {with} id {id};\r\n\t{date}\r\n",
            ip = self.peer.ip(),
            host = self.relay.hostname,
            date = rfc5322(now_ms()),
        )
    }
}

impl Inner {
    /// An audit record with what is known before the engine runs.
    pub(crate) fn record(&self, event: &str, envelope: &Envelope, size: usize) -> AuditRecord {
        AuditRecord {
            time_ms: now_ms(),
            event: event.into(),
            listener: Some(self.listener.clone()),
            direction: Some(self.direction),
            client_ip: envelope.client_ip.map(|ip| ip.to_string()),
            helo: envelope.helo.clone(),
            mail_from: Some(envelope.mail_from.clone().unwrap_or_default()),
            rcpt_to: envelope.rcpt_to.clone(),
            size: Some(size as u64),
            ..AuditRecord::default()
        }
    }

    /// Runs the engine on the blocking pool, at most `engine_slots` at once.
    pub(crate) async fn sanitize(
        self: &Arc<Self>,
        data: Arc<Vec<u8>>,
        envelope: Envelope,
    ) -> Result<Outcome, Reply> {
        let _slot = self
            .engine_slots
            .acquire()
            .await
            .map_err(|_| Reply::tempfail("shutting down"))?;
        let inner = Arc::clone(self);
        tokio::task::spawn_blocking(move || inner.engine.process(&data, &envelope))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "engine task failed");
                Reply::tempfail("sanitization failed, try again later")
            })
    }

    /// Whether the original must be kept: held, or delivered with a part removed.
    pub(crate) fn keeps_original(&self, outcome: &Outcome) -> bool {
        let changed = outcome
            .report
            .parts
            .iter()
            .any(|p| p.action != PartAction::Keep);
        outcome.verdict == Verdict::Quarantine || (outcome.verdict == Verdict::Deliver && changed)
    }

    /// Puts the original in the quarantine; durable when this returns.
    pub(crate) async fn keep_original(
        &self,
        data: &Arc<Vec<u8>>,
        envelope: &Envelope,
        outcome: &Outcome,
        received_at_ms: u64,
    ) -> Result<EntryId, Reply> {
        let entry = QuarantineEntry {
            received_at_ms,
            envelope: envelope.clone(),
            listener: self.listener.clone(),
            sha256: String::new(),
            size: data.len() as u64,
            verdict: outcome.verdict,
            report: outcome.report.clone(),
        };
        let store = Arc::clone(&self.store);
        let data = Arc::clone(data);
        match tokio::task::spawn_blocking(move || store.quarantine(&data, entry)).await {
            Ok(Ok(id)) => Ok(id),
            failed => {
                tracing::error!(?failed, "quarantine failed");
                Err(Reply::tempfail("cannot store the message, try again later"))
            }
        }
    }

    /// Counts one finished message.
    pub(crate) fn count(&self, record: &AuditRecord, reply: &Reply) {
        let listener = &self.listener;
        // No verdict: refused before the engine ran ("message"), or accepted
        // into the spool ("queued"), where the worker counts it again later.
        let verdict = record
            .verdict
            .map_or_else(|| record.event.clone(), |v| format!("{v:?}").to_lowercase());
        self.metrics.add(
            "mugai_messages_total",
            format!("listener=\"{listener}\",verdict=\"{verdict}\""),
            1,
        );
        self.metrics.add(
            "mugai_replies_total",
            format!("listener=\"{listener}\",class=\"{}xx\"", reply.code / 100),
            1,
        );
        self.metrics.add(
            "mugai_received_bytes_total",
            format!("listener=\"{listener}\""),
            record.size.unwrap_or(0),
        );
    }

    /// Outbound mail that left: its Message-ID goes into the memory that
    /// lure scoring asks whether a reply answers a real thread.
    pub(crate) async fn remember_sent(&self, record: &AuditRecord) {
        let Some(id) = record.message_id.clone() else {
            return;
        };
        if self.direction != Direction::Outbound {
            return;
        }
        let store = Arc::clone(&self.store);
        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || store.remember_sent(&id)).await {
            tracing::error!(error = %e, "remembering a sent Message-ID failed");
        }
    }

    /// Appends to the audit log. A failure is logged, not returned: by now
    /// the message is where it belongs, and refusing it would deliver it twice.
    pub(crate) async fn audit(&self, record: AuditRecord) {
        let store = Arc::clone(&self.store);
        match tokio::task::spawn_blocking(move || store.audit(&record)).await {
            Ok(Ok(())) => {}
            failed => tracing::error!(?failed, "audit log write failed"),
        }
    }
}

impl Connection for RelayConnection {
    async fn mail(&mut self, _peer: &Peer, from: MailFrom) -> Reply {
        let reply = if self.proxies() {
            match self.next_hop().await {
                Ok(client) => match client.mail(&from).await {
                    Ok(r) => r,
                    Err(e) => {
                        self.next_hop = None;
                        next_hop_down(&e)
                    }
                },
                Err(reply) => reply,
            }
        } else {
            Reply::new(250, "2.1.0", "sender ok")
        };
        if reply.is_positive() {
            self.mail = Some(from);
            self.rcpt_to.clear();
        }
        reply
    }

    async fn rcpt(&mut self, to: String) -> Reply {
        let reply = if self.proxies() {
            match self.next_hop().await {
                Ok(client) => match client.rcpt(&to).await {
                    Ok(r) => r,
                    Err(e) => {
                        self.next_hop = None;
                        self.mail = None;
                        next_hop_down(&e)
                    }
                },
                Err(reply) => reply,
            }
        } else {
            Reply::new(250, "2.1.5", "recipient ok")
        };
        if reply.is_positive() {
            self.rcpt_to.push(to);
        }
        reply
    }

    async fn message(&mut self, peer: &Peer, data: Vec<u8>) -> Reply {
        let started = std::time::Instant::now();
        let reply = self.process(peer, data).await;
        self.relay
            .metrics
            .observe(&self.relay.listener, started.elapsed());
        reply
    }

    async fn reset(&mut self) {
        self.mail = None;
        self.rcpt_to.clear();
        self.reset_next_hop().await;
    }

    async fn close(self) {
        self.relay.metrics.session_closed();
        if let Some(client) = self.next_hop {
            client.quit().await;
        }
    }
}

/// Received headers in the header block, for loop detection.
fn count_received(data: &[u8]) -> usize {
    let end = memchr::memmem::find(data, b"\r\n\r\n").map_or(data.len(), |i| i + 2);
    data[..end]
        .split(|&b| b == b'\n')
        .filter(|line| line.len() >= 9 && line[..9].eq_ignore_ascii_case(b"received:"))
        .count()
}

/// Writes a delivered message into `dir`; durable when this returns.
pub(crate) async fn write_to_dir(
    dir: PathBuf,
    name: String,
    message: Vec<u8>,
    envelope: Envelope,
) -> Result<(), Reply> {
    match tokio::task::spawn_blocking(move || write_files(&dir, &name, &message, &envelope)).await {
        Ok(Ok(())) => Ok(()),
        failed => {
            tracing::error!(?failed, "directory delivery failed");
            Err(Reply::tempfail("cannot store the message, try again later"))
        }
    }
}

fn write_files(dir: &Path, name: &str, message: &[u8], envelope: &Envelope) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::create_dir_all(dir)?;
    let write = |path: PathBuf, bytes: &[u8]| -> std::io::Result<()> {
        let tmp = path.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)
    };
    let json = serde_json::to_vec_pretty(envelope).map_err(std::io::Error::other)?;
    write(dir.join(format!("{name}.json")), &json)?;
    // The .eml appears last: its presence means both files are whole.
    write(dir.join(format!("{name}.eml")), message)?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_headers_are_counted_in_the_header_block_only() {
        let m = b"Received: a\r\nreceived: b\r\nSubject: x\r\n\r\nReceived: not a header\r\n";
        assert_eq!(count_received(m), 2);
    }
}
