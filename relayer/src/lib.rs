//! The Chitty Veil relayer (SPEC §5, §6, §8).
//!
//! A platform layer under one folder per domain (`docs/architecture.md`):
//!
//! - [`platform`]: what every domain stands on and knows none of them: auth, the circuit
//!   breaker, the chain client, config, the database, the error envelope, feature flags, shared
//!   HTTP pieces, metrics, secrets, the clock.
//! - [`chittyid`], [`registry`], [`challenges`], [`gatekeeper`], [`webhooks`]: each its service
//!   (transport-free), its store,
//!   its handlers with `routes()` and their OpenAPI paths, and its error type.
//! - The composition root: [`state`] builds every service once, [`app`] merges the routes under
//!   the platform's layers, [`serve`] starts the background tasks, [`ops`] answers `/health`
//!   and `/metrics`, [`openapi`] serves the document, [`cli`] is the command line.
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
//! | `POST /api/v2/challenges`, `…/{address}/{accept,deposit,lock,confirm,resolve}` (unsigned transactions) | `challenges` + `FF_CHALLENGES` | yes |
//! | `POST /api/v2/challenges/{address}/attest` (the relayer submits) | `challenges` + `gatekeeper` (or the party's session) + `FF_CHALLENGES` | yes |
//! | `POST /api/v2/challenges/{address}/{settle,expire}` (the relayer submits) | `challenges` + `FF_CHALLENGES` | yes |
//! | `GET /api/v2/challenges/{address}` | `challenges` + `FF_CHALLENGES` | no |
//! | `POST /api/v2/transactions` (forward a wallet-signed transaction) | `challenges` + `FF_CHALLENGES` | yes |
//! | `POST /gatekeeper/v2/wallet/{challenge,verify}`, `GET …/verifications/{id}` | `challenges` + `FF_GATEKEEPER_V2` | POST |
//! | `POST`, `GET /api/v2/webhooks/endpoints`, `GET`, `PATCH`, `DELETE …/endpoints/{id}`, `POST …/{id}/{rotate,replay}`, `GET …/{id}/deliveries`, `GET /api/v2/webhooks/deliveries/{id}`, `POST …/{id}/replay` | `webhooks` + `FF_WEBHOOKS` | POST, PATCH, DELETE |
//! | `GET`, `PUT /admin/flags` | `admin` + IP allowlist | PUT |
//! | `GET`, `POST /admin/keys`, `DELETE /admin/keys/{key_id}` | `admin` + IP allowlist | POST, DELETE |
//! | `GET /health`, `/metrics`, `/openapi.json`, `/docs` | public | no |

pub mod challenges;
pub mod chittyid;
pub mod cli;
pub mod gatekeeper;
pub mod openapi;
pub mod ops;
pub mod platform;
pub mod registry;
pub mod signin;
pub mod state;
pub mod webhooks;

use std::sync::Arc;

use axum::{extract::DefaultBodyLimit, middleware, Router};
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

