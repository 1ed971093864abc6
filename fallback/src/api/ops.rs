//! `GET /health` and `GET /metrics`: the same operational surface as the relayer and the
//! indexer. Both are open (no bearer token), like `GET …/status`.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request, State},
    http::{header, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};

use crate::FallbackState;

/// `GET /health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// `ok` when the store answers, else `down`.
    pub status: String,
    /// The embedded store: `up` or `down`.
    pub store: String,
    /// Whether a bearer token guards the protected routes.
    pub token_required: bool,
}

/// 200 with `status: ok` when the store answers a read, 503 with `status: down` otherwise.
pub async fn health(State(state): State<FallbackState>) -> Response {
    let token_required = state.token().is_some();
    match state.run(|service| service.status()).await {
        Ok(_) => Json(Health {
            status: "ok".into(),
            store: "up".into(),
            token_required,
        })
        .into_response(),
        Err(_) => (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(Health {
                status: "down".into(),
                store: "down".into(),
                token_required,
            }),
        )
            .into_response(),
    }
}

/// Prometheus text exposition; the record gauges are read from the store at each scrape.
pub async fn metrics(State(state): State<FallbackState>) -> Response {
    if let Ok(report) = state.run(|service| service.status()).await {
        state
            .metrics()
            .records_issued
            .set(i64::try_from(report.issued).unwrap_or(i64::MAX));
        state
            .metrics()
            .last_seq_no
            .set(i64::try_from(report.last_seq_no).unwrap_or(i64::MAX));
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics().render(),
    )
        .into_response()
}

/// Counts `fallback_http_requests_total{route,status}` and times each request.
pub async fn count_requests(
    State(state): State<FallbackState>,
    request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let started = Instant::now();
    let response = next.run(request).await;
    let metrics = state.metrics();
    metrics
        .http_request_duration
        .with_label_values(&[route.as_str()])
        .observe(started.elapsed().as_secs_f64());
    metrics
        .http_requests_total
        .with_label_values(&[route.as_str(), response.status().as_str()])
        .inc();
    response
}
