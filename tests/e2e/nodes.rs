//! Two `mugai serve` nodes on one PostgreSQL store, as a site with more
//! than one relay runs them: mail through both, releases from either,
//! a thread started through one node known on the other, one audit chain.

use mugai_e2e::peers::{Mugai, Postfix, swaks};
use mugai_store::PgCluster;

use crate::relay::{message, text};

fn node(name: &str, url: &str, postfix: u16, mode: &str, policy: &str) -> Mugai {
    Mugai::start(&format!(
        r#"
hostname = "{name}.test"
policy = "{policy}"

[store]
postgres = "{url}"
local = "{{store}}"

[[listener]]
name = "inbound"
listen = "127.0.0.1:0"
direction = "inbound"
recipient_domains = ["example.lg.jp"]
next_hop = "127.0.0.1:{postfix}"
mode = "{mode}"
retry_base_secs = 1

[[listener]]
name = "outbound"
listen = "127.0.0.1:0"
direction = "outbound"
recipient_domains = ["example.com"]
"#
    ))
}

fn send(port: u16, from: &str, to: &str, args: &[&str]) -> String {
    let mut all = vec!["--from", from, "--to", to];
    all.extend_from_slice(args);
    swaks(port, &all)
}

fn accepted(transcript: &str) -> bool {
    transcript.contains("<-  250 2.0.0")
}

/// The ids `mugai quarantine list` shows.
fn listed(node: &Mugai) -> Vec<String> {
    let out = node.command(&["quarantine", "list"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect()
}

fn verify(node: &Mugai) -> String {
    let out = node.command(&["audit", "verify"]);
    let said = text(&out.stdout);
    assert!(out.status.success(), "{said}{}", text(&out.stderr));
    said
}

#[test]
fn two_nodes_share_one_store() {
    let cluster = PgCluster::start();
    let url = cluster.url();
    let postfix = Postfix::start();
    // Every inbound mail tagged, so that its lure symbols show.
    let dir = tempfile::tempdir().expect("tempdir");
    let policy = dir.path().join("policy.toml");
    std::fs::write(&policy, "[inbound.lure]\ntag = -100.0\n").expect("policy");
    let policy = policy.display().to_string();
    let a = node("node-a", &url, postfix.port, "inline", &policy);
    let b = node("node-b", &url, postfix.port, "spool", &policy);
    let (inbound, outbound) = (0, 1);

    // A thread starts through node A and is answered through node B.
    let sent = send(
        a.ports[outbound],
        "staff@example.lg.jp",
        "partner@example.com",
        &[
            "--header",
            "Message-ID: <thread-1@example.lg.jp>",
            "--body",
            "議事録です",
        ],
    );
    assert!(accepted(&sent), "{sent}");
    let reply = send(
        b.ports[inbound],
        "partner@example.com",
        "alice@example.lg.jp",
        &[
            "--header",
            "Subject: Re: 議事録",
            "--header",
            "In-Reply-To: <thread-1@example.lg.jp>",
            "--body",
            "拝見しました",
        ],
    );
    assert!(accepted(&reply), "{reply}");
    let known = text(&postfix.wait_for_mail("alice", 1)[0]);
    assert!(known.contains("THREAD_KNOWN"), "{known}");
    // A reply to a thread neither node sent, for contrast.
    let forged = send(
        a.ports[inbound],
        "partner@example.com",
        "bob@example.lg.jp",
        &[
            "--header",
            "Subject: Re: 議事録",
            "--header",
            "In-Reply-To: <never-sent@example.lg.jp>",
            "--body",
            "拝見しました",
        ],
    );
    assert!(accepted(&forged), "{forged}");
    let unknown = text(&postfix.wait_for_mail("bob", 1)[0]);
    assert!(unknown.contains("THREAD_UNKNOWN"), "{unknown}");

    // A macro document through each node: both originals in one quarantine.
    let (_eml_dir, eml) = message("mail/macro_docm_meeting.eml.in.zip");
    let eml = eml.to_str().expect("utf-8");
    for n in [&a, &b] {
        let t = send(
            n.ports[inbound],
            "a@example.com",
            "carol@example.lg.jp",
            &["--data", eml],
        );
        assert!(accepted(&t), "{t}");
    }
    postfix.wait_for_mail("carol", 2);
    let ids = listed(&a);
    assert_eq!(ids, listed(&b), "both nodes see one quarantine");
    assert_eq!(ids.len(), 2, "{ids:?}");

    // Releases from either node's command line.
    for (n, id) in [(&b, &ids[0]), (&a, &ids[1])] {
        let out = n.command(&["quarantine", "release", id]);
        assert!(out.status.success(), "release {id}: {}", text(&out.stderr));
    }
    postfix.wait_for_mail("carol", 4);

    // One chain, whichever node asks: the outbound mail, the known reply
    // (queued, delivered), the forged one, the two documents (node B's
    // queued and delivered) and the two releases.
    let said = verify(&b);
    assert!(said.contains("audit chain intact, 9 records"), "{said}");
    assert_eq!(said.replace("node-b", "node-a"), verify(&a));

    // Each node keeps only its spool and deliveries on its own disk.
    for n in [&a, &b] {
        assert!(!n.store().join("quarantine").exists());
        assert!(!n.store().join("audit.jsonl").exists());
    }
    assert!(b.store().join("spool/owner.lock").exists());
    assert!(
        a.store().join("delivered/outbound").is_dir(),
        "node A delivered the outbound mail into its directory"
    );

    // The database goes away: node A (in-line) says 451 and keeps nothing
    // it cannot record; once it is back, the waiting records go out.
    cluster.stop();
    for args in [&["--data", eml][..], &["--body", "plain text"]] {
        let t = send(
            a.ports[inbound],
            "a@example.com",
            "dave@example.lg.jp",
            args,
        );
        assert!(t.contains("<** 451 4.3.0"), "{t}");
    }
    assert!(a.log().contains("ERROR"), "{}", a.log());
    cluster.restart();
    let t = send(
        a.ports[inbound],
        "a@example.com",
        "dave@example.lg.jp",
        &["--body", "plain text"],
    );
    assert!(accepted(&t), "{t}\n{}", a.log());
    postfix.wait_for_mail("dave", 1);
    let said = verify(&a);
    assert!(said.contains("audit chain intact"), "{said}");
    assert_eq!(listed(&a).len(), 2, "nothing half-stored while it was down");
}
