//! The lab's sample app for real: kube-sim runs chaos/clusters/three-tier-live.yaml (the k8s/base
//! manifests) with each container a process of this crate's binary. Requests flow through the
//! three tiers over kube-sim's Service proxy, Debian's Prometheus discovers the pods from
//! kube-sim with observability/'s scrape job, and kube-sim's faults reach the processes: a
//! latency fault moves the real histogram, a crash fault and an OOM kill are processes exiting,
//! and a deleted pod's process is stopped.

#![allow(clippy::unwrap_used)] // a panic is the failure report

use std::collections::BTreeMap;

use selfheal_kube_sim::{Scenario, Sim};
use selfheal_testkit::{eventually_async, repo};
use serde_json::{Value, json};

/// The live cluster, served in real time, with every pod ready.
async fn live() -> (Sim, String) {
    let mut scenario = Scenario::from_file(&repo("chaos/clusters/three-tier-live.yaml")).unwrap();
    let processes = scenario.processes.as_mut().unwrap();
    processes.binary = Some(env!("CARGO_BIN_EXE_sample-app").into());
    // Short back-offs keep the crash tests quick; the kubelet's doubling is the same.
    scenario.timing.backoff_seconds = 1;
    let sim = Sim::settled_now(&scenario).unwrap();
    let url = sim.spawn(1.0).await.unwrap();
    let want = pods(&url).await.len();
    assert_eq!(want, 8, "3 frontends, 3 backends, 2 databases");
    eventually_async("every pod ready", || async {
        let ready = pods(&url).await.iter().filter(|p| ready(p)).count();
        (ready == want && sim.world().process_ids().len() == want).then_some(())
    })
    .await;
    (sim, url)
}

async fn get(url: &str) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}

async fn pods(sim: &str) -> Vec<Value> {
    let list = get(&format!("{sim}/api/v1/namespaces/shop/pods")).await;
    list["items"].as_array().unwrap().clone()
}

