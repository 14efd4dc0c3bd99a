//! The words every stage shares: which way a message crosses, what can be
//! found, what is done to a part and to the message. Below finding, policy,
//! lure and report, so none of those needs another to name a decision.

use serde::{Deserialize, Serialize};

/// Which way a message crosses between segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Internet → closed segment (LGWAN): disarm.
    #[default]
    Inbound,
    /// Closed segment → Internet: take-out restriction.
    Outbound,
}

/// What to do with a part that has a finding. Ordered from mildest to strictest;
/// a part with several findings gets the strictest action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartAction {
    /// Deliver the part; the finding is only reported.
    Keep,
    /// Deliver the part rebuilt without its active content (macros, DDE,
    /// embedded objects, external references); when that cannot be done,
    /// or the rebuilt part is not clean, remove it instead.
    Disarm,
    /// Replace the part by a notice; deliver the rest.
    Remove,
    /// Hold the whole message in quarantine; deliver nothing.
    Quarantine,
    /// Refuse the whole message (SMTP 550).
    Reject,
}

/// What to do with a whole message that cannot be inspected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageAction {
    /// Hold it in quarantine.
    Quarantine,
    /// Refuse it (SMTP 550).
    Reject,
    /// Ask the sender to retry later (SMTP 451).
    Tempfail,
}

/// What happens to the message as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Deliver the rebuilt message.
    Deliver,
    /// Hold the original; deliver nothing.
    Quarantine,
    /// Refuse the message (SMTP 550).
    Reject,
    /// The engine could not decide; ask for a retry (SMTP 451). Never a pass.
    Tempfail,
}

/// The kinds of findings. Policy maps each kind to an action per direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FindingKind {
    /// Native executable or installer (PE, ELF, Mach-O, MSI, JAR), by content or name.
    Executable,
    /// Script a double click runs (js, vbs, wsf, hta, ps1, bat, cmd, ...).
    Script,
    /// Windows shortcut or similar launcher (lnk, url, scf, settingcontent-ms).
    Shortcut,
    /// Disk image that Windows mounts on double click (iso, img, udf, vhd, vhdx).
    DiskImage,
    /// OneNote section or package (a common carrier for embedded launchers).
    OneNote,
    /// Compiled HTML help (chm), which runs script.
    HelpFile,
    /// HTML that assembles a file download in the browser (blob or data URI).
    HtmlSmuggling,
    /// A document-like extension followed by a dangerous one (`invoice.pdf.exe`).
    DoubleExtension,
    /// Bidirectional control characters in a name (`invoice_<RLO>fdp.exe`).
    BidiOverride,
    /// The true type disagrees with the file name or the declared MIME type.
    TypeMismatch,
    /// Archive member whose content is encrypted and cannot be inspected.
    EncryptedArchive,
    /// Encrypted document (Office, PDF) that cannot be inspected without its password.
    EncryptedDocument,
    /// Archive format that mugai cannot read (rar, cab, ...), or a corrupt archive.
    UninspectableArchive,
    /// Decompression bomb: overlapping members, absurd ratio, recursion.
    ArchiveBomb,
    /// A limit was reached before the content could be fully inspected.
    LimitExceeded,
    /// VBA, XLM or StarBasic macros in an Office document, or the custom UI
    /// callbacks that call them.
    Macro,
    /// A DDE field or link that runs a command when the document is opened.
    Dde,
    /// A reference a document follows on opening: remote template, linked OLE
    /// object, external frame or image (template injection, NTLM leaks).
    ExternalReference,
    /// An OLE object, ActiveX control or package embedded in a document.
    EmbeddedObject,
    /// PDF JavaScript, launch actions, embedded files and similar active content.
    PdfActiveContent,
    /// A part mugai could not decode or parse.
    Malformed,
    /// A YARA rule matched; the rule's metadata says how much it weighs
    /// and what to do.
    YaraMatch,
    /// Content of a type mugai does not parse and rebuild or verify
    /// (unidentified bytes, XML of no dialect it checks, icons): never
    /// delivered as it came, whatever its name says.
    UnknownType,
    /// Bytes in front of an archive its readers find from its end (a zip
    /// behind markup, formulas or anything else): the archive is written
    /// anew without them.
    PrependedData,
    /// Bytes after a zip's end record (another archive, which readers that
    /// look for one find there): the archive is written anew without them.
    AppendedData,
}

impl FindingKind {
    /// Every kind, in a stable order.
    pub const ALL: [FindingKind; 25] = [
        FindingKind::Executable,
        FindingKind::Script,
        FindingKind::Shortcut,
        FindingKind::DiskImage,
        FindingKind::OneNote,
        FindingKind::HelpFile,
        FindingKind::HtmlSmuggling,
        FindingKind::DoubleExtension,
        FindingKind::BidiOverride,
        FindingKind::TypeMismatch,
        FindingKind::EncryptedArchive,
        FindingKind::EncryptedDocument,
        FindingKind::UninspectableArchive,
        FindingKind::ArchiveBomb,
        FindingKind::LimitExceeded,
        FindingKind::Macro,
        FindingKind::Dde,
        FindingKind::ExternalReference,
        FindingKind::EmbeddedObject,
        FindingKind::PdfActiveContent,
        FindingKind::Malformed,
        FindingKind::YaraMatch,
        FindingKind::UnknownType,
        FindingKind::PrependedData,
        FindingKind::AppendedData,
    ];

