//! Kubernetes timestamps as chrono's: k8s-openapi speaks jiff, the rest of selfheal chrono.

use chrono::{DateTime, Utc};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, Time};

/// A `Time` (creationTimestamp, lastTransitionTime, finishedAt...).
pub fn utc(t: &Time) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.0.as_second(), t.0.subsec_nanosecond().try_into().ok()?)
}

/// A `MicroTime` (an event's eventTime).
pub fn utc_micro(t: &MicroTime) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp(t.0.as_second(), t.0.subsec_nanosecond().try_into().ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_instant_to_the_nanosecond() {
        let at = k8s_openapi::jiff::Timestamp::new(1_764_106_200, 123_456_789).unwrap();
        let nanos = Some(1_764_106_200_123_456_789);
        assert_eq!(utc(&Time(at)).unwrap().timestamp_nanos_opt(), nanos);
        assert_eq!(
            utc_micro(&MicroTime(at)).unwrap().timestamp_nanos_opt(),
            nanos
        );
    }
}
