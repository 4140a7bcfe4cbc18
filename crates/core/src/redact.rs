//! Redaction: secrets and personal data out of logs, events, annotations and labels before
//! anything is stored or sent. Private keys are found by a linear scan for their PEM markers
//! (a BEGIN line cut off included); everything else in one pass of one precompiled
//! multi-pattern automaton. Each value becomes a typed placeholder (`[REDACTED:aws_access_key:1]`)
//! that is stable within one [`Redactor`] (one incident), so "the same key in two places"
//! survives. Hashes, UUIDs, digests, pod names and trace ids are left alone: every pattern is
//! anchored on a prefix or a context, and a keyed value is taken only under a key that names a
//! secret (not `secretName`, `max_tokens` or `password_file`).
//!
//! No input makes it super-linear: a partial match that could stay open across the text (an
//! e-mail's local part, a URL's user and password) is bounded, and PEM blocks, whose body can be
//! kilobytes, are not in the automaton at all.

use std::collections::HashMap;
use std::fmt::Write;
use std::ops::Range;
use std::sync::LazyLock;

use regex::Regex;
use regex_automata::meta;

/// Names a key whose value is a secret, in any casing and with any prefix or suffix
/// (`DB_PASSWORD`, `dbPassword`, `spring.datasource.password`, `X-Api-Key`).
const SECRET_KEY: &str = r"(?i-u:(?:password|passwd|passphrase|pwd|secret|token|api[_.-]?key|apikey|credentials?|private[_.-]?key|access[_.-]?key|encryption[_.-]?key|signing[_.-]?key|stripe[_.-]?key|license[_.-]?key|master[_.-]?key|sig|signature|auth[_.-]?token|authtoken|creds)[A-Za-z0-9_.-]*|(?:pass|auth)(?:[_.-][A-Za-z0-9_.-]*)?)";

/// A keyed value: up to the next separator, or a quoted string (spaces allowed).
const VALUE: &str = r#"(?:"(?P<quoted>[^"\\\n\r]{3,})"|'(?P<single>[^'\n\r]{3,})'|(?P<value>[^\t\n\r "',;&}\\]{4,}))"#;

