//! Whatever reaches POST /alerts or the SNS topic: the webhook and SNS parsers, then triage with
//! the compiled-in catalog and policy, must answer with an error or a decision, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use selfheal_core::alert::{Door, Limits, parse_sns_event, parse_webhook};
use selfheal_core::{GuardrailState, assess, embedded};

fuzz_target!(|data: &[u8]| {
    let catalog = embedded::catalog().expect("the compiled-in catalog");
    let policy = embedded::policy().expect("the compiled-in policy");
    let now = chrono::DateTime::from_timestamp(1_764_900_000, 0).expect("a time");
    let mut alerts = Vec::new();
    if let Ok(p) = parse_webhook(data, &Limits::default(), Door::Webhook) {
        alerts.extend(p.alerts);
    }
    if let Ok(payloads) = parse_sns_event(data, &Limits::default()) {
        alerts.extend(payloads.into_iter().flat_map(|d| d.payload.alerts));
    }
    for alert in &alerts {
        let a = assess(alert, &catalog, &policy, |_| GuardrailState::default(), now);
        let _ = a.refusal(now);
    }
});
