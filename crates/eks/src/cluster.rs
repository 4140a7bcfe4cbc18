//! The kube clients for the clusters a function may act on, each chosen by the name the alert's
//! `cluster` label gives: a kubeconfig's contexts (kube-sim, or any cluster via KUBECONFIG), or
//! EKS clusters (DescribeCluster in the cluster's region for the endpoint and CA, cached for the
//! life of the Lambda container, and a presigned token refreshed before it expires). The action
//! code gets a `kube::Client` either way and cannot tell the difference; a cluster that is not
//! configured gets no client at all.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderName, HeaderValue};
use selfheal_core::{Classified, ErrorClass};
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
    /// The cluster is not one this function is configured to reach.
    #[error("cluster {cluster:?} is not one this function reaches (it reaches {known:?})")]
    UnknownCluster {
        /// The cluster asked for.
        cluster: String,
        /// The clusters configured.
        known: Vec<String>,
    },
    /// The clusters' configuration cannot be read.
    #[error("{0}")]
    Config(String),
}

/// An unknown cluster stays unknown; an unreachable one may answer on the next attempt.
impl Classified for AccessError {
    fn class(&self) -> ErrorClass {
        match self {
            AccessError::UnknownCluster { .. } | AccessError::Config(_) => ErrorClass::NonRetryable,
            _ => ErrorClass::Retryable,
        }
    }
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
    client_of(config)
}

/// A kube client from the kubeconfig (KUBECONFIG, ~/.kube/config) or the in-cluster config.
pub async fn kubeconfig_client() -> Result<kube::Client, AccessError> {
    let config = kube::Config::infer()
        .await
        .map_err(|e| AccessError::Kubeconfig(e.to_string()))?;
    client_of(config)
}

/// A client for `config` with the functions' request timeouts and without kube's own retries.
fn client_of(mut config: kube::Config) -> Result<kube::Client, AccessError> {
    config.default_retry = false;
    config.read_timeout = Some(REQUEST_TIMEOUT);
    config.write_timeout = Some(REQUEST_TIMEOUT);
    kube::Client::try_from(config).map_err(|e| AccessError::Client(e.to_string()))
}

/// Where credentials for a fresh token come from.
pub trait CredentialSource: Send + Sync {
    /// Current AWS credentials.
    fn credentials(&self) -> Result<aws_credential_types::Credentials, AccessError>;
}

/// A client for one EKS cluster, rebuilt when its token is due for refresh.
pub struct EksClients {
    cluster: ClusterEndpoint,
    credentials: Arc<dyn CredentialSource>,
    cached: Mutex<Option<(kube::Client, EksToken)>>,
}

