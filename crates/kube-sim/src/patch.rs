//! The four patch types the API server takes: JSON merge, JSON patch, strategic merge (for the
//! maps, scalars and keyed lists we patch) and server-side apply (here: a strategic merge of the
//! applied configuration).

use serde_json::{Map, Value};

use crate::status::ApiError;

/// Which patch a Content-Type names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// application/merge-patch+json
    Merge,
    /// application/json-patch+json
    Json,
    /// application/strategic-merge-patch+json
    Strategic,
    /// application/apply-patch+yaml
    Apply,
}

impl PatchType {
    /// From the request's Content-Type.
    pub fn from_content_type(ct: &str) -> Result<Self, ApiError> {
        match ct.split(';').next().unwrap_or_default().trim() {
            "application/merge-patch+json" => Ok(PatchType::Merge),
            "application/json-patch+json" => Ok(PatchType::Json),
            "application/strategic-merge-patch+json" => Ok(PatchType::Strategic),
            "application/apply-patch+yaml" | "application/apply-patch+json" => Ok(PatchType::Apply),
            other => Err(ApiError::unsupported_media_type(other)),
        }
    }
}

/// Applies a patch body to `target`.
pub fn apply(target: &mut Value, kind: PatchType, body: &[u8]) -> Result<(), ApiError> {
    match kind {
        PatchType::Merge => {
            let p: Value =
                serde_json::from_slice(body).map_err(|e| ApiError::bad_request(e.to_string()))?;
            json_patch::merge(target, &p);
        }
        PatchType::Json => {
            let p: json_patch::Patch =
                serde_json::from_slice(body).map_err(|e| ApiError::bad_request(e.to_string()))?;
            json_patch::patch(target, &p).map_err(|e| ApiError::invalid_patch(e.to_string()))?;
        }
        PatchType::Strategic => {
            let p: Value =
                serde_json::from_slice(body).map_err(|e| ApiError::bad_request(e.to_string()))?;
            strategic_merge(target, &p);
        }
        PatchType::Apply => {
            let text =
                std::str::from_utf8(body).map_err(|e| ApiError::bad_request(e.to_string()))?;
            let p: Value =
                serde_saphyr::from_str(text).map_err(|e| ApiError::bad_request(e.to_string()))?;
            strategic_merge(target, &p);
        }
    }
    Ok(())
}

impl ApiError {
    /// A JSON patch whose operation cannot apply (test failed, path missing).
    pub fn invalid_patch(message: String) -> Self {
        ApiError {
            code: 422,
            reason: "Invalid",
            message: format!(
                "the server rejected our request due to an error in our request: {message}"
            ),
            details: None,
        }
    }
}

/// The patch merge key of the lists we know (Kubernetes' `patchMergeKey` tags).
fn merge_key(field: &str) -> Option<&'static str> {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "volumeMounts"
        | "imagePullSecrets" => Some("name"),
        // A container's ports merge by containerPort, a Service's by port (see list_key).
        "ports" => Some("containerPort"),
        "tolerations" => Some("key"),
        "conditions" => Some("type"),
        _ => None,
    }
}

/// The merge key of list `field` whose items look like `items`: a Service's ports have `port`
/// and no `containerPort`.
fn list_key(field: &str, items: &[Value]) -> Option<&'static str> {
    match merge_key(field)? {
        "containerPort" if items.iter().any(|i| i.get("containerPort").is_none()) => Some("port"),
        key => Some(key),
    }
}

/// Strategic merge: maps merge recursively, `null` deletes, lists with a merge key merge item by
/// item, other lists are replaced. The directives kubectl sends are honoured: `$patch` (delete,
/// replace), `$retainKeys`, `$deleteFromPrimitiveList/<list>`; `$setElementOrder/<list>` only
/// orders and is dropped. No directive is ever stored.
pub fn strategic_merge(target: &mut Value, patch: &Value) {
    merge_field(target, patch, "");
}

/// A patch value with its directives removed, as it is stored when nothing is there to merge.
fn without_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), without_directives(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_directives).collect()),
        other => other.clone(),
    }
}

fn merge_field(target: &mut Value, patch: &Value, field: &str) {
    match (target, patch) {
        (t @ Value::Object(_), Value::Object(p))
            if p.get("$patch").and_then(Value::as_str) == Some("replace") =>
        {
            *t = without_directives(&Value::Object(p.clone()));
        }
        (Value::Object(t), Value::Object(p)) => merge_map(t, p),
        (Value::Array(t), Value::Array(p)) if list_key(field, t).is_some() => {
            let key = list_key(field, t).unwrap_or("name");
            for item in p {
                let id = item.get(key);
                match t
                    .iter_mut()
                    .find(|x| x.get(key).is_some() && x.get(key) == id)
                {
                    Some(existing)
                        if item.get("$patch").and_then(Value::as_str) == Some("delete") =>
                    {
                        *existing = Value::Null;
                    }
                    Some(existing) => merge_field(existing, item, ""),
                    None => t.push(without_directives(item)),
                }
            }
            t.retain(|x| !x.is_null());
        }
        (t, p) => *t = without_directives(p),
    }
}

