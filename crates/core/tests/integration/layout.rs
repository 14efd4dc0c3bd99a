//! The layout docs/architecture.md describes, checked on the sources: no
//! module of mugai-core imports another that imports it back, formats never
//! reach up into the stages that call them, and only the dispatchers (and
//! the engine, which carries a document from one to the other) reach
//! into formats.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `formats/ole/vba.rs` → `formats/ole/vba`; `engine/mod.rs` → `engine`.
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file
        .strip_prefix(src)
        .expect("under src")
        .with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    if parts.is_empty() {
        "lib".into()
    } else {
        parts.join("/")
    }
}

/// The code of a file without its tests and comments.
fn code(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The crate paths a file names, `depth` segments deep: with depth 1,
/// `crate::formats::pdf::inspect` and `use crate::{formats, names}` name
/// `formats` and `names`.
fn imports(code: &str, depth: usize) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item.trim().chars().take_while(|&c| is_ident(c)).collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
            continue;
        }
        let mut segments = Vec::new();
        let mut rest = rest;
        while segments.len() < depth {
            let name: String = rest.chars().take_while(|&c| is_ident(c)).collect();
            if name.is_empty() || name.starts_with(|c: char| c.is_ascii_uppercase()) {
                break;
            }
            rest = &rest[name.len()..];
            segments.push(name);
            match rest.strip_prefix("::") {
                Some(r) => rest = r,
                None => break,
            }
        }
        if !segments.is_empty() {
            out.insert(segments.join("/"));
        }
    }
    out
}

/// Module → the modules it imports, both cut to their first `depth` segments.
fn graph(depth: usize) -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let cut = |m: &str| m.split('/').take(depth).collect::<Vec<_>>().join("/");
    for file in &files {
        let from = cut(&module_of(&src, file));
        let text = std::fs::read_to_string(file).expect("read");
        let deps = graph.entry(from.clone()).or_default();
        for to in imports(&code(&text), depth) {
            if to != from {
                deps.insert(to);
            }
        }
    }
    let known: BTreeSet<String> = graph.keys().cloned().collect();
    for deps in graph.values_mut() {
        deps.retain(|d| known.contains(d));
    }
    graph
}

/// A cycle through `start`, if there is one.
fn cycle_through(graph: &BTreeMap<String, BTreeSet<String>>, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![(start.to_owned(), vec![start.to_owned()])];
    let mut seen = BTreeSet::new();
    while let Some((at, path)) = stack.pop() {
        for next in graph.get(&at).into_iter().flatten() {
            if next == start {
                return Some([path.clone(), vec![start.to_owned()]].concat());
            }
            if seen.insert(next.clone()) {
                stack.push((next.clone(), [path.clone(), vec![next.clone()]].concat()));
            }
        }
    }
    None
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    for depth in [1, 2] {
        let graph = graph(depth);
        assert!(graph.len() > 20, "found {} modules", graph.len());
        for module in graph.keys() {
            if let Some(cycle) = cycle_through(&graph, module) {
                panic!("import circle: {}", cycle.join(" → "));
            }
        }
    }
}

#[test]
fn formats_sit_below_the_stages_that_call_them() {
    let graph = graph(1);
    let above = [
        "inspect", "disarm", "engine", "fuzzing", "internal", "lure", "report",
    ];
    let reached: Vec<&String> = graph["formats"]
        .iter()
        .filter(|d| above.contains(&d.as_str()))
        .collect();
    assert!(reached.is_empty(), "formats import {reached:?}");
    let callers: Vec<&String> = graph
        .iter()
        .filter(|(m, deps)| *m != "formats" && deps.contains("formats"))
        .map(|(m, _)| m)
        .collect();
    assert_eq!(callers, ["disarm", "engine", "fuzzing", "inspect"]);
}
