//! The payloads a real Alertmanager sent (captured by scripts/capture-alerts) against the real
//! catalog and policy: what selfheal decides for each.

#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns; a panic is the failure report

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use selfheal_core::alert::{Door, Limits, label_fingerprint, parse_sns_event, parse_webhook};
use selfheal_core::{Catalog, GuardrailState, Policy, WebhookPayload, assess};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(repo().join("functions/ingest/fixtures").join(name)).unwrap()
}

fn webhook(name: &str) -> WebhookPayload {
    parse_webhook(&fixture(name), &Limits::default(), Door::Webhook).unwrap()
}

fn catalog() -> Catalog {
    let dir = repo().join("statemachines/runbooks");
    let files = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read_to_string(&p).unwrap(),
            )
        });
    Catalog::parse(files).unwrap()
}

fn policy() -> Policy {
    Policy::from_yaml(&std::fs::read_to_string(repo().join("statemachines/policy.yaml")).unwrap())
        .unwrap()
}

fn decisions(payload: &WebhookPayload) -> Vec<(String, &'static str)> {
    let (catalog, policy) = (catalog(), policy());
    let now: DateTime<Utc> = Utc::now();
    payload
        .alerts
        .iter()
        .map(|a| {
            let assessment = assess(a, &catalog, &policy, |_| GuardrailState::default(), now);
            (
                assessment.runbook.clone().unwrap_or_default(),
                assessment.decision(),
            )
        })
        .collect()
}

#[test]
fn every_captured_payload_parses_and_our_fingerprints_equal_alertmanagers() {
    let dir = repo().join("functions/ingest/fixtures");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if !name.starts_with("alertmanager-") {
            continue;
        }
        let payload = webhook(&name);
        assert_eq!(payload.version.as_deref(), Some("4"), "{name}");
        assert!(!payload.group_key.is_empty(), "{name}");
        for alert in &payload.alerts {
            assert_eq!(
                alert.fingerprint,
                label_fingerprint(&alert.labels),
                "{name}"
            );
            seen += 1;
        }
    }
    assert!(seen >= 10, "only {seen} alerts in the fixtures");
}

#[test]
fn truncated_group_says_how_many_alerts_were_cut() {
    let p = webhook("alertmanager-node-not-ready-truncated.json");
    assert_eq!(p.alerts.len(), 2);
    assert_eq!(p.truncated_alerts, 2);
}

#[test]
fn firing_then_resolved_keeps_the_incident_id() {
    let firing = webhook("alertmanager-crashloop-firing.json");
    let resolved = webhook("alertmanager-crashloop-resolved.json");
    assert_eq!(firing.alerts.len(), 2);
    assert!(firing.alerts.iter().all(|a| a.ends_at.is_none()));
    assert!(resolved.alerts.iter().all(|a| a.ends_at.is_some()));
    let ids = |p: &WebhookPayload| {
        let mut v: Vec<_> = p
            .alerts
            .iter()
            .map(|a| (a.fingerprint(), a.starts_at))
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids(&firing), ids(&resolved));
}

#[test]
fn the_amp_sns_path_maps_to_the_same_incidents_as_the_webhook() {
    let deliveries = parse_sns_event(
        &fixture("sns-amp-crashloop-firing.json"),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(
        deliveries[0].topic_arn,
        "arn:aws:sns:us-east-1:123456789012:amp-alerts"
    );
    let sns = &deliveries[0].payload;
    assert_eq!(sns.version, None, "AMP's template carries no version");
    let hook = webhook("alertmanager-crashloop-firing.json");
    let key = |p: &WebhookPayload| {
        let mut v: Vec<_> = p
            .alerts
            .iter()
            .map(|a| (a.fingerprint(), a.starts_at, a.ends_at))
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        key(sns),
        key(&hook),
        "Go time strings parse to the same instants"
    );
    let resolved = parse_sns_event(
        &fixture("sns-amp-crashloop-resolved.json"),
        &Limits::default(),
    )
    .unwrap();
    assert!(
        resolved[0]
            .payload
            .alerts
            .iter()
            .all(|a| a.ends_at.is_some())
    );
}

#[test]
fn the_starter_catalog_answers_each_captured_alert() {
    let cases: [(&str, &[(&str, &str)]); 9] = [
        (
            "alertmanager-crashloop-firing.json",
            &[("restart-pods", "run"), ("restart-pods", "run")],
        ),
        (
            "alertmanager-crashloop-resolved.json",
            &[("restart-pods", "resolve"), ("restart-pods", "resolve")],
        ),
        (
            "alertmanager-saturation-firing.json",
            &[("scale-services", "run")],
        ),
        (
            "alertmanager-rollout-broken-firing.json",
            &[("rollout-rollback", "run")],
        ),
        (
            "alertmanager-queue-stuck-firing.json",
            &[("recycle-workers", "needs-approval")],
        ),
        (
            "alertmanager-kube-system-crashloop-firing.json",
            &[("restart-pods", "refuse")],
        ),
        (
            "alertmanager-invalid-namespace-firing.json",
            &[("restart-pods", "reject")],
        ),
        ("alertmanager-watchdog-firing.json", &[("", "unmatched")]),
        (
            "alertmanager-node-not-ready-truncated.json",
            &[
                ("evict-node", "needs-approval"),
                ("evict-node", "needs-approval"),
            ],
        ),
    ];
    for (name, expected) in cases {
        let got = decisions(&webhook(name));
        let expected: Vec<_> = expected.iter().map(|(r, d)| (r.to_string(), *d)).collect();
        assert_eq!(got, expected, "{name}");
    }
}

#[test]
fn the_policy_file_restates_the_defaults_the_lambdas_fall_back_to() {
    let file = policy();
    assert_eq!(
        file,
        Policy {
            default_cluster: file.default_cluster.clone(),
            ..Policy::default()
        }
    );
}
