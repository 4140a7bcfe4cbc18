//! The exact requests each action sends, checked against a mock API server behind the real kube
//! client (kube-rs/controller-rs's ApiServerVerifier style): method, path and query, content type
//! and body, dry run included.

#![allow(clippy::unwrap_used)] // a panic is the failure report

use http::{Request, Response};
use kube::Client;
use kube::client::Body;
use selfheal_core::runbook::ReplicaBounds;
use selfheal_remediate::actions;
use serde_json::{Value, json};

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

/// Assertions on a request body.
type BodyCheck = Box<dyn Fn(&Value) + Send>;

/// One expected request and the answer the API server gives.
struct Exchange {
    method: &'static str,
    path_and_query: String,
    content_type: Option<&'static str>,
    body: Option<BodyCheck>,
    reply: Value,
}

fn get(path: &str, reply: Value) -> Exchange {
    Exchange {
        method: "GET",
        path_and_query: path.into(),
        content_type: None,
        body: None,
        reply,
    }
}

fn write(
    method: &'static str,
    path: &str,
    content_type: Option<&'static str>,
    body: impl Fn(&Value) + Send + 'static,
) -> Exchange {
    Exchange {
        method,
        path_and_query: path.into(),
        content_type,
        body: Some(Box::new(body)),
        reply: json!({}),
    }
}

/// Serves `exchanges` in order, asserting each request; returns when all were seen.
async fn verify(mut handle: Handle, exchanges: Vec<Exchange>) {
    for ex in exchanges {
        let (req, send) = handle
            .next_request()
            .await
            .expect("the action sent fewer requests than expected");
        assert_eq!(req.method().as_str(), ex.method);
        assert_eq!(
            req.uri().path_and_query().unwrap().as_str(),
            ex.path_and_query
        );
        if let Some(ct) = ex.content_type {
            assert_eq!(req.headers().get("content-type").unwrap(), ct);
        }
        let bytes = req.into_body().collect_bytes().await.unwrap();
        if let Some(check) = ex.body {
            let body: Value = serde_json::from_slice(&bytes).unwrap();
            check(&body);
        }
        send.send_response(
            Response::builder()
                .body(Body::from(serde_json::to_vec(&ex.reply).unwrap()))
                .unwrap(),
        );
    }
}

fn client() -> (Client, Handle) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    (Client::new(service, "default"), handle)
}

fn deployment(replicas: i32, revision: &str, image: &str) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "backend", "namespace": "shop", "uid": "d-1", "resourceVersion": "7", "annotations": {"deployment.kubernetes.io/revision": revision}},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "backend"}},
            "template": {"metadata": {"labels": {"app": "backend"}}, "spec": {"containers": [{"name": "backend", "image": image}]}}}})
}

const DEPLOY: &str = "/apis/apps/v1/namespaces/shop/deployments/backend";

