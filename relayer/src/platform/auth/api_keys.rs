//! API keys: issued once, stored hashed, scoped, each with its own rate limit.
//!
//! A key reads `cvk_<key_id>_<secret>`: `key_id` is 16 lower-case hex characters (8 random
//! bytes, public, used in logs and as the row's primary key) and `secret` is 32 random bytes in
//! unpadded base64url (43 characters). The `api_keys` row keeps only
//! `SHA-256(pepper ‖ secret)`, where the pepper (`ApiKeyPepper`, 32 bytes hex) lives outside
//! the database, so a leaked table alone cannot be used to test guesses.
//!
//! [`ApiKeyStore::authenticate`] is on the hot path of every request. It serves lookups from an
//! in-memory LRU cache: a found key (or an unknown or revoked id) is remembered for
//! [`KeyCacheConfig::ttl`] (10 s by default). Consequently **a revocation takes effect on other
//! relayer instances within that TTL**; on the instance that revokes, immediately. The secret
//! is always compared, in constant time, against the cached hash, so the cache never admits a
//! wrong secret.

use std::{
    fmt,
    num::NonZeroUsize,
    sync::Arc,
    time::{Duration, Instant},
};

use axum::{extract::FromRequestParts, http::request::Parts};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine as _};
use lru::LruCache;
use parking_lot::Mutex;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

pub use super::scope::{Scope, UnknownScope};
use veil_http_layers::gcra::Quota;

use super::{
    error::{is_unavailable, AuthError, InvalidKeyReason},
    signature::SigningMaster,
};
use crate::{
    platform::error::{ApiError, ErrorCode},
    platform::secrets::{SecretError, SecretName, SecretProvider},
};

/// Every key starts with this.
pub const KEY_PREFIX: &str = "cvk_";
/// Length of the hex key id.
pub const KEY_ID_LEN: usize = 16;
/// Length of the base64url secret (32 bytes, unpadded).
const SECRET_TEXT_LEN: usize = 43;
/// Longest accepted label.
pub const MAX_LABEL_CHARS: usize = 200;
/// Attempts at drawing an unused key id before giving up.
const KEY_ID_ATTEMPTS: usize = 3;

/// The authenticated caller, put in the request extensions by the auth layer.
///
/// Handlers take it as an extractor (`async fn h(principal: Principal, …)`); on a route that is
/// not behind [`super::require`] the extractor fails with an internal error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    /// The key's public id.
    pub key_id: String,
    /// The key's label.
    pub label: String,
    /// Its scopes (unknown stored names are dropped).
    pub scopes: Vec<Scope>,
    /// Its rate limit.
    pub quota: Quota,
}

impl Principal {
    /// Whether the key may use a route that needs `scope` (admin may use all).
    pub fn has_scope(&self, scope: Scope) -> bool {
        self.scopes.contains(&Scope::Admin) || self.scopes.contains(&scope)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Principal>()
            .cloned()
            .ok_or_else(|| ApiError::internal("principal", "route is not behind auth::require"))
    }
}

/// A new key, as shown to its owner once. `Debug` redacts the two secrets.
#[derive(Clone)]
pub struct CreatedKey {
    /// The public id.
    pub key_id: String,
    /// The full key, `cvk_<key_id>_<secret>`: the only time it exists in plaintext.
    pub api_key: String,
    /// The key's HMAC signing secret, 64 hex characters (derived; can be re-derived by the
    /// relayer but is only ever shown here).
    pub signing_secret: String,
}

impl fmt::Debug for CreatedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedKey")
            .field("key_id", &self.key_id)
            .field("api_key", &"[redacted]")
            .field("signing_secret", &"[redacted]")
            .finish()
    }
}

