//! Disarmed Office documents still open, in LibreOffice, with their text.
//!
//! Each sample is sanitized by the real binary; the attachment it delivers
//! and the original are both converted by `soffice --headless` to
//! OpenDocument, and the text of the two is compared.

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use mail_parser::{MessageParser, MimeHeaders};
use mugai_e2e::{mugai, sample};

/// Samples whose active content is disarmed (see their expectations), the
/// OpenDocument format LibreOffice converts them to, and whether the text
/// must stay the same (a removed DDE formula shows its cached value instead
/// of LibreOffice's error; a MACROBUTTON field shows text written in its
/// own instruction, which goes with it).
/// (Left out: ot_rtfobj_issue_251.rtf, gen_rtf_package_lnk.rtf and
/// gen_rtf_hidden_objdata.rtf, whose originals LibreOffice refuses to open,
/// so there is no text to compare with.)
const CASES: [(&str, &str, bool); 37] = [
    ("files/tk_testWORD_macros.docm.in.zip", "odt", true),
    ("files/poi_SimpleMacro.docm.in.zip", "odt", true),
    ("files/ot_oleform-PR314.docm.in.zip", "odt", true),
    ("files/ot_dde-test.docx.in.zip", "odt", false),
    ("files/tk_testAttachedTemplate.docx.in.zip", "odt", true),
    ("files/ot_external_link_to_doc.docx.in.zip", "odt", true),
    ("files/ot_embedded-simple-2007.docx.in.zip", "odt", true),
    ("files/tk_testEXCEL_macro.xlsm.in.zip", "ods", true),
    ("files/ot_dde-test.xlsx.in.zip", "ods", true),
    ("files/tk_testDdeLink.xlsx.in.zip", "ods", true),
    ("files/tk_testPPT_macros.pptm.in.zip", "odp", true),
    ("files/tk_testWORD_macros.doc.in.zip", "odt", true),
    ("files/ot_dde-test-from-office2016.doc.in.zip", "odt", true),
    ("files/ot_embedded-simple-2007.doc.in.zip", "odt", true),
    ("files/ot_sample_with_lnk_file.doc.in.zip", "odt", true),
    ("files/ot_sample_with_calc_embedded.doc.in.zip", "odt", true),
    ("files/poi_SimpleMacro.xls.in.zip", "ods", true),
    ("files/tk_testEXCEL_macro.xls.in.zip", "ods", true),
    ("files/ds_TaskManager.xls.in.zip", "ods", true),
    ("files/gen_rtf_package_eicar.rtf.in.zip", "odt", true),
    ("files/tk_testODTMacro.odt.in.zip", "odt", true),
    ("office/gen_docm_autoopen_shell.docm.in.zip", "odt", true),
    ("office/gen_docm_customui_onload.docm.in.zip", "odt", true),
    ("office/gen_dotm_autonew.dotm.in.zip", "odt", true),
    ("office/gen_docx_activex.docx.in.zip", "odt", true),
    ("office/gen_docx_dde_split_runs.docx.in.zip", "odt", true),
    ("office/gen_docx_remote_template.docx.in.zip", "odt", true),
    ("office/gen_docx_follina_mhtml.docx.in.zip", "odt", true),
    (
        "office/gen_docx_packager_embedding.docx.in.zip",
        "odt",
        true,
    ),
    (
        "office/gen_xlsm_workbook_open_powershell.xlsm.in.zip",
        "ods",
        true,
    ),
    ("office/gen_xlsx_dde_formula.xlsx.in.zip", "ods", false),
    ("office/gen_pptm_auto_open.pptm.in.zip", "odp", true),
    ("office/gen_doc_autoopen.doc.in.zip", "odt", true),
    ("office/gen_xls_workbook_open.xls.in.zip", "ods", true),
    (
        "office/gen_rtf_objautlink_objupdate.rtf.in.zip",
        "odt",
        true,
    ),
    ("office/gen_rtf_ddeauto.rtf.in.zip", "odt", true),
    ("files/tk_testRTFEmbeddedFiles.rtf.in.zip", "odt", true),
];

/// The original file of a `.in.zip` sample.
fn original(rel: &str) -> (String, Vec<u8>) {
    let bytes = std::fs::read(sample(rel)).expect("sample");
    mugai_core::input::decode_container(&bytes).expect("a sample container")
}

