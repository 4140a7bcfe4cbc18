//! The resources kube-sim serves, as discovery lists them.

/// One served resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resource {
    /// API group ("" for core).
    pub group: &'static str,
    /// API version.
    pub version: &'static str,
    /// Plural name, as in paths.
    pub plural: &'static str,
    /// Singular name.
    pub singular: &'static str,
    /// Kind.
    pub kind: &'static str,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
    /// Short names for kubectl.
    pub short: &'static [&'static str],
    /// Subresources served.
    pub subresources: &'static [&'static str],
}

const ALL_VERBS: &[&str] = &[
    "create", "delete", "get", "list", "patch", "update", "watch",
];
const READ_VERBS: &[&str] = &["get", "list", "watch"];

impl Resource {
    /// `v1` or `apps/v1`.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_owned()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `deployments.apps`, as API server messages name a resource.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_owned()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// Verbs discovery advertises.
    pub fn verbs(&self) -> &'static [&'static str] {
        match self.plural {
            "statefulsets" | "daemonsets" => READ_VERBS,
            _ => ALL_VERBS,
        }
    }
}

macro_rules! res {
    ($group:expr, $plural:expr, $singular:expr, $kind:expr, $ns:expr, $short:expr, $sub:expr) => {
        Resource {
            group: $group,
            version: "v1",
            plural: $plural,
            singular: $singular,
            kind: $kind,
            namespaced: $ns,
            short: $short,
            subresources: $sub,
        }
    };
}

/// Everything served, core first.
pub const RESOURCES: &[Resource] = &[
    res!(
        "",
        "namespaces",
        "namespace",
        "Namespace",
        false,
        &["ns"],
        &[]
    ),
    res!("", "nodes", "node", "Node", false, &["no"], &["status"]),
    res!(
        "",
        "pods",
        "pod",
        "Pod",
        true,
        &["po"],
        &["log", "eviction", "status"]
    ),
    res!("", "events", "event", "Event", true, &["ev"], &[]),
    res!("", "services", "service", "Service", true, &["svc"], &[]),
    res!(
        "",
        "configmaps",
        "configmap",
        "ConfigMap",
        true,
        &["cm"],
        &[]
    ),
    res!("", "secrets", "secret", "Secret", true, &[], &[]),
    res!(
        "apps",
        "deployments",
        "deployment",
        "Deployment",
        true,
        &["deploy"],
        &["scale", "status"]
    ),
    res!(
        "apps",
        "replicasets",
        "replicaset",
        "ReplicaSet",
        true,
        &["rs"],
        &["scale", "status"]
    ),
    res!(
        "apps",
        "statefulsets",
        "statefulset",
        "StatefulSet",
        true,
        &["sts"],
        &[]
    ),
    res!(
        "apps",
        "daemonsets",
        "daemonset",
        "DaemonSet",
        true,
        &["ds"],
        &[]
    ),
    res!(
        "policy",
        "poddisruptionbudgets",
        "poddisruptionbudget",
        "PodDisruptionBudget",
        true,
        &["pdb"],
        &["status"]
    ),
    res!(
        "",
        "serviceaccounts",
        "serviceaccount",
        "ServiceAccount",
        true,
        &["sa"],
        &[]
    ),
    res!(
        "networking.k8s.io",
        "networkpolicies",
        "networkpolicy",
        "NetworkPolicy",
        true,
        &["netpol"],
        &[]
    ),
    res!(
        "rbac.authorization.k8s.io",
        "roles",
        "role",
        "Role",
        true,
        &[],
        &[]
    ),
    res!(
        "rbac.authorization.k8s.io",
        "rolebindings",
        "rolebinding",
        "RoleBinding",
        true,
        &[],
        &[]
    ),
    res!(
        "rbac.authorization.k8s.io",
        "clusterroles",
        "clusterrole",
        "ClusterRole",
        false,
        &[],
        &[]
    ),
    res!(
        "rbac.authorization.k8s.io",
        "clusterrolebindings",
        "clusterrolebinding",
        "ClusterRoleBinding",
        false,
        &[],
        &[]
    ),
    // Served as on a cluster where Prometheus Operator installed its CRDs (EKS with
    // kube-prometheus-stack), so k8s/'s ServiceMonitors apply.
    res!(
        "monitoring.coreos.com",
        "servicemonitors",
        "servicemonitor",
        "ServiceMonitor",
        true,
        &["smon"],
        &[]
    ),
];

/// Index of a resource by group and plural.
pub fn find(group: &str, plural: &str) -> Option<usize> {
    RESOURCES
        .iter()
        .position(|r| r.group == group && r.plural == plural)
}

/// Index of a resource by kind.
pub fn by_kind(kind: &str) -> Option<usize> {
    RESOURCES.iter().position(|r| r.kind == kind)
}

/// Indexes used by the controllers.
pub mod idx {
    /// namespaces
    pub const NAMESPACES: usize = 0;
    /// nodes
    pub const NODES: usize = 1;
    /// pods
    pub const PODS: usize = 2;
    /// events
    pub const EVENTS: usize = 3;
    /// services
    pub const SERVICES: usize = 4;
    /// deployments
    pub const DEPLOYMENTS: usize = 7;
    /// daemonsets
    pub const DAEMONSETS: usize = 10;
    /// replicasets
    pub const REPLICASETS: usize = 8;
    /// poddisruptionbudgets
    pub const PDBS: usize = 11;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_name_the_right_resources() {
        assert_eq!(RESOURCES[idx::NAMESPACES].plural, "namespaces");
        assert_eq!(RESOURCES[idx::NODES].plural, "nodes");
        assert_eq!(RESOURCES[idx::PODS].plural, "pods");
        assert_eq!(RESOURCES[idx::EVENTS].plural, "events");
        assert_eq!(RESOURCES[idx::SERVICES].plural, "services");
        assert_eq!(RESOURCES[idx::DEPLOYMENTS].plural, "deployments");
        assert_eq!(RESOURCES[idx::REPLICASETS].plural, "replicasets");
        assert_eq!(RESOURCES[idx::PDBS].plural, "poddisruptionbudgets");
        assert_eq!(RESOURCES[idx::DAEMONSETS].plural, "daemonsets");
        assert_eq!(RESOURCES[idx::DEPLOYMENTS].qualified(), "deployments.apps");
    }
}
