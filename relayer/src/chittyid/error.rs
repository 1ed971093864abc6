//! How ChittyID failures are answered: the grammar's errors and the anchorer's, to their codes
//! in the envelope.

use serde_json::json;

use super::anchor::AnchorError;
use crate::platform::{
    db::StoreError,
    error::{ApiError, ErrorCode},
};

impl From<AnchorError> for ApiError {
    fn from(e: AnchorError) -> Self {
        match e {
            AnchorError::Chain { source, .. } => source.into(),
            AnchorError::Database(error) => ApiError::from(StoreError::from(error)),
            AnchorError::Malformed { batch_id, what } => {
                tracing::error!(batch_id, what, "stored batch is malformed");
                ApiError::new(ErrorCode::Internal, "internal error")
            }
        }
    }
}

impl From<veil_chittyid::ChittyIdError> for ApiError {
    fn from(e: veil_chittyid::ChittyIdError) -> Self {
        let code = ErrorCode::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == e.code())
            .unwrap_or(ErrorCode::ChittyIdMalformed);
        let details = match &e {
            veil_chittyid::ChittyIdError::ChecksumMismatch { expected, found } => {
                json!({ "expected": expected.to_string(), "found": found.to_string() })
            }
            veil_chittyid::ChittyIdError::LegacyShape(shape) => {
                json!({ "legacy_shape": format!("{shape:?}") })
            }
            _ => json!({}),
        };
        Self::new(code, e.to_string()).with_details(details)
    }
}
