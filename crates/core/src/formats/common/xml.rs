//! XML helpers shared by the package formats (OOXML, OpenDocument).

use quick_xml::events::{BytesStart, Event};
use quick_xml::reader::NsReader;
use quick_xml::{Writer, XmlVersion};

pub(crate) fn xml_error(e: impl std::fmt::Display) -> String {
    format!("XML: {e}")
}

/// An attribute's value by local name, whatever its prefix.
pub(crate) fn attr(e: &BytesStart<'_>, local: &str) -> Option<String> {
    e.attributes().flatten().find_map(|a| {
        let key = a.key.as_ref();
        let name = key.rsplit(':').next().unwrap_or(key);
        (name == local)
            .then(|| {
                a.normalized_value(XmlVersion::Implicit1_0)
                    .ok()
                    .map(|v| v.into_owned())
            })
            .flatten()
    })
}

/// An element's name without its prefix.
pub(crate) fn local_name<'n>(e: &'n BytesStart<'_>) -> &'n str {
    let q: &str = e.name().0;
    q.rsplit(':').next().unwrap_or(q)
}

/// Copies `xml` event by event, leaving out the elements `skip` picks
/// (with everything inside them).
pub(crate) fn filter_elements(
    xml: &[u8],
    mut skip: impl FnMut(&NsReader<&[u8]>, &BytesStart<'_>) -> bool,
) -> Result<Vec<u8>, String> {
    let mut reader = NsReader::from_reader(xml);
    let mut writer = Writer::new(Vec::with_capacity(xml.len()));
    let mut skipping = 0usize;
    loop {
        let event = reader.read_event().map_err(xml_error)?;
        match &event {
            Event::Eof => break,
            Event::Start(_) if skipping > 0 => skipping += 1,
            Event::End(_) if skipping > 0 => skipping -= 1,
            _ if skipping > 0 => {}
            Event::Start(e) if skip(&reader, e) => skipping = 1,
            Event::Empty(e) if skip(&reader, e) => {}
            _ => writer.write_event(event).map_err(xml_error)?,
        }
    }
    Ok(writer.into_inner())
}
