//! Entry points for fuzz targets and benchmarks: each parser on its own,
//! with the oracles that can be checked there. Re-exported by `internal`;
//! not a stable API.

use std::collections::BTreeMap;

use base64::Engine as _;

use crate::disarm;
use crate::engine::{Engine, Envelope, Outcome};
use crate::finding::Finding;
use crate::formats::{html, pdf};
use crate::identify::FileType;
use crate::inspect::{Inspector, sha256};
use crate::limits::{Budget, Limits};
use crate::mime::{self, Body, Entity};
use crate::rebuild::Rebuild;
use crate::vocab::FindingKind;
use crate::vocab::{Direction, PartAction, Verdict};

/// Limits small enough that one fuzz input finishes quickly.
pub fn fuzz_limits() -> Limits {
    Limits {
        max_entry_bytes: 16 << 20,
        max_decompressed_bytes: 32 << 20,
        max_archive_entries: 2_000,
        max_time_ms: 5_000,
        ..Limits::default()
    }
}

/// The full inspector on one blob, as if it were an attachment named `name`.
pub fn inspect(bytes: &[u8], name: Option<&str>) -> (FileType, Vec<Finding>) {
    let mut budget = Budget::new(&fuzz_limits());
    let mut ins = Inspector::new(&mut budget);
    let (t, _) = ins.inspect_part(bytes, &sha256(bytes), name, None, name.unwrap_or("blob"));
    (t, ins.findings)
}

/// The inspector on arbitrary bytes taken as type `t`, whatever their magic
/// says: one archive walker, document analysis or content inspection.
pub fn inspect_as(t: FileType, bytes: &[u8]) -> Vec<Finding> {
    let mut budget = Budget::new(&fuzz_limits());
    let mut ins = Inspector::new(&mut budget);
    ins.inspect_as(t, bytes, &sha256(bytes), None, "blob");
    ins.findings
}

/// Text verification on arbitrary bytes named `name`: formulas, launcher
/// syntax, files encoded into the text (inspected as members). Findings
/// as `kind @ location`, to compare two runs.
pub fn inspect_text(bytes: &[u8], name: Option<&str>) -> Vec<String> {
    let mut budget = Budget::new(&fuzz_limits());
    let mut ins = Inspector::new(&mut budget);
    ins.inspect_as(FileType::Text, bytes, &sha256(bytes), name, "blob");
    ins.findings
        .iter()
        .map(|f| format!("{} @ {}", f.kind, f.location))
        .collect()
}

/// The content-rebuild oracle for one file of type `t` (PDF, SVG, image or
/// HTML, as the inbound policy rebuilds it): the result inspects with no
/// active content, keeps its type, and rebuilding it again gives the same
/// bytes. `Ok(false)` when the file could not be rebuilt (it is removed).
pub fn check_rebuild(bytes: &[u8], t: FileType) -> Result<bool, String> {
    // The engine picks the rebuild by the identified type.
    if crate::identify(bytes) != t {
        return Ok(false);
    }
    let content = crate::policy::ContentPolicy::inbound();
    let rebuild = |b: &[u8]| {
        let info = disarm::PartInfo {
            true_type: t,
            declared_type: "application/octet-stream",
            charset: Some("utf-8"),
            name: Some("fuzz"),
        };
        let mut budget = Budget::new(&fuzz_limits());
        disarm::rebuild(b, &info, &content, &mut budget)
    };
    let out = match rebuild(bytes) {
        None => return Err(format!("{t:?} is not rebuilt")),
        Some(Err(_)) => return Ok(false),
        Some(Ok(r)) => r.disarmed.bytes,
    };
    // Smuggling is read from text, and text the rebuild keeps (an SVG's
    // <text>) can spell it with no script left to run it; only a finding
    // the input did not have counts (the engine removes that input anyway).
    let known: &[FindingKind] = if inspect(bytes, None)
        .1
        .iter()
        .any(|f| f.kind == FindingKind::HtmlSmuggling)
    {
        &[FindingKind::HtmlSmuggling]
    } else {
        &[]
    };
    let again_type =
        inspect_clean(&out, known).map_err(|a| format!("rebuilt {t:?} still active: {a}"))?;
    if again_type != t {
        return Err(format!("rebuilding turned {t:?} into {again_type:?}"));
    }
    match rebuild(&out) {
        Some(Ok(r)) if r.disarmed.bytes == out => Ok(true),
        Some(Ok(r)) => Err(format!(
            "rebuilding the output changed it again ({} → {} bytes)",
            out.len(),
            r.disarmed.bytes.len()
        )),
        Some(Err(e)) => Err(format!("the rebuilt {t:?} cannot be rebuilt again: {e}")),
        None => Err("the rebuilt file is no longer rebuilt".into()),
    }
}

