//! Paths as Step Functions applies them. Queries (InputPath, OutputPath, ItemsPath, `.$` fields)
//! behave as AWS's Jayway-based evaluator does: a definite path yields its value, an indefinite
//! one (wildcard, filter, slice, union, descendant) an array; a definite path that finds nothing
//! is a States.Runtime error. ResultPath is a reference path, set by [`set`].

use serde_json::{Map, Value};
use serde_json_path::JsonPath;

use crate::context::Context;
use crate::error::{StatesError, names};

/// Evaluates `path` against `input`, or against `context` when it starts with `$$`.
pub fn query(path: &str, input: &Value, context: &Context<'_>) -> Result<Value, StatesError> {
    let view;
    let (target, path) = match path.strip_prefix("$$") {
        Some(rest) => {
            view = context.view(rest);
            (view.as_ref(), format!("${rest}"))
        }
        None => (input, path.to_owned()),
    };
    let normalized = normalize(&path);
    let compiled = JsonPath::parse(&normalized)
        .map_err(|e| StatesError::runtime(format!("invalid JSONPath {path:?}: {e}")))?;
    let nodes = compiled.query(target);
    if is_definite(&normalized) {
        nodes.at_most_one().ok().flatten().cloned().ok_or_else(|| {
            StatesError::runtime(format!(
                "The JSONPath {path:?} could not be found in the input {}",
                truncate(target)
            ))
        })
    } else {
        Ok(Value::Array(nodes.all().into_iter().cloned().collect()))
    }
}

/// A short rendering of a value for error causes.
pub fn truncate(v: &Value) -> String {
    let mut s = v.to_string();
    if s.len() > 256 {
        let mut end = 256;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push('…');
    }
    s
}

/// Rewrites dot-notation names RFC 9535 does not allow as shorthand (`$.my-key`) into bracket
/// notation (`$['my-key']`), as Jayway accepts them.
fn normalize(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    let mut chars = path.chars().peekable();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                out.push(c);
            }
            (Some(_), '\\') => {
                out.push(c);
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            (Some(_), c) => out.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                out.push(c);
            }
            (None, '[' | '(') => {
                depth += 1;
                out.push(c);
            }
            (None, ']' | ')') => {
                depth = depth.saturating_sub(1);
                out.push(c);
            }
            (None, '.') if depth == 0 && chars.peek() != Some(&'.') => {
                let name = dotted_name(&mut chars);
                let shorthand = name == "*"
                    || name.chars().enumerate().all(|(i, c)| {
                        c == '_' || c.is_alphabetic() || (i > 0 && c.is_ascii_digit())
                    });
                if shorthand && !name.is_empty() {
                    out.push('.');
                    out.push_str(&name);
                } else {
                    out.push_str("['");
                    out.push_str(&name.replace('\\', "\\\\").replace('\'', "\\'"));
                    out.push_str("']");
                }
            }
            (None, c) => out.push(c),
        }
    }
    out
}

/// The name after a `.`, up to the next `.` or `[`.
fn dotted_name(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
    let mut name = String::new();
    while let Some(&n) = chars.peek() {
        if n == '.' || n == '[' {
            break;
        }
        name.push(n);
        chars.next();
    }
    name
}

/// A path is definite when it can only ever select one node.
fn is_definite(path: &str) -> bool {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for c in path.chars() {
        match (quote, c) {
            (Some(q), c) if c == q && prev != '\\' => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '[') => depth += 1,
            (None, ']') => depth = depth.saturating_sub(1),
            (None, '*') => return false,
            (None, '.') if prev == '.' => return false,
            (None, '?' | ',' | ':') if depth > 0 => return false,
            _ => {}
        }
        prev = c;
    }
    true
}

/// One step of a reference path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    Field(String),
    Index(usize),
}

/// Parses a reference path (`$`, `$.a.b`, `$['a'][0]`): no wildcards, filters or slices.
fn reference_steps(path: &str) -> Result<Vec<Step>, String> {
    let rest = path
        .strip_prefix('$')
        .ok_or_else(|| format!("{path:?} does not start with $"))?;
    let mut steps = Vec::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                let name = dotted_name(&mut chars);
                if name.is_empty() || name == "*" {
                    return Err(format!("{path:?} is not a reference path"));
                }
                steps.push(Step::Field(name));
            }
            '[' => {
                let mut inner = String::new();
                for n in chars.by_ref() {
                    if n == ']' {
                        break;
                    }
                    inner.push(n);
                }
                let inner = inner.trim();
                if let Some(quoted) = inner
                    .strip_prefix('\'')
                    .and_then(|s| s.strip_suffix('\''))
                    .or_else(|| inner.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
                {
                    steps.push(Step::Field(quoted.to_owned()));
                } else if let Ok(i) = inner.parse::<usize>() {
                    steps.push(Step::Index(i));
                } else {
                    return Err(format!("{path:?} is not a reference path"));
                }
            }
            _ => return Err(format!("{path:?} is not a reference path")),
        }
    }
    Ok(steps)
}

