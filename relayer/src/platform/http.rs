//! Shared HTTP pieces: the JSON extractor with typed rejections, field helpers, and the
//! fallbacks and layers every request goes through (panic guard, per-route metrics).

use axum::{
    extract::{rejection::JsonRejection, FromRequest, MatchedPath, Request},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse, Response},
};
use serde::de::DeserializeOwned;

use crate::platform::{
    error::{ApiError, ErrorCode},
    metrics::Metrics,
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

/// `Query<T>` whose rejections are `INVALID_QUERY` [`ApiError`]s.
pub struct ApiQuery<T>(pub T);

impl<S, T> axum::extract::FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection| ApiError::new(ErrorCode::InvalidQuery, rejection.body_text()))
    }
}

/// `INVALID_QUERY` naming the parameter `field` and the rule it broke.
pub(crate) fn invalid_param(field: &str, rule: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidQuery, format!("`{field}` must be {rule}"))
        .with_details(serde_json::json!({ "field": field }))
}

/// `INVALID_BODY` naming `field` and the rule it broke.
pub(crate) fn invalid_field(field: &str, rule: &str) -> ApiError {
    ApiError::new(ErrorCode::InvalidBody, format!("`{field}` must be {rule}"))
        .with_details(serde_json::json!({ "field": field }))
}

/// A base58 address in `field`.
pub(crate) fn parse_pubkey(
    value: &str,
    field: &str,
) -> Result<anchor_lang::prelude::Pubkey, ApiError> {
    value
        .parse()
        .map_err(|_| invalid_field(field, "a base58 Solana address"))
}

/// The service behind `RELAYER_RPC_URL`, or `501 CHAIN_NOT_CONFIGURED`.
pub(crate) fn on_chain<T: ?Sized>(service: Option<&T>) -> Result<&T, ApiError> {
    service.ok_or_else(|| {
        ApiError::new(
            ErrorCode::ChainNotConfigured,
            "the relayer runs without RELAYER_RPC_URL",
        )
    })
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
    axum::extract::State(metrics): axum::extract::State<Metrics>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    metrics
        .http_requests_total
        .with_label_values(&[route.as_str(), response.status().as_str()])
        .inc();
    metrics
        .http_request_duration
        .with_label_values(&[route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    response
}

/// `429 RATE_LIMITED` for a client address past its limit on the routes without a key
/// (`Retry-After` is set by the limit's layer).
pub fn rate_limited(_retry_after_secs: u64) -> Response {
    ApiError::new(
        ErrorCode::RateLimited,
        "too many requests from this address; retry later",
    )
    .into_response()
}

/// A panic in a handler becomes `INTERNAL_ERROR`, never a dropped connection.
pub fn panic_response() -> Response {
    let mut response =
        ApiError::new(ErrorCode::Internal, "internal error; it has been logged").into_response();
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

/// Answers `503 REQUEST_TIMEOUT` when the rest of the stack takes longer than `limit`; the
/// handler's future is dropped, so nothing more is done for the request.
pub async fn deadline(
    axum::extract::State(limit): axum::extract::State<std::time::Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            ErrorCode::RequestTimeout,
            format!(
                "the request took longer than {} ms and was abandoned",
                limit.as_millis()
            ),
        )
        .retry_after(1)
        .into_response(),
    }
}
