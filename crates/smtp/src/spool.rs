//! The spool worker: sanitize and deliver what spool mode accepted.
//!
//! Delivery is at least once. The next hop's 250 and the removal of the spool
//! entry cannot be one atomic step: a crash between them delivers the message
//! again on restart, with the same bytes and Message-ID. A duplicate is the
//! lesser harm; a message acknowledged and then lost is the one we never allow.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mugai_core::{Envelope, Verdict};
use mugai_store::{EntryId, SpoolEntry};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::Reply;
use crate::client::Client;
use crate::relay::{Delivery, Inner, describe, next_hop_down, short_id, write_to_dir};
use crate::session::MailFrom;
use crate::time::{now_ms, rfc5322};

/// The longest pause between two looks at the spool.
const IDLE: Duration = Duration::from_secs(30);
/// The longest delay between two attempts at one message.
const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Works through the listener's spool until `shutdown`, then lets the
/// attempts under way finish.
pub(crate) async fn run(inner: Arc<Inner>, shutdown: CancellationToken) {
    let busy: Arc<Mutex<HashSet<EntryId>>> = Arc::default();
    let mut attempts = JoinSet::new();
    // Attempts at once per listener: enough to hide next-hop latency; the
    // engine itself is bounded by `engine_slots`.
    let slots = 4;
    loop {
        let now = now_ms();
        let mut wait = IDLE;
        let store = Arc::clone(&inner.store);
        let spooled = match tokio::task::spawn_blocking(move || store.spooled()).await {
            Ok(Ok(s)) => s,
            failed => {
                tracing::error!(?failed, "reading the spool failed");
                Vec::new()
            }
        };
        let mine: Vec<_> = spooled
            .into_iter()
            .filter(|(_, e)| e.listener == inner.listener)
            .collect();
        inner
            .metrics
            .set_spooled(&inner.listener, mine.len() as u64);
        for (id, entry) in mine {
            if lock(&busy).contains(&id) {
                continue;
            }
            if entry.next_attempt_ms > now {
                wait = wait.min(Duration::from_millis(entry.next_attempt_ms - now));
                continue;
            }
            if attempts.len() >= slots {
                break;
            }
            lock(&busy).insert(id.clone());
            let (inner, busy) = (Arc::clone(&inner), Arc::clone(&busy));
            attempts.spawn(async move {
                attempt(&inner, &id, entry).await;
                lock(&busy).remove(&id);
            });
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = inner.wake.notified() => {}
            Some(_) = attempts.join_next(), if !attempts.is_empty() => {}
            _ = tokio::time::sleep(wait) => {}
        }
    }
    while attempts.join_next().await.is_some() {}
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// What became of the pending recipients in one attempt.
#[derive(Default)]
struct Tally {
    /// Bounced: the recipient and the reply that refused it.
    failed: Vec<(String, Reply)>,
    /// The next hop's last word: why something is deferred, or its 250.
    last_reply: Option<String>,
    /// Recipients to try again.
    still_pending: Vec<String>,
}

/// One attempt at one spooled message.
async fn attempt(inner: &Arc<Inner>, id: &EntryId, mut entry: SpoolEntry) {
    let store = Arc::clone(&inner.store);
    let read_id = id.clone();
    let data = match tokio::task::spawn_blocking(move || store.spooled_message(&read_id)).await {
        Ok(Ok(d)) => Arc::new(d),
        failed => {
            tracing::error!(?failed, %id, "reading a spooled message failed");
            return;
        }
    };
    let mut record = inner.record("delivery", &entry.envelope, data.len());
    record.rcpt_to = entry.pending.clone();
    let outcome = match inner
        .sanitize(Arc::clone(&data), entry.envelope.clone())
        .await
    {
        Ok(o) => o,
        Err(reply) => return retry(inner, id, entry, record, reply.to_string()).await,
    };
    describe(&mut record, &outcome);
    if inner.keeps_original(&outcome) && entry.quarantine.is_none() {
        match inner
            .keep_original(&data, &entry.envelope, &outcome, entry.received_at_ms)
            .await
        {
            Ok(q) => entry.quarantine = Some(q),
            Err(reply) => return retry(inner, id, entry, record, reply.to_string()).await,
        }
    }
    record.quarantine = entry.quarantine.clone();
    let delivered = outcome.verdict == Verdict::Deliver;
    let tally = match outcome.verdict {
        Verdict::Tempfail => {
            return retry(inner, id, entry, record, "sanitization failed".into()).await;
        }
        Verdict::Quarantine => Tally::default(),
        Verdict::Reject => {
            let reason = outcome.report.reason.as_deref().unwrap_or("content");
            let reply = Reply::new(550, "5.7.1", format!("rejected by policy: {reason}"));
            Tally {
                failed: entry
                    .pending
                    .iter()
                    .map(|r| (r.clone(), reply.clone()))
                    .collect(),
                ..Tally::default()
            }
        }
        Verdict::Deliver => {
            let message = outcome.message.unwrap_or_default();
            deliver(inner, &entry, message, short_id(&record), record.time_ms).await
        }
    };
    record.next_hop_reply = tally.last_reply.clone();
    let outcome_delivered = delivered && tally.failed.is_empty();
    if !tally.failed.is_empty() {
        bounce(inner, &entry, &tally.failed, &data).await;
        record.reason = Some(
            tally
                .failed
                .iter()
                .map(|(r, reply)| format!("{r}: {reply}"))
                .collect::<Vec<_>>()
                .join("; "),
        );
    }
    if tally.still_pending.is_empty() {
        let store = Arc::clone(&inner.store);
        let done = id.clone();
        let removed = tokio::task::spawn_blocking(move || store.unspool(&done)).await;
        if !matches!(removed, Ok(Ok(()))) {
            // It will be delivered again: a duplicate, not a loss.
            tracing::error!(?removed, %id, "removing a delivered message from the spool failed");
        }
        if outcome_delivered {
            inner.remember_sent(&record).await;
        }
        record.reply = Some("done".into());
        inner.count(&record, &Reply::new(250, "2.0.0", "done"));
        inner.audit(record).await;
    } else {
        entry.pending = tally.still_pending;
        let why = tally.last_reply.unwrap_or_else(|| "deferred".into());
        retry(inner, id, entry, record, why).await;
    }
}

/// Sends the sanitized message to the pending recipients.
async fn deliver(
    inner: &Arc<Inner>,
    entry: &SpoolEntry,
    message: Vec<u8>,
    id: String,
    time_ms: u64,
) -> Tally {
    let (addr, timeout) = match &inner.delivery {
        Delivery::Directory(dir) => {
            let name = format!("{time_ms}-{id}");
            let mut envelope = entry.envelope.clone();
            envelope.rcpt_to = entry.pending.clone();
            return match write_to_dir(dir.clone(), name, message, envelope).await {
                Ok(()) => Tally::default(),
                Err(reply) => Tally {
                    last_reply: Some(reply.to_string()),
                    still_pending: entry.pending.clone(),
                    ..Tally::default()
                },
            };
        }
        Delivery::NextHop { addr, timeout } => (addr, *timeout),
    };
    let defer_all = |why: String| Tally {
        last_reply: Some(why),
        still_pending: entry.pending.clone(),
        ..Tally::default()
    };
    let mut client = match Client::connect(addr, &inner.hostname, timeout).await {
        Ok(c) => c,
        Err(e) => return defer_all(next_hop_down(&e).to_string() + &format!(" ({e})")),
    };
    let from = MailFrom {
        address: entry.envelope.mail_from.clone().unwrap_or_default(),
        body_8bit: entry.body_8bit,
        smtputf8: entry.smtputf8,
        size: message.len(),
    };
    let mut tally = Tally::default();
    match client.mail(&from).await {
        Ok(r) if r.is_positive() => {}
        Ok(r) if r.is_permanent() => {
            tally.failed = entry
                .pending
                .iter()
                .map(|p| (p.clone(), r.clone()))
                .collect();
            return tally;
        }
        Ok(r) => return defer_all(r.to_string()),
        Err(e) => return defer_all(e.to_string()),
    }
    let mut accepted = Vec::new();
    for rcpt in &entry.pending {
        match client.rcpt(rcpt).await {
            Ok(r) if r.is_positive() => accepted.push(rcpt.clone()),
            Ok(r) if r.is_permanent() => tally.failed.push((rcpt.clone(), r)),
            Ok(r) => {
                tally.last_reply = Some(r.to_string());
                tally.still_pending.push(rcpt.clone());
            }
            Err(e) => return defer_all(e.to_string()),
        }
    }
    if accepted.is_empty() {
        client.quit().await;
        return tally;
    }
    match client.data(&message).await {
        Ok(r) if r.is_positive() => {
            tally.last_reply = tally.last_reply.or(Some(r.to_string()));
            client.quit().await;
        }
        Ok(r) if r.is_permanent() => {
            tally
                .failed
                .extend(accepted.into_iter().map(|a| (a, r.clone())));
            client.quit().await;
        }
        Ok(r) => {
            tally.last_reply = Some(r.to_string());
            tally.still_pending.extend(accepted);
        }
        Err(e) => {
            tally.last_reply = Some(e.to_string());
            tally.still_pending.extend(accepted);
        }
    }
    tally
}

/// Schedules the next attempt, or bounces what is left once the lifetime is over.
async fn retry(
    inner: &Arc<Inner>,
    id: &EntryId,
    mut entry: SpoolEntry,
    mut record: mugai_store::AuditRecord,
    why: String,
) {
    let now = now_ms();
    entry.attempts += 1;
    entry.last_error = Some(why.clone());
    let expired = now.saturating_sub(entry.received_at_ms) >= inner.lifetime.as_millis() as u64;
    record.reason = Some(why.clone());
    if expired {
        let reply = Reply::new(
            550,
            "5.4.7",
            format!(
                "delivery time expired after {} attempts: {why}",
                entry.attempts
            ),
        );
        let failed: Vec<_> = entry
            .pending
            .iter()
            .map(|p| (p.clone(), reply.clone()))
            .collect();
        let store = Arc::clone(&inner.store);
        let read_id = id.clone();
        let original = tokio::task::spawn_blocking(move || store.spooled_message(&read_id))
            .await
            .ok()
            .and_then(Result::ok)
            .unwrap_or_default();
        // The sender hears of it; the operator can still release the original.
        let original = Arc::new(original);
        if entry.quarantine.is_none()
            && let Ok(outcome) = inner
                .sanitize(Arc::clone(&original), entry.envelope.clone())
                .await
            && let Ok(q) = inner
                .keep_original(&original, &entry.envelope, &outcome, entry.received_at_ms)
                .await
        {
            entry.quarantine = Some(q);
        }
        if entry.quarantine.is_none() {
            // Not kept anywhere else yet: it stays in the spool.
            entry.next_attempt_ms = now + MAX_BACKOFF.as_millis() as u64;
            respool(inner, id, &entry).await;
            record.event = "expired_kept".into();
            inner.audit(record).await;
            return;
        }
        record.quarantine = entry.quarantine.clone();
        bounce(inner, &entry, &failed, &original).await;
        let store = Arc::clone(&inner.store);
        let done = id.clone();
        let _ = tokio::task::spawn_blocking(move || store.unspool(&done)).await;
        record.event = "expired".into();
    } else {
        let doublings = entry.attempts.saturating_sub(1).min(16);
        let delay = (inner.retry_base * 2u32.pow(doublings)).min(MAX_BACKOFF);
        entry.next_attempt_ms = now + delay.as_millis() as u64;
        respool(inner, id, &entry).await;
        record.event = "deferred".into();
    }
    tracing::info!(listener = %inner.listener, %id, reason = %why, event = %record.event, "spool");
    inner.audit(record).await;
}

async fn respool(inner: &Arc<Inner>, id: &EntryId, entry: &SpoolEntry) {
    let store = Arc::clone(&inner.store);
    let (again, entry) = (id.clone(), entry.clone());
    if let Ok(Err(e)) = tokio::task::spawn_blocking(move || store.respool(&again, &entry)).await {
        // The old entry stays and is tried again at once: more attempts, no loss.
        tracing::error!(error = %e, %id, "updating a spool entry failed");
    }
}

/// Tells the sender which recipients failed (RFC 3464). Null senders get no
/// bounce; without a bounce route the bounce is kept in the quarantine.
async fn bounce(
    inner: &Arc<Inner>,
    entry: &SpoolEntry,
    failed: &[(String, Reply)],
    original: &[u8],
) {
    let Some(sender) = entry.envelope.mail_from.clone().filter(|s| !s.is_empty()) else {
        return;
    };
    let dsn = dsn(&inner.hostname, &sender, failed, original);
    if let Some(hop) = &inner.bounce_next_hop {
        let from = MailFrom {
            address: String::new(),
            body_8bit: true,
            smtputf8: false,
            size: dsn.len(),
        };
        let sent = async {
            let mut c = Client::connect(hop, &inner.hostname, Duration::from_secs(60)).await?;
            let ok = c.mail(&from).await?.is_positive()
                && c.rcpt(&sender).await?.is_positive()
                && c.data(&dsn).await?.is_positive();
            c.quit().await;
            Ok::<bool, crate::ClientError>(ok)
        };
        if matches!(sent.await, Ok(true)) {
            return;
        }
        tracing::warn!(%sender, "sending a bounce failed; keeping it in the quarantine");
    }
    let envelope = Envelope {
        mail_from: None,
        rcpt_to: vec![sender],
        ..entry.envelope.clone()
    };
    let outcome = inner
        .sanitize(Arc::new(dsn.clone()), envelope.clone())
        .await;
    if let Ok(outcome) = outcome {
        let _ = inner
            .keep_original(&Arc::new(dsn), &envelope, &outcome, now_ms())
            .await;
    }
}

/// A delivery status notification in Japanese and English.
fn dsn(hostname: &str, sender: &str, failed: &[(String, Reply)], original: &[u8]) -> Vec<u8> {
    let boundary = format!("mugai-dsn-{}", now_ms());
    let headers_end = memchr::memmem::find(original, b"\r\n\r\n").map_or(original.len(), |i| i + 2);
    let mut list = String::new();
    let mut status = String::new();
    for (rcpt, reply) in failed {
        list.push_str(&format!("  <{rcpt}>: {reply}\r\n"));
        let code = reply.enhanced.clone().unwrap_or_else(|| "5.0.0".into());
        status.push_str(&format!(
            "\r\nFinal-Recipient: rfc822; {rcpt}\r\nAction: failed\r\nStatus: {code}\r\nDiagnostic-Code: smtp; {reply}\r\n"
        ));
    }
    let mut out = format!(
        "From: MAILER-DAEMON@{hostname}\r\nTo: <{sender}>\r\nSubject: =?UTF-8?B?{subject}?=\r\n\
Date: {date}\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"{boundary}\"\r\n\r\n\
--{boundary}\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
次の宛先へのメールを配送できませんでした。\r\nYour message could not be delivered to:\r\n\r\n{list}\r\n\
--{boundary}\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; {hostname}\r\n{status}\r\n\
--{boundary}\r\nContent-Type: text/rfc822-headers\r\n\r\n",
        subject = base64_utf8("配送不能 / Undelivered Mail Returned to Sender"),
        date = rfc5322(now_ms()),
    )
    .into_bytes();
    out.extend_from_slice(&original[..headers_end]);
    out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    out
}

fn base64_utf8(text: &str) -> String {
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in text.as_bytes().chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dsn_parses_and_names_the_failure() {
        let failed = [(
            "u@example.lg.jp".to_owned(),
            Reply::new(550, "5.1.1", "no such user"),
        )];
        let dsn = dsn(
            "mugai.test",
            "a@example.com",
            &failed,
            b"Subject: x\r\nMessage-ID: <m@x>\r\n\r\nbody\r\n",
        );
        let msg = mail_parser::MessageParser::default()
            .parse(&dsn)
            .expect("parses");
        assert_eq!(
            msg.subject(),
            Some("配送不能 / Undelivered Mail Returned to Sender")
        );
        let text = String::from_utf8_lossy(&dsn);
        assert!(
            text.contains("Status: 5.1.1") && text.contains("Message-ID: <m@x>"),
            "{text}"
        );
        assert!(!text.contains("body"), "headers only");
        assert_eq!(base64_utf8("ab"), "YWI=");
    }
}
