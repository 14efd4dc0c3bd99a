//! Lure scoring: named symbols with weights, summed, and thresholds per
//! direction that map the sum to an action (rspamd-style), aimed at the
//! targeted mail a public body receives — the colleague's "meeting
//! materials", the partner's invoice, the hijacked thread — and explained
//! symbol by symbol with the evidence.

mod auth;
mod links;
mod rules;
mod text;

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::vocab::Direction;
use crate::vocab::FindingKind;
use crate::web::{self, domain};

pub use rules::{LureRules, RulesError};

/// Who we are: the facts lure scoring compares a sender with.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Organization {
    /// Names the organization goes by (`例市`, `例市役所`, `Example City`).
    pub names: Vec<String>,
    /// Our mail domains; their subdomains are ours too.
    pub domains: Vec<String>,
    /// Domains of partners we exchange documents and invoices with.
    pub partner_domains: Vec<String>,
    /// The people whose names a lure borrows.
    pub people: Vec<Person>,
    /// authserv-ids of the servers whose `Authentication-Results` we trust
    /// (our own MX or the upstream filter); fields naming any other are
    /// ignored, since a sender can write them.
    pub trusted_authserv_ids: Vec<String>,
}

/// One person in the directory.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Person {
    /// Display names: kanji, kana and romaji (`山田 太郎`, `やまだ たろう`,
    /// `Taro Yamada`; romaji also matches in the other order).
    pub names: Vec<String>,
    /// The person's real addresses.
    pub addresses: Vec<String>,
}

/// The organization as scoring compares with it, prepared once per engine:
/// domains normalized, names folded (a directory of thousands of people is
/// not folded again for every message).
#[derive(Debug, Default)]
pub(crate) struct OrgIndex {
    ours: Vec<String>,
    partners: Vec<String>,
    /// Organization names and our domains: as written, and folded.
    names: Vec<(String, String)>,
    people: Vec<IndexedPerson>,
    trusted_authserv_ids: Vec<String>,
}

#[derive(Debug)]
struct IndexedPerson {
    /// Each name as written, with its folded forms (romaji also reversed).
    names: Vec<(String, Vec<String>)>,
    addresses: Vec<String>,
}

impl OrgIndex {
    pub(crate) fn new(org: &Organization) -> Self {
        let normalized = |list: &[String]| list.iter().map(|d| domain::normalize(d)).collect();
        let folded = |n: &str| Some(text::fold(n)).filter(|f| f.chars().count() >= 2);
        Self {
            ours: normalized(&org.domains),
            partners: normalized(&org.partner_domains),
            names: org
                .names
                .iter()
                .chain(&org.domains)
                .filter_map(|n| Some((n.clone(), folded(n)?)))
                .collect(),
            people: org
                .people
                .iter()
                .map(|p| IndexedPerson {
                    names: p
                        .names
                        .iter()
                        .map(|n| {
                            let mut forms: Vec<String> = folded(n).into_iter().collect();
                            let words: Vec<&str> = n.split_whitespace().collect();
                            if words.len() > 1 {
                                let reversed: Vec<&str> = words.iter().rev().copied().collect();
                                forms.extend(folded(&reversed.join(" ")));
                            }
                            (n.clone(), forms)
                        })
                        .collect(),
                    addresses: p.addresses.iter().map(|a| a.to_lowercase()).collect(),
                })
                .collect(),
            trusted_authserv_ids: org.trusted_authserv_ids.clone(),
        }
    }

    fn is_ours(&self, d: &str) -> bool {
        self.ours.iter().any(|o| domain::within(d, o))
    }

    fn is_partner(&self, d: &str) -> bool {
        self.partners.iter().any(|p| domain::within(d, p))
    }
}

/// Score thresholds of one direction. A `[inbound.lure]` table replaces
/// the built-in thresholds: a threshold left out of it is never reached.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LurePolicy {
    /// From this score on the message is delivered tagged: an
    /// `X-Mugai-Lure` header and `subject_tag` before the subject.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<f64>,
    /// From this score on the message is held in quarantine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quarantine: Option<f64>,
    /// From this score on the message is refused (SMTP 550).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reject: Option<f64>,
    /// What a tagged subject starts with.
    pub subject_tag: String,
}

