//! EKS clients: the token rides in the Authorization header, is reused while fresh and renewed
//! after fourteen minutes; DescribeCluster against a moto server (feature `aws`).

#![allow(clippy::unwrap_used)] // a panic is the failure report

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use base64::Engine;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ListParams};
use selfheal_eks::{AccessError, ClusterEndpoint, CredentialSource, EksClients};

/// Counts how often fresh credentials were asked for.
struct Counting(Arc<AtomicUsize>);

impl CredentialSource for Counting {
    fn credentials(&self) -> Result<Credentials, AccessError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        Ok(Credentials::new(
            "AKIDEXAMPLE",
            "secret",
            Some("session".into()),
            None,
            "test",
        ))
    }
}

/// An API server stand-in that records each request's Authorization header.
fn recording_server() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let out = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if line.trim().is_empty() {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("authorization: ") {
                    out.lock().unwrap().push(v.trim().to_owned());
                }
            }
            let body = r#"{"apiVersion":"v1","kind":"NamespaceList","metadata":{},"items":[]}"#;
            write!(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}", body.len()).unwrap();
        }
    });
    (format!("http://{addr}"), seen)
}

fn cluster(endpoint: &str) -> ClusterEndpoint {
    // A self-signed public certificate made with openssl for this test (its key was discarded):
    // rustls checks the CA when the client is built.
    let pem = include_str!("fixtures/test-ca.pem");
    ClusterEndpoint {
        name: "prod-eu".into(),
        region: "eu-west-1".into(),
        endpoint: endpoint.into(),
        certificate_authority: base64::engine::general_purpose::STANDARD.encode(pem),
    }
}

#[tokio::test]
async fn the_token_is_sent_reused_while_fresh_and_renewed_after_fourteen_minutes() {
    let (url, seen) = recording_server();
    let calls = Arc::new(AtomicUsize::new(0));
    let clients = EksClients::new(cluster(&url), Arc::new(Counting(calls.clone())));
    let t0 = SystemTime::now();
    let client = clients.client(t0).await.unwrap();
    Api::<Namespace>::all(client)
        .list(&ListParams::default())
        .await
        .unwrap();
    let header = seen.lock().unwrap()[0].clone();
    assert!(header.starts_with("bearer k8s-aws-v1."), "{header}");
    clients
        .client(t0 + Duration::from_secs(13 * 60))
        .await
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 1, "reused while fresh");
    let client = clients
        .client(t0 + Duration::from_secs(14 * 60))
        .await
        .unwrap();
    assert_eq!(calls.load(Ordering::SeqCst), 2, "renewed after 14 minutes");
    Api::<Namespace>::all(client)
        .list(&ListParams::default())
        .await
        .unwrap();
    let second = seen.lock().unwrap()[1].clone();
    assert_ne!(header, second, "a new token");
}

#[cfg(feature = "aws")]
mod moto {
    use super::*;
    use selfheal_core::{Classified, ErrorClass};
    use selfheal_eks::cluster::aws::{describe_cluster, eks_client};
    use selfheal_eks::{Clusters, EksSettings};

    fn testing() -> Credentials {
        Credentials::new("testing", "testing", None, None, "test")
    }

    async fn create(eks: &aws_sdk_eks::Client, name: &str) {
        eks.create_cluster()
            .name(name)
            .role_arn("arn:aws:iam::123456789012:role/eks")
            .resources_vpc_config(
                aws_sdk_eks::types::VpcConfigRequest::builder()
                    .subnet_ids("subnet-1")
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn describe_cluster_gives_the_endpoint_and_ca() {
        let moto = selfheal_testkit::moto().await;
        let eks = eks_client("eu-west-1", testing(), Some(&moto.url));
        create(&eks, "prod-eu").await;
        let c = describe_cluster(&eks, "prod-eu", "eu-west-1")
            .await
            .unwrap();
        assert!(c.endpoint.starts_with("https://"), "{}", c.endpoint);
        assert!(!c.certificate_authority.is_empty());
        let missing = describe_cluster(&eks, "nope", "eu-west-1")
            .await
            .unwrap_err();
        assert!(missing.to_string().contains("nope"), "{missing}");
    }

    /// Counts the credentials asked for: each DescribeCluster and token takes one.
    struct Testing(Arc<AtomicUsize>);

    impl CredentialSource for Testing {
        fn credentials(&self) -> Result<Credentials, AccessError> {
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(testing())
        }
    }

    #[tokio::test]
    async fn each_cluster_is_described_in_its_own_region_and_only_configured_ones() {
        // Two clusters of the same name in two regions: only the configured region's counts.
        let moto = selfheal_testkit::moto().await;
        create(
            &eks_client("eu-west-1", testing(), Some(&moto.url)),
            "prod-eu",
        )
        .await;
        create(
            &eks_client("us-east-1", testing(), Some(&moto.url)),
            "prod-us",
        )
        .await;
        create(
            &eks_client("eu-west-1", testing(), Some(&moto.url)),
            "prod-us",
        )
        .await;
        let calls = Arc::new(AtomicUsize::new(0));
        let clusters = Clusters::eks(EksSettings {
            regions: [("prod-eu", "eu-west-1"), ("prod-us", "us-east-1")]
                .map(|(c, r)| (c.to_owned(), r.to_owned()))
                .into(),
            credentials: Arc::new(Testing(calls.clone())),
            endpoint: Some(moto.url.clone()),
        });
        assert_eq!(clusters.names(), ["prod-eu", "prod-us"]);
        let eu = clusters.endpoint("prod-eu").await.unwrap();
        let us = clusters.endpoint("prod-us").await.unwrap();
        assert_eq!(
            (eu.region.as_str(), us.region.as_str()),
            ("eu-west-1", "us-east-1")
        );
        // moto's endpoints name the region the cluster was created in.
        assert!(
            eu.endpoint.contains(".eu-west-1.eks.amazonaws.com"),
            "{}",
            eu.endpoint
        );
        assert!(
            us.endpoint.contains(".us-east-1.eks.amazonaws.com"),
            "{}",
            us.endpoint
        );
        // Described once per container.
        let asked = calls.load(Ordering::SeqCst);
        assert_eq!(clusters.endpoint("prod-eu").await.unwrap(), eu);
        assert_eq!(calls.load(Ordering::SeqCst), asked);
        // A cluster that is not configured is refused before any call, and not retried.
        let Err(err) = clusters.client("prod-ap").await else {
            panic!("a client for a cluster that is not configured");
        };
        assert!(
            matches!(err, AccessError::UnknownCluster { ref cluster, ref known } if cluster == "prod-ap" && known.len() == 2),
            "{err}"
        );
        assert_eq!(err.class(), ErrorClass::NonRetryable);
        assert_eq!(calls.load(Ordering::SeqCst), asked);
        // One that is configured but does not exist is an error worth retrying.
        let clusters = Clusters::eks(EksSettings {
            regions: [("gone".to_owned(), "eu-west-1".to_owned())].into(),
            credentials: Arc::new(Testing(calls.clone())),
            endpoint: Some(moto.url.clone()),
        });
        let Err(err) = clusters.client("gone").await else {
            panic!("a client for a cluster EKS does not have");
        };
        assert_eq!(err.class(), ErrorClass::Retryable, "{err}");
    }
}
