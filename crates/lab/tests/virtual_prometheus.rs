//! The repository's alert rules on virtual time: a real Prometheus holds kube-sim's series,
//! written at virtual instants, and evaluates every expression; KubePodCrashLooping holds for its
//! real 15 minutes before it fires, in seconds of wall time.

#![allow(clippy::unwrap_used)] // a panic is the failure report

use std::time::{Duration, Instant};

use chrono::Utc;
use selfheal_core::alert_rules::AUTOMATION;
use selfheal_kube_sim::{FaultKind, FaultTarget, Sim};
use selfheal_lab::virtual_prometheus::{Change, VirtualPrometheus};
use selfheal_testkit::repo;

#[tokio::test]
async fn a_crashloop_fires_kube_pod_crash_looping_after_its_real_fifteen_minutes() {
    let prometheus = selfheal_testkit::prometheus("global: {}\n").await;
    // Virtual time runs in the past: Prometheus takes samples older than now, never newer.
    let start = Utc::now() - chrono::Duration::hours(6);
    let sim = Sim::new(&selfheal_testkit::three_tier_scenario(), start).unwrap();
    let url = sim.spawn(0.0).await.unwrap();
    let mut vp = VirtualPrometheus::new(
        &prometheus.url,
        &repo("observability/prometheus/rules"),
        [("cluster".to_owned(), "selfheal-dev".to_owned())].into(),
    )
    .unwrap();
    let wall = Instant::now();
    let step = Duration::from_secs(15);
    let mut fired = Vec::new();
    let mut fault_at = None;
    for tick in 0..100 {
        if tick == 20 {
            // Five healthy minutes first: nothing meant for automation may fire on them.
            assert!(fired.is_empty(), "fired on a healthy cluster: {fired:?}");
            fault_at = Some(sim.world().now);
            sim.inject(
                FaultKind::Crashloop {
                    exit_code: 1,
                    log: vec!["panic: stale cache".into()],
                    until_restart: true,
                },
                FaultTarget {
                    namespace: Some("shop".into()),
                    deployment: Some("backend".into()),
                    node: None,
                },
            );
        }
        sim.advance(step);
        let at = sim.world().now;
        vp.scrape("kube-state-metrics", &format!("{url}/metrics"), at)
            .await
            .unwrap();
        for change in vp.evaluate(at).await.unwrap() {
            if let Change::Fired(alert) = change
                && alert.labels.get(AUTOMATION.0).map(String::as_str) == Some(AUTOMATION.1)
            {
                fired.push((at, alert));
            }
        }
    }
    let fault_at = fault_at.unwrap();
    let (at, alert) = fired
        .iter()
        .find(|(_, a)| a.labels["alertname"] == "KubePodCrashLooping")
        .unwrap_or_else(|| panic!("no KubePodCrashLooping: {fired:?}"));
    let after = (*at - fault_at).num_seconds();
    // The container crashes within the first minute; the rule holds for 15 minutes.
    assert!(
        (15 * 60..=18 * 60).contains(&after),
        "fired {after} s after the fault"
    );
    assert_eq!(alert.labels["namespace"], "shop");
    assert!(alert.labels["pod"].starts_with("backend-"), "{alert:?}");
    assert_eq!(alert.labels["cluster"], "selfheal-dev");
    assert_eq!(alert.labels["severity"], "warning");
    assert!(alert.annotations["description"].contains(&alert.labels["pod"]));
    assert!(
        fired.iter().all(|(_, a)| a.labels["namespace"] == "shop"),
        "{fired:?}"
    );
    eprintln!(
        "25 virtual minutes, every rule evaluated every 15 s, in {:?} of wall time",
        wall.elapsed()
    );
}
