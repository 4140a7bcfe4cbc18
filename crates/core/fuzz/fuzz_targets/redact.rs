//! The redactor on arbitrary text: no panic, and no input makes it slow (libFuzzer's -timeout
//! catches a run that takes too long) or its output unbounded.
#![no_main]

use libfuzzer_sys::fuzz_target;
use selfheal_core::redact::{Options, Redactor};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut redactor = Redactor::new(Options::default());
    let out = redactor.redact(&text);
    // A placeholder is at most a few dozen bytes; nothing grows the text much beyond that.
    assert!(
        out.len() <= text.len() * 8 + 64,
        "{} -> {}",
        text.len(),
        out.len()
    );
});
