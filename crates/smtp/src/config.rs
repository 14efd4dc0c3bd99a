//! The relay's configuration file, and the gateway it builds.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use mugai_core::{Direction, Engine, LureRules, Policy};
use mugai_store::{FsStore, Store};
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;
use crate::rate::RateLimits;
use crate::relay::{Delivery, Mode, Relay, RelaySettings};
use crate::server::{Server, ServerConfig};
use crate::session::SessionConfig;

/// The whole configuration (`mugai serve --config FILE`). Every field has a
/// default, so an empty file, or none, runs one loopback listener that
/// delivers into a directory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Our name in greetings and Received headers.
    #[serde(default = "default_hostname")]
    pub hostname: String,
    /// Where the quarantine and the audit log live.
    #[serde(default = "default_store")]
    pub store: PathBuf,
    /// Policy file; the built-in policy (rules/policy.toml) when absent.
    #[serde(default)]
    pub policy: Option<PathBuf>,
    /// Lure rules file; the built-in rules (rules/lure.toml) when absent.
    #[serde(default)]
    pub lure_rules: Option<PathBuf>,
    /// Directory of YARA rules (`.yar`, `.yara`); the built-in starter set
    /// (rules/yara/) when absent. Needs the `yara` feature.
    #[serde(default)]
    pub yara_rules: Option<PathBuf>,
    /// Engine runs at once across all listeners (default: one per core).
    #[serde(default)]
    pub engine_slots: Option<usize>,
    /// Where to answer Prometheus scrapes (`GET /metrics`); off when absent.
    #[serde(default)]
    pub metrics_listen: Option<SocketAddr>,
    /// One per segment crossing.
    #[serde(default = "default_listeners", rename = "listener")]
    pub listeners: Vec<ListenerConfig>,
}

/// One listening socket and what it does with mail.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerConfig {
    /// A short name for logs, the audit log and the quarantine.
    pub name: String,
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Which policy applies: `inbound` (Internet → LGWAN) or `outbound`.
    pub direction: Direction,
    /// Domains we take recipients for. `*` takes any domain, allowed only
    /// when `client_networks` names specific networks (an outbound listener
    /// for the LGWAN-side MTA).
    pub recipient_domains: Vec<String>,
    /// Networks allowed to connect.
    #[serde(default = "loopback")]
    pub client_networks: Vec<IpNet>,
    /// `host:port` of the next hop. Without one, sanitized mail is written
    /// into `deliver_dir`.
    #[serde(default)]
    pub next_hop: Option<String>,
    /// Where mail goes when there is no next hop (default `<store>/delivered/<name>`).
    #[serde(default)]
    pub deliver_dir: Option<PathBuf>,
    /// `inline` (250 once the next hop has it) or `spool` (250 once it is on
    /// disk; delivered with retries).
    #[serde(default)]
    pub mode: Mode,
    /// Spool mode: seconds before the first retry; each later one waits twice
    /// as long, up to an hour.
    #[serde(default = "default_retry_base")]
    pub retry_base_secs: u64,
    /// Spool mode: seconds before an undeliverable message is bounced.
    #[serde(default = "default_lifetime")]
    pub max_queue_lifetime_secs: u64,
    /// Spool mode: `host:port` that bounces are sent through (towards the
    /// senders' side). Without one, bounces are kept in the quarantine.
    #[serde(default)]
    pub bounce_next_hop: Option<String>,
    /// STARTTLS certificate and key.
    #[serde(default)]
    pub tls: Option<TlsConfig>,
    /// Largest message in bytes (advertised as SIZE).
    #[serde(default = "default_max_message_size")]
    pub max_message_size: usize,
    /// Recipients per message.
    #[serde(default = "default_max_recipients")]
    pub max_recipients: usize,
    /// Connections at once.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Connections at once from one address.
    #[serde(default = "default_max_connections_per_ip")]
    pub max_connections_per_ip: usize,
    /// Connections one address may open per `rate_window_secs` (Postfix
    /// `smtpd_client_connection_rate_limit`); unlimited when absent.
    #[serde(default)]
    pub connection_rate_limit: Option<u32>,
    /// Messages (MAIL FROM) one address may send per `rate_window_secs`
    /// (Postfix `smtpd_client_message_rate_limit`); unlimited when absent.
    /// Over it, MAIL gets 450 4.7.1 and the client retries later.
    #[serde(default)]
    pub message_rate_limit: Option<u32>,
    /// The window the rates are counted in.
    #[serde(default = "default_rate_window")]
    pub rate_window_secs: u64,
    /// Seconds to wait for a client's next bytes.
    #[serde(default = "default_read_timeout")]
    pub read_timeout_secs: u64,
    /// Seconds to wait for each reply of the next hop.
    #[serde(default = "default_next_hop_timeout")]
    pub next_hop_timeout_secs: u64,
    /// Received headers before a message counts as looping.
    #[serde(default = "default_max_hops")]
    pub max_hops: usize,
}

