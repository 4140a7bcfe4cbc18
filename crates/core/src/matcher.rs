//! Label matchers in Alertmanager's syntax: `alertname="KubePodCrashLooping"`,
//! `severity=~"critical|page"`, `namespace!="kube-system"`, `team!~"infra-.*"`.

use std::fmt;
use std::str::FromStr;

use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::alert::Labels;

crate::spelled_enum!(
    /// The four operators of Alertmanager's matchers.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum MatchOp {
        /// `=`: the value equals.
        Equal = "=",
        /// `!=`: the value differs.
        NotEqual = "!=",
        /// `=~`: the value matches the regular expression, anchored at both ends.
        Regex = "=~",
        /// `!~`: the value does not match the regular expression.
        NotRegex = "!~",
    }
);

/// One matcher on one label. A missing label has the empty value, as in Alertmanager.
#[derive(Debug, Clone)]
pub struct Matcher {
    name: String,
    op: MatchOp,
    value: String,
    regex: Option<Regex>,
}

/// A matcher string that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MatcherError {
    /// The label name is not `[a-zA-Z_][a-zA-Z0-9_]*`.
    #[error("{0:?}: label name must match [a-zA-Z_][a-zA-Z0-9_]*")]
    InvalidName(String),
    /// No `=`, `!=`, `=~` or `!~` after the name.
    #[error("{0:?}: expected one of =, !=, =~, !~ after the label name")]
    MissingOperator(String),
    /// A quoted value without its closing quote, or text after it.
    #[error("{0:?}: value must be one double-quoted string")]
    BadQuoting(String),
    /// The regular expression does not compile.
    #[error("{matcher:?}: invalid regular expression: {reason}")]
    InvalidRegex {
        /// The whole matcher.
        matcher: String,
        /// The regex engine's complaint.
        reason: String,
    },
}

impl Matcher {
    /// Builds a matcher; regular expressions are anchored as Alertmanager anchors them.
    pub fn new(name: &str, op: MatchOp, value: &str) -> Result<Self, MatcherError> {
        let valid_name = name
            .chars()
            .enumerate()
            .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()));
        if name.is_empty() || !valid_name {
            return Err(MatcherError::InvalidName(name.to_owned()));
        }
        let regex = match op {
            MatchOp::Regex | MatchOp::NotRegex => {
                Some(Regex::new(&format!("^(?:{value})$")).map_err(|e| {
                    MatcherError::InvalidRegex {
                        matcher: format!("{name}{}\"{value}\"", op.as_str()),
                        reason: e.to_string(),
                    }
                })?)
            }
            MatchOp::Equal | MatchOp::NotEqual => None,
        };
        Ok(Matcher {
            name: name.to_owned(),
            op,
            value: value.to_owned(),
            regex,
        })
    }

    /// The label this matcher looks at.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether `labels` satisfy this matcher.
    pub fn matches(&self, labels: &Labels) -> bool {
        let value = labels.get(&self.name).map_or("", String::as_str);
        match (self.op, &self.regex) {
            (MatchOp::Equal, _) => value == self.value,
            (MatchOp::NotEqual, _) => value != self.value,
            (MatchOp::Regex, Some(re)) => re.is_match(value),
            (MatchOp::NotRegex, Some(re)) => !re.is_match(value),
            (MatchOp::Regex | MatchOp::NotRegex, None) => false,
        }
    }
}

impl FromStr for Matcher {
    type Err = MatcherError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let op_at = s
            .find(['=', '!'])
            .ok_or_else(|| MatcherError::MissingOperator(s.to_owned()))?;
        let name = s[..op_at].trim();
        let rest = &s[op_at..];
        let (op, rest) = [
            MatchOp::Regex,
            MatchOp::NotRegex,
            MatchOp::NotEqual,
            MatchOp::Equal,
        ]
        .into_iter()
        .find_map(|op| rest.strip_prefix(op.as_str()).map(|r| (op, r.trim())))
        .ok_or_else(|| MatcherError::MissingOperator(s.to_owned()))?;
        let value = if let Some(quoted) = rest.strip_prefix('"') {
            unquote(quoted).ok_or_else(|| MatcherError::BadQuoting(s.to_owned()))?
        } else if rest.contains('"') {
            return Err(MatcherError::BadQuoting(s.to_owned()));
        } else {
            rest.to_owned()
        };
        Matcher::new(name, op, &value)
    }
}

