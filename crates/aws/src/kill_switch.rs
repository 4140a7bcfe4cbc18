//! The kill switch as the state machine reads it. It is one item of the incident table (pk
//! `config`, sk `kill-switch`, BOOL `enabled`); the ingest reads it with the guardrail state, and
//! the state machine reads it again with Step Functions' own `dynamodb:getItem` before every
//! cluster-changing step, so executions already running (approval waits, second attempts,
//! multi-step runbooks) turn into dry runs the moment it is switched on.

use serde_json::{Value, json};

/// The item's partition key.
pub const PK: &str = "config";
/// The item's sort key.
pub const SK: &str = "kill-switch";
/// The BOOL attribute that says whether it is on.
pub const ATTRIBUTE: &str = "enabled";

/// The item's key in DynamoDB JSON, as a `dynamodb:getItem` state's `Key` holds it.
pub fn key() -> Value {
    json!({"pk": {"S": PK}, "sk": {"S": SK}})
}

/// Answers a `dynamodb:getItem` request for the kill switch from a store that is not DynamoDB
/// (the lab's), as DynamoDB would: the item when it was ever set, `{}` when not, and
/// DynamoDB's own error names for a request that is not for this item.
pub fn answer(parameters: &Value, table: &str, on: Option<bool>) -> Result<Value, GetItemError> {
    if parameters.get("TableName").and_then(Value::as_str) != Some(table) {
        return Err(GetItemError {
            error: "DynamoDB.ResourceNotFoundException",
            message: format!("Requested resource not found: {}", parameters["TableName"]),
        });
    }
    if parameters.get("Key") != Some(&key()) {
        return Err(GetItemError {
            error: "DynamoDB.ValidationException",
            message: format!("this store holds no item at {}", parameters["Key"]),
        });
    }
    Ok(match on {
        Some(on) => {
            let mut item = key();
            item[ATTRIBUTE] = json!({"BOOL": on});
            json!({"Item": item})
        }
        None => json!({}),
    })
}

/// A `dynamodb:getItem` request the kill switch cannot answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error}: {message}")]
pub struct GetItemError {
    /// The error name Step Functions raises (`DynamoDB.<code>`).
    pub error: &'static str,
    /// What was wrong.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_item_is_returned_when_set_and_nothing_when_never_set() {
        let request = json!({"TableName": "t", "Key": key(), "ConsistentRead": true});
        assert_eq!(
            answer(&request, "t", Some(true)).unwrap()["Item"]["enabled"],
            json!({"BOOL": true})
        );
        assert_eq!(answer(&request, "t", None).unwrap(), json!({}));
    }

    #[test]
    fn another_table_or_key_fails_as_dynamodb_fails_it() {
        let other_table = json!({"TableName": "x", "Key": key()});
        assert_eq!(
            answer(&other_table, "t", Some(false)).unwrap_err().error,
            "DynamoDB.ResourceNotFoundException"
        );
        let other_key = json!({"TableName": "t", "Key": {"pk": {"S": "config"}}});
        assert_eq!(
            answer(&other_key, "t", Some(false)).unwrap_err().error,
            "DynamoDB.ValidationException"
        );
    }
}