/// Whether `path` is a valid reference path (for validation).
pub fn is_reference_path(path: &str) -> bool {
    reference_steps(path).is_ok()
}

/// Places `value` at the reference path `path` inside `root`, creating missing objects on the
/// way. A step into something that is not an object (or an index outside an array) is
/// States.ResultPathMatchFailure.
pub fn set(root: Value, path: &str, value: Value) -> Result<Value, StatesError> {
    let steps = reference_steps(path).map_err(StatesError::runtime)?;
    if steps.is_empty() {
        return Ok(value);
    }
    let failure = |root: &Value| {
        StatesError::new(
            names::RESULT_PATH_MATCH_FAILURE,
            format!(
                "Unable to apply ResultPath {path:?} to input {}",
                truncate(root)
            ),
        )
    };
    let mut root = root;
    let snapshot = root.clone();
    let mut cur = &mut root;
    let last = steps.len() - 1;
    for (i, step) in steps.into_iter().enumerate() {
        cur = match (step, cur) {
            (Step::Field(name), Value::Object(map)) => {
                if i == last {
                    map.insert(name, value);
                    return Ok(root);
                }
                map.entry(name).or_insert_with(|| Value::Object(Map::new()))
            }
            (Step::Index(idx), Value::Array(items)) if idx < items.len() => {
                if i == last {
                    items[idx] = value;
                    return Ok(root);
                }
                &mut items[idx]
            }
            _ => return Err(failure(&snapshot)),
        };
    }
    Err(failure(&snapshot))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(path: &str, input: &Value) -> Result<Value, StatesError> {
        query(path, input, &json!({"Execution": {"Name": "inc-1"}}).into())
    }

    #[test]
    fn definite_paths_yield_the_value() {
        let input = json!({"a": {"b": [1, {"c": "x"}]}, "my-key": 7});
        assert_eq!(q("$", &input).unwrap(), input);
        assert_eq!(q("$.a.b[1].c", &input).unwrap(), json!("x"));
        assert_eq!(q("$['a']['b'][0]", &input).unwrap(), json!(1));
        assert_eq!(q("$.my-key", &input).unwrap(), json!(7));
        assert_eq!(q("$$.Execution.Name", &input).unwrap(), json!("inc-1"));
    }

    #[test]
    fn indefinite_paths_yield_arrays() {
        let input = json!({"items": [{"n": 1, "ok": true}, {"n": 2, "ok": false}]});
        assert_eq!(q("$.items[*].n", &input).unwrap(), json!([1, 2]));
        assert_eq!(q("$.items[?(@.ok == true)].n", &input).unwrap(), json!([1]));
        assert_eq!(q("$..n", &input).unwrap(), json!([1, 2]));
        assert_eq!(q("$.items[0:1].n", &input).unwrap(), json!([1]));
        assert_eq!(q("$.missing[*]", &input).unwrap(), json!([]));
    }

    #[test]
    fn a_missing_definite_path_is_a_runtime_error() {
        let err = q("$.nope", &json!({"a": 1})).unwrap_err();
        assert_eq!(err.error, "States.Runtime");
        assert!(err.cause.contains("$.nope"), "{}", err.cause);
    }

    #[test]
    fn result_path_sets_and_creates() {
        assert_eq!(set(json!({"a": 1}), "$", json!(2)).unwrap(), json!(2));
        assert_eq!(
            set(json!({"a": 1}), "$.r", json!(2)).unwrap(),
            json!({"a": 1, "r": 2})
        );
        assert_eq!(
            set(json!({"a": 1}), "$.x.y.z", json!(2)).unwrap(),
            json!({"a": 1, "x": {"y": {"z": 2}}})
        );
        assert_eq!(
            set(json!({"s": [0, 0]}), "$.s[1]", json!(9)).unwrap(),
            json!({"s": [0, 9]})
        );
        assert_eq!(
            set(json!({}), "$['a-b']", json!(1)).unwrap(),
            json!({"a-b": 1})
        );
    }

    #[test]
    fn result_path_into_a_non_object_fails_to_match() {
        for (input, path) in [
            (json!("text"), "$.r"),
            (json!({"a": "text"}), "$.a.b"),
            (json!({"s": [0]}), "$.s[3]"),
            (json!([1, 2]), "$.r"),
        ] {
            let err = set(input, path, json!(1)).unwrap_err();
            assert_eq!(err.error, "States.ResultPathMatchFailure", "{path}");
        }
    }

    #[test]
    fn reference_paths_refuse_wildcards() {
        assert!(is_reference_path("$.a[0]['b']"));
        assert!(!is_reference_path("$.a[*]"));
        assert!(!is_reference_path("$..a"));
        assert!(!is_reference_path("a.b"));
    }
}
