//! The target: the Kubernetes object a remediation acts on, taken from an alert's labels. Every
//! label that names an object is checked against Kubernetes' naming rules before it can reach an
//! API path.

use std::fmt;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::alert::Labels;
use crate::names::{NameError, NameRule};

crate::spelled_enum!(
    /// The kinds of object a runbook can act on, spelled as Kubernetes spells the kind.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum TargetKind {
        /// apps/v1 Deployment.
        Deployment = "Deployment",
        /// apps/v1 StatefulSet.
        StatefulSet = "StatefulSet",
        /// apps/v1 DaemonSet.
        DaemonSet = "DaemonSet",
        /// core/v1 Pod (workload steps resolve it to its owner).
        Pod = "Pod",
        /// core/v1 Node.
        Node = "Node",
    }
);

impl TargetKind {
    /// The alert label that names an object of this kind (and kubectl's lower-case resource).
    pub fn label(self) -> &'static str {
        match self {
            TargetKind::Deployment => "deployment",
            TargetKind::StatefulSet => "statefulset",
            TargetKind::DaemonSet => "daemonset",
            TargetKind::Pod => "pod",
            TargetKind::Node => "node",
        }
    }
}

/// Alert labels that name Kubernetes objects, with the rule each value must follow, in the order
/// that picks the target: the most specific workload first, the node last.
pub const OBJECT_LABELS: [(&str, NameRule, Option<TargetKind>); 7] = [
    ("cluster", NameRule::EksCluster, None),
    ("namespace", NameRule::Dns1123Label, None),
    (
        "deployment",
        NameRule::Dns1123Subdomain,
        Some(TargetKind::Deployment),
    ),
    (
        "statefulset",
        NameRule::Dns1123Subdomain,
        Some(TargetKind::StatefulSet),
    ),
    (
        "daemonset",
        NameRule::Dns1123Subdomain,
        Some(TargetKind::DaemonSet),
    ),
    ("pod", NameRule::Dns1123Subdomain, Some(TargetKind::Pod)),
    ("node", NameRule::Dns1123Subdomain, Some(TargetKind::Node)),
];

/// What a remediation acts on.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Target {
    /// EKS cluster name (the `cluster` label, or the configured default).
    pub cluster: String,
    /// Namespace; `None` for nodes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The object's kind.
    pub kind: TargetKind,
    /// The object's name.
    pub name: String,
    /// For a pod, the workload its name says owns it: the guardrails (cooldown, circuit
    /// breaker) hold for that workload, so crashloop alerts for N pods of one Deployment are one
    /// target, and remediate refuses to act when the cluster says the owner is another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<Owner>,
}

/// The workload that owns a pod.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Owner {
    /// Deployment or StatefulSet.
    pub kind: TargetKind,
    /// Its name.
    pub name: String,
}

/// The alphabet of `rand.SafeEncodeString`: pod-template-hashes and generateName suffixes.
const SAFE: &str = "bcdfghjklmnpqrstvwxz2456789";

/// The workload a pod belongs to, as Kubernetes names its pods: a Deployment's are
/// `<deployment>-<pod-template-hash>-<5 random>`, a StatefulSet's `<statefulset>-<ordinal>`.
/// `None` for any other name: a bare pod, a DaemonSet's or a Job's (`<name>-<5 random>` says
/// which controller only to the API server), or a name generateName cut at 63 characters.
pub fn pod_owner(pod: &str) -> Option<Owner> {
    if let Some((deployment, _hash)) = pod_replicaset(pod).and_then(|rs| rs.rsplit_once('-')) {
        return Some(Owner {
            kind: TargetKind::Deployment,
            name: deployment.to_owned(),
        });
    }
    let (statefulset, ordinal) = pod.rsplit_once('-')?;
    let ordinal_ok = ordinal == "0"
        || (!ordinal.starts_with('0')
            && !ordinal.is_empty()
            && ordinal.bytes().all(|b| b.is_ascii_digit()));
    (ordinal_ok && !statefulset.is_empty()).then(|| Owner {
        kind: TargetKind::StatefulSet,
        name: statefulset.to_owned(),
    })
}

