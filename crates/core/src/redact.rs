//! Redaction: secrets and personal data out of logs, events, annotations and labels before
//! anything is stored or sent. One pass of one precompiled regex; each value becomes a typed
//! placeholder (`[REDACTED:aws_access_key:1]`) that is stable within one [`Redactor`] (one
//! incident), so "the same key in two places" survives. Hashes, UUIDs, digests, pod names and
//! trace ids are left alone: every pattern is anchored on a prefix or a context.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::LazyLock;

use regex::Regex;
use regex_automata::meta;

/// The kinds, in the order they are tried; the first that matches at a position wins.
const PATTERNS: &[(&str, &str)] = &[
    (
        "private_key",
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?s:.)*?-----END [A-Z ]*PRIVATE KEY-----",
    ),
    (
        "url_credentials",
        r"(?-u:\b)[a-zA-Z][a-zA-Z0-9+.-]*://[^\t\n\r :/@]+:[^\t\n\r @/]+@",
    ),
    (
        "slack_webhook",
        r"https://hooks\.slack\.com/services/[A-Za-z0-9/]+",
    ),
    (
        "jwt",
        r"(?-u:\b)eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    ),
    ("bearer", r"(?i)(?-u:\b)bearer[\t ]+[A-Za-z0-9._~+/=-]{16,}"),
    (
        "basic_auth",
        r"(?i)(?-u:\b)basic[\t ]+[A-Za-z0-9+/]{12,}={0,2}",
    ),
    (
        "aws_access_key",
        r"(?-u:\b)(?:AKIA|ASIA|AGPA|AIDA|AROA)[A-Z0-9]{16}(?-u:\b)",
    ),
    (
        "github_token",
        r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})(?-u:\b)",
    ),
    ("slack_token", r"(?-u:\b)xox[abposr]-[A-Za-z0-9-]{10,}"),
    (
        "stripe_key",
        r"(?-u:\b)(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}(?-u:\b)",
    ),
    ("google_api_key", r"(?-u:\b)AIza[0-9A-Za-z_-]{35}(?-u:\b)"),
    ("anthropic_key", r"(?-u:\b)sk-ant-[A-Za-z0-9_-]{20,}"),
    ("openai_key", r"(?-u:\b)sk-(?:proj-)?[A-Za-z0-9_-]{20,}"),
    ("npm_token", r"(?-u:\b)npm_[A-Za-z0-9]{36}(?-u:\b)"),
    // key=value, key: value and "key": "value" for the usual names and spellings; only the
    // value is replaced.
    (
        "secret",
        r#"(?i)(?-u:\b)(?:password|passwd|pwd|secret|client_secret|token|access_token|refresh_token|api[_-]?key|apikey|aws_secret_access_key|secret_key)"?[\t ]*[:=][\t ]*"?(?P<value>[^\t\n\r "',;&}]{4,})"#,
    ),
    (
        "email",
        r"(?-u:\b)[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}(?-u:\b)",
    ),
    ("card", r"(?-u:\b)[0-9](?:[ -]?[0-9]){12,18}(?-u:\b)"),
    (
        "phone",
        r"(?:\+[0-9]{1,3}[ .-]?\(?[0-9]{1,4}\)?(?:[ .-]?[0-9]{2,4}){2,4}|\([0-9]{3}\) ?[0-9]{3}-[0-9]{4})(?-u:\b)",
    ),
    (
        "ip",
        r"(?-u:\b)(?:(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(?-u:\b)",
    ),
];

/// All patterns in one multi-pattern automaton: one pass finds each match and which pattern
/// made it, without capture groups (which would cost a second, slower engine per match).
static ENGINE: LazyLock<meta::Regex> = LazyLock::new(|| {
    let patterns: Vec<&str> = PATTERNS.iter().map(|(_, re)| *re).collect();
    // ASCII word boundaries (`(?-u:\b)`) keep it on the fast DFA engines.
    meta::Regex::new_many(&patterns).expect("the patterns compile")
});

/// The `secret` pattern alone, for its `value` group: the key stays, the value goes.
static SECRET: LazyLock<Regex> = LazyLock::new(|| {
    let (_, re) = PATTERNS
        .iter()
        .find(|(kind, _)| *kind == "secret")
        .expect("a secret pattern");
    Regex::new(re).expect("the secret pattern compiles")
});

/// What to redact beyond secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Client IP addresses (off when IPs are pod or node addresses the analysis needs).
    pub ips: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options { ips: true }
    }
}

/// Redacts text, numbering each distinct value per kind.
#[derive(Debug, Default)]
pub struct Redactor {
    options: Options,
    /// Per kind, the number of each value seen.
    numbers: HashMap<&'static str, HashMap<String, u32>>,
}

impl Redactor {
    /// A redactor for one incident.
    pub fn new(options: Options) -> Self {
        Redactor {
            options,
            ..Default::default()
        }
    }

    /// `text` with every match replaced by its placeholder.
    pub fn redact(&mut self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut last = 0;
        for m in ENGINE.find_iter(text) {
            out.push_str(&text[last..m.start()]);
            let (kind, _) = PATTERNS[m.pattern().as_usize()];
            self.replace(kind, &text[m.range()], &mut out);
            last = m.end();
        }
        out.push_str(&text[last..]);
        out
    }

