//! The relay's configuration file: plain data, checked, and the policy and
//! rules files it names loaded. `gateway.rs` builds the relay from it.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use mugai_core::{Direction, LureRules, Policy};
use mugai_store::StoreLocation;
use serde::Deserialize;

use crate::relay::Mode;

/// The whole configuration (`mugai serve --config FILE`). Every field has a
/// default, so an empty file, or none, runs one loopback listener that
/// delivers into a directory.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Our name in greetings and Received headers.
    #[serde(default = "default_hostname")]
    pub hostname: String,
    /// Where the quarantine, the audit log and the spool live: a
    /// directory, or PostgreSQL shared by several relay nodes (see
    /// [`StoreLocation`]).
    #[serde(default)]
    pub store: StoreLocation,
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
    /// Days originals stay in the quarantine, by verdict (90 each by
    /// default); the relay removes older ones hourly, with an audit record
    /// each.
    #[serde(default)]
    pub retention_days: mugai_store::Retention,
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
    /// Spool mode: delivery attempts at once (Postfix's
    /// `default_destination_concurrency_limit` is 20 too).
    #[serde(default = "default_delivery_concurrency")]
    pub delivery_concurrency: usize,
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
    /// Seconds a client has for a whole command line (however it trickles
    /// in), and the longest any read waits (Postfix `smtpd_timeout` with
    /// `smtpd_per_request_deadline`).
    #[serde(default = "default_read_timeout")]
    pub read_timeout_secs: u64,
    /// During DATA, bytes per second the deadline grows by (Postfix
    /// `smtpd_min_data_rate`): a message must arrive within
    /// `read_timeout_secs` plus its size at this rate.
    #[serde(default = "default_min_data_rate")]
    pub min_data_rate: u64,
    /// Seconds a session may last, messages and all.
    #[serde(default = "default_session_timeout")]
    pub session_timeout_secs: u64,
    /// Seconds to wait for each reply of the next hop.
    #[serde(default = "default_next_hop_timeout")]
    pub next_hop_timeout_secs: u64,
    /// Received headers before a message counts as looping.
    #[serde(default = "default_max_hops")]
    pub max_hops: usize,
}

/// Where the STARTTLS certificate comes from: `{ cert = "...", key = "..." }`
/// or `{ self_signed = true }`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "TlsFields")]
pub enum TlsConfig {
    /// A PEM certificate chain and its private key.
    Files {
        /// The certificate chain.
        cert: PathBuf,
        /// The private key.
        key: PathBuf,
    },
    /// A certificate generated for `hostname` at start (demo, tests).
    SelfSigned,
}

/// `tls` as written; only the combinations [`TlsConfig`] names are valid.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TlsFields {
    #[serde(default)]
    cert: Option<PathBuf>,
    #[serde(default)]
    key: Option<PathBuf>,
    #[serde(default)]
    self_signed: bool,
}

impl TryFrom<TlsFields> for TlsConfig {
    type Error = String;

    fn try_from(f: TlsFields) -> Result<Self, String> {
        match (f.cert, f.key, f.self_signed) {
            (Some(cert), Some(key), false) => Ok(TlsConfig::Files { cert, key }),
            (None, None, true) => Ok(TlsConfig::SelfSigned),
            _ => Err("tls needs either cert and key, or self_signed = true".into()),
        }
    }
}

fn default_hostname() -> String {
    "mugai.localhost".into()
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
    // Postfix's smtpd_client_connection_count_limit: room for an MTA
    // peer's 20 parallel deliveries and its closing sessions.
    50
}
fn default_rate_window() -> u64 {
    60
}
fn default_read_timeout() -> u64 {
    300
}
fn default_min_data_rate() -> u64 {
    500
}
fn default_session_timeout() -> u64 {
    3600
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
fn default_delivery_concurrency() -> usize {
    20
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
        delivery_concurrency: default_delivery_concurrency(),
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
        min_data_rate: default_min_data_rate(),
        session_timeout_secs: default_session_timeout(),
        next_hop_timeout_secs: default_next_hop_timeout(),
        max_hops: default_max_hops(),
    }]
}

impl Default for Config {
    fn default() -> Self {
        Self {
            hostname: default_hostname(),
            store: StoreLocation::default(),
            policy: None,
            lure_rules: None,
            yara_rules: None,
            engine_slots: None,
            retention_days: mugai_store::Retention::default(),
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
    /// The store cannot be opened.
    #[error("store {location}: {what}")]
    Store {
        /// The store, without a password.
        location: String,
        /// What is wrong.
        what: String,
    },
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
            let zero_size = [
                l.max_message_size,
                l.max_recipients,
                l.max_connections,
                l.max_connections_per_ip,
            ]
            .contains(&0);
            let zero_rate = [l.connection_rate_limit, l.message_rate_limit].contains(&Some(0));
            let zero_time = [
                l.rate_window_secs,
                l.read_timeout_secs,
                l.session_timeout_secs,
                l.min_data_rate,
            ]
            .contains(&0);
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

pub(crate) fn file_error(path: &Path, e: impl std::fmt::Display) -> ConfigError {
    ConfigError::File {
        path: path.to_owned(),
        what: e.to_string(),
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
    fn tls_is_files_or_self_signed_never_both_or_half() {
        let with = |tls: &str| {
            Config::from_toml(&format!(
                "[[listener]]\nname = \"x\"\nlisten = \"127.0.0.1:2525\"\ndirection = \"inbound\"\nrecipient_domains = [\"example.lg.jp\"]\ntls = {tls}\n"
            ))
            .map(|c| c.listeners[0].tls.clone())
        };
        assert_eq!(
            with("{ self_signed = true }").expect("self-signed"),
            Some(TlsConfig::SelfSigned)
        );
        assert_eq!(
            with("{ cert = \"c.pem\", key = \"k.pem\" }").expect("files"),
            Some(TlsConfig::Files {
                cert: "c.pem".into(),
                key: "k.pem".into()
            })
        );
        for half in [
            "{ cert = \"c.pem\" }",
            "{ self_signed = false }",
            "{ cert = \"c.pem\", key = \"k.pem\", self_signed = true }",
        ] {
            let err = with(half).expect_err(half);
            assert!(err.to_string().contains("tls needs"), "{half}: {err}");
        }
        assert!(
            with("{ self_signed = true, pin = 1 }").is_err(),
            "unknown key"
        );
    }

    #[test]
    fn the_shipped_example_parses() {
        let c = Config::from_toml(include_str!("../../../docs/relay.example.toml"))
            .expect("docs/relay.example.toml");
        assert_eq!(c.listeners.len(), 2);
        assert_eq!(c.listeners[1].direction, Direction::Outbound);
    }
}