/// HTML made safe, on arbitrary text: sanitizing twice changes nothing,
/// and a second reading finds no script, frame, object, handler or script
/// link.
pub fn check_html_sanitize(html: &str) -> Result<(), String> {
    let mode = crate::policy::LinkMode::Show;
    let _ = html::to_text(html, mode);
    let Ok((once, _)) = html::sanitize(html, mode) else {
        return Ok(());
    };
    let (twice, _) = html::sanitize(&once, mode)
        .map_err(|e| format!("sanitized HTML cannot be sanitized again: {e}"))?;
    if twice != once {
        return Err("sanitizing the output changed it again".into());
    }
    match html::active_left(&once) {
        Some(what) => Err(format!("{what} left in {once:?}")),
        None => Ok(()),
    }
}

/// HTML to plain text, as an inbound policy converts it.
pub fn html_to_text(html: &str) -> String {
    html::to_text(html, crate::policy::LinkMode::Show).0
}

/// HTML rewritten to safe HTML, as an inbound policy does it.
pub fn sanitize_html(html: &str) -> Result<String, String> {
    html::sanitize(html, crate::policy::LinkMode::Show).map(|(h, _)| h)
}

/// A PDF read and written again by lopdf with nothing taken out: the floor
/// under the rebuild, for the benchmark.
pub fn pdf_load_and_save(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut doc = pdf::load(bytes, &mut Budget::new(&fuzz_limits()))?;
    let mut out = Vec::with_capacity(bytes.len());
    doc.save_to(&mut out).map_err(|e| e.to_string())?;
    Ok(out)
}

/// HTML passed through the rewriter's tokenizer with no handlers: the floor
/// under sanitizing and converting, for the benchmark.
pub fn html_tokenize(html: &str) -> usize {
    lol_html::rewrite_str(html, lol_html::RewriteStrSettings::new()).map_or(0, |s| s.len())
}

/// Name checks on an arbitrary name.
pub fn check_name(name: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    crate::names::check_name(name, name, &mut out);
    out
}

/// Transfer decoders: `(decoded, canonical)`.
pub fn decode_base64(raw: &[u8]) -> (Vec<u8>, bool) {
    mime::decode_base64(raw)
}

/// Transfer decoders: `(decoded, canonical)`.
pub fn decode_qp(raw: &[u8]) -> (Vec<u8>, bool) {
    mime::decode_qp(raw)
}

/// Parse → rebuild (nothing removed) → parse: the leaves and their decoded
/// contents must survive exactly. `Ok(None)` when the input is refused.
pub fn mime_round_trip(raw: &[u8]) -> Result<Option<usize>, String> {
    let limits = fuzz_limits();
    let Ok(root) = mime::parse(raw, &limits) else {
        return Ok(None);
    };
    let replacements = BTreeMap::new();
    let rebuild = Rebuild {
        eol: crate::engine::line_ending(raw),
        replacements: &replacements,
        seed: sha256(raw),
    };
    // With a trace field on top, as the engine writes it: a message whose
    // only real field was a forged one of ours still has a header.
    let out = rebuild.message(&root, &[("X-Mugai-Verdict", "clean".into())], None);
    let again = mime::parse(&out, &limits)
        .map_err(|e| format!("rebuilt message unparseable: {}", e.describe()))?;
    let (a, b) = (leaf_hashes(&root), leaf_hashes(&again));
    if a != b {
        return Err(format!(
            "{} leaves became {}, or their contents changed",
            a.len(),
            b.len()
        ));
    }
    Ok(Some(a.len()))
}

/// A TNEF stream on its own, then inside a message: what it unpacks to is
/// never larger than the stream, and the message it is unpacked in
/// survives [`mime_round_trip`]. The number of attachments, or `None` when
/// the stream is not unpacked.
pub fn tnef(bytes: &[u8]) -> Result<Option<usize>, String> {
    let files = crate::tnef::unpack(bytes, 64).ok();
    if let Some(files) = &files {
        let total: usize = files.iter().map(|f| f.data.len()).sum();
        if total > bytes.len() {
            return Err(format!("{total} bytes out of a stream of {}", bytes.len()));
        }
        if files.iter().any(|f| f.name.is_empty()) {
            return Err("an attachment without a name".into());
        }
    }
    check_message(&attached("application/ms-tnef", bytes))?;
    Ok(files.map(|f| f.len()))
}

