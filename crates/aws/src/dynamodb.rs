//! [`IncidentStore`] on one DynamoDB table (string keys `pk` and `sk`, TTL attribute `ttl`):
//!
//! | pk                          | sk          | what                                              |
//! |-----------------------------|-------------|---------------------------------------------------|
//! | `incident#<id>`             | `incident`  | claim, reserved incident, outcome, resolved_at    |
//! | `target#<cluster/ns/kind/name>` | `guardrail` | last_action_at, last_incident, failures       |
//! | `budget#<hour, RFC 3339>`   | `budget`    | actions started in that UTC hour                  |
//! | `budget#<hour>#<cluster/ns>` | `budget`   | actions started in that hour in one namespace     |
//! | `config`                    | `kill-switch` | enabled                                         |
//!
//! Every write another delivery could race is a conditional write; the reservation is one
//! transaction, so the cooldown, the budget and the incident it was spent on never disagree.
//!
//! What an operator's tools and the tests do to the table (create it, flip the kill switch, set
//! a failure count) is in [`operator`], behind the `operator` feature: no Lambda links it, so no
//! Lambda's policy grants it.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, ReturnValue, TransactWriteItem, Update,
};
use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use selfheal_core::guardrail::{Budgets, budget_window};
use selfheal_core::{GuardrailState, Incident, IncidentId, Target};

use crate::audit::{AuditLog, Closing, FailureCount, TimelineEvent};
use crate::kill_switch;
use crate::store::{
    Claim, ClaimToken, IncidentStore, ReplayGuard, Reservation, Settled, StoreError, namespace_key,
    target_key,
};

type Item = HashMap<String, AttributeValue>;

/// How long incident records are kept (the TTL attribute).
const RETENTION: TimeDelta = TimeDelta::days(90);

#[cfg(feature = "operator")]
pub mod operator;

/// The DynamoDB incident store.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn key(pk: String, sk: &str) -> Item {
    HashMap::from([("pk".to_owned(), s(pk)), ("sk".to_owned(), s(sk))])
}

fn incident_key(id: &IncidentId) -> Item {
    key(incident_pk(id), "incident")
}

fn incident_pk(id: &IncidentId) -> String {
    format!("incident#{id}")
}

fn target_pk(target: &Target) -> String {
    format!("target#{}", target_key(target))
}

fn target_item_key(target: &Target) -> Item {
    key(target_pk(target), "guardrail")
}

/// The budget item of `now`'s hour: the global one, or one namespace's (`cluster/ns`).
fn budget_pk(now: DateTime<Utc>, namespace: Option<&str>) -> String {
    let window = budget_window(now).to_rfc3339_opts(SecondsFormat::Secs, true);
    match namespace {
        None => format!("budget#{window}"),
        Some(ns) => format!("budget#{window}#{ns}"),
    }
}

fn budget_key(now: DateTime<Utc>, namespace: Option<&str>) -> Item {
    key(budget_pk(now, namespace), "budget")
}

fn kill_switch_key() -> Item {
    key(kill_switch::PK.into(), kill_switch::SK)
}

fn get_n(item: &Item, name: &str) -> Option<i64> {
    item.get(name)?.as_n().ok()?.parse().ok()
}

fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name)?.as_s().ok().map(String::as_str)
}

fn unavailable<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    StoreError::unavailable(e)
}

fn is_conditional_failure<E, R>(e: &SdkError<E, R>) -> bool
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata,
{
    matches!(e, SdkError::ServiceError(se) if se.err().code() == Some("ConditionalCheckFailedException"))
}

impl DynamoStore {
    /// The store in `table`.
    pub fn new(config: &aws_config::SdkConfig, table: impl Into<String>) -> Self {
        Self::with_client(Client::new(config), table)
    }

