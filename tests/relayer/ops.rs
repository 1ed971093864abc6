//! Operations: `/health`, `/metrics`, the OpenAPI document and docs page, typed 404/405, the
//! admin allowlist on real routes, request ids, and the documented error-code table.

use std::{collections::HashSet, net::SocketAddr};

use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{Method, Request, StatusCode},
};
use serde_json::json;
use tower::ServiceExt;
use veil_relayer::{chittyid::drand_relay::RelayMode, platform::error::ErrorCode};

use super::support::{code, signed_request, TestApp};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_reports_dependencies_and_breakers() {
    let t = TestApp::with(|c| c.breaker_failures = 1).await;
    let (_, _) = t.mint(&"11".repeat(32), "01").await; // warms drand
    let (status, body) = t
        .send(Request::get("/health").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"]["status"], "up");
    assert_eq!(body["redis"]["status"], "up");
    assert_eq!(body["drand"]["available"], true, "{body}");
    // drand down and no fallback: the relayer cannot mint, so health is 503 with the breaker open.
    t.relay.set_mode(RelayMode::Down).await;
    t.clock.advance(10); // past the cached round
    let (status, _) = t.mint(&"11".repeat(32), "02").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    let (status, body) = t
        .send(Request::get("/health").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["status"], "down");
    assert_eq!(body["drand"]["available"], false);
    assert!(body["drand"].to_string().contains("OPEN"), "{body}");
    let metrics = t.state.metrics.render();
    assert!(metrics.contains("drand_beacon_available 0"), "{metrics}");
    assert!(
        metrics.contains("circuit_breaker_state{dependency=\"drand:"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_export_the_spec_names() {
    let t = TestApp::new().await;
    t.mint(&"22".repeat(32), "01").await;
    let response = t
        .router
        .clone()
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = String::from_utf8(
        http_body_util::BodyExt::collect(response.into_body())
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    for name in [
        "chittyid_generation_total{issuer=\"A\"} 1",
        "chittyid_generation_latency_seconds_count 1",
        "chittyid_validation_cache_hit_ratio",
        "chittyid_fallback_usage_ratio 0",
        "drand_beacon_available 1",
        "circuit_breaker_state",
        "http_requests_total{route=\"/api/v2/chittyid/mint\",status=\"201\"} 1",
    ] {
        assert!(text.contains(name), "missing {name} in\n{text}");
    }
}

/// The schema of `method path`'s JSON request body, its `$ref` resolved.
fn request_schema<'d>(
    doc: &'d serde_json::Value,
    path: &str,
    method: &str,
) -> &'d serde_json::Value {
    let schema =
        &doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"];
    let name = schema["$ref"]
        .as_str()
        .and_then(|r| r.strip_prefix("#/components/schemas/"))
        .unwrap_or_else(|| panic!("{method} {path}: {schema}"));
    &doc["components"]["schemas"][name]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_body_is_documented_by_its_own_schema() {
    // Issue 18: two types named `CreateBody` (challenges, webhooks) and two named `FundsBody`
    // (gatekeeper, attest) shared one schema name, so the document described one route's body
    // with the other's fields.
    let t = TestApp::new().await;
    let (_, doc) = t
        .send(Request::get("/openapi.json").body(Body::empty()).unwrap())
        .await;
    let required = |path: &str, method: &str| -> Vec<String> {
        let mut fields: Vec<String> = request_schema(&doc, path, method)["required"]
            .as_array()
            .unwrap_or(&Vec::new())
            .iter()
            .map(|f| f.as_str().unwrap().to_owned())
            .collect();
        fields.sort();
        fields
    };
    assert!(required("/api/v2/challenges", "post").contains(&"mode".to_owned()));
    assert!(required("/api/v2/webhooks/endpoints", "post").contains(&"url".to_owned()));
    assert!(required("/gatekeeper/v2/funds/check", "post").contains(&"verification_id".to_owned()));
    let attest = request_schema(&doc, "/api/v2/challenges/{address}/attest", "post");
    let funds = attest["properties"]["funds"].to_string();
    let funds_name = funds
        .split("#/components/schemas/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_else(|| panic!("{attest}"));
    assert_ne!(funds_name, "FundsCheckBody", "{attest}");
    assert!(doc["components"]["schemas"][funds_name]["properties"]
        .get("threshold")
        .is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_document_and_docs_page() {
    let t = TestApp::new().await;
    let (status, doc) = t
        .send(Request::get("/openapi.json").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    for path in [
        "/api/v2/chittyid/mint",
        "/api/v2/chittyid/verify/{id}",
        "/api/v2/chittyid/reconcile",
        "/admin/batches/cut",
        "/admin/flags",
        "/admin/keys",
        "/admin/keys/{key_id}",
        "/health",
        "/metrics",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the document"
        );
    }
    assert!(doc["components"]["schemas"].get("Evidence").is_some());
    assert!(doc["components"]["securitySchemes"]
        .get("api_key")
        .is_some());
    // The page and every asset it loads come from the relayer itself (the vendored Swagger
    // UI): nothing is fetched from a CDN, so it renders on an offline machine.
    let page = body_text(&t, "/docs/").await;
    for asset in [
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-initializer.js",
    ] {
        assert!(
            page.contains(asset),
            "/docs/ does not load {asset}:\n{page}"
        );
        let (status, bytes) = body_bytes(&t, &format!("/docs/{asset}")).await;
        assert_eq!(status, StatusCode::OK, "/docs/{asset}");
        assert!(bytes.len() > 100, "/docs/{asset} is {} bytes", bytes.len());
    }
    assert!(
        !page.contains("src=\"http") && !page.contains("href=\"http"),
        "/docs/ loads something from elsewhere:\n{page}"
    );
    let init = body_text(&t, "/docs/swagger-initializer.js").await;
    assert!(init.contains("/openapi.json"), "{init}");
}

/// Every path and method the document lists is routed: none answers `ROUTE_NOT_FOUND` or
/// `METHOD_NOT_ALLOWED`. (The reverse holds by construction: routes are registered with
/// `utoipa_axum::routes!`, which adds each to the document.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_is_routed() {
    let t = TestApp::new().await;
    let (_, doc) = t
        .send(Request::get("/openapi.json").body(Body::empty()).unwrap())
        .await;
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 25, "only {} paths documented", paths.len());
    for (path, operations) in paths {
        let concrete = path
            .replace("{id}", "01-A-CHI-00000000-I-2611-0-0")
            .replace("{address}", "11111111111111111111111111111111")
            .replace("{key_id}", "0123456789abcdef")
            .replace("{mint}", "11111111111111111111111111111111");
        assert!(!concrete.contains('{'), "unfilled parameter in {path}");
        for method in operations.as_object().unwrap().keys() {
            let method: Method = method.to_uppercase().parse().unwrap();
            let request = Request::builder()
                .method(method.clone())
                .uri(&concrete)
                .body(Body::empty())
                .unwrap();
            let (status, body) = t.send(request).await;
            assert!(
                !matches!(code(&body), "ROUTE_NOT_FOUND" | "METHOD_NOT_ALLOWED"),
                "{method} {path} is documented but not routed: {status} {body}"
            );
        }
    }
}

async fn body_bytes(t: &TestApp, path: &str) -> (StatusCode, Vec<u8>) {
    let response = t
        .router
        .clone()
        .oneshot(Request::get(path).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .unwrap()
        .to_bytes();
    (status, bytes.to_vec())
}

async fn body_text(t: &TestApp, path: &str) -> String {
    let (status, bytes) = body_bytes(t, path).await;
    assert_eq!(status, StatusCode::OK, "{path}");
    String::from_utf8(bytes).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_and_methods_get_typed_errors_and_a_request_id() {
    let t = TestApp::new().await;
    let response = t
        .router
        .clone()
        .oneshot(Request::get("/nope").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(response.headers().get("x-request-id").is_some());
    let (status, body) = t
        .send(Request::get("/nope").body(Body::empty()).unwrap())
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "ROUTE_NOT_FOUND")
    );
    let (status, body) = t
        .send(Request::delete("/health").body(Body::empty()).unwrap())
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::METHOD_NOT_ALLOWED, "METHOD_NOT_ALLOWED")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_routes_refuse_addresses_off_the_allowlist() {
    let t = TestApp::new().await;
    let mut request = signed_request(
        Method::POST,
        "/admin/batches/cut",
        b"{}",
        &t.admin,
        t.clock.as_ref(),
        &super::support::fresh_nonce(),
    );
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from(([203, 0, 113, 9], 5000))));
    let (status, body) = t.send(request).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "AUTH_IP_FORBIDDEN")
    );
    let (status, _) = t.post("/admin/batches/cut", &json!({}), &t.admin).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "127.0.0.1 is allowlisted by default"
    );
}

#[test]
fn error_codes_are_unique_and_documented() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/api.md"))
        .expect("docs/api.md");
    let mut seen = HashSet::new();
    for code in ErrorCode::ALL {
        assert!(
            seen.insert(code.as_str()),
            "duplicate code {}",
            code.as_str()
        );
        let row = format!("| `{}` | {} |", code.as_str(), code.status().as_u16());
        assert!(doc.contains(&row), "docs/api.md lacks the row {row}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_outage_is_503_not_500() {
    let t = TestApp::new().await;
    // Warm the key cache, then lose the database.
    let (status, _) = t.mint(&"33".repeat(32), "01").await;
    assert_eq!(status, StatusCode::CREATED);
    t.state.pool.close().await;
    let (status, body) = t.mint(&"33".repeat(32), "02").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, "DATABASE_UNAVAILABLE"),
        "{body}"
    );
    let (status, body) = t
        .get(
            "/api/v2/chittyid/verify/01-A-CHI-7K3M9QXP-I-2611-Z-0",
            &t.key,
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, "DATABASE_UNAVAILABLE"),
        "{body}"
    );
    let (status, body) = t
        .send(Request::get("/health").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["database"]["status"], "down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_refuses_a_bad_relay_url_and_a_bad_fallback_key() {
    use super::support::{secrets, startup_error};
    let db = super::support::TestDb::new().await;
    let mut config = veil_relayer::platform::config::Config::defaults();
    config.db.database_url = db.url.clone();
    config.drand_urls = vec!["ftp://relay".into()];
    let err = startup_error(config.clone(), &secrets()).await;
    assert!(
        matches!(err, veil_relayer::state::StartupError::Drand(_)),
        "{err}"
    );
    config.drand_urls = vec!["http://127.0.0.1:1".into()];
    config.fallback_public_key = Some("not hex".into());
    let err = startup_error(config.clone(), &secrets()).await;
    assert!(
        matches!(err, veil_relayer::state::StartupError::FallbackKey),
        "{err}"
    );
    config.fallback_public_key = None;
    let err = startup_error(
        config,
        &veil_relayer::platform::secrets::StaticSecrets::default(),
    )
    .await;
    assert!(
        matches!(err, veil_relayer::state::StartupError::Secret(_)),
        "{err}"
    );
    assert!(err.to_string().contains("vrf_key"), "{err}");
}

