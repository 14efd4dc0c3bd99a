//! Properties of the engine that the corpus alone does not pin down.

use mail_parser::MimeHeaders;
use mugai_core::{Engine, Envelope, Limits, Policy, Verdict, wrap_attachment};

fn engine() -> Engine {
    Engine::new(Policy::default())
}

/// A file under samples/.
fn sample(rel: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples")
        .join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn deliver(raw: &[u8]) -> Vec<u8> {
    let out = engine().process(raw, &Envelope::default());
    assert_eq!(out.verdict, Verdict::Deliver, "{:?}", out.report.reason);
    out.message.expect("delivered message")
}

#[test]
fn clean_mail_keeps_its_bytes_below_our_headers() {
    let raw = b"From: a@example.jp\r\nTo: b@example.jp\r\nSubject: hi\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nhello\r\n\
--b1\r\nContent-Type: text/csv; name=\"a.csv\"\r\nContent-Transfer-Encoding: base64\r\n\r\n\
5bm0LOS7tuaVsAoyMDI2LDMK\r\n--b1--\r\n";
    let out = deliver(raw);
    let text = String::from_utf8(out).unwrap();
    let (ours, rest) = text.split_at(text.find("From:").unwrap());
    assert!(ours.starts_with("X-Mugai-Verdict: clean;"));
    assert!(ours.contains("X-Mugai-Message-SHA256: "));
    assert_eq!(rest.as_bytes(), raw);
}

#[test]
fn forged_verdict_headers_are_dropped() {
    let raw =
        b"X-Mugai-Verdict: clean\r\nFrom: a@example.jp\r\nx-mugai-actions: none\r\n\r\nhi\r\n";
    let text = String::from_utf8(deliver(raw)).unwrap();
    assert_eq!(text.matches("X-Mugai-Verdict").count(), 1);
    assert_eq!(
        text.to_ascii_lowercase().matches("x-mugai-actions").count(),
        1
    );
}

#[test]
fn removed_part_leaves_a_notice_and_the_rest() {
    let raw = wrap_attachment("請求書.pdf.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00 a tiny program body that is long enough", "\r\n");
    let out = engine().process(&raw, &Envelope::default());
    assert_eq!(out.verdict, Verdict::Deliver);
    let part = &out.report.parts[1];
    assert_eq!(part.declared_name.as_deref(), Some("請求書.pdf.exe"));
    let kinds: Vec<_> = part.findings.iter().map(|f| f.kind.name()).collect();
    assert!(
        kinds.contains(&"executable") && kinds.contains(&"double_extension"),
        "{kinds:?}"
    );
    let message = out.message.unwrap();
    let parsed = mail_parser::MessageParser::default()
        .parse(&message)
        .unwrap();
    assert!(
        parsed
            .attachments()
            .all(|a| a.attachment_name() != Some("請求書.pdf.exe"))
    );
    let texts: Vec<String> = (0..parsed.text_body_count())
        .filter_map(|i| parsed.body_text(i).map(|t| t.into_owned()))
        .collect();
    let all = texts.join("\n");
    assert!(all.contains("削除されました"), "{all}");
    assert!(all.contains("請求書.pdf.exe"), "{all}");
    assert!(all.contains("scan"), "original body kept: {all}");
}

#[test]
fn ambiguous_base64_is_reencoded_from_what_was_inspected() {
    let raw = b"From: a@example.jp\r\nContent-Type: application/octet-stream; name=x.bin\r\n\
Content-Transfer-Encoding: base64\r\n\r\naGVs bG8=garbage\r\n";
    let out = String::from_utf8(deliver(raw)).unwrap();
    assert!(out.ends_with("\r\n\r\naGVsbG8="), "{out}");
}

#[test]
fn oversized_message_is_not_delivered() {
    let policy = Policy {
        limits: Limits {
            max_message_bytes: 100,
            ..Limits::default()
        },
        ..Policy::default()
    };
    let out = Engine::new(policy).process(&[b'a'; 200], &Envelope::default());
    assert_eq!(out.verdict, Verdict::Quarantine);
    assert!(out.message.is_none());
}

#[test]
fn time_limit_fails_closed() {
    let policy = Policy {
        limits: Limits {
            max_time_ms: 0,
            ..Limits::default()
        },
        ..Policy::default()
    };
    let raw = wrap_attachment("a.txt", b"hello", "\r\n");
    let out = Engine::new(policy).process(&raw, &Envelope::default());
    assert_eq!(out.verdict, Verdict::Quarantine, "{:?}", out.report);
    assert!(out.message.is_none());
}

#[test]
fn reject_policy_rejects() {
    let policy = Policy::from_toml("[inbound.actions]\nexecutable = \"reject\"\n").unwrap();
    let raw = wrap_attachment("setup.exe", b"anything", "\r\n");
    let out = Engine::new(policy).process(&raw, &Envelope::default());
    assert_eq!(out.verdict, Verdict::Reject);
    assert!(out.report.reason.unwrap().contains("executable"));
}

#[test]
fn truncated_inputs_never_panic_or_pass() {
    let raw = wrap_attachment("a.zip", b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "\r\n");
    for cut in 0..raw.len() {
        let out = engine().process(&raw[..cut], &Envelope::default());
        assert_ne!(
            out.verdict,
            Verdict::Tempfail,
            "cut at {cut}: {:?}",
            out.report.reason
        );
    }
}

/// Japanese subjects and attachment names decode from every charset and
/// encoding style Japanese mail uses, so names are judged as people see them.
#[test]
fn japanese_headers_and_names_decode() {
    for (file, subject, names) in [
        (
            "ja_iso2022jp_clean_pdf.eml",
            "先日の会議の資料です",
            &["会議資料.pdf"][..],
        ),
        ("ja_sjis_8bit.eml", "請求書を送付します", &[][..]),
        ("ja_eucjp_8bit.eml", "議事録の送付", &[][..]),
        (
            "ja_rfc2231_docx_xlsx.eml",
            "見積書と仕様書",
            &["仕様書（第2版）.docx", "見積書.xlsx"][..],
        ),
    ] {
        let raw = sample(&format!("mail/{file}"));
        let out = engine().process(&raw, &Envelope::default());
        assert_eq!(
            out.report.message.subject.as_deref(),
            Some(subject),
            "{file}"
        );
        let got: Vec<&str> = out
            .report
            .parts
            .iter()
            .filter_map(|p| p.declared_name.as_deref())
            .collect();
        assert_eq!(got, names, "{file}");
    }
    let raw = sample("mail/ja_sjis_8bit.eml");
    let parsed = mail_parser::MessageParser::default().parse(&raw).unwrap();
    assert!(parsed.body_text(0).unwrap().contains("請求書を送付します"));
}

/// Regression: fuzz/mime crash-179ff5a1. mail-parser gave up on a garbled
/// base64 message/rfc822 and handed it over as text; re-encoded, it became a
/// real enclosed message. It must be parsed and inspected as one.
#[test]
fn garbled_base64_enclosed_message_is_inspected_as_a_message() {
    let raw = sample("hostile/fuzz_mime_179ff5a1_garbled_base64_rfc822.eml");
    assert_eq!(mugai_core::internal::mime_round_trip(&raw), Ok(Some(2)));
    let out = engine().process(&raw, &Envelope::default());
    assert_eq!(out.verdict, Verdict::Deliver, "{:?}", out.report.reason);
    let paths: Vec<&str> = out.report.parts.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["1", "2.1"]);
}