    /// The store in `table`, through a client configured by the caller.
    pub fn with_client(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
        }
    }

    /// The incident's record as stored (for tests, the lab and the audit).
    pub async fn incident_item(&self, id: &IncidentId) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(incident_key(id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out.item)
    }

    /// One update of a transaction, on this table.
    fn transact_update(
        &self,
        update: aws_sdk_dynamodb::types::builders::UpdateBuilder,
    ) -> Result<TransactWriteItem, StoreError> {
        update
            .table_name(&self.table)
            .build()
            .map(|u| TransactWriteItem::builder().update(u).build())
            .map_err(StoreError::unavailable)
    }

    /// How a settled record ended, or None while it is still claimed.
    fn settled(item: &Item) -> Result<Option<Settled>, StoreError> {
        match get_s(item, "outcome") {
            Some(json) if get_s(item, "status") != Some("claimed") => serde_json::from_str(json)
                .map(Some)
                .map_err(|e| StoreError::corrupt("outcome", e)),
            _ => Ok(None),
        }
    }
}

impl IncidentStore for DynamoStore {
    async fn claim(
        &self,
        id: &IncidentId,
        now: DateTime<Utc>,
        hold: TimeDelta,
    ) -> Result<Claim, StoreError> {
        let token = ClaimToken::new(id);
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(incident_key(id)))
            .update_expression(
                "SET #st = :claimed, claim_token = :tok, claim_expires = :exp, \
                 first_seen = if_not_exists(first_seen, :now_s), #ttl = :ttl \
                 REMOVE outcome, retry_after",
            )
            .condition_expression(
                "attribute_not_exists(pk) OR (#st = :claimed AND claim_expires < :now) \
                 OR (#st = :refused AND retry_after < :now)",
            )
            .expression_attribute_names("#st", "status")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":claimed", s("claimed"))
            .expression_attribute_values(":refused", s("refused"))
            .expression_attribute_values(":tok", s(&token.token))
            .expression_attribute_values(":exp", n((now + hold).timestamp_millis()))
            .expression_attribute_values(":now", n(now.timestamp_millis()))
            .expression_attribute_values(
                ":now_s",
                s(now.to_rfc3339_opts(SecondsFormat::Millis, true)),
            )
            .expression_attribute_values(":ttl", n((now + RETENTION).timestamp()))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match result {
            Ok(out) => {
                let reserved = match out.attributes.as_ref().and_then(|a| get_s(a, "incident")) {
                    Some(json) => Some(Box::new(
                        serde_json::from_str::<Incident>(json)
                            .map_err(|e| StoreError::corrupt("incident", e))?,
                    )),
                    None => None,
                };
                Ok(Claim::Acquired { token, reserved })
            }
            Err(e) if is_conditional_failure(&e) => {
                let Some(item) = self.incident_item(id).await? else {
                    // Removed between the two calls (TTL): let the caller retry.
                    return Ok(Claim::InProgress);
                };
                Ok(match Self::settled(&item)? {
                    Some(settled) => Claim::Settled(settled),
                    None => Claim::InProgress,
                })
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn guardrail_state(
        &self,
        target: &Target,
        now: DateTime<Utc>,
    ) -> Result<GuardrailState, StoreError> {
        let namespace = namespace_key(target);
        let mut keys = KeysAndAttributes::builder()
            .keys(target_item_key(target))
            .keys(budget_key(now, None))
            .keys(kill_switch_key())
            .consistent_read(true);
        if let Some(ns) = &namespace {
            keys = keys.keys(budget_key(now, Some(ns)));
        }
        let keys = keys.build().map_err(StoreError::unavailable)?;
        let out = self
            .client
            .batch_get_item()
            .request_items(&self.table, keys)
            .send()
            .await
            .map_err(unavailable)?;
        if out
            .unprocessed_keys
            .as_ref()
            .is_some_and(|u| u.values().any(|k| !k.keys.is_empty()))
        {
            return Err(StoreError::unavailable(
                "guardrail state: keys left unprocessed",
            ));
        }
        let items = out
            .responses
            .and_then(|mut r| r.remove(&self.table))
            .unwrap_or_default();
        let find = |pk: &str| items.iter().find(|i| get_s(i, "pk") == Some(pk));
        let target_item = find(&target_pk(target));
        let used = |pk: &str| {
            find(pk)
                .and_then(|i| get_n(i, "used"))
                .map_or(0, |v| u32::try_from(v).unwrap_or(u32::MAX))
        };
        Ok(GuardrailState {
            kill_switch: find(kill_switch::PK)
                .and_then(|i| i.get(kill_switch::ATTRIBUTE))
                .and_then(|v| v.as_bool().ok())
                .copied()
                .unwrap_or(false),
            last_action_at: target_item
                .and_then(|i| get_n(i, "last_action_at"))
                .and_then(DateTime::from_timestamp_millis),
            actions_last_hour: used(&budget_pk(now, None)),
            namespace_actions_last_hour: namespace
                .as_deref()
                .map_or(0, |ns| used(&budget_pk(now, Some(ns)))),
            consecutive_failures: target_item
                .and_then(|i| get_n(i, "failures"))
                .map_or(0, |v| u32::try_from(v).unwrap_or(u32::MAX)),
            replicas: None,
            nodes: None,
        })
    }

    async fn reserve(
        &self,
        claim: &ClaimToken,
        incident: &Incident,
        budgets: Budgets,
        now: DateTime<Utc>,
    ) -> Result<Reservation, StoreError> {
        let json =
            serde_json::to_string(incident).map_err(|e| StoreError::corrupt("incident", e))?;
        let build = |u| self.transact_update(u);
        let claimed = build(
            Update::builder()
                .set_key(Some(incident_key(&claim.id)))
                .update_expression("SET incident = :inc, #tg = :target")
                .condition_expression("#st = :claimed AND claim_token = :tok")
                .expression_attribute_names("#st", "status")
                .expression_attribute_names("#tg", "target")
                .expression_attribute_values(":claimed", s("claimed"))
                .expression_attribute_values(":tok", s(&claim.token))
                .expression_attribute_values(":inc", s(json))
                .expression_attribute_values(":target", s(target_key(&incident.target))),
        )?;
        let cutoff = now - incident.runbook.cooldown.as_duration();
        let cooldown = build(
            Update::builder()
                .set_key(Some(target_item_key(&incident.target)))
                .update_expression("SET last_action_at = :now, last_incident = :id")
                .condition_expression(
                    "attribute_not_exists(last_action_at) OR last_action_at <= :cutoff \
                     OR last_incident = :id",
                )
                .expression_attribute_values(":now", n(now.timestamp_millis()))
                .expression_attribute_values(":cutoff", n(cutoff.timestamp_millis()))
                .expression_attribute_values(":id", s(claim.id.as_str())),
        )?;
        let spend = |namespace: Option<&str>, limit: u32| {
            build(
                Update::builder()
                    .set_key(Some(budget_key(now, namespace)))
                    .update_expression("ADD #used :one SET #ttl = :ttl")
                    .condition_expression("attribute_not_exists(#used) OR #used < :limit")
                    .expression_attribute_names("#used", "used")
                    .expression_attribute_names("#ttl", "ttl")
                    .expression_attribute_values(":one", n(1))
                    .expression_attribute_values(":limit", n(limit.into()))
                    .expression_attribute_values(
                        ":ttl",
                        n((budget_window(now) + TimeDelta::hours(2)).timestamp()),
                    ),
            )
        };
        let mut request = self
            .client
            .transact_write_items()
            .transact_items(claimed)
            .transact_items(cooldown)
            .transact_items(spend(None, budgets.hourly)?);
        if let Some(ns) = namespace_key(&incident.target) {
            request = request.transact_items(spend(Some(&ns), budgets.namespace_hourly)?);
        }
        let result = request.send().await;
        match result {
            Ok(_) => Ok(Reservation::Reserved),
            Err(SdkError::ServiceError(e)) => match e.err() {
                TransactWriteItemsError::TransactionCanceledException(t) => {
                    let claim_failed = t.cancellation_reasons().first().and_then(|r| r.code())
                        == Some("ConditionalCheckFailed");
                    Ok(if claim_failed {
                        Reservation::ClaimLost
                    } else {
                        Reservation::Contended
                    })
                }
                _ => Err(unavailable(SdkError::ServiceError(e))),
            },
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn settle(
        &self,
        claim: &ClaimToken,
        settled: &Settled,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(settled).map_err(|e| StoreError::corrupt("settled", e))?;
        let (status, retry_after) = match settled {
            Settled::Accepted { .. } => ("accepted", None),
            Settled::Refused(r) => ("refused", r.retry_after),
        };
        let mut update = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(incident_key(&claim.id)))
            .condition_expression("claim_token = :tok")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":tok", s(&claim.token))
            .expression_attribute_values(":status", s(status))
            .expression_attribute_values(":outcome", s(json))
            .expression_attribute_values(
                ":now",
                s(now.to_rfc3339_opts(SecondsFormat::Millis, true)),
            );
        update = match retry_after {
            Some(t) => update
                .update_expression(
                    "SET #st = :status, outcome = :outcome, settled_at = :now, retry_after = :ra \
                     REMOVE claim_token, claim_expires",
                )
                .expression_attribute_values(":ra", n(t.timestamp_millis())),
            None => update.update_expression(
                "SET #st = :status, outcome = :outcome, settled_at = :now \
                 REMOVE claim_token, claim_expires, retry_after",
            ),
        };
        match update.send().await {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_failure(&e) => Err(StoreError::ClaimLost(claim.id.clone())),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn release(&self, claim: &ClaimToken) -> Result<(), StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(incident_key(&claim.id)))
            .update_expression("SET claim_expires = :zero")
            .condition_expression("#st = :claimed AND claim_token = :tok")
            .expression_attribute_names("#st", "status")
            .expression_attribute_values(":claimed", s("claimed"))
            .expression_attribute_values(":tok", s(&claim.token))
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_conditional_failure(&e) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn resolve(&self, id: &IncidentId, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let result = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(incident_key(id)))
            .update_expression("SET resolved_at = if_not_exists(resolved_at, :at)")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":at", s(at.to_rfc3339_opts(SecondsFormat::Millis, true)))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_failure(&e) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn kill_switch(&self) -> Result<Option<bool>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(kill_switch_key()))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        Ok(out
            .item
            .and_then(|i| i.get(kill_switch::ATTRIBUTE).cloned())
            .and_then(|v| v.as_bool().ok().copied()))
    }
}

