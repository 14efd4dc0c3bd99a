//! A throwaway PostgreSQL cluster for tests: `initdb` into a temporary
//! directory, `pg_ctl start` listening only on a Unix socket there, and
//! `pg_ctl stop` when dropped. No mock: the server Debian ships.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running cluster, stopped and removed when dropped.
#[derive(Debug)]
pub struct PgCluster {
    bin: PathBuf,
    dir: tempfile::TempDir,
    /// Run the server's programs as this user (root may not run them).
    user: Option<&'static str>,
}

impl PgCluster {
    /// Creates and starts a cluster. Panics, saying what to install, when
    /// PostgreSQL's server programs are not on this machine.
    #[allow(clippy::unwrap_used, clippy::missing_panics_doc)]
    pub fn start() -> Self {
        let bin = server_bin().unwrap_or_else(|| {
            panic!(
                "PostgreSQL's server (initdb, pg_ctl) is not installed: run tests/install-peers.sh"
            )
        });
        let dir = tempfile::Builder::new()
            .prefix("mugai-pg")
            .tempdir()
            .unwrap();
        let user = is_root().then_some("postgres");
        if let Some(user) = user {
            // The server's user must own its directory.
            let status = Command::new("chown")
                .args([user, &dir.path().display().to_string()])
                .status()
                .unwrap();
            assert!(status.success(), "chown {user} {}", dir.path().display());
        }
        let cluster = Self { bin, dir, user };
        let data = cluster.data().display().to_string();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        cluster.restart();
        cluster
    }

    /// Starts the server again after [`PgCluster::stop`].
    pub fn restart(&self) {
        let data = self.data().display().to_string();
        let options = format!(
            "-c listen_addresses='' -c unix_socket_directories='{}' -c fsync=off",
            self.dir.path().display()
        );
        let log = self.dir.path().join("log").display().to_string();
        self.run(
            "pg_ctl",
            &["-D", &data, "-o", &options, "-l", &log, "-w", "start"],
        );
    }

    /// Stops the server at once, as a crash or a lost network would.
    pub fn stop(&self) {
        let data = self.data().display().to_string();
        self.run("pg_ctl", &["-D", &data, "-m", "immediate", "-w", "stop"]);
    }

    /// Where to connect, as a `postgres://` URL.
    pub fn url(&self) -> String {
        format!(
            "postgresql:///postgres?host={}&user=postgres",
            self.dir.path().display()
        )
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// One of the server's programs, run as the server's user.
    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        let mut command = match self.user {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(program);
                c
            }
            None => Command::new(program),
        };
        command.current_dir(self.dir.path());
        command
    }

    fn run(&self, program: &str, args: &[&str]) {
        let output = self
            .command(program)
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("running {program}: {e}"));
        assert!(
            output.status.success(),
            "{program} {args:?} failed: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.data().display().to_string();
        let _ = self
            .command("pg_ctl")
            .args(["-D", &data, "-m", "immediate", "-w", "stop"])
            .output();
    }
}

/// The newest PostgreSQL server's `bin` directory: Debian keeps it under
/// `/usr/lib/postgresql/<major>/bin`, other systems on the PATH.
fn server_bin() -> Option<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let major = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((major, bin))
        })
        .collect();
    found.sort();
    if let Some((_, bin)) = found.pop() {
        return Some(bin);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find(|dir| Path::new(dir).join("initdb").exists())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}
