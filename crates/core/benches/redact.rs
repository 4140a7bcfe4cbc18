//! Redaction throughput on log text (MB/s): a corpus of typical container log lines, one in ten
//! carrying a secret or personal data. Run with `scripts/bench`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use selfheal_core::redact::{Options, Redactor};

fn corpus(bytes: usize) -> String {
    let lines = [
        "2026-11-25T21:30:00.123Z INFO  http GET /api/cart/42 200 12ms trace_id=4bf92f3577b34da6a3ce929d0e0e4736",
        "2026-11-25T21:30:00.456Z WARN  pool exhausted, waiting for a connection (backend-7d9f8c6b5-x2k4q)",
        "2026-11-25T21:30:01.002Z ERROR payment failed: upstream returned 503 after 3 retries",
        "2026-11-25T21:30:01.010Z INFO  pulled ghcr.io/shop/backend@sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "2026-11-25T21:30:01.200Z DEBUG request 123e4567-e89b-12d3-a456-426614174000 took 230ms",
        "2026-11-25T21:30:01.300Z INFO  cache hit ratio 0.93 over 10000 keys",
        "2026-11-25T21:30:01.400Z INFO  connected to postgres at database.shop.svc:5432",
        "2026-11-25T21:30:01.500Z WARN  slow query 1203ms: SELECT * FROM orders WHERE id = $1",
        "2026-11-25T21:30:01.600Z INFO  GC pause 3ms heap 512MiB",
        "2026-11-25T21:30:01.700Z ERROR login failed for ana@example.com from 203.0.113.7 password=hunter22",
    ];
    let mut out = String::with_capacity(bytes + 256);
    while out.len() < bytes {
        for l in lines {
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
