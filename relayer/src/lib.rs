//! The Chitty Veil relayer (SPEC §5, §6, §8).
//!
//! [`app`] builds the whole HTTP surface from an [`AppState`]; handlers in [`api`] are thin and
//! call transport-free services: [`mint`] (drand + VRF + group commit, with fallback),
//! [`verify`] (evidence with a validation cache), [`reconcile`], [`batch`] and [`auth`].
//!
//! | route | scope | signed |
//! |---|---|---|
//! | `POST /api/v2/chittyid/mint` | `chittyid:mint` | yes |
//! | `GET /api/v2/chittyid/verify/{id}` | `chittyid:verify` | no |
//! | `POST /api/v2/chittyid/reconcile` | `admin` + IP allowlist | yes |
//! | `POST /admin/batches/cut` | `admin` + IP allowlist | yes |
//! | `POST /admin/batches/anchor` | `admin` + IP allowlist | yes |
//! | `GET /health`, `/metrics`, `/openapi.json`, `/docs` | public | no |

pub mod anchor;
pub mod api;
pub mod auth;
pub mod batch;
pub mod breaker;
pub mod chain;
pub mod cli;
pub mod clock;
pub mod config;
pub mod drand;
pub mod drand_relay;
pub mod error;
pub mod evidence;
pub mod fallback_client;
pub mod metrics;
pub mod mint;
pub mod reconcile;
pub mod secrets;
pub mod state;
pub mod store;
pub mod verify;

use axum::{
    extract::DefaultBodyLimit,
    http::{HeaderName, Request},
    middleware,
    routing::{get, post},
    Router,
};
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

pub use crate::state::AppState;
use crate::{api::chittyid, auth::Scope};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The relayer's HTTP API.
pub fn app(state: AppState) -> Router {
    let auth = state.auth.clone();
    let mint = Router::new()
        .route("/api/v2/chittyid/mint", post(chittyid::mint))
        .route_layer(auth::require(auth.clone(), Scope::ChittyIdMint));
    let verify = Router::new()
        .route("/api/v2/chittyid/verify/{id}", get(chittyid::verify))
        .route_layer(auth::require(auth.clone(), Scope::ChittyIdVerify));
    let admin = Router::new()
        .route("/api/v2/chittyid/reconcile", post(chittyid::reconcile))
        .route("/admin/batches/cut", post(chittyid::cut_batch))
        .route("/admin/batches/anchor", post(chittyid::anchor_batches))
        .route_layer(auth::require(auth.clone(), Scope::Admin))
        .route_layer(auth::admin_only(auth));
    let public = Router::new()
        .route("/health", get(api::ops::health))
        .route("/metrics", get(api::ops::metrics))
        .route("/openapi.json", get(api::docs::openapi))
        .route("/docs", get(api::docs::page));
    Router::new()
        .merge(mint)
        .merge(verify)
        .merge(admin)
        .merge(public)
        .fallback(api::route_not_found)
        .method_not_allowed_fallback(api::method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            api::count_requests,
        ))
        .layer(DefaultBodyLimit::max(state.config.body_limit_bytes))
        .layer(CatchPanicLayer::custom(api::panic_response))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let id = request
                    .headers()
                    .get(&REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %request.method(), uri = %request.uri(), request_id = %id)
            }),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .with_state(state)
}
