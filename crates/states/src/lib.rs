//! A local AWS Step Functions executor: runs Amazon States Language definitions (JSONPath) with
//! AWS's semantics, dispatches Task states to in-process handlers or a Lambda Invoke API, and
//! records the history the console timeline shows. Waits and retries run in virtual time in tests
//! and the demo, in real time in the lab.

pub mod asl;
pub mod callback;
pub mod choice;
pub mod clock;
pub mod context;
pub mod dispatch;
pub mod error;
pub mod executor;
pub mod history;
pub mod intrinsic;
pub mod path;
mod strict_json;
pub mod template;
pub mod templatefile;
pub mod validate;

pub use callback::TokenError;
pub use clock::Clock;
pub use dispatch::{BoxFuture, Dispatcher, InProcess, InvokeApi, InvokeError, Static};
pub use error::StatesError;
pub use executor::{Execution, Executor, Status};
pub use history::{HistoryEvent, TimelineRow, timeline};
pub use validate::{Definition, DefinitionError, Problem, Report, Severity, validate};
