//! Request signing: headers, HMAC, timestamp window, nonce replay, body handling.

use axum::{body::Body, http::header};
use veil_relayer::platform::auth::{sign_request, signature::generate_nonce, AuthSettings, Scope};

use super::{builder, harness, harness_with, roomy, signed, signed_at, TestKey, NOW};
use crate::relayer::support::redis_url;

/// A request sent as `method uri body` but signed as `sign_as` (method, path, body).
fn signed_then(
    key: &TestKey,
    method: &str,
    uri: &str,
    body: &[u8],
    sign_as: (&str, &str, &[u8]),
) -> axum::extract::Request {
    let nonce = generate_nonce();
    let headers = sign_request(sign_as.0, sign_as.1, sign_as.2, &key.secret, NOW, &nonce);
    let mut b = builder(method, uri, key.api_key());
    for (name, value) in headers.pairs() {
        b = b.header(name, value);
    }
    b.body(Body::from(body.to_vec())).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_happy_path_reaches_handler_with_original_body() {
    let h = harness().await;
    let key = h.minter().await;
    let body = br#"{"namespace":"VEIL","content_hash":"00ff","note":"\u00e9 bytes \n kept"}"#;
    for method in ["POST", "PUT", "PATCH", "DELETE"] {
        let reply = h
            .send(signed(method, "/v2/echo?dry_run=1", body, &key))
            .await;
        reply.assert_ok();
        assert_eq!(&reply.body[..], &body[..], "{method}");
        assert_eq!(reply.headers["x-key-id"], key.created.key_id.as_str());
    }
    // An empty body signs the hash of the empty string.
    let reply = h.send(signed("POST", "/v2/echo", b"", &key)).await;
    reply.assert_ok();
    assert!(reply.body.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_missing_headers_are_refused() {
    let h = harness().await;
    let key = h.minter().await;
    let all = h
        .send(
            builder("POST", "/v2/echo", key.api_key())
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    let e = all.assert_error(401, "AUTH_MISSING_SIGNATURE");
    assert_eq!(
        e["details"]["missing"],
        serde_json::json!(["X-Timestamp", "X-Nonce", "X-Signature"])
    );
    // Each header alone missing.
    for (skip, name) in [
        ("x-timestamp", "X-Timestamp"),
        ("x-nonce", "X-Nonce"),
        ("x-signature", "X-Signature"),
    ] {
        let headers = sign_request(
            "POST",
            "/v2/echo",
            b"{}",
            &key.secret,
            NOW,
            &generate_nonce(),
        );
        let mut b = builder("POST", "/v2/echo", key.api_key());
        for (n, v) in headers.pairs().into_iter().filter(|(n, _)| *n != skip) {
            b = b.header(n, v);
        }
        let e = h
            .send(b.body(Body::from("{}")).unwrap())
            .await
            .assert_error(401, "AUTH_MISSING_SIGNATURE");
        assert_eq!(e["details"]["missing"], serde_json::json!([name]));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_wrong_secret_is_refused() {
    let h = harness().await;
    let key = h.minter().await;
    let other = h.minter().await;
    // Signed with another key's secret.
    let impostor = TestKey {
        created: key.created.clone(),
        secret: other.secret.clone(),
    };
    h.send(signed("POST", "/v2/echo", b"{}", &impostor))
        .await
        .assert_error(401, "AUTH_INVALID_SIGNATURE");
    // Garbage signature.
    let mut req = signed("POST", "/v2/echo", b"{}", &key);
    req.headers_mut()
        .insert("x-signature", "00".repeat(32).parse().unwrap());
    h.send(req)
        .await
        .assert_error(401, "AUTH_INVALID_SIGNATURE");
    let mut req = signed("POST", "/v2/echo", b"{}", &key);
    req.headers_mut()
        .insert("x-signature", "not-hex".parse().unwrap());
    h.send(req)
        .await
        .assert_error(401, "AUTH_INVALID_SIGNATURE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_tampered_body_is_refused() {
    let h = harness().await;
    let key = h.minter().await;
    let req = signed_then(
        &key,
        "POST",
        "/v2/echo",
        br#"{"amount":1000}"#,
        ("POST", "/v2/echo", br#"{"amount":1}"#),
    );
    h.send(req)
        .await
        .assert_error(401, "AUTH_INVALID_SIGNATURE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_tampered_path_or_method_is_refused() {
    let h = harness().await;
    // Both scopes, so that every route below reaches the signature check.
    let key = h
        .key(&[Scope::ChittyIdMint, Scope::ChittyIdVerify], roomy())
        .await;
    for (method, uri, sign_as) in [
        ("POST", "/v2/echo?x=2", ("POST", "/v2/echo?x=1", &b"{}"[..])),
        ("POST", "/v2/echo", ("POST", "/v2/echo?x=1", &b"{}"[..])),
        ("POST", "/v2/echo?x=1", ("POST", "/v2/echo", &b"{}"[..])),
        ("POST", "/v2/verify", ("POST", "/v2/echo", &b"{}"[..])),
        ("PUT", "/v2/echo", ("POST", "/v2/echo", &b"{}"[..])),
    ] {
        let req = signed_then(&key, method, uri, b"{}", sign_as);
        h.send(req)
            .await
            .assert_error(401, "AUTH_INVALID_SIGNATURE");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_timestamp_window_edges() {
    let h = harness().await;
    let key = h.minter().await;
    for (timestamp, accepted) in [
        (NOW - 60, true),
        (NOW + 60, true),
        (NOW, true),
        (NOW - 61, false),
        (NOW + 61, false),
        (NOW - 3_600, false),
        (NOW + 3_600, false),
        (0, false),
    ] {
        let reply = h
            .send(signed_at(
                "POST",
                "/v2/echo",
                b"{}",
                &key,
                timestamp,
                &generate_nonce(),
            ))
            .await;
        if accepted {
            reply.assert_ok();
        } else {
            let e = reply.assert_error(401, "AUTH_TIMESTAMP_EXPIRED");
            assert_eq!(e["details"]["server_time"], NOW);
            assert_eq!(e["details"]["window_secs"], 60);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_window_is_configurable() {
    let settings = AuthSettings {
        signature_window_secs: 5,
        ..AuthSettings::default()
    };
    let h = harness_with(&redis_url(), settings).await;
    let key = h.minter().await;
    h.send(signed_at(
        "POST",
        "/v2/echo",
        b"",
        &key,
        NOW - 5,
        &generate_nonce(),
    ))
    .await
    .assert_ok();
    h.send(signed_at(
        "POST",
        "/v2/echo",
        b"",
        &key,
        NOW + 6,
        &generate_nonce(),
    ))
    .await
    .assert_error(401, "AUTH_TIMESTAMP_EXPIRED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_malformed_headers_are_refused() {
    let h = harness().await;
    let key = h.minter().await;
    for nonce in [
        "short",
        &"n".repeat(129),
        "sixteen chars ok",
        "abcdefghijklmnop=",
    ] {
        let e = h
            .send(signed_at("POST", "/v2/echo", b"", &key, NOW, nonce))
            .await
            .assert_error(401, "AUTH_INVALID_SIGNATURE");
        assert_eq!(e["details"]["header"], "X-Nonce");
    }
    for timestamp in ["+1750000000", "01750000000", "1750000000.0", "soon"] {
        let mut req = signed("POST", "/v2/echo", b"", &key);
        req.headers_mut()
            .insert("x-timestamp", timestamp.parse().unwrap());
        let e = h
            .send(req)
            .await
            .assert_error(401, "AUTH_INVALID_SIGNATURE");
        assert_eq!(e["details"]["header"], "X-Timestamp");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_replayed_nonce_is_refused() {
    let h = harness().await;
    let key = h.minter().await;
    let nonce = generate_nonce();
    h.send(signed_at("POST", "/v2/echo", b"{}", &key, NOW, &nonce))
        .await
        .assert_ok();
    h.send(signed_at("POST", "/v2/echo", b"{}", &key, NOW, &nonce))
        .await
        .assert_error(401, "AUTH_NONCE_REPLAYED");
    // A different request with the same nonce is a replay too.
    h.send(signed_at("PUT", "/v2/echo", b"[]", &key, NOW + 1, &nonce))
        .await
        .assert_error(401, "AUTH_NONCE_REPLAYED");
    // Nonces are per key: another key may use the same one.
    let other = h.minter().await;
    h.send(signed_at("POST", "/v2/echo", b"{}", &other, NOW, &nonce))
        .await
        .assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_invalid_requests_do_not_burn_the_nonce() {
    let h = harness().await;
    let key = h.minter().await;
    let nonce = generate_nonce();
    // An attacker without the secret sends the nonce first.
    let mut forged = signed_at("POST", "/v2/echo", b"{}", &key, NOW, &nonce);
    forged
        .headers_mut()
        .insert("x-signature", "ab".repeat(32).parse().unwrap());
    h.send(forged)
        .await
        .assert_error(401, "AUTH_INVALID_SIGNATURE");
    // An expired one neither.
    h.send(signed_at(
        "POST",
        "/v2/echo",
        b"{}",
        &key,
        NOW - 120,
        &nonce,
    ))
    .await
    .assert_error(401, "AUTH_TIMESTAMP_EXPIRED");
    // The owner's request with that nonce still goes through.
    h.send(signed_at("POST", "/v2/echo", b"{}", &key, NOW, &nonce))
        .await
        .assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_nonce_is_kept_in_redis_for_twice_the_window() {
    let h = harness().await;
    let key = h.minter().await;
    let nonce = generate_nonce();
    h.send(signed_at("POST", "/v2/echo", b"", &key, NOW, &nonce))
        .await
        .assert_ok();
    let redis_key = format!("{}nonce:{}:{}", h.redis_prefix, key.created.key_id, nonce);
    assert_eq!(h.auth.nonces().key(&key.created.key_id, &nonce), redis_key);
    let ttl = redis_ttl(&redis_key).await;
    assert!((110..=120).contains(&ttl), "TTL {ttl}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_body_over_the_limit_is_refused() {
    let settings = AuthSettings {
        body_limit_bytes: 64,
        ..AuthSettings::default()
    };
    let h = harness_with(&redis_url(), settings).await;
    let key = h.minter().await;
    let at_limit = vec![b'a'; 64];
    let reply = h.send(signed("POST", "/v2/echo", &at_limit, &key)).await;
    reply.assert_ok();
    assert_eq!(&reply.body[..], &at_limit[..]);
    // Discovered while reading (no Content-Length)…
    let over = vec![b'a'; 65];
    let e = h
        .send(signed("POST", "/v2/echo", &over, &key))
        .await
        .assert_error(413, "PAYLOAD_TOO_LARGE");
    assert_eq!(e["details"]["limit_bytes"], 64);
    // …and refused up front by Content-Length.
    let mut req = signed("POST", "/v2/echo", &over, &key);
    req.headers_mut()
        .insert(header::CONTENT_LENGTH, "65".parse().unwrap());
    h.send(req).await.assert_error(413, "PAYLOAD_TOO_LARGE");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signature_covers_the_full_path_under_nested_routers() {
    let h = harness().await;
    let key = h.minter().await;
    // The client signs the path it sends; `Router::nest` strips `/nested` before the layer.
    let reply = h.send(signed("POST", "/nested/echo", b"hi", &key)).await;
    reply.assert_ok();
    assert_eq!(&reply.body[..], b"hi");
    let stripped = signed_then(
        &key,
        "POST",
        "/nested/echo",
        b"hi",
        ("POST", "/echo", b"hi"),
    );
    h.send(stripped)
        .await
        .assert_error(401, "AUTH_INVALID_SIGNATURE");
}

async fn redis_ttl(key: &str) -> i64 {
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("TTL")
        .arg(key)
        .query_async(&mut conn)
        .await
        .unwrap()
}
