//! YARA rules over every part (yara-x): compiled once into an immutable,
//! shared object; one scanner per message, with a timeout and a size cap.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::Duration;

use crate::finding::{Finding, RuleHit};
use crate::vocab::{FindingKind, PartAction, Severity};

/// What a rule's metadata asks for.
#[derive(Debug, Clone)]
struct RuleMeta {
    description: String,
    severity: Severity,
    action: Option<PartAction>,
    weight: f64,
}

/// Compiled YARA rules with their metadata. Build once (at start), share
/// behind an `Arc`.
pub struct YaraRules {
    /// Leaked on purpose: scanners borrow the rules, and keeping scanners
    /// between messages needs them to live as long as the process. Rules
    /// are compiled once at start, so this is one allocation, not a leak
    /// that grows.
    rules: &'static yara_x::Rules,
    meta: HashMap<(String, String), RuleMeta>,
}

thread_local! {
    /// Scanners kept between messages on this thread, with the address of
    /// the rules they scan with: making one costs about 100 µs, more than
    /// scanning a 10 KB message takes, and a yara-x scanner cannot move to
    /// another thread, so each worker keeps its own.
    static IDLE: RefCell<Vec<(usize, yara_x::Scanner<'static>)>> = const { RefCell::new(Vec::new()) };
}

/// Idle scanners kept per thread, at most (one per set of rules in use).
const MAX_IDLE: usize = 4;

impl std::fmt::Debug for YaraRules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("YaraRules")
            .field("rules", &self.meta.len())
            .finish()
    }
}

/// Rules that do not compile, or whose metadata is unusable; the message
/// names the file and line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct YaraError(String);

/// The metadata every rule must carry.
const REQUIRED: [&str; 3] = ["description", "severity", "action"];

