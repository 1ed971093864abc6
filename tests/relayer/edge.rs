//! The relayer's edge for browsers and clients without a key: CORS from configuration
//! (preflights answered before authentication, errors carrying the headers too, never
//! credentials), and a limit per client address on the routes without a key, with
//! `X-Forwarded-For` believed only from trusted proxies.

use std::net::SocketAddr;

use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{HeaderMap, Method, Request, StatusCode},
};

use super::support::{code, TestApp};

/// Sends `request` through the app; status, headers and JSON body.
async fn send(t: &TestApp, request: Request<Body>) -> (StatusCode, HeaderMap, serde_json::Value) {
    super::support::send_parts(&t.router, request).await
}

fn preflight(origin: &str) -> Request<Body> {
    Request::builder()
        .method(Method::OPTIONS)
        .uri("/api/v2/chittyid/mint")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "content-type,x-api-key,x-timestamp,x-nonce,x-signature",
        )
        .body(Body::empty())
        .unwrap()
}

fn from(peer: &str, path: &str, forwarded: Option<&str>) -> Request<Body> {
    let mut request = Request::get(path);
    if let Some(xff) = forwarded {
        request = request.header("x-forwarded-for", xff);
    }
    request
        .extension(ConnectInfo(SocketAddr::new(peer.parse().unwrap(), 40000)))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn configured_origins_get_cors_and_others_do_not() {
    let app_origin = "https://app.example.com";
    let t = TestApp::with(|c| c.cors_origins = vec![app_origin.into()]).await;

    // A preflight is answered without a key.
    let (status, headers, _) = send(&t, preflight(app_origin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["access-control-allow-origin"], app_origin);
    let allowed = headers["access-control-allow-headers"].to_str().unwrap();
    for h in ["x-api-key", "x-signature", "x-nonce", "x-timestamp"] {
        assert!(allowed.contains(h), "{allowed}");
    }
    assert!(headers["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
    assert!(!headers.contains_key("access-control-allow-credentials"));

    // Another origin gets no allow header, so its browser refuses the answer.
    let (_, headers, _) = send(&t, preflight("https://evil.example")).await;
    assert!(!headers.contains_key("access-control-allow-origin"));

    // A real request from the app: a signed mint succeeds and carries the header; so does a
    // refusal (here: no key), so the page can read the typed error.
    let body = serde_json::json!({
        "namespace": "CHI", "entity_type": "P",
        "content_hash": "ab".repeat(32), "request_nonce": "01",
    });
    let mut request = t.signed(
        Method::POST,
        "/api/v2/chittyid/mint",
        &serde_json::to_vec(&body).unwrap(),
        &t.key,
    );
    request
        .headers_mut()
        .insert("origin", app_origin.parse().unwrap());
    let (status, headers, minted) = send(&t, request).await;
    assert_eq!(status, StatusCode::CREATED, "{minted}");
    assert_eq!(headers["access-control-allow-origin"], app_origin);
    let exposed = headers["access-control-expose-headers"].to_str().unwrap();
    assert!(exposed.contains("x-request-id"), "{exposed}");
    let unsigned = Request::post("/api/v2/chittyid/mint")
        .header("origin", app_origin)
        .header("content-type", "application/json")
        .extension(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))))
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap();
    let (status, headers, refused) = send(&t, unsigned).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{refused}");
    assert_eq!(headers["access-control-allow-origin"], app_origin);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_origins_there_is_no_cors_and_a_wildcard_never_allows_credentials() {
    let t = TestApp::new().await;
    let (_, headers, _) = send(&t, preflight("https://app.example.com")).await;
    assert!(!headers.contains_key("access-control-allow-origin"));

    let t = TestApp::with(|c| c.cors_origins = vec!["*".into()]).await;
    let (_, headers, _) = send(&t, preflight("https://anyone.example")).await;
    assert_eq!(headers["access-control-allow-origin"], "*");
    assert!(!headers.contains_key("access-control-allow-credentials"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_origin_or_proxy_stops_the_relayer_at_start() {
    use super::support::{secrets, startup_error};
    let db = super::support::TestDb::new().await;
    let mut config = veil_relayer::platform::config::Config::defaults();
    config.db.database_url = db.url.clone();
    config.cors_origins = vec!["app.example.com".into()];
    let err = startup_error(config.clone(), &secrets()).await;
    assert!(
        matches!(err, veil_relayer::state::StartupError::Cors(_)),
        "{err}"
    );
    assert!(err.to_string().contains("app.example.com"), "{err}");
    config.cors_origins = vec![];
    config.trusted_proxies = vec!["10.0.0.0/33".into()];
    let err = startup_error(config, &secrets()).await;
    assert!(
        matches!(err, veil_relayer::state::StartupError::TrustedProxy(_)),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_client_address_has_its_own_limit_on_the_routes_without_a_key() {
    let t = TestApp::with(|c| {
        c.public_per_ip_per_sec = 1;
        c.public_per_ip_burst = 3;
        c.trusted_proxies = vec!["10.0.0.0/8".into()];
    })
    .await;
    // A direct client: three at once, then refused with a typed 429 and Retry-After.
    for _ in 0..3 {
        let (status, _, _) = send(&t, from("198.51.100.7", "/openapi.json", None)).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, headers, body) = send(&t, from("198.51.100.7", "/metrics", None)).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(code(&body), "RATE_LIMITED");
    assert!(
        headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    // The header is ignored from an untrusted peer: it cannot pose as someone else.
    let (status, _, _) = send(
        &t,
        from("198.51.100.7", "/openapi.json", Some("192.0.2.55")),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Behind the trusted proxy, each forwarded client has its own bucket.
    for _ in 0..3 {
        let (status, _, _) = send(&t, from("10.1.2.3", "/openapi.json", Some("192.0.2.1"))).await;
        assert_eq!(status, StatusCode::OK);
    }
    let (status, _, _) = send(&t, from("10.1.2.3", "/openapi.json", Some("192.0.2.1"))).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    let (status, _, _) = send(&t, from("10.1.2.3", "/openapi.json", Some("192.0.2.2"))).await;
    assert_eq!(status, StatusCode::OK);
    // A spoofed left entry does not help: the proxy's appended hop is the client.
    let (status, _, _) = send(
        &t,
        from("10.1.2.3", "/openapi.json", Some("192.0.2.2, 192.0.2.1")),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Keyed routes are not under this limit: with 127.0.0.1's bucket spent, its signed mints
    // still go through on the key's own quota.
    for n in 0..4 {
        let (status, _, _) = send(&t, from("127.0.0.1", "/openapi.json", None)).await;
        let expected = if n < 3 {
            StatusCode::OK
        } else {
            StatusCode::TOO_MANY_REQUESTS
        };
        assert_eq!(status, expected);
    }
    for nonce in 0..5 {
        let (status, body) = t.mint(&"cd".repeat(32), &format!("0{nonce}")).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
}
