//! [`ExecutionStarter`] on AWS Step Functions.

use aws_sdk_sfn::Client;
use aws_sdk_sfn::error::{DisplayErrorContext, SdkError};
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
        let input = serde_json::to_string(incident).map_err(|e| StartError(e.to_string()))?;
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
            Err(e) => Err(StartError(DisplayErrorContext(e).to_string())),
        }
    }
}
