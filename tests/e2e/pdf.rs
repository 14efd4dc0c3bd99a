//! Rebuilt PDFs open, render and keep their text in poppler, the library
//! behind most Linux PDF viewers: every PDF sample goes through the engine,
//! and the delivered file is checked with `pdftotext`, `pdftoppm`,
//! `pdfinfo` and `pdfdetach` against the original.

use std::path::Path;
use std::process::Command;

use mail_parser::{MessageParser, MimeHeaders};
use mugai_core::{Engine, Envelope, Policy, Verdict};
use mugai_e2e::sample;

fn pdf_samples() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for folder in ["files", "content"] {
        for entry in std::fs::read_dir(sample(folder)).expect("samples") {
            let path = entry.expect("entry").path();
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            if !(name.ends_with(".pdf") || name.ends_with(".pdf.in.zip")) {
                continue;
            }
            let bytes = std::fs::read(&path).expect("sample");
            out.push(mugai_core::input::sample_file(&name, bytes).expect("decodes"));
        }
    }
    out.sort();
    out
}

fn run(program: &str, args: &[&str], file: &Path) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .arg(file)
        .output()
        .unwrap_or_else(|e| {
            panic!("{program}: {e} (poppler-utils comes with tests/install-peers.sh)")
        });
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn words(text: &str) -> Vec<&str> {
    text.split_whitespace().collect()
}

#[test]
fn rebuilt_pdfs_render_and_keep_their_text() {
    // The active samples are attacks on their face; here they are only
    // tagged, so that what is delivered can be opened.
    let policy = Policy::from_toml("[inbound.lure]\ntag = 4.0\n").expect("policy");
    let engine = Engine::new(policy);
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut rebuilt, mut with_text) = (0, 0);
    for (name, original) in pdf_samples() {
        let raw = mugai_core::wrap_attachment(&name, &original, "\r\n");
        let outcome = engine.process(&raw, &Envelope::default());
        assert_eq!(
            outcome.verdict,
            Verdict::Deliver,
            "{name}: {:?}",
            outcome.report.reason
        );
        let part = &outcome.report.parts[1];
        if part.disarmed.is_none() {
            // Removed (a password is needed, or it cannot be read) or left
            // alone: nothing new to open.
            continue;
        }
        let message = outcome.message.expect("delivered");
        let parsed = MessageParser::default().parse(&message).expect("a message");
        let delivered = parsed
            .attachments()
            .find(|a| a.attachment_name().is_some())
            .unwrap_or_else(|| panic!("{name}: the PDF was delivered"))
            .contents()
            .to_vec();
        let (a, b) = (dir.path().join("a.pdf"), dir.path().join("b.pdf"));
        std::fs::write(&a, &original).expect("write");
        std::fs::write(&b, &delivered).expect("write");
        rebuilt += 1;
        if run("pdfinfo", &[], &a).is_none() {
            // Poppler cannot open the original either (no page tree):
            // there is nothing it could show of the rebuilt one.
            continue;
        }
        let info =
            run("pdfinfo", &[], &b).unwrap_or_else(|| panic!("{name}: pdfinfo cannot open it"));
        assert!(!info.contains("JavaScript:     yes"), "{name}: {info}");
        assert!(!info.contains("Encrypted:      yes"), "{name}: {info}");
        let attachments = run("pdfdetach", &["-list"], &b).expect("pdfdetach");
        assert!(
            attachments.starts_with("0 embedded files"),
            "{name}: {attachments}"
        );
        let page = dir.path().join("page");
        let rendered = Command::new("pdftoppm")
            .args(["-r", "20", "-f", "1", "-l", "1", "-png"])
            .arg(&b)
            .arg(&page)
            .status()
            .expect("pdftoppm");
        assert!(rendered.success(), "{name}: pdftoppm cannot render it");
        // Text: the same words, when poppler can read the original at all.
        let text = |p: &Path| {
            let out = Command::new("pdftotext")
                .arg("-q")
                .arg(p)
                .arg("-")
                .output()
                .expect("pdftotext");
            out.status
                .success()
                .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
        };
        let after = text(&b).unwrap_or_else(|| panic!("{name}: pdftotext cannot read it"));
        if let Some(before) = text(&a) {
            assert_eq!(words(&before), words(&after), "{name}: text changed");
            if !words(&before).is_empty() {
                with_text += 1;
            }
        }
    }
    assert!(rebuilt >= 40, "only {rebuilt} PDFs rebuilt");
    assert!(
        with_text >= 30,
        "only {with_text} PDFs compared by their text"
    );
}
