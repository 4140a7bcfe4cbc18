//! Chaos experiments against a running lab: inject a scenario's faults into kube-sim, then follow
//! the alert through Prometheus and the incident through the lab until it closes, and measure
//! fault to firing, alert to incident, incident to healthy and fault to healthy. With hands off,
//! the kill switch keeps selfheal from acting: the same fault left alone, for comparison.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams};
use selfheal_aws::audit::{Closing, TimelineEvent};
use selfheal_core::audit::Outcome;
use selfheal_core::target::pod_owner;
use selfheal_kube_sim::{Fault, FaultKind};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::serve::IncidentSummary;

/// Where chaos scenarios live, relative to the repository.
pub const SCENARIOS: &str = "chaos/scenarios";

/// Why a chaos run could not start or follow its scenario.
#[derive(Debug, thiserror::Error)]
pub enum ChaosError {
    /// The scenario file cannot be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// No such scenario.
    #[error("no chaos scenario {0:?}: give a file, or a name in {SCENARIOS} (selfheal chaos list)")]
    NotFound(String),
    /// The scenario is malformed.
    #[error("chaos scenario {name}: {message}")]
    Invalid {
        /// The scenario.
        name: String,
        /// What is wrong.
        message: String,
    },
    /// A part of the lab did not answer.
    #[error("{what} at {url}: {message}")]
    Unreachable {
        /// kube-sim, the lab or Prometheus.
        what: &'static str,
        /// Where.
        url: String,
        /// Why.
        message: String,
    },
    /// The release could not be made.
    #[error("releasing {image} to deployment {deployment}: {source}")]
    Release {
        /// The image.
        image: String,
        /// The deployment, `namespace/name`.
        deployment: String,
        /// Why (boxed: kube's error is large, and this one is rare).
        source: Box<kube::Error>,
    },
}

/// A chaos scenario: what breaks in the lab's cluster, and what selfheal should do about it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Its name: the file's stem.
    #[serde(skip)]
    pub name: String,
    /// What goes wrong, for people.
    pub description: String,
    /// The Chaos Mesh experiment (chaos/experiments/) that does on EKS what this does in the lab.
    #[serde(default)]
    pub mirrors: Option<String>,
    /// kube-sim faults, injected together (and cleared when the run ends).
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// A release made with the faults, as `kubectl set image` makes it.
    #[serde(default)]
    pub release: Option<Release>,
    /// Run with selfheal's global dry run on: nothing may change, and the incident closes as a
    /// dry run whose audit says what would have run. In a running lab the kill switch stands in
    /// for it (the same effect on every incident).
    #[serde(default)]
    pub dry_run: bool,
    /// What selfheal should see and do.
    pub expect: Expect,
}

/// A new image for one container of a deployment.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Release {
    /// The namespace.
    pub namespace: String,
    /// The deployment.
    pub deployment: String,
    /// The container [default: the one named after the deployment].
    #[serde(default)]
    pub container: Option<String>,
    /// The image.
    pub image: String,
}

/// The alert that should fire, on which workload, and the runbook that should answer it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// The alert's name (a rule in observability/prometheus/rules).
    pub alert: String,
    /// The runbook its incident runs.
    pub runbook: String,
    /// The workload's namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// The deployment the alert is about (its pods' alerts count).
    #[serde(default)]
    pub deployment: Option<String>,
    /// The node the alert is about.
    #[serde(default)]
    pub node: Option<String>,
    /// How the incident should close: remediated, or escalated for a fault no runbook fixes.
    #[serde(default = "remediated")]
    pub outcome: Outcome,
}

fn remediated() -> Outcome {
    Outcome::Remediated
}

impl Release {
    /// `kubectl set image`: a strategic merge of the container's image, through `client`.
    pub async fn apply(&self, client: &kube::Client) -> Result<(), ChaosError> {
        let container = self.container.as_deref().unwrap_or(&self.deployment);
        let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": container, "image": self.image}]}}}});
        Api::<Deployment>::namespaced(client.clone(), &self.namespace)
            .patch(
                &self.deployment,
                &PatchParams::default(),
                &Patch::Strategic(patch),
            )
            .await
            .map_err(|e| self.failed(e))?;
        Ok(())
    }

