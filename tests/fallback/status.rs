//! `GET /api/v2/fallback/status` and `GET /api/v2/fallback/status/{provisional_id}`.

use axum::http::StatusCode;
use veil_chittyid::provisional::ProvisionalRecord;

use super::support::{assert_error, body_by_hash, get, issue, key, TestFallback};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_reports_the_key_and_counts() {
    let f = TestFallback::new();
    let (status, json) = get(f.app(), "/api/v2/fallback/status").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        json,
        serde_json::json!({ "status": "ok", "public_key": key().public_key_hex(), "issued": 0, "last_seq_no": 0 })
    );
    for n in 0..3u8 {
        issue(f.app(), body_by_hash("CHI", "I", n, "01")).await;
    }
    let (_, json) = get(f.app(), "/api/v2/fallback/status").await;
    assert_eq!(
        (json["issued"].as_u64(), json["last_seq_no"].as_u64()),
        (Some(3), Some(3))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_by_id_returns_the_issued_record() {
    let f = TestFallback::new();
    issue(f.app(), body_by_hash("CHI", "L", 1, "01")).await;
    let second = issue(f.app(), body_by_hash("CHI", "A", 2, "02")).await;
    let (status, json) = get(
        f.app(),
        &format!("/api/v2/fallback/status/{}", second.provisional_id),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let got: ProvisionalRecord = serde_json::from_value(json).expect("record");
    assert_eq!(got, second);
    got.verify(&key().verifying_key()).expect("verifies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_by_id_unknown_is_not_found_and_malformed_is_invalid_id() {
    let f = TestFallback::new();
    let issued = issue(f.app(), body_by_hash("CHI", "I", 1, "01")).await;
    // A well-formed F ID this fallback never issued (another sequence, its own check char).
    let other = veil_chittyid::ChittyId::new(
        veil_chittyid::IssuerClass::Fallback,
        "CHI",
        "00000000",
        veil_chittyid::EntityType::Info,
        26,
        11,
        0,
    )
    .expect("id")
    .to_string();
    assert_ne!(other, issued.provisional_id);
    let got = get(f.app(), &format!("/api/v2/fallback/status/{other}")).await;
    assert_error(&got, StatusCode::NOT_FOUND, "FALLBACK_NOT_FOUND");
    // An authoritative ID is never in the fallback's store.
    let parsed: veil_chittyid::ChittyId = issued.provisional_id.parse().expect("parses");
    let a_id = veil_chittyid::ChittyId::new(
        veil_chittyid::IssuerClass::Authoritative,
        parsed.namespace(),
        parsed.sequence(),
        parsed.entity(),
        parsed.year(),
        parsed.month(),
        parsed.trust(),
    )
    .expect("id");
    let got = get(f.app(), &format!("/api/v2/fallback/status/{a_id}")).await;
    assert_error(&got, StatusCode::NOT_FOUND, "FALLBACK_NOT_FOUND");
    // Malformed IDs name the grammar's rule.
    let got = get(f.app(), "/api/v2/fallback/status/not-an-id").await;
    assert_error(&got, StatusCode::BAD_REQUEST, "FALLBACK_INVALID_ID");
    assert_eq!(
        got.1["error"]["details"]["grammar_code"],
        "CHITTYID_MALFORMED"
    );
    let mut tampered = issued.provisional_id.clone();
    tampered.replace_range(9..10, if &tampered[9..10] == "0" { "1" } else { "0" });
    let got = get(f.app(), &format!("/api/v2/fallback/status/{tampered}")).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "FALLBACK_INVALID_ID");
    assert_eq!(
        got.1["error"]["details"]["grammar_code"],
        "CHITTYID_CHECKSUM_MISMATCH"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_metrics_are_open_and_every_answer_carries_a_request_id() {
    use axum::{body::Body, http::Request};
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    let f = TestFallback::with_token("a-bearer-token-of-at-least-32-chars");
    let (status, json) = get(f.app(), "/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        json,
        serde_json::json!({ "status": "ok", "store": "up", "token_required": true })
    );
    // A protected route without the token, then a scrape: both counted, by route and status.
    let refused = get(f.app(), "/api/v2/fallback/records").await;
    assert_error(&refused, StatusCode::UNAUTHORIZED, "FALLBACK_UNAUTHORIZED");
    let response = f
        .app()
        .oneshot(
            Request::get("/metrics")
                .header("x-request-id", "probe-7")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-request-id"], "probe-7");
    let text = String::from_utf8(
        response
            .into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    for line in [
        "fallback_http_requests_total{route=\"/health\",status=\"200\"} 1",
        "fallback_http_requests_total{route=\"/api/v2/fallback/records\",status=\"401\"} 1",
        "fallback_records_issued 0",
        "fallback_last_seq_no 0",
        "fallback_http_request_duration_seconds_bucket",
    ] {
        assert!(text.contains(line), "missing {line} in\n{text}");
    }
    // Without a request id, one is made.
    let response = f
        .app()
        .oneshot(Request::get("/health").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"].len(), 36);
}
