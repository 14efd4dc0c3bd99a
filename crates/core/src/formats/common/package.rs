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
        Ok(Self {
            zip,
            names,
            by_lower,
        })
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

/// `<!DOCTYPE` in the head of an XML part, where a DTD must stand.
fn declares_a_dtd(xml: &[u8]) -> bool {
    crate::identify::find_ci(&xml[..xml.len().min(4096)], b"<!doctype").is_some()
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
    }
}
