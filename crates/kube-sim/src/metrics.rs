//! `/metrics`: kube-state-metrics' names and labels for the objects, plus the golden signals of
//! the simulated app, so Prometheus rules written for a real cluster fire against the sim.

use std::fmt::Write;

use serde_json::Value;

use crate::object::{is_ready, name_of, namespace_of};
use crate::resources::idx;
use crate::traffic::BUCKETS;
use crate::world::World;

struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
    samples: Vec<(Vec<(&'static str, String)>, f64)>,
}

impl Family {
    fn new(name: &'static str, kind: &'static str, help: &'static str) -> Self {
        Family {
            name,
            kind,
            help,
            samples: Vec::new(),
        }
    }

    fn add(&mut self, labels: Vec<(&'static str, String)>, value: f64) {
        self.samples.push((labels, value));
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn render_family(out: &mut String, f: &Family) {
    let _ = writeln!(out, "# HELP {} {}", f.name, f.help);
    let _ = writeln!(out, "# TYPE {} {}", f.name, f.kind);
    for (labels, value) in &f.samples {
        let (series, labels): (String, &[(&str, String)]) = match labels.first() {
            // Histogram series carry their suffix in a pseudo-label.
            Some(("__suffix__", s)) => (format!("{}{s}", f.name), &labels[1..]),
            _ => (f.name.to_owned(), labels),
        };
        let body: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect();
        let value = if value.is_infinite() {
            "+Inf".to_owned()
        } else {
            format!("{value}")
        };
        if body.is_empty() {
            let _ = writeln!(out, "{series} {value}");
        } else {
            let _ = writeln!(out, "{series}{{{}}} {value}", body.join(","));
        }
    }
}

fn b(x: bool) -> f64 {
    if x { 1.0 } else { 0.0 }
}

fn condition(obj: &Value, kind: &str) -> Option<String> {
    obj["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == kind)?["status"]
        .as_str()
        .map(str::to_lowercase)
}

/// The metrics text (Prometheus exposition format 0.0.4).
pub fn render(w: &World) -> String {
    let mut out = String::new();
    let groups = [
        pods(w),
        containers(w),
        deployments(w),
        nodes(w),
        disruption_budgets(w),
        app(w),
        queues(w),
    ];
    for f in groups.iter().flatten() {
        render_family(&mut out, f);
    }
    out
}

/// A pod's namespace and name, and its owner's kind and name (`<none>` for bare pods).
fn pod_identity(pod: &Value) -> (String, String, &str, &str) {
    let owner = &pod["metadata"]["ownerReferences"][0];
    let (okind, oname) = owner["kind"]
        .as_str()
        .zip(owner["name"].as_str())
        .unwrap_or(("<none>", "<none>"));
    (
        namespace_of(pod).to_owned(),
        name_of(pod).to_owned(),
        okind,
        oname,
    )
}

/// kube_pod_*: info, owner, phase, readiness.
fn pods(w: &World) -> Vec<Family> {
    let mut pod_info = Family::new("kube_pod_info", "gauge", "Information about pod.");
    let mut phase = Family::new("kube_pod_status_phase", "gauge", "The pods current phase.");
    let mut ready = Family::new(
        "kube_pod_status_ready",
        "gauge",
        "Describes whether the pod is ready to serve requests.",
    );
    let mut owner = Family::new(
        "kube_pod_owner",
        "gauge",
        "Information about the Pod's owner.",
    );
    for pod in w.list(idx::PODS, None) {
        let (ns, name, okind, oname) = pod_identity(pod);
        let node = pod["spec"]["nodeName"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        pod_info.add(
            vec![
                ("namespace", ns.clone()),
                ("pod", name.clone()),
                ("node", node),
                ("created_by_kind", okind.into()),
                ("created_by_name", oname.into()),
            ],
            1.0,
        );
        owner.add(
            vec![
                ("namespace", ns.clone()),
                ("pod", name.clone()),
                ("owner_kind", okind.into()),
                ("owner_name", oname.into()),
                ("owner_is_controller", "true".into()),
            ],
            1.0,
        );
        let p = pod["status"]["phase"].as_str().unwrap_or("Pending");
        for candidate in ["Pending", "Running", "Succeeded", "Failed", "Unknown"] {
            phase.add(
                vec![
                    ("namespace", ns.clone()),
                    ("pod", name.clone()),
                    ("phase", candidate.into()),
                ],
                b(p == candidate),
            );
        }
        let r = is_ready(pod);
        for (cond, v) in [("true", r), ("false", !r), ("unknown", false)] {
            ready.add(
                vec![
                    ("namespace", ns.clone()),
                    ("pod", name.clone()),
                    ("condition", cond.into()),
                ],
                b(v),
            );
        }
    }
    vec![pod_info, phase, ready, owner]
}

/// kube_pod_container_*: restarts, readiness, waiting and last terminated reasons.
fn containers(w: &World) -> Vec<Family> {
    let mut restarts = Family::new(
        "kube_pod_container_status_restarts_total",
        "counter",
        "The number of container restarts per container.",
    );
    let mut c_ready = Family::new(
        "kube_pod_container_status_ready",
        "gauge",
        "Describes whether the containers readiness check succeeded.",
    );
    let mut waiting = Family::new(
        "kube_pod_container_status_waiting_reason",
        "gauge",
        "Describes the reason the container is currently in waiting state.",
    );
    let mut terminated = Family::new(
        "kube_pod_container_status_last_terminated_reason",
        "gauge",
        "Describes the last reason the container was in terminated state.",
    );
    for pod in w.list(idx::PODS, None) {
        let (ns, name) = (namespace_of(pod).to_owned(), name_of(pod).to_owned());
        for cs in pod["status"]["containerStatuses"]
            .as_array()
            .into_iter()
            .flatten()
        {
            let c = cs["name"].as_str().unwrap_or_default().to_owned();
            let l = || {
                vec![
                    ("namespace", ns.clone()),
                    ("pod", name.clone()),
                    ("container", c.clone()),
                ]
            };
            restarts.add(l(), cs["restartCount"].as_f64().unwrap_or(0.0));
            c_ready.add(l(), b(cs["ready"] == true));
            if let Some(reason) = cs["state"]["waiting"]["reason"].as_str() {
                let mut labels = l();
                labels.push(("reason", reason.into()));
                waiting.add(labels, 1.0);
            }
            if let Some(reason) = cs["lastState"]["terminated"]["reason"].as_str() {
                let mut labels = l();
                labels.push(("reason", reason.into()));
                terminated.add(labels, 1.0);
            }
        }
    }
    vec![restarts, c_ready, waiting, terminated]
}

/// The work queues, as a queue exporter (RabbitMQ's, say) reports them per consumer deployment.
fn queues(w: &World) -> Vec<Family> {
    let mut ready = Family::new(
        "queue_messages_ready",
        "gauge",
        "Messages waiting in the queue a deployment consumes.",
    );
    let mut acked = Family::new(
        "queue_messages_acked_total",
        "counter",
        "Messages the deployment's consumers acknowledged.",
    );
    let mut keys: Vec<&String> = w.queues.keys().collect();
    keys.sort();
    for key in keys {
        let (ns, deployment) = key.split_once('/').unwrap_or(("", key));
        let labels = || {
            vec![
                ("namespace", ns.to_owned()),
                ("deployment", deployment.to_owned()),
            ]
        };
        let q = &w.queues[key];
        ready.add(labels(), q.ready.round());
        acked.add(labels(), q.acked.round());
    }
    vec![ready, acked]
}

/// The simulated app's golden signals per pod: requests, latency histogram, CPU and throttling.
fn app(w: &World) -> Vec<Family> {
    let mut requests = Family::new(
        "http_requests_total",
        "counter",
        "HTTP requests served by the simulated app, by status code.",
    );
    let mut duration = Family::new(
        "http_request_duration_seconds",
        "histogram",
        "HTTP request latency of the simulated app.",
    );
    let mut cpu = Family::new(
        "container_cpu_usage_seconds_total",
        "counter",
        "Cumulative CPU time consumed by the container.",
    );
    let mut periods = Family::new(
        "container_cpu_cfs_periods_total",
        "counter",
        "Number of elapsed enforcement period intervals.",
    );
    let mut throttled = Family::new(
        "container_cpu_cfs_throttled_periods_total",
        "counter",
        "Number of throttled period intervals.",
    );
    for pod in w.list(idx::PODS, None) {
        let (ns, name) = (namespace_of(pod).to_owned(), name_of(pod).to_owned());
        let uid = pod["metadata"]["uid"].as_str().unwrap_or_default();
        if let Some(t) = w.traffic.get(uid) {
            let service = w.deployment_of_pod(pod).unwrap_or_else(|| name.clone());
            let l = || {
                vec![
                    ("namespace", ns.clone()),
                    ("pod", name.clone()),
                    ("service", service.clone()),
                ]
            };
            for (code, n) in &t.requests {
                let mut labels = l();
                labels.push(("code", code.to_string()));
                requests.add(labels, n.round());
            }
            for (i, le) in BUCKETS.iter().enumerate() {
                let mut labels = vec![("__suffix__", "_bucket".to_owned())];
                labels.extend(l());
                labels.push((
                    "le",
                    if le.is_infinite() {
                        "+Inf".into()
                    } else {
                        le.to_string()
                    },
                ));
                duration.add(labels, t.buckets[i].round());
            }
            let mut sum = vec![("__suffix__", "_sum".to_owned())];
            sum.extend(l());
            duration.add(sum, (t.duration_sum * 1000.0).round() / 1000.0);
            let mut count = vec![("__suffix__", "_count".to_owned())];
            count.extend(l());
            duration.add(count, t.duration_count.round());
            let cl = || {
                vec![
                    ("namespace", ns.clone()),
                    ("pod", name.clone()),
                    ("container", "app".to_owned()),
                ]
            };
            cpu.add(cl(), (t.cpu_seconds * 1000.0).round() / 1000.0);
            periods.add(cl(), t.cfs_periods.round());
            throttled.add(cl(), t.cfs_throttled.round());
        }
    }
    vec![requests, duration, cpu, periods, throttled]
}

/// kube_deployment_*: replicas by state, generations, conditions.
fn deployments(w: &World) -> Vec<Family> {
    let mut spec_replicas = Family::new(
        "kube_deployment_spec_replicas",
        "gauge",
        "Number of desired pods for a deployment.",
    );
    let mut st_replicas = Family::new(
        "kube_deployment_status_replicas",
        "gauge",
        "The number of replicas per deployment.",
    );
    let mut available = Family::new(
        "kube_deployment_status_replicas_available",
        "gauge",
        "The number of available replicas per deployment.",
    );
    let mut unavailable = Family::new(
        "kube_deployment_status_replicas_unavailable",
        "gauge",
        "The number of unavailable replicas per deployment.",
    );
    let mut updated = Family::new(
        "kube_deployment_status_replicas_updated",
        "gauge",
        "The number of updated replicas per deployment.",
    );
    let mut observed = Family::new(
        "kube_deployment_status_observed_generation",
        "gauge",
        "The generation observed by the deployment controller.",
    );
    let mut generation = Family::new(
        "kube_deployment_metadata_generation",
        "gauge",
        "Sequence number representing a specific generation of the desired state.",
    );
    let mut dcond = Family::new(
        "kube_deployment_status_condition",
        "gauge",
        "The current status conditions of a deployment.",
    );
    for d in w.list(idx::DEPLOYMENTS, None) {
        let l = || {
            vec![
                ("namespace", namespace_of(d).to_owned()),
                ("deployment", name_of(d).to_owned()),
            ]
        };
        let n = |f: &str| d["status"][f].as_f64().unwrap_or(0.0);
        spec_replicas.add(l(), d["spec"]["replicas"].as_f64().unwrap_or(1.0));
        st_replicas.add(l(), n("replicas"));
        available.add(l(), n("availableReplicas"));
        unavailable.add(l(), n("unavailableReplicas"));
        updated.add(l(), n("updatedReplicas"));
        observed.add(l(), n("observedGeneration"));
        generation.add(l(), d["metadata"]["generation"].as_f64().unwrap_or(0.0));
        for c in ["Available", "Progressing"] {
            let s = condition(d, c).unwrap_or_else(|| "unknown".into());
            for status in ["true", "false", "unknown"] {
                let mut labels = l();
                labels.push(("condition", c.into()));
                labels.push(("status", status.into()));
                dcond.add(labels, b(s == status));
            }
        }
    }
    vec![
        spec_replicas,
        st_replicas,
        available,
        unavailable,
        updated,
        observed,
        generation,
        dcond,
    ]
}

/// kube_node_*: conditions and unschedulable.
fn nodes(w: &World) -> Vec<Family> {
    let mut ncond = Family::new(
        "kube_node_status_condition",
        "gauge",
        "The condition of a cluster node.",
    );
    let mut unsched = Family::new(
        "kube_node_spec_unschedulable",
        "gauge",
        "Whether a node can schedule new pods.",
    );
    for n in w.list(idx::NODES, None) {
        for c in ["Ready", "MemoryPressure", "DiskPressure", "PIDPressure"] {
            let s = condition(n, c).unwrap_or_else(|| "unknown".into());
            for status in ["true", "false", "unknown"] {
                ncond.add(
                    vec![
                        ("node", name_of(n).to_owned()),
                        ("condition", c.into()),
                        ("status", status.into()),
                    ],
                    b(s == status),
                );
            }
        }
        unsched.add(
            vec![("node", name_of(n).to_owned())],
            b(n["spec"]["unschedulable"] == true),
        );
    }
    vec![ncond, unsched]
}

/// kube_poddisruptionbudget_status_pod_disruptions_allowed.
fn disruption_budgets(w: &World) -> Vec<Family> {
    let mut pdb = Family::new(
        "kube_poddisruptionbudget_status_pod_disruptions_allowed",
        "gauge",
        "Number of pod disruptions that are currently allowed.",
    );
    for p in w.list(idx::PDBS, None) {
        pdb.add(
            vec![
                ("namespace", namespace_of(p).to_owned()),
                ("poddisruptionbudget", name_of(p).to_owned()),
            ],
            p["status"]["disruptionsAllowed"].as_f64().unwrap_or(0.0),
        );
    }
    vec![pdb]
}
