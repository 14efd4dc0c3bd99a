//! Policy: what to do with each finding, per direction, loaded from TOML.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::limits::Limits;
use crate::lure::{LurePolicy, Organization};
use crate::vocab::{Direction, FindingKind, MessageAction, PartAction};

/// The policy of one direction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectionPolicy {
    /// Action for a message that exceeds a message-level limit (size, parts, depth, time).
    #[serde(default = "default_on_limit")]
    pub on_limit: MessageAction,
    /// Action for a message that cannot be parsed at all.
    #[serde(default = "default_on_malformed")]
    pub on_malformed: MessageAction,
    /// Action per finding kind; kinds not listed take the built-in default.
    #[serde(default)]
    pub actions: BTreeMap<FindingKind, PartAction>,
    /// Lure score thresholds; absent, the direction's built-in ones apply
    /// (inbound: tag at 4, quarantine at 8; outbound: none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lure: Option<LurePolicy>,
    /// Which kinds of content are rebuilt even when nothing was found in
    /// them; absent, the direction's built-in choice applies (inbound:
    /// everything rebuilt; outbound: nothing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<ContentPolicy>,
}

/// Rebuild a kind of content every time, or only when a finding asks for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rebuild {
    /// Rebuild every part of this kind: what survives is only what mugai
    /// wrote (content disarm and reconstruction).
    Always,
    /// Deliver the part as received unless a finding's action is `disarm`.
    OnFinding,
}

/// What becomes of HTML, in a body or attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HtmlMode {
    /// Rewrite to safe HTML: no script, event handlers, forms, frames,
    /// objects, meta refresh, remote images or style fetches.
    Sanitize,
    /// Convert to plain text; link targets stay visible as text.
    Text,
    /// Deliver as received (smuggling is still a finding).
    Keep,
}

/// What becomes of links in HTML, text and PDF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkMode {
    /// Links stay as they are (`javascript:` and `data:` ones are always
    /// taken out of HTML).
    Keep,
    /// Every HTML link shows where it really goes, with a warning when that
    /// differs from the domain its text shows or is a lookalike.
    Show,
    /// Links stop being links: targets are written out defanged
    /// (`hxxps://example[.]jp/`), in text parts too, and PDF URI actions are
    /// removed.
    Defang,
}

/// Content rebuilt whatever the findings say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContentPolicy {
    /// PDF: rebuilt from its objects, without active content, older
    /// revisions or encryption.
    pub pdf: Rebuild,
    /// PNG, JPEG, GIF, BMP, TIFF, WebP: decoded and encoded again, without
    /// metadata or anything appended.
    pub images: Rebuild,
    /// SVG: without script, event handlers, foreignObject or external references.
    pub svg: Rebuild,
    /// HTML bodies and attachments.
    pub html: HtmlMode,
    /// Links in HTML, text parts and PDF.
    pub links: LinkMode,
}

impl ContentPolicy {
    /// Inbound: everything rebuilt, HTML sanitized, link targets shown.
    pub fn inbound() -> Self {
        Self {
            pdf: Rebuild::Always,
            images: Rebuild::Always,
            svg: Rebuild::Always,
            html: HtmlMode::Sanitize,
            links: LinkMode::Show,
        }
    }

    /// Outbound: delivered as written unless a finding asks otherwise.
    pub fn outbound() -> Self {
        Self {
            pdf: Rebuild::OnFinding,
            images: Rebuild::OnFinding,
            svg: Rebuild::OnFinding,
            html: HtmlMode::Keep,
            links: LinkMode::Keep,
        }
    }
}

fn default_on_limit() -> MessageAction {
    MessageAction::Quarantine
}

fn default_on_malformed() -> MessageAction {
    MessageAction::Quarantine
}

impl Default for DirectionPolicy {
    fn default() -> Self {
        Self {
            on_limit: default_on_limit(),
            on_malformed: default_on_malformed(),
            actions: BTreeMap::new(),
            lure: None,
            content: None,
        }
    }
}

impl DirectionPolicy {
    /// The action for a finding kind in this direction.
    pub fn action(&self, kind: FindingKind) -> PartAction {
        self.actions
            .get(&kind)
            .copied()
            .unwrap_or_else(|| default_action(kind))
    }

    /// The action for one finding: its kind's, or what its YARA rule asks
    /// for when that is stricter.
    pub fn finding_action(&self, finding: &crate::finding::Finding) -> PartAction {
        let by_kind = self.action(finding.kind);
        match finding.rule.as_ref().and_then(|r| r.action) {
            Some(by_rule) => by_rule.max(by_kind),
            None => by_kind,
        }
    }
}

