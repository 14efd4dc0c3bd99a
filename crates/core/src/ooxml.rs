//! Office Open XML and OpenDocument packages: active content found by part name.

use crate::finding::{Finding, FindingKind};

/// Findings from the member names of an OOXML or ODF package.
pub(crate) fn inspect_names<'a>(
    names: impl Iterator<Item = &'a str>,
    location: &str,
    out: &mut Vec<Finding>,
) {
    for name in names {
        let lower = name.to_ascii_lowercase();
        let base = lower.rsplit('/').next().unwrap_or(&lower);
        let what = if base == "vbaproject.bin" || base == "vbadata.xml" {
            "VBA project"
        } else if lower.contains("/macrosheets/") || lower.starts_with("macrosheets/") {
            "Excel 4.0 (XLM) macro sheet"
        } else if lower.starts_with("basic/") || lower.starts_with("scripts/") {
            "OpenDocument Basic or script"
        } else {
            continue;
        };
        out.push(Finding {
            kind: FindingKind::Macro,
            location: location.to_owned(),
            detail: format!("{what}: {name}"),
        });
    }
}
