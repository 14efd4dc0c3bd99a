//! Zip packages (OOXML, OpenDocument): parts read within the message's
//! budget, and the package rewritten without some parts.

use std::collections::BTreeMap;
use std::io::{Cursor, Write};

use super::{FormatError, read_bounded};
use crate::limits::Budget;

/// Parts of a package, read within the message's budget.
#[derive(Debug)]
pub(crate) struct Package<'a> {
    pub(crate) zip: zip::ZipArchive<Cursor<&'a [u8]>>,
    /// Exact names, in archive order.
    pub(crate) names: Vec<String>,
    /// Lower-case name → exact name (part names are case-insensitive).
    pub(crate) by_lower: BTreeMap<String, String>,
    /// Parts read whole, their DTDs checked then.
    read: std::collections::BTreeSet<String>,
}

impl<'a> Package<'a> {
    pub(crate) fn open(bytes: &'a [u8], budget: &Budget) -> Result<Self, FormatError> {
        let zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| format!("zip: {e}"))?;
        if zip.len() > budget.limits.max_archive_entries {
            return Err(FormatError::Limit(format!(
                "more than {} parts",
                budget.limits.max_archive_entries
            )));
        }
        let names: Vec<String> = zip
            .file_names()
            .map(|n| n.map(|n| n.into_owned()).map_err(|e| format!("zip: {e}")))
            .collect::<Result<_, _>>()?;
        let mut by_lower = BTreeMap::new();
        for n in &names {
            if by_lower.insert(n.to_lowercase(), n.clone()).is_some() {
                return Err(format!("two parts named {n}").into());
            }
        }
        Ok(Self {
            zip,
            names,
            by_lower,
            read: Default::default(),
        })
    }

    /// Refuses a package with a DTD in any part it did not read (custom
    /// XML, properties, shared strings, ...): those are delivered as they
    /// came, and the application that opens them would expand the
    /// entities. Called once analysis has read what it needs; only each
    /// part's prolog is inflated: its first bytes, and up to 64 KB when
    /// comments or instructions run past them.
    pub(crate) fn refuse_unread_dtds(&mut self, budget: &mut Budget) -> Result<(), FormatError> {
        use std::io::Read;
        for i in 0..self.zip.len() {
            budget
                .check_time()
                .map_err(|e| FormatError::Limit(e.describe(&budget.limits)))?;
            let Ok(f) = self.zip.by_index(i) else {
                // Unreadable parts are refused when read, or copied as
                // stored: nothing parses them as XML either way.
                continue;
            };
            let name = f.name().unwrap_or_default().into_owned();
            if self.read.contains(&name) {
                continue;
            }
            let mut f = f.take(MAX_PROLOG as u64);
            let mut head = Vec::new();
            let _ = (&mut f).take(PROLOG_START).read_to_end(&mut head);
            let mut whole = (head.len() as u64) < PROLOG_START;
            if !whole && prolog(&head, false) == Prolog::Unfinished {
                let _ = f.read_to_end(&mut head);
                whole = head.len() < MAX_PROLOG;
                budget
                    .spend_bytes(head.len() as u64)
                    .map_err(|e| FormatError::Limit(e.describe(&budget.limits)))?;
            }
            refuse_dtd(&name, &head, whole)?;
        }
        Ok(())
    }

    pub(crate) fn read(&mut self, name: &str, budget: &mut Budget) -> Result<Vec<u8>, FormatError> {
        budget
            .check_time()
            .map_err(|e| FormatError::Limit(e.describe(&budget.limits)))?;
        let f = self.zip.by_name(name).map_err(|e| format!("{name}: {e}"))?;
        let compressed = f.compressed_size().max(1);
        let data = read_bounded(budget, f, compressed).map_err(|e| match FormatError::from(e) {
            FormatError::Limit(why) => FormatError::Limit(format!("{name}: {why}")),
            other => FormatError::Malformed(format!("{name}: {other}")),
        })?;
        refuse_dtd(
            name,
            &data[..data.len().min(MAX_PROLOG)],
            data.len() <= MAX_PROLOG,
        )?;
        self.read.insert(name.to_owned());
        Ok(data)
    }

    /// Whether a part's data begins with `magic`, read without inflating
    /// the rest of it.
    pub(crate) fn starts_with(&mut self, name: &str, magic: &[u8]) -> Result<bool, FormatError> {
        use std::io::Read;
        let f = self.zip.by_name(name).map_err(|e| format!("{name}: {e}"))?;
        let mut head = Vec::with_capacity(magic.len());
        f.take(magic.len() as u64)
            .read_to_end(&mut head)
            .map_err(|e| format!("{name}: {e}"))?;
        Ok(head == magic)
    }

    /// The package again, without the parts `drop` picks and with `changed`
    /// parts written anew; every other part is copied compressed, byte for
    /// byte, in the original order.
    pub(crate) fn rewrite(
        &mut self,
        drop: impl Fn(&str) -> bool,
        changed: &BTreeMap<String, Vec<u8>>,
    ) -> Result<Vec<u8>, FormatError> {
        let mut out = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let deflated = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for name in self.names.clone() {
            if drop(&name) {
                continue;
            }
            if let Some(data) = changed.get(&name) {
                out.start_file(name.as_str(), deflated)
                    .and_then(|_| out.write_all(data).map_err(Into::into))
                    .map_err(|e| format!("writing {name}: {e}"))?;
            } else {
                let f = self
                    .zip
                    .by_name(&name)
                    .map_err(|e| format!("{name}: {e}"))?;
                out.raw_copy_file(f)
                    .map_err(|e| format!("copying {name}: {e}"))?;
            }
        }
        Ok(out.finish().map_err(|e| format!("zip: {e}"))?.into_inner())
    }
}