/// Regression: fuzz/mime crash-9b7fcd23. An identity message/rfc822 that
/// mail-parser could not parse in place became a (different) message once
/// re-emitted. Opaque container parts now leave as application/octet-stream.
#[test]
fn unparseable_enclosed_message_leaves_as_opaque_bytes() {
    let raw = sample("hostile/fuzz_mime_9b7fcd23_unparseable_rfc822.eml");
    assert_eq!(mugai_core::internal::mime_round_trip(&raw), Ok(Some(2)));
    let out = String::from_utf8_lossy(&deliver(&raw)).into_owned();
    assert!(!out.contains("message/rfc822"), "{out}");
}

/// Regression: fuzz/mime crash-8c7b029f. A single-part body without a final
/// line break got one added, which changed its content (and verification
/// then quarantined a harmless message); and the blank line ending a header
/// block must keep its own bytes when line endings are mixed.
#[test]
fn bodies_and_blank_lines_keep_their_bytes() {
    for raw in [
        &b"From tanaka@example.lg Mon Nov 16 09\nfirst\n\n: two\n\nsecond\n?"[..],
        b"From: a@example.jp\r\nSubject: mixed\n\nbody\n",
        b"From: a@example.jp\r\n\r\nno final line break",
        // fuzz/mime crash-59e1347a: headers only, no blank line, no body.
        b"From: a@example.jp\nfirs",
    ] {
        // The last line is ended, as SMTP delivers it, with the message's
        // own line ending.
        let mut ended = raw.to_vec();
        if !raw.ends_with(b"\n") {
            let crlf = raw
                .iter()
                .position(|&c| c == b'\n')
                .is_some_and(|i| i > 0 && raw[i - 1] == b'\r');
            ended.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        }
        let out = deliver(raw);
        assert!(out.ends_with(&ended), "{:?}", String::from_utf8_lossy(&out));
    }
    // No header field at all: unparseable once its last line is ended, as
    // it is when it comes by SMTP; held, not passed.
    let out = engine().process(b"Fro Nov 56 09\nfirs", &Envelope::default());
    assert_eq!(out.verdict, Verdict::Quarantine, "{:?}", out.report.reason);
}