    /// The snake_case name used in policy files, reports and headers.
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::Executable => "executable",
            FindingKind::Script => "script",
            FindingKind::Shortcut => "shortcut",
            FindingKind::DiskImage => "disk_image",
            FindingKind::OneNote => "one_note",
            FindingKind::HelpFile => "help_file",
            FindingKind::HtmlSmuggling => "html_smuggling",
            FindingKind::DoubleExtension => "double_extension",
            FindingKind::BidiOverride => "bidi_override",
            FindingKind::TypeMismatch => "type_mismatch",
            FindingKind::EncryptedArchive => "encrypted_archive",
            FindingKind::EncryptedDocument => "encrypted_document",
            FindingKind::UninspectableArchive => "uninspectable_archive",
            FindingKind::ArchiveBomb => "archive_bomb",
            FindingKind::LimitExceeded => "limit_exceeded",
            FindingKind::Macro => "macro",
            FindingKind::Dde => "dde",
            FindingKind::ExternalReference => "external_reference",
            FindingKind::EmbeddedObject => "embedded_object",
            FindingKind::PdfActiveContent => "pdf_active_content",
            FindingKind::Malformed => "malformed",
            FindingKind::YaraMatch => "yara_match",
            FindingKind::UnknownType => "unknown_type",
            FindingKind::PrependedData => "prepended_data",
            FindingKind::AppendedData => "appended_data",
        }
    }

    /// A short explanation for the recipient, in Japanese.
    pub fn describe_ja(self) -> &'static str {
        match self {
            FindingKind::Executable => "実行ファイル",
            FindingKind::Script => "スクリプト",
            FindingKind::Shortcut => "ショートカット（リンクファイル）",
            FindingKind::DiskImage => "ディスクイメージ",
            FindingKind::OneNote => "OneNote ファイル",
            FindingKind::HelpFile => "コンパイル済みヘルプファイル",
            FindingKind::HtmlSmuggling => "ファイルを組み立ててダウンロードさせる HTML",
            FindingKind::DoubleExtension => "偽装された二重拡張子",
            FindingKind::BidiOverride => "ファイル名の表示を偽装する制御文字",
            FindingKind::TypeMismatch => "ファイル名と中身の形式の不一致",
            FindingKind::EncryptedArchive => "暗号化（パスワード付き）圧縮ファイル",
            FindingKind::EncryptedDocument => "暗号化（パスワード付き）文書",
            FindingKind::UninspectableArchive => "検査できない圧縮形式",
            FindingKind::ArchiveBomb => "圧縮爆弾",
            FindingKind::LimitExceeded => "検査上限の超過",
            FindingKind::Macro => "マクロ",
            FindingKind::Dde => "DDE など、開くと動作するフィールド（確認できない種類を含む）",
            FindingKind::ExternalReference => "外部テンプレート・外部リンクの参照",
            FindingKind::EmbeddedObject => "埋め込みオブジェクト（OLE・ActiveX・パッケージ）",
            FindingKind::PdfActiveContent => "PDF 内の JavaScript・自動実行・埋め込みファイル",
            FindingKind::Malformed => "解析できない不正な形式",
            FindingKind::YaraMatch => "検出ルール（YARA）への一致",
            FindingKind::UnknownType => "安全を確認できない形式のファイル",
            FindingKind::PrependedData => "アーカイブの前に付けられたデータ",
            FindingKind::AppendedData => "アーカイブの後に付けられたデータ",
        }
    }

    /// A short explanation for the recipient, in English.
    pub fn describe_en(self) -> &'static str {
        match self {
            FindingKind::Executable => "executable program",
            FindingKind::Script => "script",
            FindingKind::Shortcut => "shortcut (link file)",
            FindingKind::DiskImage => "disk image",
            FindingKind::OneNote => "OneNote file",
            FindingKind::HelpFile => "compiled help file",
            FindingKind::HtmlSmuggling => "HTML that assembles a download",
            FindingKind::DoubleExtension => "disguised double extension",
            FindingKind::BidiOverride => "control characters that disguise the file name",
            FindingKind::TypeMismatch => "file name does not match the content",
            FindingKind::EncryptedArchive => "encrypted (password-protected) archive",
            FindingKind::EncryptedDocument => "encrypted (password-protected) document",
            FindingKind::UninspectableArchive => "archive format that cannot be inspected",
            FindingKind::ArchiveBomb => "decompression bomb",
            FindingKind::LimitExceeded => "inspection limit exceeded",
            FindingKind::Macro => "macros",
            FindingKind::Dde => {
                "DDE or another field that acts on opening (or of a kind not checked)"
            }
            FindingKind::ExternalReference => "remote template or external link",
            FindingKind::EmbeddedObject => "embedded object (OLE, ActiveX, package)",
            FindingKind::PdfActiveContent => "PDF JavaScript, auto-actions or embedded files",
            FindingKind::Malformed => "malformed content that cannot be parsed",
            FindingKind::YaraMatch => "a match of a detection (YARA) rule",
            FindingKind::UnknownType => "a file of a type mugai cannot verify",
            FindingKind::PrependedData => "data in front of an archive",
            FindingKind::AppendedData => "data after the end of an archive",
        }
    }
}

impl std::fmt::Display for FindingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// How serious a rule says its match is (YARA `severity` metadata).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Worth a note; weight 1 unless the rule says otherwise.
    Low,
    /// Weight 2 by default.
    Medium,
    /// Weight 4 by default.
    High,
    /// Weight 6 by default.
    Critical,
}

impl Severity {
    /// The severity named in rule metadata, if it is one.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }

    /// The lure weight of a match when its rule names none.
    pub fn default_weight(self) -> f64 {
        match self {
            Severity::Low => 1.0,
            Severity::Medium => 2.0,
            Severity::High => 4.0,
            Severity::Critical => 6.0,
        }
    }
}
