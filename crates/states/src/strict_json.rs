//! JSON read as Step Functions reads a definition: a key given twice in one object is an error
//! there, while JSON parsers (serde_json's `Value` among them) silently keep the last one.

use std::fmt;

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// The value, and where a key appears twice (`States.A.Type`, `States.M.Iterator`...).
pub(crate) fn parse(text: &str) -> Result<(Value, Vec<String>), serde_json::Error> {
    let mut duplicates = Vec::new();
    let mut de = serde_json::Deserializer::from_str(text);
    let value = Node {
        at: String::new(),
        duplicates: &mut duplicates,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok((value, duplicates))
}

/// One value being read, at a path, noting duplicate keys.
struct Node<'a> {
    at: String,
    duplicates: &'a mut Vec<String>,
}

impl Node<'_> {
    fn child(&mut self, key: &str) -> Node<'_> {
        Node {
            at: if self.at.is_empty() {
                key.to_owned()
            } else {
                format!("{}.{key}", self.at)
            },
            duplicates: self.duplicates,
        }
    }
}

impl<'de> DeserializeSeed<'de> for Node<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Node<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        loop {
            let index = items.len();
            let child = Node {
                at: format!("{}[{index}]", self.at),
                duplicates: &mut *self.duplicates,
            };
            match seq.next_element_seed(child)? {
                Some(v) => items.push(v),
                None => return Ok(Value::Array(items)),
            }
        }
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Value, A::Error> {
        let mut fields = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let child = self.child(&key);
            let at = child.at.clone();
            let value = map.next_value_seed(child)?;
            if fields.insert(key, value).is_some() {
                self.duplicates.push(at);
            }
        }
        Ok(Value::Object(fields))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_key_given_twice_is_named_with_its_path() {
        let text = r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Type": "Task", "End": true}},
                       "L": [{"x": 1, "x": 2}]}"#;
        let (value, duplicates) = parse(text).unwrap();
        assert_eq!(duplicates, ["States.A.Type", "L[0].x"]);
        assert_eq!(
            value["States"]["A"]["Type"], "Task",
            "the last one, as serde_json keeps"
        );
    }

    #[test]
    fn any_json_reads_as_serde_json_reads_it() {
        let v = json!({"a": [1, -2, 2.5, "s", null, true, {"b": {}}], "c": u64::MAX});
        let (parsed, duplicates) = parse(&v.to_string()).unwrap();
        assert_eq!(parsed, v);
        assert!(duplicates.is_empty());
        assert!(parse("{\"a\": 1} trailing").is_err());
    }
}