/// A message refused for a limit is still named in its audit record.
#[test]
fn quarantined_message_keeps_its_headline() {
    let (_, raw) =
        mugai_core::input::decode_container(&sample("hostile/mime_parts_5000.eml.in.zip")).unwrap();
    let out = engine().process(&raw, &Envelope::default());
    assert_eq!(out.verdict, Verdict::Quarantine);
    let m = &out.report.message;
    assert_eq!(m.subject.as_deref(), Some("many"));
    assert_eq!(
        m.from.as_deref(),
        Some("Tanaka Taro <tanaka@example.lg.jp>")
    );
    assert!(m.message_id.is_some());
}

/// Walkers stop at the first bomb in a part; what they skip is a limit, so
/// a policy that keeps bombs still never delivers the members unread.
#[test]
fn members_after_a_bomb_are_never_passed_unread() {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default();
    zip.start_file("zeros.bin", deflated).unwrap();
    std::io::Write::write_all(&mut zip, &vec![0u8; 4 << 20]).unwrap();
    zip.start_file("setup.txt", deflated).unwrap();
    std::io::Write::write_all(&mut zip, b"MZ not inspected").unwrap();
    let bytes = zip.finish().unwrap().into_inner();
    let raw = wrap_attachment("docs.zip", &bytes, "\r\n");

    let policy = Policy::from_toml("[inbound.actions]\narchive_bomb = \"keep\"\n").unwrap();
    let out = Engine::new(policy).process(&raw, &Envelope::default());
    let part = out
        .report
        .parts
        .iter()
        .find(|p| p.declared_name.as_deref() == Some("docs.zip"))
        .expect("the zip");
    let kinds: Vec<_> = part.findings.iter().map(|f| f.kind.name()).collect();
    assert_eq!(kinds, ["archive_bomb", "limit_exceeded"], "{part:?}");
    assert_eq!(part.action, mugai_core::PartAction::Remove);
}

#[test]
fn an_html_attachment_that_sniffs_as_text_is_still_sanitized() {
    let raw = mugai_core::wrap_attachment(
        "請求書.html",
        b"<img src=x onerror=\"location='https://evil.example/'\"><p>invoice</p>",
        "\r\n",
    );
    let out = deliver(&raw);
    let msg = mail_parser::MessageParser::default()
        .parse(&out)
        .expect("a message");
    let part = msg.attachment(0).expect("the attachment is delivered");
    let html = String::from_utf8_lossy(part.contents());
    assert!(
        !html.contains("onerror") && !html.contains("evil.example"),
        "{html}"
    );
    assert!(html.contains("invoice"), "{html}");
}

/// fuzz lure eae748e7: a From field cut off by the end of the input had no
/// address for the parser; the delivered copy, its line ended, had one and
/// scored higher, over the quarantine threshold.
#[test]
fn fuzz_lure_eae748e7_a_last_line_without_its_end_is_read_as_delivered() {
    let raw = "Return-Path: <info@other.example.net>\r\n\
Authentication-Results: mx.city.example.lg.jp; spf=fail smtp.mailfrom=example-partner.co.jp; \
dmarc=fail (p=reject dis=none) header.from=example-partner.co.jp\r\n\
From: 経理 <keiri@example-partner.co.jp>";
    let engine = mugai_core::internal::lure_engine();
    let out = engine.process(raw.as_bytes(), &Envelope::default());
    assert_eq!(
        out.report.message.from.as_deref(),
        Some("経理 <keiri@example-partner.co.jp>")
    );
    let lure = out.report.lure.as_ref().expect("scored");
    assert!(
        lure.symbols
            .iter()
            .any(|s| s.name == "ENVFROM_OTHER_DOMAIN"),
        "{lure:?}"
    );
    mugai_core::internal::check_lure(&engine, raw.as_bytes()).unwrap();
}