/// The kinds, in the order they are tried; the first that matches at a position wins.
static PATTERNS: LazyLock<Vec<(&'static str, String)>> = LazyLock::new(|| {
    let key = SECRET_KEY;
    vec![
        (
            "url_credentials",
            // `scheme://user:password@`, the user possibly empty (`redis://:password@`).
            r"(?-u:\b)[a-zA-Z][a-zA-Z0-9+.-]{0,20}://[^\t\n\r :/@]*:[^\t\n\r @/]+@"
                .into(),
        ),
        (
            "slack_webhook",
            r"https://hooks\.slack\.com/services/[A-Za-z0-9/]+".into(),
        ),
        (
            "jwt",
            r"(?-u:\b)eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}".into(),
        ),
        (
            "bearer",
            r"(?-u:\b)(?i-u:bearer)[\t ]+[A-Za-z0-9._~+/=-]{16,}".into(),
        ),
        (
            "basic_auth",
            r"(?-u:\b)(?i-u:basic)[\t ]+[A-Za-z0-9+/]{12,}={0,2}".into(),
        ),
        (
            "aws_access_key",
            r"(?-u:\b)(?:AKIA|ASIA|AGPA|AIDA|AROA)[A-Z0-9]{16}(?-u:\b)".into(),
        ),
        (
            "github_token",
            r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})(?-u:\b)".into(),
        ),
        (
            "slack_token",
            // Bot, user and legacy tokens (xoxb-, xoxp-...) and app-level tokens (xapp-).
            r"(?-u:\b)(?:xox[abposr]|xapp)-[A-Za-z0-9-]{10,}".into(),
        ),
        (
            "stripe_key",
            r"(?-u:\b)(?:(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}|whsec_[A-Za-z0-9]{24,})(?-u:\b)"
                .into(),
        ),
        (
            "google_api_key",
            r"(?-u:\b)AIza[0-9A-Za-z_-]{35}(?-u:\b)".into(),
        ),
        ("anthropic_key", r"(?-u:\b)sk-ant-[A-Za-z0-9_-]{20,}".into()),
        (
            "openai_key",
            r"(?-u:\b)sk-(?:proj-)?[A-Za-z0-9_-]{20,}".into(),
        ),
        ("npm_token", r"(?-u:\b)npm_[A-Za-z0-9]{36}(?-u:\b)".into()),
        (
            "aws_secret_key",
            // `aws configure set aws_secret_access_key V` has no `=`.
            r"(?i-u:aws_secret_access_key)[\t :=]+(?P<value>[A-Za-z0-9/+]{40})".into(),
        ),
        (
            "secret",
            // Go's %+v of a Kubernetes EnvVar: `Name:DB_PASSWORD,Value:...`.
            format!(
                r#"Name:"?[A-Za-z0-9_.-]*{key}"?,[\t ]*Value:"?(?P<value>[^,}}\s"]+)"#
            ),
        ),
        (
            "secret",
            // key=value, key: value, "key": "value", \"key\":\"value\", --key=value, Key:value.
            format!(r#"{key}(?:\\?["'])?[\t ]*(?:[:=]|%3[dD])[\t ]*(?:\\?["'](?P<escaped>[^"'\\\n\r]{{3,}})\\?["']|{VALUE})"#),
        ),
        (
            "secret",
            // A command-line flag with its value after a space: --password V, --api-key V.
            format!(r"(?-u:\B)--[A-Za-z0-9-]*{key}[\t ]+(?P<value>[^\t\n\r -][^\t\n\r ]{{3,}})"),
        ),
        (
            "secret",
            // Prose: "set the admin password to V", "the API key is V", "use token V for".
            r"(?-u:\b)(?i-u:password|passphrase|secret|api[ _-]?key|token)[\t ]+(?:(?i-u:is|to|was|=)[\t ]+)?(?P<prose>[A-Za-z0-9._~+/=#!%*&$@-]{8,})".into(),
        ),
        (
            "person",
            // A person's name under an identity key (two or three capitalised words), or after
            // "opened by", "for customer".
            r#"(?:(?-u:\b)(?:user|username|user_name|customer|customer_name|name|full_name|fullname|display_name|owner|account_holder|cardholder|author)(?:\\?["'])?[\t ]*[:=][\t ]*\\?["']?|(?:(?:opened|reported|created|requested|submitted|approved) by|for customer)[\t ]+)(?P<value>[A-Z][a-z]+(?:[ ][A-Z][a-z'-]+){1,2})"#.into(),
        ),
        (
            "email",
            r"(?-u:\b)[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,24}(?-u:\b)".into(),
        ),
        (
            "card",
            // Visa, Mastercard, Amex and Discover lengths and prefixes, spaced or dashed; the
            // Luhn check follows.
            r"(?-u:\b)(?:4[0-9]{3}|5[1-5][0-9]{2}|2[2-7][0-9]{2}|6011|65[0-9]{2}|3[47][0-9]{2})(?:[ -]?[0-9]{4}){2}[ -]?[0-9]{3,4}(?-u:\b)".into(),
        ),
        (
            "phone",
            r"(?:\+[1-9][0-9]{0,2}[ .-]?\(?[0-9]{1,4}\)?(?:[ .-]?[0-9]{2,4}){2,4}|\([0-9]{3}\) ?[0-9]{3}-[0-9]{4})(?-u:\b)".into(),
        ),
        (
            "ip",
            r"(?-u:\b)(?:(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])(?-u:\b)".into(),
        ),
    ]
});

/// All patterns in one multi-pattern automaton: one pass finds each match and which pattern
/// made it, without capture groups (which would cost a second, slower engine per match).
static ENGINE: LazyLock<meta::Regex> = LazyLock::new(|| {
    let patterns: Vec<&str> = PATTERNS.iter().map(|(_, re)| re.as_str()).collect();
    // ASCII word boundaries (`(?-u:\b)`) keep it on the fast DFA engines.
    meta::Regex::new_many(&patterns).expect("the patterns compile")
});

