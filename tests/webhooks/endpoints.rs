//! Endpoints: create (secret shown once), list, get, patch, delete, each key seeing only its
//! own; SSRF and bad input refused with typed codes; the flag and the scope.

use axum::http::Method;
use serde_json::{json, Value};
use veil_relayer::platform::{auth::Scope, flags::Rollout};

use super::webhook_key;
use crate::relayer::support::{code, TestApp};

async fn create(
    t: &TestApp,
    key: &veil_relayer::platform::auth::CreatedKey,
    body: Value,
) -> (u16, Value) {
    let (status, body) = t.post("/api/v2/webhooks/endpoints", &body, key).await;
    (status.as_u16(), body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_inside_the_operators_network_and_bad_input_are_refused_with_their_codes() {
    // The production defaults: no loopback, no private targets.
    let t = TestApp::new().await;
    let key = webhook_key(&t).await;
    let types = json!(["chittyid.minted"]);
    for (url, status, expected, class) in [
        ("http://127.0.0.1:9/hook", 400, "WEBHOOK_URL_INVALID", None),
        ("http://example.com/hook", 400, "WEBHOOK_URL_INVALID", None),
        ("ftp://example.com/", 400, "WEBHOOK_URL_INVALID", None),
        ("not a url", 400, "WEBHOOK_URL_INVALID", None),
        (
            "https://127.0.0.1/hook",
            422,
            "WEBHOOK_URL_FORBIDDEN",
            Some("loopback"),
        ),
        (
            "https://localhost/hook",
            422,
            "WEBHOOK_URL_FORBIDDEN",
            Some("loopback"),
        ),
        (
            "https://[::1]/hook",
            422,
            "WEBHOOK_URL_FORBIDDEN",
            Some("loopback"),
        ),
        (
            "https://10.0.0.7/hook",
            422,
            "WEBHOOK_URL_FORBIDDEN",
            Some("private"),
        ),
        (
            "https://192.168.1.1/hook",
            422,
            "WEBHOOK_URL_FORBIDDEN",
            Some("private"),
        ),
        (
            "https://169.254.169.254/latest/meta-data",
            422,
            "WEBHOOK_URL_FORBIDDEN",
            Some("link-local"),
        ),
        (
            "https://[::ffff:172.16.0.1]/hook",
            422,
            "WEBHOOK_URL_FORBIDDEN",
            Some("private"),
        ),
        (
            "https://0.0.0.0/hook",
            422,
            "WEBHOOK_URL_FORBIDDEN",
            Some("unspecified"),
        ),
    ] {
        let (got, body) = create(&t, &key, json!({ "url": url, "event_types": types })).await;
        assert_eq!((got, code(&body)), (status, expected), "{url}: {body}");
        if let Some(class) = class {
            assert_eq!(body["error"]["details"]["class"], class, "{url}");
        }
    }
    for (types, detail) in [
        (
            json!(["chittyid.minted", "nope.happened"]),
            json!("nope.happened"),
        ),
        (json!([]), Value::Null),
    ] {
        let (got, body) = create(
            &t,
            &key,
            json!({ "url": "https://example.com/hook", "event_types": types }),
        )
        .await;
        assert_eq!(
            (got, code(&body)),
            (400, "WEBHOOK_EVENT_TYPE_UNKNOWN"),
            "{body}"
        );
        assert_eq!(body["error"]["details"]["event_type"], detail);
        assert!(body["error"]["details"]["known"].as_array().unwrap().len() >= 3);
    }
    let none: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_endpoints")
        .fetch_one(&t.db.pool)
        .await
        .unwrap();
    assert_eq!(none, 0, "nothing refused was stored");

    // A key without the `webhooks` scope, and the flag off.
    let (status, body) = t
        .post(
            "/api/v2/webhooks/endpoints",
            &json!({ "url": "https://example.com/", "event_types": ["chittyid.minted"] }),
            &t.key,
        )
        .await;
    assert_eq!(
        (status.as_u16(), code(&body)),
        (403, "AUTH_SCOPE_FORBIDDEN"),
        "{body}"
    );
    let off = TestApp::with(|c| c.ff_webhooks = Rollout::Off).await;
    let off_key = TestApp::create_key(&off.state, &[Scope::Webhooks], 100).await;
    let (status, body) = off.get("/api/v2/webhooks/endpoints", &off_key).await;
    assert_eq!((status.as_u16(), code(&body)), (503, "FEATURE_DISABLED"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endpoint_is_its_keys_alone_and_its_secret_is_shown_once() {
    let t = TestApp::with(|c| c.webhook_allow_loopback = true).await;
    let key = webhook_key(&t).await;
    let other = webhook_key(&t).await;
    let (status, created) = t
        .post(
            "/api/v2/webhooks/endpoints",
            &json!({ "url": "http://127.0.0.1:9/hook", "event_types": ["chittyid.minted", "chittyid.minted"],
                     "description": "orders service" }),
            &key,
        )
        .await;
    assert_eq!(status.as_u16(), 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let secret = created["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(
        created["event_types"],
        json!(["chittyid.minted"]),
        "duplicates dropped"
    );
    assert_eq!(created["enabled"], json!(true));
    // Never stored, never shown again.
    let row: String = sqlx::query_scalar("SELECT row_to_json(e)::text FROM webhook_endpoints e")
        .fetch_one(&t.db.pool)
        .await
        .unwrap();
    assert!(!row.contains(secret.trim_start_matches("whsec_")), "{row}");
    let path = format!("/api/v2/webhooks/endpoints/{id}");
    let (status, got) = t.get(&path, &key).await;
    assert_eq!(status.as_u16(), 200);
    assert!(got.get("secret").is_none());
    assert_eq!(got["description"], "orders service");
    let (_, listed) = t.get("/api/v2/webhooks/endpoints", &key).await;
    assert_eq!(listed["endpoints"].as_array().unwrap().len(), 1);

    // Another key sees nothing of it.
    let (_, theirs) = t.get("/api/v2/webhooks/endpoints", &other).await;
    assert_eq!(theirs["endpoints"], json!([]));
    for (status, body) in [
        t.get(&path, &other).await,
        t.get("/api/v2/webhooks/endpoints/not-a-uuid", &key).await,
        t.get(
            "/api/v2/webhooks/endpoints/00000000-0000-4000-8000-000000000000",
            &key,
        )
        .await,
    ] {
        assert_eq!(
            (status.as_u16(), code(&body)),
            (404, "WEBHOOK_ENDPOINT_NOT_FOUND")
        );
    }
    let bytes = serde_json::to_vec(&json!({ "enabled": false })).unwrap();
    let (status, body) = t.send(t.signed(Method::PATCH, &path, &bytes, &other)).await;
    assert_eq!(
        (status.as_u16(), code(&body)),
        (404, "WEBHOOK_ENDPOINT_NOT_FOUND")
    );

    // PATCH: each field, checked like on create.
    let bytes = serde_json::to_vec(&json!({
        "enabled": false, "description": "paused", "event_types": ["chittyid.anchored"],
    }))
    .unwrap();
    let (status, patched) = t.send(t.signed(Method::PATCH, &path, &bytes, &key)).await;
    assert_eq!(status.as_u16(), 200, "{patched}");
    assert_eq!(
        (
            &patched["enabled"],
            &patched["description"],
            &patched["event_types"]
        ),
        (
            &json!(false),
            &json!("paused"),
            &json!(["chittyid.anchored"])
        )
    );
    let bytes = serde_json::to_vec(&json!({ "url": "https://10.1.1.1/" })).unwrap();
    let (status, body) = t.send(t.signed(Method::PATCH, &path, &bytes, &key)).await;
    assert_eq!(
        (status.as_u16(), code(&body)),
        (422, "WEBHOOK_URL_FORBIDDEN")
    );

    // DELETE, then it is gone.
    let (status, _) = t.send(t.signed(Method::DELETE, &path, b"", &other)).await;
    assert_eq!(status.as_u16(), 404);
    let (status, _) = t.send(t.signed(Method::DELETE, &path, b"", &key)).await;
    assert_eq!(status.as_u16(), 204);
    let (status, body) = t.get(&path, &key).await;
    assert_eq!(
        (status.as_u16(), code(&body)),
        (404, "WEBHOOK_ENDPOINT_NOT_FOUND")
    );
}
