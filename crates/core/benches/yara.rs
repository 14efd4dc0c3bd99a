//! The YARA starter set over 100 MB of mixed attachments (every file of
//! samples/files, decoded, repeated), one scanner per blob as in the engine.

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mugai_core::{Limits, YaraRules, input};

fn attachments() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/files");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("samples/files")
        .map(|e| e.expect("entry").path())
        .filter(|p| !p.to_string_lossy().ends_with(".expected.json") && !p.ends_with("MANIFEST.md"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|p| {
            let name = p.file_name().expect("name").to_string_lossy();
            let bytes = std::fs::read(p).expect("sample");
            input::sample_file(&name, bytes).expect("sample").1
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let rules = YaraRules::built_in();
    let limits = Limits::default();
    let distinct = attachments();
    let mut set = Vec::new();
    let mut total = 0usize;
    while total < 100 << 20 {
        for a in &distinct {
            total += a.len();
            set.push(a.clone());
        }
    }
    println!(
        "{} blobs ({} distinct), {total} bytes",
        set.len(),
        distinct.len()
    );
    let mut group = c.benchmark_group("yara");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(total as u64));
    group.bench_function("starter_set/100MB_mixed", |b| {
        b.iter(|| {
            set.iter()
                .map(|a| rules.scan(a, "bench", &limits).len())
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
