//! The relay: sanitize each message in-line and pass it on.
//!
//! The client's MAIL and RCPT go to the next hop as they arrive, so each
//! recipient gets the next hop's own answer. At the end of DATA the engine
//! decides; a delivered message goes to the next hop within the same
//! transaction, and the client hears 250 only once the next hop said 250 or
//! the original is durably in the quarantine. Anything else is 4xx or 5xx:
//! the client still owns the message, nothing is lost.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use mugai_core::{Direction, Engine, Envelope, Outcome, PartAction, Verdict};
use mugai_store::{AuditRecord, EntryId, QuarantineEntry, Store};
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

/// The relay handler of one listener. Cheap to clone.
#[derive(Clone)]
pub struct Relay {
    inner: Arc<Inner>,
}

struct Inner {
    listener: String,
    direction: Direction,
    hostname: String,
    engine: Engine,
    store: Arc<dyn Store>,
    delivery: Delivery,
    /// Bounds the engine runs on the blocking pool, so a flood of large
    /// messages queues here rather than starving everything else.
    engine_slots: Semaphore,
    /// More Received headers than this is a mail loop.
    max_hops: usize,
    metrics: Arc<Metrics>,
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
                metrics,
            }),
        }
    }
}

impl Relay {
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

fn next_hop_down(e: &ClientError) -> Reply {
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
        let mut record = AuditRecord {
            time_ms: received_at_ms,
            event: "message".into(),
            listener: Some(self.relay.listener.clone()),
            direction: Some(self.relay.direction),
            client_ip: Some(self.peer.ip().to_string()),
            helo: peer.helo.clone(),
            mail_from: Some(envelope.mail_from.clone().unwrap_or_default()),
            rcpt_to: envelope.rcpt_to.clone(),
            size: Some(data.len() as u64),
            ..AuditRecord::default()
        };
        if count_received(&data) >= self.relay.max_hops {
            let reply = Reply::new(554, "5.4.6", "too many hops, mail loop");
            return self.finish(record, reply).await;
        }
        let data = Arc::new(data);
        let outcome = match self.run_engine(Arc::clone(&data), envelope.clone()).await {
            Ok(o) => o,
            Err(reply) => return self.finish(record, reply).await,
        };
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
        let changed = report.parts.iter().any(|p| p.action != PartAction::Keep);
        let keep_original = outcome.verdict == Verdict::Quarantine
            || (outcome.verdict == Verdict::Deliver && changed);
        if keep_original {
            let entry = QuarantineEntry {
                received_at_ms,
                envelope,
                listener: self.relay.listener.clone(),
                sha256: String::new(),
                size: data.len() as u64,
                verdict: outcome.verdict,
                report: report.clone(),
            };
            match self.quarantine(Arc::clone(&data), entry).await {
                Ok(id) => record.quarantine = Some(id),
                Err(reply) => return self.finish(record, reply).await,
            }
        }
        let reply = match outcome.verdict {
            Verdict::Deliver => return self.deliver(record, outcome, peer).await,
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
                    report.reason.as_deref().unwrap_or("content")
                ),
            ),
            Verdict::Tempfail => Reply::tempfail("sanitization failed, try again later"),
        };
        self.finish(record, reply).await
    }

    async fn run_engine(&self, data: Arc<Vec<u8>>, envelope: Envelope) -> Result<Outcome, Reply> {
        let _slot = self
            .relay
            .engine_slots
            .acquire()
            .await
            .map_err(|_| Reply::tempfail("shutting down"))?;
        let relay = Arc::clone(&self.relay);
        tokio::task::spawn_blocking(move || relay.engine.process(&data, &envelope))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "engine task failed");
                Reply::tempfail("sanitization failed, try again later")
            })
    }

    async fn quarantine(
        &self,
        data: Arc<Vec<u8>>,
        entry: QuarantineEntry,
    ) -> Result<EntryId, Reply> {
        let store = Arc::clone(&self.relay.store);
        match tokio::task::spawn_blocking(move || store.quarantine(&data, entry)).await {
            Ok(Ok(id)) => Ok(id),
            Ok(Err(e)) => {
                tracing::error!(error = %e, "quarantine failed");
                Err(Reply::tempfail("cannot store the message, try again later"))
            }
            Err(e) => {
                tracing::error!(error = %e, "quarantine task failed");
                Err(Reply::tempfail("cannot store the message, try again later"))
            }
        }
    }

    async fn deliver(&mut self, mut record: AuditRecord, outcome: Outcome, peer: &Peer) -> Reply {
        let Some(message) = outcome.message else {
            return self
                .finish(record, Reply::tempfail("nothing to deliver"))
                .await;
        };
        let id = record
            .sha256
            .as_deref()
            .and_then(|s| s.get(..12))
            .unwrap_or("")
            .to_owned();
        let mut out = self.received_header(peer, &id).into_bytes();
        out.extend_from_slice(&message);
        let reply = match &self.relay.delivery {
            Delivery::NextHop { .. } => {
                let sent = match self.next_hop().await {
                    Ok(client) => client.data(&out).await,
                    Err(reply) => return self.finish(record, reply).await,
                };
                match sent {
                    Ok(r) => {
                        record.next_hop_reply = Some(r.to_string());
                        if r.is_positive() {
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
                let dir = dir.clone();
                let envelope = self.envelope(peer);
                let name = format!("{}-{id}", record.time_ms);
                match tokio::task::spawn_blocking(move || {
                    write_to_dir(&dir, &name, &out, &envelope)
                })
                .await
                {
                    Ok(Ok(())) => Reply::new(250, "2.0.0", format!("{id} sanitized and stored")),
                    failed => {
                        tracing::error!(?failed, "directory delivery failed");
                        Reply::tempfail("cannot store the message, try again later")
                    }
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
        let metrics = &self.relay.metrics;
        let listener = &self.relay.listener;
        let verdict = record
            .verdict
            .map_or("none".to_owned(), |v| format!("{v:?}").to_lowercase());
        metrics.add(
            "mugai_messages_total",
            format!("listener=\"{listener}\",verdict=\"{verdict}\""),
            1,
        );
        metrics.add(
            "mugai_replies_total",
            format!("listener=\"{listener}\",class=\"{}xx\"", reply.code / 100),
            1,
        );
        metrics.add(
            "mugai_received_bytes_total",
            format!("listener=\"{listener}\""),
            record.size.unwrap_or(0),
        );
        tracing::info!(
            listener = %self.relay.listener,
            client = %self.peer,
            verdict = ?record.verdict,
            reply = %reply,
            "message"
        );
        let store = Arc::clone(&self.relay.store);
        match tokio::task::spawn_blocking(move || store.audit(&record)).await {
            Ok(Ok(())) => {}
            // The message is already where it belongs; answering 4xx now
            // would only deliver it twice. The operator has to hear of it.
            failed => tracing::error!(?failed, "audit log write failed"),
        }
        self.mail = None;
        self.rcpt_to.clear();
        reply
    }

    fn received_header(&self, peer: &Peer, id: &str) -> String {
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
        format!(
            "Received: from {helo} ([{ip}])\r\n\tby {host} (mugai) with {with} id {id};\r\n\t{date}\r\n",
            ip = self.peer.ip(),
            host = self.relay.hostname,
            date = rfc5322(now_ms()),
        )
    }
}

impl Connection for RelayConnection {
    async fn mail(&mut self, _peer: &Peer, from: MailFrom) -> Reply {
        let reply = if matches!(self.relay.delivery, Delivery::NextHop { .. }) {
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
        let reply = if matches!(self.relay.delivery, Delivery::NextHop { .. }) {
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

fn write_to_dir(
    dir: &Path,
    name: &str,
    message: &[u8],
    envelope: &Envelope,
) -> std::io::Result<()> {
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
