//! The accounting harness (ignored by default; minutes long): messages with
//! unique Message-IDs over several sessions, through `mugai serve` to a real
//! Postfix, under faults. For each run it counts what was sent, answered
//! 250, delivered, quarantined and refused, and what was lost (answered 250,
//! then neither delivered nor quarantined) or duplicated; `audit verify`
//! must pass after every run. Senders retry a message that got no answer
//! or a 4xx for a minute, as an MTA's queue would; "refused" is what was
//! still not accepted then (5xx, or 4xx to the end).
//!
//! ```sh
//! cargo test -p mugai-e2e --test e2e accounting -- --ignored --nocapture
//! ACCOUNTING_ONLY=PostgreSQL cargo test ...   # only the runs whose name has this
//! ```
//!
//! Each run prints a row of the table in BENCHMARKS.md.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::time::{Duration, Instant};

use mugai_e2e::mugai;
use mugai_e2e::peers::{Mugai, Postfix};
use mugai_store::PgCluster;

/// Messages per run, and sessions sending them at once.
const MESSAGES: usize = 400;
const SESSIONS: usize = 10;

#[derive(Clone, Copy, PartialEq)]
enum Fault {
    None,
    /// `kill -9` of the relay three times while mail arrives.
    Kill,
    /// The next hop down for 20 s while mail arrives.
    NextHopDown,
    /// `mugai quarantine` and `mugai audit` commands in a loop meanwhile.
    Commands,
    /// The store on a 3 MB filesystem that fills up, grown after 20 s
    /// (an operator freeing space).
    DiskFull,
    /// The PostgreSQL store stopped for 20 s while mail arrives.
    DatabaseDown,
}

/// Where the relay keeps its quarantine and audit log.
#[derive(Clone, Copy, PartialEq)]
enum Backend {
    Dir,
    /// A PostgreSQL cluster of the run's own; the spool stays local.
    Postgres,
}

#[derive(Clone, Copy, PartialEq)]
enum Body {
    /// 10 KB of plain text.
    Text,
    /// The same macro document in every message (disarmed, original kept).
    Docm,
}

#[test]
#[ignore = "minutes long; run by hand for BENCHMARKS.md"]
fn accounting() {
    println!(
        "| run | sent | 250 | delivered | quarantined | refused | lost | duplicated | audit verify |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    use Backend::{Dir, Postgres};
    let runs = [
        ("inline", Body::Text, Fault::None, Dir),
        ("spool", Body::Text, Fault::None, Dir),
        ("inline", Body::Docm, Fault::None, Dir),
        ("spool", Body::Docm, Fault::None, Dir),
        ("spool", Body::Docm, Fault::Kill, Dir),
        ("inline", Body::Text, Fault::NextHopDown, Dir),
        ("spool", Body::Text, Fault::NextHopDown, Dir),
        ("spool", Body::Docm, Fault::Commands, Dir),
        ("inline", Body::Docm, Fault::Commands, Dir),
        ("spool", Body::Docm, Fault::DiskFull, Dir),
        ("inline", Body::Docm, Fault::DiskFull, Dir),
        ("inline", Body::Docm, Fault::None, Postgres),
        ("spool", Body::Docm, Fault::None, Postgres),
        ("spool", Body::Docm, Fault::Kill, Postgres),
        ("inline", Body::Docm, Fault::Commands, Postgres),
        ("inline", Body::Docm, Fault::DatabaseDown, Postgres),
        ("spool", Body::Docm, Fault::DatabaseDown, Postgres),
    ];
    let only = std::env::var("ACCOUNTING_ONLY").unwrap_or_default();
    let mut failures = Vec::new();
    for (mode, body, fault, backend) in runs {
        if !only.is_empty() && !name(mode, body, fault, backend).contains(&only) {
            continue;
        }
        let row = run(mode, body, fault, backend);
        println!("{}", row.line());
        if row.lost > 0 || !row.verified {
            failures.push(row.name.clone());
        }
    }
    assert!(
        failures.is_empty(),
        "lost mail or a broken chain: {failures:?}"
    );
}

struct Row {
    name: String,
    sent: usize,
    accepted: usize,
    delivered: usize,
    quarantined: usize,
    refused: usize,
    lost: usize,
    duplicated: usize,
    verified: bool,
}

impl Row {
    fn line(&self) -> String {
        format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            self.name,
            self.sent,
            self.accepted,
            self.delivered,
            self.quarantined,
            self.refused,
            self.lost,
            self.duplicated,
            if self.verified { "ok" } else { "BROKEN" }
        )
    }
}

