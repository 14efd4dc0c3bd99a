//! `mugai serve` between swaks (or an Internet-side Postfix) and a real
//! LGWAN-side Postfix that delivers into maildirs.

use mail_parser::MimeHeaders;
use std::path::PathBuf;

use mugai_e2e::peers::{Mugai, Postfix, free_port, raw_smtp, scrape, swaks};
use mugai_e2e::{mugai, sample};

fn config(next_hop: u16, extra: &str) -> String {
    format!(
        r#"
hostname = "mugai.test"
store = "{{store}}"
{extra}

[[listener]]
name = "inbound"
listen = "127.0.0.1:0"
direction = "inbound"
recipient_domains = ["example.lg.jp"]
next_hop = "127.0.0.1:{next_hop}"
tls = {{ self_signed = true }}
"#
    )
}

/// A sample message, decoded from its container if it has one, LF line ends.
pub(crate) fn message(rel: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let status = mugai()
        .args(["sample", "decode", "--out"])
        .arg(dir.path())
        .arg(sample(rel))
        .status()
        .expect("mugai sample decode");
    assert!(status.success());
    let name = rel
        .rsplit('/')
        .next()
        .expect("name")
        .trim_end_matches(".in.zip");
    let path = dir.path().join(name);
    (dir, path)
}

fn lf(bytes: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(bytes)
        .replace("\r\n", "\n")
        .into_bytes()
}

/// The decoded text of every text part.
fn body_text(raw: &[u8]) -> String {
    let msg = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("a message");
    (0..msg.text_body_count())
        .filter_map(|i| msg.body_text(i))
        .collect()
}

pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn clean_mail_crosses_byte_for_byte_below_the_trace_headers() {
    let postfix = Postfix::start();
    let relay = Mugai::start(&config(postfix.port, ""));
    let (_dir, eml) = message("mail/ja_rfc2231_docx_xlsx.eml");
    let transcript = swaks(
        relay.port(),
        &[
            "--from",
            "sender@example.com",
            "--to",
            "clean@example.lg.jp",
            "--data",
            eml.to_str().expect("utf-8"),
        ],
    );
    assert!(transcript.contains("sanitized and relayed"), "{transcript}");
    let delivered = &postfix.wait_for_mail("clean", 1)[0];
    let original = lf(&std::fs::read(&eml).expect("sample"));
    assert!(
        delivered.ends_with(&original),
        "the original follows Postfix's, mugai's and our X-Mugai headers:\n{}",
        text(delivered)
    );
    let head = text(&delivered[..delivered.len() - original.len()]);
    assert!(
        head.contains("by mugai.test (mugai) with ESMTP id"),
        "{head}"
    );
    assert!(head.contains("X-Mugai-"), "{head}");
}

