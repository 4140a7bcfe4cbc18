//! The kubelet's side of containers that run as processes (crate::runtime): what to start (args,
//! environment with the pod's address and the cluster's Service names resolved, the readiness
//! probe, the memory limit), which fault switches the pod's faults turn on, and the container's
//! state from what its process does.

use std::net::SocketAddr;

use serde_json::{Value, json};

use super::kubelet::{PodEvent, Step, terminated};
use crate::faults::FaultKind;
use crate::object::{name_of, namespace_of, uid_of};
use crate::quantity::{cpu_millis, memory_bytes};
use crate::resources::idx;
use crate::runtime::{self, Launch, State, Switches};
use crate::world::World;

/// MiB a second an OOM fault makes the process allocate: a 256 MiB limit is reached in seconds.
const OOM_GROWTH_MIB_PER_S: u64 = 32;

/// One process-backed container at the current sim time; `started` when the kubelet has just
/// started it (first start or after its back-off).
pub(super) fn step(
    w: &mut World,
    step: &Step<'_>,
    cs: &mut super::kubelet::ContainerSim,
    pod: &Value,
    c: &Value,
    started: bool,
    events: &mut Vec<PodEvent>,
) -> (Value, bool) {
    let name = c["name"].as_str().unwrap_or("app");
    let image = c["image"].as_str().unwrap_or_default();
    let key = runtime::key(uid_of(pod), name);
    let switches = switches(w, step.faults, pod, c);
    let needs_start = started || !w.runtime.as_ref().is_some_and(|rt| rt.has(&key));
    let launch = needs_start.then(|| launch(w, pod, c, switches.clone()));
    let Some(rt) = w.runtime.as_mut() else {
        return (json!({"waiting": {"reason": "ContainerCreating"}}), false);
    };
    if let Some(launch) = launch
        && let Err(e) = rt.start(&key, launch)
    {
        // containerd's reason when the entrypoint cannot be run.
        cs.current_log = vec![format!("failed to start {image}: {e}")];
        let state = terminated(step, cs, name, 128, "StartError", step.now, events);
        return (state, false);
    }
    // A crash fault on a process that started healthy kills it, as a container kill does; it
    // then crashes on each start until the fault is gone.
    if switches.crash_on_start && rt.started_healthy(&key) {
        rt.kill(&key);
    }
    rt.set_switches(&key, switches);
    match rt.observe(&key) {
        Some((State::Running { ready }, _)) => {
            let since = cs.started.unwrap_or(step.now);
            (
                json!({"running": {"startedAt": crate::object::ts(since)}}),
                ready,
            )
        }
        Some((State::Exited { code, oom }, log)) => {
            cs.current_log = log;
            let reason = match (oom, code) {
                (true, _) => "OOMKilled",
                (false, 0) => "Completed",
                _ => "Error",
            };
            let state = terminated(step, cs, name, code, reason, step.now, events);
            (state, false)
        }
        None => (json!({"waiting": {"reason": "ContainerCreating"}}), false),
    }
}

/// The switches the faults hitting `pod` turn on for its container `c`.
fn switches(w: &World, faults: &[FaultKind], pod: &Value, c: &Value) -> Switches {
    let name = c["name"].as_str().unwrap_or_default();
    let image = c["image"].as_str().unwrap_or_default();
    let cpu_limit = c["resources"]["limits"]["cpu"]
        .as_str()
        .and_then(cpu_millis)
        .map_or(1.0, |m| m as f64 / 1000.0);
    let mut s = Switches::default();
    for f in faults {
        match f {
            FaultKind::Crashloop { .. } => s.crash_on_start = true,
            FaultKind::OomKilled { container, .. }
                if container.as_deref().is_none_or(|n| n == name) =>
            {
                s.memory_growth_mib_per_s = OOM_GROWTH_MIB_PER_S;
            }
            FaultKind::BadImage { image: bad } if bad == image => s.not_ready = true,
            FaultKind::ReadinessFailing => s.not_ready = true,
            FaultKind::CpuSaturation => s.cpu_burn = cpu_limit,
            FaultKind::Load { cores } => {
                // Spread over the deployment's ready pods, at most the limit each.
                let ready = w
                    .deployment_of_pod(pod)
                    .and_then(|d| w.get(idx::DEPLOYMENTS, namespace_of(pod), &d))
                    .and_then(|d| d["status"]["readyReplicas"].as_f64())
                    .unwrap_or(1.0)
                    .max(1.0);
                s.cpu_burn = (cores / ready).min(cpu_limit);
            }
            FaultKind::Latency { seconds } => s.latency_ms = (seconds * 1000.0) as u64,
            FaultKind::Errors { share, image: only }
                if only.as_deref().is_none_or(|i| i == image) =>
            {
                s.error_rate = *share;
            }
            FaultKind::DependencyDown { .. } => s.dependency_unreachable = true,
            _ => {}
        }
    }
    s
}