fn name(mode: &str, body: Body, fault: Fault, backend: Backend) -> String {
    format!(
        "{mode}{}, {}{}",
        match backend {
            Backend::Dir => "",
            Backend::Postgres => " (PostgreSQL)",
        },
        match body {
            Body::Text => "10 KB text",
            Body::Docm => "same docm",
        },
        match fault {
            Fault::None => "",
            Fault::Kill => ", kill -9 ×3",
            Fault::NextHopDown => ", next hop down 20 s",
            Fault::Commands => ", CLI loop",
            Fault::DiskFull => ", store's disk full for 20 s",
            Fault::DatabaseDown => ", database down 20 s",
        }
    )
}

fn run(mode: &str, body: Body, fault: Fault, backend: Backend) -> Row {
    let name = name(mode, body, fault, backend);
    let postfix = Postfix::start();
    let cluster = (backend == Backend::Postgres).then(PgCluster::start);
    let work = tempfile::tempdir().expect("tempdir");
    let store = work.path().join("store");
    let _mount = (fault == Fault::DiskFull).then(|| Tmpfs::mount(&store, "3m"));
    let policy = work.path().join("policy.toml");
    // Tagged, not held: the lure score of the docm mail would hold it.
    std::fs::write(&policy, "[inbound.lure]\ntag = 4.0\n").expect("policy");
    let store_config = match &cluster {
        Some(c) => format!(
            "[store]\npostgres = \"{}\"\nlocal = \"{}\"",
            c.url(),
            store.display()
        ),
        None => format!("store = \"{}\"", store.display()),
    };
    let config = format!(
        r#"hostname = "mugai.test"
policy = "{}"
{store_config}

[[listener]]
name = "inbound"
listen = "127.0.0.1:0"
direction = "inbound"
recipient_domains = ["example.lg.jp"]
next_hop = "127.0.0.1:{}"
mode = "{mode}"
retry_base_secs = 1
max_connections_per_ip = 100
"#,
        policy.display(),
        postfix.port
    );
    let relay = Mutex::new(Mugai::start(&config));
    let port = AtomicU16::new(lock(&relay).port());
    let template = match body {
        Body::Text => text_message(),
        Body::Docm => docm_message(),
    };
    let sending = AtomicBool::new(true);
    let started = Instant::now();
    let outcomes = std::thread::scope(|s| {
        let faults = s.spawn(|| {
            inject(
                fault,
                &relay,
                &port,
                &sending,
                &postfix,
                &store,
                cluster.as_ref(),
            );
        });
        let outcomes = send_all(&port, &template);
        sending.store(false, Ordering::Relaxed);
        faults.join().expect("faults");
        outcomes
    });
    let accepted: HashSet<usize> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, c)| **c == Some(250))
        .map(|(i, _)| i)
        .collect();
    let refused = outcomes.iter().filter(|c| **c != Some(250)).count();
    // Waits for the spool (and Postfix) to settle.
    let deadline = started + Duration::from_secs(180);
    let (mut delivered, mut quarantined);
    loop {
        delivered = delivered_ids(&postfix);
        quarantined = quarantined_ids(&store, cluster.as_ref());
        let settled = accepted
            .iter()
            .all(|i| delivered.contains_key(i) || quarantined.contains(i));
        if settled || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let lost = accepted
        .iter()
        .filter(|i| !delivered.contains_key(i) && !quarantined.contains(i))
        .count();
    let verify = lock(&relay).command(&["audit", "verify"]);
    Row {
        name,
        sent: outcomes.len(),
        accepted: accepted.len(),
        delivered: delivered.len(),
        quarantined: quarantined.len(),
        refused,
        lost,
        duplicated: delivered.values().map(|n| n - 1).sum(),
        verified: verify.status.success(),
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `fault` while the senders send.
fn inject(
    fault: Fault,
    relay: &Mutex<Mugai>,
    port: &AtomicU16,
    sending: &AtomicBool,
    postfix: &Postfix,
    store: &Path,
    cluster: Option<&PgCluster>,
) {
    match fault {
        Fault::None => {}
        Fault::DatabaseDown => {
            let cluster = cluster.expect("a database to stop");
            std::thread::sleep(Duration::from_millis(500));
            cluster.stop();
            std::thread::sleep(Duration::from_secs(20));
            cluster.restart();
        }
        Fault::DiskFull => {
            std::thread::sleep(Duration::from_secs(20));
            Tmpfs::grow(store, "256m");
        }
        Fault::Kill => {
            for _ in 0..3 {
                std::thread::sleep(Duration::from_millis(1500));
                let mut relay = lock(relay);
                relay.restart();
                port.store(relay.port(), Ordering::Relaxed);
            }
        }
        Fault::NextHopDown => {
            std::thread::sleep(Duration::from_millis(500));
            postfix.stop();
            std::thread::sleep(Duration::from_secs(20));
            postfix.start_again();
        }
        Fault::Commands => {
            while sending.load(Ordering::Relaxed) {
                let relay = lock(relay);
                for args in [&["quarantine", "list"][..], &["audit", "verify"]] {
                    let out = relay.command(args);
                    assert!(out.status.success(), "{args:?} failed");
                }
            }
        }
    }
}

/// How long senders keep trying messages that got no answer or a
/// temporary refusal, as an MTA's queue would; after that, once each.
const RETRY_FOR: Duration = Duration::from_secs(90);

/// Sends `MESSAGES` messages over `SESSIONS` sessions; for each, the last
/// reply code to its DATA or to the command that refused it (`None`: no
/// answer at all, the connection failed every time).
fn send_all(port: &AtomicU16, template: &[u8]) -> Vec<Option<u16>> {
    let outcomes = Mutex::new(vec![None; MESSAGES]);
    let until = Instant::now() + RETRY_FOR;
    std::thread::scope(|s| {
        for session in 0..SESSIONS {
            let outcomes = &outcomes;
            s.spawn(move || {
                let mut conn: Option<Session> = None;
                for i in (session..MESSAGES).step_by(SESSIONS) {
                    let message = with_id(template, i);
                    let code = loop {
                        let code = conn
                            .take()
                            .or_else(|| Session::open(port.load(Ordering::Relaxed)))
                            .and_then(|mut c| {
                                let code = c.send(&message)?;
                                conn = Some(c);
                                Some(code)
                            });
                        let settled = code.is_some_and(|c| c == 250 || c >= 500);
                        if settled || Instant::now() > until {
                            break code;
                        }
                        std::thread::sleep(Duration::from_millis(500));
                    };
                    lock(outcomes)[i] = code;
                }
                if let Some(mut c) = conn {
                    let _ = c.command("QUIT");
                }
            });
        }
    });
    outcomes.into_inner().unwrap_or_else(|p| p.into_inner())
}

/// One SMTP session, plain and simple.
struct Session {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Session {
    fn open(port: u16) -> Option<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(120)))
            .ok()?;
        let mut s = Self {
            reader: BufReader::new(stream.try_clone().ok()?),
            writer: stream,
        };
        (s.reply()? == 220 && s.command("EHLO harness.example.com")? == 250).then_some(s)
    }

    /// Sends one message; the reply to its DATA, or to the command that
    /// refused it.
    fn send(&mut self, message: &[u8]) -> Option<u16> {
        for cmd in [
            "MAIL FROM:<sender@example.com>",
            "RCPT TO:<acct@example.lg.jp>",
            "DATA",
        ] {
            let code = self.command(cmd)?;
            if code >= 400 {
                let _ = self.command("RSET");
                return Some(code);
            }
        }
        self.writer.write_all(message).ok()?;
        self.writer.write_all(b".\r\n").ok()?;
        self.reply()
    }

    fn command(&mut self, line: &str) -> Option<u16> {
        self.writer
            .write_all(format!("{line}\r\n").as_bytes())
            .ok()?;
        self.reply()
    }

    fn reply(&mut self) -> Option<u16> {
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).ok()? == 0 {
                return None;
            }
            if line.as_bytes().get(3) != Some(&b'-') {
                return line.get(..3)?.parse().ok();
            }
        }
    }
}

