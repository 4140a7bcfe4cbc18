//! The ingest against moto's DynamoDB, Secrets Manager and Step Functions APIs, through the real
//! AWS SDK: what each delivery answers, what the table holds afterwards, and how many executions
//! exist. Failures moto cannot produce on demand are injected with SDK interceptors.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use chrono::TimeDelta;
use http::HeaderMap;
use selfheal_aws::dynamodb::DynamoStore;
use selfheal_aws::sfn::SfnStarter;
use selfheal_ingest::auth::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign};
use serde_json::{Value, json};

use common::*;

#[tokio::test]
async fn accepted_once_then_duplicate_on_redelivery() {
    let env = Env::new().await;
    let ingest = env.ingest();
    let body = fixture("alertmanager-crashloop-firing.json");
    let (status, first) = deliver(&ingest, bearer(TOKEN), &body, now()).await;
    assert_eq!(status, 202, "{first}");
    assert_eq!(outcomes(&first), ["accepted"; 2]);
    let executions = env.executions().await;
    assert_eq!(executions.len(), 2);
    for (name, input) in &executions {
        assert!(
            first["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["incident_id"] == name.as_str())
        );
        assert_eq!(input["id"], name.as_str());
        assert_eq!(input["schema"], "selfheal.incident/v1");
        assert_eq!(input["runbook"]["id"], "restart-pods");
        assert_eq!(input["decision"], "run");
    }
    // Alertmanager sends the group again (group_interval, an HA peer, a retry): nothing new.
    let (status, again) =
        deliver(&ingest, bearer(TOKEN), &body, now() + TimeDelta::minutes(5)).await;
    assert_eq!(status, 202);
    assert_eq!(outcomes(&again), ["duplicate"; 2]);
    for (a, b) in first["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .zip(again["alerts"].as_array().unwrap())
    {
        assert_eq!(a["execution_arn"], b["execution_arn"]);
        assert_eq!(b["decision"], "run");
    }
    assert_eq!(env.executions().await.len(), 2);
    let id = first["alerts"][0]["incident_id"].as_str().unwrap();
    let item = env.item(id).await.unwrap();
    assert_eq!(item["status"].as_s().unwrap(), "accepted");
    // The first alert is a backend pod's: its guardrails are kept under its deployment.
    assert_eq!(
        item["target"].as_s().unwrap(),
        "selfheal-dev/shop/deployment/backend"
    );
    assert!(item.contains_key("ttl"));
    assert!(!item.contains_key("claim_token"), "the claim is released");
}

#[tokio::test]
async fn fifty_concurrent_deliveries_start_one_execution() {
    let env = Env::new().await;
    let ingest = Arc::new(env.ingest());
    let body = one_alert("backend-7d9f8c6b5-x2k4q", "2026-11-25T21:30:00Z");
    let deliveries = (0..50).map(|_| {
        let (ingest, body) = (ingest.clone(), body.clone());
        tokio::spawn(async move { deliver(&ingest, bearer(TOKEN), &body, now()).await })
    });
    let results: Vec<(u16, Value)> = futures::future::join_all(deliveries)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    let accepted = results
        .iter()
        .filter(|(s, b)| *s == 202 && b["alerts"][0]["outcome"] == "accepted")
        .count();
    assert_eq!(accepted, 1, "{results:?}");
    // The rest saw a settled incident (duplicate) or one still being handled (503: retry).
    // moto evaluates conditions without a lock, so now and then two claims both pass where
    // DynamoDB would let one; the loser then finds its claim taken over at the reservation and
    // answers 503 too. Either way one execution, and no delivery is lost.
    for (status, body) in &results {
        assert!(
            *status == 202
                || (*status == 503 && body["error"].as_str().unwrap().contains("another delivery")),
            "{status} {body}"
        );
    }
    assert_eq!(env.executions().await.len(), 1);
    // Alertmanager's retries of the 503s are duplicates.
    for _ in results.iter().filter(|(s, _)| *s == 503) {
        let (status, body) = deliver(&ingest, bearer(TOKEN), &body, now()).await;
        assert_eq!((status, outcomes(&body)[0].as_str()), (202, "duplicate"));
    }
    assert_eq!(env.executions().await.len(), 1);
}

#[tokio::test]
async fn refusals_are_recorded_with_their_reasons() {
    let env = Env::new().await;
    let ingest = env.ingest();
    let cases = [
        (
            "alertmanager-kube-system-crashloop-firing.json",
            "namespace-denied",
        ),
        ("alertmanager-watchdog-firing.json", "no-runbook"),
        (
            "alertmanager-invalid-namespace-firing.json",
            "invalid-target",
        ),
    ];
    for (file, code) in cases {
        let (status, body) = deliver(&ingest, bearer(TOKEN), &fixture(file), now()).await;
        assert_eq!(status, 202, "{file}: {body}");
        let alert = &body["alerts"][0];
        assert_eq!(alert["outcome"], "refused", "{file}: {body}");
        assert_eq!(alert["codes"], json!([code]), "{file}");
        assert!(!alert["reasons"][0].as_str().unwrap().is_empty());
        let item = env
            .item(alert["incident_id"].as_str().unwrap())
            .await
            .unwrap();
        assert_eq!(item["status"].as_s().unwrap(), "refused");
        let outcome: Value = serde_json::from_str(item["outcome"].as_s().unwrap()).unwrap();
        assert_eq!(outcome["codes"], json!([code]));
        // A permanent refusal stays one: the redelivery is a duplicate that says why.
        let (_, again) = deliver(
            &ingest,
            bearer(TOKEN),
            &fixture(file),
            now() + TimeDelta::hours(2),
        )
        .await;
        assert_eq!(again["alerts"][0]["outcome"], "duplicate");
        assert_eq!(again["alerts"][0]["codes"], json!([code]));
    }
    assert!(env.executions().await.is_empty());

    // Cooldown: a new episode on the same pod five minutes after the first was acted on.
    let first = one_alert("web1", "2026-11-25T21:00:00Z");
    let (_, body) = deliver(&ingest, bearer(TOKEN), &first, now()).await;
    assert_eq!(body["alerts"][0]["outcome"], "accepted");
    let second = one_alert("web1", "2026-11-25T21:33:00Z");
    let later = now() + TimeDelta::minutes(5);
    let (_, body) = deliver(&ingest, bearer(TOKEN), &second, later).await;
    assert_eq!(body["alerts"][0]["outcome"], "refused", "{body}");
    assert_eq!(body["alerts"][0]["codes"], json!(["cooldown"]));
    // Redelivered while cooling down: still the recorded refusal.
    let (_, body) = deliver(
        &ingest,
        bearer(TOKEN),
        &second,
        later + TimeDelta::minutes(1),
    )
    .await;
    assert_eq!(body["alerts"][0]["outcome"], "duplicate");
    // Redelivered after the cooldown (15 m for restart-pods): triaged again, and accepted.
    let (_, body) = deliver(
        &ingest,
        bearer(TOKEN),
        &second,
        now() + TimeDelta::minutes(16),
    )
    .await;
    assert_eq!(body["alerts"][0]["outcome"], "accepted", "{body}");
    assert_eq!(env.executions().await.len(), 2);
}

#[tokio::test]
async fn the_kill_switch_turns_incidents_into_dry_runs() {
    let env = Env::new().await;
    DynamoStore::new(&env.config, TABLE)
        .set_kill_switch(true)
        .await
        .unwrap();
    let ingest = env.ingest();
    let (_, body) = deliver(
        &ingest,
        bearer(TOKEN),
        &one_alert("api1", "2026-11-25T21:00:00Z"),
        now(),
    )
    .await;
    assert_eq!(body["alerts"][0]["outcome"], "accepted");
    assert_eq!(body["alerts"][0]["decision"], "dry-run");
    let executions = env.executions().await;
    assert_eq!(executions[0].1["mode"], "dry-run");
}

#[tokio::test]
async fn resolved_alerts_mark_the_incident_and_start_nothing() {
    let env = Env::new().await;
    let ingest = env.ingest();
    let (_, firing) = deliver(
        &ingest,
        bearer(TOKEN),
        &fixture("alertmanager-crashloop-firing.json"),
        now(),
    )
    .await;
    let (status, resolved) = deliver(
        &ingest,
        bearer(TOKEN),
        &fixture("alertmanager-crashloop-resolved.json"),
        now() + TimeDelta::minutes(3),
    )
    .await;
    assert_eq!(status, 202);
    assert_eq!(outcomes(&resolved), ["resolved"; 2]);
    assert_eq!(env.executions().await.len(), 2);
    for a in firing["alerts"].as_array().unwrap() {
        let item = env.item(a["incident_id"].as_str().unwrap()).await.unwrap();
        assert!(item.contains_key("resolved_at"), "{item:?}");
        assert_eq!(item["status"].as_s().unwrap(), "accepted");
    }
    // A resolution for an alert never seen firing creates nothing.
    let fresh = Env::new().await;
    let (status, body) = deliver(
        &fresh.ingest(),
        bearer(TOKEN),
        &fixture("alertmanager-crashloop-resolved.json"),
        now(),
    )
    .await;
    assert_eq!((status, outcomes(&body)[0].as_str()), (202, "resolved"));
    let id = body["alerts"][0]["incident_id"].as_str().unwrap();
    assert!(fresh.item(id).await.is_none());
}

#[tokio::test]
async fn unauthenticated_and_invalid_requests_are_refused_and_change_nothing() {
    let env = Env::new().await;
    let ingest = env.ingest();
    let body = fixture("alertmanager-crashloop-firing.json");
    let (status, answer) = deliver(&ingest, HeaderMap::new(), &body, now()).await;
    assert_eq!(status, 401, "{answer}");
    let (status, _) = deliver(&ingest, bearer("wrong"), &body, now()).await;
    assert_eq!(status, 401);
    let mut forged = HeaderMap::new();
    forged.insert(
        SIGNATURE_HEADER,
        sign("wrong", now(), &body).parse().unwrap(),
    );
    forged.insert(TIMESTAMP_HEADER, now().timestamp().into());
    assert_eq!(deliver(&ingest, forged, &body, now()).await.0, 401);
    assert!(env.executions().await.is_empty());

    let (status, answer) = deliver(&ingest, bearer(TOKEN), br#"{"version":"4","status":"firing","alerts":[{"status":"firing","labels":{},"startsAt":"yesterday"}]}"#, now()).await;
    assert_eq!(status, 400);
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("alerts[0].startsAt"),
        "{answer}"
    );
    let (status, answer) = deliver(
        &ingest,
        bearer(TOKEN),
        br#"{"version":"3","status":"firing","alerts":[]}"#,
        now(),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        answer["error"].as_str().unwrap().contains("version"),
        "{answer}"
    );
    let huge = vec![b' '; 2 * 1024 * 1024];
    assert_eq!(deliver(&ingest, bearer(TOKEN), &huge, now()).await.0, 413);
    assert!(env.executions().await.is_empty());

    // A signed body is let in like a bearer token.
    let mut signed = HeaderMap::new();
    signed.insert(SIGNATURE_HEADER, sign(TOKEN, now(), &body).parse().unwrap());
    signed.insert(TIMESTAMP_HEADER, now().timestamp().into());
    assert_eq!(deliver(&ingest, signed, &body, now()).await.0, 202);
}

#[tokio::test]
async fn a_dynamodb_failure_is_a_503_and_the_retry_completes_it() {
    let env = Env::new().await;
    for fail_after in [0, 1, 2] {
        // Fail the first DynamoDB call, then the second (guardrail state), then the third (the
        // reservation): each time the retry completes the incident, exactly once.
        let dynamo = aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&env.config)
                .interceptor(SkipThenFail::new(fail_after))
                .build(),
        );
        let ingest = env.ingest_with(
            DynamoStore::with_client(dynamo, TABLE),
            SfnStarter::new(&env.config, &env.state_machine),
        );
        let body = one_alert(&format!("pod{fail_after}"), "2026-11-25T21:00:00Z");
        let (status, answer) = deliver(&ingest, bearer(TOKEN), &body, now()).await;
        assert_eq!(status, 503, "fail after {fail_after}: {answer}");
        let (status, answer) = deliver(&ingest, bearer(TOKEN), &body, now()).await;
        assert_eq!(
            (status, outcomes(&answer)[0].as_str()),
            (202, "accepted"),
            "{answer}"
        );
    }
    assert_eq!(env.executions().await.len(), 3);

    // Step Functions down after the reservation: the retry starts the reserved incident
    // without deciding again (the cooldown it reserved does not refuse it).
    let sfn = aws_sdk_sfn::Client::from_conf(
        aws_sdk_sfn::config::Builder::from(&env.config)
            .interceptor(SkipThenFail::new(0))
            .build(),
    );
    let starter = SfnStarter::with_client(sfn, &env.state_machine);
    let ingest = env.ingest_with(DynamoStore::new(&env.config, TABLE), starter);
    let body = one_alert("pod-sfn", "2026-11-25T21:00:00Z");
    let (status, answer) = deliver(&ingest, bearer(TOKEN), &body, now()).await;
    assert_eq!(status, 503, "{answer}");
    let (status, answer) =
        deliver(&ingest, bearer(TOKEN), &body, now() + TimeDelta::seconds(2)).await;
    assert_eq!(
        (status, outcomes(&answer)[0].as_str()),
        (202, "accepted"),
        "{answer}"
    );
    assert_eq!(env.executions().await.len(), 4);
}

