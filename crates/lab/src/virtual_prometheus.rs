//! Prometheus on the lab's virtual clock. A real Prometheus holds the series and answers PromQL;
//! what it cannot do is follow a clock that jumps, so this does its two timed jobs at the virtual
//! instants the lab reaches: a scrape (kube-sim's `/metrics` text, pushed through Prometheus'
//! remote-write receiver with the virtual timestamp, and a staleness marker for every series that
//! vanished since the last scrape), and a rule evaluation (observability/'s rule groups in order:
//! recording rules queried at the instant and written back, alerting rules queried at the instant
//! and held for their `for` before they fire). Every expression is evaluated by Prometheus itself;
//! only the loop is ours.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, Utc};
use selfheal_core::alert_rules::{Rule, RuleFile, RuleGroup};
use serde_json::Value;

/// A series' labels, `__name__` included, sorted.
pub type Labels = BTreeMap<String, String>;

/// Why a scrape, a write or a query failed.
#[derive(Debug, thiserror::Error)]
pub enum PromError {
    /// A rule file cannot be read.
    #[error("rules {path}: {message}")]
    Rules {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// Prometheus or the target did not answer as expected.
    #[error("{what}: {message}")]
    Http {
        /// What was asked.
        what: String,
        /// Why it failed.
        message: String,
    },
    /// A line of the exposition text cannot be read.
    #[error("metrics line {0:?}")]
    Exposition(String),
}

/// An alert as Alertmanager receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Its labels: the expression's result, the rule's labels, the external labels.
    pub labels: Labels,
    /// Its annotations, templates filled in.
    pub annotations: BTreeMap<String, String>,
    /// When its condition started to hold (as Prometheus sends `startsAt`, the pending start).
    pub starts_at: DateTime<Utc>,
    /// When it resolved.
    pub ends_at: Option<DateTime<Utc>>,
}

/// What an evaluation changed.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Its condition held for `for`: it fires.
    Fired(Alert),
    /// It fired and its condition no longer holds.
    Resolved(Alert),
}

struct Active {
    since: DateTime<Utc>,
    firing: bool,
    alert: Alert,
}

/// A Prometheus driven at virtual instants.
pub struct VirtualPrometheus {
    base: String,
    http: reqwest::Client,
    groups: Vec<RuleGroup>,
    external: Labels,
    active: HashMap<(String, Labels), Active>,
    scraped: HashMap<String, HashSet<Labels>>,
}

/// Prometheus' duration syntax in whole seconds (`15m`, `1h30m`, `30s`).
pub fn duration(text: &str) -> Option<Duration> {
    let mut total = 0u64;
    let mut digits = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let n: u64 = digits.parse().ok()?;
        digits.clear();
        total += n * match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return None,
        };
    }
    (digits.is_empty() && !text.is_empty()).then_some(Duration::from_secs(total))
}

