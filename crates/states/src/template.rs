//! Payload templates: Parameters, ResultSelector, ItemSelector. A key ending in `.$` takes its
//! value from a path (`$.x`), the context object (`$$.Execution.Name`) or an intrinsic function,
//! and loses the `.$`; everything else is copied, nested objects and arrays included.

use serde_json::{Map, Value};

use crate::context::Context;
use crate::error::StatesError;
use crate::{intrinsic, path};

/// Applies `template` to `input` with `context`.
pub fn apply(template: &Value, input: &Value, context: &Context<'_>) -> Result<Value, StatesError> {
    match template {
        Value::Object(fields) => {
            let mut out = Map::with_capacity(fields.len());
            for (key, value) in fields {
                match key.strip_suffix(".$") {
                    Some(name) => {
                        let Value::String(expr) = value else {
                            return Err(StatesError::runtime(format!(
                                "the value of {key:?} must be a path or an intrinsic function, got {value}"
                            )));
                        };
                        out.insert(name.to_owned(), resolve(expr, input, context)?);
                    }
                    None => {
                        out.insert(key.clone(), apply(value, input, context)?);
                    }
                }
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .iter()
            .map(|v| apply(v, input, context))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other.clone()),
    }
}

/// A `.$` value: an intrinsic call or a path.
pub fn resolve(expr: &str, input: &Value, context: &Context<'_>) -> Result<Value, StatesError> {
    if intrinsic::is_intrinsic(expr) {
        intrinsic::evaluate(expr, input, context)
    } else {
        path::query(expr, input, context)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_context_and_intrinsics_are_resolved_at_every_depth() {
        let template = json!({
            "FunctionName": "remediate",
            "Payload": {
                "incident.$": "$.incident",
                "token.$": "$$.Task.Token",
                "label.$": "States.Format('step {}', $.step)",
                "fixed": [1, {"n.$": "$.step"}]
            }
        });
        let out = apply(
            &template,
            &json!({"incident": {"id": "inc-1"}, "step": 2}),
            &json!({"Task": {"Token": "t"}}).into(),
        )
        .unwrap();
        assert_eq!(
            out,
            json!({"FunctionName": "remediate", "Payload": {"incident": {"id": "inc-1"}, "token": "t", "label": "step 2", "fixed": [1, {"n": 2}]}})
        );
    }

    #[test]
    fn a_missing_path_is_a_runtime_error() {
        let err = apply(&json!({"a.$": "$.missing"}), &json!({}), &json!({}).into()).unwrap_err();
        assert_eq!(err.error, "States.Runtime");
        let err = apply(&json!({"a.$": 5}), &json!({}), &json!({}).into()).unwrap_err();
        assert_eq!(err.error, "States.Runtime");
    }
}
