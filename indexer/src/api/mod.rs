//! The analytics API: a small axum service of the indexer's own (not part of the relayer),
//! reading the tables the pipeline writes (`migrations/0003_indexer.sql`, indexes in
//! `0004_indexer_analytics.sql`).
//!
//! | route | answers | file |
//! |---|---|---|
//! | `GET /api/v1/analytics/verifications?bucket=hour\|day&from=&to=` | verifications per track per bucket | [`verifications`] |
//! | `GET /api/v1/analytics/nullifiers` | per track: nullifiers spent, distinct scopes | [`nullifiers`] |
//! | `GET /api/v1/analytics/challenges` | current challenges by mode and status | [`challenges`] |
//! | `GET /api/v1/analytics/slashes` | slashed volume per mint | [`slashes`] |
//! | `GET /api/v1/analytics/id-mints?from=&to=` | IDs anchored and minted per hour, fallback ratio | [`id_mints`] |
//! | `GET /health`, `/metrics`, `/openapi.json`, `/docs` | operations | [`ops`], [`docs`] |
//!
//! Every request gets an `x-request-id` (kept when the caller sent one, returned either way), a
//! tracing span carrying it, and a panic guard that answers `INTERNAL_ERROR`.
//!
//! Each analytics endpoint is one SQL statement (its `SQL` constant), run by a function that
//! knows nothing of HTTP; the handler only extracts, validates and answers. Errors are
//! [`ApiError`]s: typed 400s for bad parameters, never a 500 for caller input.

pub mod challenges;
pub mod docs;
pub mod error;
pub mod id_mints;
pub mod nullifiers;
pub mod ops;
pub mod params;
pub mod slashes;
pub mod verifications;

use std::{sync::Arc, time::Duration};

use axum::{
    extract::{FromRequestParts, Query},
    http::request::Parts,
    routing::get,
    Router,
};
use serde::de::DeserializeOwned;
use sqlx::PgPool;

pub use self::error::{ApiError, ErrorCode};
use crate::metrics::IndexerMetrics;

/// What the handlers share.
#[derive(Debug, Clone)]
pub struct ApiState {
    /// The API's own pool: never the writers' (a flood of analytics requests must not starve
    /// ingestion), created by [`api_pool`] with a statement timeout.
    pub pool: PgPool,
    /// The indexer's metrics, rendered at `/metrics`.
    pub metrics: Arc<IndexerMetrics>,
    /// How much the API takes on at once.
    pub limits: ApiLimits,
    /// CORS and the limit per client address, when configured.
    pub edge: Edge,
}

/// What the API does at its edge for browser callers and per client address.
#[derive(Clone, Default)]
pub struct Edge {
    /// CORS (`INDEXER_CORS_ORIGINS`).
    pub cors: Option<tower_http::cors::CorsLayer>,
    /// Requests per client address (`INDEXER_PER_IP_PER_SEC`, behind
    /// `INDEXER_TRUSTED_PROXIES`).
    pub per_client: Option<veil_http_layers::client::PerClientLimit>,
}

impl std::fmt::Debug for Edge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Edge")
            .field("cors", &self.cors.is_some())
            .field("per_client", &self.per_client.is_some())
            .finish()
    }
}

/// The API's load limits (audit finding 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiLimits {
    /// Requests served at once; more are refused at once with `503 OVERLOADED`.
    pub concurrency: usize,
    /// Longest a request may take before it is answered `503 QUERY_TIMEOUT`.
    pub request_timeout: Duration,
}

impl Default for ApiLimits {
    fn default() -> Self {
        Self {
            concurrency: 16,
            request_timeout: Duration::from_secs(5),
        }
    }
}

impl ApiState {
    /// State over `pool` and `metrics`, with the default limits.
    pub fn new(pool: PgPool, metrics: Arc<IndexerMetrics>) -> Self {
        Self {
            pool,
            metrics,
            limits: ApiLimits::default(),
            edge: Edge::default(),
        }
    }

    /// The same with `edge`.
    pub fn with_edge(mut self, edge: Edge) -> Self {
        self.edge = edge;
        self
    }

    /// The same with `limits`.
    pub fn with_limits(mut self, limits: ApiLimits) -> Self {
        self.limits = limits;
        self
    }
}