/// Lets `skip` calls through, fails the next one before it is sent (what an outage or throttling
/// looks like to the caller, which moto cannot produce on demand), then lets everything through.
#[derive(Debug)]
struct SkipThenFail {
    calls: AtomicUsize,
    fail_at: usize,
}

impl SkipThenFail {
    fn new(skip: usize) -> Self {
        SkipThenFail {
            calls: AtomicUsize::new(0),
            fail_at: skip,
        }
    }
}

impl Intercept for SkipThenFail {
    fn name(&self) -> &'static str {
        "SkipThenFail"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if self.calls.fetch_add(1, Ordering::SeqCst) == self.fail_at {
            return Err("injected failure".into());
        }
        Ok(())
    }
}

#[tokio::test]
async fn sns_events_from_the_configured_topic_only() {
    let env = Env::new().await;
    let ingest = env.ingest();
    let event: Value = serde_json::from_slice(&fixture("sns-amp-crashloop-firing.json")).unwrap();
    let out = ingest.invoke(event.clone(), now()).await.unwrap();
    assert_eq!(outcomes(&out), ["accepted"; 2]);
    // The same alerts through the webhook are the same incidents.
    let (_, body) = deliver(
        &ingest,
        bearer(TOKEN),
        &fixture("alertmanager-crashloop-firing.json"),
        now(),
    )
    .await;
    assert_eq!(outcomes(&body), ["duplicate"; 2]);
    let resolved: Value =
        serde_json::from_slice(&fixture("sns-amp-crashloop-resolved.json")).unwrap();
    let out = ingest.invoke(resolved, now()).await.unwrap();
    assert_eq!(outcomes(&out)[0], "resolved");
    let mut foreign = event;
    foreign["Records"][0]["Sns"]["TopicArn"] = json!("arn:aws:sns:us-east-1:123456789012:other");
    let err = ingest.invoke(foreign, now()).await.unwrap_err();
    assert_eq!(err.status(), 403, "{err}");
    assert_eq!(env.executions().await.len(), 2);
}