/// The ReplicaSet a Deployment's pod is named after: `<replicaset>-<5 random>`, the ReplicaSet
/// being `<deployment>-<pod-template-hash>`. It still names the pod's owner when the pod is gone.
pub fn pod_replicaset(pod: &str) -> Option<&str> {
    let safe = |s: &str, len: std::ops::RangeInclusive<usize>| {
        len.contains(&s.len()) && s.chars().all(|c| SAFE.contains(c))
    };
    let (replicaset, random) = pod.rsplit_once('-')?;
    let (deployment, hash) = replicaset.rsplit_once('-')?;
    (safe(random, 5..=5) && safe(hash, 1..=10) && !deployment.is_empty()).then_some(replicaset)
}

/// Why no target could be taken from an alert's labels.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TargetError {
    /// A label that names an object is not a valid name.
    #[error("label {label}={value:?} is not a valid name: {error}")]
    InvalidLabel {
        /// The label.
        label: String,
        /// Its value.
        value: String,
        /// What is wrong.
        error: NameError,
    },
    /// None of deployment, statefulset, daemonset, pod or node is set.
    #[error("no deployment, statefulset, daemonset, pod or node label names a target")]
    NoTarget,
    /// A namespaced object without a namespace label.
    #[error("a {0:?} target needs a namespace label")]
    MissingNamespace(TargetKind),
}

impl Target {
    /// Validates every object-naming label, then takes the most specific one as the target.
    pub fn from_labels(labels: &Labels, default_cluster: &str) -> Result<Target, TargetError> {
        for (label, rule, _) in OBJECT_LABELS {
            if let Some(value) = labels.get(label) {
                rule.check(value)
                    .map_err(|error| TargetError::InvalidLabel {
                        label: label.to_owned(),
                        value: value.clone(),
                        error,
                    })?;
            }
        }
        let (kind, name) = OBJECT_LABELS
            .iter()
            .find_map(|(label, _, kind)| Some((kind.as_ref()?, labels.get(*label)?)))
            .ok_or(TargetError::NoTarget)?;
        let namespace = match kind {
            TargetKind::Node => None,
            _ => Some(
                labels
                    .get("namespace")
                    .cloned()
                    .ok_or(TargetError::MissingNamespace(*kind))?,
            ),
        };
        Ok(Target {
            cluster: labels
                .get("cluster")
                .cloned()
                .unwrap_or_else(|| default_cluster.to_owned()),
            namespace,
            kind: *kind,
            name: name.clone(),
            owner: (*kind == TargetKind::Pod)
                .then(|| pod_owner(name))
                .flatten(),
        })
    }