/// No threshold: the score is reported and acts on nothing.
impl Default for LurePolicy {
    fn default() -> Self {
        Self {
            tag: None,
            quarantine: None,
            reject: None,
            subject_tag: "[要注意]".into(),
        }
    }
}

impl LurePolicy {
    /// The built-in inbound thresholds: tag at 4, quarantine at 8, never
    /// reject (a refusal tells the attacker what was caught; a quarantine
    /// lets a person look). `rules/lure.toml` explains the weights.
    pub fn inbound() -> Self {
        Self {
            tag: Some(4.0),
            quarantine: Some(8.0),
            ..Self::default()
        }
    }

    fn action(&self, score: f64) -> LureAction {
        let reached = |t: Option<f64>| t.is_some_and(|t| score >= t);
        if reached(self.reject) {
            LureAction::Reject
        } else if reached(self.quarantine) {
            LureAction::Quarantine
        } else if reached(self.tag) {
            LureAction::Tag
        } else {
            LureAction::None
        }
    }
}

/// What the score asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LureAction {
    /// Below every threshold.
    None,
    /// Deliver with a warning in the subject and a header.
    Tag,
    /// Hold the message.
    Quarantine,
    /// Refuse the message.
    Reject,
}

/// The score of one message, explained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LureReport {
    /// The sum of the weights of the symbols that fired.
    pub score: f64,
    /// The action the thresholds of this direction give.
    pub action: LureAction,
    /// Every symbol that fired, heaviest first.
    pub symbols: Vec<SymbolHit>,
}

/// A symbol that fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SymbolHit {
    /// The symbol (`FROM_NAME_INTERNAL_PERSON`).
    pub name: String,
    /// Its weight in the rules.
    pub weight: f64,
    /// What it means, from the rules.
    pub description: String,
    /// What made it fire: the header, the phrase, the two domains compared.
    pub evidence: Vec<String>,
}

impl LureReport {
    /// `score=9.5; FROM_LOOKALIKE_OUR_DOMAIN(6), LURE_INVOICE(1.5), ...`:
    /// the heaviest symbols, short enough for a header field and an SMTP
    /// reply.
    pub fn summary(&self) -> String {
        format!("score={}; {}", self.score, self.heaviest())
    }

    /// `FROM_LOOKALIKE_OUR_DOMAIN(6), LURE_INVOICE(1.5), ...`: the
    /// heaviest symbols with their weights.
    pub fn heaviest(&self) -> String {
        const LISTED: usize = 8;
        let mut names: Vec<String> = self
            .symbols
            .iter()
            .take(LISTED)
            .map(|s| format!("{}({})", s.name, s.weight))
            .collect();
        if self.symbols.len() > LISTED {
            names.push(format!("+{} more", self.symbols.len() - LISTED));
        }
        names.join(", ")
    }
}

/// The Message-IDs our side sent, so that an inbound reply can be checked
/// against a real thread. The relay fills it from outbound mail.
pub trait SentLog: Send + Sync {
    /// Whether our side sent a message with this Message-ID (any form:
    /// with or without angle brackets).
    fn was_sent(&self, message_id: &str) -> bool;
}

/// A [`SentLog`] in memory, for tests and for `mugai eval`.
#[derive(Debug, Default)]
pub struct MemorySentLog {
    ids: Mutex<HashSet<String>>,
}

impl MemorySentLog {
    /// Remembers one Message-ID.
    pub fn remember(&self, message_id: &str) {
        let id = normalize_message_id(message_id);
        if !id.is_empty() {
            self.ids
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id);
        }
    }
}

impl SentLog for MemorySentLog {
    fn was_sent(&self, message_id: &str) -> bool {
        self.ids
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&normalize_message_id(message_id))
    }
}

/// A Message-ID as compared: no angle brackets, whitespace or controls.
pub fn normalize_message_id(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .chars()
        .filter(|c| !c.is_control() && !c.is_whitespace())
        .collect()
}

