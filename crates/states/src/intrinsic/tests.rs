//! Tests of the parent module.

use super::*;

fn ev(expr: &str, input: Value) -> Result<Value, StatesError> {
    evaluate(
        expr,
        &input,
        &json!({"Execution": {"Name": "inc-1"}}).into(),
    )
}

#[test]
fn format_fills_placeholders_and_keeps_escaped_braces() {
    let v = ev(
        r"States.Format('{} restarted {} \{ok\} it\'s', $.name, $.n)",
        json!({"name": "backend", "n": 3}),
    )
    .unwrap();
    assert_eq!(v, json!("backend restarted 3 {ok} it's"));
    assert_eq!(
        ev("States.Format('id={}', $$.Execution.Name)", json!({})).unwrap(),
        json!("id=inc-1")
    );
    let err = ev("States.Format('{} {}', $.a)", json!({"a": 1})).unwrap_err();
    assert_eq!(err.error, "States.IntrinsicFailure");
}

#[test]
fn json_conversions_round_trip() {
    assert_eq!(
        ev("States.StringToJson($.s)", json!({"s": "{\"a\":[1,2]}"})).unwrap(),
        json!({"a": [1, 2]})
    );
    assert_eq!(
        ev("States.JsonToString($.o)", json!({"o": {"a": 1}})).unwrap(),
        json!("{\"a\":1}")
    );
    assert_eq!(
        ev(
            "States.StringToJson(States.JsonToString($.o))",
            json!({"o": {"k": [true, null]}})
        )
        .unwrap(),
        json!({"k": [true, null]})
    );
}

#[test]
fn array_functions() {
    assert_eq!(
        ev("States.Array('a', 1, $.x, null, true)", json!({"x": [2]})).unwrap(),
        json!(["a", 1, [2], null, true])
    );
    assert_eq!(
        ev(
            "States.ArrayPartition($.a, 2)",
            json!({"a": [1, 2, 3, 4, 5]})
        )
        .unwrap(),
        json!([[1, 2], [3, 4], [5]])
    );
    assert_eq!(
        ev("States.ArrayContains($.a, 3)", json!({"a": [1, 2, 3]})).unwrap(),
        json!(true)
    );
    assert_eq!(
        ev("States.ArrayRange(1, 9, 2)", json!({})).unwrap(),
        json!([1, 3, 5, 7, 9])
    );
    assert_eq!(
        ev("States.ArrayRange(5, 1, -2)", json!({})).unwrap(),
        json!([5, 3, 1])
    );
    assert_eq!(
        ev("States.ArrayGetItem($.a, 1)", json!({"a": ["x", "y"]})).unwrap(),
        json!("y")
    );
    assert_eq!(
        ev("States.ArrayLength($.a)", json!({"a": [1, 2, 3]})).unwrap(),
        json!(3)
    );
    assert_eq!(
        ev(
            "States.ArrayUnique($.a)",
            json!({"a": [1, 2, 1, {"a": 1}, {"a": 1}]})
        )
        .unwrap(),
        json!([1, 2, {"a": 1}])
    );
    assert_eq!(
        ev("States.ArrayGetItem($.a, 5)", json!({"a": []}))
            .unwrap_err()
            .error,
        "States.IntrinsicFailure"
    );
    assert!(ev("States.ArrayRange(0, 5000, 1)", json!({})).is_err());
}

#[test]
fn encoding_and_hashing() {
    assert_eq!(
        ev("States.Base64Encode('Data to encode')", json!({})).unwrap(),
        json!("RGF0YSB0byBlbmNvZGU=")
    );
    assert_eq!(
        ev("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", json!({})).unwrap(),
        json!("Data to encode")
    );
    assert_eq!(
        ev("States.Hash('input data', 'SHA-1')", json!({})).unwrap(),
        json!("aaff4a450a104cd177d28d18d74485e8cae074b7")
    );
    assert_eq!(
        ev("States.Hash('', 'MD5')", json!({})).unwrap(),
        json!("d41d8cd98f00b204e9800998ecf8427e")
    );
    assert_eq!(
        ev("States.Hash('abc', 'SHA-256')", json!({})).unwrap(),
        json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    );
    assert!(ev("States.Hash('abc', 'CRC32')", json!({})).is_err());
}

