//! The lure rules file: symbols with weights and descriptions, phrase
//! lists, freemail domains (`rules/lure.toml`).

use std::collections::BTreeMap;

use aho_corasick::AhoCorasick;
use serde::Deserialize;

use super::text::fold;

/// Symbols whose logic is in the code; the rules file must give each a
/// weight and a description, and may give a weight of 0 to turn one off.
pub(crate) const BUILT_IN: &[&str] = &[
    "FROM_NAME_INTERNAL_PERSON",
    "FROM_NAME_OUR_ORGANIZATION",
    "FROM_NAME_HAS_OTHER_ADDRESS",
    "FROM_OWN_DOMAIN_UNAUTHENTICATED",
    "FROM_LOOKALIKE_OUR_DOMAIN",
    "FROM_LOOKALIKE_PARTNER_DOMAIN",
    "FROM_IDN",
    "REPLYTO_FREEMAIL",
    "REPLYTO_OTHER_DOMAIN",
    "ENVFROM_OTHER_DOMAIN",
    "AUTH_DMARC_FAIL",
    "AUTH_DMARC_FAIL_POLICY_REJECT",
    "AUTH_SPF_FAIL",
    "AUTH_DKIM_FAIL",
    "AUTH_KNOWN_DOMAIN_PASS",
    "REPLY_WITHOUT_THREAD",
    "FORWARD_WITHOUT_THREAD",
    "THREAD_FORGED_OURS",
    "THREAD_UNKNOWN",
    "THREAD_KNOWN",
    "LINK_TEXT_MISMATCH",
    "LINK_LOOKALIKE",
    "LINK_SCRIPT_URL",
    "LINK_IP_HOST",
    "LINK_USERINFO",
    "LINK_IDN",
    "ATTACH_EXECUTABLE",
    "ATTACH_ACTIVE_DOCUMENT",
    "ATTACH_ENCRYPTED",
    "LURE_WITH_ACTIVE_DOCUMENT",
    "LURE_WITH_ENCRYPTED",
    "LURE_WITH_LINK_TRICK",
    "PASSWORD_IN_SAME_MAIL",
    "IMPERSONATION_WITH_ATTACHMENT",
];

/// The symbol the combination `PASSWORD_IN_SAME_MAIL` builds on.
pub(crate) const PASSWORD_GIVEN: &str = "LURE_PASSWORD_GIVEN";

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    freemail: Vec<String>,
    symbols: BTreeMap<String, SymbolFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SymbolFile {
    weight: f64,
    description: String,
    #[serde(default)]
    phrases: Vec<String>,
    /// Whether the phrase symbol counts as a lure theme in combinations.
    #[serde(default = "yes")]
    theme: bool,
}

fn yes() -> bool {
    true
}

/// A symbol as scoring uses it.
#[derive(Debug, Clone)]
pub(crate) struct Symbol {
    pub(crate) weight: f64,
    pub(crate) description: String,
}

/// A phrase symbol.
#[derive(Debug, Clone)]
pub(crate) struct PhraseSymbol {
    pub(crate) name: String,
    pub(crate) theme: bool,
}

/// One phrase of the automaton: its symbol (index into `phrases`) and the
/// phrase as written in the rules.
#[derive(Debug, Clone)]
pub(crate) struct Phrase {
    pub(crate) symbol: usize,
    pub(crate) text: String,
}

/// Compiled lure rules: immutable, shared by every message.
#[derive(Debug, Clone)]
pub struct LureRules {
    pub(crate) symbols: BTreeMap<String, Symbol>,
    pub(crate) phrases: Vec<PhraseSymbol>,
    /// Every folded phrase of every phrase symbol, searched in one pass.
    pub(crate) automaton: AhoCorasick,
    /// What each pattern of the automaton is.
    pub(crate) patterns: Vec<Phrase>,
    pub(crate) freemail: Vec<String>,
}

/// A rules file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RulesError {
    /// Not TOML, or keys that do not belong.
    #[error("invalid lure rules: {0}")]
    Syntax(#[from] toml::de::Error),
    /// TOML that says something impossible.
    #[error("invalid lure rules: {0}")]
    Invalid(String),
}