fn merge_map(t: &mut Map<String, Value>, p: &Map<String, Value>) {
    for (k, v) in p {
        if let Some(list) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(items)), Some(gone)) = (t.get_mut(list), v.as_array()) {
                items.retain(|i| !gone.contains(i));
            }
            continue;
        }
        if k.starts_with('$') {
            continue;
        }
        if v.is_null() || v.get("$patch").and_then(Value::as_str) == Some("delete") {
            t.remove(k);
            continue;
        }
        match t.get_mut(k) {
            Some(existing) if existing.is_object() || existing.is_array() => {
                merge_field(existing, v, k)
            }
            _ => {
                t.insert(k.clone(), without_directives(v));
            }
        }
    }
    // The fields a union (a volume source, a strategy) keeps; the others are cleared.
    if let Some(keep) = p.get("$retainKeys").and_then(Value::as_array) {
        t.retain(|k, _| keep.iter().any(|r| r == k.as_str()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({"spec": {"replicas": 2, "template": {"metadata": {"annotations": {"a": "1"}}, "spec": {"containers": [
            {"name": "app", "image": "backend:v1", "env": [{"name": "A", "value": "1"}]},
            {"name": "sidecar", "image": "envoy:1"}]}}}})
    }

    #[test]
    fn strategic_merge_merges_containers_by_name() {
        let mut d = deployment();
        let p = json!({"spec": {"template": {"metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": "now"}},
            "spec": {"containers": [{"name": "app", "image": "backend:v2"}]}}}});
        apply(&mut d, PatchType::Strategic, p.to_string().as_bytes()).unwrap();
        let c = &d["spec"]["template"]["spec"]["containers"];
        assert_eq!(c.as_array().unwrap().len(), 2, "the sidecar stays");
        assert_eq!(c[0]["image"], "backend:v2");
        assert_eq!(c[0]["env"][0]["name"], "A", "fields not in the patch stay");
        assert_eq!(d["spec"]["template"]["metadata"]["annotations"]["a"], "1");
        assert_eq!(
            d["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"],
            "now"
        );
    }

    #[test]
    fn kubectl_apply_directives_are_honoured_and_never_stored() {
        let mut svc = json!({"metadata": {"labels": {"app": "web", "old": "x"}},
            "spec": {"ports": [{"name": "http", "port": 80, "targetPort": 8080}], "finalizers": ["a", "b"]}});
        // What kubectl apply sends when a Service's port changes and a label goes.
        let p = json!({"metadata": {"labels": {"old": null}},
            "spec": {"$setElementOrder/ports": [{"port": 80}], "ports": [{"port": 80, "targetPort": "http"}],
                "$deleteFromPrimitiveList/finalizers": ["a"]}});
        apply(&mut svc, PatchType::Strategic, p.to_string().as_bytes()).unwrap();
        assert_eq!(
            svc,
            json!({"metadata": {"labels": {"app": "web"}},
                "spec": {"ports": [{"name": "http", "port": 80, "targetPort": "http"}], "finalizers": ["b"]}})
        );
        let mut strategy = json!({"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}});
        let p = json!({"$retainKeys": ["type"], "type": "Recreate"});
        strategic_merge(&mut strategy, &p);
        assert_eq!(strategy, json!({"type": "Recreate"}));
        let mut d = deployment();
        let p = json!({"spec": {"template": {"metadata": {"$patch": "replace", "labels": {"v": "2"}}}}});
        apply(&mut d, PatchType::Strategic, p.to_string().as_bytes()).unwrap();
        assert_eq!(
            d["spec"]["template"]["metadata"],
            json!({"labels": {"v": "2"}})
        );
    }

    #[test]
    fn merge_patch_replaces_lists_and_null_deletes() {
        let mut d = deployment();
        let p = json!({"spec": {"replicas": null, "template": {"spec": {"containers": [{"name": "only"}]}}}});
        apply(&mut d, PatchType::Merge, p.to_string().as_bytes()).unwrap();
        assert!(d["spec"].get("replicas").is_none());
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"],
            json!([{"name": "only"}])
        );
    }

    #[test]
    fn json_patch_as_rollout_undo_sends_it() {
        let mut d = deployment();
        let p = json!([{"op": "replace", "path": "/spec/template", "value": {"spec": {"containers": [{"name": "app", "image": "backend:v0"}]}}},
                       {"op": "replace", "path": "/metadata/annotations", "value": {"x": "y"}}]);
        let err = apply(&mut d.clone(), PatchType::Json, p.to_string().as_bytes()).unwrap_err();
        assert_eq!(
            err.code, 422,
            "replace needs an existing /metadata/annotations"
        );
        let p = json!([{"op": "replace", "path": "/spec/template", "value": {"spec": {"containers": [{"name": "app", "image": "backend:v0"}]}}}]);
        apply(&mut d, PatchType::Json, p.to_string().as_bytes()).unwrap();
        assert_eq!(
            d["spec"]["template"]["spec"]["containers"][0]["image"],
            "backend:v0"
        );
    }

    #[test]
    fn apply_yaml_and_unknown_types() {
        let mut d = deployment();
        apply(&mut d, PatchType::Apply, b"spec:\n  replicas: 5\n").unwrap();
        assert_eq!(d["spec"]["replicas"], 5);
        assert_eq!(
            PatchType::from_content_type("text/plain").unwrap_err().code,
            415
        );
        assert_eq!(
            PatchType::from_content_type("application/merge-patch+json; charset=utf-8").unwrap(),
            PatchType::Merge
        );
    }
}