#[test]
fn attacks_are_disarmed_and_their_originals_kept() {
    let postfix = Postfix::start();
    // Lures are only tagged here, so that the meeting lure is delivered
    // disarmed (`a_lure_is_held_with_its_reasons` holds it).
    let policy_dir = tempfile::tempdir().expect("tempdir");
    let policy = policy_dir.path().join("policy.toml");
    std::fs::write(&policy, "[inbound.lure]\ntag = 4.0\n").expect("policy");
    let relay = Mugai::start(&config(
        postfix.port,
        &format!(
            "metrics_listen = \"127.0.0.1:0\"\npolicy = \"{}\"",
            policy.display()
        ),
    ));
    let mut originals = Vec::new();
    // The macro document arrives rebuilt as a docx; the zip arrives
    // without the program inside it.
    for (user, rel, gone, kept, said) in [
        (
            "macro",
            "mail/macro_docm_meeting.eml.in.zip",
            ".docm",
            Some(".docx"),
            "取り除いて",
        ),
        (
            "exe",
            "mail/exe_in_zip_in_zip.eml.in.zip",
            "setup.exe",
            Some("請求書.zip"),
            "setup.exe",
        ),
    ] {
        let (_dir, eml) = message(rel);
        originals.push(std::fs::read(&eml).expect("sample"));
        let to = format!("{user}@example.lg.jp");
        let transcript = swaks(
            relay.port(),
            &[
                "--from",
                "attacker@example.com",
                "--to",
                &to,
                "--data",
                eml.to_str().expect("utf-8"),
            ],
        );
        assert!(
            transcript.contains("<-  250 2.0.0") && transcript.contains("sanitized and relayed"),
            "{transcript}"
        );
        let delivered = text(&postfix.wait_for_mail(user, 1)[0]);
        assert!(delivered.contains("X-Mugai-Actions: "), "{delivered}");
        let notice = body_text(delivered.as_bytes());
        assert!(notice.contains(said), "a notice in Japanese: {notice}");
        let parsed = mail_parser::MessageParser::default()
            .parse(delivered.as_bytes())
            .expect("delivered mail parses");
        let named = |ext: &str| {
            parsed
                .attachments()
                .filter(|a| a.attachment_name().is_some_and(|n| n.ends_with(ext)))
                .count()
        };
        assert_eq!(named(gone), 0, "{gone} is gone: {delivered}");
        if let Some(ext) = kept {
            assert_eq!(named(ext), 1, "{ext} is delivered: {delivered}");
        }
        // Both are lures enough to be tagged: a header, and 【要注意】 in
        // the subject (RFC 2047, before the original words).
        assert!(delivered.contains("X-Mugai-Lure: score="), "{delivered}");
        let subject = mail_parser::MessageParser::default()
            .parse(delivered.as_bytes())
            .and_then(|m| m.subject().map(str::to_owned))
            .unwrap_or_default();
        assert!(subject.starts_with("[要注意] "), "{subject}");
    }
    let list = relay.command(&["quarantine", "list"]);
    let listing = text(&list.stdout);
    assert_eq!(
        listing.lines().count(),
        3,
        "header and two originals:\n{listing}"
    );
    assert!(listing.contains("先日の会議の資料です"), "{listing}");

    // The original can be looked at, and is exactly what arrived.
    let id = listing
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .expect("id");
    let raw = relay.command(&["quarantine", "show", id, "--raw"]);
    // What arrived, below mugai's Received header (swaks ends DATA with one
    // more CRLF than the file has).
    let (got, sent) = (text(&lf(&raw.stdout)), text(&lf(&originals[0])));
    assert!(got.starts_with("Received: from "), "{got}");
    assert!(
        got.trim_end().ends_with(sent.trim_end()),
        "the quarantined original differs"
    );

    let metrics = scrape(relay.metrics_port.expect("metrics port"));
    assert!(
        metrics.contains("mugai_messages_total{listener=\"inbound\",verdict=\"deliver\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("mugai_message_seconds_count{listener=\"inbound\"} 2"),
        "{metrics}"
    );

    let verify = relay.command(&["audit", "verify"]);
    assert!(
        text(&verify.stdout).contains("chain intact, 2 records"),
        "{}",
        text(&verify.stdout)
    );
}

#[test]
fn a_policy_reject_is_a_550_and_nothing_is_delivered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "[inbound.actions]\nexecutable = \"reject\"\n").expect("policy");
    let postfix = Postfix::start();
    let relay = Mugai::start(&config(
        postfix.port,
        &format!("policy = \"{}\"", policy.display()),
    ));
    let (_dir, eml) = message("mail/exe_in_zip_in_zip.eml.in.zip");
    let transcript = swaks(
        relay.port(),
        &[
            "--from",
            "a@example.com",
            "--to",
            "rejected@example.lg.jp",
            "--data",
            eml.to_str().expect("utf-8"),
        ],
    );
    assert!(
        transcript.contains("<** 550 5.7.1 rejected by policy"),
        "{transcript}"
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(postfix.mailbox("rejected").is_empty());
    let log = std::fs::read_to_string(relay.store().join("audit.jsonl")).expect("audit");
    assert!(log.contains("\"verdict\":\"reject\""), "{log}");
}

#[test]
fn next_hop_down_is_a_451_and_the_client_keeps_the_mail() {
    let relay = Mugai::start(&config(free_port(), ""));
    let transcript = swaks(
        relay.port(),
        &["--from", "a@example.com", "--to", "u@example.lg.jp"],
    );
    assert!(
        transcript.contains("<** 451 4.4.2 next hop unavailable"),
        "{transcript}"
    );
    assert!(!transcript.contains("<-  250 2.0.0"), "{transcript}");
}

