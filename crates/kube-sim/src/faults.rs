//! Faults (chaos) injected on a target and removed by id: what goes wrong in the simulated cluster.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What goes wrong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum FaultKind {
    /// Containers exit after running a few seconds, and back off before each restart.
    Crashloop {
        /// The exit code.
        #[serde(default = "one")]
        exit_code: i32,
        /// Lines the container logs before it exits.
        #[serde(default)]
        log: Vec<String>,
        /// Only pods that existed when the fault was injected crash (a restart heals).
        #[serde(default)]
        until_restart: bool,
    },
    /// Containers are killed for exceeding their memory limit (exit 137, OOMKilled).
    OomKilled {
        /// Only pods that existed when the fault was injected are killed.
        #[serde(default)]
        until_restart: bool,
        /// Only this container (a sidecar, say); all containers when absent.
        #[serde(default)]
        container: Option<String>,
    },
    /// The image cannot be pulled (ErrImagePull, then ImagePullBackOff).
    ImagePull,
    /// Pods running this image never become ready; a rollback to another image cures it.
    BadImage {
        /// The bad image, e.g. `ghcr.io/selfheal/backend:v2`.
        image: String,
    },
    /// Readiness probes fail.
    ReadinessFailing,
    /// CPU near the limit: throttling and latency show in the metrics, however many replicas.
    CpuSaturation,
    /// The deployment's traffic needs this many cores, spread over its ready pods: a pod asked
    /// for more than 90% of its CPU limit runs at the limit, throttled and slow, until enough
    /// replicas share the load.
    Load {
        /// Cores the whole deployment needs.
        cores: f64,
    },
    /// Every request takes this much longer.
    Latency {
        /// Extra seconds per request.
        seconds: f64,
    },
    /// A share of requests fail with a 503: a bug. With `image`, only pods running that image
    /// serve the errors, wherever they are (a bad release: a rollback to another image cures it).
    Errors {
        /// The share of requests that fail, in (0, 1].
        share: f64,
        /// Only pods running this image, e.g. `ghcr.io/selfheal/backend:2.2.0`.
        #[serde(default)]
        image: Option<String>,
    },
    /// A dependency refuses connections: 5xx responses and "connection refused" in the logs.
    DependencyDown {
        /// The dependency's name, e.g. `database:5432`.
        dependency: String,
    },
    /// The node stops reporting Ready.
    NodeNotReady,
    /// Queue consumers stop acknowledging messages (a consumer deadlocked on the partition
    /// lease): the queue grows while the pods stay Ready.
    QueueStuck {
        /// Only the pods running when it struck are stuck: a recycled replica consumes again.
        #[serde(default)]
        until_restart: bool,
    },
    /// Answer requests on a path with an error or a delay.
    Api {
        /// Requests whose path starts with this.
        path: String,
        /// Only this method (GET, PATCH, ...), any when absent.
        #[serde(default)]
        method: Option<String>,
        /// Answer with this status (409, 429, 500, ...).
        #[serde(default)]
        status: Option<u16>,
        /// Delay each matching request by this many milliseconds.
        #[serde(default)]
        delay_ms: Option<u64>,
        /// How many requests it affects (then it clears itself).
        #[serde(default = "one_u32")]
        count: u32,
    },
}

fn one() -> i32 {
    1
}
fn one_u32() -> u32 {
    1
}

/// What a fault applies to.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultTarget {
    /// The namespace of the workload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// A deployment (its pods).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment: Option<String>,
    /// A node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
}

/// A fault as injected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    /// Its id, for removal.
    #[serde(default)]
    pub id: String,
    /// What goes wrong.
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Where.
    #[serde(default)]
    pub target: FaultTarget,
    /// When it was injected (sim time).
    #[serde(default)]
    pub injected_at: Option<DateTime<Utc>>,
    /// For a fault that hits only the pods already running (`until_restart`): their uids, taken
    /// at injection. Creation times are whole seconds, so a pod created in the injection's second
    /// cannot be told from an old one by its time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub existing: Option<std::collections::BTreeSet<String>>,
    /// A fault that comes and goes (what makes an alert flap), from its injection on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flap: Option<Flap>,
}