impl YaraRules {
    /// Compiles rule files given as (origin, text); each file is its own
    /// namespace, named after the origin's stem. Every rule needs
    /// `description`, `severity` (low, medium, high, critical) and `action`
    /// (`score`, `remove`, `quarantine` or `reject`) metadata, and may give a
    /// `weight` for the lure score (default by severity: 1, 2, 4, 6).
    pub fn compile(files: &[(String, String)]) -> Result<Self, YaraError> {
        let mut compiler = yara_x::Compiler::new();
        for (origin, text) in files {
            let stem = std::path::Path::new(origin)
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or("default");
            compiler.new_namespace(stem);
            compiler
                .add_source(yara_x::SourceCode::from(text.as_str()).with_origin(origin.as_str()))
                .map_err(|e| YaraError(e.to_string()))?;
        }
        let rules: &'static yara_x::Rules = Box::leak(Box::new(compiler.build()));
        let mut meta = HashMap::new();
        for rule in rules.iter() {
            let id = format!("{}.{}", rule.namespace(), rule.identifier());
            let mut m: HashMap<&str, yara_x::MetaValue<'_>> = rule.metadata().collect();
            for key in REQUIRED {
                if !m.contains_key(key) {
                    return Err(YaraError(format!("rule {id}: metadata `{key}` is missing")));
                }
            }
            let text = |v: Option<yara_x::MetaValue<'_>>| match v {
                Some(yara_x::MetaValue::String(s)) => Some(s.to_owned()),
                _ => None,
            };
            let named = text(m.remove("severity")).unwrap_or_default();
            let Some(severity) = Severity::parse(&named) else {
                return Err(YaraError(format!(
                    "rule {id}: severity {named:?} is not low, medium, high or critical"
                )));
            };
            let action = match text(m.remove("action")).as_deref() {
                Some("score") => None,
                Some("remove") => Some(PartAction::Remove),
                Some("quarantine") => Some(PartAction::Quarantine),
                Some("reject") => Some(PartAction::Reject),
                other => {
                    return Err(YaraError(format!(
                        "rule {id}: action {other:?} is not score, remove, quarantine or reject"
                    )));
                }
            };
            let weight = match m.remove("weight") {
                None => severity.default_weight(),
                Some(yara_x::MetaValue::Integer(i)) => i as f64,
                Some(yara_x::MetaValue::Float(f)) if f.is_finite() => f,
                Some(_) => return Err(YaraError(format!("rule {id}: weight is not a number"))),
            };
            meta.insert(
                (rule.namespace().to_owned(), rule.identifier().to_owned()),
                RuleMeta {
                    description: text(m.remove("description")).unwrap_or_default(),
                    severity,
                    action,
                    weight,
                },
            );
        }
        Ok(Self { rules, meta })
    }

    /// The starter set shipped in `rules/yara/`.
    pub fn built_in() -> Self {
        const FILES: [(&str, &str); 8] = [
            ("eicar.yar", include_str!("../../../rules/yara/eicar.yar")),
            ("html.yar", include_str!("../../../rules/yara/html.yar")),
            ("iso.yar", include_str!("../../../rules/yara/iso.yar")),
            ("lnk.yar", include_str!("../../../rules/yara/lnk.yar")),
            (
                "onenote.yar",
                include_str!("../../../rules/yara/onenote.yar"),
            ),
            (
                "powershell.yar",
                include_str!("../../../rules/yara/powershell.yar"),
            ),
            ("vba.yar", include_str!("../../../rules/yara/vba.yar")),
            ("xlm.yar", include_str!("../../../rules/yara/xlm.yar")),
        ];
        let files: Vec<(String, String)> = FILES
            .iter()
            .map(|(n, t)| (format!("rules/yara/{n}"), (*t).to_owned()))
            .collect();
        // Checked by a test; a broken starter set cannot be built into a release.
        Self::compile(&files).expect("rules/yara compiles")
    }

    /// Compiles every `.yar` and `.yara` file in `dir`, in name order.
    pub fn from_dir(dir: &std::path::Path) -> Result<Self, YaraError> {
        let err = |e: std::io::Error| YaraError(format!("{}: {e}", dir.display()));
        let mut paths: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
            .map_err(err)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(err)?;
        paths.retain(|p| {
            p.extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("yar") || x.eq_ignore_ascii_case("yara"))
        });
        paths.sort();
        if paths.is_empty() {
            return Err(YaraError(format!(
                "{}: no .yar or .yara files",
                dir.display()
            )));
        }
        let mut files = Vec::new();
        for p in paths {
            let text = std::fs::read_to_string(&p)
                .map_err(|e| YaraError(format!("{}: {e}", p.display())))?;
            files.push((p.display().to_string(), text));
        }
        Self::compile(&files)
    }

    /// Every rule, as `namespace.rule`.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.meta.keys().map(|(n, r)| format!("{n}.{r}")).collect();
        names.sort();
        names
    }

    /// Scans one blob with a scanner of its own (the engine keeps one per
    /// message instead), within `limits`.
    pub fn scan(&self, bytes: &[u8], location: &str, limits: &crate::Limits) -> Vec<Finding> {
        use crate::inspect::PartScan;
        let mut out = Vec::new();
        self.scanner(
            Duration::from_millis(limits.yara_timeout_ms),
            limits.yara_max_scan_bytes,
        )
        .scan(bytes, location, &mut out);
        out
    }

    /// Which rules a kept scanner belongs to: their address, which stays
    /// theirs since they are never freed.
    fn key(&self) -> usize {
        std::ptr::from_ref(self.rules) as usize
    }

    /// How many rules there are.
    pub fn len(&self) -> usize {
        self.meta.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.meta.is_empty()
    }

    /// A scanner for one message, with the per-scan timeout and size cap;
    /// it goes back to the idle ones when dropped.
    pub(crate) fn scanner(&self, timeout: Duration, max_bytes: usize) -> YaraScanner<'_> {
        let key = self.key();
        let idle = IDLE
            .try_with(|idle| {
                let mut idle = idle.borrow_mut();
                let at = idle.iter().position(|(k, _)| *k == key)?;
                Some(idle.swap_remove(at).1)
            })
            .ok()
            .flatten();
        let mut scanner = idle.unwrap_or_else(|| yara_x::Scanner::new(self.rules));
        scanner.set_timeout(timeout).max_matches_per_pattern(16);
        YaraScanner {
            scanner: Some(scanner),
            rules: self,
            max_bytes,
        }
    }
}

/// A scanner over compiled rules, taken from this thread's idle ones.
pub(crate) struct YaraScanner<'r> {
    /// Always `Some` until dropped.
    scanner: Option<yara_x::Scanner<'static>>,
    rules: &'r YaraRules,
    max_bytes: usize,
}

