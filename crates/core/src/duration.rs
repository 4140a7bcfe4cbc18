//! Durations written as Prometheus and Alertmanager write them: `30s`, `15m`, `1h30m`, `500ms`.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

/// A duration in Prometheus' notation, kept to millisecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PromDuration(Duration);

/// A string that is not a Prometheus duration.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{0:?} is not a duration like 30s, 15m or 1h30m")]
pub struct DurationError(String);

const UNITS: [(&str, u64); 7] = [
    ("y", 365 * 24 * 3600 * 1000),
    ("w", 7 * 24 * 3600 * 1000),
    ("d", 24 * 3600 * 1000),
    ("h", 3600 * 1000),
    ("m", 60 * 1000),
    ("s", 1000),
    ("ms", 1),
];

impl PromDuration {
    /// From whole seconds.
    pub const fn from_secs(secs: u64) -> Self {
        PromDuration(Duration::from_secs(secs))
    }

    /// The standard-library duration.
    pub fn as_duration(self) -> Duration {
        self.0
    }

    /// Whole seconds, rounded down (what ASL's `Seconds` and `TimeoutSeconds` take).
    pub fn as_secs(self) -> u64 {
        self.0.as_secs()
    }
}

impl FromStr for PromDuration {
    type Err = DurationError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || DurationError(s.to_owned());
        if s == "0" {
            return Ok(PromDuration::default());
        }
        let mut rest = s;
        let mut total: u64 = 0;
        // Units must appear in decreasing order, each at most once, as Prometheus requires.
        let mut next_unit = 0;
        while !rest.is_empty() {
            let digits = rest.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
            if digits == 0 {
                return Err(err());
            }
            let n: u64 = rest[..digits].parse().map_err(|_| err())?;
            rest = &rest[digits..];
            // "ms" before "m": try the longer unit first.
            let unit_len = if rest.starts_with("ms") { 2 } else { 1 };
            let unit = rest.get(..unit_len).ok_or_else(err)?;
            let index = UNITS[next_unit..]
                .iter()
                .position(|(u, _)| *u == unit)
                .ok_or_else(err)?
                + next_unit;
            total = n
                .checked_mul(UNITS[index].1)
                .and_then(|ms| total.checked_add(ms))
                .ok_or_else(err)?;
            next_unit = index + 1;
            rest = &rest[unit_len..];
        }
        if s.is_empty() {
            return Err(err());
        }
        Ok(PromDuration(Duration::from_millis(total)))
    }
}

impl fmt::Display for PromDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut ms = u64::try_from(self.0.as_millis()).unwrap_or(u64::MAX);
        if ms == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in UNITS {
            if ms >= size {
                write!(f, "{}{unit}", ms / size)?;
                ms %= size;
            }
        }
        Ok(())
    }
}

impl Serialize for PromDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PromDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prometheus_forms_parse() {
        let secs = |s: &str| s.parse::<PromDuration>().unwrap().as_duration().as_millis();
        assert_eq!(secs("30s"), 30_000);
        assert_eq!(secs("15m"), 900_000);
        assert_eq!(secs("1h30m"), 5_400_000);
        assert_eq!(secs("1d"), 86_400_000);
        assert_eq!(secs("1m500ms"), 60_500);
        assert_eq!(secs("0"), 0);
    }

    #[test]
    fn nonsense_is_refused() {
        for bad in [
            "",
            "15",
            "m",
            "1.5h",
            "30m1h",
            "1h1h",
            "-5m",
            "5 m",
            "99999999999999999999y",
        ] {
            assert!(bad.parse::<PromDuration>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn display_round_trips() {
        for s in ["30s", "15m", "1h30m", "1d", "1m500ms", "0s"] {
            assert_eq!(s.parse::<PromDuration>().unwrap().to_string(), s);
        }
    }
}
