//! Real peers for the relay tests: a Postfix instance, `mugai serve`, swaks.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::mugai_bin;

/// A port nobody listens on right now (bind to 0 and let go).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A Postfix of its own, on 127.0.0.1 only, playing the LGWAN-side MTA: it
/// takes mail for `example.lg.jp` and delivers it into a maildir per user.
/// Built from Debian's postfix package, as `.ci/run` installs it.
pub struct Postfix {
    base: PathBuf,
    conf: PathBuf,
    /// Its SMTP port.
    pub port: u16,
}

impl Postfix {
    /// The LGWAN-side MTA: delivers `@example.lg.jp` into maildirs.
    pub fn start() -> Self {
        Self::start_with(&[
            "virtual_mailbox_domains = example.lg.jp",
            // One maildir for all; `mailbox()` tells users apart by Delivered-To.
            "virtual_mailbox_maps = static:inbox/",
            "virtual_uid_maps = static:65534",
            "virtual_gid_maps = static:65534",
        ])
    }

    /// The Internet-side MTA: relays `@example.lg.jp` to mugai at `port`.
    pub fn start_relaying_to(port: u16) -> Self {
        Self::start_with(&[
            "relay_domains = example.lg.jp",
            &format!("relayhost = [127.0.0.1]:{port}"),
            "smtp_destination_concurrency_limit = 4",
        ])
    }

