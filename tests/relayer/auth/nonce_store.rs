//! The Redis nonce store, including Redis being unreachable.

use std::time::Duration;

use veil_relayer::platform::auth::{
    signature::generate_nonce, AuthSettings, NonceOutcome, NonceStore, NonceStoreError,
};

use super::{get_req, harness_with, signed};
use crate::relayer::support::{redis_prefix, redis_url};

/// Nothing listens there.
const DEAD_REDIS: &str = "redis://127.0.0.1:1";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonce_store_unreachable_refuses_signed_requests_with_503() {
    let h = harness_with(DEAD_REDIS, AuthSettings::default()).await;
    let key = h.minter().await;
    for _ in 0..3 {
        let reply = h.send(signed("POST", "/v2/echo", b"{}", &key)).await;
        reply.assert_error(503, "NONCE_STORE_UNAVAILABLE");
        assert_eq!(reply.headers["retry-after"], "1");
    }
    // Reads do not need Redis.
    h.send(get_req("/v2/echo", key.api_key())).await.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonce_store_unreachable_fails_fast() {
    let store = NonceStore::new(DEAD_REDIS, redis_prefix()).unwrap();
    let started = std::time::Instant::now();
    let first = store
        .check_and_store(
            "0123456789abcdef",
            &generate_nonce(),
            Duration::from_secs(120),
        )
        .await
        .unwrap_err();
    assert!(matches!(first, NonceStoreError::Connect(_)), "{first:?}");
    // Within the back-off, no new connection attempt.
    let second = store
        .check_and_store(
            "0123456789abcdef",
            &generate_nonce(),
            Duration::from_secs(120),
        )
        .await
        .unwrap_err();
    assert!(matches!(second, NonceStoreError::BackingOff), "{second:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert!(store.ping().await.is_err());
    assert!(!format!("{store:?}").contains("redis://"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nonce_store_records_once_with_ttl() {
    let prefix = redis_prefix();
    let store = NonceStore::new(&redis_url(), prefix.clone()).unwrap();
    store.ping().await.unwrap();
    let nonce = generate_nonce();
    let ttl = Duration::from_secs(7);
    assert_eq!(
        store
            .check_and_store("0123456789abcdef", &nonce, ttl)
            .await
            .unwrap(),
        NonceOutcome::Fresh
    );
    assert_eq!(
        store
            .check_and_store("0123456789abcdef", &nonce, ttl)
            .await
            .unwrap(),
        NonceOutcome::Replayed
    );
    assert_eq!(
        store
            .check_and_store("fedcba9876543210", &nonce, ttl)
            .await
            .unwrap(),
        NonceOutcome::Fresh
    );
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let key = format!("{prefix}nonce:0123456789abcdef:{nonce}");
    let remaining: i64 = redis::cmd("TTL")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!((1..=7).contains(&remaining), "TTL {remaining}");
    let value: String = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut conn)
        .await
        .unwrap();
    // The check's own random token (so a retried check knows its own write: issue 18).
    assert_eq!(value.len(), 32, "{value}");
    assert!(value.bytes().all(|b| b.is_ascii_hexdigit()), "{value}");
    // An invalid URL is refused at construction.
    assert!(matches!(
        NonceStore::new("not a url", "x:"),
        Err(NonceStoreError::InvalidUrl(_))
    ));
}