impl VirtualPrometheus {
    /// Drives the Prometheus at `base` with the rule files in `rules` (every `*.yml`, in name
    /// order); `external` labels are added to alerts as Prometheus' external labels are.
    pub fn new(base: &str, rules: &Path, external: Labels) -> Result<Self, PromError> {
        let err = |path: &Path, message: String| PromError::Rules {
            path: path.display().to_string(),
            message,
        };
        let mut files: Vec<_> = std::fs::read_dir(rules)
            .map_err(|e| err(rules, e.to_string()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "yml"))
            .collect();
        files.sort();
        let mut groups = Vec::new();
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(|e| err(&path, e.to_string()))?;
            let file: RuleFile =
                serde_saphyr::from_str(&text).map_err(|e| err(&path, e.to_string()))?;
            groups.extend(file.groups);
        }
        Ok(VirtualPrometheus {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            groups,
            external,
            active: HashMap::new(),
            scraped: HashMap::new(),
        })
    }

    /// Scrapes `url` (the exposition text) as job `job` at `at`: every sample written with that
    /// timestamp, and a staleness marker for each series the last scrape had and this one lacks.
    pub async fn scrape(
        &mut self,
        job: &str,
        url: &str,
        at: DateTime<Utc>,
    ) -> Result<usize, PromError> {
        let http = |message: String| PromError::Http {
            what: format!("scraping {url}"),
            message,
        };
        let text = self
            .http
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| http(e.to_string()))?
            .text()
            .await
            .map_err(|e| http(e.to_string()))?;
        let mut samples = parse_exposition(&text)?;
        for (labels, _) in &mut samples {
            labels.insert("job".into(), job.into());
            labels.insert("instance".into(), url_host(url).into());
        }
        let now: HashSet<Labels> = samples.iter().map(|(l, _)| l.clone()).collect();
        let gone: Vec<Labels> = self
            .scraped
            .insert(job.to_owned(), now.clone())
            .unwrap_or_default()
            .difference(&now)
            .cloned()
            .collect();
        samples.extend(gone.into_iter().map(|l| (l, STALE)));
        let count = samples.len();
        self.write(&samples, at).await?;
        Ok(count)
    }

    /// Writes `samples` at `at` through the remote-write receiver.
    pub async fn write(
        &self,
        samples: &[(Labels, f64)],
        at: DateTime<Utc>,
    ) -> Result<(), PromError> {
        if samples.is_empty() {
            return Ok(());
        }
        let body = snap::raw::Encoder::new()
            .compress_vec(&write_request(samples, at.timestamp_millis()))
            .map_err(|e| PromError::Http {
                what: "compressing a remote write".into(),
                message: e.to_string(),
            })?;
        let response = self
            .http
            .post(format!("{}/api/v1/write", self.base))
            .header("Content-Encoding", "snappy")
            .header("Content-Type", "application/x-protobuf")
            .header("X-Prometheus-Remote-Write-Version", "0.1.0")
            .body(body)
            .send()
            .await
            .map_err(|e| PromError::Http {
                what: "remote write".into(),
                message: e.to_string(),
            })?;
        if !response.status().is_success() {
            let status = response.status();
            return Err(PromError::Http {
                what: "remote write".into(),
                message: format!("{status}: {}", response.text().await.unwrap_or_default()),
            });
        }
        Ok(())
    }

    /// An instant query at `at`: each result's labels and value.
    pub async fn query(
        &self,
        expr: &str,
        at: DateTime<Utc>,
    ) -> Result<Vec<(Labels, f64)>, PromError> {
        let http = |message: String| PromError::Http {
            what: format!("query {expr}"),
            message,
        };
        let time = format!("{:.3}", at.timestamp_millis() as f64 / 1000.0);
        let body: Value = self
            .http
            .get(format!("{}/api/v1/query", self.base))
            .query(&[("query", expr), ("time", time.as_str())])
            .send()
            .await
            .map_err(|e| http(e.to_string()))?
            .json()
            .await
            .map_err(|e| http(e.to_string()))?;
        if body["status"] != "success" {
            return Err(http(body["error"].as_str().unwrap_or("failed").to_owned()));
        }
        let result = &body["data"]["result"];
        let vector = match body["data"]["resultType"].as_str() {
            Some("vector") => result.as_array().cloned().unwrap_or_default(),
            Some("scalar") => vec![serde_json::json!({"metric": {}, "value": result})],
            _ => Vec::new(),
        };
        Ok(vector
            .iter()
            .filter_map(|s| {
                let labels: Labels = serde_json::from_value(s["metric"].clone()).ok()?;
                let value = s["value"][1].as_str()?.parse().ok()?;
                Some((labels, value))
            })
            .collect())
    }

    /// Evaluates every rule group at `at`, in order, as Prometheus' rule manager does: returns
    /// the alerts that fired and resolved.
    pub async fn evaluate(&mut self, at: DateTime<Utc>) -> Result<Vec<Change>, PromError> {
        // Groups run concurrently, each rule of a group after the one before, as Prometheus
        // runs them: a recording rule's result is there for the rules after it.
        let results =
            futures::future::try_join_all(self.groups.iter().map(|g| self.evaluate_group(g, at)))
                .await?;
        let mut changes = Vec::new();
        let mut seen: HashSet<(String, Labels)> = HashSet::new();
        for (rule, results) in results.into_iter().flatten() {
            let Some(name) = &rule.alert else { continue };
            let hold = rule.hold.as_deref().and_then(duration).unwrap_or_default();
            for (mut labels, value) in results {
                labels.remove("__name__");
                labels.extend(rule.labels.clone());
                labels.insert("alertname".into(), name.clone());
                for (k, v) in &self.external {
                    labels.entry(k.clone()).or_insert_with(|| v.clone());
                }
                let key = (name.clone(), labels.clone());
                seen.insert(key.clone());
                let annotations = rule
                    .annotations
                    .iter()
                    .map(|(k, t)| (k.clone(), fill(t, &labels, value)))
                    .collect();
                let active = self.active.entry(key).or_insert_with(|| Active {
                    since: at,
                    firing: false,
                    alert: Alert {
                        labels: labels.clone(),
                        annotations: BTreeMap::new(),
                        starts_at: at,
                        ends_at: None,
                    },
                });
                active.alert.annotations = annotations;
                let held = (at - active.since).to_std().unwrap_or_default();
                if !active.firing && held >= hold {
                    active.firing = true;
                    changes.push(Change::Fired(active.alert.clone()));
                }
            }
        }
        let ended: Vec<(String, Labels)> = self
            .active
            .keys()
            .filter(|k| !seen.contains(*k))
            .cloned()
            .collect();
        for key in ended {
            if let Some(a) = self.active.remove(&key)
                && a.firing
            {
                let mut alert = a.alert;
                alert.ends_at = Some(at);
                changes.push(Change::Resolved(alert));
            }
        }
        Ok(changes)
    }

    /// One group's rules in order at `at`: recording rules written back; each alerting rule
    /// with its results.
    async fn evaluate_group<'a>(
        &self,
        group: &'a RuleGroup,
        at: DateTime<Utc>,
    ) -> Result<Vec<(&'a Rule, Vec<(Labels, f64)>)>, PromError> {
        let mut alerts = Vec::new();
        for rule in &group.rules {
            let results = self.query(&rule.expr, at).await?;
            match &rule.record {
                Some(record) => {
                    let samples: Vec<(Labels, f64)> = results
                        .into_iter()
                        .map(|(mut labels, v)| {
                            labels.extend(rule.labels.clone());
                            labels.insert("__name__".into(), record.clone());
                            (labels, v)
                        })
                        .collect();
                    self.write(&samples, at).await?;
                }
                None => alerts.push((rule, results)),
            }
        }
        Ok(alerts)
    }

    /// The alerts whose condition holds now (pending or firing), by name and labels.
    pub fn active(&self) -> Vec<(&Alert, bool)> {
        self.active.values().map(|a| (&a.alert, a.firing)).collect()
    }
}

