//! Intrinsic functions (`States.Format('{} is {}', $.a, $.b)` and the rest), parsed and evaluated.
//! Any failure is States.IntrinsicFailure; a path that finds nothing is States.Runtime, as for
//! every other path.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::{Map, Number, Value, json};
use sha2::Digest;

use crate::context::Context;
use crate::error::{StatesError, names};
use crate::path;

/// A parsed argument.
#[derive(Debug, Clone, PartialEq)]
enum Arg {
    Literal(Value),
    Path(String),
    Call(Call),
}

/// A parsed call.
#[derive(Debug, Clone, PartialEq)]
struct Call {
    name: String,
    args: Vec<Arg>,
}

// Escaped braces in string literals, kept apart from placeholders until States.Format is done.
const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';

fn fail(cause: impl Into<String>) -> StatesError {
    StatesError::new(names::INTRINSIC_FAILURE, cause)
}

/// Whether a `.$` value is an intrinsic call rather than a path.
pub fn is_intrinsic(s: &str) -> bool {
    s.starts_with("States.")
}

/// Evaluates an intrinsic expression against the state's input and the context object.
pub fn evaluate(expr: &str, input: &Value, context: &Context<'_>) -> Result<Value, StatesError> {
    let mut p = Parser { s: expr, pos: 0 };
    let call = p.call()?;
    p.skip_ws();
    if p.pos != expr.len() {
        return Err(fail(format!("unexpected text after the call in {expr:?}")));
    }
    let value = eval(&call, input, context)?;
    Ok(restore_braces(value))
}

/// Checks what can be checked before running (for validation): the syntax, that the function
/// exists, its number of arguments, and the type of every literal argument.
pub fn check(expr: &str) -> Result<(), StatesError> {
    let mut p = Parser { s: expr, pos: 0 };
    let call = p.call()?;
    p.skip_ws();
    if p.pos != expr.len() {
        return Err(fail(format!("unexpected text after the call in {expr:?}")));
    }
    check_call(&call)
}

/// What an argument must be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Want {
    /// Anything.
    Any,
    /// A string.
    Str,
    /// A number.
    Num,
    /// A boolean.
    Bool,
    /// An array or an object: only a path or a call can give one.
    Data,
}

/// A function's arguments: those it needs, those it may take after them, and what any number of
/// further ones must be (`None`: no more). From the States Language's intrinsic function
/// reference.
struct Signature {
    required: &'static [Want],
    optional: &'static [Want],
    variadic: Option<Want>,
}

fn signature(name: &str) -> Option<Signature> {
    use Want::*;
    let (required, optional, variadic): (&'static [Want], &'static [Want], _) = match name {
        "States.Format" => (&[Str], &[], Some(Any)),
        "States.StringToJson" | "States.Base64Encode" | "States.Base64Decode" => {
            (&[Str], &[], None)
        }
        "States.JsonToString" => (&[Data], &[], None),
        "States.Array" => (&[], &[], Some(Any)),
        "States.ArrayPartition" | "States.ArrayGetItem" => (&[Data, Num], &[], None),
        "States.ArrayContains" => (&[Data, Any], &[], None),
        "States.ArrayRange" => (&[Num, Num, Num], &[], None),
        "States.ArrayLength" | "States.ArrayUnique" => (&[Data], &[], None),
        "States.Hash" => (&[Str, Str], &[], None),
        "States.JsonMerge" => (&[Data, Data, Bool], &[], None),
        "States.MathRandom" => (&[Num, Num], &[Num], None),
        "States.MathAdd" => (&[Num, Num], &[], None),
        "States.StringSplit" => (&[Str, Str], &[], None),
        "States.UUID" => (&[], &[], None),
        _ => return None,
    };
    Some(Signature {
        required,
        optional,
        variadic,
    })
}

