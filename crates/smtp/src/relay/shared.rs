//! What the in-line connections and the spool worker of one listener
//! share: the engine, the store and the counters, behind methods. Every
//! store call runs on the blocking pool; each durable one has returned
//! before anything is answered.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use mugai_core::{Direction, Engine, Envelope, Outcome, PartAction, Verdict};
use mugai_store::{
    AuditEvent, AuditRecord, EntryId, QuarantineEntry, SpoolEntry, Store, StoreError,
};
use tokio::sync::{Notify, Semaphore};

use super::{Delivery, Mode, RelaySettings};
use crate::Reply;
use crate::metrics::Metrics;
use crate::time::now_ms;

/// The longest delay between two attempts at one message.
pub(super) const MAX_BACKOFF: Duration = Duration::from_secs(3600);

pub(super) struct Shared {
    /// The listener's name, direction, delivery, mode and spool schedule.
    settings: RelaySettings,
    engine: Engine,
    store: Arc<dyn Store>,
    /// Messages spooled since the worker last looked, and what wakes it:
    /// the worker keeps its queue in memory and never re-reads the spool.
    arrivals: Mutex<Vec<(EntryId, SpoolEntry)>>,
    wake: Notify,
    /// Bounds the engine runs on the blocking pool, so a flood of large
    /// messages queues here rather than starving everything else.
    engine_slots: Semaphore,
    metrics: Arc<Metrics>,
}

impl Shared {
    pub(super) fn new(
        settings: RelaySettings,
        engine: Engine,
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
    ) -> Self {
        Self {
            engine_slots: Semaphore::new(settings.engine_slots.max(1)),
            settings,
            engine,
            store,
            arrivals: Mutex::default(),
            wake: Notify::new(),
            metrics,
        }
    }

    pub(super) fn listener(&self) -> &str {
        &self.settings.listener
    }

    pub(super) fn direction(&self) -> Direction {
        self.settings.direction
    }

    /// Our name in Received headers, EHLO to the next hop and bounces.
    pub(super) fn hostname(&self) -> &str {
        &self.settings.hostname
    }

    pub(super) fn delivery(&self) -> &Delivery {
        &self.settings.delivery
    }

    pub(super) fn mode(&self) -> Mode {
        self.settings.mode
    }

    /// More Received headers than this is a mail loop.
    pub(super) fn max_hops(&self) -> usize {
        self.settings.max_hops
    }

    /// Where bounces go, when they are sent at all.
    pub(super) fn bounce_next_hop(&self) -> Option<&str> {
        self.settings.bounce_next_hop.as_deref()
    }

    pub(super) fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// An audit record with what is known before the engine runs.
    pub(super) fn record(
        &self,
        event: AuditEvent,
        envelope: &Envelope,
        size: usize,
    ) -> AuditRecord {
        AuditRecord {
            time_ms: now_ms(),
            event,
            listener: Some(self.settings.listener.clone()),
            direction: Some(self.settings.direction),
            client_ip: envelope.client_ip.map(|ip| ip.to_string()),
            helo: envelope.helo.clone(),
            mail_from: Some(envelope.mail_from.clone().unwrap_or_default()),
            rcpt_to: envelope.rcpt_to.clone(),
            size: Some(size as u64),
            ..AuditRecord::default()
        }
    }