#[test]
fn never_an_open_relay() {
    let postfix = Postfix::start();
    let relay = Mugai::start(&config(postfix.port, ""));
    let transcript = swaks(
        relay.port(),
        &[
            "--from",
            "a@example.com",
            "--to",
            "victim@elsewhere.example",
        ],
    );
    assert!(
        transcript.contains("<** 554 5.7.1 relay access denied"),
        "{transcript}"
    );

    let closed = Mugai::start(&format!(
        "{}client_networks = [\"10.0.0.0/8\"]\n",
        config(postfix.port, "")
    ));
    let transcript = raw_smtp(closed.port(), b"EHLO x\r\n");
    assert!(
        transcript.starts_with("554 5.7.1 access denied"),
        "{transcript}"
    );
}

#[test]
fn bare_lf_smuggling_is_refused_and_nothing_is_delivered() {
    let postfix = Postfix::start();
    let relay = Mugai::start(&config(postfix.port, ""));
    let transcript = raw_smtp(
        relay.port(),
        b"EHLO attacker\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<victim@example.lg.jp>\r\nDATA\r\n\
          Subject: harmless\r\n\r\nhello\n.\nMAIL FROM:<ceo@example.lg.jp>\r\n\
          RCPT TO:<smuggled@example.lg.jp>\r\nDATA\r\nSubject: smuggled\r\n\r\nwire the money\r\n.\r\nQUIT\r\n",
    );
    assert!(
        transcript.contains("521 5.5.2 bare <LF> received"),
        "{transcript}"
    );
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(postfix.mailbox("victim").is_empty() && postfix.mailbox("smuggled").is_empty());
}

#[test]
fn starttls_with_a_real_handshake() {
    let postfix = Postfix::start();
    let relay = Mugai::start(&config(postfix.port, ""));
    let transcript = swaks(
        relay.port(),
        &[
            "--tls",
            "--from",
            "a@example.com",
            "--to",
            "tls@example.lg.jp",
        ],
    );
    assert!(transcript.contains("TLS started"), "{transcript}");
    let delivered = text(&postfix.wait_for_mail("tls", 1)[0]);
    assert!(delivered.contains("(mugai) with ESMTPS"), "{delivered}");
}

#[test]
fn postfix_in_front_and_behind() {
    let lgwan = Postfix::start();
    let relay = Mugai::start(&config(lgwan.port, ""));
    let internet = Postfix::start_relaying_to(relay.port());
    let (_dir, eml) = message("mail/exe_in_zip_in_zip.eml.in.zip");
    for user in ["one", "two"] {
        let to = format!("{user}@example.lg.jp");
        let transcript = swaks(
            internet.port,
            &[
                "--from",
                "a@example.com",
                "--to",
                &to,
                "--data",
                eml.to_str().expect("utf-8"),
            ],
        );
        assert!(
            transcript.contains("<-  250 2.0.0 Ok: queued"),
            "{transcript}"
        );
    }
    for user in ["one", "two"] {
        let delivered = lgwan.wait_for_mail(user, 1);
        let notice = body_text(&delivered[0]);
        assert!(
            notice.contains("setup.exe") && notice.contains("取り除いて"),
            "{notice}\n{}",
            internet.log()
        );
    }
}

/// The textbook attack — a "meeting materials" mail with a macro document —
/// scores above the built-in quarantine threshold: the client gets a 250,
/// nothing is delivered, and the quarantine entry explains why.
#[test]
fn a_lure_is_held_with_its_reasons() {
    let postfix = Postfix::start();
    let relay = Mugai::start(&config(postfix.port, ""));
    let (_dir, eml) = message("mail/macro_docm_meeting.eml.in.zip");
    let transcript = swaks(
        relay.port(),
        &[
            "--from",
            "attacker@example.com",
            "--to",
            "held@example.lg.jp",
            "--data",
            eml.to_str().expect("utf-8"),
        ],
    );
    assert!(
        transcript.contains("<-  250 2.0.0 held in quarantine as"),
        "{transcript}"
    );
    let listing = text(&relay.command(&["quarantine", "list"]).stdout);
    let id = listing
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("one entry: {listing}"));
    let entry = text(&relay.command(&["quarantine", "show", id]).stdout);
    for why in ["lure score", "LURE_WITH_ACTIVE_DOCUMENT", "LURE_MEETING"] {
        assert!(entry.contains(why), "{why}: {entry}");
    }
    assert!(postfix.mailbox("held").is_empty(), "nothing is delivered");
}

