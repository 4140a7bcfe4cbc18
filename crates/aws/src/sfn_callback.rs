//! [`TaskCallback`] on AWS Step Functions: the approval function completes the task tokens the
//! workflow waits on. A feature of its own (`sfn-callback`), apart from starting executions
//! (`sfn`), so each function links, and its role grants, only the calls it makes.

use aws_sdk_sfn::Client;
use aws_sdk_sfn::error::SdkError;

use crate::callback::{CallbackError, TaskCallback};

/// Completes task tokens of any execution.
#[derive(Debug, Clone)]
pub struct SfnCallback {
    client: Client,
}

impl SfnCallback {
    /// Through the shared SDK configuration.
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        SfnCallback {
            client: Client::new(config),
        }
    }
}

/// Which SDK errors mean the token is no longer waiting.
fn callback_error<E>(e: SdkError<E, aws_sdk_sfn::config::http::HttpResponse>) -> CallbackError
where
    E: aws_sdk_sfn::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let gone = matches!(&e, SdkError::ServiceError(se)
        if matches!(se.err().code(), Some("TaskTimedOut" | "TaskDoesNotExist" | "InvalidToken")));
    if gone {
        CallbackError::gone(e)
    } else {
        CallbackError::unavailable(e)
    }
}

impl TaskCallback for SfnCallback {
    async fn succeed(&self, token: &str, output: &serde_json::Value) -> Result<(), CallbackError> {
        self.client
            .send_task_success()
            .task_token(token)
            .output(output.to_string())
            .send()
            .await
            .map(|_| ())
            .map_err(callback_error)
    }

    async fn fail(&self, token: &str, error: &str, cause: &str) -> Result<(), CallbackError> {
        self.client
            .send_task_failure()
            .task_token(token)
            .error(error)
            .cause(cause)
            .send()
            .await
            .map(|_| ())
            .map_err(callback_error)
    }
}
