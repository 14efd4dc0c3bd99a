//! Macro strip on a 1 MB docm and a 1 MB xls, built from the corpus's macro
//! documents grown to size. The inputs are also written to
//! `target/bench-files/` so that `bench/office.sh` can time `olevba` on the
//! very same bytes.

use std::io::{Cursor, Read, Write};
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mugai_core::{input, internal};

const TARGET: usize = 1 << 20;

fn sample(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples/files")
        .join(format!("{name}.in.zip"));
    input::decode_container(&std::fs::read(path).expect("sample"))
        .expect("container")
        .1
}

/// Deterministic words and figures, so the text compresses about as well as
/// minutes with numbers in them do, not like zeros.
fn prose(len: usize, seed: u32) -> String {
    const WORDS: [&str; 12] = [
        "会議",
        "資料",
        "予算",
        "令和",
        "the",
        "minutes",
        "budget",
        "of",
        "meeting",
        "確認",
        "review",
        "市役所",
    ];
    let mut s = String::with_capacity(len + 64);
    let mut x: u32 = 2463534242 ^ seed;
    while s.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        s.push_str(WORDS[(x % 12) as usize]);
        s.push_str(&format!("{} ", (x >> 8) % 100_000));
    }
    s
}

/// The docm with its document.xml grown by paragraphs until the package
/// is about 1 MB: every byte of the main part passes through the rewrite.
fn docm_1mb() -> Vec<u8> {
    let original = sample("tk_testWORD_macros.docm");
    let mut paragraphs = String::new();
    let mut out = Vec::new();
    for round in 0.. {
        let mut zip = zip::ZipArchive::new(Cursor::new(&original)).expect("zip");
        let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let deflated = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for i in 0..zip.len() {
            let mut f = zip.by_index(i).expect("member");
            let name = f.name().expect("name").into_owned();
            let mut data = Vec::new();
            f.read_to_end(&mut data).expect("read");
            if name == "word/document.xml" {
                let text = String::from_utf8(data).expect("utf-8");
                data = text
                    .replacen("<w:body>", &format!("<w:body>{paragraphs}"), 1)
                    .into_bytes();
            }
            writer.start_file(name, deflated).expect("start");
            writer.write_all(&data).expect("write");
        }
        out = writer.finish().expect("finish").into_inner();
        if out.len() >= TARGET || round > 200 {
            break;
        }
        for i in 0..100 {
            let text = prose(400, round * 1000 + i);
            paragraphs.push_str(&format!("<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"));
        }
    }
    out
}

/// The xls with a 1 MB stream beside its workbook (as pictures or an
/// embedded chart would be): every stream is copied into the new file.
fn xls_1mb() -> Vec<u8> {
    let original = sample("tk_testEXCEL_macro.xls");
    let mut source = cfb::CompoundFile::open(Cursor::new(&original)).expect("ole");
    let mut copy = cfb::CompoundFile::create(Cursor::new(Vec::new())).expect("create");
    let entries: Vec<cfb::Entry> = source.walk().collect();
    for e in &entries {
        if e.is_stream() {
            let mut data = Vec::new();
            source
                .open_stream(e.path())
                .and_then(|mut s| s.read_to_end(&mut data))
                .expect("stream");
            copy.create_stream(e.path())
                .and_then(|mut s| s.write_all(&data))
                .expect("write");
        } else if !e.is_root() {
            copy.create_storage(e.path()).expect("storage");
        }
    }
    copy.create_stream("/Pictures")
        .and_then(|mut s| s.write_all(prose(TARGET, 7).as_bytes()))
        .expect("filler");
    copy.flush().expect("flush");
    copy.into_inner().into_inner()
}

fn bench_files_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"));
    target.join("bench-files")
}

fn bench(c: &mut Criterion) {
    let cases = [("docm_1mb.docm", docm_1mb()), ("xls_1mb.xls", xls_1mb())];
    let dir = bench_files_dir();
    std::fs::create_dir_all(&dir).expect("bench-files");
    let mut group = c.benchmark_group("disarm");
    for (name, bytes) in &cases {
        std::fs::write(dir.join(name), bytes).expect("write input");
        let out = internal::disarm_file(bytes).expect("disarms");
        assert!(internal::check_disarm(bytes).expect("clean"), "{name}");
        assert!(out.len() < bytes.len(), "{name}: the project is gone");
        assert!(bytes.len() >= TARGET, "{name}: {} bytes", bytes.len());
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(*name, |b| b.iter(|| internal::disarm_file(bytes)));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
