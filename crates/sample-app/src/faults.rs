//! The fault switches chaos turns on: set at start from the environment (`FAULT_*`) or at run
//! time through `PUT /admin/faults`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What is wrong with this instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Added to every request, in milliseconds.
    pub latency_ms: u64,
    /// The share of requests answered with a 503, in [0, 1].
    pub error_rate: f64,
    /// Cores kept busy (0.5: half of one core), in [0, 64].
    pub cpu_burn: f64,
    /// Memory allocated and held each second, in MiB: it grows until the container's limit.
    pub memory_growth_mib_per_s: u64,
    /// Exit with an error right after starting.
    pub crash_on_start: bool,
    /// The downstream dependency refuses connections.
    pub dependency_unreachable: bool,
    /// `/readyz` answers 503: the readiness probe fails while the process keeps serving.
    pub not_ready: bool,
}

/// A fault setting that cannot be applied.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FaultError {
    /// Not a value of the setting's kind.
    #[error("{name}={value:?}: {why}")]
    Value {
        /// The variable.
        name: &'static str,
        /// What it held.
        value: String,
        /// What it should be.
        why: &'static str,
    },
}

impl Faults {
    /// The faults the environment sets: FAULT_LATENCY_MS, FAULT_ERROR_RATE, FAULT_CPU_BURN,
    /// FAULT_MEMORY_GROWTH_MIB_PER_S, FAULT_CRASH_ON_START, FAULT_DEPENDENCY_UNREACHABLE,
    /// FAULT_NOT_READY.
    pub fn from_env(var: impl Fn(&str) -> Option<String>) -> Result<Faults, FaultError> {
        fn parse<T: std::str::FromStr>(
            var: &impl Fn(&str) -> Option<String>,
            name: &'static str,
            why: &'static str,
        ) -> Result<Option<T>, FaultError> {
            var(name)
                .filter(|v| !v.is_empty())
                .map(|v| {
                    v.parse().map_err(|_| FaultError::Value {
                        name,
                        value: v.clone(),
                        why,
                    })
                })
                .transpose()
        }
        let flag = |name: &'static str| -> Result<bool, FaultError> {
            match var(name).as_deref() {
                None | Some("" | "0" | "false") => Ok(false),
                Some("1" | "true") => Ok(true),
                Some(v) => Err(FaultError::Value {
                    name,
                    value: v.to_owned(),
                    why: "expected true, false, 1 or 0",
                }),
            }
        };
        let faults = Faults {
            latency_ms: parse(&var, "FAULT_LATENCY_MS", "expected milliseconds")?.unwrap_or(0),
            error_rate: parse(&var, "FAULT_ERROR_RATE", "expected a share in [0, 1]")?
                .unwrap_or(0.0),
            cpu_burn: parse(&var, "FAULT_CPU_BURN", "expected cores in [0, 64]")?.unwrap_or(0.0),
            memory_growth_mib_per_s: parse(
                &var,
                "FAULT_MEMORY_GROWTH_MIB_PER_S",
                "expected MiB per second",
            )?
            .unwrap_or(0),
            crash_on_start: flag("FAULT_CRASH_ON_START")?,
            dependency_unreachable: flag("FAULT_DEPENDENCY_UNREACHABLE")?,
            not_ready: flag("FAULT_NOT_READY")?,
        };
        faults.check()?;
        Ok(faults)
    }

    /// Refuses values outside their range.
    pub fn check(&self) -> Result<(), FaultError> {
        if !(0.0..=1.0).contains(&self.error_rate) {
            return Err(FaultError::Value {
                name: "error_rate",
                value: self.error_rate.to_string(),
                why: "expected a share in [0, 1]",
            });
        }
        if !(0.0..=64.0).contains(&self.cpu_burn) {
            return Err(FaultError::Value {
                name: "cpu_burn",
                value: self.cpu_burn.to_string(),
                why: "expected cores in [0, 64]",
            });
        }
        Ok(())
    }
}

/// The faults in force, shared by the handlers and the background burners.
#[derive(Debug, Clone, Default)]
pub struct Switches {
    faults: Arc<RwLock<Faults>>,
    requests: Arc<AtomicU64>,
}

