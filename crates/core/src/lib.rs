//! The selfheal domain, with no I/O: the Alertmanager payload, incidents, the runbook catalog and
//! its matchers, the guardrail policy, and the typed contracts between the workflow's states.

pub mod alert;
pub mod alert_rules;
pub mod apigw;
pub mod audit;
pub mod contract;
pub mod duration;
pub mod embedded;
pub mod error;
pub mod guardrail;
pub mod incident;
pub mod matcher;
pub mod metrics;
pub mod names;
pub mod redact;
pub mod remediation;
pub mod runbook;
pub mod spelling;
pub mod target;
pub mod triage;
pub mod workflow;

pub use alert::{Alert, AlertStatus, Door, Labels, Limits, PayloadError, WebhookPayload};
pub use error::{Classified, ErrorClass, WorkflowError};
pub use guardrail::{Decision, GuardrailState, Policy, PolicyError, Reason, Verdict, decide};
pub use incident::{Incident, IncidentId, Mode};
pub use runbook::{Catalog, CatalogError, Runbook, Step};
pub use target::{Target, TargetKind};
pub use triage::{Assessment, Disposition, Refusal, assess};
pub use workflow::{Unit, Workflow};

/// Where "now" comes from: the wall clock in the Lambdas, the lab's virtual clock locally (the
/// cluster's and Prometheus' time there).
pub type Clock = std::sync::Arc<dyn Fn() -> chrono::DateTime<chrono::Utc> + Send + Sync>;