    fn failed(&self, source: kube::Error) -> ChaosError {
        ChaosError::Release {
            image: self.image.clone(),
            deployment: format!("{}/{}", self.namespace, self.deployment),
            source: Box::new(source),
        }
    }
}

impl Scenario {
    /// Parses a scenario named `name`.
    pub fn from_yaml(name: &str, text: &str) -> Result<Scenario, ChaosError> {
        let invalid = |message: String| ChaosError::Invalid {
            name: name.to_owned(),
            message,
        };
        let mut scenario: Scenario =
            serde_saphyr::from_str(text).map_err(|e| invalid(e.to_string()))?;
        scenario.name = name.to_owned();
        if scenario.faults.is_empty() && scenario.release.is_none() {
            return Err(invalid(
                "nothing to inject: no faults and no release".into(),
            ));
        }
        if let Some(why) = scenario.faults.iter().find_map(Fault::invalid) {
            return Err(invalid(why));
        }
        let e = &scenario.expect;
        if e.deployment.is_some() == e.node.is_some() {
            return Err(invalid("expect names one deployment or one node".into()));
        }
        if e.deployment.is_some() && e.namespace.is_none() {
            return Err(invalid("expect: a deployment needs its namespace".into()));
        }
        Ok(scenario)
    }

    /// `spec` as a file, else as a name in `dir`.
    pub fn load(spec: &str, dir: &Path) -> Result<Scenario, ChaosError> {
        let given = Path::new(spec);
        let path = if given.is_file() {
            given.to_path_buf()
        } else {
            let named = dir.join(format!("{spec}.yaml"));
            if !named.is_file() {
                return Err(ChaosError::NotFound(spec.to_owned()));
            }
            named
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ChaosError::Read {
            path: path.clone(),
            source,
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| spec.to_owned());
        Scenario::from_yaml(&name, &text)
    }

    /// Every scenario in `dir`, by name.
    pub fn all(dir: &Path) -> Result<Vec<Scenario>, ChaosError> {
        let read = |source| ChaosError::Read {
            path: dir.to_path_buf(),
            source,
        };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(read)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|p| Scenario::load(&p.to_string_lossy(), dir))
            .collect()
    }

    /// Whether an alert with these labels is the one this scenario expects: its name, meant for
    /// automation (`selfheal: auto`; a ticket of the same name goes to people and may outlast
    /// the page), on the expected workload.
    pub fn matches_alert(&self, labels: &serde_json::Map<String, Value>) -> bool {
        let label = |k: &str| labels.get(k).and_then(Value::as_str);
        let e = &self.expect;
        if label("alertname") != Some(e.alert.as_str()) || label("selfheal") != Some("auto") {
            return false;
        }
        if let Some(node) = &e.node {
            return label("node") == Some(node);
        }
        label("namespace") == e.namespace.as_deref()
            && (label("deployment") == e.deployment.as_deref()
                || label("pod")
                    .and_then(pod_owner)
                    .is_some_and(|o| Some(o.name.as_str()) == e.deployment.as_deref()))
    }

    /// Whether `incident` answers this scenario's alert.
    pub fn matches_incident(&self, incident: &IncidentSummary) -> bool {
        let e = &self.expect;
        let t = &incident.target;
        let object = t.owner.as_ref().map_or(t.name.as_str(), |o| &o.name);
        incident.alertname == e.alert
            && match (&e.node, &e.deployment) {
                (Some(node), _) => t.namespace.is_none() && t.name == *node,
                (None, Some(d)) => t.namespace == e.namespace && object == d,
                (None, None) => false,
            }
    }
}

/// Where the lab's parts answer.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// `selfheal lab` (GET /incidents).
    pub lab: String,
    /// kube-sim (POST /sim/faults, the Kubernetes API).
    pub sim: String,
    /// Prometheus (GET /api/v1/alerts).
    pub prometheus: String,
}

