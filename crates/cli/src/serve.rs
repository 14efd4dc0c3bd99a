//! `mugai serve`, `mugai quarantine` and `mugai audit`: the relay and its store.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use mugai_smtp::{Client, Config, Gateway, MailFrom};
use mugai_store::{AuditEvent, AuditRecord, EntryId, FsStore, Store, StoreLocation};
use tokio_util::sync::CancellationToken;

/// The configuration at `path`, or the built-in one.
pub(crate) fn load_config(path: Option<&Path>) -> Result<Config> {
    match path {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?;
            Config::from_toml(&text).with_context(|| format!("in {}", path.display()))
        }
        None => Ok(Config::default()),
    }
}

pub(crate) fn serve(config_path: Option<&Path>, check_only: bool, json_logs: bool) -> Result<u8> {
    let config = load_config(config_path)?;
    config.load_policy().context("loading the policy")?;
    config.load_lure_rules().context("loading the lure rules")?;
    if check_only {
        println!("configuration OK: {} listener(s)", config.listeners.len());
        return Ok(0);
    }
    let filter = tracing_subscriber::EnvFilter::try_from_env("MUGAI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json_logs {
        logs.json().init();
    } else {
        logs.init();
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the runtime")?;
    runtime.block_on(async {
        let gateway = Gateway::bind(&config).await?;
        if let Some(addr) = gateway.metrics_addr() {
            println!("mugai: metrics on http://{addr}/metrics");
        }
        for (listener, addr) in config.listeners.iter().zip(gateway.local_addrs()) {
            let to = match &listener.next_hop {
                Some(hop) => format!("next hop {hop}"),
                None => format!(
                    "directory {}",
                    listener
                        .deliver_dir
                        .clone()
                        .unwrap_or_else(|| config
                            .store
                            .local_dir()
                            .join("delivered")
                            .join(&listener.name))
                        .display()
                ),
            };
            // Tests read this line to learn the port of a listener bound to port 0.
            println!(
                "mugai: {} ({:?}) listening on {addr}, delivering to {to}",
                listener.name, listener.direction
            );
        }
        let shutdown = CancellationToken::new();
        tokio::spawn(stop_on_signal(shutdown.clone()));
        gateway.run(shutdown).await;
        anyhow::Ok(())
    })?;
    Ok(0)
}

async fn stop_on_signal(shutdown: CancellationToken) {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
    tracing::info!("shutting down: finishing open sessions");
    shutdown.cancel();
}

fn open_store(config: &Config) -> Result<Arc<dyn Store>> {
    config
        .store
        .open()
        .with_context(|| format!("opening the store {}", config.store))
}

pub(crate) fn quarantine_list(config: &Config) -> Result<u8> {
    let store = open_store(config)?;
    let entries = store.list()?;
    println!(
        "{:<32} {:<10} {:<9} {:<30} {:<30} subject",
        "id", "verdict", "listener", "from", "to"
    );
    for (id, e) in &entries {
        println!(
            "{:<32} {:<10} {:<9} {:<30} {:<30} {}",
            id.as_str(),
            format!("{:?}", e.verdict).to_lowercase(),
            e.listener,
            e.envelope.mail_from.as_deref().unwrap_or("<>"),
            e.envelope.rcpt_to.join(","),
            e.report.message.subject.as_deref().unwrap_or("")
        );
    }
    eprintln!("{} entries", entries.len());
    Ok(0)
}

pub(crate) fn quarantine_show(config: &Config, id: &str, raw: bool) -> Result<u8> {
    let store = open_store(config)?;
    let (entry, original) = store.get(&EntryId::parse(id)?)?;
    if raw {
        use std::io::Write;
        std::io::stdout().write_all(&original)?;
    } else {
        println!("{}", serde_json::to_string_pretty(&entry)?);
    }
    Ok(0)
}

/// Now, in Unix milliseconds, as the store records time.
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub(crate) fn quarantine_expire(config: &Config) -> Result<u8> {
    let store = open_store(config)?;
    let removed = mugai_store::expire(store.as_ref(), &config.retention_days, now_ms())?;
    eprintln!("{} entries past their retention removed", removed.len());
    Ok(0)
}

pub(crate) fn quarantine_delete(config: &Config, id: &str) -> Result<u8> {
    let store = open_store(config)?;
    let id = EntryId::parse(id)?;
    let (entry, _) = store.get(&id)?;
    store.delete(&id)?;
    store.audit(&operator_record(AuditEvent::Delete, &id, &entry))?;
    eprintln!("deleted {id}");
    Ok(0)
}

/// Sends the original, unsanitized, to its recipients through the
/// listener's next hop (or into its delivery directory).
pub(crate) fn quarantine_release(config: &Config, id: &str) -> Result<u8> {
    let store = open_store(config)?;
    let id = EntryId::parse(id)?;
    let (entry, original) = store.get(&id)?;
    let listener = config
        .listeners
        .iter()
        .find(|l| l.name == entry.listener)
        .with_context(|| format!("listener {} is no longer configured", entry.listener))?;
    let mut record = operator_record(AuditEvent::Release, &id, &entry);
    match &listener.next_hop {
        Some(hop) => {
            let runtime = tokio::runtime::Runtime::new()?;
            let reply = runtime.block_on(send(hop, &config.hostname, &entry, &original))?;
            record.next_hop_reply = Some(reply);
        }
        None => {
            let dir = listener.deliver_dir.clone().unwrap_or_else(|| {
                config
                    .store
                    .local_dir()
                    .join("delivered")
                    .join(&listener.name)
            });
            std::fs::create_dir_all(&dir)?;
            let path: PathBuf = dir.join(format!("{id}.released.eml"));
            std::fs::write(&path, &original)
                .with_context(|| format!("writing {}", path.display()))?;
            record.reply = Some(format!("written to {}", path.display()));
        }
    }
    store.audit(&record)?;
    eprintln!("released {id} to {}", entry.envelope.rcpt_to.join(", "));
    Ok(0)
}

async fn send(
    hop: &str,
    hostname: &str,
    entry: &mugai_store::QuarantineEntry,
    original: &[u8],
) -> Result<String> {
    let mut client = Client::connect(hop, hostname, Duration::from_secs(60)).await?;
    let from = MailFrom {
        address: entry.envelope.mail_from.clone().unwrap_or_default(),
        body_8bit: true,
        smtputf8: false,
        size: original.len(),
    };
    let reply = client.mail(&from).await?;
    if !reply.is_positive() {
        bail!("next hop refused MAIL FROM: {reply}");
    }
    let mut accepted = 0;
    for rcpt in &entry.envelope.rcpt_to {
        let reply = client.rcpt(rcpt).await?;
        if reply.is_positive() {
            accepted += 1;
        } else {
            eprintln!("next hop refused {rcpt}: {reply}");
        }
    }
    if accepted == 0 {
        bail!("next hop refused every recipient");
    }
    let reply = client.data(original).await?;
    client.quit().await;
    if !reply.is_positive() {
        bail!("next hop refused the message: {reply}");
    }
    Ok(reply.to_string())
}

fn operator_record(
    event: AuditEvent,
    id: &EntryId,
    entry: &mugai_store::QuarantineEntry,
) -> AuditRecord {
    AuditRecord {
        time_ms: now_ms(),
        event,
        listener: Some(entry.listener.clone()),
        mail_from: entry.envelope.mail_from.clone(),
        rcpt_to: entry.envelope.rcpt_to.clone(),
        message_id: entry.report.message.message_id.clone(),
        sha256: Some(entry.sha256.clone()),
        quarantine: Some(id.clone()),
        operator: std::env::var("SUDO_USER")
            .or_else(|_| std::env::var("USER"))
            .ok(),
        ..AuditRecord::default()
    }
}

pub(crate) fn audit_verify(config: &Config) -> Result<u8> {
    let store = open_store(config)?;
    let location = &config.store;
    match store.verify_audit() {
        Ok(n) => {
            println!("{location}: audit chain intact, {n} records");
            Ok(0)
        }
        Err(e) => {
            println!("{location}: audit chain broken: {e}");
            Ok(1)
        }
    }
}

/// Rotation is for the log in a directory; a database keeps its log in
/// one table, which is never cut.
pub(crate) fn audit_rotate(config: &Config) -> Result<u8> {
    let StoreLocation::Dir(dir) = &config.store else {
        anyhow::bail!(
            "{}: the audit log in PostgreSQL is one table and is not rotated",
            config.store
        );
    };
    let store =
        FsStore::open(dir).with_context(|| format!("opening the store {}", dir.display()))?;
    match store.rotate_audit()? {
        Some(closed) => eprintln!("closed {}", closed.display()),
        None => eprintln!("nothing to close: the open segment is empty"),
    }
    Ok(0)
}
