//! kube-sim: a simulated Kubernetes cluster served over the real Kubernetes REST API, so the kube
//! client code that talks to EKS talks to it unchanged. Stateful, with the controllers that make a
//! restart or a rollback change pods, fault injection for chaos, and kube-state-metrics-style
//! `/metrics` for Prometheus.

pub mod api;
mod controllers;
pub mod faults;
pub mod fields;
pub mod metrics;
pub mod object;
pub mod openapi;
pub mod patch;
mod proxy;
pub mod quantity;
pub mod resources;
pub mod runtime;
pub mod scenario;
pub mod sd;
pub mod selector;
pub mod status;
pub mod store;
pub mod table;
pub mod traffic;
pub mod world;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, Utc};

pub use faults::{Fault, FaultKind, FaultTarget};
pub use runtime::ProcessSettings;
pub use scenario::{Scenario, ScenarioError};
pub use world::World;

/// How far in the past [`Sim::settled_now`] builds a cluster: pods settle well within it.
const SETTLE: chrono::Duration = chrono::Duration::minutes(15);

/// A running simulation: the world behind a lock, shared by the API and the ticker.
#[derive(Clone)]
pub struct Sim {
    world: Arc<Mutex<World>>,
}

impl Sim {
    /// Builds the scenario's cluster at sim time `start`.
    pub fn new(scenario: &Scenario, start: DateTime<Utc>) -> Result<Sim, ScenarioError> {
        let mut world = World::new(start, scenario.timing.clone());
        if let Some(settings) = &scenario.processes {
            world.run_processes(settings.clone());
        }
        scenario.build(&mut world)?;
        Ok(Sim {
            world: Arc::new(Mutex::new(world)),
        })
    }

    /// The world, locked.
    pub fn world(&self) -> MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The scenario's cluster, settled and at the wall clock's time: built in the past, so pods
    /// have age and no timestamp is in the future, then run up to now. A sim served in real time
    /// starts here, so its timestamps and a client's clock agree.
    pub fn settled_now(scenario: &Scenario) -> Result<Sim, ScenarioError> {
        let now = Utc::now();
        let sim = Sim::new(scenario, now - SETTLE)?;
        sim.advance_to(now);
        Ok(sim)
    }

    /// Advances sim time up to `t` (nothing when sim time is already there).
    pub fn advance_to(&self, t: DateTime<Utc>) {
        let behind = t - self.world().now;
        if let Ok(by) = behind.to_std()
            && !by.is_zero()
        {
            self.advance(by);
        }
    }

    /// Advances sim time by `by`, in one-second steps (tests drive time with this).
    pub fn advance(&self, by: Duration) {
        let steps = by.as_secs().max(1);
        let step = by / steps as u32;
        for _ in 0..steps {
            let mut w = self.world();
            let now = w.now + chrono::Duration::from_std(step).unwrap_or_default();
            w.tick(now);
        }
    }

    /// Serves the API on `listener`; sim time follows the wall clock times `speed` (0 stops it,
    /// for tests that call [`Sim::advance`]). Time moves in equal steps (0.2 s of wall clock
    /// each, so counters grow by the same amounts), as many as the wall clock has called for: a
    /// busy machine delays steps but never drifts sim time.
    pub async fn serve(self, listener: tokio::net::TcpListener, speed: f64) -> std::io::Result<()> {
        if speed > 0.0 && self.world().runtime.is_some() {
            // Processes live in real time; the proxy makes Services reach them.
            self.world().go_live();
            tokio::spawn(proxy::run(self.clone()));
        }
        if speed > 0.0 {
            let sim = self.clone();
            let origin = std::time::Instant::now();
            tokio::spawn(async move {
                const STEP: f64 = 0.2;
                let mut tick = tokio::time::interval(Duration::from_secs_f64(STEP));
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                let mut done = 0u64;
                loop {
                    tick.tick().await;
                    let due = (origin.elapsed().as_secs_f64() / STEP) as u64;
                    while done < due {
                        sim.advance(Duration::from_secs_f64(STEP * speed));
                        done += 1;
                    }
                }
            });
        }
        axum::serve(listener, api::router(self)).await
    }
}

impl Sim {
    /// Stops every process the sim started, by PID, and waits for them to exit.
    pub fn shutdown(&self) {
        self.world().stop_processes();
    }

    /// Injects a fault of `kind` on `target`; returns its id.
    pub fn inject(&self, kind: FaultKind, target: FaultTarget) -> String {
        self.world().add_fault(Fault::new(kind, target))
    }

    /// Serves on a free loopback port in the background (tests, the lab); returns the URL.
    pub async fn spawn(&self, speed: f64) -> std::io::Result<String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let url = format!("http://{}", listener.local_addr()?);
        tokio::spawn(self.clone().serve(listener, speed));
        Ok(url)
    }
}

/// A kubeconfig for a sim served at `server` (http://127.0.0.1:PORT).
pub fn kubeconfig(server: &str, cluster: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {cluster}\n  cluster:\n    server: {server}\ncontexts:\n- name: {cluster}\n  context:\n    cluster: {cluster}\n    user: sim\n    namespace: default\ncurrent-context: {cluster}\nusers:\n- name: sim\n  user:\n    token: sim\n"
    )
}
