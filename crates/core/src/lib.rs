//! mugai-core: the mail sanitization (無害化) engine.
//!
//! One message in, one [`Outcome`] out: parse → walk → identify → inspect →
//! decide → rebuild → report. The engine is synchronous and does no I/O; relays,
//! milters and the CLI wrap it.
//!
//! ```
//! use mugai_core::{Engine, Envelope, Policy, Verdict};
//!
//! let engine = Engine::new(Policy::default());
//! let raw = b"From: a@example.jp\r\nSubject: hi\r\n\r\nhello\r\n";
//! let outcome = engine.process(raw, &Envelope::default());
//! assert_eq!(outcome.verdict, Verdict::Deliver);
//! ```

pub mod date;
mod disarm;
mod engine;
mod finding;
mod formats;
mod fuzzing;
mod header;
mod identify;
pub mod input;
mod inspect;
#[doc(hidden)]
pub mod internal;
mod limits;
mod lure;
mod mime;
mod msg;
mod names;
mod notice;
mod policy;
mod rebuild;
mod report;
mod tnef;
mod vocab;
mod web;
mod wrap;
#[cfg(feature = "yara")]
mod yara;

pub use engine::{Engine, Envelope, Outcome};
pub use finding::{Finding, RuleHit};
pub use identify::{FileType, identify};
pub use limits::Limits;
pub use lure::{
    LureAction, LurePolicy, LureReport, LureRules, MemorySentLog, Organization, Person, RulesError,
    SentLog, SymbolHit, normalize_message_id,
};
pub use policy::{
    ContentPolicy, DirectionPolicy, HtmlMode, LinkMode, NoticeConfig, Policy, PolicyError, Rebuild,
    default_action,
};
pub use report::{
    DisarmReport, EntryReport, MessageInfo, PartReport, Report, Timings, UnpackedReport,
};
pub use vocab::{Direction, FindingKind, MessageAction, PartAction, Severity, Verdict};
pub use wrap::wrap_attachment;
#[cfg(feature = "yara")]
pub use yara::{YaraError, YaraRules};
