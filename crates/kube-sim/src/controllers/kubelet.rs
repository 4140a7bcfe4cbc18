//! The kubelet: moves each bound pod through its lifecycle (pulling, ContainerCreating, Running,
//! Ready) and through the faults that hit it (crashes with back-off, OOM kills, images that
//! cannot be pulled, failing readiness probes, a dependency that refuses connections), keeps
//! container logs (current and previous), and records the events a real kubelet records.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::faults::FaultKind;
use crate::object::{ObjectKey, name_of, ts, uid_of};
use crate::resources::idx;
use crate::world::{Timing, World};

/// A repeated event is recorded again only after this long (a kubelet's probe period).
const EVENT_REPEAT_SECONDS: i64 = 10;
/// The crash back-off doubles up to this.
const MAX_BACKOFF_SECONDS: i64 = 300;

/// What the kubelet tracks per container.
#[derive(Debug, Clone, Default)]
pub(super) struct ContainerSim {
    pub(super) started: Option<DateTime<Utc>>,
    restarts: i64,
    waiting_until: Option<DateTime<Utc>>,
    last_terminated: Option<Value>,
    pub(super) current_log: Vec<String>,
    previous_log: Vec<String>,
}

/// What the kubelet tracks per pod.
#[derive(Debug, Clone, Default)]
pub(crate) struct PodSim {
    scheduled: Option<DateTime<Utc>>,
    containers: BTreeMap<String, ContainerSim>,
    pub(crate) not_ready_since: Option<DateTime<Utc>>,
    /// When each event (reason and message) was last recorded.
    last_event: HashMap<String, DateTime<Utc>>,
}

impl PodSim {
    /// The container named, or the first one when none is: its name and what the kubelet keeps.
    fn container(&self, name: Option<&str>) -> Option<(&str, &ContainerSim)> {
        match name {
            Some(n) => self.containers.get_key_value(n),
            None => self.containers.iter().next(),
        }
        .map(|(n, cs)| (n.as_str(), cs))
    }

    /// A container's log (the first container's when none is named), current or previous;
    /// a running process's current log comes from `runtime`, read now.
    pub(crate) fn log(
        &self,
        uid: &str,
        runtime: Option<&crate::runtime::Runtime>,
        container: Option<&str>,
        previous: bool,
    ) -> Option<Vec<String>> {
        let (name, cs) = self.container(container)?;
        if previous {
            return Some(cs.previous_log.clone());
        }
        let live = runtime.and_then(|rt| rt.log(&crate::runtime::key(uid, name)));
        Some(live.unwrap_or_else(|| cs.current_log.clone()))
    }
}

/// An event the kubelet records about a pod.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct PodEvent {
    warning: bool,
    reason: &'static str,
    message: String,
}

impl PodEvent {
    fn normal(reason: &'static str, message: String) -> Self {
        PodEvent {
            warning: false,
            reason,
            message,
        }
    }

    fn warning(reason: &'static str, message: String) -> Self {
        PodEvent {
            warning: true,
            reason,
            message,
        }
    }
}

/// Steps every pod bound to a node.
pub(crate) fn reconcile(w: &mut World) {
    if let Some(rt) = &mut w.runtime {
        rt.reap();
    }
    let scheduled: Vec<ObjectKey> = w
        .list(idx::PODS, None)
        .filter(|p| p["spec"]["nodeName"].is_string())
        .map(|p| ObjectKey::of(idx::PODS, p))
        .collect();
    for key in scheduled {
        // Taken out rather than copied: every pod is stepped every simulated second.
        let Some(pod) = w.take(&key) else {
            continue;
        };
        let node = pod["spec"]["nodeName"].as_str().unwrap_or_default();
        let node_ready = w.get(idx::NODES, "", node).is_none_or(|n| w.node_ready(n));
        let faults = w.pod_faults(&pod);
        let updated = step_pod(w, &pod, &faults, node_ready);
        if updated == pod {
            w.restore(key, pod);
        } else {
            w.store(idx::PODS, updated);
        }
    }
}

/// The sim time and the faults one pod is stepped with.
pub(super) struct Step<'a> {
    pub(super) now: DateTime<Utc>,
    pub(super) timing: &'a Timing,
    scheduled: DateTime<Utc>,
    pulled: bool,
    image_pull: bool,
    pub(super) faults: &'a [FaultKind],
    pub(super) pod: &'a str,
}