    /// Every string in `value`, object keys included, redacted in place (evidence bundles,
    /// Slack messages): the same placeholders as [`Redactor::redact`] for the same values.
    pub fn redact_json(&mut self, value: &mut serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::String(s) => *s = self.redact(s),
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            Value::Object(map) => {
                for (key, mut v) in std::mem::take(map) {
                    self.redact_json(&mut v);
                    map.insert(self.redact(&key), v);
                }
            }
            _ => {}
        }
    }

    /// Appends the replacement of one match of `kind` to `out`: its placeholder, or the match
    /// itself when it is a look-alike (a non-Luhn number) or a kind switched off.
    fn replace(&mut self, kind: &'static str, text: &str, out: &mut String) {
        let keep = match kind {
            "card" => !luhn(text),
            "ip" => !self.options.ips,
            _ => false,
        };
        if keep {
            out.push_str(text);
            return;
        }
        // For key=value only the value goes; the key stays for the reader.
        let (start, end) = match SECRET.captures(text).and_then(|c| c.name("value")) {
            Some(v) if kind == "secret" => (v.start(), v.end()),
            _ => (0, text.len()),
        };
        out.push_str(&text[..start]);
        let n = self.number(kind, &text[start..end]);
        // Writing to a String cannot fail.
        let _ = write!(out, "[REDACTED:{kind}:{n}]");
        out.push_str(&text[end..]);
    }

    fn number(&mut self, kind: &'static str, value: &str) -> u32 {
        let seen = self.numbers.entry(kind).or_default();
        if let Some(n) = seen.get(value) {
            return *n;
        }
        let n = u32::try_from(seen.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        seen.insert(value.to_owned(), n);
        n
    }
}

/// Whether the digits of `s` pass the Luhn check (card numbers do; most long numbers do not).
fn luhn(s: &str) -> bool {
    let digits: Vec<u32> = s.chars().filter_map(|c| c.to_digit(10)).collect();
    if !(13..=19).contains(&digits.len()) {
        return false;
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, d)| {
            if i % 2 == 1 {
                if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
            } else {
                *d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(text: &str) -> String {
        Redactor::new(Options::default()).redact(text)
    }

    #[test]
    fn every_kind_is_replaced_by_its_placeholder() {
        let cases = [
            (
                "key AKIAIOSFODNN7EXAMPLE used",
                "key [REDACTED:aws_access_key:1] used",
            ),
            (
                "aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
                "aws_secret_access_key=[REDACTED:secret:1]",
            ),
            (
                "token ghp_0123456789abcdefghijklmnopqrstuvwxyzAB",
                "token [REDACTED:github_token:1]",
            ),
            (
                "slack xoxb-1234567890-abcdefghijkl",
                "slack [REDACTED:slack_token:1]",
            ),
            (
                "POST https://hooks.slack.com/services/T000/B000/XXXXXXXX",
                "POST [REDACTED:slack_webhook:1]",
            ),
            (
                "stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc",
                "stripe [REDACTED:stripe_key:1]",
            ),
            (
                "google AIzaSyA-1234567890abcdefghijklmnopqrstu",
                "google [REDACTED:google_api_key:1]",
            ),
            (
                "openai sk-proj-abcdefghijklmnopqrstuvwx",
                "openai [REDACTED:openai_key:1]",
            ),
            (
                "claude sk-ant-api03-abcdefghijklmnopqrstuv",
                "claude [REDACTED:anthropic_key:1]",
            ),
            (
                "npm npm_abcdefghijklmnopqrstuvwxyz0123456789",
                "npm [REDACTED:npm_token:1]",
            ),
            (
                "jwt eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJzeXN0ZW0ifQ.c2lnbmF0dXJlLXBhcnQ",
                "jwt [REDACTED:jwt:1]",
            ),
            (
                "Authorization: Bearer abcdefghijklmnop0123",
                "Authorization: [REDACTED:bearer:1]",
            ),
            (
                "Authorization: Basic dXNlcjpwYXNzd29yZA==",
                "Authorization: [REDACTED:basic_auth:1]",
            ),
            (
                "dsn postgres://app:hunter22@db:5432/shop",
                "dsn [REDACTED:url_credentials:1]db:5432/shop",
            ),
            (
                "{\"password\": \"hunter22\"}",
                "{\"password\": \"[REDACTED:secret:1]\"}",
            ),
            ("api_key=abcd1234 next", "api_key=[REDACTED:secret:1] next"),
            ("mail ana@example.com", "mail [REDACTED:email:1]"),
            ("card 4111 1111 1111 1111 ok", "card [REDACTED:card:1] ok"),
            ("call +1 415 555 2671", "call [REDACTED:phone:1]"),
            ("client 203.0.113.7 said", "client [REDACTED:ip:1] said"),
        ];
        for (input, want) in cases {
            assert_eq!(redact(input), want, "{input}");
        }
        let pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nabc\n-----END RSA PRIVATE KEY-----";
        assert_eq!(redact(pem), "[REDACTED:private_key:1]");
    }

    #[test]
    fn look_alikes_survive() {
        for keep in [
            "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            "request 123e4567-e89b-12d3-a456-426614174000 failed",
            "pod backend-7d9f8c6b5-x2k4q restarted",
            "trace_id=4bf92f3577b34da6a3ce929d0e0e4736",
            "at 2026-11-25T21:30:00Z exit code 137",
            "order 1234567890123 total",
            "image ghcr.io/shop/backend:2.1.0",
        ] {
            assert_eq!(redact(keep), keep);
        }
    }

    #[test]
    fn placeholders_are_stable_within_an_incident() {
        let mut r = Redactor::new(Options::default());
        let a = r.redact("first AKIAIOSFODNN7EXAMPLE then AKIAI44QH8DHBEXAMPLE");
        let b = r.redact("again AKIAIOSFODNN7EXAMPLE");
        assert_eq!(
            a,
            "first [REDACTED:aws_access_key:1] then [REDACTED:aws_access_key:2]"
        );
        assert_eq!(b, "again [REDACTED:aws_access_key:1]");
        let kept = Redactor::new(Options { ips: false }).redact("node 10.0.1.11");
        assert_eq!(kept, "node 10.0.1.11");
    }
}