/// A pool for the API on `url`: at most `connections`, each with `statement_timeout`, so that
/// no analytics query can hold a connection (or a lock the writers wait on) for longer.
pub async fn api_pool(
    url: &str,
    connections: u32,
    statement_timeout: Duration,
) -> Result<PgPool, sqlx::Error> {
    let timeout_ms = statement_timeout.as_millis().max(1);
    sqlx::postgres::PgPoolOptions::new()
        .max_connections(connections.max(1))
        .acquire_timeout(Duration::from_secs(2))
        .after_connect(move |connection, _| {
            Box::pin(async move {
                use sqlx::Executor;
                connection
                    .execute(format!("SET statement_timeout = {timeout_ms}").as_str())
                    .await?;
                Ok(())
            })
        })
        .connect(url)
        .await
}

/// The analytics API. Beyond `limits.concurrency` requests at once the rest are shed with
/// `503 OVERLOADED` (never queued behind a slow query), and a request running past
/// `limits.request_timeout` is answered `503 QUERY_TIMEOUT`.
pub fn app(state: ApiState) -> Router {
    let limits = state.limits;
    let edge = state.edge.clone();
    let routes = Router::new()
        .route(
            "/api/v1/analytics/verifications",
            get(verifications::handler),
        )
        .route("/api/v1/analytics/nullifiers", get(nullifiers::handler))
        .route("/api/v1/analytics/challenges", get(challenges::handler))
        .route("/api/v1/analytics/slashes", get(slashes::handler))
        .route("/api/v1/analytics/id-mints", get(id_mints::handler))
        .route("/health", get(ops::health))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(docs::openapi))
        .merge(docs::page())
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(
            tower::ServiceBuilder::new()
                .layer(axum::error_handling::HandleErrorLayer::new(overloaded))
                .load_shed()
                .concurrency_limit(limits.concurrency.max(1))
                .timeout(limits.request_timeout),
        );
    // The limit per client first (a refused client takes no concurrency slot), CORS outermost
    // (a preflight is answered before either, and every answer carries its headers).
    let routes = match edge.per_client {
        Some(limit) => routes.layer(axum::middleware::from_fn_with_state(
            limit,
            veil_http_layers::client::PerClientLimit::layer,
        )),
        None => routes,
    };
    let routes = match edge.cors {
        Some(cors) => routes.layer(cors),
        None => routes,
    };
    veil_http_layers::observe(routes, panic_response)
}

/// `429 RATE_LIMITED` for a client address past its limit.
/// (`Retry-After` is set by the limit's layer.)
pub fn rate_limited(retry_after_secs: u64) -> axum::response::Response {
    use axum::response::IntoResponse;
    ApiError::new(
        ErrorCode::RateLimited,
        format!("too many requests from this address; retry after {retry_after_secs} s"),
    )
    .into_response()
}

/// A panic in a handler becomes `INTERNAL_ERROR`, never a dropped connection.
fn panic_response() -> axum::response::Response {
    use axum::response::IntoResponse;
    ApiError::new(ErrorCode::Internal, "internal error; it has been logged").into_response()
}

/// The answer of a request the load limits refused.
async fn overloaded(error: tower::BoxError) -> axum::response::Response {
    use axum::response::IntoResponse;
    if error.is::<tower::timeout::error::Elapsed>() {
        return ApiError::new(
            ErrorCode::QueryTimeout,
            "the request took longer than the API allows",
        )
        .into_response();
    }
    if error.is::<tower::load_shed::error::Overloaded>() {
        let mut response = ApiError::new(
            ErrorCode::Overloaded,
            "the analytics API is at its concurrency limit; retry shortly",
        )
        .into_response();
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("1"),
        );
        return response;
    }
    ApiError::internal("API middleware", error).into_response()
}

/// `Query<T>` whose rejection is an [`ApiError`] (`INVALID_QUERY`).
#[derive(Debug)]
pub struct ApiQuery<T>(pub T);

impl<S, T> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(Self(value)),
            Err(rejection) => Err(ApiError::new(
                ErrorCode::InvalidQuery,
                rejection.body_text(),
            )),
        }
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

/// A `bytea` key as lowercase hex (the indexer's convention for byte arrays).
pub(crate) fn hex_of(bytes: &[u8]) -> String {
    hex::encode(bytes)
}

/// A `bytea` public key as base58; anything not 32 bytes long as hex.
pub(crate) fn pubkey_of(bytes: &[u8]) -> String {
    <[u8; 32]>::try_from(bytes)
        .map(|a| anchor_lang::prelude::Pubkey::new_from_array(a).to_string())
        .unwrap_or_else(|_| hex::encode(bytes))
}