/// Spool mode, killed with SIGKILL right after accepting a burst, then
/// restarted: every accepted message arrives. Delivery is at least once: a
/// message the next hop took just before the kill, but whose spool entry was
/// not yet removed, is delivered again with the same Message-ID.
#[test]
fn spool_mode_loses_nothing_to_kill_9() {
    let postfix = Postfix::start();
    let spool = config(postfix.port, "").replace(
        "tls = { self_signed = true }",
        "mode = \"spool\"\nretry_base_secs = 1",
    );
    let mut relay = Mugai::start(&spool);
    let (_dir, eml) = message("mail/exe_in_zip_in_zip.eml.in.zip");
    let sent = 12;
    for i in 0..sent {
        let transcript = swaks(
            relay.port(),
            &[
                "--from",
                "a@example.com",
                "--to",
                "spool@example.lg.jp",
                "--data",
                eml.to_str().expect("utf-8"),
                "--header",
                &format!("Message-ID: <spool-{i}@example.com>"),
            ],
        );
        assert!(
            transcript.contains("<-  250 2.0.0 queued as"),
            "{transcript}"
        );
    }
    relay.kill();
    let spooled_at_kill = spooled(&relay.store());
    relay.restart();

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let ids = loop {
        let ids = message_ids(&postfix.mailbox("spool"), "spool-");
        let mut distinct = ids.clone();
        distinct.sort();
        distinct.dedup();
        if distinct.len() == sent || std::time::Instant::now() > deadline {
            assert_eq!(
                distinct.len(),
                sent,
                "delivered: {distinct:?}\n{}",
                relay.log()
            );
            break ids;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    eprintln!(
        "spool: {sent} accepted, {spooled_at_kill} still spooled at the kill, {} deliveries ({} duplicates)",
        ids.len(),
        ids.len() - sent
    );
    // The next hop has the last message a moment before its spool entry is
    // removed, so the spool is given the same deadline to empty.
    while spooled(&relay.store()) > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(
        spooled(&relay.store()),
        0,
        "the spool empties\n{}",
        relay.log()
    );
    // Every delivered copy was sanitized.
    for m in postfix.mailbox("spool") {
        assert!(body_text(&m).contains("取り除いて"));
    }
}

/// Spool mode with the next hop down for good: the message is retried, then
/// bounced at the end of its lifetime, and its original stays in the
/// quarantine with the bounce (no bounce route is configured).
#[test]
fn spool_mode_expires_into_the_quarantine() {
    let spool = config(free_port(), "").replace(
        "tls = { self_signed = true }",
        "mode = \"spool\"\nretry_base_secs = 1\nmax_queue_lifetime_secs = 2",
    );
    let relay = Mugai::start(&spool);
    let transcript = swaks(
        relay.port(),
        &["--from", "a@example.com", "--to", "u@example.lg.jp"],
    );
    assert!(
        transcript.contains("<-  250 2.0.0 queued as"),
        "{transcript}"
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let audit = loop {
        let audit = std::fs::read_to_string(relay.store().join("audit.jsonl")).unwrap_or_default();
        if audit.contains("\"event\":\"expired\"") || std::time::Instant::now() > deadline {
            break audit;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(audit.contains("\"event\":\"deferred\""), "{audit}");
    assert!(audit.contains("\"event\":\"expired\""), "{audit}");
    let listing = text(&relay.command(&["quarantine", "list"]).stdout);
    assert_eq!(
        listing.lines().count(),
        3,
        "the original and the bounce:\n{listing}"
    );
    assert!(
        listing.contains("<>"),
        "the bounce has the null sender:\n{listing}"
    );
    assert_eq!(spooled(&relay.store()), 0);
}

/// The `Message-ID: <prefix…>` line of each of `mails` that has one.
fn message_ids(mails: &[Vec<u8>], prefix: &str) -> Vec<String> {
    let header = format!("Message-ID: <{prefix}");
    mails
        .iter()
        .filter_map(|m| {
            text(m)
                .lines()
                .find(|l| l.starts_with(&header))
                .map(str::to_owned)
        })
        .collect()
}

/// Messages in a store's spool (its message files; the owner's lock aside).
fn spooled(store: &std::path::Path) -> usize {
    std::fs::read_dir(store.join("spool")).map_or(0, |d| {
        d.filter(|e| {
            e.as_ref().is_ok_and(|e| {
                e.path()
                    .extension()
                    .is_some_and(|x| x == "msg" || x == "eml")
            })
        })
        .count()
    })
}

#[test]
fn concurrent_sessions_and_commands_share_the_store() {
    for mode in ["inline", "spool"] {
        sessions_and_commands_at_once(mode);
    }
}

/// Many sessions send the same macro document (one original object, many
/// quarantine entries written at once) while an operator lists, verifies
/// and releases against the live store: nothing is lost, refused or
/// logged as an error, and the audit chain holds.
fn sessions_and_commands_at_once(mode: &str) {
    let postfix = Postfix::start();
    // Tagged, not held: the lure score of this mail would quarantine it.
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "[inbound.lure]\ntag = 4.0\n").expect("policy");
    let policy = format!("policy = \"{}\"", policy.display());
    let spool = config(postfix.port, &policy).replace(
        "tls = { self_signed = true }",
        &format!("mode = \"{mode}\"\nretry_base_secs = 1"),
    );
    let relay = Mugai::start(&spool);
    let (_dir, eml) = message("mail/macro_docm_meeting.eml.in.zip");
    let (sessions, each) = (8, 4);
    let done = std::sync::atomic::AtomicBool::new(false);
    let released = std::thread::scope(|s| {
        let operator = s.spawn(|| {
            let mut released = 0;
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                for args in [&["quarantine", "list"][..], &["audit", "verify"]] {
                    let out = relay.command(args);
                    assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
                }
                // A release appends to the audit log from another process.
                let listing = text(&relay.command(&["quarantine", "list"]).stdout);
                if let Some(id) = listing
                    .lines()
                    .nth(1)
                    .and_then(|l| l.split_whitespace().next())
                {
                    let out = relay.command(&["quarantine", "release", id]);
                    assert!(out.status.success(), "release: {}", text(&out.stderr));
                    released += 1;
                }
            }
            released
        });
        let senders: Vec<_> = (0..sessions)
            .map(|t| {
                let (relay, eml) = (&relay, &eml);
                s.spawn(move || {
                    for i in 0..each {
                        let transcript = swaks(
                            relay.port(),
                            &[
                                "--from",
                                "a@example.com",
                                "--to",
                                "many@example.lg.jp",
                                "--data",
                                eml.to_str().expect("utf-8"),
                                "--header",
                                &format!("Message-ID: <many-{t}-{i}@example.com>"),
                            ],
                        );
                        assert!(transcript.contains("<-  250 2.0.0"), "{transcript}");
                    }
                })
            })
            .collect();
        for sender in senders {
            sender.join().expect("sender");
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while spooled(&relay.store()) > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        done.store(true, std::sync::atomic::Ordering::Relaxed);
        operator.join().expect("operator")
    });
    assert!(released > 0, "{mode}: the operator released nothing");
    assert_eq!(spooled(&relay.store()), 0, "{}", relay.log());
    let mut ids = message_ids(
        &postfix.wait_for_mail("many", sessions * each + released),
        "many-",
    );
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), sessions * each, "{mode}: {}", relay.log());
    let verify = relay.command(&["audit", "verify"]);
    assert!(verify.status.success(), "{mode}: {}", text(&verify.stderr));
    let listing = text(&relay.command(&["quarantine", "list"]).stdout);
    assert_eq!(
        listing.lines().count(),
        1 + sessions * each,
        "{mode}: {listing}"
    );
    assert!(!relay.log().contains("ERROR"), "{mode}: {}", relay.log());
}