/// A text body in its charset, as UTF-8 (lossy: scoring reads what it can).
pub(crate) fn decode_text(bytes: &[u8], charset: Option<&str>) -> String {
    crate::mime::decode_charset(&bytes[..bytes.len().min(MAX_TEXT * 4)], charset)
}

/// A body part, decoded to text.
#[derive(Debug)]
pub(crate) struct BodyText {
    pub(crate) location: String,
    pub(crate) text: String,
    pub(crate) html: bool,
}

/// Everything about one message that scoring looks at.
#[derive(Debug, Default)]
pub(crate) struct Facts {
    pub(crate) direction: Direction,
    pub(crate) from_name: Option<String>,
    pub(crate) from_address: Option<String>,
    pub(crate) reply_to: Vec<String>,
    /// Envelope sender, or the Return-Path header when there is no envelope.
    pub(crate) envelope_from: Option<String>,
    pub(crate) subject: String,
    pub(crate) in_reply_to: Vec<String>,
    pub(crate) references: Vec<String>,
    pub(crate) authentication_results: Vec<String>,
    pub(crate) bodies: Vec<BodyText>,
    pub(crate) attachment_names: Vec<String>,
    pub(crate) findings: Vec<(FindingKind, String)>,
    /// YARA rules that matched: `namespace.rule`, weight, description, where.
    pub(crate) rule_hits: Vec<(String, f64, String, String)>,
}

/// Only the head of a long body is searched for phrases and links.
const MAX_TEXT: usize = 64 << 10;
/// Evidence kept per symbol.
const MAX_EVIDENCE: usize = 3;

const REPLY_PREFIXES: &[&str] = &[
    "re:", "re[", "返信:", "aw:", "sv:", "antw:", "回复:", "答复:",
];
const FORWARD_PREFIXES: &[&str] = &["fw:", "fwd:", "転送:", "wg:", "tr:"];

struct Hits<'r> {
    rules: &'r LureRules,
    fired: BTreeMap<&'static str, Vec<String>>,
    phrases: BTreeMap<String, Vec<String>>,
    /// Symbols whose weight comes from elsewhere (YARA rule metadata).
    extra: Vec<SymbolHit>,
}

impl Hits<'_> {
    fn fire(&mut self, name: &'static str, evidence: String) {
        let e = self.fired.entry(name).or_default();
        if e.len() < MAX_EVIDENCE && !e.contains(&evidence) {
            e.push(evidence);
        }
    }

    fn has(&self, name: &str) -> bool {
        self.fired.contains_key(name)
    }

    fn any(&self, names: &[&str]) -> bool {
        names.iter().any(|n| self.has(n))
    }

    fn theme(&self) -> bool {
        self.rules
            .phrases
            .iter()
            .any(|p| p.theme && self.phrases.contains_key(&p.name))
    }

    fn report(self, policy: &LurePolicy) -> LureReport {
        let mut symbols: Vec<SymbolHit> = Vec::new();
        let named = self
            .fired
            .into_iter()
            .map(|(n, e)| (n.to_owned(), e))
            .chain(self.phrases);
        for (name, evidence) in named {
            let Some(s) = self.rules.symbols.get(&name) else {
                continue;
            };
            if s.weight == 0.0 {
                continue;
            }
            symbols.push(SymbolHit {
                name,
                weight: s.weight,
                description: s.description.clone(),
                evidence,
            });
        }
        symbols.extend(self.extra.into_iter().filter(|s| s.weight != 0.0));
        symbols.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.name.cmp(&b.name)));
        let sum: f64 = symbols.iter().map(|s| s.weight).sum();
        // Two decimals: the sum of a few weights, without float noise.
        let score = (sum * 100.0).round() / 100.0;
        LureReport {
            score,
            action: policy.action(score),
            symbols,
        }
    }
}

fn domain_of(address: &str) -> Option<String> {
    let (_, d) = address.trim().trim_matches(['<', '>']).rsplit_once('@')?;
    let d = domain::normalize(d);
    (!d.is_empty()).then_some(d)
}

