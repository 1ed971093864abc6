//! `POST /api/v2/fallback/request`: issued records verify, content equals its hash, identical
//! concurrent requests get distinct IDs, and every refusal has its exact code.

use std::collections::HashSet;

use axum::http::{Method, StatusCode};
use base64::Engine as _;
use serde_json::json;
use sha2::{Digest, Sha256};
use veil_chittyid::{provisional::ProvisionalRecord, ChittyId, EntityType, IssuerClass};

use super::support::{
    assert_error, body_by_hash, issue, key, post_request, send, TestFallback, NOV_2026,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_issues_a_signed_f_id_with_its_namespace_type_and_month() {
    let f = TestFallback::new();
    let record = issue(f.app(), body_by_hash("CHI", "P", 0x11, "0a0b")).await;

    let id = record
        .verify(&key().verifying_key())
        .expect("verifies under the key");
    assert_eq!(id.issuer(), IssuerClass::Fallback);
    assert_eq!(id.namespace(), "CHI");
    assert_eq!(id.entity(), EntityType::Person);
    assert_eq!((id.year(), id.month()), (26, 11));
    assert_eq!(id.trust(), 0, "trust_level defaults to 0");
    let parsed: ChittyId = record.provisional_id.parse().expect("parses");
    assert_eq!(parsed, id);
    assert!(record.provisional_id.starts_with("01-F-CHI-"));
    assert!(record.provisional_id.contains("-P-2611-"));
    assert_eq!(record.seq_no, 1);
    assert_eq!(record.issued_at, NOV_2026);
    assert_eq!(record.content_hash, "11".repeat(32));
    assert_eq!(record.request_nonce, "0a0b");
    assert_eq!(record.public_key, key().public_key_hex());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_trust_level_and_four_letter_namespace_are_carried() {
    let f = TestFallback::new();
    let mut body = body_by_hash("CHIT", "E", 0x22, "ff");
    body["trust_level"] = json!(7);
    let record = issue(f.app(), body).await;
    let id = record.verify(&key().verifying_key()).expect("verifies");
    assert_eq!(
        (id.namespace(), id.entity(), id.trust()),
        ("CHIT", EntityType::Event, 7)
    );
    assert_eq!(
        (
            record.namespace.as_str(),
            record.entity_type.as_str(),
            record.trust_level
        ),
        ("CHIT", "E", 7)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_content_bytes_equal_the_same_content_by_hash() {
    let content = b"evidence: the same bytes, twice";
    let hash = hex::encode(Sha256::digest(content));
    let body_b64 = json!({
        "namespace": "CHI",
        "entity_type": "T",
        "content": base64::engine::general_purpose::STANDARD.encode(content),
        "request_nonce": "01",
    });
    let body_hash = json!({
        "namespace": "CHI",
        "entity_type": "T",
        "content_hash": hash.to_uppercase(),
        "request_nonce": "01",
    });
    // Two separate stores with the same key and clock: the same seq_no, so the same ID.
    let a = TestFallback::new();
    let b = TestFallback::new();
    let by_bytes = issue(a.app(), body_b64).await;
    let by_hash = issue(b.app(), body_hash).await;
    assert_eq!(by_bytes.content_hash, hash);
    assert_eq!(by_bytes, by_hash);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_200_concurrent_identical_requests_get_200_distinct_ids() {
    let f = TestFallback::new();
    let app = f.app();
    let body = body_by_hash("CHI", "I", 0x33, "c0ffee");
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let app = app.clone();
            let body = body.clone();
            tokio::spawn(async move { issue(app, body).await })
        })
        .collect();
    let mut records: Vec<ProvisionalRecord> = Vec::new();
    for t in tasks {
        records.push(t.await.expect("task"));
    }
    let ids: HashSet<&str> = records.iter().map(|r| r.provisional_id.as_str()).collect();
    assert_eq!(ids.len(), 200, "every ID distinct");
    let mut seq: Vec<u64> = records.iter().map(|r| r.seq_no).collect();
    seq.sort_unstable();
    assert_eq!(
        seq,
        (1..=200).collect::<Vec<_>>(),
        "seq_no 1..=200, none skipped or reused"
    );
    let pinned = key().verifying_key();
    for r in &records {
        r.verify(&pinned).expect("every record verifies");
    }
    let (status, json) = super::support::get(f.app(), "/api/v2/fallback/status").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (json["issued"].as_u64(), json["last_seq_no"].as_u64()),
        (Some(200), Some(200))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_malformed_json_is_invalid_body() {
    let f = TestFallback::new();
    let app = f.app();
    let bad = |body: &str| {
        send(
            app.clone(),
            Method::POST,
            "/api/v2/fallback/request",
            Some(body.to_owned()),
            None,
        )
    };
    assert_error(
        &bad("{not json").await,
        StatusCode::BAD_REQUEST,
        "FALLBACK_INVALID_BODY",
    );
    assert_error(
        &bad("[]").await,
        StatusCode::BAD_REQUEST,
        "FALLBACK_INVALID_BODY",
    );
    assert_error(
        &bad(r#"{"namespace": 5}"#).await,
        StatusCode::BAD_REQUEST,
        "FALLBACK_INVALID_BODY",
    );
    assert_error(
        &bad(r#"{"namespace":"CHI","entity_type":"I","content_hash":"00","request_nonce":"00","extra":1}"#).await,
        StatusCode::BAD_REQUEST,
        "FALLBACK_INVALID_BODY",
    );
    // No Content-Type: still the typed error, not axum's plain-text 415.
    let req = axum::http::Request::builder()
        .method(Method::POST)
        .uri("/api/v2/fallback/request")
        .body(axum::body::Body::from("{}"))
        .expect("request");
    let res = tower::ServiceExt::oneshot(f.app(), req)
        .await
        .expect("infallible");
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let bytes = http_body_util::BodyExt::collect(res.into_body())
        .await
        .expect("body")
        .to_bytes();
    let json: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(json["error"]["code"], "FALLBACK_INVALID_BODY");
    assert_eq!(json["error"]["details"]["reason"], "missing_content_type");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_oversized_body_is_payload_too_large() {
    let f = TestFallback::new();
    let content = "A".repeat(3 * 1024 * 1024);
    let body = json!({ "namespace": "CHI", "entity_type": "I", "content": content, "request_nonce": "01" });
    assert_error(
        &post_request(f.app(), &body).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "FALLBACK_PAYLOAD_TOO_LARGE",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_each_invalid_field_has_its_code() {
    let f = TestFallback::new();
    let valid = body_by_hash("CHI", "I", 0x44, "abcd");
    let with = |key: &str, value: serde_json::Value| {
        let mut b = valid.clone();
        if value.is_null() {
            b.as_object_mut().expect("object").remove(key);
        } else {
            b[key] = value;
        }
        b
    };
    let cases = [
        // Exactly one of content / content_hash.
        (
            with("content", json!("aGVsbG8=")),
            "FALLBACK_INVALID_CONTENT",
        ),
        (
            with("content_hash", json!(null)),
            "FALLBACK_INVALID_CONTENT",
        ),
        (
            with("content_hash", json!("abc")),
            "FALLBACK_INVALID_CONTENT",
        ),
        (
            with("content_hash", json!("11".repeat(33))),
            "FALLBACK_INVALID_CONTENT",
        ),
        (
            json!({ "namespace": "CHI", "entity_type": "I", "content": "not base64!", "request_nonce": "01" }),
            "FALLBACK_INVALID_CONTENT",
        ),
        // Nonce: hex, 1..=64 bytes.
        (with("request_nonce", json!(null)), "FALLBACK_INVALID_NONCE"),
        (with("request_nonce", json!("")), "FALLBACK_INVALID_NONCE"),
        (
            with("request_nonce", json!("xyz0")),
            "FALLBACK_INVALID_NONCE",
        ),
        (
            with("request_nonce", json!("abc")),
            "FALLBACK_INVALID_NONCE",
        ),
        (
            with("request_nonce", json!("00".repeat(65))),
            "FALLBACK_INVALID_NONCE",
        ),
        // Namespace: 3 or 4 uppercase letters.
        (with("namespace", json!(null)), "FALLBACK_INVALID_NAMESPACE"),
        (
            with("namespace", json!("chi")),
            "FALLBACK_INVALID_NAMESPACE",
        ),
        (with("namespace", json!("CH")), "FALLBACK_INVALID_NAMESPACE"),
        (
            with("namespace", json!("CHITT")),
            "FALLBACK_INVALID_NAMESPACE",
        ),
        (
            with("namespace", json!("C1I")),
            "FALLBACK_INVALID_NAMESPACE",
        ),
        // Entity type: one of P L T E A I.
        (
            with("entity_type", json!(null)),
            "FALLBACK_INVALID_ENTITY_TYPE",
        ),
        (
            with("entity_type", json!("X")),
            "FALLBACK_INVALID_ENTITY_TYPE",
        ),
        (
            with("entity_type", json!("i")),
            "FALLBACK_INVALID_ENTITY_TYPE",
        ),
        (
            with("entity_type", json!("PI")),
            "FALLBACK_INVALID_ENTITY_TYPE",
        ),
        // Trust level: 0..=9.
        (
            with("trust_level", json!(10)),
            "FALLBACK_INVALID_TRUST_LEVEL",
        ),
        (
            with("trust_level", json!(-1)),
            "FALLBACK_INVALID_TRUST_LEVEL",
        ),
    ];
    for (body, code) in cases {
        let got = post_request(f.app(), &body).await;
        assert_error(&got, StatusCode::BAD_REQUEST, code);
    }
    // Nothing was issued by any refused request.
    let (_, status) = super::support::get(f.app(), "/api/v2/fallback/status").await;
    assert_eq!(status["issued"], 0);
    // The nonce bound is inclusive: exactly 64 bytes is accepted.
    let record = issue(f.app(), with("request_nonce", json!("00".repeat(64)))).await;
    assert_eq!(record.seq_no, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_unknown_route_and_wrong_method_are_typed() {
    let f = TestFallback::new();
    let got = send(f.app(), Method::GET, "/api/v2/fallback/nope", None, None).await;
    assert_error(&got, StatusCode::NOT_FOUND, "FALLBACK_ROUTE_NOT_FOUND");
    let got = send(f.app(), Method::GET, "/", None, None).await;
    assert_error(&got, StatusCode::NOT_FOUND, "FALLBACK_ROUTE_NOT_FOUND");
    let got = send(f.app(), Method::GET, "/api/v2/fallback/request", None, None).await;
    assert_error(
        &got,
        StatusCode::METHOD_NOT_ALLOWED,
        "FALLBACK_METHOD_NOT_ALLOWED",
    );
    let got = send(
        f.app(),
        Method::POST,
        "/api/v2/fallback/status",
        Some("{}".into()),
        None,
    )
    .await;
    assert_error(
        &got,
        StatusCode::METHOD_NOT_ALLOWED,
        "FALLBACK_METHOD_NOT_ALLOWED",
    );
}