/// The attachment `mugai sanitize` delivers for a mail carrying the file:
/// its name and bytes.
fn disarmed(rel: &str, name: &str, bytes: &[u8], dir: &Path) -> (String, Vec<u8>) {
    let (input, out) = (dir.join("in.eml"), dir.join("out.eml"));
    std::fs::write(&input, mugai_core::wrap_attachment(name, bytes, "\r\n")).expect("write");
    // These are attacks on their face (auto-run macros that shell out): with
    // YARA's weight their lure score holds them. Here they are only tagged,
    // so that what disarming delivers can be opened.
    let policy = dir.join("policy.toml");
    std::fs::write(&policy, "[inbound.lure]\ntag = 4.0\n").expect("policy");
    let status = mugai()
        .arg("sanitize")
        .arg("--policy")
        .arg(&policy)
        .arg(&input)
        .arg("-o")
        .arg(&out)
        .status()
        .expect("mugai runs");
    assert_eq!(status.code(), Some(1), "{rel}: something was found");
    let raw = std::fs::read(&out).expect("output");
    let msg = MessageParser::default().parse(&raw).expect("a message");
    let part = msg
        .attachments()
        .find(|a| a.attachment_name().is_some())
        .unwrap_or_else(|| panic!("{rel}: the document was delivered"));
    (
        part.attachment_name().expect("named").to_owned(),
        part.contents().to_vec(),
    )
}

/// Converts every file in `files` to `format` with one LibreOffice run.
fn convert(files: &[PathBuf], format: &str, out: &Path, profile: &Path) {
    let mut cmd = Command::new("soffice");
    cmd.arg(format!(
        "-env:UserInstallation=file://{}",
        profile.display()
    ))
    .args([
        "--headless",
        "--norestore",
        "--convert-to",
        format,
        "--outdir",
    ])
    .arg(out)
    .args(files);
    let status = cmd
        .output()
        .unwrap_or_else(|e| panic!("soffice: {e} (LibreOffice comes with tests/install-peers.sh)"));
    assert!(status.status.success(), "{cmd:?}: {status:?}");
}

/// The text paragraphs of an OpenDocument file's content.xml.
fn odf_text(path: &Path) -> BTreeSet<String> {
    let file = std::fs::File::open(path)
        .unwrap_or_else(|e| panic!("{}: LibreOffice did not convert it: {e}", path.display()));
    let mut zip = zip::ZipArchive::new(file).expect("an ODF package");
    let mut xml = String::new();
    zip.by_name("content.xml")
        .expect("content.xml")
        .read_to_string(&mut xml)
        .expect("utf-8");
    // Paragraphs and cells end at their closing tags; other tags vanish.
    let mut text = String::new();
    let mut in_tag = false;
    let mut tag = String::new();
    for c in xml.chars() {
        match (in_tag, c) {
            (false, '<') => {
                in_tag = true;
                tag.clear();
            }
            (false, c) => text.push(c),
            (true, '>') => {
                in_tag = false;
                if tag.starts_with("/text:p") || tag.starts_with("/text:h") {
                    text.push('\n');
                }
            }
            (true, c) => tag.push(c),
        }
    }
    text.lines()
        .map(|l| l.trim().replace("&amp;", "&").replace("&quot;", "\""))
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn disarmed_documents_open_in_libreoffice_with_their_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let profile = dir.path().join("profile");
    let (before, after) = (dir.path().join("before"), dir.path().join("after"));
    let mut jobs: Vec<(&str, &str, bool, PathBuf, PathBuf)> = Vec::new();
    for (i, (rel, format, same)) in CASES.iter().enumerate() {
        let work = dir.path().join(format!("case{i}"));
        std::fs::create_dir_all(&work).expect("mkdir");
        let (name, bytes) = original(rel);
        let (new_name, new_bytes) = disarmed(rel, &name, &bytes, &work);
        assert_ne!(bytes, new_bytes, "{rel}: rebuilt");
        // Distinct stems, so both conversions of a case land side by side.
        let a = work.join(format!("orig{i}_{name}"));
        let b = work.join(format!("disarmed{i}_{new_name}"));
        std::fs::write(&a, bytes).expect("write");
        std::fs::write(&b, new_bytes).expect("write");
        jobs.push((rel, format, *same, a, b));
    }
    for format in ["odt", "ods", "odp"] {
        let originals: Vec<PathBuf> = jobs
            .iter()
            .filter(|j| j.1 == format)
            .map(|j| j.3.clone())
            .collect();
        let rebuilt: Vec<PathBuf> = jobs
            .iter()
            .filter(|j| j.1 == format)
            .map(|j| j.4.clone())
            .collect();
        convert(&originals, format, &before, &profile);
        convert(&rebuilt, format, &after, &profile);
    }
    for (rel, format, same, a, b) in &jobs {
        let converted = |dir: &Path, p: &Path| {
            let stem = p.file_stem().expect("stem").to_string_lossy().into_owned();
            dir.join(format!("{stem}.{format}"))
        };
        let (was, is) = (
            odf_text(&converted(&before, a)),
            odf_text(&converted(&after, b)),
        );
        // (ot_external_link_to_doc.docx holds nothing but its linked object.)
        assert!(
            !is.is_empty() || was.is_empty(),
            "{rel}: no text after disarm"
        );
        let lost: Vec<&String> = was.difference(&is).collect();
        let gained: Vec<&String> = is.difference(&was).collect();
        assert!(
            !same || (lost.is_empty() && gained.is_empty()),
            "{rel}: text changed\n lost: {lost:?}\n gained: {gained:?}"
        );
    }
}
