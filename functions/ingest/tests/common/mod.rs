//! What the ingest's integration tests share: a moto server with the table, the webhook secret
//! and a state machine, and deliveries through the API Gateway v2 event.
#![allow(clippy::unwrap_used, dead_code)]

use chrono::{DateTime, Utc};
use http::HeaderMap;
use selfheal_aws::dynamodb::DynamoStore;
use selfheal_aws::secretsmanager::ManagedSecret;
use selfheal_aws::sfn::SfnStarter;
use selfheal_core::embedded;
use selfheal_ingest::{Ingest, Settings, gateway};
use selfheal_testkit::Server;
use serde_json::{Value, json};

pub const TOKEN: &str = "t0ken-for-tests";
pub const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:amp-alerts";

pub type MotoIngest = Ingest<DynamoStore, SfnStarter, ManagedSecret>;

pub struct Env {
    _moto: Server,
    pub config: aws_config::SdkConfig,
    pub sfn: aws_sdk_sfn::Client,
    pub state_machine: String,
}

pub const TABLE: &str = "selfheal-incidents";

impl Env {
    pub async fn new() -> Env {
        let moto = selfheal_testkit::moto().await;
        let config = moto.aws_config().await;
        DynamoStore::new(&config, TABLE)
            .create_table()
            .await
            .unwrap();
        aws_sdk_secretsmanager::Client::new(&config)
            .create_secret()
            .name("selfheal/webhook")
            .secret_string(TOKEN)
            .send()
            .await
            .unwrap();
        let sfn = aws_sdk_sfn::Client::new(&config);
        let state_machine = sfn
            .create_state_machine()
            .name("selfheal-remediation")
            .definition(r#"{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}"#)
            .role_arn("arn:aws:iam::123456789012:role/selfheal-sfn")
            .send()
            .await
            .unwrap()
            .state_machine_arn;
        Env {
            _moto: moto,
            config,
            sfn,
            state_machine,
        }
    }

    pub fn ingest_with(&self, store: DynamoStore, starter: SfnStarter) -> MotoIngest {
        self.ingest_deciding_with(store, starter, embedded::policy().unwrap())
    }

    /// [`Self::ingest_with`] under another guardrail policy.
    pub fn ingest_deciding_with(
        &self,
        store: DynamoStore,
        starter: SfnStarter,
        policy: selfheal_core::Policy,
    ) -> MotoIngest {
        Ingest::new(
            store,
            starter,
            ManagedSecret::new(&self.config, "selfheal/webhook"),
            embedded::catalog().unwrap(),
            policy,
        )
        .with_settings(Settings {
            sns_topic_arn: Some(TOPIC.into()),
            ..Settings::default()
        })
    }

    pub fn ingest(&self) -> MotoIngest {
        self.ingest_with(
            DynamoStore::new(&self.config, TABLE),
            SfnStarter::new(&self.config, &self.state_machine),
        )
    }

    /// Executions: (name, input).
    pub async fn executions(&self) -> Vec<(String, Value)> {
        let list = self
            .sfn
            .list_executions()
            .state_machine_arn(&self.state_machine)
            .send()
            .await
            .unwrap();
        let mut out = Vec::new();
        for e in list.executions() {
            let d = self
                .sfn
                .describe_execution()
                .execution_arn(e.execution_arn())
                .send()
                .await
                .unwrap();
            out.push((
                e.name().to_owned(),
                serde_json::from_str(d.input().unwrap()).unwrap(),
            ));
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        out
    }

    pub async fn item(
        &self,
        id: &str,
    ) -> Option<std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>> {
        DynamoStore::new(&self.config, TABLE)
            .incident_item(&id.to_owned().try_into().unwrap())
            .await
            .unwrap()
    }
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-25T21:34:00Z")
        .unwrap()
        .to_utc()
}

pub fn bearer(token: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        http::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    h
}

/// One delivery through the API Gateway v2 event, as the Lambda gets it: (status, body).
pub async fn deliver(
    ingest: &MotoIngest,
    headers: HeaderMap,
    body: &[u8],
    at: DateTime<Utc>,
) -> (u16, Value) {
    let event = serde_json::to_value(gateway::event(headers, body)).unwrap();
    let response = ingest.invoke(event, at).await.unwrap();
    let status = u16::try_from(response["statusCode"].as_i64().unwrap()).unwrap();
    (
        status,
        serde_json::from_str(response["body"].as_str().unwrap()).unwrap(),
    )
}

pub fn outcomes(body: &Value) -> Vec<String> {
    body["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["outcome"].as_str().unwrap().to_owned())
        .collect()
}

pub fn one_alert(pod: &str, starts_at: &str) -> Vec<u8> {
    json!({
        "version": "4", "status": "firing", "receiver": "selfheal", "groupKey": "{}:{}",
        "alerts": [{
            "status": "firing",
            "labels": {"alertname": "KubePodCrashLooping", "severity": "warning", "namespace": "shop", "pod": pod, "cluster": "selfheal-dev"},
            "annotations": {}, "startsAt": starts_at, "endsAt": "0001-01-01T00:00:00Z",
        }]
    })
    .to_string()
    .into_bytes()
}
