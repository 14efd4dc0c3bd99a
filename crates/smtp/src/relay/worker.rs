//! The spool worker: sanitize and deliver what spool mode accepted.
//!
//! Delivery is at least once. The next hop's 250 and the removal of the spool
//! entry cannot be one atomic step: a crash between them delivers the message
//! again on restart, with the same bytes and Message-ID. A duplicate is the
//! lesser harm; a message acknowledged and then lost is the one we never allow.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::sync::Arc;
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

/// The longest pause between two looks at the queue.
const IDLE: Duration = Duration::from_secs(30);

/// The pause before reading the spool again when it could not be read at start.
const RELOAD: Duration = Duration::from_secs(5);

/// The listener's spool as the worker knows it: read from the store once at
/// start, then kept up to date as messages arrive and attempts end.
#[derive(Default)]
struct Queue {
    entries: HashMap<EntryId, SpoolEntry>,
    /// When each entry is due, soonest (then oldest) first.
    due: BinaryHeap<Reverse<(u64, EntryId)>>,
}

impl Queue {
    fn insert(&mut self, id: EntryId, entry: SpoolEntry) {
        self.due.push(Reverse((entry.next_attempt_ms, id.clone())));
        self.entries.insert(id, entry);
    }

    /// The next entry due by `now`.
    fn pop_due(&mut self, now: u64) -> Option<(EntryId, SpoolEntry)> {
        while let Some(Reverse((at, _))) = self.due.peek() {
            if *at > now {
                return None;
            }
            let Reverse((_, id)) = self.due.pop()?;
            if let Some(entry) = self.entries.remove(&id) {
                return Some((id, entry));
            }
        }
        None
    }

    /// How long until the next entry is due.
    fn wait(&self, now: u64) -> Duration {
        self.due.peek().map_or(IDLE, |Reverse((at, _))| {
            Duration::from_millis(at.saturating_sub(now)).min(IDLE)
        })
    }

    fn len(&self) -> usize {
        self.entries.len()
    }
}

/// Works through the listener's spool until `shutdown`, then lets the
/// attempts under way finish.
pub(super) async fn run(inner: Arc<Shared>, shutdown: CancellationToken) {
    let mut queue = Queue::default();
    // What was accepted before this start is on disk: until it is read,
    // nothing else is delivered (what arrives meanwhile waits in memory).
    loop {
        match inner.spooled().await {
            Ok(spooled) => {
                for (id, entry) in spooled {
                    queue.insert(id, entry);
                }
                break;
            }
            Err(_) => tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(RELOAD) => {}
            },
        }
    }
    let mut attempts = JoinSet::new();
    // What each attempt under way is working on, to requeue it if it fails.
    let mut under_way: HashMap<tokio::task::Id, (EntryId, SpoolEntry)> = HashMap::new();
    let slots = inner.delivery_concurrency();
    loop {
        for (id, entry) in inner.arrivals() {
            queue.insert(id, entry);
        }
        let now = now_ms();
        while attempts.len() < slots {
            let Some((id, entry)) = queue.pop_due(now) else {
                break;
            };
            let task = Arc::clone(&inner);
            let (key, work) = (id.clone(), entry.clone());
            let handle = attempts.spawn(async move {
                let left = attempt(&task, &key, work).await;
                (key, left)
            });
            under_way.insert(handle.id(), (id, entry));
        }
        inner.set_spooled(queue.len() + attempts.len());
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = inner.spooled_one() => {}
            Some(done) = attempts.join_next_with_id(), if !attempts.is_empty() => {
                match done {
                    Ok((task, (id, left))) => {
                        under_way.remove(&task);
                        if let Some(entry) = left {
                            queue.insert(id, entry);
                        }
                    }
                    // An attempt that panicked: the entry is still on disk
                    // and is tried again after the usual wait.
                    Err(e) => {
                        if let Some((id, mut entry)) = under_way.remove(&e.id()) {
                            tracing::error!(%id, error = %e, "spool attempt failed");
                            entry.next_attempt_ms = now_ms() + inner.retry_delay(entry.attempts + 1).as_millis() as u64;
                            queue.insert(id, entry);
                        }
                    }
                }
            }
            _ = tokio::time::sleep(queue.wait(now)) => {}
        }
    }
    while attempts.join_next().await.is_some() {}
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

/// One attempt at one spooled message: the entry as it stays in the
/// spool, or `None` once it is gone (delivered, quarantined, bounced, or
/// set aside because its message cannot be read).
async fn attempt(inner: &Arc<Shared>, id: &EntryId, mut entry: SpoolEntry) -> Option<SpoolEntry> {
    let data = match inner.spooled_message(id).await {
        Ok(data) => Arc::new(data),
        // Gone: trying again would find it gone again.
        Err(e) if e.is_missing() => {
            inner.set_aside(id).await;
            return None;
        }
        Err(e) => {
            let record = inner.record(AuditEvent::Deferred, &entry.envelope, 0);
            return retry(inner, id, entry, record, e.to_string()).await;
        }
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
        None
    } else {
        entry.pending = tally.still_pending;
        let why = tally.last_reply.unwrap_or_else(|| "deferred".into());
        retry(inner, id, entry, record, why).await
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

/// Schedules the next attempt, or bounces what is left once the lifetime
/// is over: the entry as it stays in the spool, if it does.
async fn retry(
    inner: &Arc<Shared>,
    id: &EntryId,
    mut entry: SpoolEntry,
    mut record: AuditRecord,
    why: String,
) -> Option<SpoolEntry> {
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
            return Some(entry);
        }
        record.quarantine = entry.quarantine.clone();
        bounce(inner, &entry, &failed, &original).await;
        inner.unspool(id).await;
        record.event = AuditEvent::Expired;
        tracing::info!(listener = %inner.listener(), %id, reason = %why, event = %record.event, "spool");
        inner.audit(record).await;
        None
    } else {
        let delay = inner.retry_delay(entry.attempts);
        entry.next_attempt_ms = now + delay.as_millis() as u64;
        inner.respool(id, &entry).await;
        record.event = AuditEvent::Deferred;
        tracing::info!(listener = %inner.listener(), %id, reason = %why, event = %record.event, "spool");
        inner.audit(record).await;
        Some(entry)
    }
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