/// Prometheus' staleness marker: a NaN with this exact bit pattern ends a series.
const STALE: f64 = f64::from_bits(0x7ff0_0000_0000_0002);

fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split('/').next().unwrap_or(rest)
}

/// Annotation templates: `{{ $labels.NAME }}`, `{{ $value }}` and `{{ $value |
/// humanizePercentage }}`, the forms observability/'s rules use; anything else stays as written.
fn fill(template: &str, labels: &Labels, value: f64) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find("}}") else {
            break;
        };
        let inner = rest[open + 2..open + close].trim();
        let filled = match inner.strip_prefix("$labels.") {
            Some(name) => Some(labels.get(name).cloned().unwrap_or_default()),
            None => match inner {
                "$value" => Some(format!("{value}")),
                "$value | humanizePercentage" => Some(format!("{:.4}%", value * 100.0)),
                _ => None,
            },
        };
        match filled {
            Some(f) => out.push_str(&f),
            None => out.push_str(&rest[open..open + close + 2]),
        }
        rest = &rest[open + close + 2..];
    }
    out.push_str(rest);
    out
}

/// The samples of Prometheus' text exposition format (HELP and TYPE lines skipped).
pub fn parse_exposition(text: &str) -> Result<Vec<(Labels, f64)>, PromError> {
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = || PromError::Exposition(line.to_owned());
        let name_end = line.find(['{', ' ']).ok_or_else(bad)?;
        let mut labels = Labels::new();
        labels.insert("__name__".into(), line[..name_end].to_owned());
        let mut rest = &line[name_end..];
        if let Some(body) = rest.strip_prefix('{') {
            let mut chars = body.char_indices().peekable();
            let mut end = None;
            loop {
                while chars.peek().is_some_and(|(_, c)| *c == ',' || *c == ' ') {
                    chars.next();
                }
                match chars.peek() {
                    Some((i, '}')) => {
                        end = Some(*i);
                        break;
                    }
                    None => break,
                    _ => {}
                }
                let mut name = String::new();
                for (_, c) in chars.by_ref() {
                    if c == '=' {
                        break;
                    }
                    name.push(c);
                }
                if chars.next().map(|(_, c)| c) != Some('"') {
                    return Err(bad());
                }
                let mut value = String::new();
                while let Some((_, c)) = chars.next() {
                    match c {
                        '\\' => match chars.next().map(|(_, c)| c) {
                            Some('n') => value.push('\n'),
                            Some(other) => value.push(other),
                            None => return Err(bad()),
                        },
                        '"' => break,
                        c => value.push(c),
                    }
                }
                labels.insert(name.trim().to_owned(), value);
            }
            let end = end.ok_or_else(bad)?;
            rest = &body[end + 1..];
        }
        let value = rest.split_whitespace().next().ok_or_else(bad)?;
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().map_err(|_| bad())?,
        };
        out.push((labels, value));
    }
    Ok(out)
}

