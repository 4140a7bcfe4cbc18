//! `selfheal lab` and `selfheal approve` as an operator uses them: an alert posted to the lab
//! opens an incident that waits for approval, the request lands in the Slack file, and
//! `selfheal approve --reject` escalates it without touching the cluster.

#![allow(clippy::unwrap_used)] // a panic is the failure report

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use selfheal_testkit::{free_port, repo, until};
use serde_json::{Value, json};

struct Lab(Child);

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_waits_for_approval_and_a_rejection_escalates_it() {
    let dir = tempfile::tempdir().unwrap();
    let slack = dir.path().join("slack.jsonl");
    let (port, sim_port) = (free_port(), free_port());
    let lab_url = format!("http://127.0.0.1:{port}");
    let _lab = Lab(Command::new(env!("CARGO_BIN_EXE_selfheal"))
        .args([
            "lab",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--sim-listen",
            &format!("127.0.0.1:{sim_port}"),
        ])
        .args([
            "--token",
            "lab-token",
            "--slack-file",
            slack.to_str().unwrap(),
        ])
        .current_dir(repo(""))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap());
    let http = reqwest::Client::new();
    let starts = (chrono::Utc::now() - chrono::Duration::minutes(1)).to_rfc3339();
    let body = json!({"version": "4", "status": "firing", "receiver": "selfheal", "alerts": [{
        "status": "firing", "startsAt": starts,
        "labels": {"alertname": "KubeNodeNotReady", "severity": "critical", "cluster": "selfheal-dev",
                   "node": "ip-10-0-1-11.eu-west-1.compute.internal"}}]});
    let mut answer = None;
    for _ in 0..100 {
        if let Ok(r) = http
            .post(format!("{lab_url}/alerts"))
            .bearer_auth("lab-token")
            .json(&body)
            .send()
            .await
        {
            answer = Some(r);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let answer: Value = answer.expect("the lab listens").json().await.unwrap();
    assert_eq!(answer["alerts"][0]["outcome"], "accepted", "{answer}");
    assert_eq!(answer["alerts"][0]["decision"], "needs-approval");
    let id = answer["alerts"][0]["incident_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // The approval request, with its buttons, in the Slack file.
    let message: Value = until("the approval request", || {
        let text = std::fs::read_to_string(&slack).ok()?;
        text.lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .find(|m| {
                m["text"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("Approval needed"))
            })
    });
    assert_eq!(message["blocks"][3]["elements"][1]["action_id"], "reject");
    assert!(
        message["blocks"][2]["elements"][0]["text"]
            .as_str()
            .unwrap()
            .contains(&id)
    );

    let approve = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_selfheal"))
            .args(["approve", "--lab", &lab_url, "--as", "ana"])
            .args(args)
            .output()
            .unwrap()
    };
    let unknown = approve(&["inc-00000000000000000000000000000000"]);
    assert!(!unknown.status.success());
    let out = approve(&[&id, "--reject"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("rejected by cli:ana"));

    let mut incident = Value::Null;
    for _ in 0..300 {
        incident = http
            .get(format!("{lab_url}/incidents/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if !incident["closing"].is_null() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(incident["closing"]["outcome"], "escalated");
    let kinds: Vec<&str> = incident["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["opened", "error", "closed"]);
    assert!(
        incident["timeline"][1]["summary"]
            .as_str()
            .unwrap()
            .contains("rejected by cli:ana")
    );
    // The node was never cordoned.
    let node: Value = http
        .get(format!(
            "http://127.0.0.1:{sim_port}/api/v1/nodes/ip-10-0-1-11.eu-west-1.compute.internal"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_ne!(node["spec"]["unschedulable"], true);

    // Its report and postmortem draft, from the lab's record, history and Slack messages.
    let out_dir = dir.path().join("reports");
    let out = Command::new(env!("CARGO_BIN_EXE_selfheal"))
        .args(["report", "--all", "--lab", &lab_url, "--out"])
        .arg(&out_dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(out_dir.join(format!("{id}.html"))).unwrap();
    assert!(page.contains("<span class=\"badge escalated\">escalated</span>"));
    // The execution's states as bars, the approval wait among them; the request with its
    // buttons as Slack shows it; the audit trail's rejection.
    assert!(page.matches("<rect ").count() >= 3, "{page}");
    assert!(page.contains("><title>RequestApproval "), "{page}");
    assert!(
        page.contains("<span class=\"btn primary\">Approve</span>"),
        "{page}"
    );
    assert!(page.contains("rejected by cli:ana"), "{page}");
    let draft = std::fs::read_to_string(out_dir.join(format!("{id}.md"))).unwrap();
    assert!(draft.contains("selfheal escalated to a human"), "{draft}");
    let index = std::fs::read_to_string(out_dir.join("index.html")).unwrap();
    assert!(index.contains(&format!("href=\"{id}.html\"")), "{index}");
}

/// `selfheal evidence` reads kube-sim through the kubeconfig it wrote; the saved bundle replays
/// with `selfheal analyze`.
#[test]
fn evidence_is_gathered_saved_and_replayed() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let port = free_port();
    let server = format!("http://127.0.0.1:{port}");
    let _sim = Lab(Command::new(env!("CARGO_BIN_EXE_selfheal"))
        .args(["sim", "serve", "--listen", &format!("127.0.0.1:{port}")])
        .args([
            "--kubeconfig-out",
            kubeconfig.to_str().unwrap(),
            "--speed",
            "20",
        ])
        .current_dir(repo(""))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap());
    let selfheal = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_selfheal"))
            .args(args)
            .env("KUBECONFIG", &kubeconfig)
            .output()
            .unwrap()
    };
    until("kube-sim", || {
        selfheal(&["sim", "fault", "add", "--server", &server,
                   "kind: crashloop\nexit_code: 4\nlog: [\"fatal: schema v7 expected, found v6\"]\ntarget: {namespace: shop, deployment: backend}"])
            .status
            .success()
            .then_some(())
    });
    // 20x: a few seconds are a few minutes of crashes and back-offs.
    std::thread::sleep(Duration::from_secs(4));
    let out = selfheal(&["evidence", "deployment/backend", "-n", "shop"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bundle: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(bundle["deployment"]["metadata"]["name"], "backend");
    assert_eq!(bundle["pods"].as_array().unwrap().len(), 3);
    assert!(
        bundle["logs"]
            .to_string()
            .contains("fatal: schema v7 expected")
    );
    let saved = dir.path().join("bundle.json");
    std::fs::write(&saved, &out.stdout).unwrap();
    let out = selfheal(&["analyze", saved.to_str().unwrap(), "--format", "json"]);
    assert!(out.status.success());
    let finding: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(finding["cause"], "app-crash", "{finding}");
    assert!(
        finding["key_facts"].to_string().contains("exit code 4"),
        "{finding}"
    );
    let bad = selfheal(&["evidence", "statefulset/x"]);
    assert!(!bad.status.success());
}
