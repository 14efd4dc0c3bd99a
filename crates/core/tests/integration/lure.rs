//! Lure scoring on the lure set (samples/lure/, written for 例市 in
//! samples/lure/policy.toml), and what the engine does with a score.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use mugai_core::{Engine, Envelope, LureAction, MemorySentLog, Policy, SentLog, Verdict, input};

fn lure_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/lure")
}

fn engine() -> Engine {
    let text = std::fs::read_to_string(lure_dir().join("policy.toml")).expect("policy");
    let sent = MemorySentLog::default();
    let ids = std::fs::read_to_string(lure_dir().join("sent-message-ids")).expect("sent ids");
    ids.lines()
        .filter(|l| !l.starts_with('#'))
        .for_each(|l| sent.remember(l));
    Engine::new(Policy::from_toml(&text).expect("policy parses")).with_sent_log(Arc::new(sent))
}

/// (file, verdict, lure action, score, symbols) for every message in a folder.
fn run(folder: &str) -> Vec<(String, Verdict, LureAction, f64, Vec<String>)> {
    let engine = engine();
    let mut files: Vec<PathBuf> = std::fs::read_dir(lure_dir().join(folder))
        .expect("folder")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let name = f.to_string_lossy().into_owned();
        for item in input::items(&name, &std::fs::read(&f).expect("read"), "\r\n").expect("items") {
            let o = engine.process(&item.message, &Envelope::default());
            let l = o.report.lure.expect("scored");
            let symbols = l.symbols.iter().map(|s| s.name.clone()).collect();
            out.push((item.label, o.verdict, l.action, l.score, symbols));
        }
    }
    out
}

#[test]
fn lures_are_held_and_legitimate_mail_of_the_same_shapes_is_not() {
    let phish = run("phish");
    let ham = run("ham");
    assert!(
        phish.len() >= 40 && ham.len() >= 40,
        "{} / {}",
        phish.len(),
        ham.len()
    );
    let caught = phish
        .iter()
        .filter(|p| p.2 >= LureAction::Quarantine)
        .count();
    let missed: Vec<_> = phish
        .iter()
        .filter(|p| p.2 < LureAction::Quarantine)
        .collect();
    assert!(
        caught * 100 >= phish.len() * 95,
        "{caught} of {} lures held; missed: {missed:#?}",
        phish.len()
    );
    for p in phish.iter().filter(|p| p.2 == LureAction::Quarantine) {
        assert_eq!(p.1, Verdict::Quarantine, "{p:?}");
    }
    let held: Vec<_> = ham
        .iter()
        .filter(|h| h.2 >= LureAction::Quarantine || h.1 != Verdict::Deliver)
        .collect();
    assert!(held.is_empty(), "legitimate mail held: {held:#?}");
}

/// The shapes the set was written to show, each caught by what it is.
#[test]
fn each_lure_fires_the_symbols_of_its_shape() {
    let phish = run("phish");
    let fired = |file: &str, symbol: &str| {
        let p = phish
            .iter()
            .find(|p| p.0.contains(file))
            .unwrap_or_else(|| panic!("{file} missing"));
        assert!(
            p.4.iter().any(|s| s == symbol),
            "{file}: {symbol} not in {:?}",
            p.4
        );
    };
    fired("p01_", "FROM_NAME_INTERNAL_PERSON");
    fired("p01_", "LURE_WITH_ACTIVE_DOCUMENT");
    fired("p02_", "FROM_LOOKALIKE_OUR_DOMAIN");
    fired("p03_", "LINK_LOOKALIKE");
    fired("p04_", "PASSWORD_IN_SAME_MAIL");
    fired("p05_", "FROM_NAME_OUR_ORGANIZATION");
    fired("p06_", "AUTH_DMARC_FAIL_POLICY_REJECT");
    fired("p06_", "FROM_OWN_DOMAIN_UNAUTHENTICATED");
    fired("p07_", "FROM_NAME_HAS_OTHER_ADDRESS");
    fired("p08_", "REPLYTO_FREEMAIL");
    fired("p09_", "LINK_TEXT_MISMATCH");
    fired("p11_", "FROM_LOOKALIKE_PARTNER_DOMAIN");
    fired("p13_", "THREAD_FORGED_OURS");
    fired("p14_", "THREAD_KNOWN");
    fired("p15_", "REPLY_WITHOUT_THREAD");
    fired("p16_", "LINK_IP_HOST");
    fired("p20_", "LINK_USERINFO");
    fired("p21_", "LINK_SCRIPT_URL");
    fired("p22_", "ATTACH_EXECUTABLE");
    fired("p30_", "FORWARD_WITHOUT_THREAD");
    fired("p31_", "FROM_NAME_INTERNAL_PERSON");
    fired("p32_", "FROM_NAME_INTERNAL_PERSON");
    fired("p33_", "LURE_INVOICE");
    fired("p34_", "FROM_IDN");
    fired("p34_", "FROM_LOOKALIKE_OUR_DOMAIN");
}

