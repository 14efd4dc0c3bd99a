//! Lure scoring on the hot path: the whole lure set (84 messages) through
//! `Engine::process` for 例市, and the share of that time spent scoring.

use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mugai_core::{Engine, Envelope, MemorySentLog, Policy, Verdict, input};

fn lure_set() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/lure");
    let mut out = Vec::new();
    for folder in ["phish", "ham"] {
        let mut files: Vec<_> = std::fs::read_dir(dir.join(folder))
            .expect("lure set")
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        for f in files {
            let bytes = std::fs::read(&f).expect("sample");
            for item in input::items(&f.to_string_lossy(), &bytes, "\r\n").expect("decodes") {
                out.push(item.message);
            }
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/lure");
    let policy = std::fs::read_to_string(dir.join("policy.toml")).expect("policy");
    let sent = MemorySentLog::default();
    sent.remember("<20261102.1001.mail@city.example.lg.jp>");
    let engine =
        Engine::new(Policy::from_toml(&policy).expect("policy")).with_sent_log(Arc::new(sent));
    let messages = lure_set();
    let bytes: usize = messages.iter().map(Vec::len).sum();

    // Where the time goes, from the engine's own timings (one pass).
    let (mut score, mut total) = (0u64, 0u64);
    for m in &messages {
        let t = engine.process(m, &Envelope::default()).report.timings_us;
        score += t.score;
        total += t.total;
    }
    println!(
        "lure set: {} messages, {bytes} bytes; scoring {score} us of {total} us ({:.1} %)",
        messages.len(),
        score as f64 * 100.0 / total.max(1) as f64
    );

    let mut group = c.benchmark_group("lure");
    group.throughput(Throughput::Elements(messages.len() as u64));
    group.bench_function("lure_set/process", |b| {
        b.iter(|| {
            messages
                .iter()
                .filter(|m| engine.process(m, &Envelope::default()).verdict == Verdict::Deliver)
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