/// One pod's containers, status and events at the current sim time.
fn step_pod(w: &mut World, pod: &Value, faults: &[FaultKind], node_ready: bool) -> Value {
    let now = w.now;
    let timing = w.timing.clone();
    let uid = uid_of(pod).to_owned();
    let mut sim = w.pods.remove(&uid).unwrap_or_default();
    let scheduled = *sim.scheduled.get_or_insert(now);
    let step = Step {
        now,
        timing: &timing,
        scheduled,
        pulled: now >= scheduled + Duration::seconds(timing.pull_seconds),
        image_pull: faults.iter().any(|f| matches!(f, FaultKind::ImagePull)),
        faults,
        pod: name_of(pod),
    };
    let mut events = Vec::new();
    let mut statuses = Vec::new();
    let mut all_ready = true;
    for c in pod["spec"]["containers"].as_array().into_iter().flatten() {
        let name = c["name"].as_str().unwrap_or("app").to_owned();
        let image = c["image"].as_str().unwrap_or_default().to_owned();
        sim.containers.entry(name.clone()).or_default();
        // The pull is one event per pod, reported with its first container.
        let first = sim.containers.len() <= 1;
        let cs = sim.containers.entry(name.clone()).or_default();
        let process = w.runtime.as_ref().is_some_and(|r| r.runs(&image));
        let (state, ready) = match waiting(&step, cs, &name, &image, first, &mut events) {
            Some(waiting) => waiting,
            None if process => {
                let started = start(&step, cs, &name, &image, &mut events);
                super::process::step(w, &step, cs, pod, c, started, &mut events)
            }
            None => {
                start(&step, cs, &name, &image, &mut events);
                step_container(&step, cs, &name, &image, &mut events)
            }
        };
        let ready = ready && node_ready;
        all_ready &= ready;
        let mut status = json!({"name": name, "image": image, "imageID": "", "ready": ready,
            "restartCount": cs.restarts, "started": state.get("running").is_some(), "state": state,
            "containerID": format!("containerd://{}", &uid[..8])});
        if let Some(last) = &cs.last_terminated {
            status["lastState"] = last.clone();
        }
        statuses.push(status);
    }
    let salt = w.runtime.as_ref().map(|r| r.salt);
    let out = pod_status(pod, &step, statuses, all_ready, &uid, salt);
    if node_ready {
        sim.not_ready_since = None;
    } else {
        sim.not_ready_since.get_or_insert(now);
    }
    let due = due_events(&mut sim, events, now);
    w.pods.insert(uid, sim);
    for e in due {
        w.event(pod, e.warning, e.reason, &e.message, "kubelet");
    }
    out
}

/// A container that is not running yet: pulling, failing to pull, or backing off after a crash.
fn waiting(
    step: &Step<'_>,
    cs: &mut ContainerSim,
    name: &str,
    image: &str,
    first: bool,
    events: &mut Vec<PodEvent>,
) -> Option<(Value, bool)> {
    let now = step.now;
    if !step.pulled {
        if cs.current_log.is_empty() && first {
            events.push(PodEvent::normal(
                "Pulling",
                format!("Pulling image \"{image}\""),
            ));
        }
        cs.current_log.clear();
        return Some((json!({"waiting": {"reason": "ContainerCreating"}}), false));
    }
    if step.image_pull {
        events.push(PodEvent::warning("Failed", format!("Failed to pull image \"{image}\": rpc error: code = NotFound desc = failed to pull and unpack image \"{image}\": not found")));
        let state = json!({"waiting": {"reason": "ImagePullBackOff", "message": format!("Back-off pulling image \"{image}\"")}});
        return Some((state, false));
    }
    let until = cs.waiting_until.filter(|w| now < *w)?;
    events.push(back_off());
    let state = json!({"waiting": {"reason": "CrashLoopBackOff", "message": format!("back-off {}s restarting failed container={name} pod={}", (until - now).num_seconds(), step.pod)}});
    Some((state, false))
}

/// Starts the container if it is not running (after its pull or its back-off); whether it did.
fn start(
    step: &Step<'_>,
    cs: &mut ContainerSim,
    name: &str,
    image: &str,
    events: &mut Vec<PodEvent>,
) -> bool {
    let (now, t) = (step.now, step.timing);
    if cs.started.is_some() {
        return false;
    }
    cs.started = Some(
        cs.waiting_until
            .unwrap_or(now)
            .max(step.scheduled + Duration::seconds(t.pull_seconds)),
    );
    cs.waiting_until = None;
    cs.current_log = vec![
        format!("{} starting {image}", ts(now)),
        format!("{} listening on :8080", ts(now)),
    ];
    if cs.restarts == 0 {
        let pulled = format!("Successfully pulled image \"{image}\"");
        events.push(PodEvent::normal("Pulled", pulled));
    }
    events.push(PodEvent::normal(
        "Created",
        format!("Created container {name}"),
    ));
    events.push(PodEvent::normal(
        "Started",
        format!("Started container {name}"),
    ));
    true
}

