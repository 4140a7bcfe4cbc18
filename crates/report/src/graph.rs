//! The state machine's graph as the Step Functions console draws it for an execution: one box
//! per state, arrows for Next, Default, Choices and Catch, each box coloured by how the state's
//! last run ended (green succeeded, orange failed and caught, red failed, blue running, grey not
//! entered). States are laid out in rows by their distance from StartAt; a Map's iteration is a
//! graph of its own under it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt::Write;

use selfheal_states::TimelineRow;
use serde_json::Value;

use crate::html::esc;

const W: f64 = 150.0;
const H: f64 = 28.0;
const GAP_X: f64 = 20.0;
const GAP_Y: f64 = 34.0;

/// The colour of a state's box from its last run in `rows`.
fn colour(rows: &[TimelineRow], state: &str) -> &'static str {
    match rows
        .iter()
        .rev()
        .find(|r| r.state == state)
        .and_then(|r| r.result.split(' ').next())
    {
        Some("succeeded") => "#1d8102",
        Some("caught") => "#ec7211",
        Some("failed") => "#d13212",
        Some(_) => "#0073bb",
        None => "#aab7b8",
    }
}

/// Where each state goes next.
fn targets(state: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut push = |v: &Value| {
        if let Some(n) = v.as_str()
            && !out.iter().any(|o| o == n)
        {
            out.push(n.to_owned());
        }
    };
    push(&state["Next"]);
    push(&state["Default"]);
    for key in ["Choices", "Catch"] {
        for c in state[key].as_array().into_iter().flatten() {
            push(&c["Next"]);
        }
    }
    out
}

/// One graph (`States` with its `StartAt`) as SVG, and each Map's iteration graph after it.
pub fn graph(machine: &Value, rows: &[TimelineRow]) -> String {
    let mut out = draw(machine, rows, None);
    for (name, state) in machine["States"].as_object().into_iter().flatten() {
        let inner = state.get("ItemProcessor").or_else(|| state.get("Iterator"));
        if let Some(inner) = inner {
            out.push_str(&draw(inner, rows, Some(name)));
        }
    }
    out
}