impl Switches {
    /// Switches starting at `faults`.
    pub fn new(faults: Faults) -> Self {
        Switches {
            faults: Arc::new(RwLock::new(faults)),
            requests: Arc::default(),
        }
    }

    /// The faults now.
    pub fn get(&self) -> Faults {
        self.faults
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Replaces every fault.
    pub fn set(&self, faults: Faults) -> Result<(), FaultError> {
        faults.check()?;
        *self.faults.write().unwrap_or_else(|p| p.into_inner()) = faults;
        Ok(())
    }

    /// Whether this request fails: exactly `error_rate` of the requests, spread evenly (request
    /// n fails when floor(n * rate) steps up), so a test and a dashboard see the share set.
    pub fn fails_next(&self) -> bool {
        let rate = self.get().error_rate;
        let n = self.requests.fetch_add(1, Ordering::Relaxed) as f64;
        ((n + 1.0) * rate).floor() > (n * rate).floor()
    }

    /// Keeps `cpu_burn` cores busy and grows memory by `memory_growth_mib_per_s`, for as long
    /// as the process runs (one thread per core that may burn, sleeping while nothing is asked).
    pub fn start_burners(&self) {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        for core in 0..cores {
            let switches = self.clone();
            std::thread::spawn(move || {
                let slice = Duration::from_millis(100);
                loop {
                    // This core's share of the burn: whole cores first, then the remainder.
                    let duty = (switches.get().cpu_burn - core as f64).clamp(0.0, 1.0);
                    if duty == 0.0 {
                        std::thread::sleep(slice);
                        continue;
                    }
                    let busy = slice.mul_f64(duty);
                    let start = std::time::Instant::now();
                    while start.elapsed() < busy {
                        std::hint::spin_loop();
                    }
                    std::thread::sleep(slice - busy);
                }
            });
        }
        let switches = self.clone();
        std::thread::spawn(move || {
            // Held until the process ends, as a leak holds it: the kernel's OOM killer (or
            // kube-sim's) ends the growth.
            let mut held: Vec<Vec<u8>> = Vec::new();
            loop {
                std::thread::sleep(Duration::from_secs(1));
                let mib = switches.get().memory_growth_mib_per_s;
                if mib > 0 {
                    // Written, not only reserved, so the pages count as resident.
                    held.push(vec![1u8; usize::try_from(mib << 20).unwrap_or(usize::MAX)]);
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn the_environment_sets_faults_and_a_bad_value_is_named() {
        assert_eq!(Faults::from_env(env(&[])).unwrap(), Faults::default());
        let f = Faults::from_env(env(&[
            ("FAULT_LATENCY_MS", "250"),
            ("FAULT_ERROR_RATE", "0.1"),
            ("FAULT_CRASH_ON_START", "true"),
        ]))
        .unwrap();
        assert_eq!(
            (f.latency_ms, f.error_rate, f.crash_on_start),
            (250, 0.1, true)
        );
        let err = Faults::from_env(env(&[("FAULT_ERROR_RATE", "1.5")])).unwrap_err();
        assert!(err.to_string().contains("error_rate"), "{err}");
        let err = Faults::from_env(env(&[("FAULT_LATENCY_MS", "soon")])).unwrap_err();
        assert!(
            err.to_string().contains("FAULT_LATENCY_MS=\"soon\""),
            "{err}"
        );
        assert!(Faults::from_env(env(&[("FAULT_DEPENDENCY_UNREACHABLE", "yes")])).is_err());
    }

    #[test]
    fn an_error_rate_fails_exactly_its_share_spread_evenly() {
        let s = Switches::new(Faults {
            error_rate: 0.25,
            ..Faults::default()
        });
        let fails: Vec<bool> = (0..8).map(|_| s.fails_next()).collect();
        assert_eq!(fails.iter().filter(|f| **f).count(), 2);
        assert_eq!(fails[..4].iter().filter(|f| **f).count(), 1, "{fails:?}");
        let none = Switches::new(Faults::default());
        assert!((0..100).all(|_| !none.fails_next()));
    }
}
