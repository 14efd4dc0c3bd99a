//! What inspection can find. A finding is data, not an error.

use serde::{Deserialize, Serialize};

use crate::vocab::{FindingKind, PartAction, Severity};

/// One thing inspection found, with where and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// What was found.
    pub kind: FindingKind,
    /// Where inside the part: the part's name, then `!` for each archive descended
    /// into (`outer.zip!docs/inner.zip!setup.exe`).
    pub location: String,
    /// Evidence a person can act on.
    pub detail: String,
    /// The rule behind a `yara_match`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleHit>,
}

/// A YARA rule that matched, with what its metadata asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleHit {
    /// The rules file it came from (its stem).
    pub namespace: String,
    /// The rule's identifier.
    pub name: String,
    /// What the rule looks for, from its metadata.
    pub description: String,
    /// From the rule's metadata.
    pub severity: Severity,
    /// The part action the rule asks for (`remove`, `quarantine`, ...);
    /// `None` for a rule that only adds to the lure score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<PartAction>,
    /// Weight added to the lure score.
    pub weight: f64,
    /// The first matches: pattern identifier and offset in the scanned data.
    pub strings: Vec<(String, u64)>,
}
