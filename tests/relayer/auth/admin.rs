//! The admin IP allowlist (together with the admin scope).

use std::net::SocketAddr;

use axum::{body::Body, extract::ConnectInfo, http::header};
use veil_relayer::platform::auth::Scope;

use super::{get_req, harness, roomy, signed, Harness, TestKey};

fn from(peer: &str, key: &TestKey) -> axum::extract::Request {
    let mut req = get_req("/admin/ping", key.api_key());
    req.extensions_mut()
        .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
    req
}

async fn admin(h: &Harness) -> TestKey {
    h.key(&[Scope::Admin], roomy()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_non_allowlisted_ip_is_forbidden() {
    let h = harness().await;
    let key = admin(&h).await;
    for peer in [
        "203.0.113.7:5000",
        "11.0.0.1:5000",
        "[2001:db8::1]:5000",
        "[::ffff:203.0.113.7]:1",
    ] {
        h.send(from(peer, &key))
            .await
            .assert_error(403, "AUTH_IP_FORBIDDEN");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_allowlisted_ip_passes() {
    let h = harness().await;
    let key = admin(&h).await;
    for peer in [
        "127.0.0.1:5000",
        "10.20.30.40:1",
        "[::1]:5000",
        "[::ffff:10.0.0.1]:5000",
    ] {
        let reply = h.send(from(peer, &key)).await;
        reply.assert_ok();
        assert_eq!(reply.json()["key_id"], key.created.key_id.as_str());
    }
    // Signed admin writes pass too.
    let reply = h.send(signed("POST", "/admin/ping", b"op", &key)).await;
    reply.assert_ok();
    assert_eq!(&reply.body[..], b"op");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_unknown_peer_is_forbidden() {
    let h = harness().await;
    let key = admin(&h).await;
    let req = axum::http::Request::builder()
        .uri("/admin/ping")
        .header(header::AUTHORIZATION, format!("Bearer {}", key.api_key()))
        .body(Body::empty())
        .unwrap();
    h.send(req).await.assert_error(403, "AUTH_IP_FORBIDDEN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_ip_is_checked_before_the_key() {
    let h = harness().await;
    let req = axum::http::Request::builder()
        .uri("/admin/ping")
        .extension(ConnectInfo("198.51.100.1:1".parse::<SocketAddr>().unwrap()))
        .body(Body::empty())
        .unwrap();
    h.send(req).await.assert_error(403, "AUTH_IP_FORBIDDEN");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_allowlisted_ip_still_needs_the_admin_scope() {
    let h = harness().await;
    let minter = h.minter().await;
    let e = h
        .send(from("127.0.0.1:1", &minter))
        .await
        .assert_error(403, "AUTH_SCOPE_FORBIDDEN");
    assert_eq!(e["details"]["required_scope"], "admin");
    let req = axum::http::Request::builder()
        .uri("/admin/ping")
        .extension(ConnectInfo("127.0.0.1:1".parse::<SocketAddr>().unwrap()))
        .body(Body::empty())
        .unwrap();
    h.send(req).await.assert_error(401, "AUTH_MISSING_API_KEY");
}