/// Each pattern again, with its capture groups, for the few kinds where only a part goes (the
/// value of key=value); run on the match alone.
static CAPTURES: LazyLock<Vec<Option<Regex>>> = LazyLock::new(|| {
    PATTERNS
        .iter()
        .map(|(_, re)| {
            re.contains("(?P<")
                .then(|| Regex::new(re).expect("the pattern compiles"))
        })
        .collect()
});

/// A key in one spelling, whatever its casing and separators: `DB_PASSWORD`, `dbPassword` and
/// `db-password` are all `dbpassword`.
fn normalized(key: &str) -> String {
    key.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Key spellings (normalized) that contain a secret word but name something else:
/// `secretName: db-creds`, `max_tokens`, `password_file`, `passwordless`, `token_type`.
fn names_no_secret(key: &str) -> bool {
    const SUFFIXES: [&str; 28] = [
        "name",
        "names",
        "ref",
        "file",
        "path",
        "dir",
        "type",
        "length",
        "len",
        "count",
        "size",
        "less",
        "used",
        "limit",
        "hint",
        "policy",
        "expiry",
        "expiresat",
        "ttl",
        "field",
        "tokens",
        "id",
        "variable",
        "var",
        "url",
        "uri",
        "endpoint",
        "secrets",
    ];
    const PREFIXES: [&str; 7] = ["max", "min", "num", "total", "public", "csrf", "xsrf"];
    SUFFIXES.iter().any(|s| key.ends_with(s) && key != *s)
        || PREFIXES.iter().any(|p| key.starts_with(p))
}

/// Whether the key's own word is a secret whatever its value looks like (`DB_PASSWORD`,
/// `client_secret`, `X-Api-Key`, `adminPass`, `db_pwd`); `token` and `sig` also name session
/// handles and object ids, and a bare `PWD` is the working directory when its value is a path,
/// so those values must look like a credential. `key` is normalized.
fn names_a_secret(key: &str, value: &str) -> bool {
    [
        "password",
        "passwd",
        "passphrase",
        "secret",
        "apikey",
        "credential",
        "privatekey",
        "accesskey",
        "encryptionkey",
        "signingkey",
        "stripekey",
        "licensekey",
        "masterkey",
    ]
    .iter()
    .any(|w| key.contains(w))
        || key.ends_with("pass")
        || (key.ends_with("pwd") && (key != "pwd" || !value.starts_with(['/', '~'])))
}

/// A credential as tokens are written: 12 or more characters of a base64, hex or URL-safe
/// alphabet, mixing at least two of lower case, upper case and digits (not `AppWindowToken{..`,
/// `android.os.BinderProxy@2bd79ce` or `sigio_handler_active`).
fn looks_random(value: &str) -> bool {
    let alphabet = value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_+/=~".contains(&b));
    let classes = [
        value.bytes().any(|b| b.is_ascii_lowercase()),
        value.bytes().any(|b| b.is_ascii_uppercase()),
        value.bytes().any(|b| b.is_ascii_digit()),
    ]
    .iter()
    .filter(|c| **c)
    .count();
    value.len() >= 12 && alphabet && classes >= 2
}

/// A value stops at `&`, which ends a query parameter; in a password it does not: the value
/// goes on over each `&` not followed by `name=` (the next parameter).
fn extend_over_ampersands(text: &str, mut end: usize) -> usize {
    const STOP: &[u8] = b"\t\n\r \"',;}\\";
    let bytes = text.as_bytes();
    while bytes.get(end) == Some(&b'&') {
        let rest = &bytes[end + 1..];
        let run = rest
            .iter()
            .take_while(|b| !STOP.contains(b) && **b != b'&')
            .count();
        let next_param = rest[..run]
            .iter()
            .position(|b| *b == b'=')
            .is_some_and(|i| {
                i > 0
                    && rest[..i]
                        .iter()
                        .all(|b| b.is_ascii_alphanumeric() || b"_.-[]".contains(b))
            });
        if next_param {
            break;
        }
        end += 1 + run;
    }
    end
}

/// Values that are not secrets whatever the key says.
fn is_placeholder(value: &str) -> bool {
    let v = value.trim_matches(|c| c == '"' || c == '\'');
    let lower = v.to_ascii_lowercase();
    matches!(
        lower.as_str(),
        "true"
            | "false"
            | "null"
            | "none"
            | "nil"
            | "undefined"
            | "redacted"
            | "<redacted>"
            | "[redacted]"
            | "****"
            | "********"
            | "<nil>"
            | "bearer"
    ) || v.starts_with('$')
        || v.starts_with("[REDACTED:")
        || v.starts_with("{{")
        || v.chars().all(|c| c == '*')
}

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
        for f in find(text, self.options) {
            out.push_str(&text[last..f.range.start]);
            let n = self.number(f.kind, &text[f.range.clone()]);
            // Writing to a String cannot fail.
            let _ = write!(out, "[REDACTED:{}:{n}]", f.kind);
            last = f.range.end;
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

/// One stretch of text that redaction replaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The kind (`secret`, `email`, `aws_access_key`...), as the placeholder names it.
    pub kind: &'static str,
    /// Where it is in the text (bytes).
    pub range: std::ops::Range<usize>,
}

/// What redaction replaces in `text`, in order: private keys, then every match but the
/// look-alikes (a non-Luhn number, a key that only mentions a secret) and the kinds `options`
/// switch off; for key=value only the value.
pub fn find(text: &str, options: Options) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut at = 0;
    // The automaton runs on the text between private keys.
    for key in private_keys(text) {
        matches(text, at..key.start, options, &mut out);
        at = key.end;
        out.push(Finding {
            kind: "private_key",
            range: key,
        });
    }
    matches(text, at..text.len(), options, &mut out);
    out
}

