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
    async fn credentials(&self) -> Result<Credentials, AccessError> {
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
    let clients = EksClients::new(cluster(&url), Counting(calls.clone()));
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
    #[tokio::test]
    async fn describe_cluster_gives_the_endpoint_and_ca() {
        let moto = selfheal_testkit::moto().await;
        let url = moto.url.clone();
        let creds = Credentials::new("testing", "testing", None, None, "test");
        let eks = {
            let config = aws_sdk_eks::Config::builder()
                .behavior_version(aws_sdk_eks::config::BehaviorVersion::latest())
                .region(aws_sdk_eks::config::Region::new("eu-west-1"))
                .credentials_provider(creds)
                .endpoint_url(&url)
                .build();
            aws_sdk_eks::Client::from_conf(config)
        };
        eks.create_cluster()
            .name("prod-eu")
            .role_arn("arn:aws:iam::123456789012:role/eks")
            .resources_vpc_config(
                aws_sdk_eks::types::VpcConfigRequest::builder()
                    .subnet_ids("subnet-1")
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let c = selfheal_eks::cluster::aws::describe_cluster(&eks, "prod-eu", "eu-west-1")
            .await
            .unwrap();
        assert!(c.endpoint.starts_with("https://"), "{}", c.endpoint);
        assert!(!c.certificate_authority.is_empty());
        let missing = selfheal_eks::cluster::aws::describe_cluster(&eks, "nope", "eu-west-1")
            .await
            .unwrap_err();
        assert!(missing.to_string().contains("nope"), "{missing}");
    }
}