pub use crate::state::AppState;
use crate::{
    challenges::handlers::ChallengeApi, chittyid::handlers::ChittyIdApi,
    gatekeeper::handlers::GatekeeperApi, platform::http, registry::handlers::RegistryApi,
    webhooks::handlers::WebhookApi,
};

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
    let refresh = Duration::from_millis(state.config.flags_refresh_ms);
    tasks.push(tokio::spawn(
        state.flags.clone().run(refresh, stop_rx.clone()),
    ));
    tasks.push(tokio::spawn(chittyid::idempotency::run_pruner(
        state.pool.clone(),
        stop_rx.clone(),
    )));
    // Webhook delivery runs while FF_WEBHOOKS is not off (checked every round).
    tasks.push(tokio::spawn(state.webhooks.clone().run(stop_rx.clone())));
    if let (Some(registry), secs @ 1..) =
        (state.registry.clone(), state.config.publish_interval_secs)
    {
        tasks.push(tokio::spawn(
            registry.run_publisher(Duration::from_secs(secs), stop_rx.clone()),
        ));
    }
    if let Some(challenges) = state.challenges.clone() {
        // The read cache follows the indexer's challenge events.
        tasks.push(tokio::spawn(
            challenges
                .read_cache()
                .clone()
                .run_listener(state.pool.clone(), stop_rx.clone()),
        ));
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

/// The relayer's HTTP API: each domain's routes, the ops routes and the OpenAPI document they
/// make together, under the platform's layers.
pub fn app(state: AppState) -> Router {
    let (routes, document) = api(&state).split_for_parts();
    let document = openapi::with_common_responses(document);
    let public = middleware::from_fn_with_state(
        state.public_limit.clone(),
        veil_http_layers::client::PerClientLimit::layer,
    );
    let routes = routes
        .merge(openapi::routes(document).route_layer(public))
        .fallback(http::route_not_found)
        .method_not_allowed_fallback(http::method_not_allowed)
        .layer(middleware::from_fn_with_state(
            std::time::Duration::from_millis(state.config.request_timeout_ms),
            http::deadline,
        ))
        // Admission before the deadline starts (a request's time limit is for its work, not
        // its wait) and inside the request count (a shed request is counted as its 503).
        .layer(middleware::from_fn_with_state(
            state.admission.clone(),
            platform::admission::Admission::layer,
        ))
        .layer(middleware::from_fn_with_state(
            state.metrics.clone(),
            http::count_requests,
        ))
        .layer(DefaultBodyLimit::max(state.config.body_limit_bytes));
    // Requests carrying a person's session count against their client address too (the
    // same buckets as the keyless routes); requests with API keys do not.
    let routes = routes.layer(middleware::from_fn_with_state(
        state
            .public_limit
            .only_when(platform::auth::sessions::carries_session_token),
        veil_http_layers::client::PerClientLimit::layer,
    ));
    // CORS outermost of the service's own layers: a preflight is answered before any
    // authentication, and every answer (errors too) carries the allow headers.
    let routes = match state.cors.clone() {
        Some(cors) => routes.layer(cors),
        None => routes,
    };
    veil_http_layers::observe(routes, http::panic_response)
}

/// Every documented route, each registered once with its OpenAPI path.
pub fn api(state: &AppState) -> OpenApiRouter {
    let auth: &Arc<_> = &state.auth;
    OpenApiRouter::with_openapi(openapi::ApiDoc::openapi())
        .merge(chittyid::handlers::routes(
            ChittyIdApi {
                mints: state.mints.clone(),
                verifier: state.verifier.clone(),
                batcher: state.batcher.clone(),
                reconciler: state.reconciler.clone(),
                anchorer: state.anchorer.clone(),
                pool: state.pool.clone(),
                idempotency_ttl: std::time::Duration::from_secs(
                    u64::from(state.config.idempotency_ttl_hours) * 3_600,
                ),
            },
            auth,
        ))
        .merge(registry::handlers::routes(
            RegistryApi {
                registry: state.registry.clone(),
            },
            auth,
        ))
        .merge(challenges::handlers::routes(
            ChallengeApi {
                challenges: state.challenges.clone(),
                flags: state.flags.clone(),
                pool: state.pool.clone(),
            },
            auth,
        ))
        .merge(gatekeeper::handlers::routes(
            GatekeeperApi {
                gatekeeper: state.gatekeeper.clone(),
            },
            auth,
            &state.flags,
        ))
        .merge(webhooks::handlers::routes(
            WebhookApi {
                webhooks: state.webhooks.clone(),
            },
            auth,
            &state.flags,
        ))
        .merge(
            signin::handlers::routes(Arc::new(signin::SignInService::new(
                state.gatekeeper.clone(),
                state.auth.clone(),
            )))
            .route_layer(middleware::from_fn_with_state(
                state.public_limit.clone(),
                veil_http_layers::client::PerClientLimit::layer,
            )),
        )
        .merge(
            ops::routes(state.clone()).route_layer(middleware::from_fn_with_state(
                state.public_limit.clone(),
                veil_http_layers::client::PerClientLimit::layer,
            )),
        )
        .merge(platform::routes(state.flags.clone(), auth))
}
