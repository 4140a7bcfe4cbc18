//! Pod discovery for Prometheus in the `http_sd_configs` format, with the meta labels that
//! `kubernetes_sd_configs` (role pod) gives each target, so the relabeling written for EKS works
//! unchanged. It stands in for Kubernetes discovery because Debian's Prometheus is built without
//! it (its NEWS.Debian: "Kubernetes support has been completely removed").

use serde_json::{Map, Value, json};

use crate::object::{name_of, namespace_of, uid_of};
use crate::resources::idx;
use crate::world::World;

const META: &str = "__meta_kubernetes_";

/// One target group per pod that has an IP: a target per container port, or the bare pod IP
/// for a container without ports, as Prometheus's pod role builds them.
pub fn pods(w: &World) -> Value {
    let groups: Vec<Value> = w
        .list(idx::PODS, None)
        .filter_map(|pod| Some(targets(pod, pod["status"]["podIP"].as_str()?)))
        .flatten()
        .collect();
    Value::Array(groups)
}

fn targets(pod: &Value, ip: &str) -> Vec<Value> {
    let base = pod_labels(pod, ip);
    let statuses = pod["status"]["containerStatuses"].as_array();
    let mut out = Vec::new();
    for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
        let name = c["name"].as_str().unwrap_or_default();
        let id = statuses
            .into_iter()
            .flatten()
            .find(|s| s["name"] == name)
            .and_then(|s| s["containerID"].as_str())
            .unwrap_or_default();
        let mut labels = base.clone();
        labels.insert(format!("{META}pod_container_name"), json!(name));
        labels.insert(format!("{META}pod_container_id"), json!(id));
        labels.insert(format!("{META}pod_container_image"), c["image"].clone());
        labels.insert(format!("{META}pod_container_init"), json!("false"));
        let ports = c["ports"].as_array().filter(|p| !p.is_empty());
        let Some(ports) = ports else {
            out.push(json!({"targets": [ip], "labels": labels}));
            continue;
        };
        for p in ports {
            let number = p["containerPort"].as_u64().unwrap_or_default();
            let mut labels = labels.clone();
            labels.insert(
                format!("{META}pod_container_port_name"),
                json!(p["name"].as_str().unwrap_or_default()),
            );
            labels.insert(
                format!("{META}pod_container_port_number"),
                json!(number.to_string()),
            );
            labels.insert(
                format!("{META}pod_container_port_protocol"),
                json!(p["protocol"].as_str().unwrap_or("TCP")),
            );
            out.push(json!({"targets": [format!("{ip}:{number}")], "labels": labels}));
        }
    }
    out
}

fn pod_labels(pod: &Value, ip: &str) -> Map<String, Value> {
    let mut l = Map::new();
    let mut put = |k: &str, v: &str| {
        l.insert(format!("{META}{k}"), json!(v));
    };
    put("namespace", namespace_of(pod));
    put("pod_name", name_of(pod));
    put("pod_ip", ip);
    put("pod_uid", uid_of(pod));
    put(
        "pod_ready",
        if crate::object::is_ready(pod) {
            "true"
        } else {
            "false"
        },
    );
    put(
        "pod_phase",
        pod["status"]["phase"].as_str().unwrap_or("Pending"),
    );
    put(
        "pod_node_name",
        pod["spec"]["nodeName"].as_str().unwrap_or_default(),
    );
    put(
        "pod_host_ip",
        pod["status"]["hostIP"].as_str().unwrap_or_default(),
    );
    if let Some(owner) = pod["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|o| o["controller"] == true)
    {
        put(
            "pod_controller_kind",
            owner["kind"].as_str().unwrap_or_default(),
        );
        put(
            "pod_controller_name",
            owner["name"].as_str().unwrap_or_default(),
        );
    }
    for (field, prefix) in [("labels", "pod_label"), ("annotations", "pod_annotation")] {
        for (k, v) in pod["metadata"][field].as_object().into_iter().flatten() {
            let k = sanitize(k);
            l.insert(
                format!("{META}{prefix}_{k}"),
                json!(v.as_str().unwrap_or_default()),
            );
            l.insert(format!("{META}{prefix}present_{k}"), json!("true"));
        }
    }
    l
}

/// A Kubernetes label name as a Prometheus label name: anything but [a-zA-Z0-9_] becomes `_`.
fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controllers::testing::{cluster, deployment, deployment_object, run_for};

    #[test]
    fn each_container_port_is_a_target_with_the_pod_roles_meta_labels() {
        let mut w = cluster(1);
        let mut web = deployment_object("web", 2);
        web["spec"]["template"]["spec"]["containers"][0]["ports"] =
            json!([{"name": "http", "containerPort": 8080}]);
        w.create(idx::DEPLOYMENTS, "shop", web).unwrap();
        deployment(&mut w, "db", 1);
        run_for(&mut w, std::time::Duration::from_secs(5));
        let groups = pods(&w);
        let groups = groups.as_array().unwrap();
        assert_eq!(groups.len(), 3, "{groups:#?}");
        // A container without ports: the pod IP alone.
        let db = groups
            .iter()
            .find(|g| g["labels"]["__meta_kubernetes_pod_label_app"] == "db")
            .unwrap();
        assert_eq!(db["targets"][0], db["labels"]["__meta_kubernetes_pod_ip"]);
        let g = groups
            .iter()
            .find(|g| g["labels"]["__meta_kubernetes_pod_label_app"] == "web")
            .unwrap();
        let labels = &g["labels"];
        let ip = labels["__meta_kubernetes_pod_ip"].as_str().unwrap();
        let port = labels["__meta_kubernetes_pod_container_port_number"]
            .as_str()
            .unwrap();
        assert_eq!(g["targets"][0], format!("{ip}:{port}"));
        assert_eq!(labels["__meta_kubernetes_namespace"], "shop");
        assert_eq!(labels["__meta_kubernetes_pod_container_port_name"], "http");
        assert_eq!(labels["__meta_kubernetes_pod_labelpresent_app"], "true");
        assert_eq!(labels["__meta_kubernetes_pod_ready"], "true");
        assert_eq!(
            labels["__meta_kubernetes_pod_controller_kind"],
            "ReplicaSet"
        );
        assert_eq!(sanitize("app.kubernetes.io/name"), "app_kubernetes_io_name");
    }
}