/// The longest prolog (declaration, comments, processing instructions)
/// read before a part's root element; Office writes a few dozen bytes.
const MAX_PROLOG: usize = 64 * 1024;
/// How much of an unread part is inflated first, to find its root element.
const PROLOG_START: u64 = 512;

/// Office never writes a DTD into a package; one that declares entities or
/// fetches a DTD (XXE, billion laughs) is there for whoever parses the part
/// next, and so is a prolog too long to read to its end. `head` is the
/// part's start, `whole` when it is all of the part.
fn refuse_dtd(name: &str, head: &[u8], whole: bool) -> Result<(), FormatError> {
    let why = match prolog(head, whole) {
        Prolog::Dtd(decl) if dangerous_dtd(&decl) => {
            "XML with a document type declaration (DTD) that declares or fetches"
        }
        Prolog::Unfinished => "XML whose prolog runs past 64 KB",
        Prolog::Dtd(_) | Prolog::None => return Ok(()),
    };
    Err(FormatError::Malformed(format!("{name}: {why}")))
}

/// What stands before an XML part's root element.
#[derive(Debug, PartialEq, Eq)]
enum Prolog {
    /// A document type declaration: its text, through the end of an
    /// internal subset when it has one (or to the end of what was read).
    Dtd(Vec<u8>),
    /// None: the root element (or something that is not XML) comes first.
    None,
    /// The bytes end inside the prolog.
    Unfinished,
}

/// Reads the prolog of `data` (`whole`: all of the part, else its head).
/// UTF-16 (by its byte order mark, or a NUL in its first two bytes) is
/// read with its NUL bytes dropped.
fn prolog(data: &[u8], whole: bool) -> Prolog {
    let narrow: Vec<u8>;
    let utf16 = data.starts_with(b"\xFF\xFE")
        || data.starts_with(b"\xFE\xFF")
        || data.iter().take(2).any(|&c| c == 0);
    let mut b = if utf16 {
        narrow = data.iter().copied().filter(|&c| c != 0).collect();
        &narrow[..]
    } else {
        data
    };
    for bom in [&b"\xEF\xBB\xBF"[..], b"\xFF\xFE", b"\xFE\xFF"] {
        b = b.strip_prefix(bom).unwrap_or(b);
    }
    let unfinished = if whole {
        Prolog::None
    } else {
        Prolog::Unfinished
    };
    loop {
        b = b.trim_ascii_start();
        if b.is_empty() {
            return unfinished;
        }
        let skip_to = |b: &[u8], end: &[u8]| crate::identify::find(b, end).map(|i| i + end.len());
        let next = if b.starts_with(b"<?") {
            skip_to(b, b"?>")
        } else if b.starts_with(b"<!--") {
            skip_to(b, b"-->")
        } else if b.len() >= 9 && b[..9].eq_ignore_ascii_case(b"<!doctype") {
            // Through the first `>` after any internal subset.
            let end = match b.iter().position(|&c| c == b'[') {
                Some(open) if b[..open].iter().all(|&c| c != b'>') => {
                    crate::identify::find(&b[open..], b"]").map(|i| open + i)
                }
                _ => Some(0),
            }
            .and_then(|from| {
                b[from..]
                    .iter()
                    .position(|&c| c == b'>')
                    .map(|i| from + i + 1)
            });
            return match end {
                Some(end) => Prolog::Dtd(b[..end].to_vec()),
                None if whole => Prolog::Dtd(b.to_vec()),
                None => Prolog::Unfinished,
            };
        } else if b.len() < 9 && b"<!doctype"[..b.len()].eq_ignore_ascii_case(b) && !whole {
            return Prolog::Unfinished;
        } else {
            return Prolog::None;
        };
        match next {
            Some(n) => b = &b[n..],
            None => return unfinished,
        }
    }
}