/// When a run stops following.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Until {
    /// The incident opened: the alert fired and reached selfheal (for a live demo, or a fault
    /// whose runbook takes long).
    Opened,
    /// The incident closed (with hands off: the alert fired and the incident closed).
    Closed,
    /// Also the alert resolved.
    Resolved,
}

/// How a run goes.
#[derive(Debug, Clone)]
pub struct Options {
    /// Follow the run; without it the faults are injected and left in place.
    pub wait: bool,
    /// Stop following after this long.
    pub timeout: Duration,
    /// Turn the kill switch on first, so selfheal acts in dry run only: the fault left alone.
    pub hands_off: bool,
    /// When to stop following.
    pub until: Until,
    /// Leave the faults in place when the run ends.
    pub keep: bool,
    /// How often to look.
    pub poll: Duration,
}

/// An alert's state in Prometheus, as `GET /api/v1/alerts` reports it (inactive: not listed).
/// Ordered: with several alerts of the name, the furthest along wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlertState {
    /// Not pending, not firing.
    Inactive,
    /// Its expression holds, its `for` has not elapsed.
    Pending,
    /// Firing: Alertmanager has it.
    Firing,
}

impl AlertState {
    /// As Prometheus spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// What a run sees, as it sees it.
#[derive(Debug)]
pub enum Progress<'a> {
    /// A fault was injected or the release made.
    Injected(String),
    /// The expected alert changed state.
    Alert(AlertState),
    /// The incident opened.
    Opened(&'a IncidentSummary),
    /// A timeline event of the incident.
    Event(&'a TimelineEvent),
    /// The incident closed.
    Closed(&'a Closing),
    /// The faults were cleared.
    Cleared(usize),
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum End {
    /// Injected and left in place (no `--wait`).
    Injected,
    /// Followed until it ended as asked.
    Ended,
    /// Still going when the timeout came.
    TimedOut,
}

/// What a run measured.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    /// The scenario.
    pub scenario: String,
    /// Whether selfheal was kept from acting.
    pub hands_off: bool,
    /// How the scenario expects the incident to close.
    pub expected: Outcome,
    /// Where following stopped.
    pub until: Until,
    /// When the faults went in.
    pub fault_at: DateTime<Utc>,
    /// When the alert was first seen firing.
    pub firing_at: Option<DateTime<Utc>>,
    /// The incident, as it was last seen.
    pub incident: Option<IncidentSummary>,
    /// When the target was healthy again: the remediated incident's close (its health check
    /// passed), or with hands off the alert resolving.
    pub healthy_at: Option<DateTime<Utc>>,
    /// When the alert stopped firing.
    pub resolved_at: Option<DateTime<Utc>>,
    /// How the run ended.
    pub end: End,
    /// The seconds between the marks, where both were seen.
    pub seconds: Times,
}

/// Seconds between a run's marks.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Times {
    /// Fault to alert firing.
    pub fault_to_firing: Option<f64>,
    /// Alert firing to incident opened.
    pub alert_to_incident: Option<f64>,
    /// Incident opened to healthy.
    pub incident_to_healthy: Option<f64>,
    /// Fault to healthy.
    pub fault_to_healthy: Option<f64>,
    /// Fault to alert resolved.
    pub fault_to_resolved: Option<f64>,
}

impl Report {
    /// The incident's outcome, once it closed.
    pub fn outcome(&self) -> Option<Outcome> {
        self.incident
            .as_ref()
            .and_then(|i| i.closing.as_ref())
            .map(|c| c.outcome)
    }

    /// Whether the run showed what it is for: the incident closed as the scenario expects
    /// (remediated, or escalated for a fault no runbook fixes), or with hands off the run was
    /// followed to its end.
    pub fn succeeded(&self) -> bool {
        match (self.hands_off, self.end) {
            (_, End::Injected) => true,
            (true, _) => true,
            (false, End::Ended) if self.until == Until::Opened => self.incident.is_some(),
            (false, End::Ended) => self.outcome() == Some(self.expected),
            (false, End::TimedOut) => false,
        }
    }

    fn measure(&mut self) {
        let between = |a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>| {
            Some((b? - a?).num_milliseconds() as f64 / 1000.0)
        };
        let opened = self.incident.as_ref().map(|i| i.received_at);
        let fault = Some(self.fault_at);
        self.seconds = Times {
            fault_to_firing: between(fault, self.firing_at),
            alert_to_incident: between(self.firing_at, opened),
            incident_to_healthy: between(opened, self.healthy_at),
            fault_to_healthy: between(fault, self.healthy_at),
            fault_to_resolved: between(fault, self.resolved_at),
        };
    }
}

/// Runs `scenario` against the lab at `endpoints`, telling `progress` what it sees.
pub async fn run(
    scenario: &Scenario,
    endpoints: &Endpoints,
    options: &Options,
    mut progress: impl FnMut(Progress<'_>),
) -> Result<Report, ChaosError> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| unreachable("the HTTP client", "", e))?;
    let lab = Parts {
        http,
        endpoints: endpoints.clone(),
    };
    if options.hands_off || scenario.dry_run {
        lab.kill_switch(true).await?;
    }
    let fault_at = Utc::now();
    let injected = lab.inject(scenario, &mut progress).await;
    let mut report = Report {
        scenario: scenario.name.clone(),
        hands_off: options.hands_off,
        expected: scenario.expect.outcome,
        until: options.until,
        fault_at,
        firing_at: None,
        incident: None,
        healthy_at: None,
        resolved_at: None,
        end: End::Injected,
        seconds: Times::default(),
    };
    let followed = match &injected {
        Ok(_) if options.wait => {
            lab.follow(scenario, options, &mut report, &mut progress)
                .await
        }
        _ => Ok(()),
    };
    // The run ends as a Chaos Mesh experiment ends: its faults removed, the switch back.
    if options.wait && !options.keep {
        let ids = injected.as_deref().unwrap_or_default();
        lab.clear(ids).await?;
        progress(Progress::Cleared(ids.len()));
    }
    if options.hands_off || scenario.dry_run {
        lab.kill_switch(false).await?;
    }
    injected?;
    followed?;
    report.measure();
    Ok(report)
}

fn unreachable(what: &'static str, url: &str, e: impl std::fmt::Display) -> ChaosError {
    ChaosError::Unreachable {
        what,
        url: url.to_owned(),
        message: e.to_string(),
    }
}

/// The lab's parts, over HTTP.
struct Parts {
    http: reqwest::Client,
    endpoints: Endpoints,
}

impl Parts {
    async fn send<T: DeserializeOwned>(
        &self,
        what: &'static str,
        request: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<T, ChaosError> {
        let response = request
            .send()
            .await
            .map_err(|e| unreachable(what, url, e.without_url()))?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(unreachable(what, url, format!("{status}: {body}")));
        }
        response
            .json()
            .await
            .map_err(|e| unreachable(what, url, e.without_url()))
    }

