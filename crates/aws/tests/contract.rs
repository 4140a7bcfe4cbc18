//! One contract, two stores: every test here runs against the memory store and against the
//! DynamoDB store (moto, through the real SDK), so "the same conditions" is checked, not stated.
//! Claims exclude until settled, released or expired; the replay guard remembers a key until it
//! expires; the timeline and the close are written once; the archive keeps the first record.
#![allow(clippy::unwrap_used)]

use chrono::{DateTime, TimeDelta, Utc};
use selfheal_aws::audit::{Archive, AuditLog, Closing, FailureCount, TimelineEvent, TimelineKind};
use selfheal_aws::dynamodb::DynamoStore;
use selfheal_aws::memory::{MemoryArchive, MemoryStore};
use selfheal_aws::s3::S3Archive;
use selfheal_aws::store::{Claim, IncidentStore, ReplayGuard, Reservation, Settled, StoreError};
use selfheal_core::audit::Outcome;
use selfheal_core::guardrail::Budgets;
use selfheal_core::triage::Disposition;
use selfheal_core::{
    GuardrailState, Incident, IncidentId, Mode, Policy, Target, TargetKind, assess,
};
use selfheal_testkit::Server;
use serde_json::json;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

fn incident(now: DateTime<Utc>) -> Incident {
    incident_on(now, "shop", "web")
}

/// The incident of an alert on `deployment` in `namespace`.
fn incident_on(now: DateTime<Utc>, namespace: &str, deployment: &str) -> Incident {
    let catalog = selfheal_core::Catalog::parse([(
        "restart.yaml",
        "id: restart\ndescription: d\nmatch: ['alertname=\"X\"']\nrisk: low\nmax_attempts: 1\ncooldown: 15m\nsteps: [{action: restart-pods}]\n",
    )])
    .unwrap();
    let alert = serde_json::from_value(json!({
        "status": "firing", "labels": {"alertname": "X", "namespace": namespace, "deployment": deployment},
        "startsAt": "2026-11-25T21:30:00Z",
    }))
    .unwrap();
    let assessment = assess(
        &alert,
        &catalog,
        &Policy::default(),
        |_| GuardrailState::default(),
        now,
    );
    match assessment.disposition {
        Disposition::Open { incident } => *incident,
        other => panic!("{other:?}"),
    }
}

/// Claims exclude concurrent deliveries until settled, released or expired; a retry after the
/// hold gets the reserved incident back; a stale holder can no longer settle.
async fn claims_exclude_until_settled_released_or_expired(store: &impl IncidentStore) {
    let now = t("2026-11-25T21:31:00Z");
    let incident = incident(now);
    let hold = TimeDelta::seconds(30);
    let Claim::Acquired {
        token,
        reserved: None,
    } = store.claim(&incident.id, now, hold).await.unwrap()
    else {
        panic!("first claim")
    };
    assert_eq!(
        store.claim(&incident.id, now, hold).await.unwrap(),
        Claim::InProgress
    );
    // Released: the next delivery takes over at once.
    store.release(&token).await.unwrap();
    let Claim::Acquired { token, .. } = store.claim(&incident.id, now, hold).await.unwrap() else {
        panic!("after release")
    };
    assert_eq!(
        store
            .reserve(&token, &incident, BUDGETS, now)
            .await
            .unwrap(),
        Reservation::Reserved
    );
    // The holder stops here. After the hold, a retry gets the reserved incident back.
    let later = now + hold + TimeDelta::seconds(1);
    let Claim::Acquired {
        token: retry,
        reserved: Some(reserved),
    } = store.claim(&incident.id, later, hold).await.unwrap()
    else {
        panic!("after expiry")
    };
    assert_eq!(*reserved, incident);
    let settled = Settled::Accepted {
        decision: incident.decision,
        execution_arn: "arn".into(),
    };
    let stale = store.settle(&token, &settled, later).await;
    assert!(
        matches!(stale, Err(StoreError::ClaimLost(ref id)) if *id == incident.id),
        "{stale:?}"
    );
    store.settle(&retry, &settled, later).await.unwrap();
    assert_eq!(
        store.claim(&incident.id, later, hold).await.unwrap(),
        Claim::Settled(settled)
    );
    // Its own reservation started the cooldown, which another incident on the target meets.
    let state = store
        .guardrail_state(&incident.target, later)
        .await
        .unwrap();
    assert_eq!(
        (state.last_action_at, state.actions_last_hour),
        (Some(now), 1)
    );
    // A resolution marks the incident; an unknown one is not invented.
    assert!(store.resolve(&incident.id, later).await.unwrap());
    let unknown = IncidentId::derive("never-seen", now);
    assert!(!store.resolve(&unknown, later).await.unwrap());
}