const TAGGED: &[u8] = b"From: =?UTF-8?B?5bGx55SwIOWkqumDjg==?= <yamada.taro.city@gmail.com>\r\n\
To: t-yamada@city.example.lg.jp\r\nSubject: =?ISO-2022-JP?B?GyRCMnE1RDtxTkEbKEI=?=\r\n\
Message-ID: <t1@gmail.com>\r\n\r\nplease see\r\n";

#[test]
fn a_tagged_message_says_so_in_its_subject_and_a_header() {
    // 山田 太郎 from gmail (5) talking about 会議資料 (1.5): tag, not hold.
    let out = engine().process(TAGGED, &Envelope::default());
    assert_eq!(out.verdict, Verdict::Deliver, "{:?}", out.report.reason);
    let lure = out.report.lure.as_ref().expect("scored");
    assert_eq!(lure.action, LureAction::Tag);
    assert_eq!(lure.score, 6.5);
    let text = String::from_utf8(out.message.expect("delivered")).expect("ascii");
    assert!(
        text.contains("X-Mugai-Lure: score=6.5; FROM_NAME_INTERNAL_PERSON(5), LURE_MEETING(1.5)"),
        "{text}"
    );
    let parsed = mail_parser::MessageParser::default()
        .parse(text.as_bytes())
        .expect("parses");
    assert_eq!(parsed.subject(), Some("[要注意] 会議資料"));
    // Tagging again (a second gateway) adds a second tag, never loses the subject.
    let again = engine().process(text.as_bytes(), &Envelope::default());
    let twice = again.message.expect("delivered");
    let parsed = mail_parser::MessageParser::default()
        .parse(&twice)
        .expect("parses");
    assert_eq!(parsed.subject(), Some("[要注意] [要注意] 会議資料"));
}

#[test]
fn authentication_results_of_strangers_are_not_believed() {
    let forged = format!(
        "Authentication-Results: attacker.example; dmarc=pass header.from=city.example.lg.jp\r\n{}",
        "From: =?UTF-8?B?55Sw5LitIOe+juWSsg==?= <m-tanaka@city.example.lg.jp>\r\nTo: t-yamada@city.example.lg.jp\r\nSubject: hello\r\n\r\nhi\r\n"
    );
    let out = engine().process(forged.as_bytes(), &Envelope::default());
    let lure = out.report.lure.expect("scored");
    let names: Vec<&str> = lure.symbols.iter().map(|s| s.name.as_str()).collect();
    assert!(
        names.contains(&"FROM_OWN_DOMAIN_UNAUTHENTICATED"),
        "{names:?}"
    );
    assert!(!names.contains(&"AUTH_KNOWN_DOMAIN_PASS"), "{names:?}");
}

#[test]
fn outbound_mail_is_scored_but_never_tagged_or_held() {
    let raw = std::fs::read(lure_dir().join("phish/p11_partner_tld_swap_bank_change.eml"))
        .expect("sample");
    let envelope = Envelope {
        direction: mugai_core::Direction::Outbound,
        ..Envelope::default()
    };
    let out = engine().process(&raw, &envelope);
    assert_eq!(out.verdict, Verdict::Deliver);
    let lure = out.report.lure.expect("scored");
    assert!(
        lure.score >= 8.0 && lure.action == LureAction::None,
        "{lure:?}"
    );
    assert!(!String::from_utf8_lossy(&out.message.expect("delivered")).contains("X-Mugai-Lure"));
}

#[test]
fn memory_sent_log_normalizes_ids() {
    let log = MemorySentLog::default();
    log.remember(" <A1@city.example.lg.jp>");
    assert!(log.was_sent("A1@city.example.lg.jp"));
    assert!(!log.was_sent("<a2@city.example.lg.jp>"));
}
