//! `mugai scan`: many files, a progress bar, a summary table or JSON.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use mugai_core::{Direction, Engine, Envelope, Verdict};
use serde::Serialize;

#[derive(Serialize)]
struct ItemResult {
    label: String,
    verdict: Option<Verdict>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    findings: Vec<String>,
    removed: Vec<String>,
    disarmed: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

#[derive(Serialize)]
struct Summary {
    files: usize,
    bytes: u64,
    messages: usize,
    verdicts: BTreeMap<String, usize>,
    findings: BTreeMap<String, usize>,
    errors: usize,
    seconds: f64,
}

/// Files under `paths`, sorted; golden-corpus bookkeeping files are skipped.
pub(crate) fn collect(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    fn walk(p: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
        let meta = std::fs::metadata(p).with_context(|| format!("reading {}", p.display()))?;
        if meta.is_dir() {
            let mut children: Vec<PathBuf> = std::fs::read_dir(p)
                .with_context(|| format!("listing {}", p.display()))?
                .map(|e| e.map(|e| e.path()))
                .collect::<Result<_, _>>()?;
            children.sort();
            for c in children {
                let name = c.file_name().and_then(|n| n.to_str()).unwrap_or("");
                if name.starts_with('.')
                    || name.ends_with(".expected.json")
                    || name.ends_with(".failed")
                {
                    continue;
                }
                walk(&c, out)?;
            }
        } else {
            out.push(p.to_owned());
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        walk(p, &mut out)?;
    }
    Ok(out)
}

fn scan_file(engine: &Engine, direction: Direction, path: &Path) -> (u64, Vec<ItemResult>) {
    let label = path.display().to_string();
    let failed = |error: String| ItemResult {
        label: label.clone(),
        verdict: None,
        error: Some(error),
        findings: vec![],
        removed: vec![],
        disarmed: vec![],
        reason: None,
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return (0, vec![failed(e.to_string())]),
    };
    let items = match mugai_core::input::items(&label, &bytes, "\r\n") {
        Ok(items) => items,
        Err(e) => return (bytes.len() as u64, vec![failed(e.to_string())]),
    };
    let envelope = Envelope {
        direction,
        ..Envelope::default()
    };
    let results = items
        .into_iter()
        .map(|item| {
            let outcome = engine.process(&item.message, &envelope);
            let r = outcome.report;
            let mut findings: Vec<String> = r
                .parts
                .iter()
                .flat_map(|p| p.findings.iter().map(|f| f.kind.name().to_owned()))
                .collect();
            findings.sort();
            findings.dedup();
            ItemResult {
                label: item.label,
                verdict: Some(outcome.verdict),
                error: None,
                findings,
                removed: r
                    .removed()
                    .map(|p| p.declared_name.clone().unwrap_or_else(|| p.path.clone()))
                    .collect(),
                disarmed: r
                    .disarmed()
                    .map(|p| p.declared_name.clone().unwrap_or_else(|| p.path.clone()))
                    .collect(),
                reason: r.reason,
            }
        })
        .collect();
    (bytes.len() as u64, results)
}

pub(crate) fn run(
    engine: &Engine,
    direction: Direction,
    paths: &[PathBuf],
    json: bool,
    jobs: Option<usize>,
) -> Result<u8> {
    let started = Instant::now();
    let files = collect(paths)?;
    let bar = if json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(files.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {elapsed} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let jobs = jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, u64, Vec<ItemResult>)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(i) else { break };
                    let (size, items) = scan_file(engine, direction, path);
                    bar.set_message(path.display().to_string());
                    bar.inc(1);
                    results
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push((i, size, items));
                }
            });
        }
    });
    bar.finish_and_clear();
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    results.sort_by_key(|(i, _, _)| *i);

    let mut summary = Summary {
        files: files.len(),
        bytes: results.iter().map(|(_, n, _)| n).sum(),
        messages: 0,
        verdicts: BTreeMap::new(),
        findings: BTreeMap::new(),
        errors: 0,
        seconds: started.elapsed().as_secs_f64(),
    };
    let items: Vec<ItemResult> = results
        .into_iter()
        .flat_map(|(_, _, items)| items)
        .collect();
    let mut worst = 0u8;
    for item in &items {
        match item.verdict {
            Some(v) => {
                summary.messages += 1;
                let name = serde_json::to_value(v)?.as_str().unwrap_or("?").to_owned();
                *summary.verdicts.entry(name).or_default() += 1;
                let code = match v {
                    Verdict::Tempfail => 2,
                    Verdict::Deliver if item.findings.is_empty() => 0,
                    _ => 1,
                };
                worst = worst.max(code);
            }
            None => {
                summary.errors += 1;
                worst = 2;
            }
        }
        for f in &item.findings {
            *summary.findings.entry(f.clone()).or_default() += 1;
        }
    }

    if json {
        let doc = serde_json::json!({ "items": items, "summary": summary });
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print_table(&items, &summary);
    }
    Ok(worst)
}

fn print_table(items: &[ItemResult], s: &Summary) {
    for item in items
        .iter()
        .filter(|i| i.verdict != Some(Verdict::Deliver) || !i.findings.is_empty())
    {
        let verdict = match (&item.verdict, &item.error) {
            (Some(v), _) => serde_json::to_value(v)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            (None, _) => "error".into(),
        };
        let what = item
            .error
            .clone()
            .or_else(|| item.reason.clone())
            .unwrap_or_else(|| item.findings.join(","));
        println!("{verdict:<10} {:<60} {what}", item.label);
    }
    println!();
    println!("{:<24} {:>8}", "verdict", "messages");
    for (v, n) in &s.verdicts {
        println!("{v:<24} {n:>8}");
    }
    if s.errors > 0 {
        println!("{:<24} {:>8}", "error", s.errors);
    }
    println!();
    println!("{:<24} {:>8}", "finding", "messages");
    for (f, n) in &s.findings {
        println!("{f:<24} {n:>8}");
    }
    println!();
    let rate = s.files as f64 / s.seconds.max(1e-9);
    let mbps = s.bytes as f64 / 1e6 / s.seconds.max(1e-9);
    println!(
        "{} files, {} messages, {:.1} MB in {:.2} s: {rate:.1} files/s, {mbps:.1} MB/s",
        s.files,
        s.messages,
        s.bytes as f64 / 1e6,
        s.seconds
    );
}
