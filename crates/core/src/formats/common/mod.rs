//! What every format shares: the shape of an inspection and of a disarm,
//! the error a format gives, and reading within the message's budget.

mod bounded;
mod field;
mod formula;
mod package;
pub(crate) mod xml;

pub(crate) use bounded::{RATIO_FLOOR, ReadFailure, read_bounded};
pub(crate) use field::{Activity, field_activity};
pub(crate) use formula::is_dde_formula;
pub(crate) use package::Package;

use crate::vocab::FindingKind;

/// One piece of active content a format found: the finding it makes, and
/// the line the report gives when disarm takes it out.
#[derive(Debug)]
pub(crate) struct Item {
    pub(crate) kind: FindingKind,
    pub(crate) detail: String,
}

impl Item {
    pub(crate) fn new(kind: FindingKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }
}

/// What looking inside one file found.
#[derive(Debug, Default)]
pub(crate) struct Inspection {
    /// Active content, a finding each.
    pub(crate) items: Vec<Item>,
    /// Documents embedded in it, kept by disarm: inspected like archive
    /// members (name inside the file, bytes).
    pub(crate) embedded: Vec<(String, Vec<u8>)>,
    /// Decompressed macro source, for rules to read as its authors wrote it.
    pub(crate) scripts: Vec<String>,
}

/// A file rebuilt without its active content.
#[derive(Debug)]
pub(crate) struct Disarmed {
    pub(crate) bytes: Vec<u8>,
    /// What was taken out, a line each.
    pub(crate) removed: Vec<String>,
}

/// Why a format could not read or rebuild a file. Never a pass: the part
/// is removed, and the report gives the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum FormatError {
    /// The bytes are not a valid file of the format.
    #[error("{0}")]
    Malformed(String),
    /// Reading it would pass a limit of the message's budget.
    #[error("{0}")]
    Limit(String),
    /// Read, but holding something mugai cannot take out (or nothing to).
    #[error("{0}")]
    Unsupported(String),
}

/// A parser's own message names what was malformed.
impl From<String> for FormatError {
    fn from(why: String) -> Self {
        FormatError::Malformed(why)
    }
}

impl From<ReadFailure> for FormatError {
    fn from(f: ReadFailure) -> Self {
        match f {
            ReadFailure::Io(_) => FormatError::Malformed(f.to_string()),
            ReadFailure::TooBig(_) | ReadFailure::Bomb(_) => FormatError::Limit(f.to_string()),
        }
    }
}

/// What was taken out of one file, counted by kind: `JavaScript ×3`.
#[derive(Debug, Default)]
pub(crate) struct Tally(std::collections::BTreeMap<&'static str, usize>);

impl Tally {
    pub(crate) fn add(&mut self, what: &'static str) {
        self.add_n(what, 1);
    }

    pub(crate) fn add_n(&mut self, what: &'static str, n: usize) {
        *self.0.entry(what).or_default() += n;
    }

    pub(crate) fn lines(self) -> Vec<String> {
        self.0
            .into_iter()
            .map(|(what, n)| match n {
                1 => what.to_owned(),
                n => format!("{what} ×{n}"),
            })
            .collect()
    }
}

/// `1 link defanged`, `3 links defanged`.
pub(crate) fn count(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}