    /// Configures and starts an instance; it stops when dropped.
    fn start_with(role: &[&str]) -> Self {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        assert!(
            Path::new("/usr/sbin/postfix").exists(),
            "Postfix is not installed: .ci/run installs it (apt-get install postfix)"
        );
        let n = COUNT.fetch_add(1, Ordering::SeqCst);
        // Under /var/tmp with mode 755: Postfix's daemons run as `postfix`
        // and must reach the queue; a private tempdir would shut them out.
        let base = PathBuf::from(format!(
            "/var/tmp/mugai-e2e/postfix-{}-{n}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&base);
        let (conf, spool, data, mail) = (
            base.join("conf"),
            base.join("spool"),
            base.join("data"),
            base.join("mail"),
        );
        for d in [&conf, &spool, &data, &mail] {
            std::fs::create_dir_all(d).expect("postfix dirs");
        }
        run(Command::new("chmod").args(["-R", "755", "/var/tmp/mugai-e2e"]));
        run(Command::new("chown").arg("postfix:postfix").arg(&data));
        run(Command::new("chown").arg("65534:65534").arg(&mail));
        std::fs::write(conf.join("main.cf"), "").expect("main.cf");
        std::fs::copy("/usr/share/postfix/master.cf.dist", conf.join("master.cf"))
            .expect("master.cf.dist");
        let _ = std::fs::copy("/etc/postfix/dynamicmaps.cf", conf.join("dynamicmaps.cf"));
        let port = free_port();
        let c = conf.display().to_string();
        let settings = [
            "compatibility_level = 3.6".to_owned(),
            format!("queue_directory = {}", spool.display()),
            format!("data_directory = {}", data.display()),
            "myhostname = lgwan-mta.localhost".into(),
            "mydomain = localhost".into(),
            "inet_interfaces = 127.0.0.1".into(),
            "inet_protocols = ipv4".into(),
            "mynetworks = 127.0.0.0/8".into(),
            "mydestination =".into(),
            "local_recipient_maps =".into(),
            "relay_domains =".into(),
            "smtpd_relay_restrictions = permit_mynetworks, reject".into(),
            format!("virtual_mailbox_base = {}", mail.display()),
            "smtp_tls_security_level = none".into(),
            "smtpd_tls_security_level = none".into(),
            "biff = no".into(),
            "alias_maps =".into(),
            "alias_database =".into(),
            format!("maillog_file = {}", base.join("maillog").display()),
            "readme_directory = no".into(),
            "html_directory = no".into(),
        ];
        run(Command::new("postconf")
            .args(["-c", &c, "-e"])
            .args(&settings)
            .args(role));
        run(Command::new("postconf").args(["-c", &c, "-M#", "smtp/inet"]));
        run(Command::new("postconf").args([
            "-c",
            &c,
            "-Me",
            &format!("127.0.0.1:{port}/inet = 127.0.0.1:{port} inet n - n - - smtpd"),
        ]));
        run(Command::new("postconf").args(["-c", &c, "-F", "*/*/chroot = n"]));
        run(Command::new("postconf").args([
            "-c",
            &c,
            "-Me",
            "postlog/unix-dgram = postlog unix-dgram n - n - 1 postlogd",
        ]));
        run(Command::new("postfix").args(["-c", &c, "check"]));
        run(Command::new("postfix").args(["-c", &c, "start"]));
        let postfix = Self { base, conf, port };
        wait_for_port(port);
        postfix
    }

    /// Messages delivered to `user@example.lg.jp` so far, oldest first.
    pub fn mailbox(&self, user: &str) -> Vec<Vec<u8>> {
        let dir = self.base.join("mail/inbox/new");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
            .unwrap_or_default();
        // Maildir names start with the delivery time in seconds.
        files.sort();
        let tag = format!("Delivered-To: {user}@example.lg.jp\n");
        files
            .iter()
            .filter_map(|f| std::fs::read(f).ok())
            .filter(|m| memchr_find(m, tag.as_bytes()))
            .collect()
    }

    /// Waits (up to 30 s) until `user` has `count` messages, and returns them.
    pub fn wait_for_mail(&self, user: &str, count: usize) -> Vec<Vec<u8>> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let mail = self.mailbox(user);
            if mail.len() >= count || Instant::now() > deadline {
                assert_eq!(
                    mail.len(),
                    count,
                    "mail for {user}; Postfix log:\n{}",
                    self.log()
                );
                return mail;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops it, as a next hop that goes down.
    pub fn stop(&self) {
        run(Command::new("postfix")
            .arg("-c")
            .arg(&self.conf)
            .arg("stop"));
    }

    /// Starts it again after [`Postfix::stop`], on the same port.
    pub fn start_again(&self) {
        run(Command::new("postfix")
            .arg("-c")
            .arg(&self.conf)
            .arg("start"));
        wait_for_port(self.port);
    }

    /// Postfix's log, for failure messages.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.base.join("maillog")).unwrap_or_default()
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new("postfix")
            .arg("-c")
            .arg(&self.conf)
            .arg("stop")
            .output();
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

fn memchr_find(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `mugai serve` as a process, with its own store; killed when dropped.
pub struct Mugai {
    child: Child,
    dir: tempfile::TempDir,
    config: PathBuf,
    /// Port of each listener, in configuration order.
    pub ports: Vec<u16>,
    /// Port of the metrics endpoint, when configured.
    pub metrics_port: Option<u16>,
}

impl Mugai {
    /// Starts `mugai serve` on `config`, where `{store}` stands for a fresh
    /// store directory. Listeners should use port 0; the real ports are read
    /// from what mugai prints.
    pub fn start(config: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = dir.path().join("store");
        let path = dir.path().join("mugai.toml");
        std::fs::write(
            &path,
            config.replace("{store}", &store.display().to_string()),
        )
        .expect("config");
        let listeners = config.matches("[[listener]]").count().max(1);
        let (child, ports, metrics_port) = Self::spawn(dir.path(), &path, listeners);
        Self {
            child,
            dir,
            config: path,
            ports,
            metrics_port,
        }
    }

    /// Starts it again on the same configuration and store, as after a crash.
    pub fn restart(&mut self) {
        self.kill();
        let (child, ports, metrics_port) =
            Self::spawn(self.dir.path(), &self.config, self.ports.len());
        self.child = child;
        self.ports = ports;
        self.metrics_port = metrics_port;
    }

    fn spawn(dir: &Path, config: &Path, listeners: usize) -> (Child, Vec<u16>, Option<u16>) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("serve.log"))
            .expect("log");
        let mut child = Command::new(mugai_bin())
            .args(["serve", "--config"])
            .arg(config)
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log))
            .spawn()
            .expect("mugai serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut ports = Vec::new();
        let mut metrics_port = None;
        while ports.len() < listeners {
            let line = match lines.next() {
                Some(Ok(l)) => l,
                _ => {
                    let log = std::fs::read_to_string(dir.join("serve.log"));
                    panic!("mugai serve stopped before listening: {log:?}");
                }
            };
            if let Some(addr) = line
                .strip_prefix("mugai: metrics on http://")
                .and_then(|rest| rest.strip_suffix("/metrics"))
            {
                metrics_port = addr.rsplit(':').next().and_then(|p| p.parse().ok());
            }
            if let Some(port) = line
                .split(" listening on ")
                .nth(1)
                .and_then(|rest| rest.split(',').next())
                .and_then(|addr| addr.rsplit(':').next())
                .and_then(|p| p.parse().ok())
            {
                ports.push(port);
            }
        }
        (child, ports, metrics_port)
    }

    /// The first listener's port.
    pub fn port(&self) -> u16 {
        self.ports[0]
    }

    /// A `mugai` command pointed at this instance's configuration.
    pub fn command(&self, args: &[&str]) -> Output {
        Command::new(mugai_bin())
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .output()
            .expect("mugai runs")
    }

    /// The store directory.
    pub fn store(&self) -> PathBuf {
        self.dir.path().join("store")
    }

    /// What `mugai serve` logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("serve.log")).unwrap_or_default()
    }

    /// Stops it with SIGKILL, as a crash would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Mugai {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Runs swaks against 127.0.0.1:`port` and returns its transcript.
pub fn swaks(port: u16, args: &[&str]) -> String {
    let out = Command::new("swaks")
        .args(["--server", &format!("127.0.0.1:{port}"), "--timeout", "60"])
        .args(args)
        .output()
        .expect("swaks is installed (.ci/run installs it)");
    String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
}

/// `GET /metrics` from 127.0.0.1:`port`: the body.
pub fn scrape(port: u16) -> String {
    let response = raw_smtp(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    response
        .split("\r\n\r\n")
        .nth(1)
        .unwrap_or_default()
        .to_owned()
}

/// A plain SMTP conversation over TCP: sends `input` at once and returns
/// everything the server wrote until it closed (or 10 s passed).
pub fn raw_smtp(port: u16, input: &[u8]) -> String {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(input).expect("write");
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}
