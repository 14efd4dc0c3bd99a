//! The gateway: every listener of a configuration bound, with its relay,
//! its TLS material and its spool worker, served until shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mugai_core::Engine;
use mugai_store::{Retention, Store, StoreError};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::{Config, ConfigError};
use crate::metrics::Metrics;
use crate::rate::RateLimits;
use crate::relay::{Delivery, Mode, Relay, RelaySettings};
use crate::server::{Server, ServerConfig};
use crate::session::SessionConfig;

/// Every listener bound and ready to serve.
pub struct Gateway {
    servers: Vec<(TcpListener, Server<Relay>)>,
    /// The same relays, for their spool workers.
    relays: Vec<Relay>,
    metrics: Arc<Metrics>,
    metrics_listener: Option<TcpListener>,
    /// For the hourly retention pass.
    store: Arc<dyn Store>,
    retention: Retention,
}

/// How often originals past their retention are looked for.
const RETENTION_PASS: Duration = Duration::from_secs(3600);

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("listeners", &self.servers.len())
            .finish()
    }
}

impl Gateway {
    /// Opens the store, loads the policy and TLS material, and binds every
    /// listener. Nothing is accepted until [`Gateway::run`].
    pub async fn bind(config: &Config) -> Result<Self, ConfigError> {
        config.check()?;
        let store = open_store(config).await?;
        // Inbound replies are checked against what the outbound listeners sent.
        let mut engine = Engine::new(config.load_policy()?).with_sent_log(store.clone());
        if let Some(rules) = config.load_lure_rules()? {
            engine = engine.with_lure_rules(rules);
        }
        #[cfg(feature = "yara")]
        {
            engine = engine.with_yara(Arc::new(config.load_yara_rules()?));
        }
        #[cfg(not(feature = "yara"))]
        config.load_yara_rules()?;
        let slots = config
            .engine_slots
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
        let metrics = Arc::new(Metrics::default());
        let mut servers = Vec::new();
        let mut relays = Vec::new();
        for l in &config.listeners {
            let tls = match &l.tls {
                Some(t) => Some(crate::tls::server_config(t, &config.hostname)?),
                None => None,
            };
            let session = SessionConfig {
                hostname: config.hostname.clone(),
                max_message_size: l.max_message_size,
                max_recipients: l.max_recipients,
                recipient_domains: l
                    .recipient_domains
                    .iter()
                    .map(|d| d.trim_end_matches('.').to_lowercase())
                    .collect(),
                starttls: tls.is_some(),
                max_errors: 20,
                max_junk_commands: 100,
            };
            let server_config = ServerConfig {
                session: Arc::new(session),
                max_connections: l.max_connections,
                max_connections_per_ip: l.max_connections_per_ip,
                rates: RateLimits {
                    connections: l.connection_rate_limit,
                    messages: l.message_rate_limit,
                    window: Duration::from_secs(l.rate_window_secs),
                },
                client_networks: l.client_networks.clone(),
                read_timeout: Duration::from_secs(l.read_timeout_secs),
                min_data_rate: l.min_data_rate,
                session_timeout: Duration::from_secs(l.session_timeout_secs),
                write_timeout: Duration::from_secs(l.read_timeout_secs),
                tls,
                shutdown_grace: Duration::from_secs(30),
            };
            let delivery =
                match &l.next_hop {
                    Some(addr) => Delivery::NextHop {
                        addr: addr.clone(),
                        timeout: Duration::from_secs(l.next_hop_timeout_secs),
                    },
                    None => Delivery::Directory(l.deliver_dir.clone().unwrap_or_else(|| {
                        config.store.local_dir().join("delivered").join(&l.name)
                    })),
                };
            let relay = Relay::new(
                RelaySettings {
                    listener: l.name.clone(),
                    direction: l.direction,
                    hostname: config.hostname.clone(),
                    delivery,
                    engine_slots: slots,
                    max_hops: l.max_hops,
                    mode: l.mode,
                    retry_base: Duration::from_secs(l.retry_base_secs.max(1)),
                    delivery_concurrency: l.delivery_concurrency.max(1),
                    lifetime: Duration::from_secs(l.max_queue_lifetime_secs),
                    bounce_next_hop: l.bounce_next_hop.clone(),
                },
                engine.clone(),
                Arc::clone(&store),
                Arc::clone(&metrics),
            );
            let listener = TcpListener::bind(l.listen).await.map_err(|e| {
                ConfigError::Invalid(format!("listener {}: binding {}: {e}", l.name, l.listen))
            })?;
            relays.push(relay.clone());
            servers.push((listener, Server::new(server_config, Arc::new(relay))));
        }
        let metrics_listener = match config.metrics_listen {
            Some(addr) => Some(TcpListener::bind(addr).await.map_err(|e| {
                ConfigError::Invalid(format!("metrics_listen: binding {addr}: {e}"))
            })?),
            None => None,
        };
        Ok(Self {
            servers,
            relays,
            metrics,
            metrics_listener,
            store,
            retention: config.retention_days,
        })
    }

    /// Where the metrics endpoint listens, if configured.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// The bound addresses, in configuration order (port 0 resolved).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.servers
            .iter()
            .filter_map(|(l, _)| l.local_addr().ok())
            .collect()
    }

    /// Serves until `shutdown` is cancelled and every session has ended.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut tasks = tokio::task::JoinSet::new();
        if let Some(listener) = self.metrics_listener {
            tasks.spawn(crate::metrics::serve(
                listener,
                self.metrics,
                shutdown.clone(),
            ));
        }
        for (listener, server) in self.servers {
            tasks.spawn(server.serve(listener, shutdown.clone()));
        }
        for relay in self.relays {
            let shutdown = shutdown.clone();
            tasks.spawn(async move { relay.run_spool(shutdown).await });
        }
        tasks.spawn(expire_hourly(self.store, self.retention, shutdown.clone()));
        while tasks.join_next().await.is_some() {}
    }
}

/// Opens the store on a blocking thread (a database is connected to and
/// migrated). One process delivers a spool, and only it sweeps what a
/// crash left there: a second relay on the same spool is refused here.
async fn open_store(config: &Config) -> Result<Arc<dyn Store>, ConfigError> {
    let location = config.store.clone();
    let spool = config.listeners.iter().any(|l| l.mode == Mode::Spool);
    let opened = tokio::task::spawn_blocking(move || {
        let store = location.open()?;
        if spool {
            store.own_spool()?;
        }
        Ok::<_, StoreError>(store)
    })
    .await;
    let failed = |what: String| ConfigError::Store {
        location: config.store.to_string(),
        what,
    };
    match opened {
        Ok(Ok(store)) => Ok(store),
        Ok(Err(e)) => Err(failed(e.to_string())),
        Err(e) => Err(failed(e.to_string())),
    }
}

/// Removes originals past their retention, at start and every hour.
async fn expire_hourly(store: Arc<dyn Store>, retention: Retention, shutdown: CancellationToken) {
    loop {
        let pass = Arc::clone(&store);
        let now = crate::time::now_ms();
        match tokio::task::spawn_blocking(move || {
            mugai_store::expire(pass.as_ref(), &retention, now)
        })
        .await
        {
            Ok(Ok(removed)) if !removed.is_empty() => {
                tracing::info!(
                    removed = removed.len(),
                    "originals past their retention removed"
                );
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(error = %e, "retention pass failed"),
            Err(e) => tracing::error!(error = %e, "retention pass failed"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(RETENTION_PASS) => {}
        }
    }
}