/// Why a key could not be created or revoked.
#[derive(Debug, thiserror::Error)]
pub enum KeyStoreError {
    /// The label is empty, too long or has control characters.
    #[error("a key label is 1–{MAX_LABEL_CHARS} characters without control characters")]
    InvalidLabel,
    /// A quota number does not fit the `integer` column.
    #[error("rate_per_sec and burst must be at most {}", i32::MAX)]
    QuotaTooLarge,
    /// Every drawn key id was taken (astronomically unlikely).
    #[error("could not draw an unused key id")]
    KeyIdCollision,
    /// The query failed.
    #[error("key store query failed")]
    Database(#[from] sqlx::Error),
}

impl From<KeyStoreError> for ApiError {
    fn from(e: KeyStoreError) -> Self {
        match e {
            KeyStoreError::InvalidLabel | KeyStoreError::QuotaTooLarge => {
                ApiError::new(ErrorCode::InvalidBody, e.to_string())
            }
            KeyStoreError::Database(cause) if is_unavailable(&cause) => {
                tracing::warn!(error = %cause, "key store unavailable");
                ApiError::new(
                    ErrorCode::DatabaseUnavailable,
                    "the database is unavailable",
                )
                .retry_after(1)
            }
            e => ApiError::internal("api key store", e),
        }
    }
}

/// What an operator sees of a key: never its secret or hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct KeySummary {
    /// The public key id (16 hex characters).
    pub key_id: String,
    /// The operator's label.
    pub label: String,
    /// Scope names as stored.
    pub scopes: Vec<String>,
    /// Sustained requests per second.
    pub rate_per_sec: i32,
    /// Requests allowed at once.
    pub burst: i32,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// RFC 3339, UTC; absent while the key is live.
    pub revoked_at: Option<String>,
}

impl KeySummary {
    fn from_row(row: &sqlx::postgres::PgRow) -> Self {
        use sqlx::Row;
        Self {
            key_id: row.get("key_id"),
            label: row.get("label"),
            scopes: row.get("scopes"),
            rate_per_sec: row.get("rate_per_sec"),
            burst: row.get("burst"),
            created_at: row.get("created"),
            revoked_at: row.get("revoked"),
        }
    }
}

/// The key cache's size and freshness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyCacheConfig {
    /// How long a lookup is trusted: the bound on revocation latency across instances.
    pub ttl: Duration,
    /// Most keys (and unknown ids) remembered.
    pub capacity: NonZeroUsize,
}

impl Default for KeyCacheConfig {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(10),
            capacity: NonZeroUsize::new(10_000).expect("non-zero"),
        }
    }
}

/// What a cached lookup found.
#[derive(Clone)]
enum CachedKey {
    Active {
        hash: [u8; 32],
        principal: Principal,
    },
    Invalid(InvalidKeyReason),
}

struct CacheEntry {
    expires_at: Instant,
    key: CachedKey,
}

/// Unknown, revoked or malformed key ids remembered at once: their own small cache, so that a
/// flood of random well-formed ids never evicts a real key from the main one.
pub const NEGATIVE_CACHE_CAPACITY: usize = 1_024;

/// The stored keys, over PostgreSQL, with the hot-path cache.
pub struct ApiKeyStore {
    pool: PgPool,
    pepper: Zeroizing<[u8; 32]>,
    signing: Arc<SigningMaster>,
    /// Keys found active.
    cache: Mutex<LruCache<String, CacheEntry>>,
    /// Lookups that found no usable key.
    misses: Mutex<LruCache<String, CacheEntry>>,
    ttl: Duration,
}

impl fmt::Debug for ApiKeyStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyStore")
            .field("ttl", &self.ttl)
            .field("cached", &self.cache.lock().len())
            .finish_non_exhaustive()
    }
}

/// A presented key, split.
struct PresentedKey<'a> {
    key_id: &'a str,
    secret: Zeroizing<Vec<u8>>,
}

/// Splits `cvk_<16 lower-case hex>_<43 base64url>`; `None` if it is not that shape.
fn parse_api_key(text: &str) -> Option<PresentedKey<'_>> {
    let rest = text.strip_prefix(KEY_PREFIX)?;
    if rest.len() != KEY_ID_LEN + 1 + SECRET_TEXT_LEN {
        return None;
    }
    let (key_id, rest) = rest.split_at_checked(KEY_ID_LEN)?;
    if !is_key_id(key_id) {
        return None;
    }
    let secret = URL_SAFE_NO_PAD.decode(rest.strip_prefix('_')?).ok()?;
    (secret.len() == 32).then(|| PresentedKey {
        key_id,
        secret: Zeroizing::new(secret),
    })
}

