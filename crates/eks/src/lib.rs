//! Cluster access shared by the remediate, health-check and analyzer functions: the bearer token
//! aws-iam-authenticator makes (a presigned STS GetCallerIdentity URL), DescribeCluster for the
//! endpoint and CA (feature `aws`), and the kube client, from EKS or from a kubeconfig.

pub mod cluster;
pub mod time;
pub mod token;

pub use cluster::{
    Access, AccessError, ClusterEndpoint, CredentialSource, EksClients, eks_client,
    kubeconfig_client,
};
pub use token::{EksToken, TokenError, presign_token};