    /// What the guardrails are kept under: the owning workload for a pod whose name tells it,
    /// else the object itself (`cluster/namespace/kind/name`).
    pub fn guard_key(&self) -> String {
        match (&self.owner, &self.namespace) {
            (Some(o), Some(ns)) => format!("{}/{ns}/{}/{}", self.cluster, o.kind.label(), o.name),
            _ => self.to_string(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = self.kind.label();
        match &self.namespace {
            Some(ns) => write!(f, "{}/{ns}/{kind}/{}", self.cluster, self.name),
            None => write!(f, "{}/{kind}/{}", self.cluster, self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::labels;

    #[test]
    fn target_prefers_the_workload_over_the_pod_and_the_pod_over_the_node() {
        let l = labels(&[
            ("namespace", "shop"),
            ("pod", "backend-1"),
            ("node", "ip-10-0-1-2"),
            ("deployment", "backend"),
        ]);
        let t = Target::from_labels(&l, "local").unwrap();
        assert_eq!(
            (t.kind, t.name.as_str(), t.namespace.as_deref()),
            (TargetKind::Deployment, "backend", Some("shop"))
        );
        let l = labels(&[
            ("namespace", "shop"),
            ("pod", "backend-1"),
            ("node", "ip-10-0-1-2"),
        ]);
        assert_eq!(
            Target::from_labels(&l, "local").unwrap().kind,
            TargetKind::Pod
        );
        let l = labels(&[("node", "ip-10-0-1-2"), ("cluster", "prod-eu")]);
        let t = Target::from_labels(&l, "local").unwrap();
        assert_eq!(t.to_string(), "prod-eu/node/ip-10-0-1-2");
        assert_eq!(t.namespace, None);
    }

    #[test]
    fn a_deployments_pod_names_its_replicaset() {
        assert_eq!(
            pod_replicaset("payments-api-7c9d8b6f5d-4wz5m"),
            Some("payments-api-7c9d8b6f5d")
        );
        assert_eq!(pod_replicaset("database-0"), None);
        // A DaemonSet's pod: one random suffix, no template hash.
        assert_eq!(pod_replicaset("node-exporter-x2kq9"), None);
        assert_eq!(pod_replicaset("-7c9d8b6f5d-4wz5m"), None);
    }

    #[test]
    fn a_pods_name_tells_its_deployment_or_statefulset() {
        let owner = |pod: &str| pod_owner(pod).map(|o| (o.kind, o.name));
        assert_eq!(
            owner("frontend-5d8f7b9c4-x2kq9"),
            Some((TargetKind::Deployment, "frontend".into()))
        );
        assert_eq!(
            owner("payments-api-7c9d8b6f5d-4wz5m"),
            Some((TargetKind::Deployment, "payments-api".into()))
        );
        assert_eq!(
            owner("database-0"),
            Some((TargetKind::StatefulSet, "database".into()))
        );
        assert_eq!(
            owner("kafka-broker-12"),
            Some((TargetKind::StatefulSet, "kafka-broker".into()))
        );
        // A DaemonSet's or Job's pod, a bare pod, a leading-zero "ordinal", a hash with letters
        // outside the alphabet (vowels, 0, 1, 3): no owner from the name.
        for pod in [
            "node-exporter-x2kq9",
            "debug",
            "web-01",
            "web-abc123-x2kq9",
            "-0",
        ] {
            assert_eq!(owner(pod), None, "{pod}");
        }
    }

    #[test]
    fn pods_of_one_deployment_share_the_guardrails_of_their_deployment() {
        let pod = |name: &str| {
            Target::from_labels(&labels(&[("namespace", "shop"), ("pod", name)]), "dev").unwrap()
        };
        let (a, b) = (pod("web-5d8f7b9c4-x2kq9"), pod("web-5d8f7b9c4-7hm2v"));
        assert_ne!(a, b);
        assert_eq!(a.guard_key(), "dev/shop/deployment/web");
        assert_eq!(a.guard_key(), b.guard_key());
        let deployment = Target::from_labels(
            &labels(&[("namespace", "shop"), ("deployment", "web")]),
            "dev",
        )
        .unwrap();
        assert_eq!(deployment.guard_key(), a.guard_key());
        assert_eq!(pod("debug").guard_key(), "dev/shop/pod/debug");
    }

    #[test]
    fn invalid_or_missing_names_are_refused() {
        let l = labels(&[("namespace", "../kube-system"), ("pod", "backend-1")]);
        let err = Target::from_labels(&l, "local").unwrap_err();
        assert!(
            matches!(err, TargetError::InvalidLabel { ref label, .. } if label == "namespace"),
            "{err}"
        );
        // Even a label that would not be the target is checked.
        let l = labels(&[
            ("namespace", "shop"),
            ("deployment", "backend"),
            ("pod", "Backend 1"),
        ]);
        assert!(matches!(
            Target::from_labels(&l, "local"),
            Err(TargetError::InvalidLabel { .. })
        ));
        let l = labels(&[("namespace", "shop")]);
        assert_eq!(Target::from_labels(&l, "local"), Err(TargetError::NoTarget));
        let l = labels(&[("deployment", "backend")]);
        assert_eq!(
            Target::from_labels(&l, "local"),
            Err(TargetError::MissingNamespace(TargetKind::Deployment))
        );
    }
}
