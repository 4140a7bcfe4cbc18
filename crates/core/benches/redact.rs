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

/// `unit` repeated to `bytes`.
fn repeated(unit: &str, bytes: usize) -> String {
    unit.repeat(bytes / unit.len() + 1)
}

/// Inputs built to make a regex engine backtrack or rescan: partial matches that stay open
/// across the text while other patterns match inside it. Each runs at 1 MiB and 4 MiB: the same
/// MB/s at both sizes is linear time.
fn adversarial(c: &mut Criterion) {
    let cases: [(&str, &str); 6] = [
        (
            "unmatched PEM BEGIN lines between e-mails",
            "-----BEGIN RSA PRIVATE KEY-----\nana@example.com AKIAIOSFODNN7EXAMPLE\n",
        ),
        (
            "END lines without BEGIN after base64",
            "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9w\n-----END PRIVATE KEY-----\n",
        ),
        ("near-miss AWS keys", "AKIAIOSFODNN7EXAMPL "),
        (
            "a URL's user:password never closed",
            "x://user:AKIAIOSFODNN7EXAMPLE,",
        ),
        (
            "an e-mail's local part never closed",
            "a.AKIAIOSFODNN7EXAMPLE.",
        ),
        (
            "secret keys without values",
            "password=&token=&DB_PASSWORD= ",
        ),
    ];
    let mut group = c.benchmark_group("redact-adversarial");
    for (name, unit) in cases {
        for mib in [1, 4] {
            let text = repeated(unit, mib << 20);
            group.throughput(Throughput::Bytes(text.len() as u64));
            group.bench_function(format!("{name}, {mib} MiB"), |b| {
                b.iter(|| {
                    let mut r = Redactor::new(Options::default());
                    black_box(r.redact(black_box(&text)))
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, redact, adversarial);
criterion_main!(benches);
