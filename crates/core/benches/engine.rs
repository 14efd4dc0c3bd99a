//! The hot path: `Engine::process` on the shapes of mail a gateway sees most,
//! next to mail-parser alone on the same bytes (the floor any gateway pays).

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mugai_core::{Engine, Envelope, Policy, input, wrap_attachment};

fn sample(rel: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples")
        .join(rel);
    let bytes = std::fs::read(&path).expect("sample");
    let name = path.to_string_lossy();
    input::items(&name, &bytes, "\r\n")
        .expect("sample decodes")
        .remove(0)
        .message
}

/// A 10 KB ISO-2022-JP business mail: the common case on the relay.
fn clean_10k() -> Vec<u8> {
    let mut raw = sample("mail/ja_iso2022jp_plain.eml");
    let line = b"\x1b$B@hF|$N2q5D$N;qNA$G$9!#$43NG'$/$@$5$$!#\x1b(B\r\n";
    while raw.len() < 10 * 1024 {
        raw.extend_from_slice(line);
    }
    raw
}

fn bench(c: &mut Criterion) {
    let engine = Engine::new(Policy::default());
    let cases = [
        ("clean_10k_iso2022jp", clean_10k()),
        (
            "pdf_1mb_attachment",
            wrap_attachment(
                "tracemonkey.pdf",
                &std::fs::read(
                    Path::new(env!("CARGO_MANIFEST_DIR"))
                        .join("../../samples/files/pj_tracemonkey.pdf"),
                )
                .expect("pdf"),
                "\r\n",
            ),
        ),
        (
            "exe_in_zip_in_zip",
            sample("mail/exe_in_zip_in_zip.eml.in.zip"),
        ),
        (
            "docm_macro_removed",
            sample("mail/macro_docm_meeting.eml.in.zip"),
        ),
    ];
    let mut group = c.benchmark_group("engine");
    for (name, raw) in &cases {
        group.throughput(Throughput::Bytes(raw.len() as u64));
        group.bench_function(format!("{name}/process"), |b| {
            b.iter(|| engine.process(raw, &Envelope::default()))
        });
        group.bench_function(format!("{name}/mail_parser_baseline"), |b| {
            b.iter(|| {
                mail_parser::MessageParser::default()
                    .parse(raw)
                    .map(|m| m.parts.len())
            })
        });
    }
    group.finish();

    // What the YARA starter set adds to the same messages (the relay runs it).
    #[cfg(feature = "yara")]
    {
        let with_yara = Engine::new(Policy::default())
            .with_yara(std::sync::Arc::new(mugai_core::YaraRules::built_in()));
        let mut group = c.benchmark_group("engine_yara");
        for (name, raw) in &cases {
            group.throughput(Throughput::Bytes(raw.len() as u64));
            group.bench_function(format!("{name}/process"), |b| {
                b.iter(|| with_yara.process(raw, &Envelope::default()))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
