//! The simulated app's golden signals: requests, errors, latency and CPU per pod, as the sample
//! app's /metrics would count them, shaped by the faults that hit the pod.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::faults::FaultKind;
use crate::object::{is_daemon, is_ready, ts, uid_of};
use crate::quantity::{cpu_millis, memory_bytes};
use crate::resources::idx;
use crate::world::World;

/// Golden-signal counters per pod.
#[derive(Debug, Clone, Default)]
pub struct Traffic {
    /// Requests by status code.
    pub requests: BTreeMap<u16, f64>,
    /// Histogram bucket counts (cumulative), sum and count.
    pub buckets: [f64; 8],
    /// Sum of durations.
    pub duration_sum: f64,
    /// Count of durations.
    pub duration_count: f64,
    /// CPU seconds used.
    pub cpu_seconds: f64,
    /// CFS periods, and those throttled.
    pub cfs_periods: f64,
    /// Throttled periods.
    pub cfs_throttled: f64,
}

/// A work queue and what its consumers did with it.
#[derive(Debug, Clone, Default)]
pub struct Queue {
    /// Messages waiting.
    pub ready: f64,
    /// Messages acknowledged since the start.
    pub acked: f64,
}

/// The annotation that makes a deployment a queue consumer: messages arriving per second on
/// its queue. Each ready, unstuck pod acknowledges up to `rps_per_pod` a second.
pub const QUEUE_RATE: &str = "sim.selfheal.dev/queue-messages-per-second";

/// Histogram buckets for http_request_duration_seconds.
pub const BUCKETS: [f64; 8] = [0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, f64::INFINITY];

/// A pod asked for more than this share of its CPU limit runs at the limit, throttled.
const SATURATION: f64 = 0.9;

/// The CPU a serving pod of the sample app uses, in cores, and whether it is saturated: 30% of
/// its container's CPU limit (one core when it has none); its share of a load fault's cores,
/// up to 98% of the limit; 98% under a CPU saturation fault.
pub(crate) fn cpu_cores(w: &World, pod: &Value, faults: &[FaultKind]) -> (f64, bool) {
    let limit = pod["spec"]["containers"][0]["resources"]["limits"]["cpu"]
        .as_str()
        .and_then(cpu_millis)
        .map_or(1.0, |m| m as f64 / 1000.0);
    if faults.contains(&FaultKind::CpuSaturation) {
        return (0.98 * limit, true);
    }
    let load = faults.iter().find_map(|f| match f {
        FaultKind::Load { cores } => Some(*cores),
        _ => None,
    });
    match load {
        Some(cores) => {
            let wanted = cores / ready_replicas(w, pod).max(1) as f64;
            (wanted.min(0.98 * limit), wanted > SATURATION * limit)
        }
        None => (0.3 * limit, false),
    }
}

/// Ready pods of `pod`'s deployment (the pod itself when it has none).
fn ready_replicas(w: &World, pod: &Value) -> usize {
    let Some(deployment) = w.deployment_of_pod(pod) else {
        return 1;
    };
    let ns = pod["metadata"]["namespace"].as_str();
    w.list(idx::PODS, ns)
        .filter(|p| is_ready(p) && w.deployment_of_pod(p).as_deref() == Some(&deployment))
        .count()
}

/// The metrics-server's view of a running pod (`metrics.k8s.io/v1beta1` PodMetrics): what its
/// containers use now, CPU in nanocores and memory in KiB, as metrics-server reports them.
pub(crate) fn pod_metrics(w: &World, pod: &Value) -> Option<Value> {
    if pod["status"]["phase"] != "Running" {
        return None;
    }
    let cpu = if is_daemon(pod) {
        0.01
    } else {
        cpu_cores(w, pod, &w.pod_faults(pod)).0
    };
    let containers: Vec<Value> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let memory = c["resources"]["requests"]["memory"]
                .as_str()
                .and_then(memory_bytes)
                .map_or(64 * 1024, |b| b / 2 / 1024);
            json!({"name": c["name"], "usage": {"cpu": format!("{}n", (cpu * 1e9).round() as i64), "memory": format!("{memory}Ki")}})
        })
        .collect();
    Some(json!({
        "kind": "PodMetrics", "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {"name": pod["metadata"]["name"], "namespace": pod["metadata"]["namespace"],
            "labels": pod["metadata"]["labels"], "creationTimestamp": ts(w.now)},
        "timestamp": ts(w.now), "window": "15s", "containers": containers,
    }))
}