/// The automaton's findings in `text[within]`.
fn matches(text: &str, within: Range<usize>, options: Options, out: &mut Vec<Finding>) {
    let input = regex_automata::Input::new(text).range(within.clone());
    for m in ENGINE.find_iter(input) {
        let (kind, _) = &PATTERNS[m.pattern().as_usize()];
        let matched = &text[m.range()];
        let keep = match *kind {
            // An id's digits (`blk_-5471...`) are not a card, even when they pass Luhn.
            "card" => !luhn(matched) || text[..m.start()].ends_with(['-', '_']),
            "ip" => !options.ips,
            _ => false,
        };
        if keep {
            continue;
        }
        let range = match &CAPTURES[m.pattern().as_usize()] {
            None => m.range(),
            // Only the value goes; the key stays for the reader.
            Some(re) => {
                let Some(caps) = re.captures(matched) else {
                    continue;
                };
                let Some(value) = ["value", "quoted", "single", "escaped", "prose"]
                    .iter()
                    .find_map(|g| caps.name(g))
                else {
                    continue;
                };
                // In prose a secret word is followed by ordinary words too ("password
                // combination."): only a value with a digit or a symbol counts.
                if caps.name("prose").is_some()
                    && !value
                        .as_str()
                        .trim_end_matches(['.', ',', ';', ':', '!', '?'])
                        .bytes()
                        .any(|b| b.is_ascii_digit() || b"#!%*&$@+/=_~".contains(&b))
                {
                    continue;
                }
                if *kind == "secret" && caps.name("prose").is_none() {
                    // The whole key: the match starts at the secret word, its prefix before it.
                    let key_start = text[..m.start()]
                        .char_indices()
                        .rev()
                        .find(|(_, c)| !(c.is_ascii_alphanumeric() || "_.-".contains(*c)))
                        .map_or(0, |(i, c)| i + c.len_utf8());
                    let key_end = m.start() + value.start();
                    let key = text[key_start..key_end]
                        .trim_start_matches("Name:")
                        .split(|c: char| !(c.is_ascii_alphanumeric() || "_.-".contains(c)))
                        .find(|s| !s.is_empty() && *s != "Name")
                        .unwrap_or("");
                    let key = normalized(key);
                    let quoted = caps.name("value").is_none();
                    if names_no_secret(&key)
                        || is_placeholder(value.as_str())
                        || (!quoted
                            && !names_a_secret(&key, value.as_str())
                            && !looks_random(value.as_str()))
                    {
                        continue;
                    }
                }
                let end = extend_over_ampersands(text, m.start() + value.end()).min(within.end);
                let range = m.start() + value.start()..end;
                // A value with a format of its own (`token ghp_...`) is named by it.
                if let Some(specific) = specific_kind(text, &range) {
                    out.push(Finding {
                        kind: specific,
                        range,
                    });
                    continue;
                }
                range
            }
        };
        // A value extended over `&` may reach into the next match: one finding covers both.
        if let Some(prev) = out.last_mut()
            && range.start < prev.range.end
        {
            prev.range.end = prev.range.end.max(range.end);
            continue;
        }
        out.push(Finding { kind, range });
    }
}