/// fuzz lure bf44f4d2 (and engine 0dadcbd1): a message with a `Subject`
/// line without a colon panicked (and so tempfailed) when it was tagged.
#[test]
fn fuzz_lure_bf44f4d2_tagging_a_subject_line_without_a_colon() {
    let raw = sample("hostile/fuzz_lure_bf44f4d2_subject_line_without_a_colon.eml");
    let engine = mugai_core::internal::lure_engine();
    let out = engine.process(&raw, &Envelope::default());
    assert_eq!(out.verdict, Verdict::Deliver, "{:?}", out.report.reason);
    let lure = out.report.lure.as_ref().expect("scored");
    assert_eq!(lure.action, mugai_core::LureAction::Tag, "{lure:?}");
    mugai_core::internal::check_lure(&engine, &raw).unwrap();
}

/// fuzz lure e9d6d7f6: a part declared `multipart/mixe<NUL>` was removed
/// under default-deny, and its notice quoted the declared type, NUL and
/// all: the notice itself was no text the next time it was inspected.
#[test]
fn fuzz_lure_e9d6d7f6_a_notice_never_quotes_control_characters() {
    let raw = sample("hostile/fuzz_lure_e9d6d7f6_nul_in_a_declared_type.eml");
    let engine = mugai_core::internal::lure_engine();
    let out = engine.process(&raw, &Envelope::default());
    assert_eq!(out.verdict, Verdict::Deliver, "{:?}", out.report.reason);
    let delivered = out.message.as_ref().expect("delivered");
    let again = engine.process(delivered, &Envelope::default());
    assert!(
        again.report.parts.iter().all(|p| p.findings.is_empty()),
        "{:?}",
        again.report.parts
    );
    mugai_core::internal::check_lure(&engine, &raw).unwrap();
}

/// fuzz disarm bd16e67a: a compound file of no kind mugai checks was
/// rebuilt without its VBA storage, and the copy, still of no such kind,
/// was `unknown_type`. Under default-deny it is never delivered, so it is
/// not rebuilt either; the engine removes it.
#[test]
fn fuzz_disarm_bd16e67a_an_unchecked_compound_file_is_not_rebuilt() {
    let (_, raw) = mugai_core::input::sample_file(
        "fuzz_disarm_bd16e67a_generic_ole.bin.in.zip",
        sample("hostile/fuzz_disarm_bd16e67a_generic_ole.bin.in.zip"),
    )
    .expect("decodes");
    assert_eq!(mugai_core::identify(&raw), mugai_core::FileType::Ole);
    mugai_core::internal::check_disarm(&raw).unwrap();
    let out = Engine::new(Policy::default()).process(
        &wrap_attachment("a.bin", &raw, "\r\n"),
        &Envelope::default(),
    );
    assert_eq!(
        out.report.parts[1].action,
        mugai_core::PartAction::Remove,
        "{:?}",
        out.report.parts
    );
}

/// A zip of these members, deflated.
fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let deflated = zip::write::SimpleFileOptions::default();
    for (name, data) in members {
        zip.start_file(*name, deflated).expect("member");
        std::io::Write::write_all(&mut zip, data).expect("member data");
    }
    zip.finish().expect("zip").into_inner()
}

/// The members of the attachment `name` in a delivered message.
fn delivered_members(message: &[u8], name: &str) -> Vec<(String, Vec<u8>)> {
    let parsed = mail_parser::MessageParser::default()
        .parse(message)
        .expect("delivered message");
    let part = parsed
        .attachments()
        .find(|a| a.attachment_name() == Some(name))
        .unwrap_or_else(|| panic!("{name} not delivered"));
    let mut zip =
        zip::ZipArchive::new(std::io::Cursor::new(part.contents().to_vec())).expect("a zip");
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).expect("member");
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut f, &mut data).expect("member data");
            (f.name().expect("name").into_owned(), data)
        })
        .collect()
}