/// Whether `pod` runs `image` (any pod, when no image is named).
fn runs(pod: &Value, image: Option<&str>) -> bool {
    image.is_none_or(|image| {
        pod["spec"]["containers"]
            .as_array()
            .is_some_and(|cs| cs.iter().any(|c| c["image"] == image))
    })
}

/// Serves `seconds` of requests on every ready pod (daemons aside), shaped by the faults that hit
/// it: latency adds to the duration, CPU saturation throttles and slows, a dependency down fails
/// requests.
pub(crate) fn serve(w: &mut World, seconds: f64) {
    let pods: Vec<Value> = w
        .list(idx::PODS, None)
        // A pod that runs as processes serves real requests and counts them itself.
        .filter(|p| is_ready(p) && !is_daemon(p) && !w.runs_as_process(p))
        .cloned()
        .collect();
    for pod in pods {
        let faults = w.pod_faults(&pod);
        let mut latency = 0.03;
        // Healthy: one request in 20,000 fails, well inside the sample SLO (99.9%).
        let mut error_share: f64 = 0.000_05;
        let (cpu, saturated) = cpu_cores(w, &pod, &faults);
        if saturated {
            latency += 0.6;
        }
        for f in &faults {
            match f {
                FaultKind::Latency { seconds } => latency += seconds,
                FaultKind::DependencyDown { .. } => error_share = 1.0,
                FaultKind::Errors { share, image } if runs(&pod, image.as_deref()) => {
                    error_share = error_share.max(*share);
                }
                _ => {}
            }
        }
        let n = w.timing.rps_per_pod * seconds;
        let t = w.traffic.entry(uid_of(&pod).to_owned()).or_default();
        *t.requests.entry(200).or_default() += n * (1.0 - error_share);
        *t.requests.entry(503).or_default() += n * error_share;
        for (i, le) in BUCKETS.iter().enumerate() {
            if latency <= *le {
                t.buckets[i] += n;
            }
        }
        t.duration_sum += n * latency;
        t.duration_count += n;
        t.cpu_seconds += cpu * seconds;
        t.cfs_periods += seconds * 10.0;
        t.cfs_throttled += if saturated { seconds * 6.0 } else { 0.0 };
    }
}

