//! `mugai sanitize`: one message in, the rebuilt message and a report out.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result};
use mugai_core::{Direction, Engine, Envelope, Verdict};

pub(crate) fn run(
    engine: &Engine,
    direction: Direction,
    input: &Path,
    output: Option<&Path>,
    report_path: Option<&Path>,
) -> Result<u8> {
    let raw = if input == Path::new("-") {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading standard input")?;
        buf
    } else {
        let bytes = std::fs::read(input).with_context(|| format!("reading {}", input.display()))?;
        let name = input.to_string_lossy();
        if name.ends_with(".in.zip") {
            // A text-encoded sample from the corpus: sanitize what it holds.
            let (_, inner) = mugai_core::input::decode_container(&bytes)?;
            inner
        } else {
            bytes
        }
    };
    let envelope = Envelope {
        direction,
        ..Envelope::default()
    };
    let outcome = engine.process(&raw, &envelope);
    let report = &outcome.report;

    if let Some(path) = report_path {
        let json = serde_json::to_vec_pretty(report)?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(message) = &outcome.message {
        match output {
            Some(path) => std::fs::write(path, message)
                .with_context(|| format!("writing {}", path.display()))?,
            None => std::io::stdout()
                .lock()
                .write_all(message)
                .context("writing standard output")?,
        }
    }

    let describe = |p: &mugai_core::PartReport| {
        format!(
            "{} ({})",
            p.declared_name.as_deref().unwrap_or(&p.path),
            kinds(p)
        )
    };
    let mut changes = Vec::new();
    let disarmed: Vec<String> = report.disarmed().map(describe).collect();
    if !disarmed.is_empty() {
        changes.push(format!("disarmed {}", disarmed.join(", ")));
    }
    let removed: Vec<String> = report.removed().map(describe).collect();
    if !removed.is_empty() {
        changes.push(format!("removed {}", removed.join(", ")));
    }
    changes.extend(report.unpacked.iter().map(|u| u.detail.clone()));
    if let Some(lure) = report
        .lure
        .as_ref()
        .filter(|l| l.action == mugai_core::LureAction::Tag)
    {
        changes.push(format!("tagged as a possible lure, {}", lure.summary()));
    }
    match outcome.verdict {
        Verdict::Deliver if changes.is_empty() => eprintln!("deliver: clean"),
        Verdict::Deliver => eprintln!("deliver: {}", changes.join("; ")),
        verdict => eprintln!(
            "{}: {}",
            serde_json::to_value(verdict)?.as_str().unwrap_or("?"),
            report.reason.as_deref().unwrap_or("")
        ),
    }
    Ok(match outcome.verdict {
        Verdict::Deliver if changes.is_empty() && !report.found_anything() => 0,
        Verdict::Tempfail => 2,
        _ => 1,
    })
}

fn kinds(p: &mugai_core::PartReport) -> String {
    let mut k: Vec<&str> = p.findings.iter().map(|f| f.kind.name()).collect();
    k.sort_unstable();
    k.dedup();
    k.join(", ")
}
