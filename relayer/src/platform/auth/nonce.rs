//! The replay guard: each `(key_id, nonce)` of a signed request is written to Redis with
//! `SET <prefix>nonce:<key_id>:<nonce> <token> NX GET EX <2·window>` (Redis 7.0 or newer); a
//! nonce already present is a replay.
//!
//! The written value is a random token of this check, so the check can be retried safely: a
//! reply lost to a timeout may hide a `SET` that did happen, and the retry then finds the
//! check's own token (fresh), not another request's (a replay). One retry follows a timeout,
//! because on a saturated machine the timer can fire before the runtime reads a reply Redis
//! already sent (issue 18); admission control keeps that rare by bounding the requests in
//! flight ([`crate::platform::admission`]).
//!
//! Redis is reached through one [`ConnectionManager`] (a multiplexed connection that reconnects
//! by itself), created on first use, so the relayer starts even while Redis is down. Every
//! failure to ask Redis is a [`NonceStoreError`], answered `503 NONCE_STORE_UNAVAILABLE`: a
//! signed request is never accepted unchecked. After a failed connection attempt, requests
//! fail fast for [`RECONNECT_BACKOFF`] instead of each waiting on a connect timeout.

use std::{
    fmt,
    time::{Duration, Instant},
};

use parking_lot::Mutex;
use redis::{
    aio::{ConnectionManager, ConnectionManagerConfig},
    Client, RedisError,
};
use tokio::sync::OnceCell;

/// How long to wait for a connection or a reply.
pub const REDIS_TIMEOUT: Duration = Duration::from_millis(500);
/// After a failed connection attempt, requests fail without retrying for this long.
pub const RECONNECT_BACKOFF: Duration = Duration::from_millis(500);

/// Whether a nonce was new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceOutcome {
    /// First use: recorded.
    Fresh,
    /// Seen within the TTL: a replay.
    Replayed,
}

/// Why Redis could not be asked.
#[derive(Debug, thiserror::Error)]
pub enum NonceStoreError {
    /// The Redis URL does not parse.
    #[error("invalid Redis URL")]
    InvalidUrl(#[source] RedisError),
    /// Connecting failed.
    #[error("cannot connect to Redis")]
    Connect(#[source] RedisError),
    /// A connection attempt failed moments ago; not retried yet.
    #[error("Redis was unreachable moments ago; retrying after a back-off")]
    BackingOff,
    /// The command failed (connection lost, timeout, server error).
    #[error("Redis command failed")]
    Command(#[source] RedisError),
}

/// The Redis-backed nonce store.
pub struct NonceStore {
    client: Client,
    prefix: String,
    conn: OnceCell<ConnectionManager>,
    last_connect_failure: Mutex<Option<Instant>>,
}

impl fmt::Debug for NonceStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL may carry a password: show only where it points.
        let info = self.client.get_connection_info();
        f.debug_struct("NonceStore")
            .field("addr", &info.addr.to_string())
            .field("prefix", &self.prefix)
            .field("connected", &self.conn.initialized())
            .finish()
    }
}

impl NonceStore {
    /// A store on `redis_url` whose keys all start with `prefix`. Does not connect yet.
    pub fn new(redis_url: &str, prefix: impl Into<String>) -> Result<Self, NonceStoreError> {
        let client = Client::open(redis_url).map_err(NonceStoreError::InvalidUrl)?;
        Ok(Self {
            client,
            prefix: prefix.into(),
            conn: OnceCell::new(),
            last_connect_failure: Mutex::new(None),
        })
    }

    /// The Redis key of a nonce.
    pub fn key(&self, key_id: &str, nonce: &str) -> String {
        format!("{}nonce:{key_id}:{nonce}", self.prefix)
    }

    /// Records `nonce` for `key_id` unless it is already recorded; it is forgotten after `ttl`
    /// (whole seconds, at least 1).
    pub async fn check_and_store(
        &self,
        key_id: &str,
        nonce: &str,
        ttl: Duration,
    ) -> Result<NonceOutcome, NonceStoreError> {
        let mut conn = self.connection().await?;
        let token = {
            let mut bytes = [0u8; 16];
            rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
            hex::encode(bytes)
        };
        let key = self.key(key_id, nonce);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let previous: Result<Option<String>, RedisError> = redis::cmd("SET")
                .arg(&key)
                .arg(&token)
                .arg("NX")
                .arg("GET")
                .arg("EX")
                .arg(ttl.as_secs().max(1))
                .query_async(&mut conn)
                .await;
            return match previous {
                // Not there before: recorded now.
                Ok(None) => Ok(NonceOutcome::Fresh),
                // Recorded by this very check, whose first reply was lost.
                Ok(Some(value)) if value == token => Ok(NonceOutcome::Fresh),
                Ok(Some(_)) => Ok(NonceOutcome::Replayed),
                Err(e) if e.is_timeout() && attempt < 2 => {
                    tracing::debug!(error = %e, "nonce check timed out; retrying once");
                    continue;
                }
                Err(e) => Err(NonceStoreError::Command(e)),
            };
        }
    }

    /// Round-trips a `PING` (for `/health`).
    pub async fn ping(&self) -> Result<(), NonceStoreError> {
        let mut conn = self.connection().await?;
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map(drop)
            .map_err(NonceStoreError::Command)
    }

    async fn connection(&self) -> Result<ConnectionManager, NonceStoreError> {
        if let Some(conn) = self.conn.get() {
            return Ok(conn.clone());
        }
        let recently_failed = self
            .last_connect_failure
            .lock()
            .is_some_and(|at| at.elapsed() < RECONNECT_BACKOFF);
        if recently_failed {
            return Err(NonceStoreError::BackingOff);
        }
        let result = self
            .conn
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(REDIS_TIMEOUT)
                    .set_response_timeout(REDIS_TIMEOUT)
                    .set_number_of_retries(1);
                ConnectionManager::new_with_config(self.client.clone(), config).await
            })
            .await;
        match result {
            Ok(conn) => Ok(conn.clone()),
            Err(e) => {
                *self.last_connect_failure.lock() = Some(Instant::now());
                Err(NonceStoreError::Connect(e))
            }
        }
    }
}
