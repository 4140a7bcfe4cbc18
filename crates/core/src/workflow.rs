//! The runbook as the state machine runs it. Step Functions cannot compute, so the ingest lays the
//! steps out once: each cluster-changing step with the wait and the health check that follow it
//! is one unit, tried up to `max_attempts` times; a Map runs the units in order.

use serde::{Deserialize, Serialize};

use crate::runbook::{Runbook, Step};

/// One unit of work: act, wait, check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unit {
    /// Index of the cluster-changing step in `runbook.steps`; absent for a leading wait or check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<usize>,
    /// The action's name (`restart-pods`, ...), or `check` for a unit that only checks.
    pub action: String,
    /// Seconds to wait after acting (the waits that follow the step, added up).
    pub wait_seconds: u64,
    /// Index of the health-check step that judges the unit, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<usize>,
    /// How many times the check is asked before the attempt counts as failed: one every
    /// [`POLL_SECONDS`] for the check's timeout (a rollout takes a while to become healthy).
    pub check_polls: u64,
}

/// Seconds between two health checks of one attempt.
pub const POLL_SECONDS: u64 = 15;

/// The units and the numbers the state machine needs as numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workflow {
    /// The units, in order.
    pub units: Vec<Unit>,
    /// Tries per unit before escalating.
    pub max_attempts: u32,
    /// How long the approval request waits for a human (TimeoutSecondsPath).
    pub approval_timeout_seconds: u64,
}

impl Workflow {
    /// Lays out `runbook`'s steps.
    pub fn plan(runbook: &Runbook) -> Workflow {
        let mut units: Vec<Unit> = Vec::new();
        for (i, step) in runbook.steps.iter().enumerate() {
            match step {
                Step::Wait { duration } => {
                    let unit = open_unit(&mut units);
                    unit.wait_seconds += duration.as_secs();
                }
                Step::HealthCheck { timeout, .. } => {
                    let unit = open_unit(&mut units);
                    unit.check = Some(i);
                    unit.check_polls = (timeout.as_secs() / POLL_SECONDS).max(1);
                }
                _ => units.push(Unit {
                    act: Some(i),
                    action: step.action().to_owned(),
                    wait_seconds: 0,
                    check: None,
                    check_polls: 0,
                }),
            }
        }
        Workflow {
            units,
            max_attempts: runbook.max_attempts.max(1),
            approval_timeout_seconds: runbook.approval_timeout().as_secs(),
        }
    }
}

/// The unit a wait or check belongs to: the last one, unless it was already checked (a check
/// ends a unit), or a new check-only unit when there is none.
fn open_unit(units: &mut Vec<Unit>) -> &mut Unit {
    if units.last().is_none_or(|u| u.check.is_some()) {
        units.push(Unit {
            act: None,
            action: "check".into(),
            wait_seconds: 0,
            check: None,
            check_polls: 0,
        });
    }
    units.last_mut().expect("pushed above")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runbook::Catalog;

    fn plan(steps: &str) -> Workflow {
        let yaml = format!(
            "id: r\ndescription: d\nmatch: ['alertname=\"X\"']\nrisk: high\napproval: {{required: true, timeout: 10m}}\nmax_attempts: 2\ncooldown: 5m\nsteps: {steps}\n"
        );
        let catalog = Catalog::parse([("r.yaml", yaml)]).unwrap();
        Workflow::plan(&catalog.runbooks()[0])
    }

    #[test]
    fn each_action_carries_the_waits_and_check_after_it() {
        let w = plan(
            "[{action: cordon}, {action: drain, timeout: 5m}, {action: wait, duration: 30s}, {action: wait, duration: 1m}, {action: health-check, timeout: 3m}]",
        );
        assert_eq!((w.max_attempts, w.approval_timeout_seconds), (2, 600));
        assert_eq!(
            w.units,
            [
                Unit {
                    act: Some(0),
                    action: "cordon".into(),
                    wait_seconds: 0,
                    check: None,
                    check_polls: 0,
                },
                Unit {
                    act: Some(1),
                    action: "drain".into(),
                    wait_seconds: 90,
                    check: Some(4),
                    check_polls: 12,
                },
            ]
        );
    }

    #[test]
    fn a_leading_check_and_a_second_check_make_check_only_units() {
        let w = plan(
            "[{action: health-check, timeout: 1m}, {action: restart-pods}, {action: health-check, timeout: 1m}, {action: wait, duration: 10s}, {action: health-check, timeout: 1m}]",
        );
        let shape: Vec<_> = w
            .units
            .iter()
            .map(|u| (u.act, u.wait_seconds, u.check))
            .collect();
        assert_eq!(
            shape,
            [
                (None, 0, Some(0)),
                (Some(1), 0, Some(2)),
                (None, 10, Some(4))
            ]
        );
    }
}
