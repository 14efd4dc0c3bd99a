//! Hostile input beyond the corpus: every sample file truncated at several
//! points must still get a clear verdict, and nothing delivered may need
//! further action when sanitized again.

use std::path::Path;

/// Every file of the sample folders, as name and content (containers
/// decoded, golden-corpus bookkeeping left out).
fn sample_files(folders: &[&str]) -> Vec<(String, Vec<u8>)> {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples");
    let mut out = Vec::new();
    for folder in folders {
        for entry in std::fs::read_dir(samples.join(folder)).expect("sample folder") {
            let path = entry.expect("sample entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            if name.ends_with(".json") || name.ends_with(".md") || name.ends_with(".failed") {
                continue;
            }
            let bytes = std::fs::read(&path).expect("sample readable");
            out.push(input::sample_file(&name, bytes).expect("sample decodes"));
        }
    }
    out
}

use mugai_core::{Engine, Envelope, Policy, input, internal, wrap_attachment};

#[test]
fn truncated_files_of_every_type_get_a_verdict() {
    let engine = Engine::new(Policy::default());
    let mut checked = 0;
    for (name, data) in sample_files(&["files", "content"]) {
        for cut in [
            data.len() / 4,
            data.len() / 2,
            data.len() * 3 / 4,
            data.len().saturating_sub(1),
        ] {
            let raw = wrap_attachment(&name, &data[..cut], "\r\n");
            let out = engine.process(&raw, &Envelope::default());
            if let Err(e) = internal::check_outcome(&engine, &out) {
                panic!("{name} cut at {cut}: {e}");
            }
            checked += 1;
        }
    }
    assert!(checked > 300, "only {checked} truncations checked");
}

/// Every sample that can be disarmed gives output with no active content,
/// which disarming again leaves alone: `disarm(disarm(x)) == disarm(x)`.
#[test]
fn disarm_is_clean_and_idempotent_on_every_sample() {
    let mut disarmed = Vec::new();
    // hostile/ holds what the disarm fuzzer found (fuzz_disarm_*).
    for (name, data) in sample_files(&["files", "office", "hostile", "content"]) {
        match internal::check_disarm(&data) {
            Ok(true) => disarmed.push(name),
            Ok(false) => {}
            Err(e) => panic!("{name}: {e}"),
        }
    }
    // The Office and RTF samples with active content (see their expectations).
    assert!(disarmed.len() >= 45, "{} {disarmed:?}", disarmed.len());
}

/// Every PDF, SVG and image sample rebuilds to a clean file of its own
/// type, which rebuilding again leaves byte for byte the same.
#[test]
fn rebuild_is_clean_and_idempotent_on_every_sample() {
    use mugai_core::FileType;
    let mut rebuilt = 0;
    for (name, data) in sample_files(&["files", "hostile", "content"]) {
        let t = mugai_core::identify(&data);
        if !matches!(
            t,
            FileType::Pdf
                | FileType::Svg
                | FileType::Png
                | FileType::Jpeg
                | FileType::Gif
                | FileType::Bmp
                | FileType::Tiff
                | FileType::Webp
        ) {
            continue;
        }
        match internal::check_rebuild(&data, t) {
            Ok(true) => rebuilt += 1,
            Ok(false) => {}
            Err(e) => panic!("{name}: {e}"),
        }
    }
    assert!(rebuilt >= 45, "only {rebuilt} rebuilt");
}

/// Text an SVG keeps may spell smuggling (fuzz svg c93f8349 came close):
/// the rebuild oracle holds the rebuilt file to what the original did not
/// already have, and the engine removes the original.
#[test]
fn smuggling_spelled_in_svg_text_is_no_rebuild_failure() {
    let svg =
        b"<svg xmlns=\"http://www.w3.org/2000/svg\"><image href=\"data:image/png;base64,iVBOR\"/>\
<text>javascript: a.download = new Blob([atob(x)])</text></svg>";
    assert_eq!(
        internal::check_rebuild(svg, mugai_core::FileType::Svg),
        Ok(true)
    );
    let raw = wrap_attachment("chart.svg", svg, "\r\n");
    let out = Engine::new(Policy::default()).process(&raw, &Envelope::default());
    let part = &out.report.parts[1];
    assert_eq!(part.action, mugai_core::PartAction::Remove, "{part:?}");
}

/// A smuggling page whose markup starts after a screen of text sniffs as
/// text, but a client renders it as HTML by its name or declared type: it
/// is inspected as HTML and removed in both directions, not only rebuilt
/// inbound (outbound keeps HTML, so it crossed unchecked before).
#[test]
fn smuggling_in_a_page_that_sniffs_as_text_is_removed() {
    let page = format!(
        "{}<a href=\"data:application/zip;base64,UEsDBBQAAAAIAA==\" download=\"invoice.zip\">open</a>",
        "Invoice for November, please see below.\n".repeat(40)
    );
    assert_eq!(
        mugai_core::identify(page.as_bytes()),
        mugai_core::FileType::Text
    );
    for direction in [
        mugai_core::Direction::Inbound,
        mugai_core::Direction::Outbound,
    ] {
        let envelope = Envelope {
            direction,
            ..Envelope::default()
        };
        for name in ["invoice.html", "invoice.HTML. "] {
            let raw = wrap_attachment(name, page.as_bytes(), "\r\n");
            let out = Engine::new(Policy::default()).process(&raw, &envelope);
            let part = &out.report.parts[1];
            assert_eq!(
                part.action,
                mugai_core::PartAction::Remove,
                "{direction:?} {name}: {part:?}"
            );
            assert!(
                part.findings
                    .iter()
                    .any(|f| f.kind == mugai_core::FindingKind::HtmlSmuggling),
                "{part:?}"
            );
        }
    }
}