/// Scores one message.
pub(crate) fn score(
    rules: &LureRules,
    org: &OrgIndex,
    policy: &LurePolicy,
    sent: Option<&dyn SentLog>,
    facts: &Facts,
) -> LureReport {
    let mut hits = Hits {
        rules,
        fired: BTreeMap::new(),
        phrases: BTreeMap::new(),
        extra: Vec::new(),
    };
    let from = facts.from_address.as_deref().unwrap_or("").to_lowercase();
    let from_domain = domain_of(&from);
    let auth = auth::parse(
        facts.authentication_results.iter().map(String::as_str),
        &org.trusted_authserv_ids,
    );

    sender(&mut hits, org, facts, &from, from_domain.as_deref());
    let authenticated = authentication(&mut hits, &auth, from_domain.as_deref(), org);
    if let Some(fd) = &from_domain
        && facts.direction == Direction::Inbound
        && org.is_ours(fd)
        && !authenticated
    {
        hits.fire(
            "FROM_OWN_DOMAIN_UNAUTHENTICATED",
            format!("From {from} came from outside without a trusted pass"),
        );
    }
    other_senders(&mut hits, rules, facts, from_domain.as_deref());
    thread(&mut hits, facts, sent, org);
    let from_org = from_domain.as_deref().map(domain::organization);
    for body in &facts.bodies {
        link_signals(&mut hits, body, org, from_org.as_deref());
    }
    phrases(&mut hits, facts);
    attachments(&mut hits, facts);
    combinations(&mut hits, facts);
    hits.report(policy)
}

fn sender(
    hits: &mut Hits<'_>,
    org: &OrgIndex,
    facts: &Facts,
    from: &str,
    from_domain: Option<&str>,
) {
    let Some(fd) = from_domain else {
        return;
    };
    let external = !org.is_ours(fd);
    let name = facts.from_name.as_deref().unwrap_or("");
    let folded = text::fold(name);
    if external && !folded.is_empty() {
        for person in &org.people {
            if person.addresses.iter().any(|a| a == from) {
                continue;
            }
            let found = person
                .names
                .iter()
                .find(|(_, forms)| forms.iter().any(|f| folded.contains(f.as_str())));
            if let Some((n, _)) = found {
                hits.fire(
                    "FROM_NAME_INTERNAL_PERSON",
                    format!("display name {name:?} is our {n} but the address is {from}"),
                );
            }
        }
        for (n, f) in &org.names {
            if folded.contains(f.as_str()) {
                hits.fire(
                    "FROM_NAME_OUR_ORGANIZATION",
                    format!("display name {name:?} names {n} but the address is {from}"),
                );
            }
        }
    }
    for word in name.split(|c: char| c.is_whitespace() || "<>()\"'[],;".contains(c)) {
        if word.contains('@') && word.contains('.') && !word.eq_ignore_ascii_case(from) {
            hits.fire(
                "FROM_NAME_HAS_OTHER_ADDRESS",
                format!("display name shows {word}, the address is {from}"),
            );
        }
    }
    if external {
        if let Some((known, why)) = imitated(fd, &org.ours) {
            hits.fire(
                "FROM_LOOKALIKE_OUR_DOMAIN",
                format!("From domain {fd} imitates {known}: {why}"),
            );
        }
        if !org.is_partner(fd)
            && let Some((known, why)) = imitated(fd, &org.partners)
        {
            hits.fire(
                "FROM_LOOKALIKE_PARTNER_DOMAIN",
                format!("From domain {fd} imitates partner {known}: {why}"),
            );
        }
    }
    if let Some((_, raw_domain)) = from.rsplit_once('@')
        && domain::is_idn(raw_domain)
    {
        hits.fire("FROM_IDN", format!("From domain {raw_domain} is {fd}"));
    }
}

/// The first of `known` that `domain` imitates, and how.
fn imitated<'k>(domain: &str, known: &'k [String]) -> Option<(&'k str, String)> {
    known
        .iter()
        .find_map(|k| domain::lookalike(domain, k).map(|why| (k.as_str(), why)))
}

