//! Task tokens for `.waitForTaskToken`: the execution waits until someone calls SendTaskSuccess,
//! SendTaskFailure or SendTaskHeartbeat with the token, or until the task times out.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use serde_json::Value;
use thiserror::Error;
use tokio::sync::mpsc;

use crate::error::StatesError;

/// What a token's owner was told.
#[derive(Debug, Clone, PartialEq)]
pub enum Message {
    /// SendTaskSuccess: the task's result.
    Success(Value),
    /// SendTaskFailure.
    Failure(StatesError),
    /// SendTaskHeartbeat: the task is alive.
    Heartbeat,
}

/// Why a token call was refused (the Step Functions API's errors).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TokenError {
    /// The token was never issued.
    #[error("InvalidToken: the task token is not valid")]
    InvalidToken,
    /// The token's task has already ended (completed or timed out).
    #[error(
        "TaskTimedOut: the task token has either expired or the task associated with the token has already been closed"
    )]
    TaskTimedOut,
}

/// Issued tokens and the tasks waiting on them.
#[derive(Debug, Default)]
pub struct Tokens {
    inner: Mutex<Registry>,
}

#[derive(Debug, Default)]
struct Registry {
    open: HashMap<String, (String, mpsc::UnboundedSender<Message>)>,
    closed: HashSet<String>,
}

impl Tokens {
    fn lock(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Issues a token for a task of `execution`; messages for it arrive on the receiver.
    pub fn issue(&self, execution: &str) -> (String, mpsc::UnboundedReceiver<Message>) {
        let bytes: [u8; 24] = std::array::from_fn(|_| fastrand::u8(..));
        let token = format!("AQB{}", hex::encode(bytes));
        let (tx, rx) = mpsc::unbounded_channel();
        self.lock()
            .open
            .insert(token.clone(), (execution.to_owned(), tx));
        (token, rx)
    }

    /// Closes a token: later calls with it answer TaskTimedOut.
    pub fn close(&self, token: &str) {
        let mut r = self.lock();
        r.open.remove(token);
        r.closed.insert(token.to_owned());
    }

    /// Delivers a message to the task waiting on `token`. Success and failure close it.
    pub fn send(&self, token: &str, message: Message) -> Result<(), TokenError> {
        let mut r = self.lock();
        let Some((_, tx)) = r.open.get(token) else {
            return Err(if r.closed.contains(token) {
                TokenError::TaskTimedOut
            } else {
                TokenError::InvalidToken
            });
        };
        let closes = !matches!(message, Message::Heartbeat);
        if tx.send(message).is_err() {
            // The waiting task is gone (its execution ended).
            r.open.remove(token);
            r.closed.insert(token.to_owned());
            return Err(TokenError::TaskTimedOut);
        }
        if closes {
            r.open.remove(token);
            r.closed.insert(token.to_owned());
        }
        Ok(())
    }

    /// Tokens waiting for an answer, with their execution names.
    pub fn pending(&self) -> Vec<(String, String)> {
        self.lock()
            .open
            .iter()
            .map(|(t, (e, _))| (t.clone(), e.clone()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_token_answers_once() {
        let tokens = Tokens::default();
        let (token, mut rx) = tokens.issue("inc-1");
        assert_eq!(tokens.pending(), vec![(token.clone(), "inc-1".to_string())]);
        tokens.send(&token, Message::Heartbeat).unwrap();
        tokens
            .send(&token, Message::Success(json!({"approved": true})))
            .unwrap();
        assert_eq!(rx.try_recv().unwrap(), Message::Heartbeat);
        assert_eq!(
            rx.try_recv().unwrap(),
            Message::Success(json!({"approved": true}))
        );
        assert_eq!(
            tokens.send(&token, Message::Heartbeat),
            Err(TokenError::TaskTimedOut)
        );
        assert_eq!(
            tokens.send("nope", Message::Heartbeat),
            Err(TokenError::InvalidToken)
        );
    }
}