/// The body of a double-quoted string (after the opening quote) with `\"`, `\\` and `\n` undone;
/// `None` unless the closing quote ends the input.
fn unquote(body: &str) -> Option<String> {
    let mut out = String::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return chars.as_str().trim().is_empty().then_some(out),
            '\\' => match chars.next()? {
                'n' => out.push('\n'),
                // Keep regex escapes such as `\d` intact; only quotes and backslashes are ours.
                e @ ('"' | '\\') => out.push(e),
                other => {
                    out.push('\\');
                    out.push(other);
                }
            },
            c => out.push(c),
        }
    }
    None
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let escaped = self
            .value
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        write!(f, "{}{}\"{escaped}\"", self.name, self.op.as_str())
    }
}

impl PartialEq for Matcher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.op == other.op && self.value == other.value
    }
}

impl Serialize for Matcher {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Matcher {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert::labels;

    fn m(s: &str) -> Matcher {
        s.parse().unwrap()
    }

    #[test]
    fn equal_and_not_equal() {
        let crash = labels(&[("alertname", "KubePodCrashLooping"), ("namespace", "shop")]);
        assert!(m(r#"alertname="KubePodCrashLooping""#).matches(&crash));
        assert!(!m(r#"alertname="KubePodNotReady""#).matches(&crash));
        assert!(m(r#"namespace!="kube-system""#).matches(&crash));
        assert!(!m(r#"namespace!="shop""#).matches(&crash));
    }

    #[test]
    fn regex_is_anchored_at_both_ends() {
        let page = labels(&[("severity", "critical")]);
        assert!(m(r#"severity=~"critical|page""#).matches(&page));
        assert!(!m(r#"severity=~"crit""#).matches(&page));
        assert!(m(r#"severity=~"crit.*""#).matches(&page));
        assert!(!m(r#"severity!~"critical|page""#).matches(&page));
        assert!(m(r#"severity!~"warn.*""#).matches(&page));
    }

    #[test]
    fn missing_label_is_the_empty_value() {
        let none = Labels::new();
        assert!(m(r#"team="""#).matches(&none));
        assert!(m(r#"team!="infra""#).matches(&none));
        assert!(!m(r#"team=~".+""#).matches(&none));
        assert!(m(r#"team!~".+""#).matches(&none));
    }

    #[test]
    fn quoting_spacing_and_unquoted_values() {
        let l = labels(&[("msg", r#"say "hi"\now"#), ("severity", "page")]);
        assert!(m(r#"msg = "say \"hi\"\\now""#).matches(&l));
        assert!(m("severity=page").matches(&l));
        assert!(
            m(r#"severity=~"\w+""#).matches(&l),
            "regex escapes survive unquoting"
        );
        assert_eq!(
            m(r#" severity =~ "critical|page" "#).to_string(),
            r#"severity=~"critical|page""#
        );
    }

    #[test]
    fn bad_matchers_say_why() {
        assert!(matches!(
            "alertname".parse::<Matcher>(),
            Err(MatcherError::MissingOperator(_))
        ));
        assert!(matches!(
            r#"1abc="x""#.parse::<Matcher>(),
            Err(MatcherError::InvalidName(_))
        ));
        assert!(matches!(
            r#"="x""#.parse::<Matcher>(),
            Err(MatcherError::InvalidName(_))
        ));
        assert!(matches!(
            r#"a="x"#.parse::<Matcher>(),
            Err(MatcherError::BadQuoting(_))
        ));
        assert!(matches!(
            r#"a="x" y"#.parse::<Matcher>(),
            Err(MatcherError::BadQuoting(_))
        ));
        assert!(matches!(
            r#"a=~"(""#.parse::<Matcher>(),
            Err(MatcherError::InvalidRegex { .. })
        ));
    }

    #[test]
    fn serde_uses_the_string_form() {
        let matcher: Matcher = serde_json::from_str(r#""namespace!=\"kube-system\"""#).unwrap();
        assert_eq!(
            serde_json::to_string(&matcher).unwrap(),
            r#""namespace!=\"kube-system\"""#
        );
    }
}