/// Fires the authentication symbols; true when a trusted server saw a
/// DMARC pass or an aligned DKIM pass for the From domain.
fn authentication(
    hits: &mut Hits<'_>,
    auth: &auth::AuthResults,
    from_domain: Option<&str>,
    org: &OrgIndex,
) -> bool {
    if auth.trusted == 0 {
        return false;
    }
    for (result, header_from, policy) in &auth.dmarc {
        if result == "fail" {
            hits.fire(
                "AUTH_DMARC_FAIL",
                format!("dmarc=fail header.from={header_from}"),
            );
            if policy.as_deref() == Some("reject") {
                hits.fire(
                    "AUTH_DMARC_FAIL_POLICY_REJECT",
                    format!("{header_from} publishes p=reject"),
                );
            }
        }
    }
    if auth.spf.iter().any(|r| r == "fail") {
        hits.fire("AUTH_SPF_FAIL", "spf=fail".into());
    }
    let dkim_pass = |d: &str| {
        auth.dkim
            .iter()
            .any(|(r, dd)| r == "pass" && domain::organization(dd) == domain::organization(d))
    };
    if auth.dkim.iter().any(|(r, _)| r == "fail") && !auth.dkim.iter().any(|(r, _)| r == "pass") {
        hits.fire("AUTH_DKIM_FAIL", "dkim=fail and no valid signature".into());
    }
    let Some(fd) = from_domain else {
        return false;
    };
    let dmarc_pass = auth
        .dmarc
        .iter()
        .any(|(r, hf, _)| r == "pass" && domain::within(fd, hf));
    let passed = dmarc_pass || dkim_pass(fd);
    if passed && (org.is_ours(fd) || org.is_partner(fd)) {
        hits.fire(
            "AUTH_KNOWN_DOMAIN_PASS",
            format!(
                "{} pass for {fd}",
                if dmarc_pass { "DMARC" } else { "aligned DKIM" }
            ),
        );
    }
    passed
}

fn other_senders(hits: &mut Hits<'_>, rules: &LureRules, facts: &Facts, from_domain: Option<&str>) {
    let Some(fd) = from_domain else {
        return;
    };
    let from_org = domain::organization(fd);
    for r in &facts.reply_to {
        let Some(rd) = domain_of(r) else {
            continue;
        };
        if domain::organization(&rd) == from_org {
            continue;
        }
        if rules.is_freemail(&rd) && !rules.is_freemail(fd) {
            hits.fire(
                "REPLYTO_FREEMAIL",
                format!("Reply-To {r} is free mail, From is at {fd}"),
            );
        } else {
            hits.fire(
                "REPLYTO_OTHER_DOMAIN",
                format!("Reply-To {r} is not at {fd}"),
            );
        }
    }
    if let Some(env) = facts.envelope_from.as_deref()
        && let Some(ed) = domain_of(env)
        && domain::organization(&ed) != from_org
    {
        hits.fire(
            "ENVFROM_OTHER_DOMAIN",
            format!("envelope sender {env}, From at {fd}"),
        );
    }
}

