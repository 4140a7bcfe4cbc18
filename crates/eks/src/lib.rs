//! Cluster access shared by the remediate, health-check and analyzer functions: the bearer token
//! aws-iam-authenticator makes (a presigned STS GetCallerIdentity URL), DescribeCluster for the
//! endpoint and CA (feature `aws`), and the kube clients of the clusters a function may reach, by
//! name, from EKS or from a kubeconfig's contexts; and the Deployment a pod belongs to.

pub mod cluster;
pub mod owner;
pub mod time;
pub mod token;

#[cfg(feature = "aws")]
pub use cluster::EksSettings;
pub use cluster::{
    AccessError, ClusterEndpoint, Clusters, CredentialSource, EksClients, eks_client,
    kubeconfig_client,
};
pub use owner::{OwnerError, owning_deployment};
pub use token::{EksToken, TokenError, presign_token};