fn check_call(call: &Call) -> Result<(), StatesError> {
    let name = &call.name;
    let sig = signature(name).ok_or_else(|| fail(format!("unknown intrinsic function {name}")))?;
    let (min, max) = (sig.required.len(), sig.required.len() + sig.optional.len());
    let n = call.args.len();
    if n < min || (sig.variadic.is_none() && n > max) {
        let expected = match (sig.variadic, min == max) {
            (Some(_), _) => format!("at least {min}"),
            (None, true) => min.to_string(),
            (None, false) => format!("{min} to {max}"),
        };
        return Err(fail(format!(
            "{name} takes {expected} argument(s), got {n}"
        )));
    }
    let kinds: Vec<Want> = sig.required.iter().chain(sig.optional).copied().collect();
    for (i, arg) in call.args.iter().enumerate() {
        // Past the fixed arguments only a variadic one can be (the count was checked above).
        let want = kinds.get(i).copied().or(sig.variadic).unwrap_or(Want::Any);
        match arg {
            Arg::Call(inner) => check_call(inner)?,
            Arg::Path(_) => {}
            Arg::Literal(v) => {
                let fits = match want {
                    Want::Any => true,
                    Want::Str => v.is_string(),
                    Want::Num => v.is_number(),
                    Want::Bool => v.is_boolean(),
                    Want::Data => false,
                };
                if !fits {
                    let expected = match want {
                        Want::Str => "a string",
                        Want::Num => "a number",
                        Want::Bool => "a boolean",
                        _ => "a path or a call (no literal is an array or an object)",
                    };
                    return Err(fail(format!(
                        "{name}: argument {} must be {expected}, not the literal {v}",
                        i + 1
                    )));
                }
            }
        }
    }
    if name == "States.Hash"
        && let Some(Arg::Literal(Value::String(algorithm))) = call.args.get(1)
        && !HASH_ALGORITHMS.contains(&algorithm.as_str())
    {
        return Err(fail(format!(
            "{name}: the algorithm is one of {}",
            HASH_ALGORITHMS.join(", ")
        )));
    }
    Ok(())
}

/// The algorithms States.Hash takes.
const HASH_ALGORITHMS: [&str; 5] = ["MD5", "SHA-1", "SHA-256", "SHA-384", "SHA-512"];

/// The most characters States.Hash, Base64Encode and Base64Decode take.
const MAX_INPUT_CHARS: usize = 10_000;

fn restore_braces(v: Value) -> Value {
    match v {
        Value::String(s) if s.contains([OPEN, CLOSE]) => {
            Value::String(s.replace(OPEN, "{").replace(CLOSE, "}"))
        }
        Value::Array(a) => Value::Array(a.into_iter().map(restore_braces).collect()),
        Value::Object(o) => {
            Value::Object(o.into_iter().map(|(k, v)| (k, restore_braces(v))).collect())
        }
        other => other,
    }
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        let s: &'a str = self.s;
        &s[self.pos..]
    }

    fn skip_ws(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.s.len() - trimmed.len();
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_ws();
        if self.rest().starts_with(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn call(&mut self) -> Result<Call, StatesError> {
        self.skip_ws();
        let name_len = self
            .rest()
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
            .unwrap_or(self.rest().len());
        let name = self.rest()[..name_len].to_owned();
        if !name.starts_with("States.") {
            return Err(fail(format!("{:?} is not an intrinsic function", self.s)));
        }
        self.pos += name_len;
        if !self.eat('(') {
            return Err(fail(format!("expected '(' after {name}")));
        }
        let mut args = Vec::new();
        if !self.eat(')') {
            loop {
                args.push(self.arg()?);
                if self.eat(')') {
                    break;
                }
                if !self.eat(',') {
                    return Err(fail(format!("expected ',' or ')' in {:?}", self.s)));
                }
            }
        }
        Ok(Call { name, args })
    }

    fn arg(&mut self) -> Result<Arg, StatesError> {
        self.skip_ws();
        let rest = self.rest();
        if rest.starts_with('\'') {
            return self.string().map(|s| Arg::Literal(Value::String(s)));
        }
        if rest.starts_with('$') {
            return Ok(Arg::Path(self.path()));
        }
        if rest.starts_with("States.") {
            return self.call().map(Arg::Call);
        }
        let end = rest.find([',', ')']).unwrap_or(rest.len());
        let token = rest[..end].trim();
        self.pos += end;
        let value = match token {
            "null" => Value::Null,
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            n => serde_json::from_str::<Number>(n)
                .map(Value::Number)
                .map_err(|_| fail(format!("unexpected argument {n:?}")))?,
        };
        Ok(Arg::Literal(value))
    }

    /// A single-quoted literal; `\'`, `\\`, `\{` and `\}` are escapes.
    fn string(&mut self) -> Result<String, StatesError> {
        self.pos += 1;
        let mut out = String::new();
        let mut chars = self.rest().char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\'' => {
                    self.pos += i + 1;
                    return Ok(out);
                }
                '\\' => match chars.next() {
                    Some((_, '{')) => out.push(OPEN),
                    Some((_, '}')) => out.push(CLOSE),
                    Some((_, e)) => out.push(e),
                    None => break,
                },
                c => out.push(c),
            }
        }
        Err(fail(format!("unterminated string in {:?}", self.s)))
    }

    /// A path runs to the next ',' or ')' outside brackets and quotes.
    fn path(&mut self) -> String {
        let rest = self.rest();
        let mut depth = 0usize;
        let mut quote: Option<char> = None;
        let mut end = rest.len();
        for (i, c) in rest.char_indices() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '[' | '(') => depth += 1,
                (None, ']') => depth = depth.saturating_sub(1),
                (None, ')') if depth > 0 => depth -= 1,
                (None, ',' | ')') => {
                    end = i;
                    break;
                }
                _ => {}
            }
        }
        self.pos += end;
        rest[..end].trim().to_owned()
    }
}