/// The built-in action for a kind: active content in a document is disarmed
/// (and an archive behind other data written anew without it);
/// everything else that can run, hide content or could not be inspected is
/// removed; a type mismatch is just reported, and a YARA match does what its
/// rule's metadata says.
pub fn default_action(kind: FindingKind) -> PartAction {
    match kind {
        FindingKind::TypeMismatch | FindingKind::YaraMatch => PartAction::Keep,
        FindingKind::Macro
        | FindingKind::PdfActiveContent
        | FindingKind::Dde
        | FindingKind::ExternalReference
        | FindingKind::EmbeddedObject
        | FindingKind::PrependedData
        | FindingKind::AppendedData => PartAction::Disarm,
        _ => PartAction::Remove,
    }
}

/// Text of the notice that replaces removed parts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NoticeConfig {
    /// Whom to ask for the original, in Japanese.
    pub contact_ja: String,
    /// Whom to ask for the original, in English.
    pub contact_en: String,
}

impl Default for NoticeConfig {
    fn default() -> Self {
        Self {
            contact_ja: "システム管理者".into(),
            contact_en: "your mail administrator".into(),
        }
    }
}

/// The whole policy: limits, notice text, who we are, and one policy per
/// direction.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Hard caps on the work done for one message.
    #[serde(default)]
    pub limits: Limits,
    /// Text of the notice that replaces removed parts.
    #[serde(default)]
    pub notice: NoticeConfig,
    /// Our domains, partners and people, for lure scoring.
    #[serde(default)]
    pub organization: Organization,
    /// Internet → closed segment.
    #[serde(default)]
    pub inbound: DirectionPolicy,
    /// Closed segment → Internet.
    #[serde(default)]
    pub outbound: DirectionPolicy,
}

/// A policy file that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("invalid policy: {0}")]
pub struct PolicyError(#[from] toml::de::Error);

impl Policy {
    /// Parses a policy from TOML. Unknown keys are an error, so a typo never
    /// silently weakens the policy.
    pub fn from_toml(text: &str) -> Result<Self, PolicyError> {
        Ok(toml::from_str(text)?)
    }

    /// The policy of one direction.
    pub fn direction(&self, direction: Direction) -> &DirectionPolicy {
        match direction {
            Direction::Inbound => &self.inbound,
            Direction::Outbound => &self.outbound,
        }
    }

    /// The lure thresholds of one direction, built-in ones included.
    pub fn lure(&self, direction: Direction) -> LurePolicy {
        match (&self.direction(direction).lure, direction) {
            (Some(l), _) => l.clone(),
            (None, Direction::Inbound) => LurePolicy::inbound(),
            (None, Direction::Outbound) => LurePolicy::default(),
        }
    }

    /// What is rebuilt in one direction, built-in choice included.
    pub fn content(&self, direction: Direction) -> ContentPolicy {
        match (&self.direction(direction).content, direction) {
            (Some(c), _) => c.clone(),
            (None, Direction::Inbound) => ContentPolicy::inbound(),
            (None, Direction::Outbound) => ContentPolicy::outbound(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_refused() {
        assert!(Policy::from_toml("[inbound]\nonlimit = \"reject\"\n").is_err());
        assert!(Policy::from_toml("[inbound.actions]\nexecutabel = \"keep\"\n").is_err());
        assert!(Policy::from_toml("[inbound.actions]\nexecutable = \"allow\"\n").is_err());
    }

    #[test]
    fn listed_actions_override_defaults() {
        let p = Policy::from_toml("[inbound.actions]\nexecutable = \"reject\"\n").unwrap();
        assert_eq!(
            p.inbound.action(FindingKind::Executable),
            PartAction::Reject
        );
        assert_eq!(p.inbound.action(FindingKind::Script), PartAction::Remove);
        assert_eq!(
            p.outbound.action(FindingKind::Executable),
            PartAction::Remove
        );
    }

    #[test]
    fn shipped_policy_parses_and_spells_out_the_defaults() {
        let text = include_str!("../../../rules/policy.toml");
        let p = Policy::from_toml(text).expect("rules/policy.toml parses");
        for dir in [&p.inbound, &p.outbound] {
            for kind in FindingKind::ALL {
                assert!(dir.actions.contains_key(&kind), "{kind} missing");
                assert_eq!(dir.action(kind), default_action(kind), "{kind}");
            }
        }
        assert_eq!(p.limits, Limits::default());
        assert_eq!(p.lure(Direction::Inbound), LurePolicy::inbound());
        assert_eq!(p.lure(Direction::Outbound), LurePolicy::default());
        assert_eq!(
            p.lure(Direction::Inbound),
            Policy::default().lure(Direction::Inbound)
        );
        assert_eq!(p.content(Direction::Inbound), ContentPolicy::inbound());
        assert_eq!(p.content(Direction::Outbound), ContentPolicy::outbound());
    }
}