/// The key id of `text` when it has the shape of an API key (`cvk_<id>_<secret>`), the secret
/// not yet checked; `None` otherwise. (The parser the auth layer uses, for the fuzz targets.)
pub fn presented_key_id(text: &str) -> Option<&str> {
    parse_api_key(text).map(|key| key.key_id)
}

/// Whether `s` is a key id: 16 lower-case hex characters.
pub fn is_key_id(s: &str) -> bool {
    s.len() == KEY_ID_LEN && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn valid_label(label: &str) -> bool {
    let chars = label.chars().count();
    (1..=MAX_LABEL_CHARS).contains(&chars)
        && !label.trim().is_empty()
        && !label.chars().any(char::is_control)
}

impl ApiKeyStore {
    /// Its pool.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// A store on `pool`, reading `ApiKeyPepper` and `HmacMaster` (each 32 bytes, hex) from
    /// `secrets`.
    pub fn new(
        pool: PgPool,
        secrets: &dyn SecretProvider,
        cache: KeyCacheConfig,
    ) -> Result<Self, SecretError> {
        let pepper = secrets
            .get(SecretName::ApiKeyPepper)?
            .to_array::<32>(SecretName::ApiKeyPepper.as_str())?;
        let signing = SigningMaster::from_provider(secrets)?;
        Ok(Self::with_secrets(pool, pepper, signing, cache))
    }

    /// A store with the secrets given directly.
    pub fn with_secrets(
        pool: PgPool,
        pepper: [u8; 32],
        signing: SigningMaster,
        cache: KeyCacheConfig,
    ) -> Self {
        Self {
            pool,
            pepper: Zeroizing::new(pepper),
            signing: Arc::new(signing),
            cache: Mutex::new(LruCache::new(cache.capacity)),
            misses: Mutex::new(LruCache::new(
                NonZeroUsize::new(NEGATIVE_CACHE_CAPACITY).expect("non-zero"),
            )),
            ttl: cache.ttl,
        }
    }

    /// Whether `key_id` is in the main cache, fresh (what a flood must not evict).
    pub fn is_cached(&self, key_id: &str) -> bool {
        self.cache
            .lock()
            .peek(key_id)
            .is_some_and(|entry| entry.expires_at > Instant::now())
    }

    /// The master from which signing secrets are derived.
    pub fn signing_master(&self) -> &SigningMaster {
        &self.signing
    }

    /// `SHA-256(pepper ‖ secret)`, the stored form of a key.
    fn hash(&self, secret: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(&self.pepper[..]);
        h.update(secret);
        h.finalize().into()
    }

    /// Issues a key with `scopes` and `quota`. The returned [`CreatedKey`] is the only copy of
    /// the plaintext key and signing secret.
    pub async fn create(
        &self,
        label: &str,
        scopes: &[Scope],
        quota: Quota,
    ) -> Result<CreatedKey, KeyStoreError> {
        if !valid_label(label) {
            return Err(KeyStoreError::InvalidLabel);
        }
        let rate =
            i32::try_from(quota.rate_per_sec.get()).map_err(|_| KeyStoreError::QuotaTooLarge)?;
        let burst = i32::try_from(quota.burst.get()).map_err(|_| KeyStoreError::QuotaTooLarge)?;
        let mut scope_names: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
        scope_names.sort_unstable();
        scope_names.dedup();

        for _ in 0..KEY_ID_ATTEMPTS {
            let mut id_bytes = [0u8; 8];
            let mut secret = Zeroizing::new([0u8; 32]);
            rand::thread_rng().fill_bytes(&mut id_bytes);
            rand::thread_rng().fill_bytes(&mut secret[..]);
            let key_id = hex::encode(id_bytes);
            let inserted = sqlx::query(
                "INSERT INTO api_keys (key_id, key_hash, label, scopes, rate_per_sec, burst) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (key_id) DO NOTHING",
            )
            .bind(&key_id)
            .bind(&self.hash(&secret[..])[..])
            .bind(label)
            .bind(&scope_names)
            .bind(rate)
            .bind(burst)
            .execute(&self.pool)
            .await?
            .rows_affected();
            if inserted == 1 {
                // An earlier "unknown" lookup of this id must not linger.
                self.cache.lock().pop(&key_id);
                self.misses.lock().pop(&key_id);
                tracing::info!(key_id, label, scopes = ?scope_names, "API key created");
                let api_key = format!(
                    "{KEY_PREFIX}{key_id}_{}",
                    URL_SAFE_NO_PAD.encode(&secret[..])
                );
                let signing_secret = self.signing.derive(&key_id).to_hex();
                return Ok(CreatedKey {
                    key_id,
                    api_key,
                    signing_secret,
                });
            }
        }
        Err(KeyStoreError::KeyIdCollision)
    }

    /// Revokes a key. Returns whether a live key was revoked (`false`: unknown or already
    /// revoked). Other instances stop accepting it within the cache TTL.
    pub async fn revoke(&self, key_id: &str) -> Result<bool, KeyStoreError> {
        let revoked = sqlx::query(
            "UPDATE api_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL",
        )
        .bind(key_id)
        .execute(&self.pool)
        .await?
        .rows_affected()
            == 1;
        self.cache.lock().put(
            key_id.to_owned(),
            CacheEntry {
                expires_at: Instant::now() + self.ttl,
                key: CachedKey::Invalid(InvalidKeyReason::Revoked),
            },
        );
        if revoked {
            tracing::info!(key_id, "API key revoked");
        }
        Ok(revoked)
    }

    /// Every key, newest first (revoked keys too when `include_revoked`). Never the secret.
    pub async fn list(&self, include_revoked: bool) -> Result<Vec<KeySummary>, KeyStoreError> {
        let rows = sqlx::query(
            "SELECT key_id, label, scopes, rate_per_sec, burst, \
             to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created, \
             to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS revoked \
             FROM api_keys WHERE $1 OR revoked_at IS NULL ORDER BY created_at DESC, key_id",
        )
        .bind(include_revoked)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(KeySummary::from_row).collect())
    }

    /// One key's summary, revoked or not.
    pub async fn get(&self, key_id: &str) -> Result<Option<KeySummary>, KeyStoreError> {
        let row = sqlx::query(
            "SELECT key_id, label, scopes, rate_per_sec, burst, \
             to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS created, \
             to_char(revoked_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') AS revoked \
             FROM api_keys WHERE key_id = $1",
        )
        .bind(key_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.as_ref().map(KeySummary::from_row))
    }

    /// Checks a presented key and returns its [`Principal`]. Served from the cache when fresh.
    pub async fn authenticate(&self, presented: &str) -> Result<Principal, AuthError> {
        let key = parse_api_key(presented.trim())
            .ok_or(AuthError::InvalidApiKey(InvalidKeyReason::Malformed))?;
        let hash = self.hash(&key.secret);
        let fresh = |cache: &Mutex<LruCache<String, CacheEntry>>| {
            let mut cache = cache.lock();
            match cache.get(key.key_id) {
                Some(entry) if entry.expires_at > Instant::now() => Some(entry.key.clone()),
                _ => None,
            }
        };
        let found = match fresh(&self.cache).or_else(|| fresh(&self.misses)) {
            Some(found) => found,
            None => {
                let found = self.load(key.key_id).await?;
                let into = match found {
                    CachedKey::Active { .. } => &self.cache,
                    CachedKey::Invalid(_) => &self.misses,
                };
                into.lock().put(
                    key.key_id.to_owned(),
                    CacheEntry {
                        expires_at: Instant::now() + self.ttl,
                        key: found.clone(),
                    },
                );
                found
            }
        };
        match found {
            CachedKey::Active {
                hash: stored,
                principal,
            } => {
                if bool::from(stored.ct_eq(&hash)) {
                    Ok(principal)
                } else {
                    Err(AuthError::InvalidApiKey(InvalidKeyReason::WrongSecret))
                }
            }
            CachedKey::Invalid(reason) => Err(AuthError::InvalidApiKey(reason)),
        }
    }

    /// Reads one key from PostgreSQL.
    async fn load(&self, key_id: &str) -> Result<CachedKey, AuthError> {
        type Row = (Vec<u8>, String, Vec<String>, i32, i32, bool);
        let row: Option<Row> = sqlx::query_as(
            "SELECT key_hash, label, scopes, rate_per_sec, burst, revoked_at IS NOT NULL \
             FROM api_keys WHERE key_id = $1",
        )
        .bind(key_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(AuthError::Database)?;
        let Some((stored_hash, label, scope_names, rate, burst, revoked)) = row else {
            return Ok(CachedKey::Invalid(InvalidKeyReason::Unknown));
        };
        if revoked {
            return Ok(CachedKey::Invalid(InvalidKeyReason::Revoked));
        }
        let corrupt = |what| AuthError::CorruptKeyRecord {
            key_id: key_id.to_owned(),
            what,
        };
        let hash: [u8; 32] = stored_hash
            .try_into()
            .map_err(|_| corrupt("key_hash is not 32 bytes"))?;
        let quota = Quota::try_new(
            u32::try_from(rate).unwrap_or(0),
            u32::try_from(burst).unwrap_or(0),
        )
        .ok_or_else(|| corrupt("rate_per_sec and burst must be positive"))?;
        let mut scopes = Vec::with_capacity(scope_names.len());
        for name in &scope_names {
            match name.parse::<Scope>() {
                Ok(scope) if !scopes.contains(&scope) => scopes.push(scope),
                Ok(_) => {}
                Err(_) => {
                    tracing::warn!(key_id, scope = %name, "ignoring unknown scope on API key")
                }
            }
        }
        Ok(CachedKey::Active {
            hash,
            principal: Principal {
                key_id: key_id.to_owned(),
                label,
                scopes,
                quota,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_key_parse_accepts_only_the_issued_shape() {
        let secret = URL_SAFE_NO_PAD.encode([9u8; 32]);
        let good = format!("cvk_0123456789abcdef_{secret}");
        let parsed = parse_api_key(&good).unwrap();
        assert_eq!(parsed.key_id, "0123456789abcdef");
        assert_eq!(&parsed.secret[..], &[9u8; 32]);
        for bad in [
            String::new(),
            format!("cvx_0123456789abcdef_{secret}"),
            format!("cvk_0123456789ABCDEF_{secret}"),
            format!("cvk_0123456789abcdeg_{secret}"),
            format!("cvk_0123456789abcdef-{secret}"),
            format!("cvk_0123456789abcdef_{secret}A"),
            format!("cvk_0123456789abcdef_{}", &secret[1..]),
            format!("cvk_0123456789abcdef_{}=", &secret[1..]),
            format!("cvk_0123456789abcdé_{secret}"),
            "cvk_".to_owned() + &"é".repeat(30),
        ] {
            assert!(parse_api_key(&bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn api_key_scopes_round_trip_and_admin_implies_all() {
        for scope in Scope::ALL {
            assert_eq!(scope.as_str().parse::<Scope>(), Ok(scope));
            assert_eq!(
                serde_json::to_string(&scope).unwrap(),
                format!("\"{}\"", scope.as_str())
            );
        }
        assert!("chittyid:burn".parse::<Scope>().is_err());
        let principal = |scopes: Vec<Scope>| Principal {
            key_id: "0123456789abcdef".into(),
            label: "t".into(),
            scopes,
            quota: Quota::try_new(1, 1).unwrap(),
        };
        let admin = principal(vec![Scope::Admin]);
        assert!(Scope::ALL.iter().all(|s| admin.has_scope(*s)));
        let minter = principal(vec![Scope::ChittyIdMint]);
        assert!(minter.has_scope(Scope::ChittyIdMint));
        assert!(!minter.has_scope(Scope::ChittyIdVerify));
        assert!(!minter.has_scope(Scope::Admin));
    }

    #[test]
    fn api_key_labels_are_validated() {
        assert!(valid_label("ci"));
        assert!(valid_label(&"x".repeat(MAX_LABEL_CHARS)));
        assert!(!valid_label(""));
        assert!(!valid_label("   "));
        assert!(!valid_label(&"x".repeat(MAX_LABEL_CHARS + 1)));
        assert!(!valid_label("a\nb"));
    }

    #[test]
    fn api_key_created_key_debug_is_redacted() {
        let k = CreatedKey {
            key_id: "0123456789abcdef".into(),
            api_key: "cvk_secret".into(),
            signing_secret: "deadbeef".into(),
        };
        let shown = format!("{k:?}");
        assert!(shown.contains("0123456789abcdef"));
        assert!(!shown.contains("cvk_secret") && !shown.contains("deadbeef"));
    }
}