    /// Runs the engine on the blocking pool, at most `engine_slots` at once.
    pub(super) async fn sanitize(
        self: &Arc<Self>,
        data: Arc<Vec<u8>>,
        envelope: Envelope,
    ) -> Result<Outcome, Reply> {
        let _slot = self
            .engine_slots
            .acquire()
            .await
            .map_err(|_| Reply::tempfail("shutting down"))?;
        let shared = Arc::clone(self);
        tokio::task::spawn_blocking(move || shared.engine.process(&data, &envelope))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "engine task failed");
                Reply::tempfail("sanitization failed, try again later")
            })
    }

    /// Whether the original must be kept: held, or delivered with a part removed.
    pub(super) fn keeps_original(&self, outcome: &Outcome) -> bool {
        let changed = outcome
            .report
            .parts
            .iter()
            .any(|p| p.action != PartAction::Keep)
            || !outcome.report.unpacked.is_empty();
        outcome.verdict == Verdict::Quarantine || (outcome.verdict == Verdict::Deliver && changed)
    }

    /// Puts the original in the quarantine; durable when this returns.
    pub(super) async fn keep_original(
        &self,
        data: &Arc<Vec<u8>>,
        envelope: &Envelope,
        outcome: &Outcome,
        received_at_ms: u64,
    ) -> Result<EntryId, Reply> {
        let entry = QuarantineEntry {
            received_at_ms,
            envelope: envelope.clone(),
            listener: self.settings.listener.clone(),
            sha256: String::new(),
            size: data.len() as u64,
            verdict: outcome.verdict,
            report: outcome.report.clone(),
        };
        let data = Arc::clone(data);
        self.blocking(move |store| store.quarantine(&data, entry))
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "quarantine failed");
                Reply::tempfail("cannot store the message, try again later")
            })
    }

    /// Puts a message in the spool and wakes the worker; durable when this
    /// returns.
    pub(super) async fn spool(
        &self,
        data: &Arc<Vec<u8>>,
        entry: SpoolEntry,
    ) -> Result<EntryId, Reply> {
        let data = Arc::clone(data);
        let queued = entry.clone();
        match self.blocking(move |store| store.spool(&data, &entry)).await {
            Ok(id) => {
                self.arrivals
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((id.clone(), queued));
                self.wake.notify_one();
                Ok(id)
            }
            Err(e) => {
                tracing::error!(error = %e, "spooling failed");
                Err(Reply::from(&e))
            }
        }
    }

    /// Messages spooled since the last call.
    pub(super) fn arrivals(&self) -> Vec<(EntryId, SpoolEntry)> {
        std::mem::take(&mut *self.arrivals.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// Spool mode: delivery attempts at once.
    pub(super) fn delivery_concurrency(&self) -> usize {
        self.settings.delivery_concurrency
    }

    /// Counts the messages in this listener's spool.
    pub(super) fn set_spooled(&self, n: usize) {
        self.metrics.set_spooled(&self.settings.listener, n as u64);
    }

    /// Sets aside a spool entry whose message cannot be read, so that it is
    /// not tried again; an operator finds its files with `.corrupt` added.
    pub(super) async fn set_aside(&self, id: &EntryId) {
        let aside = id.clone();
        match self.blocking(move |store| store.set_aside(&aside)).await {
            Ok(()) => tracing::error!(%id, "spool entry set aside: its message cannot be read"),
            Err(e) => tracing::error!(error = %e, %id, "setting a spool entry aside failed"),
        }
    }

    /// This listener's spooled messages as the store holds them, oldest
    /// first: read when the worker starts. A failure is logged.
    pub(super) async fn spooled(&self) -> Result<Vec<(EntryId, SpoolEntry)>, StoreError> {
        let all = self.blocking(|store| store.spooled()).await;
        if let Err(e) = &all {
            tracing::error!(error = %e, "reading the spool failed");
        }
        Ok(all?
            .into_iter()
            .filter(|(_, e)| e.listener == self.settings.listener)
            .collect())
    }

    /// A spooled message's bytes; a failure is logged.
    pub(super) async fn spooled_message(&self, id: &EntryId) -> Result<Vec<u8>, StoreError> {
        let read = id.clone();
        let got = self
            .blocking(move |store| store.spooled_message(&read))
            .await;
        if let Err(e) = &got {
            tracing::error!(error = %e, %id, "reading a spooled message failed");
        }
        got
    }

    /// Rewrites a spool entry after an attempt. On failure the old entry
    /// stays and is tried again at once: more attempts, no loss.
    pub(super) async fn respool(&self, id: &EntryId, entry: &SpoolEntry) {
        let (again, entry) = (id.clone(), entry.clone());
        if let Err(e) = self
            .blocking(move |store| store.respool(&again, &entry))
            .await
        {
            tracing::error!(error = %e, %id, "updating a spool entry failed");
        }
    }

    /// Forgets a spooled message that was delivered, quarantined or
    /// bounced. On failure it is delivered again: a duplicate, not a loss.
    pub(super) async fn unspool(&self, id: &EntryId) {
        let done = id.clone();
        if let Err(e) = self.blocking(move |store| store.unspool(&done)).await {
            tracing::error!(error = %e, %id, "removing a message from the spool failed");
        }
    }

    /// Waits until a message was spooled.
    pub(super) async fn spooled_one(&self) {
        self.wake.notified().await;
    }

    /// The wait before attempt `attempts + 1`: doubling from the base, at
    /// most an hour.
    pub(super) fn retry_delay(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(16);
        (self.settings.retry_base * 2u32.pow(doublings)).min(MAX_BACKOFF)
    }

    /// Whether a message received then has outlived the spool's lifetime.
    pub(super) fn expired(&self, received_at_ms: u64, now_ms: u64) -> bool {
        now_ms.saturating_sub(received_at_ms) >= self.settings.lifetime.as_millis() as u64
    }

    /// Counts one finished message.
    pub(super) fn count(&self, record: &AuditRecord, reply: &Reply) {
        let listener = &self.settings.listener;
        // No verdict: refused before the engine ran ("message"), or accepted
        // into the spool ("queued"), where the worker counts it again later.
        let verdict = record.verdict.map_or_else(
            || record.event.name().to_owned(),
            |v| format!("{v:?}").to_lowercase(),
        );
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
    pub(super) async fn remember_sent(&self, record: &AuditRecord) {
        let Some(id) = record.message_id.clone() else {
            return;
        };
        if self.settings.direction != Direction::Outbound {
            return;
        }
        if let Err(e) = self.blocking(move |store| store.remember_sent(&id)).await {
            tracing::error!(error = %e, "remembering a sent Message-ID failed");
        }
    }

    /// Whether the store takes audit records now (see `Store::ready`).
    pub(super) async fn store_ready(&self) -> Result<(), Reply> {
        // The common case costs a load, not a trip to the blocking pool.
        if !self.store.audit_failing() {
            return Ok(());
        }
        self.blocking(|store| store.ready()).await.map_err(|e| {
            tracing::error!(error = %e, "the store takes no audit records: refusing mail");
            Reply::tempfail("cannot record the message, try again later")
        })
    }

    /// Appends to the audit log. A failure is logged, not returned: by now
    /// the message is where it belongs, and refusing it would deliver it twice.
    pub(super) async fn audit(&self, record: AuditRecord) {
        if let Err(e) = self.blocking(move |store| store.audit(&record)).await {
            tracing::error!(error = %e, "audit log write failed");
        }
    }

    /// Writes a delivered message into the delivery directory `dir`;
    /// durable when this returns.
    pub(super) async fn write_to_dir(
        &self,
        dir: &Path,
        name: String,
        message: Vec<u8>,
        envelope: Envelope,
    ) -> Result<(), Reply> {
        let dir = dir.to_owned();
        match tokio::task::spawn_blocking(move || write_files(&dir, &name, &message, &envelope))
            .await
        {
            Ok(Ok(())) => Ok(()),
            failed => {
                tracing::error!(?failed, "directory delivery failed");
                Err(Reply::tempfail("cannot store the message, try again later"))
            }
        }
    }

    /// Runs one store call on the blocking pool; a task that died counts as
    /// a failed call.
    async fn blocking<T: Send + 'static>(
        &self,
        call: impl FnOnce(&dyn Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let store = Arc::clone(&self.store);
        tokio::task::spawn_blocking(move || call(store.as_ref()))
            .await
            .unwrap_or_else(|e| {
                Err(StoreError::Io {
                    what: "store task".into(),
                    source: std::io::Error::other(e.to_string()),
                })
            })
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
