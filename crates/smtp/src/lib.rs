//! mugai-smtp: mugai between two MTAs.
//!
//! - [`Session`]: one SMTP server conversation as a state machine without I/O.
//! - [`Server`]: the tokio accept loop and connection driver around it.
//! - [`Client`]: the next-hop client.
//! - [`Relay`]: the handler that sanitizes each message in-line and passes it
//!   on, replying 250 only once the next hop (or the quarantine) has it.

mod client;
mod config;
mod gateway;
mod metrics;
mod rate;
mod relay;
mod reply;
mod server;
mod session;
mod time;
mod tls;

pub use client::{Capabilities, Client, ClientError};
pub use config::{Config, ConfigError, ListenerConfig, TlsConfig};
pub use gateway::Gateway;
pub use metrics::Metrics;
pub use rate::RateLimits;
pub use relay::{Delivery, Mode, Relay, RelayConnection, RelaySettings};
pub use reply::Reply;
pub use server::{Connection, Handler, Server, ServerConfig};
pub use session::{Event, MailFrom, Peer, Session, SessionConfig};
