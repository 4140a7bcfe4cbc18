//! Server-side printing: a `meta.k8s.io/v1` Table for clients that ask for one (kubectl's
//! `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`), with the columns the API server's
//! printers give each resource (`kubectl get pods`: NAME READY STATUS RESTARTS AGE, and IP and
//! NODE with `-o wide`), ages as kubectl writes durations.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::object::name_of;
use crate::resources::Resource;

/// Whether the request's Accept header asks for a Table.
pub fn wanted(accept: &str) -> bool {
    accept.split(',').any(|a| {
        let params: Vec<&str> = a.split(';').map(str::trim).collect();
        params.contains(&"as=Table") && params.contains(&"g=meta.k8s.io")
    })
}

/// One column: name, type and priority (0 always shown, 1 with `-o wide`).
type Column = (&'static str, &'static str, u8);

/// The Table of `objects`; `include` is the `includeObject` parameter (None, Object, or the
/// default PartialObjectMetadata).
pub fn table(
    r: &Resource,
    objects: &[&Value],
    now: DateTime<Utc>,
    include: Option<&str>,
    resource_version: u64,
) -> Value {
    let columns = columns(r.kind);
    let definitions: Vec<Value> = columns
        .iter()
        .map(|(name, kind, priority)| {
            json!({"name": name, "type": kind, "format": if *name == "Name" { "name" } else { "" },
                "description": "", "priority": priority})
        })
        .collect();
    let rows: Vec<Value> = objects
        .iter()
        .map(|o| {
            let mut row = json!({"cells": cells(r.kind, o, now)});
            match include {
                Some("None") => {}
                Some("Object") => row["object"] = (*o).clone(),
                _ => {
                    row["object"] = json!({"kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]});
                }
            }
            row
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version.to_string()},
        "columnDefinitions": definitions, "rows": rows})
}

fn columns(kind: &str) -> Vec<Column> {
    let s = "string";
    let i = "integer";
    match kind {
        "Pod" => vec![
            ("Name", s, 0),
            ("Ready", s, 0),
            ("Status", s, 0),
            ("Restarts", s, 0),
            ("Age", s, 0),
            ("IP", s, 1),
            ("Node", s, 1),
        ],
        "Deployment" => vec![
            ("Name", s, 0),
            ("Ready", s, 0),
            ("Up-to-date", i, 0),
            ("Available", i, 0),
            ("Age", s, 0),
            ("Containers", s, 1),
            ("Images", s, 1),
        ],
        "ReplicaSet" => vec![
            ("Name", s, 0),
            ("Desired", i, 0),
            ("Current", i, 0),
            ("Ready", i, 0),
            ("Age", s, 0),
            ("Containers", s, 1),
            ("Images", s, 1),
        ],
        "Service" => vec![
            ("Name", s, 0),
            ("Type", s, 0),
            ("Cluster-IP", s, 0),
            ("External-IP", s, 0),
            ("Port(s)", s, 0),
            ("Age", s, 0),
        ],
        "Node" => vec![
            ("Name", s, 0),
            ("Status", s, 0),
            ("Roles", s, 0),
            ("Age", s, 0),
            ("Version", s, 0),
        ],
        "Namespace" => vec![("Name", s, 0), ("Status", s, 0), ("Age", s, 0)],
        "PodDisruptionBudget" => vec![
            ("Name", s, 0),
            ("Min Available", s, 0),
            ("Max Unavailable", s, 0),
            ("Allowed Disruptions", i, 0),
            ("Age", s, 0),
        ],
        "Event" => vec![
            ("Last Seen", s, 0),
            ("Type", s, 0),
            ("Reason", s, 0),
            ("Object", s, 0),
            ("Message", s, 0),
        ],
        _ => vec![("Name", s, 0), ("Age", s, 0)],
    }
}

fn cells(kind: &str, o: &Value, now: DateTime<Utc>) -> Vec<Value> {
    let name = json!(name_of(o));
    let created = json!(age(o["metadata"]["creationTimestamp"].as_str(), now));
    let n = |v: &Value| json!(v.as_i64().unwrap_or(0));
    let status = &o["status"];
    match kind {
        "Pod" => {
            let statuses = status["containerStatuses"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let containers = o["spec"]["containers"].as_array().map_or(0, Vec::len);
            let ready = statuses.iter().filter(|c| c["ready"] == true).count();
            vec![
                name,
                json!(format!("{ready}/{containers}")),
                json!(pod_status(o)),
                json!(restarts(&statuses, now)),
                created,
                json!(status["podIP"].as_str().unwrap_or("<none>")),
                json!(o["spec"]["nodeName"].as_str().unwrap_or("<none>")),
            ]
        }
        "Deployment" => {
            let want = o["spec"]["replicas"].as_i64().unwrap_or(1);
            let ready = status["readyReplicas"].as_i64().unwrap_or(0);
            let (containers, images) = containers(&o["spec"]["template"]);
            vec![
                name,
                json!(format!("{ready}/{want}")),
                n(&status["updatedReplicas"]),
                n(&status["availableReplicas"]),
                created,
                containers,
                images,
            ]
        }
        "ReplicaSet" => {
            let (containers, images) = containers(&o["spec"]["template"]);
            vec![
                name,
                n(&o["spec"]["replicas"]),
                n(&status["replicas"]),
                n(&status["readyReplicas"]),
                created,
                containers,
                images,
            ]
        }
        "Service" => {
            let ports: Vec<String> = o["spec"]["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| format!("{}/{}", p["port"], p["protocol"].as_str().unwrap_or("TCP")))
                .collect();
            vec![
                name,
                json!(o["spec"]["type"].as_str().unwrap_or("ClusterIP")),
                json!(o["spec"]["clusterIP"].as_str().unwrap_or("<none>")),
                json!("<none>"),
                json!(ports.join(",")),
                created,
            ]
        }
        "Node" => {
            let ready = status["conditions"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|c| c["type"] == "Ready" && c["status"] == "True");
            let mut state = if ready { "Ready" } else { "NotReady" }.to_owned();
            if o["spec"]["unschedulable"] == true {
                state.push_str(",SchedulingDisabled");
            }
            vec![
                name,
                json!(state),
                json!("<none>"),
                created,
                json!(status["nodeInfo"]["kubeletVersion"].as_str().unwrap_or("")),
            ]
        }
        "Namespace" => vec![
            name,
            json!(status["phase"].as_str().unwrap_or("Active")),
            created,
        ],
        "PodDisruptionBudget" => {
            let or_na = |v: &Value| match v {
                Value::Null => json!("N/A"),
                Value::String(s) => json!(s),
                other => json!(other.to_string()),
            };
            vec![
                name,
                or_na(&o["spec"]["minAvailable"]),
                or_na(&o["spec"]["maxUnavailable"]),
                n(&status["disruptionsAllowed"]),
                created,
            ]
        }
        "Event" => {
            let involved = &o["involvedObject"];
            vec![
                json!(age(o["lastTimestamp"].as_str(), now)),
                json!(o["type"].as_str().unwrap_or("")),
                json!(o["reason"].as_str().unwrap_or("")),
                json!(format!(
                    "{}/{}",
                    involved["kind"].as_str().unwrap_or("").to_lowercase(),
                    involved["name"].as_str().unwrap_or("")
                )),
                json!(o["message"].as_str().unwrap_or("")),
            ]
        }
        _ => vec![name, created],
    }
}

/// Containers and images of a pod template, comma-separated.
fn containers(template: &Value) -> (Value, Value) {
    let cs = template["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let field = |f: &str| {
        cs.iter()
            .filter_map(|c| c[f].as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    (json!(field("name")), json!(field("image")))
}

/// The STATUS column as kubectl's printer derives it: the pod's phase, overridden by a
/// container's waiting or terminated reason, or Terminating.
fn pod_status(pod: &Value) -> String {
    if !pod["metadata"]["deletionTimestamp"].is_null() {
        return "Terminating".into();
    }
    let mut reason = pod["status"]["reason"]
        .as_str()
        .or(pod["status"]["phase"].as_str())
        .unwrap_or("Pending")
        .to_owned();
    for c in pod["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let state = &c["state"];
        if let Some(r) = state["waiting"]["reason"].as_str() {
            reason = r.to_owned();
        } else if let Some(t) = state.get("terminated") {
            reason = match t["reason"].as_str() {
                Some(r) => r.to_owned(),
                None => format!("ExitCode:{}", t["exitCode"]),
            };
        }
    }
    reason
}

/// RESTARTS: the sum of the containers' restarts, and how long ago the last one ended.
fn restarts(statuses: &[Value], now: DateTime<Utc>) -> String {
    let total: i64 = statuses
        .iter()
        .filter_map(|c| c["restartCount"].as_i64())
        .sum();
    let last = statuses
        .iter()
        .filter_map(|c| c["lastState"]["terminated"]["finishedAt"].as_str())
        .filter_map(|t| DateTime::parse_from_rfc3339(t).ok())
        .max();
    match last {
        Some(t) if total > 0 => format!("{total} ({} ago)", human(now - t.to_utc())),
        _ => total.to_string(),
    }
}

fn age(created: Option<&str>, now: DateTime<Utc>) -> String {
    created
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map_or_else(|| "<unknown>".into(), |t| human(now - t.to_utc()))
}

/// A duration as kubectl writes it (k8s.io/apimachinery's HumanDuration): 45s, 3m20s, 15m,
/// 5h12m, 3d4h, 400d.
pub fn human(d: chrono::Duration) -> String {
    let seconds = d.num_seconds();
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 120 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        return match seconds % 60 {
            0 => format!("{minutes}m"),
            s => format!("{minutes}m{s}s"),
        };
    }
    if minutes < 180 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        return match minutes % 60 {
            0 => format!("{hours}h"),
            m => format!("{hours}h{m}m"),
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        return match hours % 24 {
            0 => format!("{}d", hours / 24),
            h => format!("{}d{h}h", hours / 24),
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        return match (hours / 24) % 365 {
            0 => format!("{}y", hours / 24 / 365),
            d => format!("{}y{d}d", hours / 24 / 365),
        };
    }
    format!("{}y", hours / 24 / 365)
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;
    use crate::resources::{RESOURCES, idx};

    #[test]
    fn durations_read_as_kubectl_writes_them() {
        let cases = [
            (Duration::seconds(45), "45s"),
            (Duration::seconds(119), "119s"),
            (Duration::seconds(200), "3m20s"),
            (Duration::minutes(15), "15m"),
            (Duration::minutes(312), "5h12m"),
            (Duration::hours(30), "30h"),
            (Duration::hours(76), "3d4h"),
            (Duration::days(400), "400d"),
        ];
        for (d, want) in cases {
            assert_eq!(human(d), want);
        }
    }

    #[test]
    fn a_crashlooping_pod_prints_as_kubectl_get_pods_shows_it() {
        let now = Utc::now();
        let pod = json!({"metadata": {"name": "backend-1", "creationTimestamp": (now - Duration::minutes(15)).to_rfc3339()},
            "spec": {"containers": [{"name": "app"}], "nodeName": "n1"},
            "status": {"phase": "Running", "podIP": "10.1.2.3", "containerStatuses": [{"name": "app", "ready": false, "restartCount": 4,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 1, "finishedAt": (now - Duration::seconds(30)).to_rfc3339()}}}]}});
        let t = table(&RESOURCES[idx::PODS], &[&pod], now, None, 7);
        let names: Vec<&str> = t["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["priority"] == 0)
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Name", "Ready", "Status", "Restarts", "Age"]);
        assert_eq!(
            t["rows"][0]["cells"],
            json!([
                "backend-1",
                "0/1",
                "CrashLoopBackOff",
                "4 (30s ago)",
                "15m",
                "10.1.2.3",
                "n1"
            ])
        );
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
        assert!(wanted(
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
        ));
        assert!(!wanted("application/json"));
    }
}
