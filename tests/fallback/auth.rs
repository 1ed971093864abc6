//! The optional bearer token: required on every route but `GET /api/v2/fallback/status`.

use axum::http::{Method, StatusCode};

use super::support::{assert_error, body_by_hash, send, TestFallback};

const TOKEN: &str = "fallback-s3cret";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_token_is_required_on_every_route_but_status() {
    let f = TestFallback::with_token(TOKEN);
    let body = Some(body_by_hash("CHI", "I", 1, "01").to_string());
    let good = format!("Bearer {TOKEN}");

    // Status stays open, so liveness probes need no secret.
    let (status, _) = send(f.app(), Method::GET, "/api/v2/fallback/status", None, None).await;
    assert_eq!(status, StatusCode::OK);

    for auth in [
        None,
        Some("Bearer wrong"),
        Some(TOKEN),
        Some("Basic ZmFsbGJhY2s="),
    ] {
        let got = send(
            f.app(),
            Method::POST,
            "/api/v2/fallback/request",
            body.clone(),
            auth,
        )
        .await;
        assert_error(&got, StatusCode::UNAUTHORIZED, "FALLBACK_UNAUTHORIZED");
        let got = send(f.app(), Method::GET, "/api/v2/fallback/records", None, auth).await;
        assert_error(&got, StatusCode::UNAUTHORIZED, "FALLBACK_UNAUTHORIZED");
    }
    // Nothing was issued without the token.
    let (_, json) = send(f.app(), Method::GET, "/api/v2/fallback/status", None, None).await;
    assert_eq!(json["issued"], 0);

    let (status, record) = send(
        f.app(),
        Method::POST,
        "/api/v2/fallback/request",
        body,
        Some(&good),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{record}");
    let id = record["provisional_id"].as_str().expect("id");
    let by_id = format!("/api/v2/fallback/status/{id}");
    let got = send(f.app(), Method::GET, &by_id, None, None).await;
    assert_error(&got, StatusCode::UNAUTHORIZED, "FALLBACK_UNAUTHORIZED");
    let (status, json) = send(f.app(), Method::GET, &by_id, None, Some(&good)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json, record);
    let (status, json) = send(
        f.app(),
        Method::GET,
        "/api/v2/fallback/records",
        None,
        Some(&good),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["records"][0], record);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auth_without_a_token_every_route_is_open() {
    let f = TestFallback::new();
    let body = Some(body_by_hash("CHI", "I", 1, "01").to_string());
    let (status, _) = send(
        f.app(),
        Method::POST,
        "/api/v2/fallback/request",
        body,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, _) = send(
        f.app(),
        Method::GET,
        "/api/v2/fallback/records",
        None,
        Some("Bearer anything"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
}