const BUDGETS: Budgets = Budgets {
    hourly: 10,
    namespace_hourly: 10,
};

/// One namespace spends its own budget, not the others': a burst of alerts in `shop` leaves the
/// hour's budget for `pay`.
async fn a_namespace_spends_only_its_own_budget(store: &impl IncidentStore) {
    let now = t("2026-11-25T21:31:00Z");
    let budgets = Budgets {
        hourly: 10,
        namespace_hourly: 1,
    };
    let mut outcomes = Vec::new();
    for (ns, deployment) in [("shop", "web"), ("shop", "api"), ("pay", "web")] {
        let incident = incident_on(now, ns, deployment);
        let Claim::Acquired { token, .. } = store
            .claim(&incident.id, now, TimeDelta::seconds(30))
            .await
            .unwrap()
        else {
            panic!("claim {ns}/{deployment}")
        };
        outcomes.push(
            store
                .reserve(&token, &incident, budgets, now)
                .await
                .unwrap(),
        );
    }
    assert_eq!(
        outcomes,
        [
            Reservation::Reserved,
            Reservation::Contended,
            Reservation::Reserved
        ]
    );
    let shop = incident_on(now, "shop", "cart").target;
    let state = store.guardrail_state(&shop, now).await.unwrap();
    assert_eq!(
        (state.actions_last_hour, state.namespace_actions_last_hour),
        (2, 1)
    );
}

/// The kill switch reads back as set, through its own read and through the guardrail state; a
/// switch never set is off.
async fn the_kill_switch_reads_back<S: IncidentStore>(store: &S, set: impl AsyncFn(&S, bool)) {
    let now = t("2026-11-25T21:31:00Z");
    let target = incident(now).target;
    assert_eq!(store.kill_switch().await.unwrap(), None);
    assert!(
        !store
            .guardrail_state(&target, now)
            .await
            .unwrap()
            .kill_switch
    );
    for on in [true, false] {
        set(store, on).await;
        assert_eq!(store.kill_switch().await.unwrap(), Some(on));
        assert_eq!(
            store
                .guardrail_state(&target, now)
                .await
                .unwrap()
                .kill_switch,
            on
        );
    }
}