/// Whether a document type declaration declares or fetches something: an
/// internal subset (`[...]`, where entities are declared), or a system
/// identifier with a scheme or a UNC path. OpenOffice's own bare
/// declarations (`<!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD
/// ..." "module.dtd">`) declare nothing.
fn dangerous_dtd(decl: &[u8]) -> bool {
    if decl.contains(&b'[') {
        return true;
    }
    // `SYSTEM "sysid"` or `PUBLIC "pubid" "sysid"`: the system identifier
    // is where a parser would fetch the DTD from.
    let literals = quoted(decl);
    let system = if crate::identify::find_ci(decl, b"public").is_some() {
        literals.get(1)
    } else {
        literals.first()
    };
    system.is_some_and(|s| s.contains(&b':') || s.starts_with(b"//") || s.starts_with(b"\\\\"))
}

/// The quoted literals of a declaration, in order.
fn quoted(decl: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = decl;
    while let Some(open) = rest.iter().position(|&b| b == b'"' || b == b'\'') {
        let quote = rest[open];
        let after = &rest[open + 1..];
        let Some(close) = after.iter().position(|&b| b == quote) else {
            break;
        };
        out.push(&after[..close]);
        rest = &after[close + 1..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declares(xml: &[u8]) -> bool {
        matches!(prolog(xml, true), Prolog::Dtd(d) if dangerous_dtd(&d))
    }

    #[test]
    fn dtds_are_found_before_the_root() {
        assert!(declares(
            b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\">]><x>&a;</x>"
        ));
        assert!(declares(b"<!doctype x SYSTEM \"file:///etc/passwd\"><x/>"));
        assert!(!declares(b"<?xml version=\"1.0\"?><w:document/>"));
        assert!(!declares(b"<x><!-- a comment --><![CDATA[y]]></x>"));
        let utf16: Vec<u8> = "\u{feff}<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert!(declares(&utf16));
        assert!(!declares(
            b"<?xml version=\"1.0\"?><!DOCTYPE script:module PUBLIC \"-//OpenOffice.org//DTD OfficeDocument 1.0//EN\" \"module.dtd\"><script:module/>"
        ));
        assert!(declares(
            b"<!DOCTYPE x SYSTEM \"http://evil.example/x.dtd\"><x/>"
        ));
        assert!(declares(
            b"<!DOCTYPE x SYSTEM \"//evil.example/x.dtd\"><x/>"
        ));
        // Padded out of a fixed window with comments: still before the root.
        let padded = [
            b"<?xml version=\"1.0\"?>".as_slice(),
            &b"<!-- padding -->".repeat(500),
            b"<!DOCTYPE x [<!ENTITY a \"b\">]><x/>",
        ]
        .concat();
        assert!(declares(&padded));
        // A head that stops inside the prolog says so.
        assert_eq!(
            prolog(b"<?xml version=\"1.0\"?><!-- unfinished", false),
            Prolog::Unfinished
        );
        assert_eq!(
            prolog(b"<?xml version=\"1.0\"?><!DOC", false),
            Prolog::Unfinished
        );
        assert_eq!(prolog(b"\x89PNG\r\n", false), Prolog::None);
    }
}