/// `seconds` of messages for every queue-consuming deployment: they arrive at the deployment's
/// rate, and its ready pods not stuck by a fault acknowledge what they can.
pub(crate) fn consume(w: &mut World, seconds: f64) {
    let deployments: Vec<(String, String, f64)> = w
        .list(idx::DEPLOYMENTS, None)
        .filter_map(|d| {
            let rate = d["metadata"]["annotations"][QUEUE_RATE]
                .as_str()?
                .parse()
                .ok()?;
            let name = d["metadata"]["name"].as_str()?.to_owned();
            let ns = d["metadata"]["namespace"].as_str()?.to_owned();
            Some((ns, name, rate))
        })
        .collect();
    for (ns, name, rate) in deployments {
        let consumers = w
            .list(idx::PODS, Some(&ns))
            .filter(|p| is_ready(p) && w.deployment_of_pod(p).as_deref() == Some(name.as_str()))
            .filter(|p| {
                !w.pod_faults(p)
                    .iter()
                    .any(|f| matches!(f, FaultKind::QueueStuck { .. }))
            })
            .count();
        let capacity = consumers as f64 * w.timing.rps_per_pod * seconds;
        let q = w.queues.entry(format!("{ns}/{name}")).or_default();
        q.ready += rate * seconds;
        let acked = q.ready.min(capacity);
        q.ready -= acked;
        q.acked += acked;
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::controllers::testing::{cluster, deployment, inject, run_for, update};
    use crate::faults::{Fault, FaultTarget};

    use super::*;

    fn totals(w: &World) -> (f64, f64, f64) {
        w.traffic
            .values()
            .fold((0.0, 0.0, 0.0), |(ok, err, thr), t| {
                (
                    ok + t.requests.get(&200).copied().unwrap_or(0.0),
                    err + t.requests.get(&503).copied().unwrap_or(0.0),
                    thr + t.cfs_throttled,
                )
            })
    }

    #[test]
    fn ready_pods_serve_and_a_dependency_down_fails_every_request() {
        let mut w = cluster(2);
        deployment(&mut w, "web", 2);
        run_for(&mut w, Duration::from_secs(10));
        let (ok, err, throttled) = totals(&w);
        assert!(
            ok > 0.0 && err < ok * 0.01 && throttled == 0.0,
            "{ok} {err}"
        );
        inject(
            &mut w,
            FaultKind::DependencyDown {
                dependency: "db:5432".into(),
            },
        );
        let before = totals(&w);
        run_for(&mut w, Duration::from_secs(5));
        let after = totals(&w);
        assert!(after.1 - before.1 > 0.0, "errors grow");
        assert_eq!(after.0, before.0, "no request succeeds");
    }

    /// Errors bound to an image follow the release: none before the rollout, the fault's share
    /// once every pod runs the image.
    #[test]
    fn a_bad_release_fails_its_share_of_requests_only_where_it_runs() {
        let mut w = cluster(2);
        deployment(&mut w, "web", 2);
        w.add_fault(Fault::new(
            FaultKind::Errors {
                share: 0.25,
                image: Some("web:2".into()),
            },
            FaultTarget::default(),
        ));
        let start = totals(&w);
        run_for(&mut w, Duration::from_secs(10));
        let before = totals(&w);
        assert!(
            before.1 - start.1 < (before.0 - start.0) * 0.01,
            "web:1 is healthy"
        );
        update(&mut w, "web", |d| {
            d["spec"]["template"]["spec"]["containers"][0]["image"] = json!("web:2")
        });
        run_for(&mut w, Duration::from_secs(60));
        let rolled = totals(&w);
        run_for(&mut w, Duration::from_secs(10));
        let after = totals(&w);
        let share = (after.1 - rolled.1) / (after.0 - rolled.0 + after.1 - rolled.1);
        assert!((share - 0.25).abs() < 0.01, "{share}");
    }

    /// A load more than the replicas can carry throttles every pod; scaling out spreads it until
    /// none is saturated, and the throttling stops.
    #[test]
    fn a_load_saturates_until_enough_replicas_share_it() {
        let mut w = cluster(3);
        deployment(&mut w, "web", 2);
        inject(&mut w, FaultKind::Load { cores: 2.0 });
        run_for(&mut w, Duration::from_secs(10));
        let before = totals(&w).2;
        run_for(&mut w, Duration::from_secs(10));
        assert!(
            totals(&w).2 > before,
            "two pods of one core each carry 2 cores: throttled"
        );
        update(&mut w, "web", |d| d["spec"]["replicas"] = json!(4));
        run_for(&mut w, Duration::from_secs(60));
        let scaled = totals(&w).2;
        run_for(&mut w, Duration::from_secs(10));
        assert_eq!(
            totals(&w).2,
            scaled,
            "four pods at half a core each: none throttled"
        );
    }

    #[test]
    fn a_fault_outside_its_bounds_is_refused() {
        let fault = |kind| Fault::new(kind, FaultTarget::default());
        let errors = |share| fault(FaultKind::Errors { share, image: None });
        assert_eq!(errors(0.5).invalid(), None);
        assert!(errors(0.0).invalid().is_some());
        assert!(errors(1.5).invalid().is_some());
        assert!(errors(f64::NAN).invalid().is_some());
        assert!(
            fault(FaultKind::Latency { seconds: -1.0 })
                .invalid()
                .is_some()
        );
    }

    #[test]
    fn stuck_consumers_let_the_queue_grow_until_a_new_replica_consumes() {
        let mut w = cluster(1);
        let mut workers = crate::controllers::testing::deployment_object("web", 2);
        workers["metadata"]["annotations"] = json!({QUEUE_RATE: "15"});
        w.create(idx::DEPLOYMENTS, "shop", workers).unwrap();
        run_for(&mut w, Duration::from_secs(30));
        let q = |w: &World| w.queues["shop/web"].clone();
        let healthy = q(&w);
        assert!(healthy.acked > 300.0 && healthy.ready < 1.0, "{healthy:?}");
        inject(
            &mut w,
            FaultKind::QueueStuck {
                until_restart: true,
            },
        );
        run_for(&mut w, Duration::from_secs(20));
        let stuck = q(&w);
        assert_eq!(stuck.acked, q(&w).acked);
        assert!(stuck.ready >= 290.0, "20 s of 15 messages wait: {stuck:?}");
        run_for(&mut w, Duration::from_secs(5));
        assert_eq!(q(&w).acked, stuck.acked, "nothing acknowledged while stuck");
        // Recycle one replica: its replacement consumes again, up to 10 a second.
        let pod = w.list(idx::PODS, Some("shop")).next().unwrap().clone();
        w.delete(idx::PODS, "shop", crate::object::name_of(&pod))
            .unwrap();
        run_for(&mut w, Duration::from_secs(10));
        assert!(q(&w).acked > stuck.acked, "{:?}", q(&w));
    }
}
