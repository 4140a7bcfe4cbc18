//! The kube client for the cluster a function acts on: from a kubeconfig (kube-sim, or any
//! cluster via KUBECONFIG), or from EKS (DescribeCluster for the endpoint and CA, cached for the
//! life of the Lambda container, and a presigned token refreshed before it expires). The action
//! code gets a `kube::Client` either way and cannot tell the difference.

use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderName, HeaderValue};
use thiserror::Error;
use tokio::sync::Mutex;

use crate::token::{EksToken, TokenError, presign_token};

/// Why no client could be made.
#[derive(Debug, Error)]
pub enum AccessError {
    /// The kubeconfig (or in-cluster config) could not be read.
    #[error("kubeconfig: {0}")]
    Kubeconfig(String),
    /// DescribeCluster failed or returned no endpoint or CA.
    #[error("EKS DescribeCluster {cluster}: {message}")]
    Describe {
        /// The cluster.
        cluster: String,
        /// What went wrong.
        message: String,
    },
    /// The cluster's CA is not a PEM certificate.
    #[error("cluster CA: {0}")]
    Certificate(String),
    /// No AWS credentials.
    #[error("AWS credentials: {0}")]
    Credentials(String),
    /// The token could not be made.
    #[error(transparent)]
    Token(#[from] TokenError),
    /// kube refused the configuration.
    #[error("kube client: {0}")]
    Client(String),
}

/// What DescribeCluster says about a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterEndpoint {
    /// The cluster name (signed into tokens).
    pub name: String,
    /// The region (for the STS endpoint).
    pub region: String,
    /// The API server URL.
    pub endpoint: String,
    /// The CA bundle, base64 of PEM, as DescribeCluster returns it.
    pub certificate_authority: String,
}

/// The DER certificates of a base64-encoded PEM bundle.
pub fn ca_certificates(base64_pem: &str) -> Result<Vec<Vec<u8>>, AccessError> {
    let pem = STANDARD
        .decode(base64_pem.trim())
        .map_err(|e| AccessError::Certificate(e.to_string()))?;
    let pem = String::from_utf8(pem).map_err(|e| AccessError::Certificate(e.to_string()))?;
    let mut certs = Vec::new();
    let mut body = String::new();
    let mut inside = false;
    for line in pem.lines().map(str::trim) {
        match line {
            "-----BEGIN CERTIFICATE-----" => {
                inside = true;
                body.clear();
            }
            "-----END CERTIFICATE-----" if inside => {
                certs.push(
                    STANDARD
                        .decode(&body)
                        .map_err(|e| AccessError::Certificate(e.to_string()))?,
                );
                inside = false;
            }
            l if inside => body.push_str(l),
            _ => {}
        }
    }
    if certs.is_empty() {
        return Err(AccessError::Certificate(
            "no PEM certificate in the bundle".into(),
        ));
    }
    Ok(certs)
}

/// How long one API request may take: a request the API server does not answer in time fails
/// as a transport error, which the workflow retries, instead of holding the Lambda until its
/// own timeout kills it mid-step.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);

/// A kube client for an EKS endpoint with a bearer token. kube's own retries of 429 are off: a
/// PodDisruptionBudget's 429 must reach the drain, which waits on its own deadline.
pub fn eks_client(
    cluster: &ClusterEndpoint,
    token: &EksToken,
) -> Result<kube::Client, AccessError> {
    let url = cluster
        .endpoint
        .parse()
        .map_err(|e: http::uri::InvalidUri| AccessError::Client(e.to_string()))?;
    let mut config = kube::Config::new(url);
    config.root_cert = Some(ca_certificates(&cluster.certificate_authority)?);
    let mut auth = HeaderValue::from_str(&format!("Bearer {}", token.token))
        .map_err(|e| AccessError::Client(e.to_string()))?;
    auth.set_sensitive(true);
    config
        .headers
        .push((HeaderName::from_static("authorization"), auth));
    config.default_retry = false;
    config.read_timeout = Some(REQUEST_TIMEOUT);
    config.write_timeout = Some(REQUEST_TIMEOUT);
    kube::Client::try_from(config).map_err(|e| AccessError::Client(e.to_string()))
}

/// A kube client from the kubeconfig (KUBECONFIG, ~/.kube/config) or the in-cluster config.
pub async fn kubeconfig_client() -> Result<kube::Client, AccessError> {
    let mut config = kube::Config::infer()
        .await
        .map_err(|e| AccessError::Kubeconfig(e.to_string()))?;
    config.default_retry = false;
    config.read_timeout = Some(REQUEST_TIMEOUT);
    config.write_timeout = Some(REQUEST_TIMEOUT);
    kube::Client::try_from(config).map_err(|e| AccessError::Client(e.to_string()))
}

/// Where credentials for a fresh token come from.
pub trait CredentialSource: Send + Sync {
    /// Current AWS credentials.
    fn credentials(
        &self,
    ) -> impl std::future::Future<Output = Result<aws_credential_types::Credentials, AccessError>> + Send;
}

/// A client per EKS cluster, rebuilt when its token is due for refresh.
pub struct EksClients<C> {
    cluster: ClusterEndpoint,
    credentials: C,
    cached: Mutex<Option<(kube::Client, EksToken)>>,
}

impl<C: CredentialSource> EksClients<C> {
    /// Clients for `cluster` (from DescribeCluster, once per container) signed with `credentials`.
    pub fn new(cluster: ClusterEndpoint, credentials: C) -> Self {
        EksClients {
            cluster,
            credentials,
            cached: Mutex::new(None),
        }
    }

