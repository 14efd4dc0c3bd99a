//! `mugai eval`: lure scoring over labelled mail, as a catch rate, a
//! false-positive rate, a confusion table per threshold and the symbols
//! ranked by precision.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use mugai_core::{Direction, Engine, Envelope, LurePolicy};
use serde::Serialize;

#[derive(Serialize)]
struct Scored {
    label: String,
    phish: bool,
    score: f64,
    symbols: Vec<Fired>,
}

#[derive(Serialize)]
struct Fired {
    name: String,
    weight: f64,
}

#[derive(Serialize)]
struct Row {
    threshold: f64,
    /// Which configured threshold this is, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'static str>,
    true_positives: usize,
    false_negatives: usize,
    false_positives: usize,
    true_negatives: usize,
    catch_rate: f64,
    false_positive_rate: f64,
}

#[derive(Serialize)]
struct SymbolStat {
    name: String,
    weight: f64,
    phish: usize,
    ham: usize,
    precision: f64,
}

#[derive(Serialize)]
struct Evaluation {
    phish: usize,
    ham: usize,
    thresholds: Vec<Row>,
    symbols: Vec<SymbolStat>,
    /// Lures below the quarantine threshold, and legitimate mail at or
    /// above it: what to look at first.
    misses: Vec<Scored>,
}

fn score_dir(engine: &Engine, dir: &Path, phish: bool, out: &mut Vec<Scored>) -> Result<()> {
    let envelope = Envelope {
        direction: Direction::Inbound,
        ..Envelope::default()
    };
    for path in crate::scan::collect(&[dir.to_owned()])? {
        let label = path.display().to_string();
        let bytes = std::fs::read(&path).with_context(|| format!("reading {label}"))?;
        for item in mugai_core::input::items(&label, &bytes, "\r\n")? {
            let outcome = engine.process(&item.message, &envelope);
            let lure = outcome.report.lure.with_context(|| {
                format!(
                    "{}: not scored ({})",
                    item.label,
                    outcome.report.reason.unwrap_or_default()
                )
            })?;
            out.push(Scored {
                label: item.label,
                phish,
                score: lure.score,
                symbols: lure
                    .symbols
                    .iter()
                    .map(|s| Fired {
                        name: s.name.clone(),
                        weight: s.weight,
                    })
                    .collect(),
            });
        }
    }
    Ok(())
}

fn evaluate(scored: Vec<Scored>, lure: &LurePolicy) -> Evaluation {
    let phish = scored.iter().filter(|s| s.phish).count();
    let ham = scored.len() - phish;
    let named = [
        (lure.tag, "tag"),
        (lure.quarantine, "quarantine"),
        (lure.reject, "reject"),
    ];
    let mut points: Vec<f64> = (1..=10).map(|i| f64::from(i) * 2.0).collect();
    points.extend(named.iter().filter_map(|(t, _)| *t));
    points.sort_by(f64::total_cmp);
    points.dedup();
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let thresholds = points
        .into_iter()
        .map(|t| {
            let tp = scored.iter().filter(|s| s.phish && s.score >= t).count();
            let fp = scored.iter().filter(|s| !s.phish && s.score >= t).count();
            Row {
                threshold: t,
                name: named.iter().find(|(n, _)| *n == Some(t)).map(|(_, n)| *n),
                true_positives: tp,
                false_negatives: phish - tp,
                false_positives: fp,
                true_negatives: ham - fp,
                catch_rate: ratio(tp, phish),
                false_positive_rate: ratio(fp, ham),
            }
        })
        .collect();
    let mut stats: BTreeMap<String, (f64, usize, usize)> = BTreeMap::new();
    for s in &scored {
        for sym in &s.symbols {
            let e = stats.entry(sym.name.clone()).or_insert((sym.weight, 0, 0));
            if s.phish {
                e.1 += 1;
            } else {
                e.2 += 1;
            }
        }
    }
    let mut symbols: Vec<SymbolStat> = stats
        .into_iter()
        .map(|(name, (weight, p, h))| SymbolStat {
            name,
            weight,
            phish: p,
            ham: h,
            precision: ratio(p, p + h),
        })
        .collect();
    symbols.sort_by(|a, b| {
        b.precision
            .total_cmp(&a.precision)
            .then((b.phish + b.ham).cmp(&(a.phish + a.ham)))
    });
    let bar = lure.quarantine.unwrap_or(f64::INFINITY);
    let misses = scored
        .into_iter()
        .filter(|s| (s.phish && s.score < bar) || (!s.phish && s.score >= bar))
        .collect();
    Evaluation {
        phish,
        ham,
        thresholds,
        symbols,
        misses,
    }
}

pub(crate) fn run(engine: &Engine, phish: &Path, ham: &Path, json: bool) -> Result<u8> {
    let mut scored = Vec::new();
    score_dir(engine, phish, true, &mut scored)?;
    score_dir(engine, ham, false, &mut scored)?;
    let lure = engine.policy().lure(Direction::Inbound);
    let e = evaluate(scored, &lure);
    if json {
        println!("{}", serde_json::to_string_pretty(&e)?);
        return Ok(0);
    }
    println!("{} lures, {} legitimate", e.phish, e.ham);
    println!();
    println!("threshold  |  lures caught  | legit flagged |  TP  FN  FP  TN");
    for r in &e.thresholds {
        println!(
            "{:>6.1} {:<4}| {:>6.1} %        | {:>6.1} %       | {:>3} {:>3} {:>3} {:>3}",
            r.threshold,
            r.name.map_or("", |n| &n[..1]).to_uppercase(),
            r.catch_rate * 100.0,
            r.false_positive_rate * 100.0,
            r.true_positives,
            r.false_negatives,
            r.false_positives,
            r.true_negatives
        );
    }
    println!("(T tag, Q quarantine, R reject: the thresholds of the policy)");
    println!();
    println!("symbol                              weight  lures  legit  precision");
    for s in &e.symbols {
        println!(
            "{:<36}{:>6.1}  {:>5}  {:>5}  {:>7.1} %",
            s.name,
            s.weight,
            s.phish,
            s.ham,
            s.precision * 100.0
        );
    }
    if !e.misses.is_empty() {
        println!();
        println!("misses (lures below quarantine, legitimate mail at or above it):");
        for m in &e.misses {
            let symbols: Vec<String> = m
                .symbols
                .iter()
                .map(|s| format!("{}({})", s.name, s.weight))
                .collect();
            println!(
                "  {} {:>5.1} {}  {}",
                if m.phish { "lure " } else { "legit" },
                m.score,
                m.label,
                symbols.join(" ")
            );
        }
    }
    Ok(0)
}

/// Message-IDs our side sent, one per line (`#` comments allowed).
pub(crate) fn sent_log(path: &Path) -> Result<mugai_core::MemorySentLog> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let log = mugai_core::MemorySentLog::default();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .for_each(|l| log.remember(l));
    Ok(log)
}