impl AuditLog for DynamoStore {
    async fn record(&self, id: &IncidentId, event: &TimelineEvent) -> Result<bool, StoreError> {
        let json = serde_json::to_string(event).map_err(|e| StoreError::corrupt("event", e))?;
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(key(
                incident_pk(id),
                &format!("event#{:06}", event.seq),
            )))
            .item("kind", s(event.kind.as_str()))
            .item(
                "at",
                s(event.at.to_rfc3339_opts(SecondsFormat::Millis, true)),
            )
            .item("summary", s(&event.summary))
            .item("event", s(json))
            .item("ttl", n((event.at + RETENTION).timestamp()))
            .condition_expression("attribute_not_exists(sk)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_failure(&e) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn close(
        &self,
        id: &IncidentId,
        closing: &Closing,
        failures: FailureCount,
    ) -> Result<Closing, StoreError> {
        let json = serde_json::to_string(closing).map_err(|e| StoreError::corrupt("closing", e))?;
        let build = |u| self.transact_update(u);
        let mut request = self.client.transact_write_items().transact_items(build(
            Update::builder()
                .set_key(Some(incident_key(id)))
                .update_expression(
                    "SET closing = :closing, final_outcome = :outcome, closed_at = :at, \
                     runbook = :runbook, #mode = :mode, mttr_seconds = :mttr, \
                     #tg = :target, execution_arn = if_not_exists(execution_arn, :execution)",
                )
                .expression_attribute_names("#mode", "mode")
                .expression_attribute_names("#tg", "target")
                .expression_attribute_values(":runbook", s(&closing.runbook))
                .expression_attribute_values(":mode", s(closing.mode.as_str()))
                .expression_attribute_values(":target", s(target_key(&closing.target)))
                .expression_attribute_values(
                    ":mttr",
                    closing.mttr_seconds.map_or(AttributeValue::Null(true), n),
                )
                .condition_expression("attribute_not_exists(final_outcome)")
                .expression_attribute_values(":closing", s(json))
                .expression_attribute_values(":outcome", s(closing.outcome.as_str()))
                .expression_attribute_values(
                    ":at",
                    s(closing
                        .closed_at
                        .to_rfc3339_opts(SecondsFormat::Millis, true)),
                )
                .expression_attribute_values(":execution", s(&closing.execution)),
        )?);
        let target = Update::builder().set_key(Some(target_item_key(&closing.target)));
        request = match failures {
            FailureCount::Reset => request.transact_items(build(
                target
                    .update_expression("SET failures = :zero")
                    .expression_attribute_values(":zero", n(0)),
            )?),
            FailureCount::Increment => request.transact_items(build(
                target
                    .update_expression("ADD failures :one")
                    .expression_attribute_values(":one", n(1)),
            )?),
            FailureCount::Keep => request,
        };
        match request.send().await {
            Ok(_) => Ok(closing.clone()),
            Err(SdkError::ServiceError(e))
                if matches!(
                    e.err(),
                    TransactWriteItemsError::TransactionCanceledException(_)
                ) =>
            {
                // Closed before (a retried state): the first close stands.
                let item = self.incident_item(id).await?.unwrap_or_default();
                let first = get_s(&item, "closing").ok_or_else(|| {
                    StoreError::unavailable("close was cancelled but no close is recorded")
                })?;
                serde_json::from_str(first).map_err(|e| StoreError::corrupt("closing", e))
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn await_approval(&self, id: &IncidentId, token: &str) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(incident_key(id)))
            .update_expression("SET approval_token = :t")
            .expression_attribute_values(":t", s(token))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn approval_token(&self, id: &IncidentId) -> Result<Option<String>, StoreError> {
        let item = self.incident_item(id).await?.unwrap_or_default();
        Ok(get_s(&item, "approval_token").map(str::to_owned))
    }

    async fn closing(&self, id: &IncidentId) -> Result<Option<Closing>, StoreError> {
        let item = self.incident_item(id).await?.unwrap_or_default();
        get_s(&item, "closing")
            .map(|json| serde_json::from_str(json).map_err(|e| StoreError::corrupt("closing", e)))
            .transpose()
    }

    async fn timeline(&self, id: &IncidentId) -> Result<Vec<TimelineEvent>, StoreError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :pk AND begins_with(sk, :events)")
            .expression_attribute_values(":pk", s(incident_pk(id)))
            .expression_attribute_values(":events", s("event#"))
            .consistent_read(true)
            .send()
            .await
            .map_err(unavailable)?;
        out.items()
            .iter()
            .map(|item| {
                let json = get_s(item, "event").unwrap_or_default();
                serde_json::from_str(json).map_err(|e| StoreError::corrupt("event", e))
            })
            .collect()
    }
}

impl ReplayGuard for DynamoStore {
    async fn first_time(
        &self,
        key: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // TTL deletion is lazy: an expired item still present counts as absent.
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(self::key(format!("nonce#{key}"), "nonce")))
            .item("ttl", n(expires.timestamp()))
            .condition_expression("attribute_not_exists(pk) OR #ttl < :now")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":now", n(now.timestamp()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if is_conditional_failure(&e) => Ok(false),
            Err(e) => Err(unavailable(e)),
        }
    }
}