/// A well-formed ChittyID to look up.
const ID: &str = "01-A-CHI-7K3M9QXP-I-2611-Z-0";

/// A request from `ip` (the server records peers as `ConnectInfo`).
fn from(ip: [u8; 4], request: axum::http::request::Builder) -> Request<Body> {
    request
        .extension(ConnectInfo(SocketAddr::from((ip, 5000))))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_authentications_from_one_ip_are_refused_before_any_lookup() {
    // Audit finding 11: every request with a well-formed random key id cost a database lookup.
    // One refill a second, so a slow, loaded machine sees at most a refill per elapsed second.
    let t = TestApp::with(|c| c.failed_auth_per_ip_per_sec = 1).await;
    let flood = [198, 51, 100, 7];
    let mut statuses = Vec::new();
    let started = std::time::Instant::now();
    for i in 0..130u32 {
        let bogus = format!(
            "cvk_{:016x}_{}",
            0xbeef_0000_u64 + u64::from(i),
            "A".repeat(43)
        );
        let request =
            Request::get(format!("/api/v2/chittyid/verify/{ID}")).header("x-api-key", bogus);
        let (status, body) = t.send(from(flood, request)).await;
        statuses.push((
            status,
            body["error"]["code"].as_str().unwrap_or("").to_owned(),
        ));
    }
    let refills = started.elapsed().as_secs() as usize + 1;
    // The burst (100) is answered as what it is; after it, the IP is refused up front, but for
    // the few failures the limiter refilled while the flood ran.
    assert!(statuses[..100]
        .iter()
        .all(|(s, c)| *s == StatusCode::UNAUTHORIZED && c == "AUTH_INVALID_API_KEY"));
    let refused = statuses[100..]
        .iter()
        .filter(|(s, c)| *s == StatusCode::TOO_MANY_REQUESTS && c == "RATE_LIMITED")
        .count();
    let answered = statuses[100..]
        .iter()
        .filter(|(s, c)| *s == StatusCode::UNAUTHORIZED && c == "AUTH_INVALID_API_KEY")
        .count();
    assert_eq!(refused + answered, 30, "{:?}", &statuses[100..]);
    assert!(
        answered <= refills,
        "{answered} answered after the burst in {refills} s: {:?}",
        &statuses[100..]
    );
    // Another IP is not affected, nor a real key from it.
    let (status, _) = t
        .send(from(
            [198, 51, 100, 8],
            Request::get(format!("/api/v2/chittyid/verify/{ID}")).header("x-api-key", "cvk_0"),
        ))
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let (status, _) = t
        .send(from(
            [198, 51, 100, 8],
            Request::get(format!("/api/v2/chittyid/verify/{ID}"))
                .header("x-api-key", &t.key.api_key),
        ))
        .await;
    assert_ne!(status, StatusCode::TOO_MANY_REQUESTS);
    assert_ne!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_answers_are_cached_and_limited_per_ip() {
    let t = TestApp::with(|c| c.health_cache_ms = 60_000).await;
    let ip = [192, 0, 2, 44];
    let (status, first) = t.send(from(ip, Request::get("/health"))).await;
    assert_eq!(
        (status, first["status"].as_str()),
        (StatusCode::OK, Some("ok"))
    );
    // drand goes down; within the cache interval the answer is the one computed before
    // (no dependency was probed again).
    t.relay.set_mode(RelayMode::Down).await;
    let (_, second) = t.send(from(ip, Request::get("/health"))).await;
    assert_eq!(second, first);
    // One IP polling far past its quota is refused.
    let mut limited = 0;
    for _ in 0..80 {
        let (status, _) = t.send(from(ip, Request::get("/health"))).await;
        if status == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
        }
    }
    assert!(limited > 0, "80 health checks at once were never limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_slower_than_the_server_timeout_gets_a_typed_503() {
    // A drand relay that accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", silent.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            open.push(socket);
        }
    });
    let t = TestApp::with(|c| {
        c.drand_urls = vec![url];
        c.drand_timeout_ms = 10_000;
        c.request_timeout_ms = 300;
    })
    .await;
    let started = std::time::Instant::now();
    let (status, body) = t
        .mint(&"cd".repeat(32), &super::support::fresh_nonce())
        .await;
    let took = started.elapsed();
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(code(&body), "REQUEST_TIMEOUT");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("300 ms"));
    assert!(
        took < std::time::Duration::from_secs(5),
        "answered after {took:?}"
    );
    // Fast routes are unaffected, and the timeout is counted like any answer.
    let (status, _) = t
        .send(Request::get("/metrics").body(Body::empty()).unwrap())
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(t
        .state
        .metrics
        .render()
        .contains("http_requests_total{route=\"/api/v2/chittyid/mint\",status=\"503\"} 1"));
    held.abort();
}
