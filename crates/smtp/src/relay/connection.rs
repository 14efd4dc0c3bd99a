//! One client connection through the relay: MAIL and RCPT asked of the
//! next hop as they come (in-line), DATA sanitized and passed on, or
//! spooled (spool mode).

use std::net::SocketAddr;
use std::sync::Arc;

use mugai_core::{Envelope, Outcome};
use mugai_store::{AuditEvent, AuditRecord, SpoolEntry};
use sha2::{Digest, Sha256};

use super::shared::Shared;
use super::{Delivery, Mode, describe, next_hop_down, short_id};
use crate::Reply;
use crate::client::Client;
use crate::reply::for_verdict;
use crate::server::Connection;
use crate::session::{MailFrom, Peer};
use crate::time::{now_ms, rfc5322};

/// One client connection through the relay.
pub struct RelayConnection {
    relay: Arc<Shared>,
    peer: SocketAddr,
    /// Kept across transactions of the same client session.
    next_hop: Option<Client>,
    mail: Option<MailFrom>,
    rcpt_to: Vec<String>,
}

impl RelayConnection {
    pub(super) fn new(relay: Arc<Shared>, peer: SocketAddr) -> Self {
        Self {
            relay,
            peer,
            next_hop: None,
            mail: None,
            rcpt_to: Vec::new(),
        }
    }

    async fn next_hop(&mut self) -> Result<&mut Client, Reply> {
        let Delivery::NextHop { addr, timeout } = self.relay.delivery() else {
            return Err(Reply::tempfail("no next hop"));
        };
        if self.next_hop.is_none() {
            let client = Client::connect(addr, self.relay.hostname(), *timeout)
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
        self.relay.mode() == Mode::Inline
            && matches!(self.relay.delivery(), Delivery::NextHop { .. })
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
            direction: self.relay.direction(),
        }
    }

    async fn process(&mut self, peer: &Peer, data: Vec<u8>) -> Reply {
        let received_at_ms = now_ms();
        let envelope = self.envelope(peer);
        let relay = Arc::clone(&self.relay);
        let mut record = relay.record(AuditEvent::Message, &envelope, data.len());
        record.time_ms = received_at_ms;
        if count_received(&data) >= relay.max_hops() {
            let reply = Reply::new(554, "5.4.6", "too many hops, mail loop");
            return self.finish(record, reply).await;
        }
        // Our trace header goes on first, so that the original kept in the
        // quarantine and the spool shows where it entered.
        // In place: a large message is not held twice.
        let trace = self.received_header(peer, &data).into_bytes();
        let mut data = data;
        data.splice(0..0, trace);
        let data = Arc::new(data);
        if relay.mode() == Mode::Spool {
            record.event = AuditEvent::Queued;
            let reply = self.spool(&data, envelope, received_at_ms).await;
            return self.finish(record, reply).await;
        }
        // In-line, the audit record is written after delivery: a store
        // that cannot take records now gets no message to deliver.
        if let Err(reply) = relay.store_ready().await {
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
        match for_verdict(&outcome, record.quarantine.as_ref()) {
            Some(reply) => self.finish(record, reply).await,
            None => self.deliver(record, outcome, envelope).await,
        }
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
            listener: self.relay.listener().to_owned(),
            pending: envelope.rcpt_to.clone(),
            envelope,
            body_8bit: from.body_8bit,
            smtputf8: from.smtputf8,
            attempts: 0,
            next_attempt_ms: 0,
            last_error: None,
            quarantine: None,
        };
        match self.relay.spool(data, entry).await {
            Ok(id) => Reply::new(250, "2.0.0", format!("queued as {id}")),
            Err(reply) => reply,
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
        let reply = match self.relay.delivery() {
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
                match self
                    .relay
                    .write_to_dir(dir, format!("{}-{id}", record.time_ms), message, envelope)
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
            listener = %self.relay.listener(),
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
            host = self.relay.hostname(),
            date = rfc5322(now_ms()),
        )
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
            .metrics()
            .observe(self.relay.listener(), started.elapsed());
        reply
    }

    async fn reset(&mut self) {
        self.mail = None;
        self.rcpt_to.clear();
        self.reset_next_hop().await;
    }

    async fn close(self) {
        self.relay.metrics().session_closed();
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_headers_are_counted_in_the_header_block_only() {
        let m = b"Received: a\r\nreceived: b\r\nSubject: x\r\n\r\nReceived: not a header\r\n";
        assert_eq!(count_received(m), 2);
    }
}