fn thread(hits: &mut Hits<'_>, facts: &Facts, sent: Option<&dyn SentLog>, org: &OrgIndex) {
    let subject = text::fold(&facts.subject);
    let reply = REPLY_PREFIXES.iter().find(|p| subject.starts_with(*p));
    let forward = FORWARD_PREFIXES.iter().find(|p| subject.starts_with(*p));
    let ids: Vec<&String> = facts.in_reply_to.iter().chain(&facts.references).collect();
    if ids.is_empty() {
        if reply.is_some() {
            hits.fire(
                "REPLY_WITHOUT_THREAD",
                format!(
                    "subject {:?} but no In-Reply-To or References",
                    facts.subject
                ),
            );
        } else if forward.is_some() {
            hits.fire(
                "FORWARD_WITHOUT_THREAD",
                format!(
                    "subject {:?} but no In-Reply-To or References",
                    facts.subject
                ),
            );
        }
        return;
    }
    let Some(sent) = sent else {
        return;
    };
    if facts.direction != Direction::Inbound {
        return;
    }
    if let Some(id) = ids.iter().find(|id| sent.was_sent(id)) {
        hits.fire("THREAD_KNOWN", format!("answers {id}, which we sent"));
        return;
    }
    let forged = ids.iter().find(|id| {
        normalize_message_id(id)
            .rsplit_once('@')
            .is_some_and(|(_, d)| org.is_ours(&d.to_lowercase()))
    });
    if let Some(id) = forged {
        hits.fire(
            "THREAD_FORGED_OURS",
            format!("refers to {id}, which names our domain but we never sent"),
        );
    } else if reply.is_some() || !facts.in_reply_to.is_empty() {
        hits.fire(
            "THREAD_UNKNOWN",
            format!("a reply to {}, which we never sent", ids[0]),
        );
    }
}

