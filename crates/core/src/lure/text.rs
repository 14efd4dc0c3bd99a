//! Text folding for phrase matching: a lure written in full-width letters,
//! half-width kana, katakana for hiragana or with spaces between the
//! characters still matches the phrase in the rules.

use crate::web::decode_entities;
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

/// NFKC, lower case, katakana as hiragana, without whitespace, zero-width
/// characters and soft hyphens.
pub(crate) fn fold(text: &str) -> String {
    // Most text is NFKC already (ASCII, kana, kanji): known ranges are
    // checked first, then the quick check; only the rest is normalized.
    if text.chars().all(stable) || is_nfkc_quick(text.chars()) == IsNormalized::Yes {
        fold_chars(text.chars(), text.len())
    } else {
        fold_chars(text.nfkc(), text.len())
    }
}

fn fold_chars(chars: impl Iterator<Item = char>, len: usize) -> String {
    let mut out = String::with_capacity(len);
    for c in chars {
        match c {
            _ if c.is_ascii() => {
                if !c.is_ascii_whitespace() {
                    out.push(c.to_ascii_lowercase());
                }
            }
            // ァ..ヶ → ぁ..ゖ
            '\u{30A1}'..='\u{30F6}' => out.push(char::from_u32(c as u32 - 0x60).unwrap_or(c)),
            // Kana, kanji and CJK punctuation have no case; U+3000 is a space.
            '\u{3001}'..='\u{9FFF}' => out.push(c),
            _ if c.is_whitespace() || is_invisible(c) => {}
            _ => out.extend(c.to_lowercase()),
        }
    }
    out
}

/// Characters NFKC leaves alone and Japanese text is made of: ASCII,
/// hiragana, katakana, the prolonged sound mark, CJK ideographs, 、 and 。.
fn stable(c: char) -> bool {
    matches!(
        c,
        '\0'..='\u{7F}'
            | '\u{3001}'..='\u{3002}'
            | '\u{3041}'..='\u{3096}'
            | '\u{30A1}'..='\u{30FA}'
            | '\u{30FC}'
            | '\u{4E00}'..='\u{9FFF}'
    )
}

fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}' | '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}'
    )
}

/// Text of an HTML document for phrase matching: tags, comments, script and
/// style dropped, the commonest entities decoded. Best effort by design: it
/// feeds a score, never a decision about what is delivered.
pub(crate) fn html_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let lower = html.to_ascii_lowercase();
    let mut i = 0;
    while i < html.len() {
        let rest = &lower[i..];
        if rest.starts_with("<!--") {
            i += rest.find("-->").map_or(rest.len(), |e| e + 3);
        } else if rest.starts_with("<script") || rest.starts_with("<style") {
            let close = if rest.starts_with("<script") {
                "</script"
            } else {
                "</style"
            };
            i += rest.find(close).map_or(rest.len(), |e| e + close.len());
            i += lower[i..].find('>').map_or(lower.len() - i, |e| e + 1);
        } else if rest.starts_with('<') {
            i += rest.find('>').map_or(rest.len(), |e| e + 1);
            out.push(' ');
        } else {
            let end = rest.find('<').unwrap_or(rest.len());
            out.push_str(&decode_entities(&html[i..i + end]));
            i += end;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn width_kana_and_spacing_fold_away() {
        assert_eq!(fold("ＩＮＶＯＩＣＥ"), "invoice");
        assert_eq!(fold("ﾊﾟｽﾜｰﾄﾞ"), fold("パスワード"));
        assert_eq!(fold("パスワード"), fold("ぱすわーど"));
        assert_eq!(fold("請 求\u{200B}書"), "請求書");
    }

    #[test]
    fn html_text_skips_markup_and_decodes_entities() {
        let t = html_text(
            "<style>p{}</style><p>請求&#26360;<!-- x --> &amp; <b>pay</b></p><script>x</script>end",
        );
        assert_eq!(fold(&t), "請求書&payend");
    }
}
