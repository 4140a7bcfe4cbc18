//! What an operator's tools and the tests do to the incident table, never a Lambda: create it
//! as Terraform does, flip the kill switch, set a target's failure count.

use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, GlobalSecondaryIndex, KeySchemaElement,
    KeyType, Projection, ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use selfheal_core::Target;

use super::{DynamoStore, kill_switch_key, n, target_item_key, unavailable};
use crate::kill_switch;
use crate::store::StoreError;

impl DynamoStore {
    /// Creates the table as Terraform does (on-demand, `pk`/`sk`, TTL on `ttl`), for the lab and
    /// tests against moto.
    pub async fn create_table(&self) -> Result<(), StoreError> {
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(StoreError::unavailable)
        };
        let key = |name: &str, kind| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(StoreError::unavailable)
        };
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(attr("pk")?)
            .attribute_definitions(attr("sk")?)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .attribute_definitions(attr("target")?)
            .attribute_definitions(attr("first_seen")?)
            // "What happened to backend this week": incidents by target, newest last.
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name("by-target")
                    .key_schema(key("target", KeyType::Hash)?)
                    .key_schema(key("first_seen", KeyType::Range)?)
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .map_err(StoreError::unavailable)?,
            )
            .send()
            .await
            .map_err(unavailable)?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .enabled(true)
                    .attribute_name("ttl")
                    .build()
                    .map_err(StoreError::unavailable)?,
            )
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Turns the kill switch on or off (every action becomes a dry run, without a deploy).
    pub async fn set_kill_switch(&self, on: bool) -> Result<(), StoreError> {
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(kill_switch_key()))
            .item(kill_switch::ATTRIBUTE, AttributeValue::Bool(on))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    /// Sets a target's failed-remediation count (the circuit breaker's input).
    pub async fn set_failures(&self, target: &Target, failures: u32) -> Result<(), StoreError> {
        self.client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(target_item_key(target)))
            .update_expression("SET failures = :f")
            .expression_attribute_values(":f", n(failures.into()))
            .send()
            .await
            .map_err(unavailable)?;
        Ok(())
    }
}