    async fn kill_switch(&self, on: bool) -> Result<(), ChaosError> {
        let url = format!("{}/kill-switch", self.endpoints.lab);
        let _: Value = self
            .send(
                "the lab",
                self.http.put(&url).json(&json!({"on": on})),
                &url,
            )
            .await?;
        Ok(())
    }

    /// Injects the faults and makes the release; returns the faults' ids.
    async fn inject(
        &self,
        scenario: &Scenario,
        progress: &mut impl FnMut(Progress<'_>),
    ) -> Result<Vec<String>, ChaosError> {
        let url = format!("{}/sim/faults", self.endpoints.sim);
        let mut ids = Vec::new();
        for fault in &scenario.faults {
            let created: Value = self
                .send("kube-sim", self.http.post(&url).json(fault), &url)
                .await?;
            let id = created["id"].as_str().unwrap_or_default().to_owned();
            progress(Progress::Injected(format!(
                "fault {id}: {}",
                describe(fault)
            )));
            ids.push(id);
        }
        if let Some(r) = &scenario.release {
            self.release(r).await?;
            progress(Progress::Injected(format!(
                "release: deployment {}/{} now runs {}",
                r.namespace, r.deployment, r.image
            )));
        }
        Ok(ids)
    }

    /// The release, through a client for kube-sim's URL.
    async fn release(&self, r: &Release) -> Result<(), ChaosError> {
        let url = self
            .endpoints
            .sim
            .parse()
            .map_err(|e| unreachable("kube-sim", &self.endpoints.sim, e))?;
        let client = kube::Client::try_from(kube::Config::new(url)).map_err(|e| r.failed(e))?;
        r.apply(&client).await
    }

    async fn clear(&self, ids: &[String]) -> Result<(), ChaosError> {
        for id in ids {
            let url = format!("{}/sim/faults/{id}", self.endpoints.sim);
            let response = self
                .http
                .delete(&url)
                .send()
                .await
                .map_err(|e| unreachable("kube-sim", &url, e.without_url()))?;
            // Gone already (cleared by hand) is what clearing wants.
            if !response.status().is_success() && response.status() != 404 {
                return Err(unreachable("kube-sim", &url, response.status()));
            }
        }
        Ok(())
    }

    /// The expected alert's state in Prometheus: firing wins over pending.
    async fn alert_state(&self, scenario: &Scenario) -> Result<AlertState, ChaosError> {
        let url = format!("{}/api/v1/alerts", self.endpoints.prometheus);
        let body: Value = self.send("Prometheus", self.http.get(&url), &url).await?;
        Ok(body["data"]["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| {
                a["labels"]
                    .as_object()
                    .is_some_and(|l| scenario.matches_alert(l))
            })
            .map(|a| match a["state"].as_str() {
                Some("firing") => AlertState::Firing,
                Some("pending") => AlertState::Pending,
                _ => AlertState::Inactive,
            })
            .max()
            .unwrap_or(AlertState::Inactive))
    }

