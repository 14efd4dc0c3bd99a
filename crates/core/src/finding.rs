//! What inspection can find. A finding is data, not an error.

use serde::{Deserialize, Serialize};

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
}

impl FindingKind {
    /// Every kind, in a stable order.
    pub const ALL: [FindingKind; 22] = [
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
            FindingKind::Dde => "DDE（開くとコマンドを実行するフィールド）",
            FindingKind::ExternalReference => "外部テンプレート・外部リンクの参照",
            FindingKind::EmbeddedObject => "埋め込みオブジェクト（OLE・ActiveX・パッケージ）",
            FindingKind::PdfActiveContent => "PDF 内の JavaScript・自動実行・埋め込みファイル",
            FindingKind::Malformed => "解析できない不正な形式",
            FindingKind::YaraMatch => "検出ルール（YARA）への一致",
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
            FindingKind::Dde => "DDE field that runs a command on opening",
            FindingKind::ExternalReference => "remote template or external link",
            FindingKind::EmbeddedObject => "embedded object (OLE, ActiveX, package)",
            FindingKind::PdfActiveContent => "PDF JavaScript, auto-actions or embedded files",
            FindingKind::Malformed => "malformed content that cannot be parsed",
            FindingKind::YaraMatch => "a match of a detection (YARA) rule",
        }
    }
}

impl std::fmt::Display for FindingKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One thing inspection found, with where and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// What was found.
    pub kind: FindingKind,
    /// Where inside the part: the part's name, then `!` for each archive descended
    /// into (`outer.zip!docs/inner.zip!setup.exe`).
    pub location: String,
    /// Evidence a person can act on.
    pub detail: String,
    /// The rule behind a `yara_match`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleHit>,
}

/// A YARA rule that matched, with what its metadata asks for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleHit {
    /// The rules file it came from (its stem).
    pub namespace: String,
    /// The rule's identifier.
    pub name: String,
    /// `low`, `medium`, `high` or `critical`, from the rule's metadata.
    pub severity: String,
    /// The part action the rule asks for (`remove`, `quarantine`, ...);
    /// `None` for a rule that only adds to the lure score.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<crate::policy::PartAction>,
    /// Weight added to the lure score.
    pub weight: f64,
    /// The first matches: pattern identifier and offset in the scanned data.
    pub strings: Vec<(String, u64)>,
}
