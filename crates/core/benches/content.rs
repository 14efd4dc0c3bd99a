//! Content rebuild on the inputs issue 4 names: a 5 MB, 100-page PDF with
//! JavaScript (rebuilt by mugai, against lopdf reading and writing the same
//! file with nothing taken out), and the 200 KB newsletter of
//! samples/content/ (converted to text and sanitized, against the
//! tokenizer alone).

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mugai_core::{FileType, internal};

/// 100 pages, each with a line of text and a 128×128 RGB image of noise
/// (48 KB, stored uncompressed as scanners often write them), and an
/// OpenAction JavaScript for the rebuild to take out: about 5 MB.
fn pdf_5mb_100_pages() -> Vec<u8> {
    const PAGES: usize = 100;
    let mut objects: Vec<Vec<u8>> = vec![
        b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>".to_vec(),
        Vec::new(), // the page tree, once the kids are known
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_vec(),
        b"<< /S /JavaScript /JS (app.alert('bench')) >>".to_vec(),
    ];
    let mut kids = Vec::new();
    let mut x: u32 = 2463534242;
    for page in 0..PAGES {
        let n = objects.len() + 1;
        kids.push(format!("{n} 0 R"));
        objects.push(
            format!(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> \
                 /XObject << /Im1 {} 0 R >> >> /Contents {} 0 R >>",
                n + 2,
                n + 1
            )
            .into_bytes(),
        );
        let content = format!(
            "BT /F1 14 Tf 72 720 Td (Minutes of the budget meeting, page {}) Tj ET q 200 0 0 200 72 400 cm /Im1 Do Q",
            page + 1
        );
        objects.push(stream(b"", content.as_bytes()));
        let mut pixels = vec![0u8; 128 * 128 * 3];
        for p in &mut pixels {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            *p = x as u8;
        }
        objects.push(stream(
            b"/Type /XObject /Subtype /Image /Width 128 /Height 128 /ColorSpace /DeviceRGB /BitsPerComponent 8 ",
            &pixels,
        ));
    }
    objects[1] = format!(
        "<< /Type /Pages /Kids [{}] /Count {PAGES} >>",
        kids.join(" ")
    )
    .into_bytes();
    let mut out = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n", i + 1).as_bytes());
        out.extend_from_slice(body);
        out.extend_from_slice(b"\nendobj\n");
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for o in offsets {
        out.extend_from_slice(format!("{o:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

fn stream(dict: &[u8], data: &[u8]) -> Vec<u8> {
    let mut s = b"<< ".to_vec();
    s.extend_from_slice(dict);
    s.extend_from_slice(format!("/Length {} >>\nstream\n", data.len()).as_bytes());
    s.extend_from_slice(data);
    s.extend_from_slice(b"\nendstream");
    s
}

fn bench(c: &mut Criterion) {
    let pdf = pdf_5mb_100_pages();
    let rebuilt = internal::disarm_file(&pdf).expect("the PDF rebuilds");
    assert!(!String::from_utf8_lossy(&rebuilt).contains("JavaScript"));
    let mut g = c.benchmark_group("pdf_5mb_100_pages");
    g.throughput(Throughput::Bytes(pdf.len() as u64));
    g.sample_size(20);
    g.bench_function("lopdf_load_save_baseline", |b| {
        b.iter(|| internal::pdf_load_and_save(&pdf).expect("saves"))
    });
    g.bench_function("mugai_rebuild", |b| {
        b.iter(|| internal::disarm_file(&pdf).expect("rebuilds"))
    });
    g.bench_function("mugai_inspect", |b| {
        b.iter(|| internal::inspect_as(FileType::Pdf, &pdf))
    });
    g.finish();

    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples/content/gen_html_newsletter.html");
    let html = std::fs::read_to_string(path).expect("newsletter");
    let mut g = c.benchmark_group("newsletter_200kb");
    g.throughput(Throughput::Bytes(html.len() as u64));
    g.bench_function("tokenize_baseline", |b| {
        b.iter(|| internal::html_tokenize(&html))
    });
    g.bench_function("mugai_to_text", |b| {
        b.iter(|| internal::html_to_text(&html))
    });
    g.bench_function("mugai_sanitize", |b| {
        b.iter(|| internal::sanitize_html(&html).expect("sanitizes"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
