//! Redaction measured on a labelled corpus (tests/redaction/corpus.jsonl, written by
//! scripts/redaction-corpus.py): log lines in the formats selfheal reads, each secret and each
//! piece of personal data labelled by offset, and look-alikes that must survive. Recall counts
//! the labels redaction covers entirely; precision the findings that touch a label.

use std::collections::BTreeMap;

use selfheal_core::redact::{Options, find};
use serde::Deserialize;

#[derive(Deserialize)]
struct Entry {
    format: String,
    text: String,
    labels: Vec<Label>,
}

#[derive(Deserialize)]
struct Label {
    kind: String,
    start: usize,
    end: usize,
}

#[derive(Default, Debug)]
struct Score {
    labels: usize,
    covered: usize,
}

#[test]
fn recall_and_precision_on_the_labelled_corpus() {
    let corpus = include_str!("redaction/corpus.jsonl");
    let mut recall: BTreeMap<&str, Score> = BTreeMap::new();
    let (mut findings, mut wrong) = (0, 0);
    let mut misses = Vec::new();
    let mut false_positives = Vec::new();
    for line in corpus.lines() {
        let entry: Entry = serde_json::from_str(line).expect("a corpus entry");
        let found = find(&entry.text, Options::default());
        for label in &entry.labels {
            let score = recall
                .entry(if label.kind == "secret" {
                    "secret"
                } else {
                    "pii"
                })
                .or_default();
            score.labels += 1;
            if found
                .iter()
                .any(|f| f.range.start <= label.start && f.range.end >= label.end)
            {
                score.covered += 1;
            } else {
                misses.push(format!(
                    "{} {:?}: {}",
                    entry.format,
                    &entry.text[label.start..label.end],
                    entry.text
                ));
            }
        }
        for f in &found {
            findings += 1;
            if !entry
                .labels
                .iter()
                .any(|l| f.range.start < l.end && l.start < f.range.end)
            {
                wrong += 1;
                false_positives.push(format!(
                    "{} {} {:?}: {}",
                    entry.format,
                    f.kind,
                    &entry.text[f.range.clone()],
                    entry.text
                ));
            }
        }
    }
    let rate = |s: &Score| s.covered as f64 / s.labels as f64;
    let precision = 1.0 - wrong as f64 / findings as f64;
    let report = format!(
        "secrets {:.4} ({:?}), pii {:.4} ({:?}), precision {precision:.4} ({wrong} of {findings} wrong)\nmissed:\n{}\nfalse positives:\n{}",
        rate(&recall["secret"]),
        recall["secret"],
        rate(&recall["pii"]),
        recall["pii"],
        misses
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n"),
        false_positives
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n"),
    );
    println!("{report}");
    assert!(rate(&recall["secret"]) >= 0.99, "{report}");
    assert!(rate(&recall["pii"]) >= 0.95, "{report}");
    assert!(precision >= 0.95, "{report}");
}