/// A remote-write `WriteRequest` (protobuf): one time series per sample, all at `timestamp_ms`.
fn write_request(samples: &[(Labels, f64)], timestamp_ms: i64) -> Vec<u8> {
    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    fn bytes(out: &mut Vec<u8>, field: u64, data: &[u8]) {
        varint(out, (field << 3) | 2);
        varint(out, data.len() as u64);
        out.extend_from_slice(data);
    }
    let mut out = Vec::new();
    for (labels, value) in samples {
        let mut series = Vec::new();
        // Labels sorted by name (a BTreeMap's order), __name__ among them.
        for (name, v) in labels {
            let mut label = Vec::new();
            bytes(&mut label, 1, name.as_bytes());
            bytes(&mut label, 2, v.as_bytes());
            bytes(&mut series, 1, &label);
        }
        let mut sample = Vec::new();
        varint(&mut sample, (1 << 3) | 1);
        sample.extend_from_slice(&value.to_bits().to_le_bytes());
        varint(&mut sample, 2 << 3);
        varint(&mut sample, timestamp_ms as u64);
        bytes(&mut series, 2, &sample);
        bytes(&mut out, 1, &series);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exposition_lines_become_labelled_samples() {
        let text = "# HELP x y\n# TYPE up gauge\nup 1\nkube_pod_info{namespace=\"shop\",pod=\"a-1\",node=\"n\\\"1\"} 1\nhttp_requests_total{code=\"503\", service=\"backend\"} 12 1700000000000\nlat_bucket{le=\"+Inf\"} +Inf\n";
        let samples = parse_exposition(text).unwrap();
        assert_eq!(samples.len(), 4);
        assert_eq!(samples[1].0["node"], "n\"1");
        assert_eq!(samples[2].0["service"], "backend");
        assert_eq!(samples[2].1, 12.0);
        assert!(samples[3].1.is_infinite());
        assert!(parse_exposition("broken{a=1} 2").is_err());
    }

    #[test]
    fn durations_and_templates_read_as_prometheus_reads_them() {
        assert_eq!(duration("15m"), Some(Duration::from_secs(900)));
        assert_eq!(duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(duration("15x"), None);
        let labels: Labels = [("namespace".to_owned(), "shop".to_owned())].into();
        assert_eq!(
            fill(
                "{{ $labels.namespace }} at {{ $value | humanizePercentage }} {{ other }}",
                &labels,
                0.3
            ),
            "shop at 30.0000% {{ other }}"
        );
    }

    #[test]
    fn a_write_request_is_the_protobuf_prometheus_reads() {
        let labels: Labels = [("__name__".to_owned(), "up".to_owned())].into();
        let bytes = write_request(&[(labels, 1.0)], 1);
        // timeseries{labels{name:"__name__" value:"up"} samples{value:1.0 timestamp:1}}
        let expected: Vec<u8> = [
            vec![0x0a, 0x1d, 0x0a, 0x0e, 0x0a, 0x08],
            b"__name__".to_vec(),
            vec![0x12, 0x02],
            b"up".to_vec(),
            vec![0x12, 0x0b, 0x09],
            1.0f64.to_le_bytes().to_vec(),
            vec![0x10, 0x01],
        ]
        .concat();
        assert_eq!(bytes, expected);
    }
}