fn eval(call: &Call, input: &Value, context: &Context<'_>) -> Result<Value, StatesError> {
    let args = call
        .args
        .iter()
        .map(|a| match a {
            Arg::Literal(v) => Ok(v.clone()),
            Arg::Path(p) => path::query(p, input, context),
            Arg::Call(c) => eval(c, input, context),
        })
        .collect::<Result<Vec<_>, _>>()?;
    apply(&call.name, args)
}

fn arity(
    name: &str,
    args: &[Value],
    range: std::ops::RangeInclusive<usize>,
) -> Result<(), StatesError> {
    if range.contains(&args.len()) {
        Ok(())
    } else {
        Err(fail(format!(
            "{name} takes {} argument(s), got {}",
            if range.start() == range.end() {
                range.start().to_string()
            } else {
                format!("{} to {}", range.start(), range.end())
            },
            args.len()
        )))
    }
}

fn string<'a>(name: &str, v: &'a Value) -> Result<&'a str, StatesError> {
    v.as_str()
        .ok_or_else(|| fail(format!("{name}: expected a string, got {v}")))
}

fn array<'a>(name: &str, v: &'a Value) -> Result<&'a Vec<Value>, StatesError> {
    v.as_array()
        .ok_or_else(|| fail(format!("{name}: expected an array, got {v}")))
}

fn integer(name: &str, v: &Value) -> Result<i64, StatesError> {
    v.as_i64()
        .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
        .ok_or_else(|| fail(format!("{name}: expected an integer, got {v}")))
}

/// A number as the functions that take integers read it: a non-integer is rounded to the
/// nearest integer, halves upwards (Java's Math.round: Step Functions runs on the JVM).
fn rounded(name: &str, v: &Value) -> Result<i64, StatesError> {
    if let Some(n) = v.as_i64() {
        return Ok(n);
    }
    v.as_f64()
        .map(|f| (f + 0.5).floor())
        .filter(|f| f.is_finite() && f.abs() < 9.0e15)
        .map(|f| f as i64)
        .ok_or_else(|| fail(format!("{name}: expected a number, got {v}")))
}

/// A string argument of at most [`MAX_INPUT_CHARS`] characters.
fn bounded<'a>(name: &str, v: &'a Value) -> Result<&'a str, StatesError> {
    let s = string(name, v)?;
    let chars = s.chars().count();
    if chars > MAX_INPUT_CHARS {
        return Err(fail(format!(
            "{name}: the input is {chars} characters, more than {MAX_INPUT_CHARS}"
        )));
    }
    Ok(s)
}

