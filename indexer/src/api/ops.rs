//! `/health` and `/metrics`.

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::IntoResponse,
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ApiState;

/// `GET /health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok` or `down`.
    pub status: String,
    /// PostgreSQL: `up` or `down`.
    pub database: String,
}

/// The database's state (`SELECT 1`): 200 when it answers, 503 otherwise.
#[utoipa::path(get, path = "/health", tag = "ops",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn health(State(state): State<ApiState>) -> impl IntoResponse {
    let up = sqlx::query("SELECT 1")
        .execute(&state.pool)
        .await
        .inspect_err(|error| tracing::warn!(%error, "health: database down"))
        .is_ok();
    let (code, status, database) = if up {
        (StatusCode::OK, "ok", "up")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "down", "down")
    };
    (
        code,
        Json(Health {
            status: status.into(),
            database: database.into(),
        }),
    )
}

/// Prometheus text exposition of the indexer's metrics.
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(State(state): State<ApiState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