/// The cycle of a flapping fault: in force for `active_seconds`, then gone for `idle_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flap {
    /// How long each time it is in force.
    pub active_seconds: u32,
    /// How long it is gone in between.
    pub idle_seconds: u32,
}

impl Fault {
    /// A fault of `kind` on `target`, not yet injected (the world gives it its id and times).
    pub fn new(kind: FaultKind, target: FaultTarget) -> Fault {
        Fault {
            id: String::new(),
            kind,
            target,
            injected_at: None,
            existing: None,
            flap: None,
        }
    }

    /// When the fault's current spell began, if it is in force at `now`: its injection, or for
    /// a flapping fault the start of the active part of the cycle `now` is in.
    pub fn in_force_since(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let injected = self.injected_at.unwrap_or(now);
        let Some(flap) = self.flap else {
            return Some(injected);
        };
        let cycle = i64::from(flap.active_seconds) + i64::from(flap.idle_seconds);
        let into = (now - injected).num_seconds().max(0) % cycle.max(1);
        (into < i64::from(flap.active_seconds)).then(|| now - chrono::Duration::seconds(into))
    }

    /// Whether this fault hits the pod at `now`: [`Self::hits_pod`] while it is in force. A
    /// fault that hits the pods running when it struck strikes again each time it flaps back:
    /// then the pods running at that moment are hit.
    pub fn hits_pod_at(
        &self,
        now: DateTime<Utc>,
        namespace: &str,
        deployment: Option<&str>,
        created: DateTime<Utc>,
        uid: &str,
    ) -> bool {
        let Some(since) = self.in_force_since(now) else {
            return false;
        };
        if self.until_restart() && self.injected_at.is_some_and(|t| since > t) {
            let again = Fault {
                injected_at: Some(since),
                existing: None,
                ..self.clone()
            };
            return again.hits_pod(namespace, deployment, created, uid);
        }
        self.hits_pod(namespace, deployment, created, uid)
    }

    /// Why this fault cannot be injected, if it cannot.
    pub fn invalid(&self) -> Option<String> {
        match &self.kind {
            FaultKind::Errors { share, .. } if !(*share > 0.0 && *share <= 1.0) => {
                Some(format!("errors: share {share} is not in (0, 1]"))
            }
            FaultKind::Load { cores } if !(*cores > 0.0 && cores.is_finite()) => {
                Some(format!("load: {cores} cores is not a positive number"))
            }
            FaultKind::Latency { seconds } if !(*seconds >= 0.0 && seconds.is_finite()) => {
                Some(format!("latency: {seconds} s is not a duration"))
            }
            _ if self
                .flap
                .is_some_and(|f| f.active_seconds == 0 || f.idle_seconds == 0) =>
            {
                Some("flap: active_seconds and idle_seconds must both be positive".into())
            }
            _ => None,
        }
    }

    /// Whether this fault hits only the pods running when it was injected.
    pub fn until_restart(&self) -> bool {
        matches!(
            self.kind,
            FaultKind::Crashloop {
                until_restart: true,
                ..
            } | FaultKind::OomKilled {
                until_restart: true,
                ..
            } | FaultKind::QueueStuck {
                until_restart: true
            }
        )
    }

    /// Whether this fault applies to pod `uid` of `deployment` in `namespace`, created at
    /// `created`.
    pub fn hits_pod(
        &self,
        namespace: &str,
        deployment: Option<&str>,
        created: DateTime<Utc>,
        uid: &str,
    ) -> bool {
        let ns_ok = self
            .target
            .namespace
            .as_deref()
            .is_none_or(|n| n == namespace);
        let dep_ok = match (&self.target.deployment, deployment) {
            (Some(want), Some(got)) => want == got,
            (Some(_), None) => false,
            (None, _) => self.target.node.is_none(),
        };
        let age_ok = match &self.kind {
            _ if self.until_restart() => match &self.existing {
                Some(uids) => uids.contains(uid),
                None => self.injected_at.is_none_or(|t| created <= t),
            },
            // Pulling happens once per pod: running pods already have their image.
            FaultKind::ImagePull => self.injected_at.is_none_or(|t| created >= t),
            _ => true,
        };
        ns_ok && dep_ok && age_ok
    }

