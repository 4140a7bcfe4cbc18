//! Input and output processing with arbitrary JSON: paths, ResultPath, payload templates and
//! intrinsic functions must return errors, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use selfheal_states::context::{Context, Parts};
use selfheal_states::{intrinsic, path, template};
use serde_json::{Value, json};

fuzz_target!(|data: &[u8]| {
    // Three parts separated by 0xff: a JSON input, a path or expression, a JSON template.
    let mut parts = data.split(|b| *b == 0xff);
    let input: Value = parts
        .next()
        .and_then(|p| serde_json::from_slice(p).ok())
        .unwrap_or(Value::Null);
    let expr = parts
        .next()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .unwrap_or_default();
    let tpl: Value = parts
        .next()
        .and_then(|p| serde_json::from_slice(p).ok())
        .unwrap_or(json!({}));
    let execution = json!({"Name": "fuzz", "Input": input.clone()});
    let ctx = Context::new(Parts {
        execution: &execution,
        state_machine: &Value::Null,
        state: "Fuzz",
        entered: "2026-01-01T00:00:00.000Z".into(),
        retry: 0,
        token: Some("token"),
        item: Some((0, &input)),
    });

    let _ = path::query(&expr, &input, &ctx);
    let _ = path::set(input.clone(), &expr, json!(1));
    let _ = intrinsic::evaluate(&expr, &input, &ctx);
    let _ = template::apply(&tpl, &input, &ctx);
    let _ = template::apply(&json!({"x.$": expr}), &input, &ctx);
});
