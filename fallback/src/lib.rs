//! The fallback minter (SPEC §5.5): a separate process, with its own Ed25519 key and its own
//! embedded storage (one redb file), that issues provisional `F` ChittyIDs when the main minter
//! or drand is unreachable. The relayer later imports its signed records, verifies them under
//! the pinned public key and issues authoritative IDs for them (reconciliation).
//!
//! It shares no runtime dependency with the relayer: no PostgreSQL, Redis, drand or VRF. The
//! ChittyID grammar and the signed record format ([`veil_chittyid::provisional`]) are the only
//! shared contract.
//!
//! - [`app`] builds the HTTP surface from a [`FallbackState`]; the handlers in [`api`] are thin.
//! - [`service`] is the transport-free [`FallbackService`]: validation, sequence derivation,
//!   signing.
//! - [`store`] is the redb [`Store`]: records, the ID index, occupied sequence slots, the
//!   counter; every commit is durable before it returns.
//! - [`key`] holds the signing key ([`FallbackKey`], redacted `Debug`); [`auth`] the optional
//!   bearer token; [`config`] the command line; [`error`] the one error type and its codes.

#![deny(missing_docs)]

use std::sync::Arc;

use axum::{
    middleware,
    routing::{get, post},
    Router,
};

pub mod api;
pub mod auth;
pub mod config;
pub mod error;
pub mod key;
pub mod metrics;
pub mod service;
pub mod store;

pub use auth::BearerToken;
pub use error::{ApiError, ErrorCode};
pub use key::FallbackKey;
pub use service::{Clock, FallbackService};
pub use store::Store;

/// The route prefix of every endpoint.
pub const ROUTE_PREFIX: &str = "/api/v2/fallback";

/// What every handler shares: the service and the optional bearer token.
#[derive(Clone, Debug)]
pub struct FallbackState {
    service: Arc<FallbackService>,
    token: Option<Arc<BearerToken>>,
    metrics: metrics::Metrics,
}

impl FallbackState {
    /// A state with no bearer token: every route is open.
    pub fn new(service: FallbackService) -> Self {
        Self {
            service: Arc::new(service),
            token: None,
            metrics: metrics::Metrics::new(),
        }
    }

    /// Requires `Authorization: Bearer <token>` on every route but `GET …/status`.
    pub fn with_token(mut self, token: BearerToken) -> Self {
        self.token = Some(Arc::new(token));
        self
    }

    /// The service.
    pub fn service(&self) -> &FallbackService {
        &self.service
    }

    /// The metrics.
    pub fn metrics(&self) -> &metrics::Metrics {
        &self.metrics
    }

    /// The bearer token, if one is required.
    pub fn token(&self) -> Option<&BearerToken> {
        self.token.as_deref()
    }

    /// Runs a service call on the blocking pool (redb commits wait for the disk), and maps its
    /// error to an answer.
    pub async fn run<T, F>(&self, call: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&FallbackService) -> Result<T, service::ServiceError> + Send + 'static,
    {
        let service = Arc::clone(&self.service);
        match tokio::task::spawn_blocking(move || call(&service)).await {
            Ok(result) => result.map_err(ApiError::from),
            Err(join) => Err(ApiError::internal("blocking service call", &join)),
        }
    }
}

/// The whole HTTP surface:
///
/// | route | auth |
/// |---|---|
/// | `POST /api/v2/fallback/request` | bearer, if configured |
/// | `GET /api/v2/fallback/status` | open |
/// | `GET /api/v2/fallback/status/{provisional_id}` | bearer, if configured |
/// | `GET /api/v2/fallback/records?after=&limit=` | bearer, if configured |
/// | `GET /health`, `GET /metrics` | open |
///
/// Unknown routes answer `FALLBACK_ROUTE_NOT_FOUND`, wrong methods
/// `FALLBACK_METHOD_NOT_ALLOWED`. Every request gets an `x-request-id` (kept when sent), a
/// tracing span carrying it, a panic guard answering `FALLBACK_INTERNAL`, and a count in
/// `fallback_http_requests_total`.
pub fn app(state: FallbackState) -> Router {
    let protected = Router::new()
        .route("/api/v2/fallback/request", post(api::request::issue))
        .route(
            "/api/v2/fallback/status/{provisional_id}",
            get(api::status::record),
        )
        .route("/api/v2/fallback/records", get(api::records::list))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            api::guard::require_token,
        ));
    let routes = Router::new()
        .route("/api/v2/fallback/status", get(api::status::status))
        .route("/health", get(api::ops::health))
        .route("/metrics", get(api::ops::metrics))
        .merge(protected)
        .fallback(api::not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            api::ops::count_requests,
        ))
        .with_state(state);
    veil_http_layers::observe(routes, panic_response)
}

/// A panic in a handler becomes `FALLBACK_INTERNAL`, never a dropped connection.
fn panic_response() -> axum::response::Response {
    use axum::response::IntoResponse;
    ApiError::new(ErrorCode::Internal, "internal error; it has been logged").into_response()
}