#[test]
fn an_archive_loses_its_unwanted_members_and_keeps_the_rest() {
    let (_, docm) =
        mugai_core::input::decode_container(&sample("office/gen_docm_autoopen_shell.docm.in.zip"))
            .unwrap();
    let program: &[u8] = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00 a program";
    let inner = zip_of(&[
        (
            "run.js",
            b"WScript.CreateObject('WScript.Shell').Run('calc')",
        ),
        ("readme.txt", b"inner notes"),
    ]);
    let outer = zip_of(&[
        ("議事録.txt", "会議の議事録です".as_bytes()),
        ("setup.exe", program),
        ("報告.docm", &docm),
        ("more/inner.zip", &inner),
    ]);
    let raw = wrap_attachment("資料.zip", &outer, "\r\n");
    // What the archive carries would quarantine the message; scoring is not
    // what this test is about.
    let mut policy = Policy::default();
    policy.inbound.lure = Some(mugai_core::LurePolicy {
        quarantine: None,
        ..policy.lure(mugai_core::Direction::Inbound)
    });
    let out = Engine::new(policy).process(&raw, &Envelope::default());
    assert_eq!(out.verdict, Verdict::Deliver, "{:?}", out.report.reason);
    let part = &out.report.parts[1];
    assert_eq!(part.action, mugai_core::PartAction::Disarm, "{part:?}");
    let removed = &part.disarmed.as_ref().expect("rebuilt").removed;
    assert!(
        removed.contains(&"setup.exe: removed from the archive".to_owned()),
        "{removed:?}"
    );
    assert!(
        removed.contains(&"more/inner.zip: run.js: removed from the archive".to_owned()),
        "{removed:?}"
    );
    assert!(
        removed
            .iter()
            .any(|r| r.starts_with("報告.docm (now 報告.docx): ")),
        "{removed:?}"
    );

    let members = delivered_members(out.message.as_ref().unwrap(), "資料.zip");
    let names: Vec<&str> = members.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["議事録.txt", "報告.docx", "more/inner.zip"]);
    assert_eq!(
        members[0].1,
        "会議の議事録です".as_bytes(),
        "clean members arrive as they were"
    );
    let again = engine().process(
        &wrap_attachment("x.docx", &members[1].1, "\r\n"),
        &Envelope::default(),
    );
    assert!(
        again.report.parts[1].findings.is_empty(),
        "{:?}",
        again.report.parts[1].findings
    );
    let mut inner = zip::ZipArchive::new(std::io::Cursor::new(members[2].1.clone())).unwrap();
    assert_eq!(inner.len(), 1);
    assert_eq!(inner.by_index(0).unwrap().name().unwrap(), "readme.txt");
}

#[test]
fn an_archive_with_nothing_left_or_a_bomb_goes_whole() {
    let program: &[u8] = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00 a program";
    let only_bad = zip_of(&[("setup.exe", program)]);
    let bomb = zip_of(&[("zeros.bin", &vec![0u8; 4 << 20]), ("readme.txt", b"notes")]);
    for (zip, why) in [
        (only_bad, "no member of the archive could be kept"),
        (bomb, ""),
    ] {
        let out = engine().process(
            &wrap_attachment("a.zip", &zip, "\r\n"),
            &Envelope::default(),
        );
        let part = &out.report.parts[1];
        assert_eq!(part.action, mugai_core::PartAction::Remove, "{part:?}");
        assert_eq!(part.disarm_failed.as_deref().unwrap_or(""), why);
        let parsed = mail_parser::MessageParser::default()
            .parse(out.message.as_ref().unwrap())
            .unwrap();
        assert!(
            parsed
                .attachments()
                .all(|a| a.attachment_name() != Some("a.zip"))
        );
    }
}

#[test]
fn a_zip_at_the_end_of_another_container_does_not_cross() {
    // A tar (walked, not rebuilt) with a clean member, and a zip holding a
    // program after it: a zip reader opening `files.zip` finds the zip.
    let mut tar = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(5);
    header.set_mode(0o644);
    header.set_cksum();
    tar.append_data(&mut header, "readme.txt", &b"notes"[..])
        .expect("member");
    let tar = tar.into_inner().expect("tar");
    let program: &[u8] = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00 a program";
    let zip = zip_of(&[("setup.exe", program)]);
    let raw = wrap_attachment(
        "files.zip",
        &[tar.as_slice(), zip.as_slice()].concat(),
        "\r\n",
    );
    let out = engine().process(&raw, &Envelope::default());
    let part = &out.report.parts[1];
    assert!(
        part.findings
            .iter()
            .any(|f| f.kind.name() == "prepended_data"),
        "{part:?}"
    );
    let parsed = mail_parser::MessageParser::default()
        .parse(out.message.as_ref().expect("delivered"))
        .expect("parses");
    for a in parsed.attachments() {
        assert!(
            !a.contents().windows(program.len()).any(|w| w == program),
            "the program crossed"
        );
    }
}