impl EksClients {
    /// Clients for `cluster` (from DescribeCluster, once per container) signed with `credentials`.
    pub fn new(cluster: ClusterEndpoint, credentials: Arc<dyn CredentialSource>) -> Self {
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
        let creds = self.credentials.credentials()?;
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

    /// An EKS client for `region` with `credentials`, at `endpoint` when given (moto).
    pub fn eks_client(
        region: &str,
        credentials: Credentials,
        endpoint: Option<&str>,
    ) -> aws_sdk_eks::Client {
        let mut config = aws_sdk_eks::Config::builder()
            .behavior_version(aws_sdk_eks::config::BehaviorVersion::latest())
            .region(aws_sdk_eks::config::Region::new(region.to_owned()))
            .credentials_provider(credentials);
        if let Some(url) = endpoint {
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
        fn credentials(&self) -> Result<Credentials, AccessError> {
            Self::read()
        }
    }
}

/// The EKS clusters a function may reach: name -> region, and how to call AWS.
#[cfg(feature = "aws")]
pub struct EksSettings {
    /// Each cluster's region, by cluster name.
    pub regions: std::collections::BTreeMap<String, String>,
    /// Credentials for DescribeCluster and the tokens.
    pub credentials: Arc<dyn CredentialSource>,
    /// Another EKS endpoint (moto), for every region.
    pub endpoint: Option<String>,
}

enum Reach {
    /// A kubeconfig's contexts, each for the cluster it is named after.
    Kubeconfig(kube::config::Kubeconfig),
    /// EKS clusters by name, in their regions.
    #[cfg(feature = "aws")]
    Eks(EksSettings),
}

#[derive(Clone)]
enum Cached {
    Kubeconfig(kube::Client),
    #[cfg(feature = "aws")]
    Eks(Arc<EksClients>),
}

/// The clusters a function acts on, each reached by its name and only if configured.
pub struct Clusters {
    reach: Reach,
    cached: Mutex<HashMap<String, Cached>>,
}

impl Clusters {
    /// EKS when `EKS_CLUSTERS` is set (the Lambda: a JSON object of cluster name to region, as
    /// Terraform renders it), else the kubeconfig's contexts (KUBECONFIG, ~/.kube/config).
    pub fn from_env() -> Result<Clusters, AccessError> {
        #[cfg(feature = "aws")]
        if let Ok(json) = std::env::var("EKS_CLUSTERS") {
            let regions: std::collections::BTreeMap<String, String> = serde_json::from_str(&json)
                .map_err(|e| {
                AccessError::Config(format!(
                    "EKS_CLUSTERS must be a JSON object of cluster name to region: {e}"
                ))
            })?;
            if regions.is_empty() {
                return Err(AccessError::Config("EKS_CLUSTERS names no cluster".into()));
            }
            return Ok(Clusters::eks(EksSettings {
                regions,
                credentials: Arc::new(aws::EnvCredentials),
                endpoint: std::env::var("AWS_ENDPOINT_URL").ok(),
            }));
        }
        let kubeconfig =
            kube::config::Kubeconfig::read().map_err(|e| AccessError::Kubeconfig(e.to_string()))?;
        Ok(Clusters::kubeconfig(kubeconfig))
    }

    /// The clusters of `kubeconfig`: a context per cluster, named after it (kube-sim's), or
    /// named by the cluster's ARN, as `aws eks update-kubeconfig` writes it.
    pub fn kubeconfig(kubeconfig: kube::config::Kubeconfig) -> Clusters {
        Clusters::with(Reach::Kubeconfig(kubeconfig))
    }

    /// The EKS clusters of `settings`.
    #[cfg(feature = "aws")]
    pub fn eks(settings: EksSettings) -> Clusters {
        Clusters::with(Reach::Eks(settings))
    }

    fn with(reach: Reach) -> Clusters {
        Clusters {
            reach,
            cached: Mutex::new(HashMap::new()),
        }
    }

    /// The clusters configured, by name.
    pub fn names(&self) -> Vec<String> {
        match &self.reach {
            Reach::Kubeconfig(k) => k
                .contexts
                .iter()
                .map(|c| cluster_of_context(&c.name).to_owned())
                .collect(),
            #[cfg(feature = "aws")]
            Reach::Eks(s) => s.regions.keys().cloned().collect(),
        }
    }

    /// A client for `cluster`, good for this invocation; an unconfigured cluster is refused
    /// before anything is called.
    pub async fn client(&self, cluster: &str) -> Result<kube::Client, AccessError> {
        match self.cached(cluster).await? {
            Cached::Kubeconfig(client) => Ok(client),
            #[cfg(feature = "aws")]
            Cached::Eks(clients) => clients.client(SystemTime::now()).await,
        }
    }

    /// What DescribeCluster says of `cluster` (once per container).
    #[cfg(feature = "aws")]
    pub async fn endpoint(&self, cluster: &str) -> Result<ClusterEndpoint, AccessError> {
        match self.cached(cluster).await? {
            Cached::Eks(clients) => Ok(clients.cluster().clone()),
            Cached::Kubeconfig(_) => Err(AccessError::Config(format!(
                "cluster {cluster:?} is reached through a kubeconfig, not EKS"
            ))),
        }
    }

    /// The cluster's connection, made on first use and kept for the container's life.
    async fn cached(&self, cluster: &str) -> Result<Cached, AccessError> {
        let mut cached = self.cached.lock().await;
        if let Some(entry) = cached.get(cluster) {
            return Ok(entry.clone());
        }
        let made = self.connect(cluster).await?;
        cached.insert(cluster.to_owned(), made.clone());
        Ok(made)
    }

    async fn connect(&self, cluster: &str) -> Result<Cached, AccessError> {
        let unknown = || AccessError::UnknownCluster {
            cluster: cluster.to_owned(),
            known: self.names(),
        };
        match &self.reach {
            Reach::Kubeconfig(kubeconfig) => {
                let context = kubeconfig
                    .contexts
                    .iter()
                    .find(|c| cluster_of_context(&c.name) == cluster)
                    .ok_or_else(unknown)?;
                let options = kube::config::KubeConfigOptions {
                    context: Some(context.name.clone()),
                    ..Default::default()
                };
                let config = kube::Config::from_custom_kubeconfig(kubeconfig.clone(), &options)
                    .await
                    .map_err(|e| AccessError::Kubeconfig(e.to_string()))?;
                Ok(Cached::Kubeconfig(client_of(config)?))
            }
            #[cfg(feature = "aws")]
            Reach::Eks(settings) => {
                let region = settings.regions.get(cluster).ok_or_else(unknown)?;
                let eks = aws::eks_client(
                    region,
                    settings.credentials.credentials()?,
                    settings.endpoint.as_deref(),
                );
                let endpoint = aws::describe_cluster(&eks, cluster, region).await?;
                Ok(Cached::Eks(Arc::new(EksClients::new(
                    endpoint,
                    settings.credentials.clone(),
                ))))
            }
        }
    }
}

/// The cluster a kubeconfig context is for: its name, or the name in an EKS cluster ARN.
fn cluster_of_context(context: &str) -> &str {
    match context.strip_prefix("arn:") {
        Some(arn) if arn.contains(":eks:") => {
            arn.rsplit_once(":cluster/").map_or(context, |(_, n)| n)
        }
        _ => context,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_are_named_after_their_cluster_or_its_arn() {
        assert_eq!(cluster_of_context("selfheal-dev"), "selfheal-dev");
        assert_eq!(
            cluster_of_context("arn:aws:eks:eu-west-1:123456789012:cluster/prod-eu"),
            "prod-eu"
        );
        // Another service's ARN is a context name like any other.
        let iam = "arn:aws:iam::123456789012:role/cluster/x";
        assert_eq!(cluster_of_context(iam), iam);
    }

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