impl Drop for YaraScanner<'_> {
    fn drop(&mut self) {
        let key = self.rules.key();
        if let Some(scanner) = self.scanner.take() {
            // A thread being torn down just drops it.
            let _ = IDLE.try_with(|idle| {
                let mut idle = idle.borrow_mut();
                if idle.len() < MAX_IDLE {
                    idle.push((key, scanner));
                }
            });
        }
    }
}

/// Matches shown per rule in a report.
const SHOWN: usize = 5;

impl crate::inspect::PartScan for YaraScanner<'_> {
    fn scan(&mut self, bytes: &[u8], location: &str, out: &mut Vec<Finding>) {
        if bytes.len() > self.max_bytes {
            out.push(Finding {
                kind: FindingKind::LimitExceeded,
                location: location.to_owned(),
                detail: format!("larger than the {} bytes YARA scans", self.max_bytes),
                rule: None,
            });
            return;
        }
        let Some(scanner) = self.scanner.as_mut() else {
            // Only after drop; never let a part pass unscanned regardless.
            out.push(Finding {
                kind: FindingKind::LimitExceeded,
                location: location.to_owned(),
                detail: "no YARA scanner".into(),
                rule: None,
            });
            return;
        };
        let results = match scanner.scan(bytes) {
            Ok(r) => r,
            Err(e) => {
                // A scan that cannot finish must not let the part pass as clean.
                out.push(Finding {
                    kind: FindingKind::LimitExceeded,
                    location: location.to_owned(),
                    detail: format!("YARA scan did not finish: {e}"),
                    rule: None,
                });
                return;
            }
        };
        for rule in results.matching_rules() {
            let key = (rule.namespace().to_owned(), rule.identifier().to_owned());
            let Some(meta) = self.rules.meta.get(&key) else {
                continue;
            };
            let strings: Vec<(String, u64)> = rule
                .patterns()
                .flat_map(|p| {
                    let id = p.identifier().to_owned();
                    p.matches()
                        .map(move |m| (id.clone(), m.range().start as u64))
                })
                .take(SHOWN)
                .collect();
            out.push(Finding {
                kind: FindingKind::YaraMatch,
                location: location.to_owned(),
                detail: format!("{}.{}: {}", key.0, key.1, meta.description),
                rule: Some(RuleHit {
                    namespace: key.0,
                    name: key.1,
                    description: meta.description.clone(),
                    severity: meta.severity,
                    action: meta.action,
                    weight: meta.weight,
                    strings,
                }),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::PartScan;

    const RULE: &str = r#"
rule eicar {
  meta:
    description = "EICAR test file"
    severity = "high"
    action = "remove"
  strings:
    $a = "EICAR-STANDARD-ANTIVIRUS-TEST-FILE"
  condition:
    $a
}"#;

    #[test]
    fn matches_become_findings_with_their_metadata() {
        let rules = YaraRules::compile(&[("rules/yara/test.yar".into(), RULE.into())]).unwrap();
        assert_eq!(rules.len(), 1);
        let mut scanner = rules.scanner(Duration::from_secs(5), 1 << 20);
        let mut out = Vec::new();
        scanner.scan(b"xx EICAR-STANDARD-ANTIVIRUS-TEST-FILE", "a.txt", &mut out);
        assert_eq!(out.len(), 1);
        let hit = out[0].rule.as_ref().unwrap();
        assert_eq!(
            (hit.namespace.as_str(), hit.name.as_str()),
            ("test", "eicar")
        );
        assert_eq!(hit.action, Some(PartAction::Remove));
        assert_eq!(hit.weight, 4.0);
        assert_eq!(hit.strings, [("$a".to_owned(), 3)]);
        out.clear();
        scanner.scan(b"nothing here", "b.txt", &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn the_starter_set_compiles() {
        assert_eq!(YaraRules::built_in().len(), 8);
    }

    #[test]
    fn errors_name_the_file_and_line_and_metadata_is_required() {
        let e = YaraRules::compile(&[("x.yar".into(), "rule a {\n condition: tru }".into())])
            .unwrap_err()
            .to_string();
        assert!(e.contains("x.yar:2"), "{e}");
        let e = YaraRules::compile(&[("x.yar".into(), "rule a { condition: true }".into())])
            .unwrap_err()
            .to_string();
        assert!(e.contains("description"), "{e}");
        let bad = RULE.replace("\"remove\"", "\"delete\"");
        assert!(YaraRules::compile(&[("x.yar".into(), bad)]).is_err());
    }
}