#[test]
fn a_zip_behind_a_prefix_arrives_without_it() {
    // A polyglot: markup a browser renders, or cells a spreadsheet runs,
    // in front of a zip (or an Office package) whose members are clean.
    let script = b"<html><script>alert(1)</script></html>\n".as_slice();
    let cells = b"=cmd|'/c calc'!A0\r\n".as_slice();
    let zip = zip_of(&[("readme.txt", b"notes")]);
    let docx = sample("office/gen_docx_clean_links_fields.docx");
    let nested = zip_of(&[("page.html", &[script, zip.as_slice()].concat())]);
    for (name, prefix, archive) in [
        ("page.html", script, &zip),
        ("data.csv", cells, &zip),
        ("report.html", script, &docx),
        // One level down: a clean zip holding the polyglot.
        ("outer.zip", b"".as_slice(), &nested),
    ] {
        let raw = wrap_attachment(name, &[prefix, archive.as_slice()].concat(), "\r\n");
        let out = engine().process(&raw, &Envelope::default());
        assert_eq!(out.verdict, Verdict::Deliver, "{:?}", out.report.reason);
        let parsed = mail_parser::MessageParser::default()
            .parse(out.message.as_ref().expect("delivered"))
            .expect("parses");
        let crossed = |body: &[u8]| {
            [script, cells]
                .iter()
                .any(|p| body.windows(p.len()).any(|w| w == *p))
        };
        for part in parsed.attachments() {
            let body = part.contents();
            assert!(!crossed(body), "{name}: the prefix crossed");
            // Inside a delivered zip, too.
            if let Ok(mut zip) = zip::ZipArchive::new(std::io::Cursor::new(body.to_vec())) {
                for i in 0..zip.len() {
                    let mut data = Vec::new();
                    std::io::Read::read_to_end(&mut zip.by_index(i).expect("member"), &mut data)
                        .expect("member data");
                    assert!(!crossed(&data), "{name}: the prefix crossed inside it");
                }
            }
        }
    }
}

#[test]
fn a_tnef_part_arrives_as_the_attachments_it_held() {
    let raw = sample("deny/control_tnef_text.eml");
    let out = engine().process(&raw, &Envelope::default());
    assert_eq!(out.verdict, Verdict::Deliver, "{:?}", out.report.reason);
    assert_eq!(out.report.unpacked.len(), 1, "{:?}", out.report.unpacked);
    assert_eq!(out.report.unpacked[0].path, "2");
    assert_eq!(out.report.unpacked[0].kind, "tnef");
    assert!(
        out.report.unpacked[0]
            .detail
            .starts_with("winmail.dat (Outlook TNEF)")
    );
    let delivered = out.message.expect("delivered");
    let text = String::from_utf8_lossy(&delivered);
    assert!(text.contains("X-Mugai-Verdict: rebuilt;"), "{text}");
    assert!(text.contains("X-Mugai-Actions: 2=unpacked(tnef)"), "{text}");
    let msg = mail_parser::MessageParser::default()
        .parse(&delivered)
        .expect("parses");
    let names: Vec<&str> = msg
        .attachments()
        .filter_map(|a| a.attachment_name())
        .collect();
    assert_eq!(names, ["議事録.txt"]);
    let body = msg.attachments().next().expect("one").contents();
    assert_eq!(body, "会議は 3 時からです。\n".as_bytes());
    assert!(!text.contains("ms-tnef"), "no TNEF part is left: {text}");
}

#[test]
fn two_zips_end_to_end_cross_as_the_one_zip_readers_show() {
    let program: &[u8] = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00 a program";
    let first = zip_of(&[("setup.exe", program)]);
    let second = zip_of(&[("readme.txt", b"notes")]);
    let raw = wrap_attachment("files.zip", &[first, second].concat(), "\r\n");
    let out = engine().process(&raw, &Envelope::default());
    let delivered = out.message.expect("delivered");
    let msg = mail_parser::MessageParser::default()
        .parse(&delivered)
        .expect("parses");
    let zip = msg
        .attachments()
        .next()
        .expect("the zip")
        .contents()
        .to_vec();
    assert!(
        !zip.windows(9).any(|w| w == b"setup.exe"),
        "the first archive is gone"
    );
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("a zip");
    assert_eq!(archive.len(), 1);
    assert_eq!(
        archive.by_index(0).expect("member").name().expect("name"),
        "readme.txt"
    );
}