fn ready(pod: &Value) -> bool {
    pod["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// The URL of a Service (its cluster IP and port).
async fn service(sim: &str, name: &str) -> String {
    let svc = get(&format!("{sim}/api/v1/namespaces/shop/services/{name}")).await;
    format!(
        "http://{}:{}",
        svc["spec"]["clusterIP"].as_str().unwrap(),
        svc["spec"]["ports"][0]["port"]
    )
}

async fn fault(sim: &str, fault: Value) -> String {
    let r: Value = reqwest::Client::new()
        .post(format!("{sim}/sim/faults"))
        .json(&fault)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    r["id"].as_str().unwrap().to_owned()
}

/// One instant query's samples: labels to value.
async fn query(prometheus: &str, q: &str) -> Vec<(BTreeMap<String, String>, f64)> {
    let url =
        reqwest::Url::parse_with_params(&format!("{prometheus}/api/v1/query"), &[("query", q)])
            .unwrap();
    let r = get(url.as_str()).await;
    r["data"]["result"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|s| {
            let labels = serde_json::from_value(s["metric"].clone()).unwrap();
            (labels, s["value"][1].as_str().unwrap().parse().unwrap())
        })
        .collect()
}

/// A container's last termination, once it has one.
fn terminated(pod: &Value) -> Option<(i64, String)> {
    let t = &pod["status"]["containerStatuses"][0]["lastState"]["terminated"];
    Some((t["exitCode"].as_i64()?, t["reason"].as_str()?.to_owned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_cross_three_tiers_and_prometheus_sees_a_latency_fault_in_the_histogram() {
    let (sim, url) = live().await;
    for p in pods(&url).await {
        let ip = p["status"]["podIP"].as_str().unwrap();
        assert!(ip.starts_with("127."), "a pod IP the process binds: {ip}");
    }
    let frontend = service(&url, "frontend").await;
    let page = get(&format!("{frontend}/")).await;
    assert_eq!(page["backend"]["db"]["rows"][1]["name"], "teapot", "{page}");
    assert_eq!(page["backend"]["db"]["trace_id"], page["trace_id"]);

    // The repo's scrape job, pointed at this sim.
    let text = std::fs::read_to_string(repo("observability/prometheus/lab-pods.yml")).unwrap();
    let mut job: Value = serde_saphyr::from_str(&text).unwrap();
    job["http_sd_configs"][0]["url"] = json!(format!("{url}/sim/sd/pods"));
    job["http_sd_configs"][0]["refresh_interval"] = json!("1s");
    job["scrape_interval"] = json!("1s");
    let config = json!({"global": {"scrape_interval": "1s"}, "scrape_configs": [job]});
    let prometheus = selfheal_testkit::prometheus(&config.to_string()).await;
    let up = eventually_async("Prometheus scraping every pod it discovered", || async {
        let up = query(&prometheus.url, r#"sum by (service) (up{job="pods"})"#).await;
        let by: BTreeMap<String, f64> = up
            .into_iter()
            .map(|(l, v)| (l["service"].clone(), v))
            .collect();
        (by.values().sum::<f64>() == 8.0).then_some(by)
    })
    .await;
    assert_eq!(
        up,
        BTreeMap::from([
            ("backend".into(), 3.0),
            ("database".into(), 2.0),
            ("frontend".into(), 3.0)
        ])
    );

    let slow = r#"sum(http_request_duration_seconds_count{service="backend"}) - sum(http_request_duration_seconds_bucket{service="backend",le="0.5"})"#;
    let served = r#"sum(http_request_duration_seconds_count{service="backend"})"#;
    for _ in 0..10 {
        get(&format!("{frontend}/")).await;
    }
    let before = eventually_async("the requests scraped", || async {
        let n = query(&prometheus.url, served).await.first()?.1;
        (n >= 11.0).then_some(n)
    })
    .await;
    assert_eq!(query(&prometheus.url, slow).await[0].1, 0.0, "fast before");

    fault(
        &url,
        json!({"kind": "latency", "seconds": 0.6, "target": {"namespace": "shop", "deployment": "backend"}}),
    )
    .await;
    let slow_seen = eventually_async("slow requests in the scraped histogram", || async {
        get(&format!("{frontend}/")).await;
        let n = query(&prometheus.url, slow).await.first()?.1;
        (n > 0.0).then_some(n)
    })
    .await;
    let after = query(&prometheus.url, served).await[0].1;
    assert!(
        after > before && slow_seen >= 1.0,
        "{before} {after} {slow_seen}"
    );
    sim.shutdown();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashes_and_oom_kills_are_processes_exiting_and_every_process_is_stopped() {
    let (sim, url) = live().await;
    fault(
        &url,
        json!({"kind": "crashloop", "target": {"namespace": "shop", "deployment": "database"}}),
    )
    .await;
    fault(
        &url,
        json!({"kind": "oom-killed", "target": {"namespace": "shop", "deployment": "backend"}}),
    )
    .await;
    let by_app = |app: &'static str| {
        let url = url.clone();
        async move {
            pods(&url)
                .await
                .into_iter()
                .filter(|p| p["metadata"]["labels"]["app"] == app)
                .collect::<Vec<_>>()
        }
    };
    // The crash switch kills the running process, and each start after exits 1 with its log.
    let db = eventually_async("a database container that crashed on start", || async {
        by_app("database")
            .await
            .into_iter()
            .find(|p| terminated(p) == Some((1, "Error".into())))
    })
    .await;
    let name = db["metadata"]["name"].as_str().unwrap();
    let previous = reqwest::get(format!(
        "{url}/api/v1/namespaces/shop/pods/{name}/log?previous=true"
    ))
    .await
    .unwrap()
    .text()
    .await
    .unwrap();
    assert!(previous.contains("FAULT_CRASH_ON_START"), "{previous}");
    // Memory grows past the 256Mi limit: kube-sim kills the process, 137 OOMKilled.
    eventually_async("a backend container OOM-killed", || async {
        by_app("backend")
            .await
            .iter()
            .any(|p| terminated(p) == Some((137, "OOMKilled".into())))
            .then_some(())
    })
    .await;

    // A deleted pod's process is stopped (SIGTERM), and its replacement starts one.
    let frontends = by_app("frontend").await;
    let before = sim.world().process_ids();
    let gone = frontends[0]["metadata"]["name"].as_str().unwrap();
    let status = reqwest::Client::new()
        .delete(format!("{url}/api/v1/namespaces/shop/pods/{gone}"))
        .send()
        .await
        .unwrap()
        .status();
    assert!(status.is_success(), "{status}");
    let stopped = eventually_async("the deleted pod's process stopped", || async {
        let now = sim.world().process_ids();
        let stopped: Vec<u32> = before
            .iter()
            .filter(|p| !now.contains(p))
            .copied()
            .collect();
        let exited = stopped
            .iter()
            .all(|p| !std::path::Path::new(&format!("/proc/{p}")).exists());
        (!stopped.is_empty() && exited).then_some(stopped)
    })
    .await;
    assert!(!stopped.is_empty());

    let running = sim.world().process_ids();
    assert!(!running.is_empty());
    sim.shutdown();
    assert!(sim.world().process_ids().is_empty());
    // The kubelet keeps stepping while kube-sim exits: it must not start them again.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert!(
        sim.world().process_ids().is_empty(),
        "restarted after shutdown"
    );
    for pid in running {
        assert!(
            !std::path::Path::new(&format!("/proc/{pid}")).exists(),
            "process {pid} still there after shutdown"
        );
    }
}