/// Where the STARTTLS certificate comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// PEM certificate chain; with `key`.
    #[serde(default)]
    pub cert: Option<PathBuf>,
    /// PEM private key.
    #[serde(default)]
    pub key: Option<PathBuf>,
    /// Generate a self-signed certificate for `hostname` at start (demo, tests).
    #[serde(default)]
    pub self_signed: bool,
}

fn default_hostname() -> String {
    "mugai.localhost".into()
}
fn default_store() -> PathBuf {
    "mugai-data".into()
}
fn loopback() -> Vec<IpNet> {
    ["127.0.0.0/8", "::1/128"]
        .iter()
        .filter_map(|n| n.parse().ok())
        .collect()
}
fn default_max_message_size() -> usize {
    50 * 1024 * 1024
}
fn default_max_recipients() -> usize {
    100
}
fn default_max_connections() -> usize {
    100
}
fn default_max_connections_per_ip() -> usize {
    20
}
fn default_rate_window() -> u64 {
    60
}
fn default_read_timeout() -> u64 {
    300
}
fn default_next_hop_timeout() -> u64 {
    300
}
fn default_max_hops() -> usize {
    50
}
fn default_retry_base() -> u64 {
    60
}
fn default_lifetime() -> u64 {
    5 * 24 * 3600
}
fn default_listeners() -> Vec<ListenerConfig> {
    vec![ListenerConfig {
        name: "inbound".into(),
        listen: SocketAddr::from(([127, 0, 0, 1], 2525)),
        direction: Direction::Inbound,
        recipient_domains: vec!["*".into()],
        client_networks: loopback(),
        next_hop: None,
        deliver_dir: None,
        mode: Mode::Inline,
        retry_base_secs: default_retry_base(),
        max_queue_lifetime_secs: default_lifetime(),
        bounce_next_hop: None,
        tls: None,
        max_message_size: default_max_message_size(),
        max_recipients: default_max_recipients(),
        max_connections: default_max_connections(),
        max_connections_per_ip: default_max_connections_per_ip(),
        connection_rate_limit: None,
        message_rate_limit: None,
        rate_window_secs: default_rate_window(),
        read_timeout_secs: default_read_timeout(),
        next_hop_timeout_secs: default_next_hop_timeout(),
        max_hops: default_max_hops(),
    }]
}

impl Default for Config {
    fn default() -> Self {
        Self {
            hostname: default_hostname(),
            store: default_store(),
            policy: None,
            lure_rules: None,
            yara_rules: None,
            engine_slots: None,
            metrics_listen: None,
            listeners: default_listeners(),
        }
    }
}

/// A configuration that cannot run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Not valid TOML, or an unknown key.
    #[error("{0}")]
    Parse(#[from] toml::de::Error),
    /// Valid TOML that makes no sense.
    #[error("{0}")]
    Invalid(String),
    /// A file it names cannot be used.
    #[error("{path}: {what}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
}