/// How States.Format and StringSplit print a value: strings bare, the rest as JSON.
fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn apply(name: &str, args: Vec<Value>) -> Result<Value, StatesError> {
    match name {
        "States.Format" => {
            if args.is_empty() {
                return Err(fail("States.Format needs a template"));
            }
            let template = string(name, &args[0])?;
            let mut values = args[1..].iter();
            let mut out = String::new();
            let mut rest = template;
            while let Some(at) = rest.find("{}") {
                out.push_str(&rest[..at]);
                let v = values
                    .next()
                    .ok_or_else(|| fail("States.Format: more placeholders than arguments"))?;
                out.push_str(&display(v));
                rest = &rest[at + 2..];
            }
            out.push_str(rest);
            if values.next().is_some() {
                return Err(fail("States.Format: more arguments than placeholders"));
            }
            Ok(Value::String(out))
        }
        "States.StringToJson" => {
            arity(name, &args, 1..=1)?;
            serde_json::from_str(string(name, &args[0])?).map_err(|e| fail(format!("{name}: {e}")))
        }
        "States.JsonToString" => {
            arity(name, &args, 1..=1)?;
            Ok(Value::String(args[0].to_string()))
        }
        "States.Array" => Ok(Value::Array(args)),
        "States.ArrayPartition" => {
            arity(name, &args, 2..=2)?;
            let items = array(name, &args[0])?;
            let size = rounded(name, &args[1])?;
            if size <= 0 {
                return Err(fail(format!("{name}: chunk size must be positive")));
            }
            Ok(Value::Array(
                items
                    .chunks(size as usize)
                    .map(|c| Value::Array(c.to_vec()))
                    .collect(),
            ))
        }
        "States.ArrayContains" => {
            arity(name, &args, 2..=2)?;
            Ok(Value::Bool(array(name, &args[0])?.contains(&args[1])))
        }
        "States.ArrayRange" => {
            arity(name, &args, 3..=3)?;
            let (start, end, step) = (
                rounded(name, &args[0])?,
                rounded(name, &args[1])?,
                rounded(name, &args[2])?,
            );
            if step == 0 {
                return Err(fail(format!("{name}: step must not be 0")));
            }
            let mut out = Vec::new();
            let mut i = start;
            while (step > 0 && i <= end) || (step < 0 && i >= end) {
                out.push(json!(i));
                if out.len() > 1000 {
                    return Err(fail(format!("{name}: more than 1000 items")));
                }
                i += step;
            }
            Ok(Value::Array(out))
        }
        "States.ArrayGetItem" => {
            arity(name, &args, 2..=2)?;
            let items = array(name, &args[0])?;
            let idx = integer(name, &args[1])?;
            usize::try_from(idx)
                .ok()
                .and_then(|i| items.get(i))
                .cloned()
                .ok_or_else(|| fail(format!("{name}: index {idx} is out of bounds")))
        }
        "States.ArrayLength" => {
            arity(name, &args, 1..=1)?;
            Ok(json!(array(name, &args[0])?.len()))
        }
        "States.ArrayUnique" => {
            arity(name, &args, 1..=1)?;
            let mut out: Vec<Value> = Vec::new();
            for v in array(name, &args[0])? {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
            Ok(Value::Array(out))
        }
        "States.Base64Encode" => {
            arity(name, &args, 1..=1)?;
            Ok(Value::String(BASE64.encode(bounded(name, &args[0])?)))
        }
        "States.Base64Decode" => {
            arity(name, &args, 1..=1)?;
            let bytes = BASE64
                .decode(bounded(name, &args[0])?)
                .map_err(|e| fail(format!("{name}: {e}")))?;
            String::from_utf8(bytes)
                .map(Value::String)
                .map_err(|e| fail(format!("{name}: {e}")))
        }
        "States.Hash" => {
            arity(name, &args, 2..=2)?;
            let data = bounded(name, &args[0])?;
            let digest = match string(name, &args[1])? {
                "MD5" => hex::encode(md5::Md5::digest(data.as_bytes())),
                "SHA-1" => hex::encode(sha1::Sha1::digest(data.as_bytes())),
                "SHA-256" => hex::encode(sha2::Sha256::digest(data.as_bytes())),
                "SHA-384" => hex::encode(sha2::Sha384::digest(data.as_bytes())),
                "SHA-512" => hex::encode(sha2::Sha512::digest(data.as_bytes())),
                other => return Err(fail(format!("{name}: unknown algorithm {other:?}"))),
            };
            Ok(Value::String(digest))
        }
        "States.JsonMerge" => {
            arity(name, &args, 3..=3)?;
            if args[2] != Value::Bool(false) {
                return Err(fail(format!(
                    "{name}: only a shallow merge (false) is supported"
                )));
            }
            let (Some(a), Some(b)) = (args[0].as_object(), args[1].as_object()) else {
                return Err(fail(format!("{name}: both arguments must be objects")));
            };
            let mut merged: Map<String, Value> = a.clone();
            merged.extend(b.clone());
            Ok(Value::Object(merged))
        }
        "States.MathRandom" => {
            arity(name, &args, 2..=3)?;
            let (start, end) = (rounded(name, &args[0])?, rounded(name, &args[1])?);
            if end <= start {
                return Err(fail(format!("{name}: end must be greater than start")));
            }
            let n = match args.get(2) {
                Some(seed) => fastrand::Rng::with_seed(rounded(name, seed)? as u64).i64(start..end),
                None => fastrand::i64(start..end),
            };
            Ok(json!(n))
        }
        "States.MathAdd" => {
            arity(name, &args, 2..=2)?;
            rounded(name, &args[0])?
                .checked_add(rounded(name, &args[1])?)
                .map(|n| json!(n))
                .ok_or_else(|| fail(format!("{name}: overflow")))
        }
        "States.StringSplit" => {
            arity(name, &args, 2..=2)?;
            let s = string(name, &args[0])?;
            let delimiters: Vec<char> = string(name, &args[1])?.chars().collect();
            Ok(Value::Array(
                s.split(delimiters.as_slice())
                    .filter(|p| !p.is_empty())
                    .map(|p| Value::String(p.to_owned()))
                    .collect(),
            ))
        }
        "States.UUID" => {
            arity(name, &args, 0..=0)?;
            let mut bytes: [u8; 16] = std::array::from_fn(|_| fastrand::u8(..));
            bytes[6] = (bytes[6] & 0x0f) | 0x40;
            bytes[8] = (bytes[8] & 0x3f) | 0x80;
            let h = hex::encode(bytes);
            Ok(Value::String(format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            )))
        }
        other => Err(fail(format!("unknown intrinsic function {other}"))),
    }
}

#[cfg(test)]
mod tests;
