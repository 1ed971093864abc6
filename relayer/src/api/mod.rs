//! The HTTP surface: routes, the JSON extractor with typed rejections, and the layers every
//! request goes through (request id, tracing, panic guard, body limit, per-route metrics).

pub mod chittyid;
pub mod docs;
pub mod ops;

use axum::{
    extract::{rejection::JsonRejection, FromRequest, MatchedPath, Request},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::de::DeserializeOwned;

use crate::{
    error::{ApiError, ErrorCode},
    state::AppState,
};

/// `Json<T>` whose rejections are [`ApiError`]s (`INVALID_BODY`, `PAYLOAD_TOO_LARGE`).
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(value)) => Ok(Self(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::BytesRejection(_) => ApiError::new(
            ErrorCode::PayloadTooLarge,
            "the request body is larger than the configured limit",
        ),
        JsonRejection::MissingJsonContentType(_) => ApiError::new(
            ErrorCode::InvalidBody,
            "the body must be JSON with `Content-Type: application/json`",
        ),
        other => ApiError::new(ErrorCode::InvalidBody, other.body_text()),
    }
}

/// Unknown routes.
pub async fn route_not_found() -> ApiError {
    ApiError::new(ErrorCode::RouteNotFound, "no such route")
}

/// Known route, wrong method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this route does not accept this method",
    )
}

/// Counts `http_requests_total{route,status}`.
pub async fn count_requests(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let response = next.run(request).await;
    state
        .metrics
        .http_requests_total
        .with_label_values(&[route.as_str(), response.status().as_str()])
        .inc();
    response
}

/// A panic in a handler becomes `INTERNAL_ERROR`, never a dropped connection.
pub fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("handler panicked");
    let mut response =
        ApiError::new(ErrorCode::Internal, "internal error; it has been logged").into_response();
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}
