//! One module per format family, each with the same entry points over the
//! shared types of [`common`]: `inspect` (what is active inside, as an
//! [`Inspection`]) and `disarm` (the file rebuilt without it, as
//! [`Disarmed`], or a [`FormatError`] saying why it cannot be). Documents
//! whose disarm follows a plan (OOXML, OpenDocument, OLE2, RTF) are opened
//! once as a [`Document`], which inspection reads and disarm consumes.
//!
//! Only the dispatchers, `crate::inspect` and `crate::disarm`, call into
//! here; formats never call back up (the archive walker hands members to a
//! [`archive::Members`] sink instead).

pub(crate) mod archive;
mod common;
pub(crate) mod html;
pub(crate) mod image;
mod odf;
mod ole;
mod ooxml;
pub(crate) mod pdf;
mod rtf;
mod sheet;
pub(crate) mod svg;
pub(crate) mod text;

pub(crate) use common::{Disarmed, FormatError, Inspection, count};

use crate::identify::FileType;
use crate::limits::Budget;

/// A document opened by its format: what inspection found in it, and what
/// disarm needs to rebuild it. Opened once per part, so disarm cannot be
/// handed bytes and a plan that disagree.
#[derive(Debug)]
pub(crate) enum Document<'a> {
    Ooxml(ooxml::Analysis<'a>),
    Odf(odf::Analysis<'a>),
    Ole(ole::Analysis<'a>),
    Rtf(rtf::Analysis<'a>),
}

impl<'a> Document<'a> {
    /// Opens `bytes` of true type `t`; `None` when `t` is no such document.
    pub(crate) fn open(
        bytes: &'a [u8],
        t: FileType,
        budget: &mut Budget,
    ) -> Option<Result<Self, FormatError>> {
        use FileType::*;
        Some(match t {
            Docx | Docm | Xlsx | Xlsm | Xlsb | Pptx | Pptm | Ooxml => {
                ooxml::analyze(bytes, budget).map(Document::Ooxml)
            }
            Odf => odf::analyze(bytes, budget).map(Document::Odf),
            Doc | Xls | Ppt | Ole => ole::analyze(bytes, t).map(Document::Ole),
            Rtf => rtf::analyze(bytes).map(Document::Rtf),
            _ => return None,
        })
    }

    /// What inspection reports.
    pub(crate) fn found(&self) -> &Inspection {
        match self {
            Document::Ooxml(a) => a.found(),
            Document::Odf(a) => a.found(),
            Document::Ole(a) => a.found(),
            Document::Rtf(a) => a.found(),
        }
    }

    /// Documents embedded in this one that disarm keeps as they are, handed
    /// over to be inspected like archive members.
    pub(crate) fn take_embedded(&mut self) -> Vec<(String, Vec<u8>)> {
        match self {
            Document::Ooxml(a) => a.take_embedded(),
            Document::Odf(_) | Document::Ole(_) | Document::Rtf(_) => Vec::new(),
        }
    }

    /// The document rebuilt without what inspection found.
    pub(crate) fn disarm(self, budget: &mut Budget) -> Result<Disarmed, FormatError> {
        match self {
            Document::Ooxml(a) => a.disarm(budget),
            Document::Odf(a) => a.disarm(budget),
            Document::Ole(a) => a.disarm(budget),
            Document::Rtf(a) => a.disarm(),
        }
    }
}
