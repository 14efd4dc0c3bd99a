//! `mugai rules check|test`: YARA rules compiled, and run against the
//! positive and negative examples kept for each rule.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use mugai_core::{Engine, Envelope, FindingKind, Policy, YaraRules, wrap_attachment};

/// The rules in `dir`, or the built-in starter set.
pub(crate) fn load(dir: Option<&Path>) -> Result<YaraRules> {
    match dir {
        Some(d) => Ok(YaraRules::from_dir(d)?),
        None => Ok(YaraRules::built_in()),
    }
}

pub(crate) fn check(dir: Option<&Path>) -> Result<u8> {
    let rules = load(dir)?;
    println!(
        "{} rule(s) compiled: {}",
        rules.len(),
        rules.names().join(", ")
    );
    Ok(0)
}

/// Every example under `samples/<rule>/{positive,negative}/` goes through
/// the engine as an attachment (so archives, embedded documents and VBA
/// source are scanned as in a mail); a positive must make `<rule>` match,
/// a negative must not.
pub(crate) fn test(dir: Option<&Path>, samples: &Path) -> Result<u8> {
    let rules = Arc::new(load(dir)?);
    let names = rules.names();
    let engine = Engine::new(Policy::default()).with_yara(rules.clone());
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut rule_dirs: Vec<PathBuf> = std::fs::read_dir(samples)
        .with_context(|| format!("listing {}", samples.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    rule_dirs.sort();
    for rule_dir in rule_dirs.iter().filter(|p| p.is_dir()) {
        let rule = rule_dir
            .file_name()
            .and_then(|n| n.to_str())
            .context("rule folder name is not UTF-8")?;
        if !rules
            .names()
            .iter()
            .any(|n| n.ends_with(&format!(".{rule}")))
        {
            failures.push(format!("{rule}: examples for a rule that does not exist"));
            continue;
        }
        let mut seen = (0, 0);
        for (kind, want) in [("positive", true), ("negative", false)] {
            let folder = rule_dir.join(kind);
            let Ok(entries) = std::fs::read_dir(&folder) else {
                continue;
            };
            let mut files: Vec<PathBuf> =
                entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
            files.sort();
            for f in files {
                let label = f.display().to_string();
                let bytes = std::fs::read(&f).with_context(|| format!("reading {label}"))?;
                let file_name = f.file_name().and_then(|n| n.to_str()).unwrap_or("x");
                let (name, data) = mugai_core::input::sample_file(file_name, bytes)
                    .with_context(|| format!("in {label}"))?;
                let raw = wrap_attachment(&name, &data, "\r\n");
                let report = engine.process(&raw, &Envelope::default()).report;
                let matched: Vec<String> = report
                    .parts
                    .iter()
                    .flat_map(|p| &p.findings)
                    .filter(|f| f.kind == FindingKind::YaraMatch)
                    .filter_map(|f| f.rule.as_ref().map(|r| r.name.clone()))
                    .collect();
                let hit = matched.iter().any(|m| m == rule);
                checked += 1;
                if want {
                    seen.0 += 1
                } else {
                    seen.1 += 1
                }
                let verdict = if hit == want { "ok  " } else { "FAIL" };
                println!(
                    "{verdict} {rule} {kind} {name}  (matched: {})",
                    matched.join(", ")
                );
                if hit != want {
                    failures.push(format!("{rule}: {kind} example {label}"));
                }
            }
        }
        if seen.0 == 0 || seen.1 == 0 {
            failures.push(format!(
                "{rule}: needs at least one positive and one negative example"
            ));
        }
    }
    for name in &names {
        let rule = name.rsplit('.').next().unwrap_or(name);
        if !rule_dirs
            .iter()
            .any(|d| d.file_name().is_some_and(|n| n == rule))
        {
            failures.push(format!("{name}: no examples in {}", samples.display()));
        }
    }
    println!("{checked} example(s), {} failure(s)", failures.len());
    for f in &failures {
        eprintln!("mugai: {f}");
    }
    Ok(u8::from(!failures.is_empty()))
}
