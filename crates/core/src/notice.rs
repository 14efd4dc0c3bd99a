//! The notices a recipient reads: one at the top of a disarmed message, and
//! one in place of each removed part. Japanese first, then English.

use crate::vocab::FindingKind;
// Names shown to people never carry the bidi controls used to disguise them.
use crate::names::BIDI;
use crate::policy::NoticeConfig;
use crate::report::{PartReport, UnpackedReport};

/// Short reference quoted when asking for the original.
pub(crate) fn reference(message_sha256: &str) -> &str {
    &message_sha256[..message_sha256.len().min(16)]
}

/// Text from the message as a notice may show it: without control
/// characters (a NUL would make the notice itself unreadable as text the
/// next time it is inspected) or the bidi controls used to disguise names.
fn shown(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_control() && !BIDI.contains(c))
        .collect()
}

fn display_name(part: &PartReport) -> String {
    match &part.declared_name {
        Some(n) => shown(n),
        None => format!(
            "part {} ({})",
            shown(&part.path),
            shown(&part.declared_type)
        ),
    }
}

fn kinds(part: &PartReport) -> Vec<FindingKind> {
    let mut k: Vec<FindingKind> = part.findings.iter().map(|f| f.kind).collect();
    k.sort();
    k.dedup();
    k
}

/// At most this many locations per part; a bomb can have thousands.
const MAX_LOCATIONS: usize = 10;

fn locations(part: &PartReport) -> Vec<String> {
    let mut l: Vec<String> = part
        .findings
        .iter()
        .filter(|f| f.location.contains('!'))
        .map(|f| shown(&f.location))
        .collect();
    l.sort();
    l.dedup();
    if l.len() > MAX_LOCATIONS {
        let more = l.len() - MAX_LOCATIONS;
        l.truncate(MAX_LOCATIONS);
        l.push(format!("… (+{more})"));
    }
    l
}

/// The text that replaces one removed part.
pub(crate) fn removed_part(part: &PartReport, reference: &str, cfg: &NoticeConfig) -> String {
    let name = display_name(part);
    let ja: Vec<&str> = kinds(part).iter().map(|k| k.describe_ja()).collect();
    let en: Vec<&str> = kinds(part).iter().map(|k| k.describe_en()).collect();
    let mut t = format!(
        "[mugai] 添付ファイル「{name}」は安全のため削除されました（理由: {}）。\n\
         The attachment \"{name}\" was removed for safety (reason: {}).\n",
        ja.join("、"),
        en.join(", ")
    );
    for loc in locations(part) {
        t.push_str(&format!("  - {loc}\n"));
    }
    t.push_str(&format!(
        "原本が必要な場合は、参照番号 {reference} を添えて{}にお問い合わせください。\n\
         To request the original, contact {} quoting reference {reference}.\n",
        cfg.contact_ja, cfg.contact_en
    ));
    t
}

/// The notice placed first in a message whose parts were removed or
/// disarmed, or whose wrappers were opened.
pub(crate) fn summary(
    removed: &[&PartReport],
    disarmed: &[&PartReport],
    unpacked: &[UnpackedReport],
    reference: &str,
    cfg: &NoticeConfig,
) -> String {
    let mut t = String::from(
        "[mugai] このメールは無害化されました。\n\
         This message was sanitized.\n",
    );
    if !unpacked.is_empty() {
        t.push_str(
            "\n以下の添付ファイルは、中身を取り出して通常の形式でお届けしています。\n\
             The following attachments were opened and are delivered in a plain form.\n\n",
        );
    }
    for u in unpacked {
        let ja = match u.kind.as_str() {
            "tnef" => "Outlook の winmail.dat を、中の添付ファイルに展開しました",
            "msg" => "Outlook のメッセージ (.msg) を、メール形式 (.eml) に書き直しました",
            _ => "中身を取り出しました",
        };
        t.push_str(&format!("■ {ja}\n  {}\n", shown(&u.detail)));
    }
    if !removed.is_empty() {
        t.push_str(
            "\n以下の添付ファイルを削除しています。\n\
             The following attachments were removed.\n\n",
        );
    }
    for part in removed {
        let name = display_name(part);
        let ja: Vec<&str> = kinds(part).iter().map(|k| k.describe_ja()).collect();
        let en: Vec<&str> = kinds(part).iter().map(|k| k.describe_en()).collect();
        t.push_str(&format!(
            "■ {name}\n  理由: {}\n  Reason: {}\n",
            ja.join("、"),
            en.join(", ")
        ));
        for loc in locations(part) {
            t.push_str(&format!("  - {loc}\n"));
        }
    }
    if !disarmed.is_empty() {
        t.push_str(
            "\n以下の添付ファイルは、危険な部分を取り除いてお届けしています。\n\
             The following attachments are delivered with their active content taken out.\n\n",
        );
    }
    for part in disarmed {
        let name = display_name(part);
        let ja: Vec<&str> = kinds(part).iter().map(|k| k.describe_ja()).collect();
        let en: Vec<&str> = kinds(part).iter().map(|k| k.describe_en()).collect();
        t.push_str(&format!(
            "■ {name}\n  取り除いたもの: {}\n  Taken out: {}\n",
            ja.join("、"),
            en.join(", ")
        ));
        // Inside an archive: which members went.
        for loc in locations(part) {
            t.push_str(&format!("  - {loc}\n"));
        }
        if let Some(new) = part.disarmed.as_ref().and_then(|d| d.name.as_deref())
            && Some(new) != part.declared_name.as_deref()
        {
            let new: String = new
                .chars()
                .filter(|c| !c.is_control() && !BIDI.contains(c))
                .collect();
            t.push_str(&format!("  → {new}\n"));
        }
    }
    t.push_str(&format!(
        "\n原本は保管されています。必要な場合は、参照番号 {reference} を添えて{}にお問い合わせください。\n\
         The original is kept. To request it, contact {} quoting reference {reference}.\n",
        cfg.contact_ja, cfg.contact_en
    ));
    t
}
