//! The fallback minter's one error answer and its stable, documented codes.
//!
//! Every failure a caller can see is an [`ApiError`]: an [`ErrorCode`] (unique, listed in
//! `docs/fallback.md`, checked by a test), a message that states the rule broken, and
//! structured `details`. The body is always
//! `{ "error": { "code": "FALLBACK_…", "message": "…", "details": {…} } }`.
//!
//! Storage and internal failures are logged with their cause and answered with a generic
//! message: no path, no redb error, no key material ever reaches a caller.

use axum::{
    extract::rejection::{JsonRejection, PathRejection, QueryRejection},
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use serde_json::{json, Value};

use crate::service::ServiceError;

veil_api_codes::error_codes! {
    /// Every error code the fallback minter answers with.
    enum ErrorCode {
        /// The body is not JSON of the request's shape (syntax, types, unknown fields, or a
        /// missing `Content-Type: application/json`).
        InvalidBody = ("FALLBACK_INVALID_BODY", BAD_REQUEST),
        /// The body is larger than the limit (2 MiB).
        PayloadTooLarge = ("FALLBACK_PAYLOAD_TOO_LARGE", PAYLOAD_TOO_LARGE),
        /// Not exactly one of `content` (standard base64) and `content_hash` (64 hex characters).
        InvalidContent = ("FALLBACK_INVALID_CONTENT", BAD_REQUEST),
        /// `request_nonce` is missing or not 1–64 bytes of hex.
        InvalidNonce = ("FALLBACK_INVALID_NONCE", BAD_REQUEST),
        /// `namespace` is missing or not 3 or 4 uppercase letters.
        InvalidNamespace = ("FALLBACK_INVALID_NAMESPACE", BAD_REQUEST),
        /// `entity_type` is missing or not one of `P L T E A I`.
        InvalidEntityType = ("FALLBACK_INVALID_ENTITY_TYPE", BAD_REQUEST),
        /// `trust_level` is not 0–9.
        InvalidTrustLevel = ("FALLBACK_INVALID_TRUST_LEVEL", BAD_REQUEST),
        /// The path's ID is not a valid ChittyID.
        InvalidId = ("FALLBACK_INVALID_ID", BAD_REQUEST),
        /// A query parameter is malformed, unknown, or out of range (`limit` 1–1000).
        InvalidQuery = ("FALLBACK_INVALID_QUERY", BAD_REQUEST),
        /// No bearer token, or not the configured one.
        Unauthorized = ("FALLBACK_UNAUTHORIZED", UNAUTHORIZED),
        /// A valid ID this fallback never issued.
        NotFound = ("FALLBACK_NOT_FOUND", NOT_FOUND),
        /// No such route.
        RouteNotFound = ("FALLBACK_ROUTE_NOT_FOUND", NOT_FOUND),
        /// The route exists, but not with this method.
        MethodNotAllowed = ("FALLBACK_METHOD_NOT_ALLOWED", METHOD_NOT_ALLOWED),
        /// No free sequence was found within the retry budget; retry the request.
        SequenceExhausted = ("FALLBACK_SEQUENCE_EXHAUSTED", SERVICE_UNAVAILABLE),
        /// The embedded store failed (logged); nothing was issued.
        Storage = ("FALLBACK_STORAGE", SERVICE_UNAVAILABLE),
        /// Anything else (logged); the caller sees only this code.
        Internal = ("FALLBACK_INTERNAL", INTERNAL_SERVER_ERROR),
    }
}

/// An error answer: code, message, details.
#[derive(Debug)]
pub struct ApiError {
    /// The stable code.
    pub code: ErrorCode,
    /// Human-readable; states the rule broken; never contains internals.
    pub message: String,
    /// Structured details (field names, the grammar's own code).
    pub details: Value,
}

/// The wire shape of an error.
#[derive(Debug, Serialize)]
struct ErrorBody<'a> {
    error: ErrorObject<'a>,
}

#[derive(Debug, Serialize)]
struct ErrorObject<'a> {
    code: &'static str,
    message: &'a str,
    details: &'a Value,
}

