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
//! | `POST /api/v2/registry/register` | `registry` | yes |
//! | `POST /api/v2/registry/publish` | `admin` + IP allowlist | yes |
//! | `POST /api/v2/prove` | `registry` | yes |
//! | `POST /api/v2/verify-ownership` | `registry` | yes |
//! | `POST /api/v2/challenges`, `…/{address}/{accept,deposit,lock,confirm,resolve}` (unsigned transactions) | `challenges` | yes |
//! | `POST /api/v2/challenges/{address}/{attest,settle,expire}` (the relayer submits) | `challenges` | yes |
//! | `GET /api/v2/challenges/{address}` | `challenges` | no |
//! | `POST /api/v2/transactions` (forward a wallet-signed transaction) | `challenges` | yes |
//! | `GET /health`, `/metrics`, `/openapi.json`, `/docs` | public | no |

pub mod challenges;
pub mod chittyid;
pub mod cli;
pub mod openapi;
pub mod ops;
pub mod platform;
pub mod registry;
pub mod state;

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
use crate::{
    challenges::handlers as challenge_api,
    chittyid::handlers as chittyid,
    platform::auth::{self, Scope},
    platform::http as api,
    registry::handlers as registry_api,
};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Serves `state` on `listener` with its background tasks (the batch cutter, and with an RPC
/// the anchorer and the challenge crank) until `shutdown` resolves; then drains in-flight
/// requests and stops the tasks.
pub async fn serve(
    state: AppState,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use std::{net::SocketAddr, time::Duration};
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut tasks = vec![tokio::spawn(
        state
            .batcher
            .clone()
            .run(Duration::from_secs(1), stop_rx.clone()),
    )];
    if let Some(anchorer) = state.anchorer.clone() {
        let tick = Duration::from_secs(state.config.anchor_interval_secs);
        tracing::info!(payer = %anchorer.payer(), "anchoring ID batches on chain");
        tasks.push(tokio::spawn(anchorer.run(tick, stop_rx.clone())));
    }
    if let Some(challenges) = state.challenges.clone() {
        let tick = Duration::from_secs(state.config.crank_interval_secs);
        tasks.push(tokio::spawn(challenges.run_crank(tick, stop_rx)));
    }
    let served = axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    let _ = stop_tx.send(true);
    for task in tasks {
        let _ = task.await;
    }
    served
}

/// The relayer's HTTP API.
pub fn app(state: AppState) -> Router {
    let auth = state.auth.clone();
    let mint = Router::new()
        .route("/api/v2/chittyid/mint", post(chittyid::mint))
        .route_layer(auth::require(auth.clone(), Scope::ChittyIdMint));
    let verify = Router::new()
        .route("/api/v2/chittyid/verify/{id}", get(chittyid::verify))
        .route_layer(auth::require(auth.clone(), Scope::ChittyIdVerify));
    let registry = Router::new()
        .route("/api/v2/registry/register", post(registry_api::register))
        .route("/api/v2/prove", post(registry_api::prove))
        .route(
            "/api/v2/verify-ownership",
            post(registry_api::verify_ownership),
        )
        .route_layer(auth::require(auth.clone(), Scope::Registry));
    let challenges = Router::new()
        .route("/api/v2/challenges", post(challenge_api::create))
        .route("/api/v2/challenges/{address}", get(challenge_api::get))
        .route(
            "/api/v2/challenges/{address}/accept",
            post(challenge_api::accept),
        )
        .route(
            "/api/v2/challenges/{address}/attest",
            post(challenge_api::attest),
        )
        .route(
            "/api/v2/challenges/{address}/deposit",
            post(challenge_api::deposit),
        )
        .route(
            "/api/v2/challenges/{address}/lock",
            post(challenge_api::lock),
        )
        .route(
            "/api/v2/challenges/{address}/confirm",
            post(challenge_api::confirm),
        )
        .route(
            "/api/v2/challenges/{address}/resolve",
            post(challenge_api::resolve),
        )
        .route(
            "/api/v2/challenges/{address}/settle",
            post(challenge_api::settle),
        )
        .route(
            "/api/v2/challenges/{address}/expire",
            post(challenge_api::expire),
        )
        .route("/api/v2/transactions", post(challenge_api::forward))
        .route_layer(auth::require(auth.clone(), Scope::Challenges));
    let admin = Router::new()
        .route("/api/v2/registry/publish", post(registry_api::publish))
        .route("/api/v2/chittyid/reconcile", post(chittyid::reconcile))
        .route("/admin/batches/cut", post(chittyid::cut_batch))
        .route("/admin/batches/anchor", post(chittyid::anchor_batches))
        .route_layer(auth::require(auth.clone(), Scope::Admin))
        .route_layer(auth::admin_only(auth));
    let public = Router::new()
        .route("/health", get(ops::health))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(openapi::openapi))
        .route("/docs", get(openapi::page));
    Router::new()
        .merge(mint)
        .merge(verify)
        .merge(registry)
        .merge(challenges)
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