fn draw(machine: &Value, rows: &[TimelineRow], map: Option<&str>) -> String {
    let Some(states) = machine["States"].as_object() else {
        return String::new();
    };
    let start = machine["StartAt"].as_str().unwrap_or_default();
    // Rows by breadth-first distance from StartAt; states it never reaches go last.
    let mut depth: HashMap<&str, usize> = HashMap::new();
    let mut queue = VecDeque::from([(start.to_owned(), 0usize)]);
    while let Some((name, d)) = queue.pop_front() {
        let Some((key, state)) = states.get_key_value(&name) else {
            continue;
        };
        if depth.contains_key(key.as_str()) {
            continue;
        }
        depth.insert(key.as_str(), d);
        for next in targets(state) {
            queue.push_back((next, d + 1));
        }
    }
    let deepest = depth.values().max().copied().unwrap_or(0);
    let mut layers: BTreeMap<usize, Vec<&str>> = BTreeMap::new();
    for name in states.keys() {
        let d = depth.get(name.as_str()).copied().unwrap_or(deepest + 1);
        layers.entry(d).or_default().push(name);
    }
    let widest = layers.values().map(Vec::len).max().unwrap_or(1) as f64;
    let width = widest * (W + GAP_X) + GAP_X;
    let height = layers.len() as f64 * (H + GAP_Y) + GAP_Y;
    let mut at: HashMap<&str, (f64, f64)> = HashMap::new();
    for (row, names) in layers.values().enumerate() {
        let offset = (width - names.len() as f64 * (W + GAP_X) + GAP_X) / 2.0;
        for (i, name) in names.iter().enumerate() {
            at.insert(
                name,
                (
                    offset + i as f64 * (W + GAP_X),
                    GAP_Y / 2.0 + row as f64 * (H + GAP_Y),
                ),
            );
        }
    }
    let title = match map {
        Some(m) => format!("{m}: each iteration"),
        None => "state machine".to_owned(),
    };
    let mut svg = format!(
        "<figure class=\"graph\"><figcaption>{}</figcaption><svg role=\"img\" aria-label=\"{}\" width=\"{width:.0}\" height=\"{height:.0}\" viewBox=\"0 0 {width:.0} {height:.0}\" xmlns=\"http://www.w3.org/2000/svg\">\
<defs><marker id=\"arrow\" viewBox=\"0 0 8 8\" refX=\"8\" refY=\"4\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"#879596\"/></marker></defs>\n",
        esc(&title),
        esc(&title)
    );
    for (name, state) in states {
        let Some(&(x, y)) = at.get(name.as_str()) else {
            continue;
        };
        for next in targets(state) {
            let Some(&(nx, ny)) = at.get(next.as_str()) else {
                continue;
            };
            let (x1, y1) = (x + W / 2.0, y + H);
            let (x2, y2) = (nx + W / 2.0, ny);
            if ny > y {
                let _ = writeln!(
                    svg,
                    "<line x1=\"{x1:.1}\" y1=\"{y1:.1}\" x2=\"{x2:.1}\" y2=\"{y2:.1}\" stroke=\"#879596\" marker-end=\"url(#arrow)\"/>"
                );
            } else {
                // Back to an earlier row (a retry or poll loop): around the right side.
                let side = x.max(nx) + W + GAP_X / 2.0;
                let _ = writeln!(
                    svg,
                    "<path d=\"M{:.1},{:.1} C{side:.1},{:.1} {side:.1},{:.1} {:.1},{:.1}\" fill=\"none\" stroke=\"#879596\" stroke-dasharray=\"4 3\" marker-end=\"url(#arrow)\"/>",
                    x + W,
                    y + H / 2.0,
                    y + H / 2.0,
                    ny + H / 2.0,
                    nx + W,
                    ny + H / 2.0
                );
            }
        }
    }
    for (name, state) in states {
        let Some(&(x, y)) = at.get(name.as_str()) else {
            continue;
        };
        let kind = state["Type"].as_str().unwrap_or_default();
        let _ = writeln!(
            svg,
            "<g class=\"state\" data-state=\"{n}\"><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{W}\" height=\"{H}\" rx=\"{r}\" fill=\"{c}\"><title>{n} ({k})</title></rect><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#fff\">{n}</text></g>",
            x + W / 2.0,
            y + H / 2.0 + 4.0,
            n = esc(name),
            k = esc(kind),
            r = if kind == "Choice" { 12 } else { 3 },
            c = colour(rows, name),
        );
    }
    svg.push_str("</svg></figure>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(state: &str, result: &str) -> TimelineRow {
        TimelineRow {
            state: state.into(),
            kind: "Task".into(),
            start: 0.0,
            duration: Some(1.0),
            result: result.into(),
        }
    }

    #[test]
    fn states_are_laid_out_by_distance_and_coloured_by_their_last_run() {
        let machine = json!({"StartAt": "A", "States": {
            "A": {"Type": "Task", "Next": "B?", "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Fail"}]},
            "B?": {"Type": "Choice", "Choices": [{"Variable": "$.x", "BooleanEquals": true, "Next": "A"}], "Default": "Each"},
            "Each": {"Type": "Map", "Next": "Done", "ItemProcessor": {"StartAt": "Act", "States": {"Act": {"Type": "Task", "End": true}}}},
            "Done": {"Type": "Succeed"},
            "Fail": {"Type": "Fail"}
        }});
        let rows = [
            row("A", "failed X"),
            row("A", "succeeded"),
            row("B?", "succeeded"),
            row("Act", "caught Y"),
        ];
        let svg = graph(&machine, &rows);
        // A's last run succeeded; Each never entered; the iteration graph follows.
        assert!(
            svg.contains("data-state=\"A\"><rect x=\"")
                && svg.contains("fill=\"#1d8102\"><title>A (Task)"),
            "{svg}"
        );
        assert!(svg.contains("fill=\"#aab7b8\"><title>Each (Map)"));
        assert!(svg.contains("Each: each iteration"));
        assert!(svg.contains("fill=\"#ec7211\"><title>Act (Task)"));
        // The loop back from B? to A is drawn around the side, dashed.
        assert_eq!(svg.matches("stroke-dasharray").count(), 1, "{svg}");
        // Rows: A, then B? and Fail, then Each, then Done.
        let y = |s: &str| {
            let i = svg.find(&format!("data-state=\"{s}\"><rect x=\"")).unwrap();
            let rest = &svg[i..];
            let y0 = rest.find(" y=\"").unwrap() + 4;
            rest[y0..y0 + rest[y0..].find('"').unwrap()]
                .parse::<f64>()
                .unwrap()
        };
        assert!(
            y("A") < y("B?")
                && y("B?") == y("Fail")
                && y("Fail") < y("Each")
                && y("Each") < y("Done")
        );
    }
}
