//! A chaos scenario on virtual time, as the demo runs it: kube-sim, the real definition and
//! handlers, the repository's alert rules in a real Prometheus. The crashlooping backend's alert
//! fires after its real 15 minutes, selfheal restarts it and it is healthy; left alone, it is not
//! healthy within the window. Both in seconds of wall time.

#![allow(clippy::unwrap_used)] // a panic is the failure report

use std::time::{Duration, Instant};

use chrono::Utc;
use selfheal_core::audit::Outcome;
use selfheal_lab::chaos::Scenario;
use selfheal_lab::demo::{Settings, run};
use selfheal_testkit::repo;

#[tokio::test]
async fn a_crashloop_is_alerted_by_the_real_rule_and_healed_or_left_alone() {
    let prometheus = selfheal_testkit::prometheus("global: {}\n").await;
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::load("crashloop-backend", &repo("chaos/scenarios")).unwrap();
    let cluster = selfheal_testkit::three_tier_scenario();
    let mut settings = Settings {
        prometheus: prometheus.url.clone(),
        rules: repo("observability/prometheus/rules"),
        start: Utc::now() - chrono::Duration::hours(12),
        step: Duration::from_secs(30),
        evaluation: Duration::from_secs(60),
        stable: Duration::from_secs(300),
        warmup: Duration::from_secs(300),
        window: Duration::from_secs(45 * 60),
        policy: selfheal_core::Policy::default(),
        catalog: selfheal_core::embedded::catalog().unwrap(),
        slack_file: dir.path().join("slack.jsonl"),
    };
    let wall = Instant::now();
    let with = run(&scenario, &cluster, &settings, true).await.unwrap();
    let firing = (with.firing_at.unwrap() - with.fault_at).num_seconds();
    assert!(
        (15 * 60..=19 * 60).contains(&firing),
        "fired {firing} s after the fault"
    );
    assert_eq!(with.incidents.len(), 1, "{:?}", with.incidents);
    let closing = with.incidents[0].closing.clone().unwrap();
    assert_eq!(closing.outcome, Outcome::Remediated);
    let healthy = (with.healthy_at.unwrap() - with.fault_at).num_seconds();
    assert!(
        healthy > firing && healthy < firing + 10 * 60,
        "healthy {healthy} s after the fault"
    );
    // One alert per crashlooping pod: the first opens the incident, the other pods' share the
    // deployment's cooldown and are refused.
    let outcomes: Vec<&str> = with
        .alerts
        .iter()
        .map(|(_, answer)| answer[0]["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes.iter().filter(|o| **o == "accepted").count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes.iter().all(|o| *o == "accepted" || *o == "refused"),
        "{outcomes:?}"
    );

    settings.start = with.end + chrono::Duration::hours(1);
    let alone = run(&scenario, &cluster, &settings, false).await.unwrap();
    assert!(
        alone.firing_at.is_some(),
        "the rule fires without selfheal too"
    );
    assert!(alone.incidents.is_empty());
    assert_eq!(
        alone.healthy_at, None,
        "a crashloop left alone does not heal"
    );
    // Ticks are the step apart after the handlers' own timers: the window, within a step.
    let lasted = (alone.end - alone.fault_at).num_seconds();
    assert!(
        (45 * 60..45 * 60 + 60).contains(&lasted),
        "left alone for {lasted} s"
    );
    eprintln!(
        "fired after {firing} s, healthy after {healthy} s with selfheal; never within 45 min alone; {:?} of wall time",
        wall.elapsed()
    );
}
