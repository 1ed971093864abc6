//! [`AuthService`]: the checks as transport-free methods, and their settings.

use std::{sync::Arc, time::Duration};

use veil_http_layers::gcra::{Quota, RateLimiter};

use super::{
    allowlist::{AllowlistError, IpAllowlist},
    api_keys::{ApiKeyStore, KeyCacheConfig},
    error::AuthError,
    nonce::{NonceStore, NonceStoreError},
    sessions::SessionStore,
};
use crate::{
    platform::clock::Clock,
    platform::config::Config,
    platform::secrets::{SecretError, SecretProvider},
};

/// Tunables of the request checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthSettings {
    /// Accepted skew of `X-Timestamp` either way, in seconds (SPEC: 60). Nonces are kept for
    /// twice this long, which covers every timestamp that can still be accepted.
    pub signature_window_secs: u64,
    /// Largest body a signed request may carry; it is buffered to be hashed.
    pub body_limit_bytes: usize,
    /// Failed authentications (unknown key, wrong secret, revoked, malformed) an IP may make
    /// per second, and at once: past it, that IP's requests are refused before any key
    /// lookup (`429 RATE_LIMITED`), so a flood of random key ids costs neither database
    /// queries nor cache entries. Successful requests do not count.
    pub failed_auth_quota: Quota,
    /// `/health` requests an IP may make per second, and at once.
    pub health_quota: Quota,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            signature_window_secs: 60,
            body_limit_bytes: 1 << 20,
            failed_auth_quota: Quota::try_new(20, 100).expect("non-zero"),
            health_quota: Quota::try_new(10, 50).expect("non-zero"),
        }
    }
}

impl AuthSettings {
    /// The settings of a parsed [`Config`].
    pub fn from_config(config: &Config) -> Self {
        Self {
            signature_window_secs: config.signature_window_secs,
            body_limit_bytes: config.body_limit_bytes,
            failed_auth_quota: Quota::try_new(
                config.failed_auth_per_ip_per_sec,
                config.failed_auth_per_ip_burst,
            )
            .unwrap_or(Self::default().failed_auth_quota),
            health_quota: Self::default().health_quota,
        }
    }

    /// How long a nonce is remembered: twice the window, at least one second.
    pub fn nonce_ttl(&self) -> Duration {
        Duration::from_secs(self.signature_window_secs.saturating_mul(2).max(1))
    }
}

/// Everything the auth layers need, shared behind an `Arc` by every route.
pub struct AuthService {
    pub(super) keys: ApiKeyStore,
    pub(super) nonces: NonceStore,
    pub(super) limiter: RateLimiter,
    /// Failed authentications per peer IP.
    pub(super) failures: RateLimiter,
    /// `/health` requests per peer IP.
    pub(super) health_checks: RateLimiter,
    /// Sessions for people.
    pub(super) sessions: SessionStore,
    pub(super) allowlist: IpAllowlist,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) settings: AuthSettings,
}

impl std::fmt::Debug for AuthService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService")
            .field("nonces", &self.nonces)
            .field("allowlist", &self.allowlist)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

/// Why the auth service could not be built from the configuration.
#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    /// The HMAC master secret or the API-key pepper is missing or malformed.
    #[error("auth secrets: {0}")]
    Secret(#[from] SecretError),
    /// An admin allowlist entry does not parse.
    #[error(transparent)]
    Allowlist(#[from] AllowlistError),
    /// The Redis URL does not parse.
    #[error(transparent)]
    NonceStore(#[from] NonceStoreError),
}

impl AuthService {
    /// Bundles the parts. The rate limiter starts empty (every key has its full burst).
    pub fn new(
        keys: ApiKeyStore,
        nonces: NonceStore,
        allowlist: IpAllowlist,
        clock: Arc<dyn Clock>,
        settings: AuthSettings,
    ) -> Arc<Self> {
        Arc::new(Self {
            sessions: SessionStore::new(keys.pool().clone()),
            keys,
            nonces,
            limiter: RateLimiter::new(),
            failures: RateLimiter::new(),
            health_checks: RateLimiter::new(),
            allowlist,
            clock,
            settings,
        })
    }

    /// Builds the service from the `serve` configuration: secrets from `secrets`, Redis from
    /// `redis_url`/`redis_prefix` (connected lazily, so a Redis outage at start-up only fails
    /// signed requests), the admin allowlist, the window and the body limit.
    pub fn from_config(
        config: &Config,
        pool: sqlx::PgPool,
        secrets: &dyn SecretProvider,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Self>, AuthSetupError> {
        let keys = ApiKeyStore::new(
            pool,
            secrets,
            KeyCacheConfig {
                ttl: std::time::Duration::from_millis(config.key_cache_ttl_ms),
                ..KeyCacheConfig::default()
            },
        )?;
        let nonces = NonceStore::new(&config.redis_url, config.redis_prefix.clone())?;
        let allowlist = config.allowlist()?;
        Ok(Self::new(
            keys,
            nonces,
            allowlist,
            clock,
            AuthSettings::from_config(config),
        ))
    }

    /// Counts one `/health` request of `ip` against the per-IP health quota.
    pub fn check_health_rate(&self, ip: std::net::IpAddr) -> Result<(), AuthError> {
        self.health_checks
            .check(&ip.to_string(), self.settings.health_quota)
            .map_err(|limited| AuthError::RateLimited {
                retry_after_secs: limited.retry_after_secs(),
            })
    }

    /// The API-key store (create, revoke, authenticate).
    pub fn keys(&self) -> &ApiKeyStore {
        &self.keys
    }

    /// The sessions.
    pub fn sessions(&self) -> &SessionStore {
        &self.sessions
    }

    /// The nonce store (for `/health`).
    pub fn nonces(&self) -> &NonceStore {
        &self.nonces
    }

    /// Round-trips a `PING` to the nonce store's Redis (for `/health`).
    pub async fn ping_nonce_store(&self) -> Result<(), NonceStoreError> {
        self.nonces.ping().await
    }

    /// The admin allowlist.
    pub fn allowlist(&self) -> &IpAllowlist {
        &self.allowlist
    }

    /// The settings.
    pub fn settings(&self) -> AuthSettings {
        self.settings
    }
}