#[tokio::test]
async fn restart_sends_kubectls_strategic_merge_patch() {
    let (client, handle) = client();
    let server = tokio::spawn(verify(
        handle,
        vec![
            get(DEPLOY, deployment(3, "2", "backend:2.1.0")),
            write(
                "PATCH",
                &format!("{DEPLOY}?"),
                Some("application/strategic-merge-patch+json"),
                |b| {
                    let at = &b["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"];
                    assert!(
                        at.as_str()
                            .is_some_and(|t| chrono::DateTime::parse_from_rfc3339(t).is_ok()),
                        "{b}"
                    );
                    assert_eq!(b.as_object().unwrap().len(), 1, "only the annotation: {b}");
                },
            ),
        ],
    ));
    actions::restart(&client, "shop", "backend", false)
        .await
        .unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn a_dry_run_scale_patches_the_scale_subresource_with_dry_run_all() {
    let (client, handle) = client();
    let scale = json!({"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "backend", "namespace": "shop"}, "spec": {"replicas": 3}});
    let server = tokio::spawn(verify(
        handle,
        vec![
            get(&format!("{DEPLOY}/scale"), scale),
            write(
                "PATCH",
                &format!("{DEPLOY}/scale?&dryRun=All"),
                Some("application/merge-patch+json"),
                |b| {
                    assert_eq!(b, &json!({"spec": {"replicas": 5}}));
                },
            ),
        ],
    ));
    let bounds = ReplicaBounds {
        min: 2,
        max: 10,
        max_step: 3,
    };
    let (change, _) = actions::scale(&client, "shop", "backend", 2, &bounds, true)
        .await
        .unwrap();
    assert_eq!(change.replicas, Some((3, 5)));
    server.await.unwrap();
}

#[tokio::test]
async fn rollback_sends_the_previous_template_without_its_hash_as_a_json_patch() {
    let (client, handle) = client();
    let rs = |name: &str, rev: &str, image: &str| {
        json!({"metadata": {"name": name, "namespace": "shop", "annotations": {"deployment.kubernetes.io/revision": rev},
                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "backend", "uid": "d-1", "controller": true}]},
            "spec": {"selector": {"matchLabels": {"app": "backend"}},
                "template": {"metadata": {"labels": {"app": "backend", "pod-template-hash": format!("h{rev}")}}, "spec": {"containers": [{"name": "backend", "image": image}]}}}})
    };
    let list = json!({"apiVersion": "apps/v1", "kind": "ReplicaSetList", "metadata": {}, "items": [rs("backend-h1", "1", "backend:2.0.0"), rs("backend-h2", "2", "backend:2.1.0")]});
    let server = tokio::spawn(verify(
        handle,
        vec![
            get(DEPLOY, deployment(3, "2", "backend:2.1.0")),
            get("/apis/apps/v1/namespaces/shop/replicasets?", list),
            write(
                "PATCH",
                &format!("{DEPLOY}?"),
                Some("application/json-patch+json"),
                |b| {
                    assert_eq!(
                        b,
                        &json!([{"op": "replace", "path": "/spec/template",
                        "value": {"metadata": {"labels": {"app": "backend"}}, "spec": {"containers": [{"name": "backend", "image": "backend:2.0.0"}]}}}])
                    );
                },
            ),
        ],
    ));
    let (change, _) = actions::rollback(&client, "shop", "backend", None, false)
        .await
        .unwrap();
    assert_eq!(change.revision, Some(("2".into(), "1".into())));
    server.await.unwrap();
}

#[tokio::test]
async fn cordon_patches_spec_unschedulable() {
    let (client, handle) = client();
    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}, "spec": {}});
    let server = tokio::spawn(verify(
        handle,
        vec![
            get("/api/v1/nodes/n1", node),
            write(
                "PATCH",
                "/api/v1/nodes/n1?",
                Some("application/merge-patch+json"),
                |b| {
                    assert_eq!(b, &json!({"spec": {"unschedulable": true}}));
                },
            ),
        ],
    ));
    actions::set_unschedulable(&client, "n1", true, false)
        .await
        .unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn a_dry_run_delete_carries_dry_run_in_its_delete_options() {
    let (client, handle) = client();
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "backend-h2-abcde", "namespace": "shop",
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "backend-h2", "uid": "r-2", "controller": true}]}});
    let server = tokio::spawn(verify(
        handle,
        vec![
            get("/api/v1/namespaces/shop/pods/backend-h2-abcde", pod),
            write(
                "DELETE",
                "/api/v1/namespaces/shop/pods/backend-h2-abcde?",
                None,
                |b| {
                    assert_eq!(b["dryRun"], json!(["All"]), "{b}");
                },
            ),
        ],
    ));
    actions::delete_pod(&client, "shop", "backend-h2-abcde", true)
        .await
        .unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn uncordon_clears_unschedulable_and_the_drain_lock() {
    let (client, handle) = client();
    let node = json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}, "spec": {"unschedulable": true}});
    let server = tokio::spawn(verify(
        handle,
        vec![
            get("/api/v1/nodes/n1", node),
            write(
                "PATCH",
                "/api/v1/nodes/n1?",
                Some("application/merge-patch+json"),
                |b| {
                    assert_eq!(
                        b,
                        &json!({"spec": {"unschedulable": false}, "metadata": {"annotations": {"selfheal.dev/draining": null}}})
                    );
                },
            ),
        ],
    ));
    actions::set_unschedulable(&client, "n1", false, false)
        .await
        .unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn a_dry_run_drain_takes_the_lock_cordons_conditionally_then_evicts_all_but_daemonset_pods() {
    let (client, handle) = client();
    let node = |name: &str| json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "resourceVersion": "41"}, "spec": {}});
    let pod = |name: &str, owner: &str| {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "shop",
            "ownerReferences": [{"apiVersion": "apps/v1", "kind": owner, "name": "o", "uid": "u", "controller": true}]}, "spec": {"nodeName": "n1"}})
    };
    let pods = json!({"apiVersion": "v1", "kind": "PodList", "metadata": {}, "items": [pod("backend-1", "ReplicaSet"), pod("log-agent-1", "DaemonSet")]});
    let server = tokio::spawn(verify(
        handle,
        vec![
            // The lock first: a create the API server lets only one caller win.
            write(
                "POST",
                "/api/v1/namespaces/selfheal/configmaps?&dryRun=All",
                Some("application/json"),
                |b| {
                    assert_eq!(b["metadata"]["name"], "selfheal-drain-lock");
                    assert_eq!(b["data"]["node"], "n1");
                },
            ),
            get("/api/v1/nodes/n1", node("n1")),
            write(
                "PATCH",
                "/api/v1/nodes/n1?&dryRun=All",
                Some("application/merge-patch+json"),
                |b| {
                    assert_eq!(b["spec"], json!({"unschedulable": true}));
                    assert_eq!(
                        b["metadata"]["resourceVersion"], "41",
                        "conditional on the node as read"
                    );
                    assert!(b["metadata"]["annotations"]["selfheal.dev/draining"].is_string());
                },
            ),
            get("/api/v1/pods?&fieldSelector=spec.nodeName%3Dn1", pods),
            write(
                "POST",
                "/api/v1/namespaces/shop/pods/backend-1/eviction?&dryRun=All",
                Some("application/json"),
                |b| {
                    // kube's Eviction names the pod and nothing else (no apiVersion or kind).
                    assert_eq!(b["metadata"], json!({"name": "backend-1"}));
                },
            ),
        ],
    ));
    let timing = actions::DrainTiming {
        timeout: std::time::Duration::from_secs(5),
        retry_every: std::time::Duration::from_millis(10),
    };
    let (change, _) = actions::drain(&client, "n1", timing, true).await.unwrap();
    assert_eq!(
        change.pods,
        vec!["shop/backend-1".to_string()],
        "the DaemonSet pod is skipped"
    );
    server.await.unwrap();
}
