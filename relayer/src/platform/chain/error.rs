//! How a chain failure is answered.

use serde_json::json;

use super::ChainError;
use crate::platform::{
    db::StoreError,
    error::{ApiError, ErrorCode},
};

impl From<ChainError> for ApiError {
    fn from(e: ChainError) -> Self {
        match e {
            ChainError::Unavailable { retry_after, .. } => ApiError::new(
                ErrorCode::ChainUnavailable,
                "the chain RPC is failing; its circuit breaker is open",
            )
            .retry_after(retry_after.as_secs().max(1)),
            ChainError::Transport { .. } | ChainError::NotLanded { .. } => ApiError::new(
                ErrorCode::ChainUnavailable,
                "the chain RPC did not answer; the submission resumes on the next attempt",
            )
            .retry_after(1),
            ChainError::Failed(failure) => ApiError::new(
                ErrorCode::ChainTransactionFailed,
                "the chain refused the transaction",
            )
            .with_details(json!({
                "error": failure.error.to_string(),
                "failing_program": failure.failing_program.map(|p| p.to_string()),
            })),
            ChainError::AlreadyFailed {
                error, signature, ..
            } => ApiError::new(
                ErrorCode::ChainTransactionFailed,
                "the transaction landed and failed",
            )
            .with_details(json!({ "error": error, "signature": signature })),
            ChainError::Database(error) => ApiError::from(StoreError::from(error)),
            ChainError::Rpc(error) => {
                tracing::error!(%error, "chain RPC answered unexpectedly");
                ApiError::new(
                    ErrorCode::ChainUnavailable,
                    "the chain RPC answered unexpectedly",
                )
                .retry_after(1)
            }
        }
    }
}
