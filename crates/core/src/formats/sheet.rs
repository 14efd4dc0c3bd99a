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

/// Findings from text Excel could open as a sheet: every attachment,
/// whatever it is named (a `.txt` is one rename away from a `.csv`), and
/// any text that starts with SYLK's `ID;` record. Bodies are displayed,
/// never opened as sheets.
pub(crate) fn inspect(bytes: &[u8], name: Option<&str>) -> Inspection {
    let mut found = Inspection::default();
    // As Windows reads it: `report.CSV. ` opens in Excel too.
    let ext = name.and_then(crate::names::extension).unwrap_or_default();
    let sylk = bytes.starts_with(b"ID;") || ext == "slk";
    if !sylk && name.is_none() {
        return found;
    }
    let text = String::from_utf8_lossy(bytes);
    let mut push = |kind, detail: String| {
        if found.items.len() < MAX_FINDINGS {
            found.items.push(Item::new(kind, detail));
        }
    };
    // Excel ends a record at CR alone, too.
    for line in text.split(['\r', '\n']) {
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
            cells(&formula)
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

/// The cells of one CSV, TSV or `;`-separated record: a separator inside
/// double quotes does not end a cell (`"=cmd|'/c a,b'!A0"` is one cell).
fn cells(record: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut quoted = false;
    for (i, c) in record.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' | ';' | '\t' if !quoted => {
                out.push(&record[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&record[start..]);
    out
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
        // Any attachment: a .txt or .md is one rename away from a .csv.
        assert_eq!(
            kinds(b"=cmd|'/c calc'!A0\n", "notes.md"),
            [FindingKind::Dde]
        );
        assert_eq!(
            kinds(b"a\r=cmd|'/c calc'!A0\r", "cr-only.txt"),
            [FindingKind::Dde],
            "records ended by CR alone"
        );
        assert_eq!(
            kinds(b"name,cmd\n\"x\",\"=cmd|'/c calc,x'!A0\"\n", "q.csv"),
            [FindingKind::Dde],
            "a quoted separator stays in its cell"
        );
        // A body is displayed, not opened as a sheet.
        assert!(inspect(b"=cmd|'/c calc'!A0\n", None).items.is_empty());
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
