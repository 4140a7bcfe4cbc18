//! Choice rules: every comparison operator and its `...Path` form, the `Is...` tests, And/Or/Not.
//! A comparison against a value of another type is false; a Variable (or operand path) that
//! finds nothing is States.Runtime, except for IsPresent.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use crate::context::Context;
use crate::error::StatesError;
use crate::path;

/// A top-level rule of a Choice state.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceRule {
    /// The condition.
    pub condition: Condition,
    /// Where to go when it holds (top-level rules only).
    pub next: Option<String>,
}

/// A condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// All hold.
    And(Vec<Condition>),
    /// Any holds.
    Or(Vec<Condition>),
    /// Does not hold.
    Not(Box<Condition>),
    /// A comparison of the Variable.
    Test {
        /// The path compared.
        variable: String,
        /// The operator.
        op: Op,
        /// A literal, or a path for the `...Path` forms.
        operand: Operand,
    },
}

/// What the Variable is compared with.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// A literal from the definition.
    Literal(Value),
    /// A path into the input (the `...Path` operators).
    Path(String),
}

/// Comparison operators, without their `Path` suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Op {
    StringEquals,
    StringLessThan,
    StringGreaterThan,
    StringLessThanEquals,
    StringGreaterThanEquals,
    StringMatches,
    NumericEquals,
    NumericLessThan,
    NumericGreaterThan,
    NumericLessThanEquals,
    NumericGreaterThanEquals,
    BooleanEquals,
    TimestampEquals,
    TimestampLessThan,
    TimestampGreaterThan,
    TimestampLessThanEquals,
    TimestampGreaterThanEquals,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

const OPS: [(&str, Op); 23] = [
    ("StringEquals", Op::StringEquals),
    ("StringLessThan", Op::StringLessThan),
    ("StringGreaterThan", Op::StringGreaterThan),
    ("StringLessThanEquals", Op::StringLessThanEquals),
    ("StringGreaterThanEquals", Op::StringGreaterThanEquals),
    ("StringMatches", Op::StringMatches),
    ("NumericEquals", Op::NumericEquals),
    ("NumericLessThan", Op::NumericLessThan),
    ("NumericGreaterThan", Op::NumericGreaterThan),
    ("NumericLessThanEquals", Op::NumericLessThanEquals),
    ("NumericGreaterThanEquals", Op::NumericGreaterThanEquals),
    ("BooleanEquals", Op::BooleanEquals),
    ("TimestampEquals", Op::TimestampEquals),
    ("TimestampLessThan", Op::TimestampLessThan),
    ("TimestampGreaterThan", Op::TimestampGreaterThan),
    ("TimestampLessThanEquals", Op::TimestampLessThanEquals),
    ("TimestampGreaterThanEquals", Op::TimestampGreaterThanEquals),
    ("IsNull", Op::IsNull),
    ("IsPresent", Op::IsPresent),
    ("IsNumeric", Op::IsNumeric),
    ("IsString", Op::IsString),
    ("IsBoolean", Op::IsBoolean),
    ("IsTimestamp", Op::IsTimestamp),
];

impl Op {
    fn is_type_test(self) -> bool {
        matches!(
            self,
            Op::IsNull
                | Op::IsPresent
                | Op::IsNumeric
                | Op::IsString
                | Op::IsBoolean
                | Op::IsTimestamp
        )
    }

    fn has_path_form(self) -> bool {
        !self.is_type_test() && self != Op::StringMatches
    }
}