/// The container exited with `code` at `finished`: its log becomes the previous one, and it
/// backs off before the next start (doubling, capped). Returns its waiting state.
pub(super) fn terminated(
    step: &Step<'_>,
    cs: &mut ContainerSim,
    name: &str,
    code: i32,
    reason: &str,
    finished: DateTime<Utc>,
    events: &mut Vec<PodEvent>,
) -> Value {
    let started = cs.started.unwrap_or(finished);
    cs.previous_log = std::mem::take(&mut cs.current_log);
    cs.last_terminated = Some(json!({"terminated": {"exitCode": code, "reason": reason,
        "startedAt": ts(started), "finishedAt": ts(finished)}}));
    cs.restarts += 1;
    let backoff =
        (step.timing.backoff_seconds << (cs.restarts - 1).min(5)).min(MAX_BACKOFF_SECONDS);
    cs.waiting_until = Some(step.now + Duration::seconds(backoff));
    cs.started = None;
    events.push(back_off());
    json!({"waiting": {"reason": "CrashLoopBackOff", "message": format!("back-off {backoff}s restarting failed container={name} pod={}", step.pod)}})
}

/// A simulated running container: it crashes, fails its probe or logs as its faults say.
fn step_container(
    step: &Step<'_>,
    cs: &mut ContainerSim,
    name: &str,
    image: &str,
    events: &mut Vec<PodEvent>,
) -> (Value, bool) {
    let (now, t) = (step.now, step.timing);
    let started = cs.started.unwrap_or(now);
    let finished = started + Duration::seconds(t.crash_after_seconds);
    if let Some((code, reason, lines)) = crash(step.faults, name).filter(|_| now >= finished) {
        cs.current_log
            .extend(lines.iter().map(|l| format!("{} {l}", ts(finished))));
        let state = terminated(step, cs, name, code, reason, finished, events);
        return (state, false);
    }
    let bad_image = step
        .faults
        .iter()
        .any(|f| matches!(f, FaultKind::BadImage { image: bad } if bad == image));
    let readiness_failing = bad_image
        || step
            .faults
            .iter()
            .any(|f| matches!(f, FaultKind::ReadinessFailing));
    let warmed_up = now >= started + Duration::seconds(t.ready_seconds);
    if readiness_failing && warmed_up {
        let probe = "Readiness probe failed: HTTP probe failed with statuscode: 503";
        events.push(PodEvent::warning("Unhealthy", probe.to_owned()));
    }
    for f in step.faults {
        if let FaultKind::DependencyDown { dependency } = f {
            let line = format!(
                "{} error: dial tcp {dependency}: connect: connection refused",
                ts(now)
            );
            if cs.current_log.last() != Some(&line) {
                cs.current_log.push(line);
            }
        }
    }
    let state = json!({"running": {"startedAt": ts(started)}});
    (state, warmed_up && !readiness_failing)
}

/// How the container `name` dies under `faults`, if it does: exit code, reason, last log lines.
fn crash(faults: &[FaultKind], name: &str) -> Option<(i32, &'static str, Vec<String>)> {
    faults.iter().find_map(|f| match f {
        FaultKind::Crashloop { exit_code, log, .. } => Some((*exit_code, "Error", log.clone())),
        FaultKind::OomKilled { container, .. }
            if container.as_deref().is_none_or(|n| n == name) =>
        {
            let line = "fatal error: runtime: out of memory".to_owned();
            Some((137, "OOMKilled", vec![line]))
        }
        _ => None,
    })
}

fn back_off() -> PodEvent {
    PodEvent::warning("BackOff", "Back-off restarting failed container".to_owned())
}

/// The pod's status from its containers': phase, IPs, conditions.
fn pod_status(
    pod: &Value,
    step: &Step<'_>,
    statuses: Vec<Value>,
    ready: bool,
    uid: &str,
    salt: Option<u64>,
) -> Value {
    let mut out = pod.clone();
    let running = statuses.iter().any(|s| s["state"].get("running").is_some())
        || statuses
            .iter()
            .any(|s| s["restartCount"].as_i64() > Some(0));
    let phase = if step.pulled && !step.image_pull && running {
        "Running"
    } else {
        "Pending"
    };
    out["status"]["phase"] = json!(phase);
    out["status"]["containerStatuses"] = json!(statuses);
    out["status"]["hostIP"] = json!("10.0.1.10");
    out["status"]["podIP"] = json!(pod_ip(uid, salt));
    out["status"]["startTime"] = json!(ts(step.scheduled));
    out["status"]["qosClass"] = json!("Burstable");
    let cond = |t: &str, ok: bool| json!({"type": t, "status": if ok { "True" } else { "False" }});
    out["status"]["conditions"] = json!([
        cond("PodScheduled", true),
        cond("Initialized", true),
        cond("ContainersReady", ready),
        cond("Ready", ready)
    ]);
    out
}

