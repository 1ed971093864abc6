//! `/admin/keys`: list, create and revoke over HTTP, and a revocation reaching a second
//! instance within the key cache's TTL.

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use serde_json::json;
use veil_relayer::platform::auth::{CreatedKey, Scope};

use super::support::{code, send, TestApp};

async fn revoke(t: &TestApp, key_id: &str) -> (StatusCode, serde_json::Value) {
    t.send(t.signed(
        Method::DELETE,
        &format!("/admin/keys/{key_id}"),
        b"",
        &t.admin,
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_lists_creates_and_revokes_keys_without_ever_showing_a_secret() {
    let t = TestApp::new().await;
    let (status, body) = t
        .post(
            "/admin/keys",
            &json!({ "label": "dApp backend", "scopes": ["chittyid:mint"], "rate_per_sec": 5, "burst": 10 }),
            &t.admin,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let created = CreatedKey {
        key_id: body["key_id"].as_str().unwrap().into(),
        api_key: body["api_key"].as_str().unwrap().into(),
        signing_secret: body["signing_secret"].as_str().unwrap().into(),
    };
    assert!(created
        .api_key
        .starts_with(&format!("cvk_{}_", created.key_id)));
    // The new key works.
    let (status, body) = t
        .post(
            "/api/v2/chittyid/mint",
            &json!({ "namespace": "CHI", "entity_type": "I", "content_hash": "ab".repeat(32), "request_nonce": "01" }),
            &created,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    let (status, list) = t.get("/admin/keys", &t.admin).await;
    assert_eq!(status, StatusCode::OK);
    let text = list.to_string();
    assert!(!text.contains(&created.api_key) && !text.contains(&created.signing_secret));
    let listed = list["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["key_id"] == created.key_id.as_str())
        .expect("the new key is listed")
        .clone();
    assert_eq!(listed["label"], "dApp backend");
    assert_eq!(listed["scopes"], json!(["chittyid:mint"]));
    assert_eq!(
        (listed["rate_per_sec"].as_i64(), listed["burst"].as_i64()),
        (Some(5), Some(10))
    );
    assert!(listed["revoked_at"].is_null());

    let (status, body) = revoke(&t, &created.key_id).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body["revoked_at"].is_string(), "{body}");
    // Refused at once on this instance.
    let (status, body) = t
        .get(
            "/api/v2/chittyid/verify/01-A-CHI-00000000-I-2611-0-0",
            &created,
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "AUTH_INVALID_API_KEY")
    );
    // Revoking again answers the same summary; live listings drop it, `include_revoked` keeps it.
    let (status, again) = revoke(&t, &created.key_id).await;
    assert_eq!(
        (status, &again["revoked_at"]),
        (StatusCode::OK, &body_revoked_at(&t, &created).await)
    );
    let (_, live) = t.get("/admin/keys", &t.admin).await;
    assert!(!live.to_string().contains(&created.key_id));
    let (_, all) = t.get("/admin/keys?include_revoked=true", &t.admin).await;
    assert!(all.to_string().contains(&created.key_id));

    for unknown in ["0123456789abcdef", "not-a-key-id"] {
        let (status, body) = revoke(&t, unknown).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::NOT_FOUND, "KEY_NOT_FOUND"),
            "{unknown}"
        );
        assert_eq!(body["error"]["details"]["key_id"], unknown);
    }
    for (bad, field) in [
        (json!({ "label": "x", "scopes": ["root"] }), "unknown scope"),
        (json!({ "label": "x", "scopes": [] }), "scopes"),
        (json!({ "label": "", "scopes": ["admin"] }), "label"),
        (
            json!({ "label": "x", "scopes": ["admin"], "rate_per_sec": 0 }),
            "rate_per_sec",
        ),
    ] {
        let (status, body) = t.post("/admin/keys", &bad, &t.admin).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "INVALID_BODY"),
            "{bad}"
        );
        assert!(body.to_string().contains(field), "{bad}: {body}");
    }
    // Keys are an admin matter.
    let (status, body) = t.get("/admin/keys", &t.key).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::FORBIDDEN, "AUTH_SCOPE_FORBIDDEN")
    );
}

