//! The analytics API's one error type and its stable codes.
//!
//! The body is always `{ "error": { "code": "…", "message": "…", "details": {…} } }`, as in
//! the relayer. A bad query parameter is a typed 400 that names the parameter; a database
//! that cannot be reached is `DATABASE_UNAVAILABLE`; anything else is logged with its cause
//! and answered `INTERNAL_ERROR` with a generic message: no SQL ever reaches a caller.

use axum::{
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;
use serde_json::{json, Value};
use utoipa::ToSchema;

veil_api_codes::error_codes! {
    /// Every error code the analytics API answers with.
    enum ErrorCode {
        /// The query string does not parse (for example a parameter given twice).
        InvalidQuery = ("INVALID_QUERY", BAD_REQUEST),
        /// A required parameter is absent.
        MissingParameter = ("MISSING_PARAMETER", BAD_REQUEST),
        /// `bucket` is not `hour` or `day`.
        InvalidBucket = ("INVALID_BUCKET", BAD_REQUEST),
        /// `from` or `to` is not a unix time in seconds between 0 and 253402300799.
        InvalidTimestamp = ("INVALID_TIMESTAMP", BAD_REQUEST),
        /// `from` is not before `to`, or the range spans more buckets than allowed.
        InvalidTimeRange = ("INVALID_TIME_RANGE", BAD_REQUEST),
        /// No such route.
        RouteNotFound = ("ROUTE_NOT_FOUND", NOT_FOUND),
        /// The route exists but not with this method.
        MethodNotAllowed = ("METHOD_NOT_ALLOWED", METHOD_NOT_ALLOWED),
        /// PostgreSQL is unreachable.
        DatabaseUnavailable = ("DATABASE_UNAVAILABLE", SERVICE_UNAVAILABLE),
        /// This client address made more requests than `INDEXER_PER_IP_PER_SEC` and its burst allow; retry after `Retry-After`.
        RateLimited = ("RATE_LIMITED", TOO_MANY_REQUESTS),
        /// Every slot of the API's concurrency limit is taken; retry later (`Retry-After`).
        Overloaded = ("OVERLOADED", SERVICE_UNAVAILABLE),
        /// The query ran past the API's statement timeout, or the request past its timeout.
        QueryTimeout = ("QUERY_TIMEOUT", SERVICE_UNAVAILABLE),
        /// Anything else. Logged with its cause; the caller sees only this code.
        Internal = ("INTERNAL_ERROR", INTERNAL_SERVER_ERROR),
    }
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    /// The stable code.
    pub code: ErrorCode,
    /// Human-readable; states the rule broken. Never contains internals.
    pub message: String,
    /// Structured details (the parameter, what was expected).
    pub details: Value,
}

/// The wire shape of an error, for the OpenAPI document.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// The error.
    pub error: ErrorObject,
}

/// The `error` object.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorObject {
    /// Stable code, e.g. `INVALID_BUCKET`.
    pub code: String,
    /// What rule was broken.
    pub message: String,
    /// Structured details.
    #[schema(value_type = Object)]
    pub details: Value,
}

impl ApiError {
    /// An error with no details.
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

    /// A bad value of query parameter `parameter`.
    pub fn parameter(code: ErrorCode, parameter: &str, message: impl Into<String>) -> Self {
        Self::new(code, message).with_details(json!({ "parameter": parameter }))
    }

    /// An internal failure: logs `cause` with `context` and answers a generic message.
    pub fn internal(context: &str, cause: impl std::fmt::Display) -> Self {
        tracing::error!(context, %cause, "internal error");
        Self::new(ErrorCode::Internal, "internal error; it has been logged")
    }

    /// A database failure during `context`: unreachable is `DATABASE_UNAVAILABLE`, anything
    /// else is internal. Either way the cause is logged, never answered.
    pub fn database(context: &str, error: sqlx::Error) -> Self {
        match error {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                tracing::error!(context, %error, "database unavailable");
                Self::new(
                    ErrorCode::DatabaseUnavailable,
                    "the database is unavailable",
                )
            }
            // query_canceled: the API pool's statement_timeout.
            sqlx::Error::Database(ref db) if db.code().as_deref() == Some("57014") => {
                tracing::warn!(context, %error, "analytics query timed out");
                Self::new(
                    ErrorCode::QueryTimeout,
                    "the query took longer than the API allows",
                )
            }
            other => Self::internal(context, other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorObject {
                code: self.code.as_str().to_owned(),
                message: self.message,
                details: self.details,
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