/// How to start container `c` of `pod`.
fn launch(w: &World, pod: &Value, c: &Value, switches: Switches) -> Launch {
    let ip = pod_ip(w, pod);
    let ns = namespace_of(pod);
    let services = services(w, ns);
    let field = |path: &str| match path {
        "status.podIP" => Some(ip.clone()),
        "metadata.name" => Some(name_of(pod).to_owned()),
        "metadata.namespace" => Some(ns.to_owned()),
        _ => None,
    };
    let env = c["env"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let name = e["name"].as_str()?.to_owned();
            let value = match e["value"].as_str() {
                Some(v) => resolve(v, &ip, &services),
                None => field(e["valueFrom"]["fieldRef"]["fieldPath"].as_str()?)?,
            };
            Some((name, value))
        })
        .collect();
    let args = c["args"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a.as_str().map(str::to_owned))
        .collect();
    let probe = c["readinessProbe"]["httpGet"].as_object().and_then(|g| {
        let port = container_port(c, &g["port"])?;
        let addr: SocketAddr = format!("{ip}:{port}").parse().ok()?;
        let path = g.get("path").and_then(Value::as_str).unwrap_or("/");
        Some((addr, path.to_owned()))
    });
    let failure_threshold = c["readinessProbe"]["failureThreshold"]
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(3);
    let memory_limit = c["resources"]["limits"]["memory"]
        .as_str()
        .and_then(memory_bytes)
        .and_then(|b| u64::try_from(b).ok());
    Launch {
        args,
        env,
        probe,
        failure_threshold,
        memory_limit,
        switches,
    }
}

/// A port given as a number or as the name of one of the container's ports.
pub(crate) fn container_port(c: &Value, port: &Value) -> Option<u16> {
    match port {
        Value::Number(n) => n.as_u64().and_then(|p| u16::try_from(p).ok()),
        Value::String(name) => c["ports"]
            .as_array()?
            .iter()
            .find(|p| p["name"] == name.as_str())
            .and_then(|p| p["containerPort"].as_u64())
            .and_then(|p| u16::try_from(p).ok()),
        _ => None,
    }
}

fn pod_ip(w: &World, pod: &Value) -> String {
    super::kubelet::pod_ip(uid_of(pod), w.runtime.as_ref().map(|r| r.salt))
}

/// The names a pod in `ns` may use for each Service (the cluster DNS's), longest first, with
/// the Service's cluster IP.
fn services(w: &World, ns: &str) -> Vec<(String, String)> {
    let mut names = Vec::new();
    for s in w.list(idx::SERVICES, None) {
        let Some(ip) = s["spec"]["clusterIP"].as_str() else {
            continue;
        };
        let (name, sns) = (name_of(s), namespace_of(s));
        for n in [
            format!("{name}.{sns}.svc.cluster.local"),
            format!("{name}.{sns}.svc"),
            format!("{name}.{sns}"),
        ] {
            names.push((n, ip.to_owned()));
        }
        if sns == ns {
            names.push((name.to_owned(), ip.to_owned()));
        }
    }
    names.sort_by_key(|(n, _)| std::cmp::Reverse(n.len()));
    names
}

/// An environment value as the process sees it inside its pod: the wildcard address is the
/// pod's own (its network namespace), and the host of a URL that names a Service is the
/// Service's cluster IP (the cluster DNS).
fn resolve(value: &str, ip: &str, services: &[(String, String)]) -> String {
    let value = value.replace("0.0.0.0", ip);
    let Some((scheme, rest)) = value.split_once("://") else {
        return value;
    };
    let end = rest.find([':', '/']).unwrap_or(rest.len());
    let host = &rest[..end];
    match services.iter().find(|(n, _)| n == host) {
        Some((_, cluster_ip)) => format!("{scheme}://{cluster_ip}{}", &rest[end..]),
        None => value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_naming_a_service_resolves_to_its_cluster_ip_and_the_wildcard_to_the_pod() {
        let services = vec![
            (
                "backend.shop.svc.cluster.local".to_owned(),
                "127.240.0.7".to_owned(),
            ),
            ("backend".to_owned(), "127.240.0.7".to_owned()),
        ];
        let ip = "127.20.1.2";
        assert_eq!(
            resolve("http://backend:8080", ip, &services),
            "http://127.240.0.7:8080"
        );
        assert_eq!(
            resolve("http://backend.shop.svc.cluster.local/x", ip, &services),
            "http://127.240.0.7/x"
        );
        assert_eq!(
            resolve("http://backend-2:8080", ip, &services),
            "http://backend-2:8080"
        );
        assert_eq!(resolve("0.0.0.0:8080", ip, &services), "127.20.1.2:8080");
        assert_eq!(resolve("frontend", ip, &services), "frontend");
    }

    #[test]
    fn faults_turn_on_the_switches_of_the_containers_they_hit() {
        let w = World::new(chrono::Utc::now(), crate::world::Timing::default());
        let c = json!({"name": "app", "image": "ghcr.io/selfheal/sample-app:0.2.0",
            "resources": {"limits": {"cpu": "500m"}}});
        let pod = json!({"metadata": {"name": "p", "namespace": "shop", "uid": "u"}});
        let s = switches(
            &w,
            &[
                FaultKind::Latency { seconds: 0.25 },
                FaultKind::Errors {
                    share: 0.3,
                    image: Some("ghcr.io/selfheal/sample-app:0.1.0".into()),
                },
                FaultKind::OomKilled {
                    until_restart: false,
                    container: Some("sidecar".into()),
                },
                FaultKind::CpuSaturation,
            ],
            &pod,
            &c,
        );
        assert_eq!(
            s,
            Switches {
                latency_ms: 250,
                cpu_burn: 0.5,
                ..Switches::default()
            },
            "errors of another image and an OOM of another container do not hit it"
        );
    }
}
