//! The DynamoDB and S3 adapters against moto through the real SDK: the replay guard, the
//! approval token, the timeline written once, the close written once with the failure count,
//! and the S3 record written once.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeDelta, Utc};
use selfheal_aws::audit::{Archive, AuditLog, Closing, FailureCount, TimelineEvent};
use selfheal_aws::dynamodb::DynamoStore;
use selfheal_aws::s3::S3Archive;
use selfheal_aws::store::{IncidentStore, ReplayGuard};
use selfheal_core::audit::Outcome;
use selfheal_core::{IncidentId, Mode, Target, TargetKind};
use serde_json::json;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

#[tokio::test]
async fn audit_items_replays_and_records_are_written_once() {
    let moto = selfheal_testkit::moto().await;
    let config = moto.aws_config().await;
    let store = DynamoStore::new(&config, "incidents");
    store.create_table().await.unwrap();
    let id = IncidentId::derive("f", t("2026-11-25T21:00:00Z"));
    let now = t("2026-11-25T21:05:00Z");

    // Replays: the first sighting wins until it expires.
    let exp = now + TimeDelta::minutes(10);
    assert!(store.first_time("v0=abc", now, exp).await.unwrap());
    assert!(
        !store
            .first_time("v0=abc", now + TimeDelta::minutes(1), exp)
            .await
            .unwrap()
    );
    assert!(
        store
            .first_time(
                "v0=abc",
                exp + TimeDelta::seconds(1),
                exp + TimeDelta::minutes(10)
            )
            .await
            .unwrap()
    );

    // The approval token, for decisions that do not come through the button.
    assert_eq!(store.approval_token(&id).await.unwrap(), None);
    store.await_approval(&id, "token-1").await.unwrap();
    assert_eq!(
        store.approval_token(&id).await.unwrap().as_deref(),
        Some("token-1")
    );

    // Timeline events: a second write of a position changes nothing.
    let event = |seq, summary: &str| TimelineEvent {
        seq,
        kind: "step".into(),
        at: now,
        summary: summary.into(),
        detail: json!({"n": seq}),
    };
    assert!(store.record(&id, &event(10, "first")).await.unwrap());
    assert!(!store.record(&id, &event(10, "again")).await.unwrap());
    assert!(store.record(&id, &event(1, "opened")).await.unwrap());
    let timeline = store.timeline(&id).await.unwrap();
    assert_eq!(
        timeline
            .iter()
            .map(|e| (e.seq, e.summary.as_str()))
            .collect::<Vec<_>>(),
        [(1, "opened"), (10, "first")]
    );

    // The close: once, moving the failure count once.
    let target = Target {
        cluster: "selfheal-dev".into(),
        namespace: Some("shop".into()),
        kind: TargetKind::Deployment,
        name: "frontend".into(),
    };
    let closing = |outcome: Outcome| Closing {
        outcome,
        closed_at: now,
        mttr_seconds: None,
        execution: "arn:x".into(),
        target: target.clone(),
        runbook: "restart-pods".into(),
        mode: Mode::Enforce,
    };
    let first = store
        .close(&id, &closing(Outcome::Escalated), FailureCount::Increment)
        .await
        .unwrap();
    assert_eq!(first.outcome, Outcome::Escalated);
    let again = store
        .close(&id, &closing(Outcome::Remediated), FailureCount::Reset)
        .await
        .unwrap();
    assert_eq!(again.outcome, Outcome::Escalated, "the first close stands");
    assert_eq!(
        store.closing(&id).await.unwrap().unwrap().outcome,
        Outcome::Escalated
    );
    let state = store.guardrail_state(&target, now).await.unwrap();
    assert_eq!(state.consecutive_failures, 1, "counted once");

    // S3: the record is written once.
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(true)
            .build(),
    )
    .create_bucket()
    .bucket("records")
    .send()
    .await
    .unwrap();
    let archive = S3Archive::new(&config, "records");
    let key = selfheal_aws::audit::record_key(&id, now);
    assert!(key.starts_with("incidents/2026/11/25/inc-"), "{key}");
    assert!(
        archive
            .put_once(&key, &json!({"outcome": "escalated"}))
            .await
            .unwrap()
    );
    let second = archive
        .put_once(&key, &json!({"outcome": "remediated"}))
        .await
        .unwrap();
    assert_eq!(
        archive.get(&key).await.unwrap().unwrap()["outcome"],
        "escalated"
    );
    assert!(!second, "If-None-Match refuses the second write");
}
