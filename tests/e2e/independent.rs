//! What mugai delivers, checked with tools it did not write: oletools'
//! olevba, msodde, rtfobj and oleobj, and pikepdf
//! (`tests/independent_check.py`) over every attachment delivered from the
//! corpus, and every member of the zips among them. The same tools run over a few
//! originals first, so that a checker that sees nothing fails the test
//! instead of passing it.

use std::path::Path;
use std::process::Command;

use mail_parser::{MessageParser, MimeHeaders};
use mugai_core::{Engine, Envelope, Policy, Verdict, input};
use mugai_e2e::{root, sample};

/// What the checker saw in a folder.
struct Checked {
    /// Files in the folder.
    files: u64,
    /// Members of the zips among them, at any depth.
    members: u64,
    /// `file tool what`, one per active thing found.
    active: Vec<String>,
}

/// Runs the checker over `dir`.
fn independent_check(dir: &Path) -> Checked {
    let out = Command::new("python3")
        .arg(root().join("tests/independent_check.py"))
        .arg(dir)
        .output()
        .expect("python3 runs (tests/install-peers.sh installs oletools)");
    assert!(
        out.status.success(),
        "independent_check.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let files = report["checked"].as_u64().expect("checked");
    let members = report["members"].as_u64().expect("members");
    let active = report["active"]
        .as_array()
        .expect("active")
        .iter()
        .map(|a| a.to_string())
        .collect();
    Checked {
        files,
        members,
        active,
    }
}

/// Every attachment of `message`, written into `dir` under a unique name
/// that keeps its extension (the tools pick their parser by it, too).
fn write_attachments(message: &[u8], label: &str, dir: &Path, n: &mut usize) {
    let parsed = MessageParser::default().parse(message).expect("parses");
    for part in parsed.attachments() {
        let name = part.attachment_name().unwrap_or("part.bin");
        let ext = Path::new(name)
            .extension()
            .map_or("bin".into(), |e| e.to_string_lossy().into_owned());
        *n += 1;
        let file = dir.join(format!("{n:04}-{}.{ext}", label.replace(['/', '.'], "_")));
        std::fs::write(file, part.contents()).expect("write");
    }
}

#[test]
fn delivered_attachments_show_no_active_content_to_independent_tools() {
    // The tools find what they should in originals mugai disarms.
    let originals = tempfile::tempdir().expect("tempdir");
    for rel in [
        "files/poi_SimpleMacro.docm.in.zip",
        "files/ot_dde-test.docx.in.zip",
        "files/gen_rtf_package_eicar.rtf.in.zip",
        "office/gen_docx_packager_embedding.docx.in.zip",
        "files/gen_pdf_js_openaction.pdf.in.zip",
    ] {
        let path = sample(rel);
        let bytes = std::fs::read(&path).expect("sample");
        let (name, data) = input::sample_file(rel, bytes).expect("decodes");
        let file = Path::new(&name).file_name().expect("name");
        std::fs::write(originals.path().join(file), data).expect("write");
    }
    let Checked { files, active, .. } = independent_check(originals.path());
    assert_eq!(files, 5);
    for tool in ["olevba", "msodde", "rtfobj", "oleobj", "pikepdf"] {
        assert!(
            active.iter().any(|a| a.contains(tool)),
            "{tool} found nothing in the originals: {active:?}"
        );
    }

    // Then everything the engine delivers from the corpus.
    let engine = Engine::new(Policy::default());
    let delivered = tempfile::tempdir().expect("tempdir");
    let mut written = 0;
    let mut messages = 0;
    for folder in ["files", "office", "deny", "mail", "content"] {
        let mut paths: Vec<_> = std::fs::read_dir(sample(folder))
            .expect("folder")
            .map(|e| e.expect("entry").path())
            .collect();
        paths.sort();
        for path in paths {
            let name = path
                .file_name()
                .expect("name")
                .to_string_lossy()
                .into_owned();
            if name.ends_with(".json") || name.ends_with(".md") || name.ends_with(".failed") {
                continue;
            }
            let bytes = std::fs::read(&path).expect("sample");
            for item in input::items(&name, &bytes, "\r\n").expect("sample decodes") {
                let out = engine.process(&item.message, &Envelope::default());
                if out.verdict != Verdict::Deliver {
                    continue;
                }
                messages += 1;
                let message = out.message.expect("a delivered message");
                write_attachments(&message, &item.label, delivered.path(), &mut written);
            }
        }
    }
    assert!(messages > 150, "only {messages} messages delivered");
    let Checked {
        files,
        members,
        active,
    } = independent_check(delivered.path());
    assert_eq!(files as usize, written);
    assert!(files > 100, "only {files} attachments checked");
    assert!(members > 10, "only {members} zip members checked");
    assert!(
        active.is_empty(),
        "oletools or pikepdf found active content in what mugai delivered:\n{}",
        active.join("\n")
    );
}