fn parse_condition(v: &Value, top: bool) -> Result<(Condition, Option<String>), String> {
    let Value::Object(fields) = v else {
        return Err(format!("a choice rule must be an object, got {v}"));
    };
    let mut fields: Map<String, Value> = fields.clone();
    fields.remove("Comment");
    let next = match fields.remove("Next") {
        Some(Value::String(n)) if top => Some(n),
        Some(_) if top => return Err("Next must be a string".into()),
        Some(_) => return Err("Next is only allowed in a top-level choice rule".into()),
        None if top => return Err("a top-level choice rule needs Next".into()),
        None => None,
    };
    let nested =
        |v: &Value| -> Result<Condition, String> { parse_condition(v, false).map(|(c, _)| c) };
    let list = |v: &Value, name: &str| -> Result<Vec<Condition>, String> {
        let items = v
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| format!("{name} needs a non-empty array"))?;
        items.iter().map(nested).collect()
    };
    let condition = if let Some(v) = fields.remove("And") {
        Condition::And(list(&v, "And")?)
    } else if let Some(v) = fields.remove("Or") {
        Condition::Or(list(&v, "Or")?)
    } else if let Some(v) = fields.remove("Not") {
        Condition::Not(Box::new(nested(&v)?))
    } else {
        let variable = match fields.remove("Variable") {
            Some(Value::String(s)) if s.starts_with('$') => s,
            Some(other) => return Err(format!("Variable must be a path, got {other}")),
            None => return Err("a choice rule needs Variable, And, Or or Not".into()),
        };
        let mut found = None;
        for (key, value) in std::mem::take(&mut fields) {
            let (base, is_path) = match key.strip_suffix("Path") {
                Some(base) if OPS.iter().any(|(n, op)| *n == base && op.has_path_form()) => {
                    (base.to_owned(), true)
                }
                _ => (key.clone(), false),
            };
            let Some((_, op)) = OPS.iter().find(|(n, _)| *n == base) else {
                return Err(format!("unknown field `{key}` in a choice rule"));
            };
            if found.is_some() {
                return Err("a choice rule takes exactly one comparison operator".into());
            }
            let operand = if is_path {
                match value {
                    Value::String(p) if p.starts_with('$') => Operand::Path(p),
                    other => return Err(format!("{key} must be a path, got {other}")),
                }
            } else {
                check_literal(*op, &value).map_err(|e| format!("{key}: {e}"))?;
                Operand::Literal(value)
            };
            found = Some((*op, operand));
        }
        let (op, operand) = found.ok_or("a choice rule needs a comparison operator")?;
        Condition::Test {
            variable,
            op,
            operand,
        }
    };
    if let Some(key) = fields.keys().next() {
        return Err(format!("unknown field `{key}` in a choice rule"));
    }
    Ok((condition, next))
}

fn check_literal(op: Op, v: &Value) -> Result<(), String> {
    let ok = match op {
        Op::StringEquals
        | Op::StringLessThan
        | Op::StringGreaterThan
        | Op::StringLessThanEquals
        | Op::StringGreaterThanEquals
        | Op::StringMatches => v.is_string(),
        Op::NumericEquals
        | Op::NumericLessThan
        | Op::NumericGreaterThan
        | Op::NumericLessThanEquals
        | Op::NumericGreaterThanEquals => v.is_number(),
        Op::TimestampEquals
        | Op::TimestampLessThan
        | Op::TimestampGreaterThan
        | Op::TimestampLessThanEquals
        | Op::TimestampGreaterThanEquals => v.as_str().and_then(timestamp).is_some(),
        _ => v.is_boolean(),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("unexpected operand {v}"))
    }
}

impl<'de> Deserialize<'de> for ChoiceRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = Value::deserialize(d)?;
        let (condition, next) = parse_condition(&v, true).map_err(serde::de::Error::custom)?;
        Ok(ChoiceRule { condition, next })
    }
}

fn timestamp(s: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(s).ok()
}

/// `*` matches any run of characters; `\*` is a literal star and `\\` a backslash.
fn string_matches(value: &str, pattern: &str) -> bool {
    #[derive(PartialEq)]
    enum Tok {
        Star,
        Ch(char),
    }
    let mut toks = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => toks.push(Tok::Ch(chars.next().unwrap_or('\\'))),
            '*' => toks.push(Tok::Star),
            c => toks.push(Tok::Ch(c)),
        }
    }
    let v: Vec<char> = value.chars().collect();
    // Classic wildcard matching with backtracking to the last star.
    let (mut i, mut t) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < v.len() {
        match toks.get(t) {
            Some(Tok::Ch(c)) if *c == v[i] => {
                i += 1;
                t += 1;
            }
            Some(Tok::Star) => {
                star = Some((t, i));
                t += 1;
            }
            _ => match star {
                Some((st, si)) => {
                    t = st + 1;
                    i = si + 1;
                    star = Some((st, si + 1));
                }
                None => return false,
            },
        }
    }
    toks[t..].iter().all(|tok| *tok == Tok::Star)
}

