//! Reading the parts of an object every controller needs (name, namespace, uid, owner), and the
//! small conversions they share. Objects are JSON, as the API server stores and serves them.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::quantity::{cpu_millis, memory_bytes};

/// Where an object is stored: its resource (an index into [`crate::resources::RESOURCES`]), its
/// namespace ("" for cluster-scoped resources) and its name. Ordered, so one resource's objects
/// are a range.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    /// The resource's index.
    pub resource: usize,
    /// The namespace, "" for cluster-scoped objects.
    pub namespace: String,
    /// The name.
    pub name: String,
}

impl ObjectKey {
    /// The key of `name` in `namespace` of resource `resource`.
    pub fn new(resource: usize, namespace: &str, name: &str) -> Self {
        ObjectKey {
            resource,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }

    /// Where a stored object of `resource` lives.
    pub fn of(resource: usize, object: &Value) -> Self {
        ObjectKey::new(resource, namespace_of(object), name_of(object))
    }
}

/// The annotation kubectl sets on a rollout restart.
pub const RESTARTED_AT: &str = "kubectl.kubernetes.io/restartedAt";
/// A Deployment's and its ReplicaSets' revision.
pub(crate) const REVISION: &str = "deployment.kubernetes.io/revision";
/// The label that ties a ReplicaSet and its pods to one pod template.
pub(crate) const HASH: &str = "pod-template-hash";

fn meta(v: &Value) -> &Value {
    &v["metadata"]
}

/// The object's name.
pub fn name_of(v: &Value) -> &str {
    meta(v)["name"].as_str().unwrap_or_default()
}

/// The object's namespace ("" for cluster-scoped).
pub fn namespace_of(v: &Value) -> &str {
    meta(v)["namespace"].as_str().unwrap_or_default()
}

/// The object's uid.
pub(crate) fn uid_of(v: &Value) -> &str {
    meta(v)["uid"].as_str().unwrap_or_default()
}

/// The uid of the object's controller (the owner reference with `controller: true`).
pub(crate) fn owner_uid(v: &Value) -> Option<&str> {
    meta(v)["ownerReferences"]
        .as_array()?
        .iter()
        .find(|o| o["controller"] == true)?["uid"]
        .as_str()
}

/// A timestamp as the API server writes it (RFC 3339, seconds, `Z`).
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Characters and length of the suffixes generateName and ReplicaSets give pods.
pub(crate) fn random_suffix(len: usize) -> String {
    const CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    (0..len)
        .map(|_| CHARS[fastrand::usize(..CHARS.len())] as char)
        .collect()
}

/// Rounds `intOrString` (an int, or a percent of `total`), up or down as Kubernetes does for
/// the field at hand.
pub(crate) fn scaled(v: &Value, total: i64, up: bool) -> i64 {
    match v {
        Value::Number(n) => n.as_i64().unwrap_or(0),
        Value::String(s) => {
            let pct: f64 = s.trim_end_matches('%').parse().unwrap_or(0.0);
            let x = pct * total as f64 / 100.0;
            (if up { x.ceil() } else { x.floor() }) as i64
        }
        _ => 0,
    }
}

/// Whether a pod's Ready condition is True.
pub fn is_ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// Whether a DaemonSet runs the pod (drains and evictions leave those alone).
pub(crate) fn is_daemon(pod: &Value) -> bool {
    pod["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|o| o.iter().any(|r| r["kind"] == "DaemonSet"))
}

/// A pod's CPU (millicores) and memory (bytes) requests, summed over its containers.
pub(crate) fn requests(pod: &Value) -> (i64, i64) {
    pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .fold((0, 0), |(c, m), ctr| {
            let r = &ctr["resources"]["requests"];
            (
                c + r["cpu"].as_str().and_then(cpu_millis).unwrap_or(0),
                m + r["memory"].as_str().and_then(memory_bytes).unwrap_or(0),
            )
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn percentages_round_as_the_field_asks() {
        assert_eq!(scaled(&json!("25%"), 3, true), 1);
        assert_eq!(scaled(&json!("25%"), 3, false), 0);
        assert_eq!(scaled(&json!(2), 3, false), 2);
    }

    #[test]
    fn requests_add_up_over_containers() {
        let pod = json!({"spec": {"containers": [
            {"resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}},
            {"resources": {"requests": {"cpu": "1"}}}]}});
        assert_eq!(requests(&pod), (1250, 64 << 20));
    }

    #[test]
    fn keys_order_by_resource_then_namespace_then_name() {
        let mut keys = [
            ObjectKey::new(2, "a", "x"),
            ObjectKey::new(1, "b", "a"),
            ObjectKey::new(1, "a", "z"),
        ];
        keys.sort();
        assert_eq!(keys[0], ObjectKey::new(1, "a", "z"));
        assert_eq!(keys[2].resource, 2);
    }
}
