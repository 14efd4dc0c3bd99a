//! Where a store is, as the configuration names it, and opening it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;

use crate::{FsStore, PgStore, Store, StoreError};

/// Where the store is (`store` in the relay's configuration):
///
/// ```toml
/// store = "/var/lib/mugai"                      # everything in one directory
/// store = "postgres://mugai@db.example/mugai"   # shared by several relay nodes
///
/// [store]                                       # the same, with the local directory
/// postgres = "postgres://mugai@db.example/mugai"
/// local = "/var/spool/mugai"
/// ```
///
/// With PostgreSQL, the spool and the delivery directories stay in the
/// local directory: each node has its own.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreLocation {
    /// Everything in one directory on a local filesystem.
    Dir(PathBuf),
    /// The quarantine, the audit chain and the sent-Message-ID memory in
    /// PostgreSQL; the spool in `local`.
    Postgres {
        /// `postgres://...`, or libpq's `key=value ...` form.
        url: String,
        /// This node's own directory.
        local: PathBuf,
    },
}

impl Default for StoreLocation {
    fn default() -> Self {
        StoreLocation::Dir(PathBuf::from(Self::DEFAULT_DIR))
    }
}

impl StoreLocation {
    /// The directory used when none is configured.
    pub const DEFAULT_DIR: &str = "mugai-data";

    /// A directory, or a database when `s` is a `postgres://` or
    /// `postgresql://` URL (its local directory is then the default one).
    pub fn parse(s: &str) -> Self {
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            StoreLocation::Postgres {
                url: s.to_owned(),
                local: PathBuf::from(Self::DEFAULT_DIR),
            }
        } else {
            StoreLocation::Dir(PathBuf::from(s))
        }
    }

    /// This node's own directory: the whole store, or its spool and
    /// delivery directories.
    pub fn local_dir(&self) -> &Path {
        match self {
            StoreLocation::Dir(dir) => dir,
            StoreLocation::Postgres { local, .. } => local,
        }
    }

    /// Opens the store (creating what is missing, migrating a database).
    /// Blocks: from async code, call it on a blocking thread.
    pub fn open(&self) -> Result<Arc<dyn Store>, StoreError> {
        Ok(match self {
            StoreLocation::Dir(dir) => Arc::new(FsStore::open(dir)?),
            StoreLocation::Postgres { url, local } => Arc::new(PgStore::open(url, local)?),
        })
    }
}

/// Shows a database without its password.
impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreLocation::Dir(dir) => write!(f, "{}", dir.display()),
            StoreLocation::Postgres { url, .. } => f.write_str(&without_password(url)),
        }
    }
}

/// The database as `postgres://user@host:port/db`, read by the client's
/// own parser: no password ever shows, whichever form it was given in.
fn without_password(url: &str) -> String {
    let Ok(config) = url.parse::<postgres::Config>() else {
        return "postgres://(an address that does not parse)".into();
    };
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect();
    let port = config
        .get_ports()
        .first()
        .map_or(String::new(), |p| format!(":{p}"));
    format!(
        "postgres://{}@{}{port}/{}",
        config.get_user().unwrap_or(""),
        hosts.join(","),
        config.get_dbname().unwrap_or("")
    )
}

impl<'de> Deserialize<'de> for StoreLocation {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Table {
            postgres: String,
            #[serde(default)]
            local: Option<PathBuf>,
        }
        #[derive(Deserialize)]
        #[serde(
            untagged,
            expecting = "a directory, a postgres:// URL, or a table with postgres and local"
        )]
        enum Raw {
            Text(String),
            Table(Table),
        }
        Ok(match Raw::deserialize(d)? {
            Raw::Text(s) => StoreLocation::parse(&s),
            Raw::Table(t) => StoreLocation::Postgres {
                url: t.postgres,
                local: t
                    .local
                    .unwrap_or_else(|| PathBuf::from(StoreLocation::DEFAULT_DIR)),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_urls_and_tables() {
        #[derive(Deserialize)]
        struct C {
            store: StoreLocation,
        }
        let parse = |s: &str| serde_json::from_str::<C>(s).map(|c| c.store);
        assert_eq!(
            parse(r#"{"store": "/var/lib/mugai"}"#).expect("dir"),
            StoreLocation::Dir("/var/lib/mugai".into())
        );
        let pg = parse(r#"{"store": "postgres://mugai:s3cret@db/mugai"}"#).expect("url");
        assert_eq!(pg.local_dir(), Path::new("mugai-data"));
        assert_eq!(pg.to_string(), "postgres://mugai@db:5432/mugai");
        let table =
            parse(r#"{"store": {"postgres": "host=db password=s3cret", "local": "/srv/m"}}"#)
                .expect("table");
        assert_eq!(table.local_dir(), Path::new("/srv/m"));
        assert!(!format!("{pg}{table}").contains("s3cret"));
        assert_eq!(table.to_string(), "postgres://@db/");
        assert!(parse(r#"{"store": {"local": "/srv/m"}}"#).is_err());
        assert_eq!(
            StoreLocation::parse("postgresql:///m?host=/run/pg&password=x&user=u").to_string(),
            "postgres://u@/run/pg/m"
        );
    }
}