/// An Outlook `.msg` on its own, then inside a message: what it is written
/// as parses as MIME with no part larger than the file (nothing is
/// decompressed but an RTF body, which stays out of the message), and the
/// message holding the file survives [`check_message`]. The number of
/// leaves, or `None` when it is not converted.
pub fn msg(bytes: &[u8]) -> Result<Option<usize>, String> {
    let limits = crate::msg::MsgLimits {
        depth: 4,
        attachments: 64,
    };
    let converted = crate::msg::convert(bytes, limits).ok();
    let mut leaves = None;
    if let Some(c) = &converted {
        if !c.eml.is_ascii() {
            return Err("the message written is not 7-bit".into());
        }
        let root = crate::mime::parse(&c.eml, &fuzz_limits())
            .map_err(|e| format!("the message written does not parse: {}", e.describe()))?;
        let all = root.leaves();
        if let Some(big) = all
            .iter()
            .find(|l| l.decoded().len() > bytes.len().max(64) * 64)
        {
            return Err(format!("a part of {} bytes", big.decoded().len()));
        }
        leaves = Some(all.len());
    }
    check_message(&attached("application/vnd.ms-outlook; name=m.msg", bytes))?;
    Ok(leaves)
}

/// A message with `bytes` attached in base64 under `content_type`.
fn attached(content_type: &str, bytes: &[u8]) -> Vec<u8> {
    [
        format!(
            "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
             Content-Type: {content_type}\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        )
        .as_bytes(),
        base64::engine::general_purpose::STANDARD
            .encode(bytes)
            .as_bytes(),
        b"\r\n--b--\r\n",
    ]
    .concat()
}

/// The `mime` oracle: where parse → rebuild → parse does not keep every
/// leaf (mail-parser's recovery from corrupt structure is no fixed point),
/// the engine must not deliver that tree: it quarantines the message, or
/// delivers a rebuild that does survive it.
pub fn check_message(raw: &[u8]) -> Result<(), String> {
    let Err(unstable) = mime_round_trip(raw) else {
        return Ok(());
    };
    let policy = crate::policy::Policy {
        limits: fuzz_limits(),
        ..crate::policy::Policy::default()
    };
    let engine = Engine::new(policy);
    let outcome = engine.process(raw, &Envelope::default());
    if let Some(out) = &outcome.message
        && let Err(e) = mime_round_trip(out)
    {
        return Err(format!(
            "unstable round trip ({unstable}) delivered, and what was delivered is unstable too ({e})"
        ));
    }
    check_outcome(&engine, &outcome).map_err(|e| format!("unstable round trip ({unstable}): {e}"))
}

fn leaf_hashes(e: &Entity) -> Vec<[u8; 32]> {
    match &e.body {
        Body::Leaf(l) => vec![sha256(&l.decoded)],
        Body::Multipart { children, .. } => children.iter().flat_map(leaf_hashes).collect(),
        Body::Message { inner, .. } => leaf_hashes(inner),
    }
}

/// Disarms one file as the engine would, without the message around it:
/// the rebuilt bytes, or why nothing was rebuilt ("nothing to disarm" for
/// a file without active content).
pub fn disarm_file(bytes: &[u8]) -> Result<Vec<u8>, String> {
    let limits = fuzz_limits();
    let mut budget = Budget::new(&limits);
    disarm::disarm(
        bytes,
        crate::identify(bytes),
        None,
        crate::policy::LinkMode::Show,
        &mut budget,
    )
    .map(|d| d.bytes)
    .map_err(|e| e.to_string())
}

/// The true type of rebuilt output, or the findings in it that the
/// built-in policy would act on, besides those of the `known` kinds.
fn inspect_clean(out: &[u8], known: &[FindingKind]) -> Result<FileType, String> {
    let (t, findings) = inspect(out, None);
    let active: Vec<&Finding> = findings
        .iter()
        .filter(|f| crate::default_action(f.kind) >= PartAction::Disarm && !known.contains(&f.kind))
        .collect();
    if active.is_empty() {
        Ok(t)
    } else {
        Err(format!("{active:?}"))
    }
}