async fn body_revoked_at(t: &TestApp, key: &CreatedKey) -> serde_json::Value {
    let summary = t.state.auth.keys().get(&key.key_id).await.unwrap().unwrap();
    json!(summary.revoked_at)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_reaches_a_second_instance_within_its_key_cache_ttl() {
    const TTL_MS: u64 = 500;
    let t = TestApp::with(|c| c.key_cache_ttl_ms = TTL_MS).await;
    let (_second, second_router) = t.sibling(|_| {}).await;
    let key = TestApp::create_key(&t.state, &[Scope::ChittyIdVerify], 1_000).await;
    let path = "/api/v2/chittyid/verify/01-A-CHI-00000000-I-2611-0-0";
    let get = |key: &CreatedKey| {
        axum::http::Request::get(path)
            .header("x-api-key", &key.api_key)
            .extension(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                [127, 0, 0, 1],
                40000,
            ))))
            .body(axum::body::Body::empty())
            .unwrap()
    };
    // The second instance has the key cached as valid.
    let (_, body) = send(&second_router, get(&key)).await;
    assert_ne!(code(&body), "AUTH_INVALID_API_KEY", "{body}");
    let (status, _) = revoke(&t, &key.key_id).await;
    assert_eq!(status, StatusCode::OK);
    let revoked_at = Instant::now();
    loop {
        let (_, body) = send(&second_router, get(&key)).await;
        if code(&body) == "AUTH_INVALID_API_KEY" {
            break;
        }
        // The bound is the TTL; allow scheduling slack on a loaded machine, not a second TTL.
        assert!(
            revoked_at.elapsed() < Duration::from_millis(TTL_MS + 1_500),
            "still accepted {:?} after the revocation",
            revoked_at.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_lists_and_revokes_keys_against_the_same_store() {
    use veil_relayer::cli::{keys_table, revoke_key, Revocation};
    let t = TestApp::new().await;
    let store = t.state.auth.keys();
    let key = TestApp::create_key(&t.state, &[Scope::Registry, Scope::Challenges], 7).await;

    let table = keys_table(&store.list(false).await.unwrap());
    let line = table
        .lines()
        .find(|l| l.starts_with(&key.key_id))
        .unwrap_or_else(|| panic!("{} missing from\n{table}", key.key_id));
    assert!(
        line.contains("challenges,registry") && line.contains(" 7 "),
        "{line}"
    );
    assert!(
        line.contains("  -  "),
        "a live key shows no revocation: {line}"
    );
    assert!(table.ends_with("(3 keys)\n"), "{table}");
    assert!(!table.contains(&key.api_key) && !table.contains(&key.signing_secret));

    assert_eq!(
        revoke_key(store, &key.key_id).await.unwrap(),
        Revocation::Revoked(key.key_id.clone())
    );
    assert_eq!(
        revoke_key(store, &key.key_id).await.unwrap(),
        Revocation::AlreadyRevoked(key.key_id.clone())
    );
    assert_eq!(
        revoke_key(store, "0123456789abcdef").await.unwrap(),
        Revocation::Unknown("0123456789abcdef".into())
    );
    // The revocation is the same one the API sees: the key is refused.
    let (status, body) = t
        .get("/api/v2/challenges/11111111111111111111111111111111", &key)
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::UNAUTHORIZED, "AUTH_INVALID_API_KEY")
    );
    let live = keys_table(&store.list(false).await.unwrap());
    assert!(
        !live.contains(&key.key_id) && live.ends_with("(2 keys)\n"),
        "{live}"
    );
    let all = keys_table(&store.list(true).await.unwrap());
    let line = all.lines().find(|l| l.starts_with(&key.key_id)).unwrap();
    assert!(!line.contains("  -  "), "a revoked key shows when: {line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_query_is_a_typed_400_not_plain_text() {
    // Found by the conformance suite (issue 18): `GET /admin/keys` and the webhook
    // deliveries listing answered axum's plain-text rejection for a bad query.
    let t = TestApp::new().await;
    let webhooks = TestApp::create_key(&t.state, &[Scope::Webhooks], 1_000).await;
    for (path, key) in [
        ("/admin/keys?include_revoked=null", &t.admin),
        (
            "/api/v2/webhooks/endpoints/00000000-0000-0000-0000-000000000000/deliveries?limit=9223372036854775808",
            &webhooks,
        ),
    ] {
        let (status, body) = t.get(path, key).await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::BAD_REQUEST, "INVALID_QUERY"),
            "{path}: {body}"
        );
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
}