/// The replay guard, the approval token, the timeline and the close, each written once.
async fn audit_items_are_written_once(store: &(impl IncidentStore + AuditLog + ReplayGuard)) {
    let id = IncidentId::derive("f", t("2026-11-25T21:00:00Z"));
    let now = t("2026-11-25T21:05:00Z");

    // Replays: the first sighting wins until it expires.
    let exp = now + TimeDelta::minutes(10);
    assert!(store.first_time("v0=abc", now, exp).await.unwrap());
    let again = store.first_time("v0=abc", now + TimeDelta::minutes(1), exp);
    assert!(!again.await.unwrap());
    let expired = store.first_time(
        "v0=abc",
        exp + TimeDelta::seconds(1),
        exp + TimeDelta::minutes(10),
    );
    assert!(expired.await.unwrap());

    // The approval token, for decisions that do not come through the button.
    assert_eq!(store.approval_token(&id).await.unwrap(), None);
    store.await_approval(&id, "token-1").await.unwrap();
    assert_eq!(
        store.approval_token(&id).await.unwrap().as_deref(),
        Some("token-1")
    );

    // Timeline events: a second write of a position changes nothing; order is by position.
    let event = |seq, kind, summary: &str| TimelineEvent {
        seq,
        kind,
        at: now,
        summary: summary.into(),
        detail: json!({"n": seq}),
    };
    assert!(
        store
            .record(&id, &event(10, TimelineKind::Step, "first"))
            .await
            .unwrap()
    );
    assert!(
        !store
            .record(&id, &event(10, TimelineKind::Step, "again"))
            .await
            .unwrap()
    );
    assert!(
        store
            .record(&id, &event(1, TimelineKind::Opened, "opened"))
            .await
            .unwrap()
    );
    let timeline = store.timeline(&id).await.unwrap();
    assert_eq!(
        timeline
            .iter()
            .map(|e| (e.seq, e.kind, e.summary.as_str()))
            .collect::<Vec<_>>(),
        [
            (1, TimelineKind::Opened, "opened"),
            (10, TimelineKind::Step, "first")
        ]
    );
    assert_eq!(timeline[1].detail, json!({"n": 10}));

    // The close: once, moving the failure count once.
    let target = Target {
        cluster: "selfheal-dev".into(),
        namespace: Some("shop".into()),
        kind: TargetKind::Deployment,
        name: "frontend".into(),
        owner: None,
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
    assert_eq!(store.closing(&id).await.unwrap(), None);
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

    // A later incident on the same target that is remediated resets the count.
    let next = IncidentId::derive("f", t("2026-11-25T22:00:00Z"));
    store
        .close(&next, &closing(Outcome::Remediated), FailureCount::Reset)
        .await
        .unwrap();
    let state = store.guardrail_state(&target, now).await.unwrap();
    assert_eq!(state.consecutive_failures, 0, "reset by a success");
}

/// The archive keeps the first record under a key.
async fn the_archive_keeps_the_first_record(archive: &impl Archive) -> String {
    let id = IncidentId::derive("f", t("2026-11-25T21:00:00Z"));
    let key = selfheal_aws::audit::record_key(&id, t("2026-11-25T21:05:00Z"));
    assert!(key.starts_with("incidents/2026/11/25/inc-"), "{key}");
    assert!(
        archive
            .put_once(&key, &json!({"outcome": "escalated"}))
            .await
            .unwrap()
    );
    let second = archive
        .put_once(&key, &json!({"outcome": "remediated"}))
        .await;
    assert!(!second.unwrap(), "a second write is refused");
    key
}

#[tokio::test]
async fn memory_store_claims_exclude_until_settled_released_or_expired() {
    claims_exclude_until_settled_released_or_expired(&MemoryStore::new()).await;
}

#[tokio::test]
async fn memory_store_counts_budgets_per_namespace() {
    a_namespace_spends_only_its_own_budget(&MemoryStore::new()).await;
}

#[tokio::test]
async fn dynamodb_store_counts_budgets_per_namespace() {
    let moto = selfheal_testkit::moto().await;
    a_namespace_spends_only_its_own_budget(&dynamo(&moto).await).await;
}

#[tokio::test]
async fn memory_store_reads_the_kill_switch_back() {
    the_kill_switch_reads_back(&MemoryStore::new(), async |s: &MemoryStore, on| {
        s.set_kill_switch(on);
    })
    .await;
}

#[tokio::test]
async fn dynamodb_store_reads_the_kill_switch_back() {
    let moto = selfheal_testkit::moto().await;
    the_kill_switch_reads_back(&dynamo(&moto).await, async |s: &DynamoStore, on| {
        s.set_kill_switch(on).await.unwrap();
    })
    .await;
}

#[tokio::test]
async fn memory_store_writes_audit_items_once() {
    audit_items_are_written_once(&MemoryStore::new()).await;
}

#[tokio::test]
async fn memory_archive_keeps_the_first_record() {
    let archive = MemoryArchive::default();
    let key = the_archive_keeps_the_first_record(&archive).await;
    assert_eq!(archive.get(&key).unwrap()["outcome"], "escalated");
}

async fn dynamo(moto: &Server) -> DynamoStore {
    let store = DynamoStore::new(&moto.aws_config().await, "incidents");
    store.create_table().await.unwrap();
    store
}

#[tokio::test]
async fn dynamodb_store_claims_exclude_until_settled_released_or_expired() {
    let moto = selfheal_testkit::moto().await;
    claims_exclude_until_settled_released_or_expired(&dynamo(&moto).await).await;
}

#[tokio::test]
async fn dynamodb_store_writes_audit_items_once() {
    let moto = selfheal_testkit::moto().await;
    audit_items_are_written_once(&dynamo(&moto).await).await;
}

#[tokio::test]
async fn s3_archive_keeps_the_first_record() {
    let moto = selfheal_testkit::moto().await;
    let config = moto.aws_config().await;
    let s3 = aws_sdk_s3::config::Builder::from(&config).force_path_style(true);
    aws_sdk_s3::Client::from_conf(s3.build())
        .create_bucket()
        .bucket("records")
        .send()
        .await
        .unwrap();
    let archive = S3Archive::new(&config, "records");
    let key = the_archive_keeps_the_first_record(&archive).await;
    assert_eq!(
        archive.get(&key).await.unwrap().unwrap()["outcome"],
        "escalated",
        "If-None-Match kept the first"
    );
}
