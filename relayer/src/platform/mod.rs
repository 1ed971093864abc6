//! The platform layer: what every domain stands on, knowing none of them.

pub mod admission;
pub mod auth;
pub mod breaker;
pub mod chain;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod evm;
pub mod flags;
pub mod http;
pub mod metrics;
pub mod notify;
pub mod outbox;
pub mod secrets;

use std::sync::Arc;

use utoipa_axum::{router::OpenApiRouter, routes};

/// The platform's own admin routes (feature flags, API keys), under `admin` and the IP
/// allowlist.
pub fn routes(flags: flags::Flags, auth: &Arc<auth::AuthService>) -> OpenApiRouter {
    let flag_routes = OpenApiRouter::new()
        .routes(routes!(flags::list, flags::change))
        .with_state(flags);
    let key_routes = OpenApiRouter::new()
        .routes(routes!(auth::handlers::list, auth::handlers::create))
        .routes(routes!(auth::handlers::revoke))
        .with_state(auth.clone());
    flag_routes
        .merge(key_routes)
        .route_layer(auth::require(auth.clone(), auth::Scope::Admin))
        .route_layer(auth::admin_only(auth.clone()))
}