#[test]
fn merge_math_split_uuid() {
    assert_eq!(
        ev(
            "States.JsonMerge($.a, $.b, false)",
            json!({"a": {"x": 1, "y": {"z": 1}}, "b": {"y": {"w": 2}}})
        )
        .unwrap(),
        json!({"x": 1, "y": {"w": 2}})
    );
    assert!(ev("States.JsonMerge($.a, $.a, true)", json!({"a": {}})).is_err());
    assert_eq!(
        ev("States.MathAdd($.n, -1)", json!({"n": 10})).unwrap(),
        json!(9)
    );
    let r = ev("States.MathRandom(1, 3)", json!({}))
        .unwrap()
        .as_i64()
        .unwrap();
    assert!((1..3).contains(&r));
    assert_eq!(
        ev("States.MathRandom(1, 1000, 7)", json!({})).unwrap(),
        ev("States.MathRandom(1, 1000, 7)", json!({})).unwrap()
    );
    assert_eq!(
        ev("States.StringSplit('a,b;c', ',;')", json!({})).unwrap(),
        json!(["a", "b", "c"])
    );
    let u = ev("States.UUID()", json!({})).unwrap();
    let u = u.as_str().unwrap();
    assert_eq!(u.len(), 36);
    assert_eq!(&u[14..15], "4");
}

#[test]
fn bad_calls_fail_as_intrinsic_failures_and_missing_paths_as_runtime() {
    assert_eq!(
        ev("States.Nope(1)", json!({})).unwrap_err().error,
        "States.IntrinsicFailure"
    );
    assert_eq!(
        ev("States.ArrayLength(1, 2)", json!({})).unwrap_err().error,
        "States.IntrinsicFailure"
    );
    assert_eq!(
        ev("States.Format('x'", json!({})).unwrap_err().error,
        "States.IntrinsicFailure"
    );
    assert_eq!(
        ev("States.ArrayLength($.missing)", json!({}))
            .unwrap_err()
            .error,
        "States.Runtime"
    );
    assert!(check("States.Format('{}', States.ArrayLength($.a[0]['b,c']))").is_ok());
}

#[test]
fn validation_checks_arity_and_the_type_of_literal_arguments() {
    let refused = [
        ("States.MathAdd(1,'-1')", "argument 2 must be a number"),
        ("States.MathAdd(1)", "takes 2 argument(s), got 1"),
        (
            "States.MathRandom(1, 2, 3, 4)",
            "takes 2 to 3 argument(s), got 4",
        ),
        ("States.ArrayLength('abc')", "must be a path or a call"),
        ("States.JsonMerge($.a, $.b, 'no')", "must be a boolean"),
        ("States.Hash($.a, 'CRC32')", "the algorithm is one of"),
        ("States.UUID(1)", "takes 0 argument(s)"),
        ("States.Nope()", "unknown intrinsic function"),
        ("States.Format(States.MathAdd('a', 1))", "must be a number"),
    ];
    for (expr, why) in refused {
        let err = check(expr).expect_err(expr);
        assert!(err.cause.contains(why), "{expr}: {}", err.cause);
    }
    for ok in [
        "States.MathAdd($.a, -1)",
        "States.MathRandom(1, 9)",
        "States.MathRandom($.a, 9, 7)",
        "States.Format('{} {}', $.a, 1)",
        "States.Array()",
        "States.ArrayContains($.a, 'x')",
    ] {
        check(ok).unwrap_or_else(|e| panic!("{ok}: {}", e.cause));
    }
}

#[test]
fn numbers_are_rounded_as_the_jvm_rounds_and_inputs_are_bounded() {
    assert_eq!(ev("States.MathAdd(1.5, 1)", json!({})).unwrap(), json!(3));
    assert_eq!(ev("States.MathAdd(-1.5, 0)", json!({})).unwrap(), json!(-1));
    assert_eq!(
        ev("States.MathAdd($.n, 0.4)", json!({"n": 2})).unwrap(),
        json!(2)
    );
    assert_eq!(
        ev("States.ArrayRange(1.4, 5.6, 2)", json!({})).unwrap(),
        json!([1, 3, 5])
    );
    assert_eq!(
        ev("States.ArrayPartition($.a, 1.6)", json!({"a": [1, 2, 3]})).unwrap(),
        json!([[1, 2], [3]])
    );
    let err = ev("States.MathAdd($.s, 1)", json!({"s": "1"})).unwrap_err();
    assert_eq!(err.error, "States.IntrinsicFailure");
    let long = "x".repeat(10_001);
    for f in ["States.Hash($.s, 'MD5')", "States.Base64Encode($.s)"] {
        let err = ev(f, json!({ "s": long })).unwrap_err();
        assert!(err.cause.contains("more than 10000"), "{f}: {}", err.cause);
    }
    assert!(ev("States.Hash($.s, 'MD5')", json!({"s": "x".repeat(10_000)})).is_ok());
    let err = ev("States.Hash($.n, 'MD5')", json!({"n": 5})).unwrap_err();
    assert!(err.cause.contains("expected a string"), "{}", err.cause);
}
