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
use mugai_store::{AuditEvent, AuditRecord, EntryId, SpoolEntry};
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::dsn::dsn;
use super::shared::{MAX_BACKOFF, Shared};
use super::{Delivery, describe, next_hop_down, short_id};
use crate::Reply;
use crate::client::Client;
use crate::reply::for_verdict;
use crate::session::MailFrom;
use crate::time::now_ms;

/// The longest pause between two looks at the spool.
const IDLE: Duration = Duration::from_secs(30);

/// Works through the listener's spool until `shutdown`, then lets the
/// attempts under way finish.
pub(super) async fn run(inner: Arc<Shared>, shutdown: CancellationToken) {
    let busy: Arc<Mutex<HashSet<EntryId>>> = Arc::default();
    let mut attempts = JoinSet::new();
    // Attempts at once per listener: enough to hide next-hop latency; the
    // engine itself is bounded by `engine_slots`.
    let slots = 4;
    loop {
        let now = now_ms();
        let mut wait = IDLE;
        for (id, entry) in inner.spooled().await {
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
            _ = inner.spooled_one() => {}
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
struct Recipients {
    /// Bounced: the recipient and the reply that refused it.
    failed: Vec<(String, Reply)>,
    /// The next hop's last word: why something is deferred, or its 250.
    last_reply: Option<String>,
    /// Recipients to try again.
    still_pending: Vec<String>,
}

/// One attempt at one spooled message.
async fn attempt(inner: &Arc<Shared>, id: &EntryId, mut entry: SpoolEntry) {
    let Some(data) = inner.spooled_message(id).await.map(Arc::new) else {
        return;
    };
    let mut record = inner.record(AuditEvent::Delivery, &entry.envelope, data.len());
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
    // What the verdict says to the sender: nothing yet (deliver), come
    // back later (tempfail), no (reject), or held (quarantine).
    let tally = match for_verdict(&outcome, entry.quarantine.as_ref()) {
        None => {
            let message = outcome.message.unwrap_or_default();
            deliver(inner, &entry, message, short_id(&record), record.time_ms).await
        }
        Some(reply) if reply.is_transient() => {
            return retry(inner, id, entry, record, "sanitization failed".into()).await;
        }
        Some(reply) if reply.is_permanent() => Recipients {
            failed: entry
                .pending
                .iter()
                .map(|r| (r.clone(), reply.clone()))
                .collect(),
            ..Recipients::default()
        },
        Some(_) => Recipients::default(),
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
        inner.unspool(id).await;
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
    inner: &Arc<Shared>,
    entry: &SpoolEntry,
    message: Vec<u8>,
    id: String,
    time_ms: u64,
) -> Recipients {
    let (addr, timeout) = match inner.delivery() {
        Delivery::Directory(dir) => {
            let name = format!("{time_ms}-{id}");
            let mut envelope = entry.envelope.clone();
            envelope.rcpt_to = entry.pending.clone();
            return match inner.write_to_dir(dir, name, message, envelope).await {
                Ok(()) => Recipients::default(),
                Err(reply) => Recipients {
                    last_reply: Some(reply.to_string()),
                    still_pending: entry.pending.clone(),
                    ..Recipients::default()
                },
            };
        }
        Delivery::NextHop { addr, timeout } => (addr, *timeout),
    };
    let defer_all = |why: String| Recipients {
        last_reply: Some(why),
        still_pending: entry.pending.clone(),
        ..Recipients::default()
    };
    let mut client = match Client::connect(addr, inner.hostname(), timeout).await {
        Ok(c) => c,
        Err(e) => return defer_all(next_hop_down(&e).to_string() + &format!(" ({e})")),
    };
    let from = MailFrom {
        address: entry.envelope.mail_from.clone().unwrap_or_default(),
        body_8bit: entry.body_8bit,
        smtputf8: entry.smtputf8,
        size: message.len(),
    };
    let mut tally = Recipients::default();
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
    inner: &Arc<Shared>,
    id: &EntryId,
    mut entry: SpoolEntry,
    mut record: AuditRecord,
    why: String,
) {
    let now = now_ms();
    entry.attempts += 1;
    entry.last_error = Some(why.clone());
    let expired = inner.expired(entry.received_at_ms, now);
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
        // The sender hears of it; the operator can still release the original.
        let original = Arc::new(inner.spooled_message(id).await.unwrap_or_default());
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
            inner.respool(id, &entry).await;
            record.event = AuditEvent::ExpiredKept;
            inner.audit(record).await;
            return;
        }
        record.quarantine = entry.quarantine.clone();
        bounce(inner, &entry, &failed, &original).await;
        inner.unspool(id).await;
        record.event = AuditEvent::Expired;
    } else {
        let delay = inner.retry_delay(entry.attempts);
        entry.next_attempt_ms = now + delay.as_millis() as u64;
        inner.respool(id, &entry).await;
        record.event = AuditEvent::Deferred;
    }
    tracing::info!(listener = %inner.listener(), %id, reason = %why, event = %record.event, "spool");
    inner.audit(record).await;
}

/// Tells the sender which recipients failed (RFC 3464). Null senders get no
/// bounce; without a bounce route the bounce is kept in the quarantine.
async fn bounce(
    inner: &Arc<Shared>,
    entry: &SpoolEntry,
    failed: &[(String, Reply)],
    original: &[u8],
) {
    let Some(sender) = entry.envelope.mail_from.clone().filter(|s| !s.is_empty()) else {
        return;
    };
    let dsn = dsn(inner.hostname(), &sender, failed, original);
    if let Some(hop) = inner.bounce_next_hop() {
        let from = MailFrom {
            address: String::new(),
            body_8bit: true,
            smtputf8: false,
            size: dsn.len(),
        };
        let sent = async {
            let mut c = Client::connect(hop, inner.hostname(), Duration::from_secs(60)).await?;
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
