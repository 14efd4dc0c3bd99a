//! Golden corpus: every file under samples/ with `<name>.expected.json` beside
//! it (for `x.in.zip` containers, `x.expected.json`). Each is run with LF and
//! with CRLF line endings; both must give the expected verdicts. A mismatch
//! writes `<name>.failed`; `UPDATE_GOLDEN=1` rewrites the expectations.

use std::path::{Path, PathBuf};

use mugai_core::{Engine, Envelope, Outcome, Policy, Verdict, input, internal};
use serde_json::{Value, json};

fn samples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples")
}

fn is_sample(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    !(name.starts_with('.')
        || name.ends_with(".expected.json")
        || name.ends_with(".failed")
        || name.ends_with(".md")
        || name.ends_with(".py")
        || name.ends_with(".json"))
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("samples/ is readable")
        .map(|e| e.expect("dir entry").path())
        .collect();
    entries.sort();
    for p in entries {
        // The lure set is labelled by folder and scored with its own
        // organization (tests/integration/lure.rs).
        // The YARA examples are checked by `mugai rules test`.
        if p.is_dir() && p.file_name().is_some_and(|n| n == "lure" || n == "yara") {
            continue;
        }
        if p.is_dir() {
            collect(&p, out);
        } else if is_sample(&p) {
            out.push(p);
        }
    }
}

fn with_line_endings(message: &[u8], eol: &str) -> Vec<u8> {
    let mut lf = Vec::with_capacity(message.len());
    let mut i = 0;
    while i < message.len() {
        if message[i] == b'\r' && message.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        lf.push(message[i]);
        i += 1;
    }
    if eol == "\n" {
        return lf;
    }
    let mut crlf = Vec::with_capacity(lf.len() + lf.len() / 40);
    for &c in &lf {
        if c == b'\n' {
            crlf.push(b'\r');
        }
        crlf.push(c);
    }
    crlf
}

/// The part of an outcome that the corpus pins down: verdict, the lure
/// symbols, and per part the true type, the action, each finding with its
/// location, and what disarming took out (or why it could not).
fn summarize(outcome: &Outcome) -> Value {
    let r = &outcome.report;
    let parts: Vec<Value> = r
        .parts
        .iter()
        .map(|p| {
            let mut findings: Vec<String> = p
                .findings
                .iter()
                .map(|f| format!("{} @ {}", f.kind, f.location))
                .collect();
            findings.sort();
            findings.dedup();
            let mut v = json!({
                "path": p.path,
                "true_type": p.true_type,
                "action": p.action,
                "findings": findings,
            });
            if let Some(d) = &p.disarmed {
                v["disarmed"] = json!({
                    "true_type": d.true_type,
                    "name": d.name,
                    "removed": d.removed,
                });
            }
            if let Some(why) = &p.disarm_failed {
                v["disarm_failed"] = json!(why);
            }
            v
        })
        .collect();
    let mut v = json!({ "verdict": outcome.verdict, "parts": parts });
    if let Some(l) = r.lure.as_ref().filter(|l| !l.symbols.is_empty()) {
        let symbols: Vec<&str> = l.symbols.iter().map(|s| s.name.as_str()).collect();
        v["lure"] = json!({ "score": l.score, "action": l.action, "symbols": symbols });
    }
    if outcome.verdict != Verdict::Deliver {
        v["reason"] = json!(r.reason);
    }
    v
}

#[test]
fn golden_corpus() {
    let engine = Engine::new(Policy::default());
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut files = Vec::new();
    collect(&samples(), &mut files);
    let mut failures = Vec::new();
    let mut cases = 0;
    for path in &files {
        let name = path.to_string_lossy().into_owned();
        let bytes = std::fs::read(path).expect("sample readable");
        let mut runs = Vec::new();
        for eol in ["\r\n", "\n"] {
            let items = input::items(&name, &bytes, eol).unwrap_or_else(|e| panic!("{name}: {e}"));
            let mut summaries = Vec::new();
            for item in items {
                let message = with_line_endings(&item.message, eol);
                let outcome = engine.process(&message, &Envelope::default());
                if let Err(e) = internal::check_outcome(&engine, &outcome) {
                    failures.push(format!("{}: {e} ({eol:?})", item.label));
                }
                summaries.push(summarize(&outcome));
            }
            runs.push(Value::Array(summaries));
        }
        cases += 1;
        if runs[0] != runs[1] {
            failures.push(format!(
                "{name}: CRLF and LF disagree:\n{}\n{}",
                runs[0], runs[1]
            ));
            continue;
        }
        let base = name.strip_suffix(".in.zip").unwrap_or(&name);
        let expected_path = PathBuf::from(format!("{base}.expected.json"));
        let failed_path = PathBuf::from(format!("{base}.failed"));
        let actual = serde_json::to_string_pretty(&runs[0]).expect("json") + "\n";
        if update {
            std::fs::write(&expected_path, &actual).expect("write expected");
            let _ = std::fs::remove_file(&failed_path);
            continue;
        }
        let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
        let matches = serde_json::from_str::<Value>(&expected).is_ok_and(|e| e == runs[0]);
        if matches {
            let _ = std::fs::remove_file(&failed_path);
        } else {
            std::fs::write(&failed_path, &actual).expect("write .failed");
            failures.push(format!(
                "{name}: differs from {} (see {})",
                expected_path.display(),
                failed_path.display()
            ));
        }
    }
    assert!(
        cases > 60,
        "only {cases} golden cases found under {}",
        samples().display()
    );
    assert!(
        failures.is_empty(),
        "{} of {cases} golden cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!("golden corpus: {cases} cases, each with LF and CRLF");
}
