//! The context object (`$$`): the execution, the state machine, the state entered, the task token
//! and the Map item. It is read far less often than it is needed, and its `Execution.Input` can be
//! large, so it is built on demand and only in the part a path names: copying the execution input
//! into every state of every Map iteration made a Map's cost grow with the square of its items.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

/// What `$$` paths read, for one state (and one Map item).
#[derive(Debug, Clone)]
pub struct Context<'a>(Source<'a>);

#[derive(Debug, Clone)]
enum Source<'a> {
    /// A context object given whole (tests, tools).
    Whole(Value),
    /// The executor's parts, assembled when read.
    Parts(Parts<'a>),
}

/// The pieces the executor has at hand when a state runs.
#[derive(Debug, Clone)]
pub struct Parts<'a> {
    /// `$$.Execution`: Id, Input, Name, RoleArn, StartTime.
    pub execution: &'a Value,
    /// `$$.StateMachine`: Id, Name.
    pub state_machine: &'a Value,
    /// `$$.State.Name`.
    pub state: &'a str,
    /// `$$.State.EnteredTime`, as Step Functions formats it.
    pub entered: String,
    /// `$$.State.RetryCount`.
    pub retry: u32,
    /// `$$.Task.Token`, in `.waitForTaskToken` states.
    pub token: Option<&'a str>,
    /// `$$.Map.Item.Index` and `.Value`, in a Map's ItemSelector.
    pub item: Option<(usize, &'a Value)>,
}

impl<'a> Context<'a> {
    /// The context of a running state.
    pub fn new(parts: Parts<'a>) -> Self {
        Context(Source::Parts(parts))
    }

    /// The value `$$rest` is evaluated against: only the top-level member `rest` names (`.Map`,
    /// `['State']`), or the whole object when it names none or many.
    pub fn view(&self, rest: &str) -> Cow<'_, Value> {
        let parts = match &self.0 {
            Source::Whole(v) => return Cow::Borrowed(v),
            Source::Parts(p) => p,
        };
        let mut out = Map::new();
        match top_member(rest) {
            Some(name) => {
                if let Some(v) = parts.member(name) {
                    out.insert(name.to_owned(), v);
                }
            }
            None => {
                for name in ["Execution", "State", "StateMachine", "Task", "Map"] {
                    if let Some(v) = parts.member(name) {
                        out.insert(name.to_owned(), v);
                    }
                }
            }
        }
        Cow::Owned(Value::Object(out))
    }
}

impl From<Value> for Context<'static> {
    fn from(v: Value) -> Self {
        Context(Source::Whole(v))
    }
}

impl Parts<'_> {
    fn member(&self, name: &str) -> Option<Value> {
        match name {
            "Execution" => Some(self.execution.clone()),
            "StateMachine" => Some(self.state_machine.clone()),
            "State" => Some(
                json!({"EnteredTime": self.entered, "Name": self.state, "RetryCount": self.retry}),
            ),
            "Task" => self.token.map(|t| json!({"Token": t})),
            "Map" => self
                .item
                .map(|(index, value)| json!({"Item": {"Index": index, "Value": value}})),
            _ => None,
        }
    }
}

/// The top-level member a path after `$$` starts with: `.Name` or `['Name']`; `None` for `$$`
/// itself, wildcards, descendants and unions.
fn top_member(rest: &str) -> Option<&str> {
    if let Some(dotted) = rest.strip_prefix('.') {
        let end = dotted.find(['.', '[']).unwrap_or(dotted.len());
        let name = &dotted[..end];
        return (!name.is_empty() && name != "*").then_some(name);
    }
    let quoted = rest
        .strip_prefix("['")
        .or_else(|| rest.strip_prefix("[\""))?;
    let end = quoted.find(['\'', '"'])?;
    let after = &quoted[end + 1..];
    after.starts_with(']').then_some(&quoted[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts<'a>(execution: &'a Value, item: Option<(usize, &'a Value)>) -> Parts<'a> {
        Parts {
            execution,
            state_machine: &Value::Null,
            state: "Fix",
            entered: "2026-12-01T00:00:00.000Z".into(),
            retry: 2,
            token: None,
            item,
        }
    }

    #[test]
    fn a_path_gets_only_the_member_it_names() {
        let execution = json!({"Input": {"big": [1, 2, 3]}});
        let item = json!("i");
        let ctx = Context::new(parts(&execution, Some((4, &item))));
        assert_eq!(
            *ctx.view(".Map.Item.Value"),
            json!({"Map": {"Item": {"Index": 4, "Value": "i"}}})
        );
        assert_eq!(ctx.view("['State']")["State"]["RetryCount"], 2);
        assert!(
            ctx.view(".Task.Token").get("Task").is_none(),
            "no token here"
        );
        let whole = ctx.view("");
        assert_eq!(whole["Execution"], execution);
        assert_eq!(whole["State"]["Name"], "Fix");
    }

    #[test]
    fn top_members_are_read_from_dots_and_brackets_only() {
        assert_eq!(top_member(".Execution.Input"), Some("Execution"));
        assert_eq!(top_member("['Map']['Item']"), Some("Map"));
        assert_eq!(top_member(".State"), Some("State"));
        for whole in ["", ".*", "..Name", "['a','b']"] {
            assert_eq!(top_member(whole), None, "{whole}");
        }
    }
}
