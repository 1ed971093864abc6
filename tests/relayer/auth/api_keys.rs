//! API keys: presence, shape, existence, revocation, scopes, storage.

use std::{num::NonZeroUsize, time::Duration};

use axum::{body::Body, extract::Request, http::header};
use sha2::{Digest, Sha256};
use veil_relayer::platform::auth::{ApiKeyStore, KeyCacheConfig, KeyStoreError, Quota, Scope};

use super::{builder, get_req, harness, roomy, secrets, Harness, PEPPER_HEX};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_missing_is_refused() {
    let h = harness().await;
    let bare = Request::builder()
        .uri("/v2/echo")
        .body(Body::empty())
        .unwrap();
    let e = h.send(bare).await.assert_error(401, "AUTH_MISSING_API_KEY");
    assert!(e["message"].as_str().unwrap().contains("Bearer"));
    // Another scheme is not an API key.
    let basic = Request::builder()
        .uri("/v2/echo")
        .header(header::AUTHORIZATION, "Basic dXNlcjpwYXNz")
        .body(Body::empty())
        .unwrap();
    h.send(basic)
        .await
        .assert_error(401, "AUTH_MISSING_API_KEY");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_unknown_is_refused() {
    let h = harness().await;
    let key = h.minter().await;
    // Same shape, another id; and the right id with another secret.
    let unknown_id = format!("cvk_0000000000000000{}", &key.api_key()[20..]);
    h.send(get_req("/v2/echo", &unknown_id))
        .await
        .assert_error(401, "AUTH_INVALID_API_KEY");
    let mut wrong_secret = key.api_key().to_owned();
    let last = wrong_secret.pop().unwrap();
    wrong_secret.push(if last == 'A' { 'Q' } else { 'A' });
    let e = h
        .send(get_req("/v2/echo", &wrong_secret))
        .await
        .assert_error(401, "AUTH_INVALID_API_KEY");
    // The answer does not say which part was wrong.
    assert_eq!(e["message"], "the API key is unknown, malformed or revoked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_malformed_is_refused() {
    let h = harness().await;
    let key = h.minter().await;
    let good = key.api_key();
    for bad in [
        "".to_owned(),
        "cvk_".to_owned(),
        "not-a-key".to_owned(),
        good.replacen("cvk_", "cvx_", 1),
        good.to_uppercase(),
        format!("{good}x"),
        good[..good.len() - 1].to_owned(),
    ] {
        let reply = h.send(get_req("/v2/echo", &bad)).await;
        reply.assert_error(401, "AUTH_INVALID_API_KEY");
    }
    // Not visible ASCII in X-Api-Key.
    let req = Request::builder()
        .uri("/v2/echo")
        .header(
            "x-api-key",
            axum::http::HeaderValue::from_bytes(b"cvk_\xff").unwrap(),
        )
        .body(Body::empty())
        .unwrap();
    h.send(req).await.assert_error(401, "AUTH_INVALID_API_KEY");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_bearer_and_x_api_key_are_accepted() {
    let h = harness().await;
    let key = h.minter().await;
    let reply = h.send(get_req("/v2/echo", key.api_key())).await;
    reply.assert_ok();
    let principal = reply.json();
    assert_eq!(principal["key_id"], key.created.key_id.as_str());
    assert_eq!(principal["label"], "test key");
    assert_eq!(principal["scopes"], serde_json::json!(["chittyid:mint"]));
    let lower = Request::builder()
        .uri("/v2/echo")
        .header(header::AUTHORIZATION, format!("bearer {}", key.api_key()))
        .body(Body::empty())
        .unwrap();
    h.send(lower).await.assert_ok();
    let x_api_key = Request::builder()
        .uri("/v2/echo")
        .header("x-api-key", key.api_key())
        .body(Body::empty())
        .unwrap();
    h.send(x_api_key).await.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_revoked_is_refused() {
    let h = harness().await;
    let key = h.minter().await;
    h.send(get_req("/v2/echo", key.api_key())).await.assert_ok();
    assert!(h.auth.keys().revoke(&key.created.key_id).await.unwrap());
    // Revoking twice (or an unknown id) reports that nothing was revoked.
    assert!(!h.auth.keys().revoke(&key.created.key_id).await.unwrap());
    assert!(!h.auth.keys().revoke("ffffffffffffffff").await.unwrap());
    // The revoking instance refuses it at once, even though it was cached.
    h.send(get_req("/v2/echo", key.api_key()))
        .await
        .assert_error(401, "AUTH_INVALID_API_KEY");
    // A fresh instance refuses it from the database.
    let other = other_instance(&h, Duration::from_secs(10));
    assert_eq!(
        other
            .authenticate(key.api_key())
            .await
            .unwrap_err()
            .code()
            .as_str(),
        "AUTH_INVALID_API_KEY"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_revocation_reaches_other_instances_within_the_cache_ttl() {
    let h = harness().await;
    let key = h.minter().await;
    let ttl = Duration::from_millis(300);
    let other = other_instance(&h, ttl);
    other.authenticate(key.api_key()).await.unwrap();
    h.auth.keys().revoke(&key.created.key_id).await.unwrap();
    // Within the TTL the other instance still trusts its cache (documented behaviour)…
    other.authenticate(key.api_key()).await.unwrap();
    tokio::time::sleep(ttl + Duration::from_millis(50)).await;
    // …and after it, it refuses.
    assert!(other.authenticate(key.api_key()).await.is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_wrong_scope_is_forbidden() {
    let h = harness().await;
    let verifier = h.key(&[Scope::ChittyIdVerify], roomy()).await;
    let e = h
        .send(get_req("/v2/echo", verifier.api_key()))
        .await
        .assert_error(403, "AUTH_SCOPE_FORBIDDEN");
    assert_eq!(e["details"]["required_scope"], "chittyid:mint");
    h.send(get_req("/v2/verify", verifier.api_key()))
        .await
        .assert_ok();
    let none = h.key(&[], roomy()).await;
    h.send(get_req("/v2/verify", none.api_key()))
        .await
        .assert_error(403, "AUTH_SCOPE_FORBIDDEN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_admin_scope_implies_all() {
    let h = harness().await;
    let admin = h.key(&[Scope::Admin], roomy()).await;
    for path in ["/v2/echo", "/v2/verify", "/admin/ping"] {
        h.send(get_req(path, admin.api_key())).await.assert_ok();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_unknown_stored_scopes_are_ignored() {
    let h = harness().await;
    let key = h.minter().await;
    sqlx::query(
        "UPDATE api_keys SET scopes = ARRAY['chittyid:mint', 'future:scope'] WHERE key_id = $1",
    )
    .bind(&key.created.key_id)
    .execute(&h.db.pool)
    .await
    .unwrap();
    let fresh = other_instance(&h, Duration::from_secs(10));
    let principal = fresh.authenticate(key.api_key()).await.unwrap();
    assert_eq!(principal.scopes, vec![Scope::ChittyIdMint]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_stored_hash_is_not_the_key() {
    let h = harness().await;
    let key = h
        .key(&[Scope::ChittyIdVerify, Scope::ChittyIdMint], roomy())
        .await;
    let (key_hash, label, scopes, rate, burst, revoked): (
        Vec<u8>,
        String,
        Vec<String>,
        i32,
        i32,
        bool,
    ) = sqlx::query_as(
        "SELECT key_hash, label, scopes, rate_per_sec, burst, revoked_at IS NOT NULL \
         FROM api_keys WHERE key_id = $1",
    )
    .bind(&key.created.key_id)
    .fetch_one(&h.db.pool)
    .await
    .unwrap();
    // Positional: base64url secrets may themselves contain `_`.
    let secret_text = &key.api_key()["cvk_".len() + 16 + 1..];
    let secret = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        secret_text,
    )
    .unwrap();
    assert_eq!(key_hash.len(), 32);
    assert_ne!(key_hash, key.api_key().as_bytes());
    assert_ne!(key_hash, secret);
    let mut expected = Sha256::new();
    expected.update(hex::decode(PEPPER_HEX).unwrap());
    expected.update(&secret);
    assert_eq!(
        key_hash,
        expected.finalize().to_vec(),
        "SHA-256(pepper ‖ secret)"
    );
    assert_eq!(label, "test key");
    assert_eq!(scopes, vec!["chittyid:mint", "chittyid:verify"]);
    assert_eq!((rate, burst, revoked), (10_000, 10_000, false));
    // Neither the key, its secret nor its signing secret appears anywhere in the row.
    let row_text: String =
        sqlx::query_scalar("SELECT row_to_json(k)::text FROM api_keys k WHERE key_id = $1")
            .bind(&key.created.key_id)
            .fetch_one(&h.db.pool)
            .await
            .unwrap();
    for needle in [key.api_key(), secret_text, &key.created.signing_secret] {
        assert!(!row_text.contains(needle));
    }
    assert!(!row_text.contains(&hex::encode(&secret)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_create_validates_label() {
    let h = harness().await;
    for label in ["", "  ", "a\nb"] {
        let e = h
            .auth
            .keys()
            .create(label, &[Scope::ChittyIdMint], roomy())
            .await
            .unwrap_err();
        assert!(matches!(e, KeyStoreError::InvalidLabel), "{label:?}");
    }
    let too_big = Quota::try_new(u32::MAX, 1).unwrap();
    assert!(matches!(
        h.auth.keys().create("x", &[], too_big).await.unwrap_err(),
        KeyStoreError::QuotaTooLarge
    ));
    // Created keys have the documented shape.
    let key = h.minter().await;
    let (id, secret) = key.api_key()["cvk_".len()..].split_at(16);
    assert_eq!(id, key.created.key_id);
    assert!(id
        .bytes()
        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    assert_eq!(secret.len(), 44, "_ + 43 base64url characters");
    assert_eq!(key.created.signing_secret.len(), 64);
    assert!(!format!("{:?}", key.created).contains(key.api_key()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_unsigned_get_is_not_signed() {
    // Reads need no signature headers; the signature is for mutating methods only.
    let h = harness().await;
    let key = h.minter().await;
    h.send(
        builder("GET", "/v2/echo", key.api_key())
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .assert_ok();
}

/// A second relayer instance over the same database (its own key cache).
fn other_instance(h: &Harness, ttl: Duration) -> ApiKeyStore {
    ApiKeyStore::new(
        h.db.pool.clone(),
        &secrets(),
        KeyCacheConfig {
            ttl,
            capacity: NonZeroUsize::new(16).unwrap(),
        },
    )
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_key_flood_of_unknown_ids_never_evicts_a_real_key() {
    // Audit finding 11: unknown ids shared the key cache, so a flood of well-formed random
    // ids evicted every real key and each real request went back to the database.
    let h = harness().await;
    let store = other_instance(&h, Duration::from_secs(60));
    let key = h.minter().await;
    store
        .authenticate(key.api_key())
        .await
        .expect("the real key");
    assert!(store.is_cached(&key.created.key_id));
    // Far more unknown ids than the main cache (16 here) holds.
    for i in 0..200u32 {
        let bogus = format!(
            "cvk_{:016x}_{}",
            0xdead_0000_u64 + u64::from(i),
            "A".repeat(43)
        );
        assert!(store.authenticate(&bogus).await.is_err());
    }
    assert!(
        store.is_cached(&key.created.key_id),
        "the flood evicted the real key"
    );
}