/// The kind of a credential format that is exactly `text[range]` (a GitHub or Stripe token
/// under a generic key), if any.
fn specific_kind(text: &str, range: &Range<usize>) -> Option<&'static str> {
    let input = regex_automata::Input::new(text)
        .range(range.clone())
        .anchored(regex_automata::Anchored::Yes);
    let m = ENGINE.search(&input)?;
    let (kind, _) = &PATTERNS[m.pattern().as_usize()];
    (m.end() == range.end && !matches!(*kind, "secret" | "person")).then_some(*kind)
}

/// PEM private keys: `-----BEGIN ... PRIVATE KEY-----` to its END line, or, when the BEGIN line
/// was cut off (a truncated log), the base64 lines right before an END line. One pass over the
/// markers, so any number of unmatched BEGIN lines costs linear time.
fn private_keys(text: &str) -> Vec<Range<usize>> {
    const END: &str = "-----END ";
    const TAIL: &str = "PRIVATE KEY-----";
    let mut out: Vec<Range<usize>> = Vec::new();
    let mut from = 0;
    while let Some(i) = text[from..].find(END) {
        let end_at = from + i;
        // The END line: "-----END <LABEL> PRIVATE KEY-----", the label in capitals.
        let rest = &text[end_at + END.len()..];
        let label = rest.find(TAIL).filter(|&j| {
            rest[..j]
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b == b' ')
        });
        let Some(j) = label else {
            from = end_at + END.len();
            continue;
        };
        let end = end_at + END.len() + j + TAIL.len();
        let floor = out.last().map_or(0, |r| r.end);
        let region = &text[floor..end_at];
        let start = match region.rfind("-----BEGIN ") {
            Some(b) => floor + b,
            // No BEGIN since the last key: the base64 lines just before the END line.
            None => {
                let mut start = end_at;
                let mut pos = region.trim_end_matches(['\r', '\n']).len();
                loop {
                    let line_start = region[..pos].rfind('\n').map_or(0, |i| i + 1);
                    let line = region[line_start..pos].trim_end_matches('\r');
                    let base64 = line
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b));
                    if line.is_empty() || !base64 {
                        break;
                    }
                    start = floor + line_start;
                    if line_start == 0 {
                        break;
                    }
                    pos = line_start - 1;
                }
                start
            }
        };
        out.push(start..end);
        from = end;
    }
    out
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
                "aws_secret_access_key=[REDACTED:aws_secret_key:1]",
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
    fn every_spelling_of_a_secret_key_and_where_values_hide() {
        let cases = [
            ("dbPassword=Winter2024!", "dbPassword=[REDACTED:secret:1]"),
            ("DbPassword: Winter2024!", "DbPassword: [REDACTED:secret:1]"),
            (
                "REDIS_PASSWORD=Winter2024!",
                "REDIS_PASSWORD=[REDACTED:secret:1]",
            ),
            (
                "spring.datasource.password=W1nter",
                "spring.datasource.password=[REDACTED:secret:1]",
            ),
            (
                "GET /cb?page=2&access_token=aB3dE5fG7hJ9kL1m&x=1",
                "GET /cb?page=2&access_token=[REDACTED:secret:1]&x=1",
            ),
            (
                "run.sh --db-password Winter2024! --verbose",
                "run.sh --db-password [REDACTED:secret:1] --verbose",
            ),
            (
                "Set the admin password to Winter2024! now",
                "Set the admin password to [REDACTED:secret:1] now",
            ),
            (
                "EnvVar{Name:DB_PASSWORD,Value:s3cr3t-value,ValueFrom:nil,}",
                "EnvVar{Name:DB_PASSWORD,Value:[REDACTED:secret:1],ValueFrom:nil,}",
            ),
            (
                "&{User:app Password:Winter2024& SSLMode:require}",
                "&{User:app Password:[REDACTED:secret:1] SSLMode:require}",
            ),
            (
                r#""body":"{\"password\":\"Winter2024!\"}""#,
                r#""body":"{\"password\":\"[REDACTED:secret:1]\"}""#,
            ),
            ("password%3DWinter2024%21", "password%3D[REDACTED:secret:1]"),
            (
                "redis://:Winter2024!@redis:6379",
                "[REDACTED:url_credentials:1]redis:6379",
            ),
            (
                "passphrase=\"correct horse battery\"",
                "passphrase=\"[REDACTED:secret:1]\"",
            ),
            (
                "STRIPE_WEBHOOK_SECRET=whsec_abcdefghijklmnopqrstuvwxyz012345",
                "STRIPE_WEBHOOK_SECRET=[REDACTED:stripe_key:1]",
            ),
            (
                "--app-token xapp-1-A012345ABCD-1234567890123-0123456789abcdef",
                "--app-token [REDACTED:slack_token:1]",
            ),
            (
                "{\"customer_name\": \"Jane Doe\"}",
                "{\"customer_name\": \"[REDACTED:person:1]\"}",
            ),
            (
                "user=\"John Smith\" logged in",
                "user=\"[REDACTED:person:1]\" logged in",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(redact(input), want, "{input}");
        }
        assert_eq!(
            redact("whsec_abcdefghijklmnopqrstuvwxyz012345"),
            "[REDACTED:stripe_key:1]"
        );
        assert_eq!(
            redact("xapp-1-A012345ABCD-1234567890123-0123456789abcdef"),
            "[REDACTED:slack_token:1]"
        );
        // A key whose BEGIN line the log cut off.
        let cut = "+ cat key.pem\nMIIEowIBAAKCAQEA0Z3VS5JJcds3xfn\nabcdEFGH0123==\n-----END RSA PRIVATE KEY-----\ndone";
        assert_eq!(redact(cut), "+ cat key.pem\n[REDACTED:private_key:1]\ndone");
    }

    #[test]
    fn a_key_right_after_a_multibyte_character_is_found() {
        // Found by scripts/fuzz: the key's start was looked for one byte after the character.
        assert_eq!(
            redact("\u{fffd}password=Winter2024!"),
            "\u{fffd}password=[REDACTED:secret:1]"
        );
        assert_eq!(
            redact("é token=aB3dE5fG7hJ9kL1m"),
            "é token=[REDACTED:secret:1]"
        );
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
            "envFrom secretRef name=app-secrets; secretName: db-credentials",
            "password_file=/run/secrets/db token_type=bearer max_tokens=4096",
            "PWD=/app passwordless=true",
            "Bad activity token: android.os.BinderProxy@2bd79ce",
            "blk_-5471189807977280544 wake time set +0.270003 s",
            "Authorization: Bearer", // no token after it
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
