//! Spreadsheets as text (CSV, SYLK): formulas that run something when the
//! file is opened in Excel. A CSV cell `=cmd|'/c calc'!A0` is a DDE call; a
//! SYLK file can carry a whole XLM macro sheet with an `Auto_Open` name.

use crate::formats::common::{Inspection, Item, is_dde_formula};
use crate::vocab::FindingKind;

/// XLM functions that run, load or write something.
const XLM_CALLS: [&str; 8] = [
    "EXEC(",
    "CALL(",
    "REGISTER(",
    "RUN(",
    "FOPEN(",
    "FWRITE(",
    "FORMULA(",
    "SET.NAME(",
];
/// Findings of one file, at most this many.
const MAX_FINDINGS: usize = 20;

/// Findings from a text file that Excel would open as a sheet: by name
/// (`.csv`, `.slk`, ...) or by SYLK's `ID;` first record.
pub(crate) fn inspect(bytes: &[u8], name: Option<&str>) -> Inspection {
    let mut found = Inspection::default();
    // As Windows reads it: `report.CSV. ` opens in Excel too.
    let ext = name.and_then(crate::names::extension).unwrap_or_default();
    let sylk = bytes.starts_with(b"ID;") || ext == "slk";
    if !sylk && !matches!(ext.as_str(), "csv" | "tsv" | "prn") {
        return found;
    }
    let text = String::from_utf8_lossy(bytes);
    let mut push = |kind, detail: String| {
        if found.items.len() < MAX_FINDINGS {
            found.items.push(Item::new(kind, detail));
        }
    };
    for line in text.lines() {
        let formula = if sylk {
            // `C;Y1;X1;K0;EEXEC("calc")`: the E field holds the formula.
            if let Some(name) = line.strip_prefix("NN;N") {
                let name = name.split(';').next().unwrap_or_default();
                if name.to_ascii_lowercase().starts_with("auto_open")
                    || name.to_ascii_lowercase().starts_with("auto_close")
                {
                    push(
                        FindingKind::Macro,
                        format!("SYLK name {name} runs a macro on opening"),
                    );
                }
                continue;
            }
            match line.strip_prefix("C;") {
                Some(rest) => rest
                    .split(';')
                    .find_map(|f| f.strip_prefix('E'))
                    .unwrap_or_default()
                    .to_owned(),
                None => continue,
            }
        } else {
            line.to_owned()
        };
        let upper = formula.to_ascii_uppercase();
        let cells: Vec<&str> = if sylk {
            vec![formula.as_str()]
        } else {
            formula.split([',', ';', '\t']).collect()
        };
        for cell in cells {
            let cell = cell.trim().trim_matches('"');
            let starts_formula = sylk || cell.starts_with(['=', '+', '-', '@']);
            if starts_formula && is_dde_formula(cell) {
                let shown: String = cell.chars().take(200).collect();
                push(FindingKind::Dde, format!("DDE formula {shown}"));
            }
        }
        if sylk && let Some(call) = XLM_CALLS.iter().find(|c| upper.contains(*c)) {
            let shown: String = formula.chars().take(200).collect();
            push(
                FindingKind::Macro,
                format!("XLM {} in SYLK: {shown}", call.trim_end_matches('(')),
            );
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(bytes: &[u8], name: &str) -> Vec<FindingKind> {
        inspect(bytes, Some(name))
            .items
            .into_iter()
            .map(|i| i.kind)
            .collect()
    }

    #[test]
    fn csv_dde_and_plain_formulas() {
        assert_eq!(
            kinds(b"name,amount\n=cmd|'/c calc'!A0,1\n", "a.csv"),
            [FindingKind::Dde]
        );
        assert!(kinds(b"name,amount\n=SUM(B1:B2),1\n", "a.csv").is_empty());
        assert!(kinds(b"=cmd|'/c calc'!A0\n", "notes.md").is_empty());
        assert_eq!(
            kinds(b"=cmd|'/c calc'!A0\n", "report.CSV. "),
            [FindingKind::Dde]
        );
    }

    #[test]
    fn sylk_auto_open_and_exec() {
        let slk = b"ID;PWXL;N;E\nNN;NAuto_Open;ER1C1\nC;Y1;X1;K0;EEXEC(\"calc\")\nC;Y2;KTRUE;EHALT()\nE\n";
        assert_eq!(
            kinds(slk, "x.slk"),
            [FindingKind::Macro, FindingKind::Macro]
        );
        assert!(kinds(b"ID;PWXL;N;E\nC;Y1;X1;K42\nE\n", "x.slk").is_empty());
    }
}