impl Condition {
    /// Whether the condition holds for `input`.
    pub fn evaluate(&self, input: &Value, context: &Context<'_>) -> Result<bool, StatesError> {
        match self {
            Condition::And(all) => {
                for c in all {
                    if !c.evaluate(input, context)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Condition::Or(any) => {
                for c in any {
                    if c.evaluate(input, context)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Condition::Not(c) => Ok(!c.evaluate(input, context)?),
            Condition::Test {
                variable,
                op,
                operand,
            } => {
                let value = match path::query(variable, input, context) {
                    Ok(v) => Some(v),
                    Err(_) if *op == Op::IsPresent => None,
                    Err(e) => {
                        return Err(StatesError::runtime(format!(
                            "Invalid path {variable:?}: the choice state's condition path references an invalid value ({})",
                            e.cause
                        )));
                    }
                };
                let operand = match operand {
                    Operand::Literal(v) => v.clone(),
                    Operand::Path(p) => path::query(p, input, context)?,
                };
                Ok(test(*op, value.as_ref(), &operand))
            }
        }
    }
}

fn test(op: Op, value: Option<&Value>, operand: &Value) -> bool {
    let Some(value) = value else {
        // Only IsPresent gets here with nothing.
        return operand == &Value::Bool(false);
    };
    let expect = operand.as_bool().unwrap_or(false);
    let cmp = |ord: Option<std::cmp::Ordering>, want: &[std::cmp::Ordering]| {
        ord.is_some_and(|o| want.contains(&o))
    };
    match op {
        Op::IsPresent => expect,
        Op::IsNull => value.is_null() == expect,
        Op::IsNumeric => value.is_number() == expect,
        Op::IsString => value.is_string() == expect,
        Op::IsBoolean => value.is_boolean() == expect,
        Op::IsTimestamp => value.as_str().and_then(timestamp).is_some() == expect,
        Op::BooleanEquals => value.as_bool().is_some() && value.as_bool() == operand.as_bool(),
        Op::StringMatches => match (value.as_str(), operand.as_str()) {
            (Some(v), Some(p)) => string_matches(v, p),
            _ => false,
        },
        Op::StringEquals
        | Op::StringLessThan
        | Op::StringGreaterThan
        | Op::StringLessThanEquals
        | Op::StringGreaterThanEquals => {
            let ord = match (value.as_str(), operand.as_str()) {
                (Some(a), Some(b)) => Some(a.cmp(b)),
                _ => None,
            };
            cmp(ord, ordering_for(op))
        }
        Op::NumericEquals
        | Op::NumericLessThan
        | Op::NumericGreaterThan
        | Op::NumericLessThanEquals
        | Op::NumericGreaterThanEquals => {
            let ord = match (value.as_f64(), operand.as_f64()) {
                (Some(a), Some(b)) if value.is_number() => a.partial_cmp(&b),
                _ => None,
            };
            cmp(ord, ordering_for(op))
        }
        Op::TimestampEquals
        | Op::TimestampLessThan
        | Op::TimestampGreaterThan
        | Op::TimestampLessThanEquals
        | Op::TimestampGreaterThanEquals => {
            let ord = match (
                value.as_str().and_then(timestamp),
                operand.as_str().and_then(timestamp),
            ) {
                (Some(a), Some(b)) => Some(a.cmp(&b)),
                _ => None,
            };
            cmp(ord, ordering_for(op))
        }
    }
}

fn ordering_for(op: Op) -> &'static [std::cmp::Ordering] {
    use std::cmp::Ordering::*;
    match op {
        Op::StringEquals | Op::NumericEquals | Op::TimestampEquals => &[Equal],
        Op::StringLessThan | Op::NumericLessThan | Op::TimestampLessThan => &[Less],
        Op::StringGreaterThan | Op::NumericGreaterThan | Op::TimestampGreaterThan => &[Greater],
        Op::StringLessThanEquals | Op::NumericLessThanEquals | Op::TimestampLessThanEquals => {
            &[Less, Equal]
        }
        _ => &[Greater, Equal],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(v: Value) -> Condition {
        parse_condition(&v, false).unwrap().0
    }

    fn holds(v: Value, input: Value) -> bool {
        rule(v).evaluate(&input, &json!({}).into()).unwrap()
    }

    #[test]
    fn string_operators_and_their_path_forms() {
        let input = json!({"s": "b", "other": "b", "lo": "a"});
        assert!(holds(
            json!({"Variable": "$.s", "StringEquals": "b"}),
            input.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.s", "StringEqualsPath": "$.other"}),
            input.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.s", "StringGreaterThan": "a"}),
            input.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.s", "StringGreaterThanPath": "$.lo"}),
            input.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.s", "StringLessThan": "c"}),
            input.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.s", "StringLessThanEquals": "b"}),
            input.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.s", "StringGreaterThanEquals": "b"}),
            input.clone()
        ));
        assert!(!holds(
            json!({"Variable": "$.s", "StringLessThanPath": "$.lo"}),
            input.clone()
        ));
        assert!(
            !holds(
                json!({"Variable": "$.n", "StringEquals": "1"}),
                json!({"n": 1})
            ),
            "type mismatch is false"
        );
    }

    #[test]
    fn string_matches_wildcards_and_escapes() {
        assert!(string_matches("log-2026.txt", "log-*.txt"));
        assert!(string_matches("anything", "*"));
        assert!(!string_matches("log.csv", "log-*.txt"));
        assert!(string_matches("a*b", r"a\*b"));
        assert!(!string_matches("axb", r"a\*b"));
        assert!(string_matches("abcbc", "a*bc"));
        assert!(holds(
            json!({"Variable": "$.s", "StringMatches": "back*"}),
            json!({"s": "backend"})
        ));
    }

    #[test]
    fn numeric_boolean_and_timestamp_operators() {
        let input = json!({"n": 3, "m": 3.0, "b": true, "t": "2026-11-25T21:30:00Z", "u": "2026-11-25T22:30:00+01:00"});
        assert!(holds(
            json!({"Variable": "$.n", "NumericEquals": 3}),
            input.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.n", "NumericEqualsPath": "$.m"}),
            input.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.n", "NumericLessThan": 4}),
            input.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.n", "NumericGreaterThanEquals": 3}),
            input.clone()
        ));
        assert!(!holds(
            json!({"Variable": "$.n", "NumericGreaterThan": 3}),
            input.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.n", "NumericLessThanEquals": 3}),
            input.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.b", "BooleanEquals": true}),
            input.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.b", "BooleanEqualsPath": "$.b"}),
            input.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.t", "TimestampEqualsPath": "$.u"}),
            input.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.t", "TimestampLessThan": "2026-11-25T21:30:01Z"}),
            input.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.t", "TimestampGreaterThanEquals": "2026-11-25T21:30:00Z"}),
            input.clone()
        ));
        assert!(!holds(
            json!({"Variable": "$.t", "TimestampGreaterThan": "2026-11-25T21:30:00Z"}),
            input.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.t", "TimestampLessThanEquals": "2026-11-25T21:30:00Z"}),
            input.clone()
        ));
        assert!(!holds(
            json!({"Variable": "$.n", "TimestampEquals": "2026-11-25T21:30:00Z"}),
            input.clone()
        ));
    }

    #[test]
    fn type_tests_and_presence() {
        let input = json!({"z": null, "n": 1, "s": "x", "b": false, "t": "2026-11-25T21:30:00Z"});
        assert!(holds(
            json!({"Variable": "$.z", "IsNull": true}),
            input.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.n", "IsNumeric": true}),
            input.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.s", "IsString": true}),
            input.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.b", "IsBoolean": true}),
            input.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.t", "IsTimestamp": true}),
            input.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.s", "IsTimestamp": false}),
            input.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.missing", "IsPresent": false}),
            input.clone()
        ));
        assert!(holds(
            json!({"Variable": "$.n", "IsPresent": true}),
            input.clone()
        ));
    }

    #[test]
    fn and_or_not_compose() {
        let input = json!({"a": 1, "b": "x"});
        assert!(holds(
            json!({"And": [{"Variable": "$.a", "NumericEquals": 1}, {"Variable": "$.b", "StringEquals": "x"}]}),
            input.clone()
        ));
        assert!(holds(
            json!({"Or": [{"Variable": "$.a", "NumericEquals": 2}, {"Variable": "$.b", "StringEquals": "x"}]}),
            input.clone()
        ));
        assert!(holds(
            json!({"Not": {"Variable": "$.a", "NumericEquals": 2}}),
            input.clone()
        ));
    }

    #[test]
    fn a_missing_variable_is_a_runtime_error() {
        let err = rule(json!({"Variable": "$.missing", "StringEquals": "x"}))
            .evaluate(&json!({}), &json!({}).into())
            .unwrap_err();
        assert_eq!(err.error, "States.Runtime");
    }

    #[test]
    fn malformed_rules_are_refused() {
        assert!(
            parse_condition(
                &json!({"Variable": "$.a", "StringEquals": 1, "Next": "X"}),
                true
            )
            .is_err()
        );
        assert!(
            parse_condition(&json!({"Variable": "$.a", "StringEquals": "x"}), true).is_err(),
            "top level needs Next"
        );
        assert!(
            parse_condition(
                &json!({"Variable": "$.a", "StringEquals": "x", "Next": "X"}),
                false
            )
            .is_err()
        );
        assert!(
            parse_condition(
                &json!({"Variable": "$.a", "StringEqual": "x", "Next": "X"}),
                true
            )
            .is_err()
        );
        assert!(
            parse_condition(
                &json!({"Variable": "$.a", "StringMatchesPath": "$.b", "Next": "X"}),
                true
            )
            .is_err()
        );
        assert!(
            parse_condition(
                &json!({"Variable": "$.a", "StringEquals": "x", "NumericEquals": 1, "Next": "X"}),
                true
            )
            .is_err()
        );
        assert!(
            parse_condition(
                &json!({"Variable": "$.t", "TimestampEquals": "yesterday", "Next": "X"}),
                true
            )
            .is_err()
        );
        assert!(parse_condition(&json!({"And": [], "Next": "X"}), true).is_err());
    }
}