    /// The first incident opened for the scenario since `since`.
    async fn incident(
        &self,
        scenario: &Scenario,
        since: DateTime<Utc>,
    ) -> Result<Option<IncidentSummary>, ChaosError> {
        let url = format!("{}/incidents", self.endpoints.lab);
        let all: Vec<IncidentSummary> = self.send("the lab", self.http.get(&url), &url).await?;
        Ok(all
            .into_iter()
            .find(|i| i.received_at >= since && scenario.matches_incident(i)))
    }

    async fn timeline(&self, incident: &IncidentSummary) -> Result<Vec<TimelineEvent>, ChaosError> {
        let url = format!("{}/incidents/{}", self.endpoints.lab, incident.id);
        let body: Value = self.send("the lab", self.http.get(&url), &url).await?;
        serde_json::from_value(body["timeline"].clone())
            .map_err(|e| unreachable("the lab", &url, e))
    }

    /// Follows the alert and the incident until the run ends as `options` asks.
    async fn follow(
        &self,
        scenario: &Scenario,
        options: &Options,
        report: &mut Report,
        progress: &mut impl FnMut(Progress<'_>),
    ) -> Result<(), ChaosError> {
        let deadline = Instant::now() + options.timeout;
        let mut state = AlertState::Inactive;
        // Timeline events shown so far, and whether the close was shown.
        let (mut seen, mut closed) = (0, false);
        loop {
            let now_state = self.alert_state(scenario).await?;
            if now_state != state {
                state = now_state;
                progress(Progress::Alert(state));
                let now = Utc::now();
                match state {
                    AlertState::Firing => {
                        report.firing_at.get_or_insert(now);
                    }
                    AlertState::Inactive if report.firing_at.is_some() => {
                        report.resolved_at.get_or_insert(now);
                    }
                    _ => {}
                }
            }
            // The incident first, then its timeline: a close seen includes its last events (an
            // incident can open and close between two looks).
            if !closed && let Some(fresh) = self.incident(scenario, report.fault_at).await? {
                if report.incident.is_none() {
                    progress(Progress::Opened(&fresh));
                }
                for event in self.timeline(&fresh).await?.iter().skip(seen) {
                    progress(Progress::Event(event));
                    seen += 1;
                }
                if let Some(closing) = &fresh.closing {
                    progress(Progress::Closed(closing));
                    closed = true;
                    if closing.outcome == Outcome::Remediated && !options.hands_off {
                        report.healthy_at = Some(closing.closed_at);
                    }
                }
                report.incident = Some(fresh);
            }
            if options.hands_off && report.resolved_at.is_some() {
                report.healthy_at = report.resolved_at;
            }
            if finished(report, options) {
                report.end = End::Ended;
                return Ok(());
            }
            if Instant::now() >= deadline {
                report.end = End::TimedOut;
                return Ok(());
            }
            tokio::time::sleep(options.poll).await;
        }
    }
}

/// Whether a followed run is over.
fn finished(report: &Report, options: &Options) -> bool {
    let closed = report.outcome().is_some();
    let resolved = report.resolved_at.is_some();
    if options.hands_off {
        // Left alone, the run lasts until the fault heals by itself or the window ends.
        return resolved;
    }
    match (report.outcome(), options.until) {
        (_, Until::Opened) => report.incident.is_some(),
        (Some(Outcome::Remediated), Until::Resolved) => resolved,
        _ => closed,
    }
}

/// One line for a fault.
fn describe(fault: &Fault) -> String {
    let kind = serde_json::to_value(&fault.kind)
        .ok()
        .and_then(|v| v["kind"].as_str().map(str::to_owned))
        .unwrap_or_default();
    let t = &fault.target;
    // Faults bound to an image hit wherever it runs, whatever the target says.
    match &fault.kind {
        FaultKind::Errors {
            share,
            image: Some(image),
        } => {
            return format!(
                "{kind} ({:.0}% of requests) wherever {image} runs",
                share * 100.0
            );
        }
        FaultKind::BadImage { image } => return format!("{kind}: {image} never becomes ready"),
        _ => {}
    }
    let on = match (&t.namespace, &t.deployment, &t.node) {
        (_, _, Some(node)) => format!("node {node}"),
        (Some(ns), Some(d), _) => format!("deployment {ns}/{d}"),
        (Some(ns), None, _) => format!("namespace {ns}"),
        _ => "the cluster".into(),
    };
    format!("{kind} on {on}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(text: &str) -> Result<Scenario, ChaosError> {
        Scenario::from_yaml("t", text)
    }

    const CRASHLOOP: &str = "description: d\nfaults:\n  - kind: crashloop\n    target: {namespace: shop, deployment: backend}\nexpect: {alert: KubePodCrashLooping, runbook: restart-pods, namespace: shop, deployment: backend}\n";

    #[test]
    fn the_repository_scenarios_parse_and_name_a_runbook_of_the_catalog() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(SCENARIOS);
        let all = Scenario::all(&dir).unwrap();
        let catalog = selfheal_core::embedded::catalog().unwrap();
        // The labels of each alert rule meant for automation, by alert name.
        let rules = dir.join("../../observability/prometheus/rules");
        let mut automated = std::collections::BTreeMap::new();
        for entry in std::fs::read_dir(&rules).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            let doc: Value = serde_saphyr::from_str(&text).unwrap();
            for group in doc["groups"].as_array().into_iter().flatten() {
                for rule in group["rules"].as_array().into_iter().flatten() {
                    if rule["labels"]["selfheal"] == "auto" {
                        automated.insert(
                            rule["alert"].as_str().unwrap().to_owned(),
                            rule["labels"].clone(),
                        );
                    }
                }
            }
        }
        for s in &all {
            // The alert, as Prometheus labels it, leads the catalog to the expected runbook.
            let e = &s.expect;
            let rule = automated
                .get(&e.alert)
                .unwrap_or_else(|| panic!("{}: no rule {} with selfheal: auto", s.name, e.alert));
            let mut labels: selfheal_core::alert::Labels =
                serde_json::from_value(rule.clone()).unwrap();
            labels.insert("alertname".into(), e.alert.clone());
            for (k, v) in [
                ("namespace", &e.namespace),
                ("deployment", &e.deployment),
                ("node", &e.node),
            ] {
                if let Some(v) = v {
                    labels.insert(k.into(), v.clone());
                }
            }
            let found = catalog.find(&labels).map(|r| r.id.as_str());
            assert_eq!(found, Some(e.runbook.as_str()), "{}", s.name);
        }
        // One scenario per runbook at least, a flapping one, and one no runbook fixes.
        for runbook in catalog.runbooks() {
            assert!(
                all.iter().any(|s| s.expect.runbook == runbook.id),
                "no scenario for {}",
                runbook.id
            );
        }
        assert!(
            all.iter()
                .any(|s| s.faults.iter().any(|f| f.flap.is_some()))
        );
        assert!(all.iter().any(|s| s.name == "cpu-hog-backend"));
    }

