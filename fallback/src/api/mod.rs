//! The HTTP handlers, one file per endpoint group. Each extracts, calls the
//! [`FallbackService`](crate::FallbackService) on the blocking pool, and answers.

use crate::error::{ApiError, ErrorCode};

pub mod extract;
pub mod guard;
pub mod ops;
pub mod records;
pub mod request;
pub mod status;

/// Any path that is not a route.
pub async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::RouteNotFound, "no such route")
}

/// A route asked with a method it does not serve.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this route does not serve this method",
    )
}
