//! Spreadsheet formulas, as OOXML sheets and text sheets (CSV, SYLK) hold
//! them.

/// `cmd|'/c calc'!A0`: an application name, a pipe and a quoted topic,
/// outside the formula's string literals.
pub(crate) fn is_dde_formula(formula: &str) -> bool {
    let mut f = String::with_capacity(formula.len());
    let mut in_string = false;
    for c in formula.chars() {
        if c == '"' {
            in_string = !in_string;
        } else if !in_string {
            f.push(c);
        }
    }
    f.match_indices("|'").any(|(i, _)| {
        let app = f[..i]
            .rsplit(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
            .next()
            .unwrap_or_default();
        !app.is_empty() && f[i + 2..].contains("'!")
    })
}
