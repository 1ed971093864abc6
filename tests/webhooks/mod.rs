//! Webhooks end to end: the relayer delivers to a receiver that checks every delivery with
//! the official Standard Webhooks library (npm `standardwebhooks`, run by
//! `scripts/webhook-receiver.sh` as a real process), never with the relayer's own code.

mod delivery;
mod endpoints;
mod notify;
mod providers;

use std::time::{Duration, Instant};

use serde_json::json;
use veil_relayer::platform::auth::{CreatedKey, Scope};
pub use veil_stack::receiver::Receiver;

use crate::relayer::support::TestApp;

/// A key that mints and manages webhooks.
pub async fn webhook_key(t: &TestApp) -> CreatedKey {
    TestApp::create_key(
        &t.state,
        &[Scope::ChittyIdMint, Scope::ChittyIdVerify, Scope::Webhooks],
        100_000,
    )
    .await
}

/// Registers an endpoint; its id and secret.
pub async fn endpoint(
    t: &TestApp,
    key: &CreatedKey,
    url: &str,
    types: &[&str],
) -> (String, String) {
    let (status, body) = t
        .post(
            "/api/v2/webhooks/endpoints",
            &json!({ "url": url, "event_types": types }),
            key,
        )
        .await;
    assert_eq!(status.as_u16(), 201, "{body}");
    (
        body["id"].as_str().unwrap().to_owned(),
        body["secret"].as_str().unwrap().to_owned(),
    )
}

/// Mints one ID with `key`; the ID.
pub async fn mint(t: &TestApp, key: &CreatedKey) -> String {
    let body = json!({
        "namespace": "CHI", "entity_type": "I",
        "content_hash": crate::relayer::support::fresh_nonce().repeat(2),
        "request_nonce": crate::relayer::support::fresh_nonce(),
    });
    let (status, minted) = t.post("/api/v2/chittyid/mint", &body, key).await;
    assert_eq!(status.as_u16(), 201, "{minted}");
    minted["id"].as_str().unwrap().to_owned()
}

/// Runs delivery rounds until `done` holds (or 30 s pass).
pub async fn deliver_until<F, Fut>(t: &TestApp, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        t.state.webhooks.round().await.expect("a delivery round");
        if done().await {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not delivered in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