/// A pod's IP, stable per pod: derived from its uid, never from anything that changes. In
/// 127.16.0.0-127.239.255.255 when processes run (any loopback address can be bound without
/// configuration; `salt` tells this sim's from another's), in 10.1.0.0/16 otherwise.
pub(crate) fn pod_ip(uid: &str, salt: Option<u64>) -> String {
    match salt {
        Some(salt) => {
            let h = Sha256::digest(format!("{salt}/{uid}").as_bytes());
            format!("127.{}.{}.{}", 16 + h[0] % 224, h[1], h[2].max(2))
        }
        None => {
            let h = Sha256::digest(uid.as_bytes());
            format!("10.1.{}.{}", h[0], h[1].max(2))
        }
    }
}

/// The events not recorded within the last [`EVENT_REPEAT_SECONDS`]: a kubelet repeats an event
/// per probe period, not per reconcile.
fn due_events(sim: &mut PodSim, events: Vec<PodEvent>, now: DateTime<Utc>) -> Vec<PodEvent> {
    events
        .into_iter()
        .filter(|e| {
            let key = format!("{}/{}", e.reason, e.message);
            let fresh = sim
                .last_event
                .get(&key)
                .is_none_or(|t| now >= *t + Duration::seconds(EVENT_REPEAT_SECONDS));
            if fresh {
                sim.last_event.insert(key, now);
            }
            fresh
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde_json::Value;

    use crate::controllers::testing::{cluster, deployment, inject, run_for};
    use crate::faults::FaultKind;
    use crate::object::is_ready;
    use crate::resources::idx;

    fn pod(w: &crate::World) -> Value {
        w.list(idx::PODS, Some("shop")).next().unwrap().clone()
    }

    #[test]
    fn a_pod_is_pulled_started_and_ready_in_sim_time() {
        let mut w = cluster(1);
        deployment(&mut w, "web", 1);
        let p = pod(&w);
        assert_eq!(
            p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"],
            "ContainerCreating"
        );
        run_for(&mut w, Duration::from_secs(1));
        let p = pod(&w);
        assert_eq!(p["status"]["phase"], "Running");
        assert!(!is_ready(&p), "ready only after ready_seconds");
        run_for(&mut w, Duration::from_secs(2));
        assert!(is_ready(&pod(&w)));
        let reasons: Vec<_> = w
            .list(idx::EVENTS, Some("shop"))
            .filter(|e| e["source"]["component"] == "kubelet")
            .map(|e| e["reason"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(reasons, ["Pulling", "Pulled", "Created", "Started"]);
    }

    #[test]
    fn a_crashing_container_restarts_with_back_off_and_keeps_its_previous_log() {
        let mut w = cluster(1);
        deployment(&mut w, "web", 1);
        inject(
            &mut w,
            FaultKind::Crashloop {
                exit_code: 2,
                log: vec!["panic: nil map".into()],
                until_restart: false,
            },
        );
        run_for(&mut w, Duration::from_secs(7));
        let p = pod(&w);
        let status = &p["status"]["containerStatuses"][0];
        assert_eq!(status["restartCount"], 1);
        assert_eq!(status["state"]["waiting"]["reason"], "CrashLoopBackOff");
        assert_eq!(status["lastState"]["terminated"]["exitCode"], 2);
        let previous = w.log(&p, None, true).unwrap();
        assert!(
            previous.last().unwrap().ends_with("panic: nil map"),
            "{previous:?}"
        );
        // Back-off 10 s, then it runs 5 s and crashes again: two restarts by 25 s.
        run_for(&mut w, Duration::from_secs(18));
        assert_eq!(pod(&w)["status"]["containerStatuses"][0]["restartCount"], 2);
    }

    #[test]
    fn an_oom_kill_names_the_reason_and_exit_code_137() {
        let mut w = cluster(1);
        deployment(&mut w, "web", 1);
        inject(
            &mut w,
            FaultKind::OomKilled {
                until_restart: false,
                container: None,
            },
        );
        run_for(&mut w, Duration::from_secs(7));
        let p = pod(&w);
        let last = &p["status"]["containerStatuses"][0]["lastState"]["terminated"];
        assert_eq!(
            (last["exitCode"].as_i64(), last["reason"].as_str()),
            (Some(137), Some("OOMKilled"))
        );
    }

    #[test]
    fn failing_readiness_keeps_the_pod_running_but_not_ready_and_says_so_once_per_period() {
        let mut w = cluster(1);
        deployment(&mut w, "web", 1);
        inject(&mut w, FaultKind::ReadinessFailing);
        run_for(&mut w, Duration::from_secs(8));
        let p = pod(&w);
        assert_eq!(p["status"]["phase"], "Running");
        assert!(!is_ready(&p));
        let unhealthy = w
            .list(idx::EVENTS, Some("shop"))
            .find(|e| e["reason"] == "Unhealthy")
            .unwrap();
        // 5 s of failing probes, one second apart, recorded once (repeat after 10 s).
        assert_eq!(unhealthy["count"], 1);
    }
}
