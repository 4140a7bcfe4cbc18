//! `selfheal-chaos-check --namespaces shop FILE...`: each Chaos Mesh experiment must
//! - be a kind Chaos Mesh knows and survive a round trip through its CRD type unchanged (a field
//!   the CRD does not define, a value of the wrong type or outside an enum fails), and
//! - follow selfheal's chaos policy: it lives in, and selects pods only in, the allowed
//!   (non-production) namespaces (an AWSChaos, which selects no pods, names one EC2 instance
//!   and the secret with credentials scoped to it), and it ends by itself (a duration of at most 10 minutes) unless
//!   its action is instantaneous (pod-kill, container-kill).
//!
//! Exit 1 with every problem listed.

use std::process::ExitCode;

use kube_custom_resources_rs::chaos_mesh_org::v1alpha1::{
    awschaos::AWSChaos, httpchaos::HTTPChaos, networkchaos::NetworkChaos, podchaos::PodChaos,
    schedules::Schedule, stresschaos::StressChaos,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// The longest an experiment may run before Chaos Mesh ends it.
const MAX_SECONDS: f64 = 600.0;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut allowed = Vec::new();
    let mut files = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--namespaces" => allowed.extend(
                args.next()
                    .unwrap_or_default()
                    .split(',')
                    .map(str::to_owned),
            ),
            _ => files.push(a),
        }
    }
    if allowed.is_empty() || files.is_empty() {
        eprintln!("usage: selfheal-chaos-check --namespaces NS[,NS] FILE...");
        return ExitCode::FAILURE;
    }
    let mut problems = Vec::new();
    for file in &files {
        match std::fs::read_to_string(file) {
            Ok(text) => problems.extend(
                check(&text, &allowed)
                    .into_iter()
                    .map(|p| format!("{file}: {p}")),
            ),
            Err(e) => problems.push(format!("{file}: {e}")),
        }
    }
    for p in &problems {
        eprintln!("{p}");
    }
    if problems.is_empty() {
        println!(
            "{} experiments: valid Chaos Mesh resources inside the chaos policy",
            files.len()
        );
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Every problem with one experiment.
fn check(text: &str, allowed: &[String]) -> Vec<String> {
    let doc: Value = match serde_saphyr::from_str(text) {
        Ok(v) => v,
        Err(e) => return vec![format!("not YAML: {e}")],
    };
    let kind = doc["kind"].as_str().unwrap_or_default();
    if doc["apiVersion"] != "chaos-mesh.org/v1alpha1" {
        return vec![format!(
            "apiVersion {} is not chaos-mesh.org/v1alpha1",
            doc["apiVersion"]
        )];
    }
    let mut problems = match kind {
        "PodChaos" => round_trip::<PodChaos>(&doc),
        "NetworkChaos" => round_trip::<NetworkChaos>(&doc),
        "StressChaos" => round_trip::<StressChaos>(&doc),
        "HTTPChaos" => round_trip::<HTTPChaos>(&doc),
        "Schedule" => round_trip::<Schedule>(&doc),
        "AWSChaos" => round_trip::<AWSChaos>(&doc),
        other => vec![format!("kind {other:?} is not one this check knows")],
    };
    let ns = doc["metadata"]["namespace"].as_str().unwrap_or_default();
    if !allowed.iter().any(|a| a == ns) {
        problems.push(format!("lives in namespace {ns:?}, not one of {allowed:?}"));
    }
    // A Schedule holds its experiment's spec under the kind's field (podChaos, httpChaos...).
    let spec = match kind {
        "Schedule" => {
            let field = doc["spec"]["type"]
                .as_str()
                .map(lower_first)
                .unwrap_or_default();
            doc["spec"][field.as_str()].clone()
        }
        _ => doc["spec"].clone(),
    };
    match spec["selector"]["namespaces"].as_array() {
        // An AWS experiment acts on the instance it names, with the credentials it names.
        _ if kind == "AWSChaos" => {
            let instance = spec["ec2Instance"].as_str().unwrap_or_default();
            let hex = instance.strip_prefix("i-").unwrap_or_default();
            if !(8..=17).contains(&hex.len()) || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
                problems.push(format!(
                    "ec2Instance {instance:?} is not one EC2 instance id"
                ));
            }
            if spec["secretName"].as_str().is_none_or(str::is_empty) {
                problems.push(
                    "no secretName: the credentials must be ones scoped to this experiment".into(),
                );
            }
        }
        Some(list)
            if !list.is_empty() && list.iter().all(|n| allowed.iter().any(|a| n == a.as_str())) => {
        }
        _ => problems.push(format!(
            "its selector must name namespaces, all of {allowed:?}"
        )),
    }
    let instantaneous = matches!(spec["action"].as_str(), Some("pod-kill" | "container-kill"))
        && kind == "PodChaos";
    match spec["duration"].as_str().map(seconds) {
        Some(Some(s)) if s > 0.0 && s <= MAX_SECONDS => {}
        Some(_) => problems.push(format!(
            "duration {} is not between 0 and {MAX_SECONDS} s",
            spec["duration"]
        )),
        None if instantaneous => {}
        None => problems.push("no duration: it would run until someone deletes it".into()),
    }
    problems
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_ascii_lowercase().to_string() + c.as_str())
        .unwrap_or_default()
}