    #[test]
    fn every_scenario_names_the_chaos_mesh_experiment_it_mirrors() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for s in Scenario::all(&root.join(SCENARIOS)).unwrap() {
            let mirrors = s
                .mirrors
                .as_deref()
                .unwrap_or_else(|| panic!("{}: no mirrors", s.name));
            assert!(
                mirrors.starts_with("chaos/experiments/") || mirrors.starts_with("chaos/load/"),
                "{}: {mirrors}",
                s.name
            );
            assert!(
                root.join(mirrors).is_file(),
                "{}: {mirrors} does not exist",
                s.name
            );
        }
    }

    #[test]
    fn a_malformed_scenario_says_what_is_wrong() {
        assert!(scenario(CRASHLOOP).is_ok());
        let message = |text: &str| scenario(text).unwrap_err().to_string();
        assert!(
            message("description: d\nexpect: {alert: A, runbook: r, node: n}\n")
                .contains("nothing to inject")
        );
        assert!(
            message(
                &CRASHLOOP.replace("deployment: backend}\n", "deployment: backend, node: n}\n")
            )
            .contains("one deployment or one node")
        );
        assert!(
            message(&CRASHLOOP.replace("kind: crashloop", "kind: errors\n    share: 2"))
                .contains("share 2")
        );
        assert!(message(&CRASHLOOP.replace("description", "descripton")).contains("descripton"));
    }

    #[test]
    fn alerts_match_by_workload_the_pods_included() {
        let s = scenario(CRASHLOOP).unwrap();
        let labels = |v: Value| v.as_object().unwrap().clone();
        assert!(s.matches_alert(&labels(json!({"alertname": "KubePodCrashLooping", "selfheal": "auto", "namespace": "shop", "pod": "backend-6876cdd5f7-qg4rt"}))));
        assert!(s.matches_alert(&labels(json!({"alertname": "KubePodCrashLooping", "selfheal": "auto", "namespace": "shop", "deployment": "backend"}))));
        assert!(!s.matches_alert(&labels(json!({"alertname": "KubePodCrashLooping", "selfheal": "notify", "namespace": "shop", "deployment": "backend"}))), "a ticket is for people");
        assert!(!s.matches_alert(&labels(json!({"alertname": "KubePodCrashLooping", "selfheal": "auto", "namespace": "shop", "pod": "frontend-6876cdd5f7-qg4rt"}))));
        assert!(!s.matches_alert(&labels(json!({"alertname": "KubePodCrashLooping", "selfheal": "auto", "namespace": "other", "pod": "backend-6876cdd5f7-qg4rt"}))));
        assert!(!s.matches_alert(&labels(json!({"alertname": "KubePodNotReady", "selfheal": "auto", "namespace": "shop", "pod": "backend-6876cdd5f7-qg4rt"}))));
    }
}