    /// Whether this fault applies to `node`.
    pub fn hits_node(&self, node: &str) -> bool {
        self.target.node.as_deref() == Some(node)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_parse_from_yaml_with_defaults() {
        let f: Fault = serde_saphyr::from_str(
            "kind: crashloop\ntarget: {namespace: shop, deployment: backend}\n",
        )
        .unwrap();
        assert_eq!(
            f.kind,
            FaultKind::Crashloop {
                exit_code: 1,
                log: vec![],
                until_restart: false
            }
        );
        let f: Fault = serde_saphyr::from_str(
            "kind: api\npath: /apis/apps/v1/namespaces/shop/deployments/backend\nstatus: 409\n",
        )
        .unwrap();
        assert!(matches!(
            f.kind,
            FaultKind::Api {
                status: Some(409),
                count: 1,
                ..
            }
        ));
        assert!(serde_saphyr::from_str::<Fault>("kind: meteor\n").is_err());
    }

    #[test]
    fn until_restart_spares_new_pods() {
        let t = DateTime::parse_from_rfc3339("2026-11-25T21:30:00Z")
            .unwrap()
            .to_utc();
        let f = Fault {
            id: "f1".into(),
            kind: FaultKind::Crashloop {
                exit_code: 1,
                log: vec![],
                until_restart: true,
            },
            target: FaultTarget {
                namespace: Some("shop".into()),
                deployment: Some("backend".into()),
                node: None,
            },
            injected_at: Some(t),
            existing: None,
            flap: None,
        };
        assert!(f.hits_pod(
            "shop",
            Some("backend"),
            t - chrono::Duration::seconds(5),
            "a"
        ));
        assert!(!f.hits_pod(
            "shop",
            Some("backend"),
            t + chrono::Duration::seconds(5),
            "b"
        ));
        assert!(!f.hits_pod("shop", Some("frontend"), t, "c"));
        // Once injected, the pods that ran then are the ones hit, whatever their creation second.
        let known = Fault {
            existing: Some(["old".to_owned()].into()),
            ..f.clone()
        };
        assert!(known.hits_pod("shop", Some("backend"), t, "old"));
        assert!(!known.hits_pod("shop", Some("backend"), t, "new-in-the-same-second"));
    }

    #[test]
    fn a_flapping_fault_strikes_the_pods_running_each_time_it_comes_back() {
        let t = DateTime::parse_from_rfc3339("2026-11-25T21:30:00Z")
            .unwrap()
            .to_utc();
        let s = chrono::Duration::seconds;
        let mut f: Fault = serde_saphyr::from_str(
            "kind: crashloop\nuntil_restart: true\nflap: {active_seconds: 100, idle_seconds: 50}\ntarget: {namespace: shop, deployment: frontend}\n",
        )
        .unwrap();
        f.injected_at = Some(t);
        f.existing = Some(["old".to_owned()].into());
        assert_eq!(f.in_force_since(t + s(99)), Some(t));
        assert_eq!(f.in_force_since(t + s(100)), None, "idle");
        assert_eq!(f.in_force_since(t + s(170)), Some(t + s(150)), "back");
        let hits = |now, created, uid| f.hits_pod_at(now, "shop", Some("frontend"), created, uid);
        assert!(hits(t + s(10), t - s(60), "old"));
        // Restarted at t+40: spared while this spell lasts, hit when it comes back.
        assert!(!hits(t + s(60), t + s(40), "restarted"));
        assert!(!hits(t + s(120), t + s(40), "restarted"));
        assert!(hits(t + s(160), t + s(40), "restarted"));
        assert!(!hits(t + s(160), t + s(155), "newer"));
        assert!(
            Fault {
                flap: Some(Flap {
                    active_seconds: 0,
                    idle_seconds: 5
                }),
                ..f.clone()
            }
            .invalid()
            .is_some()
        );
    }
}