/// A Go duration ("10m", "90s", "1h30m", "600ms") in seconds.
fn seconds(d: &str) -> Option<f64> {
    let (mut total, mut number) = (0.0, String::new());
    let mut chars = d.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() || c == '.' {
            number.push(c);
            continue;
        }
        let unit = match (c, chars.peek()) {
            ('m', Some('s')) => {
                chars.next();
                0.001
            }
            ('h', _) => 3600.0,
            ('m', _) => 60.0,
            ('s', _) => 1.0,
            _ => return None,
        };
        total += number.parse::<f64>().ok()? * unit;
        number.clear();
    }
    number.is_empty().then_some(total)
}

/// Parses `doc` as `T` and serializes it back: whatever does not come back unchanged is a field
/// the CRD does not define or a value it does not take.
fn round_trip<T: DeserializeOwned + Serialize>(doc: &Value) -> Vec<String> {
    let typed: T = match serde_json::from_value(doc.clone()) {
        Ok(t) => t,
        Err(e) => return vec![format!("not a valid {}: {e}", doc["kind"])],
    };
    let back = match serde_json::to_value(&typed) {
        Ok(v) => v,
        Err(e) => return vec![e.to_string()],
    };
    let mut problems = Vec::new();
    differences(doc, &back, "", &mut problems);
    problems
}

fn differences(original: &Value, back: &Value, path: &str, out: &mut Vec<String>) {
    match (original, back) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let here = format!("{path}.{k}");
                match b.get(k) {
                    Some(w) => differences(v, w, &here, out),
                    None => out.push(format!("{here}: not a field of the CRD")),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                differences(v, w, &format!("{path}[{i}]"), out);
            }
        }
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => {}
        (a, b) if a == b => {}
        (a, b) => out.push(format!("{path}: {a} came back as {b}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POD_KILL: &str = "apiVersion: chaos-mesh.org/v1alpha1\nkind: PodChaos\nmetadata: {name: k, namespace: shop}\nspec:\n  action: pod-kill\n  mode: one\n  selector: {namespaces: [shop], labelSelectors: {app: frontend}}\n";

    fn problems(text: &str) -> Vec<String> {
        check(text, &["shop".to_owned()])
    }

    #[test]
    fn a_valid_experiment_passes() {
        assert_eq!(problems(POD_KILL), Vec::<String>::new());
    }

    #[test]
    fn fields_values_and_kinds_the_crd_does_not_know_fail() {
        let p = problems(&POD_KILL.replace("mode: one", "mode: one\n  gracefulPeriod: 5"));
        assert!(
            p.iter()
                .any(|p| p.contains(".spec.gracefulPeriod: not a field")),
            "{p:?}"
        );
        let p = problems(&POD_KILL.replace("action: pod-kill", "action: pod-explode"));
        assert!(p.iter().any(|p| p.contains("not a valid")), "{p:?}");
        let p = problems(&POD_KILL.replace("kind: PodChaos", "kind: PodChoas"));
        assert!(p.iter().any(|p| p.contains("PodChoas")), "{p:?}");
    }

    #[test]
    fn the_policy_keeps_chaos_in_its_namespaces_and_bounded_in_time() {
        let p = problems(&POD_KILL.replace("namespace: shop", "namespace: payments"));
        assert!(p.iter().any(|p| p.contains("lives in namespace")), "{p:?}");
        let p =
            problems(&POD_KILL.replace("namespaces: [shop]", "namespaces: [shop, kube-system]"));
        assert!(p.iter().any(|p| p.contains("selector")), "{p:?}");
        let stress = POD_KILL.replace("action: pod-kill", "action: pod-failure");
        assert!(problems(&stress).iter().any(|p| p.contains("no duration")));
        assert!(
            problems(&format!("{stress}  duration: 2h\n"))
                .iter()
                .any(|p| p.contains("not between"))
        );
        assert_eq!(
            problems(&format!("{stress}  duration: 10m\n")),
            Vec::<String>::new()
        );
    }

    #[test]
    fn an_aws_experiment_names_one_instance_and_its_scoped_credentials() {
        const STOP: &str = "apiVersion: chaos-mesh.org/v1alpha1\nkind: AWSChaos\nmetadata: {name: s, namespace: shop}\nspec:\n  action: ec2-stop\n  awsRegion: eu-west-1\n  ec2Instance: i-0123456789abcdef0\n  secretName: chaos-aws\n  duration: 5m\n";
        assert_eq!(problems(STOP), Vec::<String>::new());
        let p = problems(&STOP.replace("i-0123456789abcdef0", "*"));
        assert!(p.iter().any(|p| p.contains("ec2Instance")), "{p:?}");
        let p = problems(&STOP.replace("  secretName: chaos-aws\n", ""));
        assert!(p.iter().any(|p| p.contains("secretName")), "{p:?}");
        let p = problems(&STOP.replace("  duration: 5m\n", ""));
        assert!(p.iter().any(|p| p.contains("no duration")), "{p:?}");
    }

    #[test]
    fn go_durations_parse() {
        assert_eq!(seconds("10m"), Some(600.0));
        assert_eq!(seconds("1h30m"), Some(5400.0));
        assert_eq!(seconds("600ms"), Some(0.6));
        assert_eq!(seconds("ten"), None);
    }
}
