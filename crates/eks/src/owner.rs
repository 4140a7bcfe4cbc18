//! The workload a pod belongs to, asked of the cluster: remediate acts on it and health-check
//! watches it, so both must find the same one.

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Client;
use kube::api::Api;
use selfheal_core::target::pod_replicaset;
use thiserror::Error;

/// Why a pod's deployment could not be found.
#[derive(Debug, Error)]
pub enum OwnerError {
    /// The cluster says the pod or its ReplicaSet has no such controller (a bare pod, a
    /// StatefulSet's, a ReplicaSet made by hand).
    #[error("{0}")]
    NotOwned(String),
    /// The API server answered with an error or could not be reached.
    #[error(transparent)]
    Kube(#[from] kube::Error),
}

/// The Deployment that controls a pod, through its ReplicaSet. A pod gone since the alert
/// (restarted, rescheduled) is found through the ReplicaSet its name gives, which must still say
/// which Deployment controls it.
pub async fn owning_deployment(client: &Client, ns: &str, pod: &str) -> Result<String, OwnerError> {
    let replicaset = match Api::<Pod>::namespaced(client.clone(), ns)
        .get_opt(pod)
        .await?
    {
        Some(p) => controller_of(&p.metadata, "ReplicaSet").ok_or_else(|| {
            OwnerError::NotOwned(format!("pod {ns}/{pod} is not owned by a ReplicaSet"))
        })?,
        None => pod_replicaset(pod).map(str::to_owned).ok_or_else(|| {
            OwnerError::NotOwned(format!(
                "pod {ns}/{pod} is gone and its name names no ReplicaSet"
            ))
        })?,
    };
    let rs = Api::<ReplicaSet>::namespaced(client.clone(), ns)
        .get(&replicaset)
        .await?;
    controller_of(&rs.metadata, "Deployment").ok_or_else(|| {
        OwnerError::NotOwned(format!(
            "replicaset {ns}/{replicaset} is not owned by a Deployment"
        ))
    })
}

/// The object of `kind` that controls the object with `meta`.
pub fn controller_of(meta: &ObjectMeta, kind: &str) -> Option<String> {
    meta.owner_references
        .as_ref()?
        .iter()
        .find(|o| o.controller == Some(true) && o.kind == kind)
        .map(|o| o.name.clone())
}