/// `template` with Message-ID `<acct-N@example.com>`, CRLF line ends and
/// dot-stuffed, ready for DATA.
fn with_id(template: &[u8], n: usize) -> Vec<u8> {
    let mut out = format!("Message-ID: <acct-{n}@example.com>\r\n").into_bytes();
    for line in String::from_utf8_lossy(template).lines() {
        if line.to_ascii_lowercase().starts_with("message-id:") {
            continue;
        }
        if line.starts_with('.') {
            out.push(b'.');
        }
        out.extend_from_slice(line.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn text_message() -> Vec<u8> {
    let mut m =
        b"From: sender@example.com\nTo: acct@example.lg.jp\nSubject: accounting\n\n".to_vec();
    while m.len() < 10 * 1024 {
        m.extend_from_slice(b"The quick brown fox jumps over the lazy dog, line after line.\n");
    }
    m
}

fn docm_message() -> Vec<u8> {
    let dir = tempfile::tempdir().expect("tempdir");
    let status = mugai()
        .args(["sample", "decode", "--out"])
        .arg(dir.path())
        .arg(mugai_e2e::sample("mail/macro_docm_meeting.eml.in.zip"))
        .status()
        .expect("mugai sample decode");
    assert!(status.success());
    std::fs::read(dir.path().join("macro_docm_meeting.eml")).expect("sample")
}

/// How many times each message number arrived at Postfix.
fn delivered_ids(postfix: &Postfix) -> HashMap<usize, usize> {
    let mut seen = HashMap::new();
    for m in postfix.mailbox("acct") {
        if let Some(n) = acct_number(&m) {
            *seen.entry(n).or_insert(0) += 1;
        }
    }
    seen
}

/// Message numbers the audit log says were held in the quarantine.
/// Messages the audit log says were quarantined, from the file or the
/// database table.
fn quarantined_ids(store: &Path, cluster: Option<&PgCluster>) -> HashSet<usize> {
    let lines: Vec<String> = match cluster {
        Some(c) => postgres::Client::connect(&c.url(), postgres::NoTls)
            .and_then(|mut db| db.query("SELECT line FROM mugai_audit", &[]))
            .map(|rows| rows.iter().map(|r| r.get(0)).collect())
            .unwrap_or_default(),
        None => std::fs::read_to_string(store.join("audit.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect(),
    };
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|r| r["verdict"] == "quarantine")
        .filter_map(|r| acct_number(r["message_id"].as_str()?.as_bytes()))
        .collect()
}

fn acct_number(bytes: &[u8]) -> Option<usize> {
    let text = String::from_utf8_lossy(bytes);
    let start = text.find("<acct-")? + 6;
    let end = start + text[start..].find('@')?;
    text[start..end].parse().ok()
}

/// A small tmpfs, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Self {
        std::fs::create_dir_all(at).expect("mount point");
        run_mount(&["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"], at);
        Self(at.to_owned())
    }

    fn grow(at: &Path, size: &str) {
        run_mount(&["-o", &format!("remount,size={size}")], at);
    }
}

/// `mount ARGS AT`, which needs root.
fn run_mount(args: &[&str], at: &Path) {
    let out = Command::new("mount")
        .args(args)
        .arg(at)
        .output()
        .expect("mount");
    assert!(
        out.status.success(),
        "mount {args:?} (needs root): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).output();
    }
}