impl Config {
    /// Parses and checks a configuration.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        let config: Config = toml::from_str(text)?;
        config.check()?;
        Ok(config)
    }

    /// Rules that TOML types cannot express.
    pub fn check(&self) -> Result<(), ConfigError> {
        let invalid = |m: String| Err(ConfigError::Invalid(m));
        if self.listeners.is_empty() {
            return invalid("no [[listener]]".into());
        }
        for (i, l) in self.listeners.iter().enumerate() {
            let name = &l.name;
            if self.listeners[..i].iter().any(|o| o.name == l.name) {
                return invalid(format!("listener {name}: the name is used twice"));
            }
            if l.recipient_domains.is_empty() {
                return invalid(format!("listener {name}: recipient_domains is empty"));
            }
            if l.client_networks.is_empty() {
                return invalid(format!("listener {name}: client_networks is empty"));
            }
            let any_domain = l.recipient_domains.iter().any(|d| d == "*");
            let world = l.client_networks.iter().any(|n| n.prefix_len() == 0);
            if any_domain && world {
                return invalid(format!(
                    "listener {name}: recipient_domains = [\"*\"] with a client network of /0 is an open relay"
                ));
            }
            if let Some(tls) = &l.tls
                && (tls.self_signed == (tls.cert.is_some() || tls.key.is_some())
                    || tls.cert.is_some() != tls.key.is_some())
            {
                return invalid(format!(
                    "listener {name}: tls needs either cert and key, or self_signed = true"
                ));
            }
            let zero_size = [
                l.max_message_size,
                l.max_recipients,
                l.max_connections,
                l.max_connections_per_ip,
            ]
            .contains(&0);
            let zero_rate = [l.connection_rate_limit, l.message_rate_limit].contains(&Some(0));
            let zero_time = [l.rate_window_secs, l.read_timeout_secs].contains(&0);
            if zero_size || zero_rate || zero_time {
                return invalid(format!("listener {name}: a limit is 0"));
            }
        }
        Ok(())
    }

    /// The policy it names, or the built-in one.
    pub fn load_policy(&self) -> Result<Policy, ConfigError> {
        let Some(path) = &self.policy else {
            return Ok(Policy::default());
        };
        let text = std::fs::read_to_string(path).map_err(|e| file_error(path, e))?;
        Policy::from_toml(&text).map_err(|e| file_error(path, e))
    }

    /// The YARA rules it names, or the built-in starter set; compiled once
    /// here and shared by every engine run.
    #[cfg(feature = "yara")]
    pub fn load_yara_rules(&self) -> Result<mugai_core::YaraRules, ConfigError> {
        match &self.yara_rules {
            Some(dir) => mugai_core::YaraRules::from_dir(dir).map_err(|e| file_error(dir, e)),
            None => Ok(mugai_core::YaraRules::built_in()),
        }
    }

    /// Refuses `yara_rules` when this build has no YARA: silently running
    /// without the rules an operator configured would weaken the gateway.
    #[cfg(not(feature = "yara"))]
    pub fn load_yara_rules(&self) -> Result<(), ConfigError> {
        match &self.yara_rules {
            Some(dir) => Err(file_error(
                dir,
                "this mugai was built without the yara feature",
            )),
            None => Ok(()),
        }
    }

    /// The lure rules it names, or the built-in ones.
    pub fn load_lure_rules(&self) -> Result<Option<LureRules>, ConfigError> {
        let Some(path) = &self.lure_rules else {
            return Ok(None);
        };
        let text = std::fs::read_to_string(path).map_err(|e| file_error(path, e))?;
        LureRules::from_toml(&text)
            .map(Some)
            .map_err(|e| file_error(path, e))
    }
}

fn file_error(path: &Path, e: impl std::fmt::Display) -> ConfigError {
    ConfigError::File {
        path: path.to_owned(),
        what: e.to_string(),
    }
}

/// Every listener bound and ready to serve.
pub struct Gateway {
    servers: Vec<(TcpListener, Server<Relay>)>,
    /// The same relays, for their spool workers.
    relays: Vec<Relay>,
    metrics: Arc<Metrics>,
    metrics_listener: Option<TcpListener>,
}

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
        let store: Arc<dyn Store> =
            Arc::new(FsStore::open(&config.store).map_err(|e| file_error(&config.store, e))?);
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
                write_timeout: Duration::from_secs(l.read_timeout_secs),
                tls,
                shutdown_grace: Duration::from_secs(30),
            };
            let delivery = match &l.next_hop {
                Some(addr) => Delivery::NextHop {
                    addr: addr.clone(),
                    timeout: Duration::from_secs(l.next_hop_timeout_secs),
                },
                None => Delivery::Directory(
                    l.deliver_dir
                        .clone()
                        .unwrap_or_else(|| config.store.join("delivered").join(&l.name)),
                ),
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
        while tasks.join_next().await.is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_the_open_relay_rule() {
        let c = Config::from_toml("").expect("empty file");
        assert_eq!(c.listeners[0].listen.port(), 2525);
        let open = r#"
            [[listener]]
            name = "x"
            listen = "0.0.0.0:25"
            direction = "inbound"
            recipient_domains = ["*"]
            client_networks = ["0.0.0.0/0"]
        "#;
        let err = Config::from_toml(open).expect_err("open relay");
        assert!(err.to_string().contains("open relay"), "{err}");
        assert!(Config::from_toml("listeners = []").is_err(), "unknown key");
    }

    #[test]
    fn the_shipped_example_parses() {
        let c = Config::from_toml(include_str!("../../../docs/relay.example.toml"))
            .expect("docs/relay.example.toml");
        assert_eq!(c.listeners.len(), 2);
        assert_eq!(c.listeners[1].direction, Direction::Outbound);
    }
}