impl ApiError {
    /// An error with empty details.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            details: json!({}),
        }
    }

    /// Adds structured details.
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }

    /// An internal failure: logs `cause` with `context`, answers a generic message.
    pub fn internal(context: &str, cause: &dyn std::error::Error) -> Self {
        tracing::error!(context, error = %cause, "internal error");
        Self::new(ErrorCode::Internal, "internal error; it has been logged")
    }

    /// A JSON body the endpoint cannot read.
    pub fn from_json_rejection(rejection: &JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return Self::new(
                ErrorCode::PayloadTooLarge,
                "the request body is larger than the limit",
            );
        }
        let reason = match rejection {
            JsonRejection::MissingJsonContentType(_) => "missing_content_type",
            JsonRejection::JsonSyntaxError(_) => "syntax",
            JsonRejection::JsonDataError(_) => "shape",
            _ => "unreadable",
        };
        Self::new(ErrorCode::InvalidBody, rejection.body_text())
            .with_details(json!({ "reason": reason }))
    }

    /// A query string the endpoint cannot read.
    pub fn from_query_rejection(rejection: &QueryRejection) -> Self {
        Self::new(ErrorCode::InvalidQuery, rejection.body_text())
    }

    /// A path parameter the endpoint cannot read.
    pub fn from_path_rejection(rejection: &PathRejection) -> Self {
        Self::new(ErrorCode::InvalidId, rejection.body_text())
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        let message = e.to_string();
        match &e {
            ServiceError::Content { .. } => Self::new(ErrorCode::InvalidContent, message)
                .with_details(json!({
                    "fields": ["content", "content_hash"],
                })),
            ServiceError::ContentEncoding { field } => {
                Self::new(ErrorCode::InvalidContent, message)
                    .with_details(json!({ "field": field }))
            }
            ServiceError::Nonce => Self::new(ErrorCode::InvalidNonce, message)
                .with_details(json!({ "field": "request_nonce" })),
            ServiceError::Namespace => Self::new(ErrorCode::InvalidNamespace, message)
                .with_details(json!({ "field": "namespace" })),
            ServiceError::EntityType => Self::new(ErrorCode::InvalidEntityType, message)
                .with_details(
                    json!({ "field": "entity_type", "allowed": ["P", "L", "T", "E", "A", "I"] }),
                ),
            ServiceError::TrustLevel { .. } => Self::new(ErrorCode::InvalidTrustLevel, message)
                .with_details(json!({ "field": "trust_level", "min": 0, "max": 9 })),
            ServiceError::Id(grammar) => Self::new(ErrorCode::InvalidId, message)
                .with_details(json!({ "grammar_code": grammar.code() })),
            ServiceError::Limit { .. } => Self::new(ErrorCode::InvalidQuery, message).with_details(
                json!({ "field": "limit", "min": 1, "max": crate::service::MAX_PAGE }),
            ),
            ServiceError::NotFound { .. } => Self::new(ErrorCode::NotFound, message),
            ServiceError::SequenceExhausted { .. } => {
                tracing::warn!(error = %e, "sequence retry budget exhausted");
                Self::new(ErrorCode::SequenceExhausted, message)
            }
            ServiceError::Store(cause) => {
                tracing::error!(error = %cause, source = ?std::error::Error::source(cause), "store failure");
                Self::new(
                    ErrorCode::Storage,
                    "the fallback store failed; nothing was issued (it has been logged)",
                )
            }
            ServiceError::Grammar(_) | ServiceError::Sign(_) | ServiceError::CounterOverflow => {
                Self::internal("issuing a provisional record", &e)
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorObject {
                code: self.code.as_str(),
                message: &self.message,
                details: &self.details,
            },
        };
        (self.code.status(), Json(body)).into_response()
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code.as_str(), self.message)
    }
}

impl std::error::Error for ApiError {}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn codes_are_unique_and_prefixed() {
        let mut seen = HashSet::new();
        for code in ErrorCode::ALL {
            assert!(seen.insert(code.as_str()), "duplicate {}", code.as_str());
            assert!(code.as_str().starts_with("FALLBACK_"));
        }
    }

    #[test]
    fn only_internal_is_a_500() {
        for code in ErrorCode::ALL {
            assert_eq!(
                code.status() == StatusCode::INTERNAL_SERVER_ERROR,
                *code == ErrorCode::Internal,
                "{}",
                code.as_str()
            );
        }
    }
}
