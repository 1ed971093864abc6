//! Authentication and abuse control for the relayer API (SPEC §6 "Auth").
//!
//! A request to a protected route passes these checks, in this order, before its handler runs:
//!
//! 1. **API key** ([`api_keys`]): `Authorization: Bearer cvk_…` or `X-Api-Key: cvk_…`. Keys are
//!    stored as `SHA-256(pepper ‖ secret)`; lookups are served from a short-lived in-memory cache
//!    ([`KeyCacheConfig`], 10 s by default), so a revocation takes effect on every relayer
//!    instance within that TTL (immediately on the instance that revoked).
//! 2. **Scope**: the key must hold the route's [`Scope`] ([`Scope::Admin`] implies all).
//! 3. **Rate limit** ([`gcra`]): each key's own GCRA quota, kept in memory *per relayer
//!    instance* (N instances behind a balancer allow up to N× the quota).
//! 4. **Request signature** ([`signature`]), for mutating methods only: `X-Timestamp` within
//!    ±`signature_window_secs`, `X-Signature` = HMAC-SHA256 of the canonical request under the
//!    key's derived signing secret, and finally `X-Nonce` not seen in the window ([`nonce`],
//!    Redis `SET NX EX`). The signature is checked before the nonce is consumed, so nobody
//!    without the secret can burn a client's nonces.
//!
//! Admin routes additionally pass the [`IpAllowlist`] ([`admin_only`]).
//!
//! The checks are transport-free methods of [`AuthService`]; [`require`] and [`admin_only`]
//! wrap them as tower layers for `Router::route_layer`:
//!
//! ```ignore
//! let minting = Router::new()
//!     .route("/api/v2/chittyid/mint", post(mint))
//!     .route_layer(auth::require(auth.clone(), Scope::ChittyIdMint));
//! let admin = Router::new()
//!     .route("/admin/keys", post(create_key))
//!     // The last layer added runs first: the IP check, then the key.
//!     .route_layer(auth::require(auth.clone(), Scope::Admin))
//!     .route_layer(auth::admin_only(auth.clone()));
//! ```
//!
//! Handlers read the caller from the [`Principal`] extractor (or `Extension<Principal>`).
//! `docs/api-auth.md` is the client-facing description, with a worked example.

pub mod allowlist;
pub mod api_keys;
mod error;
pub use veil_http_layers::gcra;
pub mod handlers;
mod middleware;
pub mod nonce;
pub mod scope;
mod service;
pub mod sessions;
pub mod signature;

pub use self::{
    allowlist::{AllowlistError, IpAllowlist},
    api_keys::{
        ApiKeyStore, CreatedKey, KeyCacheConfig, KeyStoreError, KeySummary, Principal, Scope,
        UnknownScope,
    },
    error::{AuthError, InvalidKeyReason},
    gcra::{Quota, RateLimited, RateLimiter},
    middleware::{admin_only, require, require_key_or_session, AuthLayer, AuthMiddleware},
    nonce::{NonceOutcome, NonceStore, NonceStoreError},
    service::{AuthService, AuthSettings, AuthSetupError},
    sessions::{IssuedSession, SessionPrincipal, SessionStore},
    signature::{sign_request, SignedHeaders, SigningMaster, SigningSecret},
};