    /// A client whose token is good for at least another minute.
    pub async fn client(&self, now: SystemTime) -> Result<kube::Client, AccessError> {
        let mut cached = self.cached.lock().await;
        if let Some((client, token)) = cached.as_ref()
            && !token.needs_refresh(now)
        {
            return Ok(client.clone());
        }
        let creds = self.credentials.credentials().await?;
        let token = presign_token(&self.cluster.name, &self.cluster.region, &creds, now)?;
        let client = eks_client(&self.cluster, &token)?;
        *cached = Some((client.clone(), token));
        Ok(client)
    }

    /// The cluster these clients reach.
    pub fn cluster(&self) -> &ClusterEndpoint {
        &self.cluster
    }
}

#[cfg(feature = "aws")]
pub mod aws {
    //! DescribeCluster (aws-sdk-eks) and the credentials Lambda gives its function in the
    //! environment. aws-config is left out on purpose: its credential chain brings the STS and SSO
    //! SDKs along, and the function must stay small (a Lambda has its role's keys in the env).

    use super::{AccessError, ClusterEndpoint, CredentialSource};
    use aws_credential_types::Credentials;

    /// Endpoint and CA of `name` from DescribeCluster.
    pub async fn describe_cluster(
        eks: &aws_sdk_eks::Client,
        name: &str,
        region: &str,
    ) -> Result<ClusterEndpoint, AccessError> {
        let err = |message: String| AccessError::Describe {
            cluster: name.to_owned(),
            message,
        };
        let out = eks
            .describe_cluster()
            .name(name)
            .send()
            .await
            .map_err(|e| err(aws_sdk_eks::error::DisplayErrorContext(e).to_string()))?;
        let cluster = out
            .cluster
            .ok_or_else(|| err("no cluster in the answer".into()))?;
        Ok(ClusterEndpoint {
            name: name.to_owned(),
            region: region.to_owned(),
            endpoint: cluster.endpoint.ok_or_else(|| err("no endpoint".into()))?,
            certificate_authority: cluster
                .certificate_authority
                .and_then(|c| c.data)
                .ok_or_else(|| err("no certificate authority".into()))?,
        })
    }

    /// An EKS client for `region` with `credentials`; `AWS_ENDPOINT_URL` (moto) when set.
    pub fn eks_client(region: &str, credentials: Credentials) -> aws_sdk_eks::Client {
        let mut config = aws_sdk_eks::Config::builder()
            .behavior_version(aws_sdk_eks::config::BehaviorVersion::latest())
            .region(aws_sdk_eks::config::Region::new(region.to_owned()))
            .credentials_provider(credentials);
        if let Ok(url) = std::env::var("AWS_ENDPOINT_URL") {
            config = config.endpoint_url(url);
        }
        aws_sdk_eks::Client::from_conf(config.build())
    }

    /// The role credentials Lambda puts in the environment.
    pub struct EnvCredentials;

    impl EnvCredentials {
        /// Reads AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.
        pub fn read() -> Result<Credentials, AccessError> {
            let var = |k: &str| {
                std::env::var(k).map_err(|_| AccessError::Credentials(format!("{k} is not set")))
            };
            Ok(Credentials::new(
                var("AWS_ACCESS_KEY_ID")?,
                var("AWS_SECRET_ACCESS_KEY")?,
                std::env::var("AWS_SESSION_TOKEN").ok(),
                None,
                "lambda-environment",
            ))
        }
    }

    impl CredentialSource for EnvCredentials {
        async fn credentials(&self) -> Result<Credentials, AccessError> {
            Self::read()
        }
    }
}

/// The cluster a function acts on: a kubeconfig's, or an EKS cluster's with renewed tokens.
pub enum Access {
    /// KUBECONFIG (kube-sim, or any cluster) or the in-cluster configuration.
    Kubeconfig(kube::Client),
    /// EKS, by DescribeCluster and IAM.
    #[cfg(feature = "aws")]
    Eks(EksClients<aws::EnvCredentials>),
}

impl Access {
    /// EKS when `EKS_CLUSTER_NAME` is set (the Lambda), else the kubeconfig.
    pub async fn from_env() -> Result<Access, AccessError> {
        #[cfg(feature = "aws")]
        if let Ok(name) = std::env::var("EKS_CLUSTER_NAME") {
            let region = std::env::var("AWS_REGION")
                .map_err(|_| AccessError::Credentials("AWS_REGION is not set".into()))?;
            let eks = aws::eks_client(&region, aws::EnvCredentials::read()?);
            let cluster = aws::describe_cluster(&eks, &name, &region).await?;
            return Ok(Access::Eks(EksClients::new(cluster, aws::EnvCredentials)));
        }
        Ok(Access::Kubeconfig(kubeconfig_client().await?))
    }

    /// A client good for this invocation.
    pub async fn client(&self) -> Result<kube::Client, AccessError> {
        match self {
            Access::Kubeconfig(c) => Ok(c.clone()),
            #[cfg(feature = "aws")]
            Access::Eks(clients) => clients.client(SystemTime::now()).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ca_bundles_decode_to_der_certificates() {
        // The decoder takes the DER out of the PEM armour; rustls parses the certificate itself.
        let der = (0u8..=200).collect::<Vec<_>>();
        let body = STANDARD.encode(&der);
        let (a, b) = body.split_at(64);
        let pem = format!(
            "-----BEGIN CERTIFICATE-----\n{a}\n{b}\n-----END CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n"
        );
        let certs = ca_certificates(&STANDARD.encode(pem)).unwrap();
        assert_eq!(certs, vec![der.clone(), der]);
        assert!(ca_certificates(&STANDARD.encode("not a pem")).is_err());
        assert!(ca_certificates("%%%").is_err());
    }
}