/// fuzz tnef d10d9491 and 21d6264f: binary in a TNEF part whose bytes
/// spell `MIME-Version` and a multipart `Content-Type` was walked as a
/// saved message; its rebuild did not read back the same and the whole
/// message was quarantined. Binary is no header: the part stays one leaf,
/// removed as a type mugai does not check, and the message is delivered.
#[test]
fn fuzz_tnef_binary_that_spells_mime_fields_is_no_saved_message() {
    for name in [
        "hostile/fuzz_tnef_d10d9491_binary_spelling_mime_fields.eml",
        "hostile/fuzz_tnef_21d6264f_binary_spelling_mime_fields.eml",
    ] {
        let raw = sample(name);
        mugai_core::internal::check_message(&raw).unwrap_or_else(|e| panic!("{name}: {e}"));
        let out = engine().process(&raw, &Envelope::default());
        assert_eq!(
            out.verdict,
            Verdict::Deliver,
            "{name}: {:?}",
            out.report.reason
        );
        assert_eq!(out.report.parts.len(), 1, "{name}");
    }
}

/// A TNEF that holds no attachment (an Outlook rich-text body only) is not
/// unpacked into an empty multipart: it goes, with a notice, like any part
/// of a type mugai does not check.
#[test]
fn a_tnef_without_attachments_is_removed_with_a_notice() {
    let record = |level: u8, id: u32, data: &[u8]| {
        let mut r = vec![level];
        r.extend_from_slice(&id.to_le_bytes());
        r.extend_from_slice(&(data.len() as u32).to_le_bytes());
        r.extend_from_slice(data);
        let sum = data.iter().fold(0u16, |s, &c| s.wrapping_add(u16::from(c)));
        r.extend_from_slice(&sum.to_le_bytes());
        r
    };
    let mut tnef = vec![0x78, 0x9f, 0x3e, 0x22, 1, 0];
    tnef.extend(record(1, 0x0008_9006, &[0, 0, 1, 0]));
    tnef.extend(record(1, 0x0002_800C, b"rich text body\0"));
    let raw = wrap_attachment("winmail.dat", &tnef, "\r\n");
    let out = engine().process(&raw, &Envelope::default());
    assert_eq!(out.verdict, Verdict::Deliver, "{:?}", out.report.reason);
    assert!(out.report.unpacked.is_empty());
    let part = out.report.parts.last().expect("the part");
    assert_eq!(part.action, mugai_core::PartAction::Remove, "{part:?}");
}

/// fuzz disarm 9be76464: an RTF that never closes its group, with a zip
/// inside whose end record ends the file and an attached template. The
/// RTF rebuild took the template out and kept the zip, which zip readers
/// still found: a rebuilt file that a zip ends is no rebuild.
#[test]
fn fuzz_disarm_9be76464_a_rebuild_that_a_zip_still_ends_is_refused() {
    let rtf = sample("hostile/fuzz_disarm_9be76464_rtf_ending_in_a_zip.rtf");
    mugai_core::internal::check_disarm(&rtf).expect("no active output");
    let out = engine().process(
        &wrap_attachment("資料.rtf", &rtf, "\r\n"),
        &Envelope::default(),
    );
    let part = out.report.parts.last().expect("the part");
    assert_eq!(part.action, mugai_core::PartAction::Remove, "{part:?}");
}

