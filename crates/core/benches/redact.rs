//! Redaction throughput on log text (MB/s): a corpus of typical container log lines, one in ten
//! carrying a secret or personal data. Run with `scripts/bench`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use selfheal_core::redact::{Options, Redactor};

fn corpus(bytes: usize) -> String {
    // The same lines scripts/lib/presidio_bench.py gives Presidio.
    let lines = include_str!("corpus.log").lines();
    let mut out = String::with_capacity(bytes + 256);
    while out.len() < bytes {
        for l in lines.clone() {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

fn redact(c: &mut Criterion) {
    let text = corpus(1 << 20);
    let mut group = c.benchmark_group("redact");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.bench_function("1 MiB of log lines", |b| {
        b.iter(|| {
            let mut r = Redactor::new(Options::default());
            black_box(r.redact(black_box(&text)))
        })
    });
    group.finish();
}

criterion_group!(benches, redact);
criterion_main!(benches);
