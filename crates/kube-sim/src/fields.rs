//! Strict field validation (`?fieldValidation=Strict`, what kubectl sends by default): an object
//! with a field its kind does not declare is refused with 400, as the API server does. The
//! declared fields are k8s-openapi's: the object is decoded into its type and encoded again, and
//! every field of the input the type dropped is unknown.

use k8s_openapi::api::{apps, core, networking, policy, rbac};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::resources::Resource;
use crate::status::ApiError;

/// How the request asks unknown fields to be treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldValidation {
    /// Refuse the request.
    Strict,
    /// Accept it (the API server adds a warning).
    Warn,
    /// Accept it silently.
    Ignore,
}

impl FieldValidation {
    /// From the `fieldValidation` query parameter (Warn when absent, as the API server defaults).
    pub fn from_query(value: Option<&str>) -> Result<Self, ApiError> {
        match value {
            None | Some("" | "Warn") => Ok(Self::Warn),
            Some("Strict") => Ok(Self::Strict),
            Some("Ignore") => Ok(Self::Ignore),
            Some(other) => Err(ApiError::bad_request(format!(
                "fieldValidation must be one of Ignore, Warn or Strict, not {other:?}"
            ))),
        }
    }
}

/// Refuses `obj` when `mode` is strict and it has a field its kind does not declare. Kinds
/// without a k8s-openapi type (custom resources) are accepted as a CRD without a schema is.
pub fn check(r: &Resource, obj: &Value, mode: FieldValidation) -> Result<(), ApiError> {
    if mode != FieldValidation::Strict {
        return Ok(());
    }
    let Some(unknown) = unknown_fields(r.kind, obj) else {
        return Ok(());
    };
    match unknown.first() {
        None => Ok(()),
        Some(_) => {
            let fields: Vec<String> = unknown
                .iter()
                .map(|f| format!("unknown field {f:?}"))
                .collect();
            Err(ApiError::bad_request(format!(
                "{kind} in version {version:?} cannot be handled as a {kind}: strict decoding error: {}",
                fields.join(", "),
                kind = r.kind,
                version = r.version,
            )))
        }
    }
}

/// The fields of `obj` that `kind` does not declare (paths as the API server writes them), or
/// `None` for a kind kube-sim has no type for.
pub fn unknown_fields(kind: &str, obj: &Value) -> Option<Vec<String>> {
    let known = match kind {
        "Namespace" => roundtrip::<core::v1::Namespace>(obj),
        "Node" => roundtrip::<core::v1::Node>(obj),
        "Pod" => roundtrip::<core::v1::Pod>(obj),
        "Event" => roundtrip::<core::v1::Event>(obj),
        "Service" => roundtrip::<core::v1::Service>(obj),
        "ConfigMap" => roundtrip::<core::v1::ConfigMap>(obj),
        "Secret" => roundtrip::<core::v1::Secret>(obj),
        "ServiceAccount" => roundtrip::<core::v1::ServiceAccount>(obj),
        "Deployment" => roundtrip::<apps::v1::Deployment>(obj),
        "ReplicaSet" => roundtrip::<apps::v1::ReplicaSet>(obj),
        "StatefulSet" => roundtrip::<apps::v1::StatefulSet>(obj),
        "DaemonSet" => roundtrip::<apps::v1::DaemonSet>(obj),
        "PodDisruptionBudget" => roundtrip::<policy::v1::PodDisruptionBudget>(obj),
        "NetworkPolicy" => roundtrip::<networking::v1::NetworkPolicy>(obj),
        "Role" => roundtrip::<rbac::v1::Role>(obj),
        "RoleBinding" => roundtrip::<rbac::v1::RoleBinding>(obj),
        "ClusterRole" => roundtrip::<rbac::v1::ClusterRole>(obj),
        "ClusterRoleBinding" => roundtrip::<rbac::v1::ClusterRoleBinding>(obj),
        _ => return None,
    };
    let mut out = Vec::new();
    // An object its type cannot decode at all is refused elsewhere (422); nothing to compare.
    if let Some(known) = known {
        dropped(obj, &known, "", &mut out);
    }
    Some(out)
}

fn roundtrip<T: DeserializeOwned + Serialize>(obj: &Value) -> Option<Value> {
    let typed: T = serde_json::from_value(obj.clone()).ok()?;
    serde_json::to_value(typed).ok()
}

/// Collects the paths of `input` that `known` lacks. A null stands for an absent field.
fn dropped(input: &Value, known: &Value, path: &str, out: &mut Vec<String>) {
    match (input, known) {
        (Value::Object(i), Value::Object(k)) => {
            for (key, v) in i.iter().filter(|(_, v)| !v.is_null()) {
                let at = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match k.get(key) {
                    None => out.push(at),
                    Some(kv) => dropped(v, kv, &at, out),
                }
            }
        }
        (Value::Array(i), Value::Array(k)) => {
            for (n, (a, b)) in i.iter().zip(k).enumerate() {
                dropped(a, b, &format!("{path}[{n}]"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::resources::{RESOURCES, idx};

    #[test]
    fn a_field_the_kind_does_not_declare_is_named_and_refused_only_when_strict() {
        let d = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "app", "image": "web:1", "imagePullPolicy": "Always",
                        "resources": {"limits": {"memory": "64Mi"}}}]}}}});
        assert_eq!(unknown_fields("Deployment", &d), Some(vec![]));
        let mut bad = d.clone();
        bad["spec"]["template"]["spec"]["containers"][0]["imagePolicy"] = json!("Always");
        bad["spec"]["replica"] = json!(2);
        assert_eq!(
            unknown_fields("Deployment", &bad),
            Some(vec![
                "spec.replica".to_owned(),
                "spec.template.spec.containers[0].imagePolicy".to_owned()
            ])
        );
        let r = &RESOURCES[idx::DEPLOYMENTS];
        let err = check(r, &bad, FieldValidation::Strict).unwrap_err();
        assert_eq!(err.code, 400);
        assert!(
            err.message
                .contains(r#"strict decoding error: unknown field "spec.replica""#),
            "{}",
            err.message
        );
        assert!(check(r, &bad, FieldValidation::Warn).is_ok());
        assert_eq!(unknown_fields("ServiceMonitor", &bad), None);
    }
}
