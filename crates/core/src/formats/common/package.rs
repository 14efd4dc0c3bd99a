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
        let mut pkg = Self {
            zip,
            names,
            by_lower,
        };
        pkg.refuse_dtds()?;
        Ok(pkg)
    }

    /// Refuses a package with a DTD in any part, read or not: parts mugai
    /// does not read (custom XML, properties, ...) are delivered as they
    /// came, and the application that opens them would expand the entities.
    /// Only each part's head is inflated, where a DTD must stand.
    fn refuse_dtds(&mut self) -> Result<(), FormatError> {
        use std::io::Read;
        for i in 0..self.zip.len() {
            let mut head = Vec::with_capacity(DTD_WINDOW);
            let Ok(f) = self.zip.by_index(i) else {
                // Unreadable parts are refused when read, or copied as
                // stored: nothing parses them as XML either way.
                continue;
            };
            let name = f.name().unwrap_or_default().into_owned();
            let _ = f.take(DTD_WINDOW as u64).read_to_end(&mut head);
            if declares_a_dtd(&head) {
                return Err(FormatError::Malformed(format!(
                    "{name}: XML with a document type declaration (DTD)"
                )));
            }
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
        // Office never writes a DTD into a package; one that is there can
        // declare entities (XXE, billion laughs) for whoever parses it next.
        if declares_a_dtd(&data) {
            return Err(FormatError::Malformed(format!(
                "{name}: XML with a document type declaration (DTD)"
            )));
        }
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

/// How much of a part's head is searched for a DTD.
const DTD_WINDOW: usize = 4096;

/// A document type declaration that declares or fetches something, in the
/// head of a part, where one must stand: an internal subset (`[...]`,
/// where entities are declared), any `<!ENTITY`, or a system identifier
/// with a scheme or a UNC path. OpenOffice's own bare declarations
/// (`<!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD ..." "module.dtd">`)
/// declare nothing. UTF-16 parts are read with their NUL bytes dropped.
fn declares_a_dtd(xml: &[u8]) -> bool {
    let head = &xml[..xml.len().min(DTD_WINDOW)];
    let narrow: Vec<u8>;
    let head = if head.contains(&0) {
        narrow = head.iter().copied().filter(|&b| b != 0).collect();
        &narrow[..]
    } else {
        head
    };
    if crate::identify::find_ci(head, b"<!entity").is_some() {
        return true;
    }
    let Some(start) = crate::identify::find_ci(head, b"<!doctype") else {
        return false;
    };
    let decl = &head[start..];
    let decl = &decl[..decl.iter().position(|&b| b == b'>').unwrap_or(decl.len())];
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

    #[test]
    fn dtds_are_found_before_the_root() {
        assert!(declares_a_dtd(
            b"<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaa\">]><x>&a;</x>"
        ));
        assert!(declares_a_dtd(
            b"<!doctype x SYSTEM \"file:///etc/passwd\"><x/>"
        ));
        assert!(!declares_a_dtd(b"<?xml version=\"1.0\"?><w:document/>"));
        assert!(!declares_a_dtd(b"<x><!-- a comment --><![CDATA[y]]></x>"));
        let utf16: Vec<u8> = "<!DOCTYPE x [<!ENTITY a \"b\">]><x>&a;</x>"
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect();
        assert!(declares_a_dtd(&utf16));
        assert!(!declares_a_dtd(
            b"<?xml version=\"1.0\"?><!DOCTYPE script:module PUBLIC \"-//OpenOffice.org//DTD OfficeDocument 1.0//EN\" \"module.dtd\"><script:module/>"
        ));
        assert!(declares_a_dtd(b"<!DOCTYPE x SYSTEM \"http://evil.example/x.dtd\"><x/>"));
        assert!(declares_a_dtd(b"<!DOCTYPE x SYSTEM \"//evil.example/x.dtd\"><x/>"));
    }
}
