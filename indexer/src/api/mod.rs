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
//! | `GET /health`, `/metrics`, `/openapi.json` | operations | [`ops`], [`docs`] |
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

use std::sync::Arc;

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
    /// The indexer's database (the relayer's tables, if it shares it, are read too).
    pub pool: PgPool,
    /// The indexer's metrics, rendered at `/metrics`.
    pub metrics: Arc<IndexerMetrics>,
}

impl ApiState {
    /// State over `pool` and `metrics`.
    pub fn new(pool: PgPool, metrics: Arc<IndexerMetrics>) -> Self {
        Self { pool, metrics }
    }
}

/// The analytics API.
pub fn app(state: ApiState) -> Router {
    Router::new()
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
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
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
