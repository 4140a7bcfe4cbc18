//! [`ExecutionStarter`] on AWS Step Functions.

use aws_sdk_sfn::Client;
use aws_sdk_sfn::error::SdkError;
use aws_sdk_sfn::operation::start_execution::StartExecutionError;
use selfheal_core::Incident;

use crate::starter::{ExecutionStarter, StartError, Started};

/// Starts executions of one state machine.
#[derive(Debug, Clone)]
pub struct SfnStarter {
    client: Client,
    state_machine_arn: String,
}

impl SfnStarter {
    /// Executions of `state_machine_arn`.
    pub fn new(config: &aws_config::SdkConfig, state_machine_arn: impl Into<String>) -> Self {
        Self::with_client(Client::new(config), state_machine_arn)
    }

    /// Executions of `state_machine_arn`, through a client configured by the caller.
    pub fn with_client(client: Client, state_machine_arn: impl Into<String>) -> Self {
        SfnStarter {
            client,
            state_machine_arn: state_machine_arn.into(),
        }
    }

    /// The ARN Step Functions gives the execution `name` of this state machine.
    fn execution_arn(&self, name: &str) -> String {
        format!(
            "{}:{name}",
            self.state_machine_arn
                .replacen(":stateMachine:", ":execution:", 1)
        )
    }
}

impl ExecutionStarter for SfnStarter {
    async fn start(&self, incident: &Incident) -> Result<Started, StartError> {
        let input = serde_json::to_string(incident).map_err(StartError::new)?;
        let result = self
            .client
            .start_execution()
            .state_machine_arn(&self.state_machine_arn)
            .name(incident.id.as_str())
            .input(input)
            .send()
            .await;
        match result {
            Ok(out) => Ok(Started::New {
                arn: out.execution_arn,
            }),
            Err(SdkError::ServiceError(e))
                if matches!(e.err(), StartExecutionError::ExecutionAlreadyExists(_)) =>
            {
                Ok(Started::AlreadyExists {
                    arn: self.execution_arn(incident.id.as_str()),
                })
            }
            Err(e) => Err(start_error(e)),
        }
    }
}

/// Which StartExecution errors are final for this input: an input Step Functions cannot take
/// (too large, not JSON) or a name it refuses. Throttling, outages, and a state machine that is
/// missing or being deleted (a deploy fixes those) are worth retrying.
fn start_error<R>(e: SdkError<StartExecutionError, R>) -> StartError
where
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let refused = matches!(&e, SdkError::ServiceError(se) if matches!(
        se.err(),
        StartExecutionError::InvalidExecutionInput(_)
            | StartExecutionError::InvalidName(_)
            | StartExecutionError::ValidationException(_)
    ));
    if refused {
        StartError::refused(e)
    } else {
        StartError::new(e)
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_sfn::types::error::{ExecutionLimitExceeded, InvalidExecutionInput};
    use selfheal_core::{Classified, ErrorClass};

    use super::*;

    fn service(e: StartExecutionError) -> SdkError<StartExecutionError, ()> {
        SdkError::service_error(e, ())
    }

    #[test]
    fn an_input_step_functions_refuses_is_final_and_the_rest_is_retried() {
        let too_big = InvalidExecutionInput::builder()
            .message("input exceeds 262144 bytes")
            .build();
        let refused = start_error(service(StartExecutionError::InvalidExecutionInput(too_big)));
        assert_eq!(refused.class(), ErrorClass::NonRetryable);
        assert!(refused.message.contains("262144"), "{}", refused.message);
        let busy = ExecutionLimitExceeded::builder().message("limit").build();
        let throttled = start_error(service(StartExecutionError::ExecutionLimitExceeded(busy)));
        assert_eq!(throttled.class(), ErrorClass::Retryable);
        let timeout = start_error(SdkError::<StartExecutionError, ()>::timeout_error("slow"));
        assert_eq!(timeout.class(), ErrorClass::Retryable);
    }
}