#[test]
fn a_tar_gz_loses_its_unwanted_members_and_arrives_as_a_zip() {
    let program: &[u8] = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00 a program";
    let inner = zip_of(&[
        ("run.js", b"WScript.Echo(1)"),
        ("readme.txt", b"inner notes"),
    ]);
    let mut tar = tar::Builder::new(Vec::new());
    for (name, data) in [
        ("資料/議事録.txt", "会議の議事録です".as_bytes()),
        ("資料/setup.exe", program),
        ("資料/inner.zip", &inner),
    ] {
        let mut header = tar::Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        tar.append_data(&mut header, name, data).expect("member");
    }
    let tar = tar.into_inner().expect("tar");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &tar).expect("gzip");
    let raw = wrap_attachment("資料.tar.gz", &gz.finish().expect("gzip"), "\r\n");

    let out = engine().process(&raw, &Envelope::default());
    let part = &out.report.parts[1];
    assert_eq!(part.action, mugai_core::PartAction::Disarm, "{part:?}");
    let disarmed = part.disarmed.as_ref().expect("rebuilt");
    assert_eq!(disarmed.name.as_deref(), Some("資料.zip"));
    assert_eq!(disarmed.content_type, "application/zip");
    assert!(
        disarmed.removed.contains(
            &"資料.tar (now 資料.zip): 資料/setup.exe: removed from the archive".to_owned()
        ),
        "{:?}",
        disarmed.removed
    );

    let members = delivered_members(out.message.as_ref().unwrap(), "資料.zip");
    assert_eq!(members.len(), 1, "the gzip's one member, the tar");
    assert_eq!(members[0].0, "資料.zip", "the tar, itself written as a zip");
    let mut tar_as_zip = zip::ZipArchive::new(std::io::Cursor::new(members[0].1.clone())).unwrap();
    let names: Vec<String> = (0..tar_as_zip.len())
        .map(|i| tar_as_zip.by_index(i).unwrap().name().unwrap().into_owned())
        .collect();
    assert_eq!(names, ["資料/議事録.txt", "資料/inner.zip"]);
    let mut inner = Vec::new();
    std::io::Read::read_to_end(&mut tar_as_zip.by_index(1).unwrap(), &mut inner).unwrap();
    let mut inner = zip::ZipArchive::new(std::io::Cursor::new(inner)).unwrap();
    assert_eq!(inner.len(), 1);
    assert_eq!(inner.by_index(0).unwrap().name().unwrap(), "readme.txt");
}

#[test]
fn an_outlook_msg_arrives_as_the_message_it_held() {
    let out = engine().process(&sample("deny/control_msg_text.eml"), &Envelope::default());
    assert_eq!(out.verdict, Verdict::Deliver, "{:?}", out.report.reason);
    let unpacked = &out.report.unpacked;
    assert_eq!(unpacked.len(), 1, "{unpacked:?}");
    assert_eq!(
        (unpacked[0].path.as_str(), unpacked[0].kind.as_str()),
        ("2", "msg")
    );
    assert_eq!(
        unpacked[0].detail,
        "議事録.msg (Outlook message) rewritten as 議事録.eml"
    );
    let delivered = out.message.expect("delivered");
    let outer = mail_parser::MessageParser::default()
        .parse(&delivered)
        .expect("parses");
    let enclosed = outer
        .attachments()
        .find(|a| a.attachment_name() == Some("議事録.eml"))
        .expect("the .msg as an .eml");
    assert!(enclosed.is_message(), "declared message/rfc822");
    let inner = enclosed.message().expect("an enclosed message");
    assert_eq!(inner.subject(), Some("議事録"));
    assert_eq!(
        inner
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address()),
        Some("tanaka@example.lg.jp")
    );
    assert_eq!(inner.body_text(0).as_deref(), Some("議事録を添付します。"));
    let files: Vec<(Option<&str>, &[u8])> = inner
        .attachments()
        .map(|a| (a.attachment_name(), a.contents()))
        .collect();
    assert_eq!(
        files,
        [(Some("議事録.txt"), "会議は 3 時からです。\n".as_bytes())]
    );
    assert!(
        outer
            .attachments()
            .chain(inner.attachments())
            .all(|a| !a.contents().starts_with(&[0xD0, 0xCF, 0x11, 0xE0])),
        "no compound file crosses"
    );
}

#[test]
fn what_a_msg_holds_that_mime_cannot_is_left_out_and_said() {
    let raw = mugai_core::input::decode_container(&sample("deny/msg_with_ole_object.eml.in.zip"))
        .expect("sample")
        .1;
    let out = engine().process(&raw, &Envelope::default());
    assert_eq!(out.verdict, Verdict::Deliver, "{:?}", out.report.reason);
    assert!(
        out.report.unpacked[0]
            .detail
            .ends_with("left out: Package: an OLE object inserted into the message"),
        "{:?}",
        out.report.unpacked
    );
    let outer = mail_parser::MessageParser::default()
        .parse(out.message.as_ref().unwrap())
        .unwrap();
    let notice = outer.body_text(0).expect("a notice first");
    assert!(
        notice.contains("an OLE object inserted into the message"),
        "{notice}"
    );
}