/// The rules shipped in `rules/lure.toml`.
const BUILT_IN_RULES: &str = include_str!("../../../../rules/lure.toml");

impl Default for LureRules {
    fn default() -> Self {
        // Checked by a test; a broken file cannot be built into a release.
        Self::from_toml(BUILT_IN_RULES).expect("rules/lure.toml is valid")
    }
}

impl LureRules {
    /// Parses and compiles a rules file. Every built-in symbol must be
    /// listed; any other symbol must have phrases (that is what makes it
    /// fire); weights must be finite.
    pub fn from_toml(text: &str) -> Result<Self, RulesError> {
        let file: File = toml::from_str(text)?;
        let mut symbols = BTreeMap::new();
        let mut phrases = Vec::new();
        let mut folded_patterns = Vec::new();
        let mut patterns = Vec::new();
        for name in BUILT_IN {
            if !file.symbols.contains_key(*name) {
                return Err(RulesError::Invalid(format!(
                    "symbol {name} is missing (give it weight = 0 to turn it off)"
                )));
            }
        }
        for (name, s) in file.symbols {
            if !s.weight.is_finite() {
                return Err(RulesError::Invalid(format!(
                    "{name}: weight is not a number"
                )));
            }
            let built_in = BUILT_IN.contains(&name.as_str());
            if built_in && !s.phrases.is_empty() {
                return Err(RulesError::Invalid(format!(
                    "{name} is built in and takes no phrases"
                )));
            }
            if !built_in {
                if s.phrases.is_empty() {
                    return Err(RulesError::Invalid(format!(
                        "{name} is not a built-in symbol and has no phrases"
                    )));
                }
                for p in &s.phrases {
                    let folded = fold(p);
                    if folded.is_empty() {
                        return Err(RulesError::Invalid(format!("{name}: empty phrase {p:?}")));
                    }
                    folded_patterns.push(folded);
                    patterns.push(Phrase {
                        symbol: phrases.len(),
                        text: p.clone(),
                    });
                }
                phrases.push(PhraseSymbol {
                    name: name.clone(),
                    theme: s.theme,
                });
            }
            symbols.insert(
                name,
                Symbol {
                    weight: s.weight,
                    description: s.description,
                },
            );
        }
        // A DFA: a few hundred phrases make a small one, and it is the
        // fastest to run over every body.
        let automaton = AhoCorasick::builder()
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(&folded_patterns)
            .map_err(|e| RulesError::Invalid(format!("phrases: {e}")))?;
        Ok(Self {
            symbols,
            phrases,
            automaton,
            patterns,
            freemail: file
                .freemail
                .iter()
                .map(|d| d.trim().to_ascii_lowercase())
                .collect(),
        })
    }

    /// Whether `domain` is a free mail provider's.
    pub(crate) fn is_freemail(&self, domain: &str) -> bool {
        self.freemail
            .iter()
            .any(|f| crate::web::domain::within(domain, f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_rules_compile() {
        let r = LureRules::default();
        assert!(r.phrases.len() >= 8);
        assert!(r.phrases.iter().any(|p| p.name == PASSWORD_GIVEN));
        assert!(r.is_freemail("gmail.com"));
    }

    #[test]
    fn mistakes_are_refused() {
        let base = BUILT_IN_RULES;
        assert!(
            LureRules::from_toml(
                &base.replace("[symbols.THREAD_KNOWN]", "[symbols.THREAD_KNOWNN]")
            )
            .is_err()
        );
        let extra = format!("{base}\n[symbols.MY_SYMBOL]\nweight = 1.0\ndescription = \"x\"\n");
        assert!(LureRules::from_toml(&extra).is_err());
        let extra = format!(
            "{base}\n[symbols.MY_SYMBOL]\nweight = 1.0\ndescription = \"x\"\nphrases = [\"　\"]\n"
        );
        assert!(LureRules::from_toml(&extra).is_err());
        let extra = format!(
            "{base}\n[symbols.MY_SYMBOL]\nweight = 1.0\ndescription = \"x\"\nphrases = [\"入札\"]\n"
        );
        assert!(LureRules::from_toml(&extra).is_ok());
    }
}