/// `from_org`: a sender that shows its own site through a click tracker
/// is ordinary, so a link showing the sender's own domain is no mismatch.
fn link_signals(hits: &mut Hits<'_>, body: &BodyText, org: &OrgIndex, from_org: Option<&str>) {
    let text = truncate(&body.text, MAX_TEXT);
    let found = if body.html {
        links::from_html(text)
    } else {
        links::from_text(text)
    };
    for link in found {
        let url = web::parse_url(&link.href);
        match url.scheme.as_str() {
            "javascript" | "vbscript" | "data" => {
                let shown: String = link.href.chars().take(40).collect();
                hits.fire("LINK_SCRIPT_URL", format!("link to {shown}…"));
                continue;
            }
            "mailto" | "tel" | "cid" => continue,
            _ => {}
        }
        if url.host.is_empty() {
            continue;
        }
        let host = domain::normalize(&url.host);
        if host.parse::<std::net::Ipv4Addr>().is_ok() || host.starts_with('[') {
            hits.fire("LINK_IP_HOST", format!("link to {}", url.host));
        }
        if let Some(user) = &url.userinfo {
            hits.fire(
                "LINK_USERINFO",
                format!("link shows {user}@ before the real host {}", url.host),
            );
        }
        if domain::is_idn(&url.host) {
            hits.fire("LINK_IDN", format!("link host {} is {host}", url.host));
        }
        let ours_or_partner = org.is_ours(&host) || org.is_partner(&host);
        let imitation = if ours_or_partner {
            None
        } else {
            imitated(&host, &org.ours).or_else(|| imitated(&host, &org.partners))
        };
        if let Some((k, why)) = imitation {
            hits.fire(
                "LINK_LOOKALIKE",
                format!("link host {host} imitates {k}: {why}"),
            );
        }
        if let Some(shown) = link.shown.as_deref().and_then(web::shown_domain) {
            let shown = domain::normalize(&shown);
            let shown_org = domain::organization(&shown);
            if shown_org != domain::organization(&host) && Some(shown_org.as_str()) != from_org {
                hits.fire(
                    "LINK_TEXT_MISMATCH",
                    format!("link shows {shown} but goes to {host}"),
                );
            }
        }
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

fn phrases(hits: &mut Hits<'_>, facts: &Facts) {
    let mut places: Vec<(String, String)> = vec![("subject".into(), text::fold(&facts.subject))];
    for b in &facts.bodies {
        let t = truncate(&b.text, MAX_TEXT);
        let t = if b.html {
            text::html_text(t)
        } else {
            t.to_owned()
        };
        places.push((b.location.clone(), text::fold(&t)));
    }
    for n in &facts.attachment_names {
        places.push((format!("attachment {n:?}"), text::fold(n)));
    }
    // Per symbol: evidence in the order found, each phrase once.
    let rules = hits.rules;
    let mut seen = vec![false; rules.patterns.len()];
    let mut evidence: Vec<Vec<String>> = vec![Vec::new(); rules.phrases.len()];
    for (place, text) in &places {
        for m in rules.automaton.find_overlapping_iter(text.as_str()) {
            let id = m.pattern().as_usize();
            let phrase = &rules.patterns[id];
            let found = &mut evidence[phrase.symbol];
            if !seen[id] && found.len() < MAX_EVIDENCE {
                seen[id] = true;
                found.push(format!("{place}: {}", phrase.text));
            }
        }
    }
    for (symbol, found) in rules.phrases.iter().zip(evidence) {
        if !found.is_empty() {
            hits.phrases.insert(symbol.name.clone(), found);
        }
    }
}

fn attachments(hits: &mut Hits<'_>, facts: &Facts) {
    use FindingKind as K;
    for (kind, location) in &facts.findings {
        let symbol = match kind {
            K::Executable
            | K::Script
            | K::Shortcut
            | K::DiskImage
            | K::OneNote
            | K::HelpFile
            | K::HtmlSmuggling
            | K::DoubleExtension
            | K::BidiOverride => "ATTACH_EXECUTABLE",
            K::Macro | K::Dde | K::ExternalReference => "ATTACH_ACTIVE_DOCUMENT",
            K::EncryptedArchive | K::EncryptedDocument => "ATTACH_ENCRYPTED",
            _ => continue,
        };
        hits.fire(symbol, format!("{} in {location}", kind.name()));
    }
    // Each YARA rule is a symbol of its own, weighted by its metadata.
    for (rule, weight, description, location) in &facts.rule_hits {
        let name = format!("YARA_{}", rule.replace('.', "_").to_uppercase());
        match hits.extra.iter_mut().find(|s| s.name == name) {
            Some(s) if s.evidence.len() < MAX_EVIDENCE => s.evidence.push(location.clone()),
            Some(_) => {}
            None => hits.extra.push(SymbolHit {
                name,
                weight: *weight,
                description: description.clone(),
                evidence: vec![location.clone()],
            }),
        }
    }
}

fn combinations(hits: &mut Hits<'_>, facts: &Facts) {
    let theme = hits.theme();
    let themes = || {
        hits.phrases
            .keys()
            .filter(|n| hits.rules.phrases.iter().any(|p| p.theme && &p.name == *n))
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut fire = Vec::new();
    if theme && hits.has("ATTACH_ACTIVE_DOCUMENT") {
        fire.push((
            "LURE_WITH_ACTIVE_DOCUMENT",
            format!("{} + active document", themes()),
        ));
    }
    if theme && hits.has("ATTACH_ENCRYPTED") {
        fire.push((
            "LURE_WITH_ENCRYPTED",
            format!("{} + encrypted attachment", themes()),
        ));
    }
    if theme
        && hits.any(&[
            "LINK_TEXT_MISMATCH",
            "LINK_LOOKALIKE",
            "LINK_SCRIPT_URL",
            "LINK_IP_HOST",
            "LINK_USERINFO",
        ])
    {
        fire.push((
            "LURE_WITH_LINK_TRICK",
            format!("{} + deceptive link", themes()),
        ));
    }
    if hits.phrases.contains_key(rules::PASSWORD_GIVEN) && hits.has("ATTACH_ENCRYPTED") {
        fire.push((
            "PASSWORD_IN_SAME_MAIL",
            "the password comes with the encrypted attachment it opens".into(),
        ));
    }
    let impersonation = [
        "FROM_NAME_INTERNAL_PERSON",
        "FROM_NAME_OUR_ORGANIZATION",
        "FROM_NAME_HAS_OTHER_ADDRESS",
        "FROM_LOOKALIKE_OUR_DOMAIN",
        "FROM_LOOKALIKE_PARTNER_DOMAIN",
        "FROM_OWN_DOMAIN_UNAUTHENTICATED",
    ];
    if hits.any(&impersonation) && !facts.attachment_names.is_empty() {
        fire.push((
            "IMPERSONATION_WITH_ATTACHMENT",
            format!(
                "an impersonating sender attaches {:?}",
                facts.attachment_names[0]
            ),
        ));
    }
    for (name, evidence) in fire {
        hits.fire(name, evidence);
    }
}
