//! What lure scoring reads of a message: its headline, its bodies as
//! received and as delivered, its attachments' names and its findings.

use std::collections::BTreeMap;

use crate::lure;
use crate::mime::{Entity, Headline};
use crate::rebuild::Replacement;
use crate::report::Report;

use super::{Envelope, charset};

/// What lure scoring needs from the parsed message and the inspection.
pub(super) fn lure_facts(
    headline: &Headline,
    envelope: &Envelope,
    leaves: &[&Entity],
    report: &Report,
    replacements: &BTreeMap<String, Replacement>,
) -> lure::Facts {
    let mut bodies = Vec::new();
    let mut attachment_names = Vec::new();
    for leaf in leaves {
        if let Some(name) = &leaf.filename {
            attachment_names.push(name.clone());
            continue;
        }
        let location = format!(
            "body part {}",
            if leaf.path.is_empty() {
                "1"
            } else {
                &leaf.path
            }
        );
        // A rebuilt body is scored as well, as delivered (UTF-8, and typed
        // by its content even when its declared type was garbage): the next
        // gateway, or this one again, sees only that, and must not score
        // the message higher than this pass did.
        if let Some(Replacement::Disarmed {
            bytes,
            content_type,
            ..
        }) = replacements.get(&leaf.path)
            && content_type.starts_with("text/")
        {
            bodies.push(lure::BodyText {
                location: format!("{location} (as delivered)"),
                text: lure::decode_text(bytes, Some("utf-8")),
                html: content_type.starts_with("text/html"),
            });
        }
        let html = leaf.content_type == "text/html";
        if !(html || leaf.content_type == "text/plain") {
            continue;
        }
        // Decoded from the bytes we deliver, not from mail-parser's text:
        // on hostile input the two can differ, and the score of a message
        // must not change when it is sanitized again.
        bodies.push(lure::BodyText {
            location,
            text: lure::decode_text(leaf.decoded(), charset(leaf)),
            html,
        });
    }
    lure::Facts {
        direction: envelope.direction,
        from_name: headline.from_name.clone(),
        from_address: headline.from_address.clone(),
        reply_to: headline.reply_to.clone(),
        envelope_from: envelope
            .mail_from
            .clone()
            .or_else(|| headline.return_path.clone())
            .filter(|s| !s.trim().trim_matches(['<', '>']).is_empty()),
        subject: headline.subject.clone().unwrap_or_default(),
        in_reply_to: headline.in_reply_to.clone(),
        references: headline.references.clone(),
        authentication_results: headline.authentication_results.clone(),
        bodies,
        attachment_names,
        findings: report
            .parts
            .iter()
            .flat_map(|p| p.findings.iter().map(|f| (f.kind, f.location.clone())))
            .collect(),
        rule_hits: report
            .parts
            .iter()
            .flat_map(|p| &p.findings)
            .filter_map(|f| {
                let r = f.rule.as_ref()?;
                Some((
                    format!("{}.{}", r.namespace, r.name),
                    r.weight,
                    r.description.clone(),
                    f.location.clone(),
                ))
            })
            .collect(),
    }
}
