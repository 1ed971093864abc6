//! The bearer-token guard on every route but `GET /api/v2/fallback/status`.

use axum::{
    extract::{Request, State},
    http::header::AUTHORIZATION,
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::{
    error::{ApiError, ErrorCode},
    FallbackState,
};

/// Passes the request on if no token is configured, or if `Authorization` is
/// `Bearer <token>`; answers `FALLBACK_UNAUTHORIZED` otherwise.
pub async fn require_token(
    State(state): State<FallbackState>,
    req: Request,
    next: Next,
) -> Response {
    if let Some(token) = state.token() {
        let presented = req.headers().get(AUTHORIZATION).map(|v| v.as_bytes());
        // A configured token is required on every guarded route.
        if !token.admits(presented) {
            let message = if presented.is_none() {
                "this route requires `Authorization: Bearer <token>`"
            } else {
                "the bearer token is not the configured one"
            };
            return ApiError::new(ErrorCode::Unauthorized, message).into_response();
        }
    }
    next.run(req).await
}
