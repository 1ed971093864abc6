//! `/health` and `/metrics`.

use std::{net::SocketAddr, time::Instant};

use axum::{
    extract::{ConnectInfo, State},
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use std::sync::Arc;

use parking_lot::Mutex;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::state::AppState;

/// What the ops handlers read: the whole application (health probes every dependency) and the
/// last `/health` answer.
#[derive(Clone)]
pub struct Ops {
    app: AppState,
    cache: Arc<Mutex<Option<CachedHealth>>>,
}

/// `/health` and `/metrics`, public.
pub fn routes(app: AppState) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(health))
        .routes(routes!(metrics))
        .with_state(Ops {
            app,
            cache: Arc::new(Mutex::new(None)),
        })
}

/// One dependency's state.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DependencyHealth {
    /// `up` or `down`.
    pub status: String,
    /// Why it is down (a category, never internals).
    pub error: Option<String>,
}

/// A computed `/health` answer, reused for `RELAYER_HEALTH_CACHE_MS`.
#[derive(Debug, Clone)]
pub struct CachedHealth {
    at: Instant,
    code: StatusCode,
    body: Health,
}

/// `GET /health`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok` (all up), `degraded` (drand down but a fallback minter is configured) or `down`.
    pub status: String,
    /// PostgreSQL.
    pub database: DependencyHealth,
    /// Redis (nonce store).
    pub redis: DependencyHealth,
    /// drand relays with their circuit breakers.
    #[schema(value_type = Object)]
    pub drand: serde_json::Value,
    /// Whether a fallback minter is configured.
    pub fallback_configured: bool,
    /// The fallback minter's circuit breaker (`CLOSED`, `OPEN`, `HALF_OPEN`), when configured.
    pub fallback_breaker: Option<String>,
    /// The chain RPC's circuit breaker, with `RELAYER_RPC_URL`. Anchoring waits while it is
    /// open; minting does not depend on it.
    pub rpc_breaker: Option<String>,
    /// The prover, with `RELAYER_RPC_URL`: `loading` (the proving key is being loaded or
    /// generated), `ready` or `failed`.
    pub prover: Option<String>,
}

fn dep(result: Result<(), String>) -> DependencyHealth {
    match result {
        Ok(()) => DependencyHealth {
            status: "up".into(),
            error: None,
        },
        Err(e) => DependencyHealth {
            status: "down".into(),
            error: Some(e),
        },
    }
}

/// Dependency and circuit-breaker states. 200 when the relayer can mint (possibly through
/// the fallback), 503 otherwise.
#[utoipa::path(get, path = "/health", tag = "ops",
    responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn health(State(ops): State<Ops>, request: axum::extract::Request) -> Response {
    let state = &ops.app;
    // Per-IP limit first, then a recent answer if there is one: a flood of health checks
    // probes PostgreSQL, Redis and drand once per interval, not once per request.
    if let Some(ConnectInfo(addr)) = request.extensions().get::<ConnectInfo<SocketAddr>>() {
        if let Err(refused) = state.auth.check_health_rate(addr.ip()) {
            return crate::platform::error::ApiError::from(refused).into_response();
        }
    }
    let ttl = std::time::Duration::from_millis(state.config.health_cache_ms);
    if let Some(cached) = ops.cache.lock().as_ref().filter(|c| c.at.elapsed() < ttl) {
        return (cached.code, Json(cached.body.clone())).into_response();
    }
    let (code, body) = probe(state).await;
    *ops.cache.lock() = Some(CachedHealth {
        at: Instant::now(),
        code,
        body: body.clone(),
    });
    (code, Json(body)).into_response()
}

/// Probes every dependency.
async fn probe(state: &AppState) -> (StatusCode, Health) {
    let database = dep(crate::platform::db::ping(&state.pool)
        .await
        .map_err(|_| "unreachable".to_owned()));
    let redis = dep(state
        .auth
        .ping_nonce_store()
        .await
        .map_err(|_| "unreachable".to_owned()));
    // A cached beacon answers at once; otherwise this is a real probe of the relays (bounded by
    // their timeouts and breakers), so the report reflects drand now, not the last mint.
    let _ = state.drand.latest().await;
    let drand = state.drand.health();
    let drand_up = drand.available;
    let fallback_configured = state.fallback_configured;
    let status = if database.status != "up" || redis.status != "up" {
        "down"
    } else if drand_up {
        "ok"
    } else if fallback_configured
        && state
            .fallback
            .as_ref()
            .is_some_and(|f| f.breaker_state() != crate::platform::breaker::BreakerState::Open)
    {
        "degraded"
    } else {
        "down"
    };
    let code = if status == "down" {
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::OK
    };
    (
        code,
        Health {
            status: status.into(),
            database,
            redis,
            drand: serde_json::to_value(&drand).unwrap_or_default(),
            fallback_configured,
            fallback_breaker: state
                .fallback
                .as_ref()
                .map(|f| f.breaker_state().as_str().to_owned()),
            rpc_breaker: state
                .anchorer
                .as_ref()
                .map(|a| a.breaker_state().as_str().to_owned()),
            prover: state
                .registry
                .as_ref()
                .map(|r| r.prover().state().to_owned()),
        },
    )
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn metrics(State(ops): State<Ops>) -> impl IntoResponse {
    let state = &ops.app;
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