/// The disarm oracle: when a file can be disarmed, the result inspects with
/// no active content, disarming it again finds nothing to do (so
/// `disarm(disarm(x)) == disarm(x)`), and it keeps its type family.
/// `Ok(false)` when there was nothing to disarm.
pub fn check_disarm(bytes: &[u8]) -> Result<bool, String> {
    let Ok(out) = disarm_file(bytes) else {
        return Ok(false);
    };
    let t = inspect_clean(&out, &[]).map_err(|a| format!("disarmed output still active: {a}"))?;
    // Rebuilders (PDF, SVG) always succeed; they must give the same bytes.
    if let Ok(again) = disarm_file(&out)
        && again != out
    {
        return Err(format!(
            "disarming the output changed it again ({} → {} bytes)",
            out.len(),
            again.len()
        ));
    }
    let before = crate::identify(bytes);
    if t == FileType::Unknown || (before == FileType::Rtf) != (t == FileType::Rtf) {
        return Err(format!("disarm turned {before:?} into {t:?}"));
    }
    Ok(true)
}

/// What every outcome must satisfy, whatever the input: the engine never
/// gives up (a caught panic shows as `Tempfail`), a message comes out exactly
/// when the verdict is `Deliver`, and what is delivered needs no further
/// action when sanitized again, nor changes when rebuilt again.
pub fn check_outcome(engine: &Engine, outcome: &Outcome) -> Result<(), String> {
    match (outcome.verdict, &outcome.message) {
        (Verdict::Tempfail, _) => Err(format!("engine gave up: {:?}", outcome.report.reason)),
        (Verdict::Deliver, None) => Err("deliver without a message".into()),
        (Verdict::Deliver, Some(out)) => {
            let again = engine.process(out, &Envelope::default());
            if again.verdict != Verdict::Deliver {
                return Err(format!(
                    "sanitized output is not deliverable: {:?}",
                    again.report.reason
                ));
            }
            if let Some(p) = again
                .report
                .parts
                .iter()
                .find(|p| p.action != PartAction::Keep)
            {
                return Err(format!(
                    "sanitized output still needs action on part {}: {:?}",
                    p.path, p.findings
                ));
            }
            // Rebuilding what was rebuilt gives the same bytes.
            match again.report.parts.iter().find(|p| p.disarmed.is_some()) {
                Some(p) => Err(format!(
                    "sanitized output changed again when rebuilt: part {} ({})",
                    p.path,
                    p.true_type.name()
                )),
                None => Ok(()),
            }
        }
        (_, Some(_)) => Err("a message came out of a non-deliver verdict".into()),
        (_, None) => Ok(()),
    }
}

/// An engine that knows who it works for (例市, as in samples/lure/) and
/// one Message-ID it sent, so that every lure symbol can fire.
pub fn lure_engine() -> Engine {
    use crate::lure::{MemorySentLog, Organization, Person};
    let organization = Organization {
        names: vec!["例市".into(), "Example City".into()],
        domains: vec!["city.example.lg.jp".into()],
        partner_domains: vec!["example-partner.co.jp".into()],
        people: vec![Person {
            names: vec!["山田 太郎".into(), "Taro Yamada".into()],
            addresses: vec!["t-yamada@city.example.lg.jp".into()],
        }],
        trusted_authserv_ids: vec!["mx.city.example.lg.jp".into()],
    };
    let policy = crate::policy::Policy {
        organization,
        ..crate::policy::Policy::default()
    };
    let sent = MemorySentLog::default();
    sent.remember("<sent-1@city.example.lg.jp>");
    Engine::new(policy).with_sent_log(std::sync::Arc::new(sent))
}

/// Lure scoring through `engine` on one message, with the oracle: the score
/// is the sum of the weights listed, every symbol says why it fired, and
/// the action is the one the thresholds give.
pub fn check_lure(engine: &Engine, raw: &[u8]) -> Result<(), String> {
    let outcome = engine.process(raw, &Envelope::default());
    let Some(lure) = &outcome.report.lure else {
        return Ok(());
    };
    let sum: f64 = lure.symbols.iter().map(|s| s.weight).sum();
    if ((sum * 100.0).round() / 100.0 - lure.score).abs() > 1e-9 {
        return Err(format!("score {} is not the sum {sum}", lure.score));
    }
    if let Some(s) = lure.symbols.iter().find(|s| s.evidence.is_empty()) {
        return Err(format!("{} fired without evidence", s.name));
    }
    let expected = engine.policy().lure(Direction::Inbound);
    let held = matches!(
        lure.action,
        crate::lure::LureAction::Quarantine | crate::lure::LureAction::Reject
    );
    if held && outcome.verdict == Verdict::Deliver {
        return Err(format!("{:?} but delivered", lure.action));
    }
    let reached = |t: Option<f64>| t.is_some_and(|t| lure.score >= t);
    if reached(expected.quarantine) != (lure.action >= crate::lure::LureAction::Quarantine) {
        return Err(format!("score {} but action {:?}", lure.score, lure.action));
    }
    check_outcome(engine, &outcome)
}
