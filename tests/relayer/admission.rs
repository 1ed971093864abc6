//! Admission control (issue 18): beyond `RELAYER_MAX_IN_FLIGHT` requests a request waits in a
//! bounded queue, and beyond that (or after `RELAYER_ADMISSION_WAIT_MS`) it is answered
//! `503 OVERLOADED` with `Retry-After` before any work is done for it: its nonce is not spent
//! and nothing is minted. `/health` still answers.

use std::{convert::Infallible, time::Duration};

use axum::{
    body::{Body, Bytes},
    http::{Method, Request, StatusCode},
};
use serde_json::{json, Value};

use super::support::{code, send, send_parts, TestApp};

/// A signed mint whose body arrives only when `release` is sent: it holds its admission slot
/// until then (the auth layer reads the body inside the slot).
fn held_mint(t: &TestApp) -> (Request<Body>, tokio::sync::oneshot::Sender<()>) {
    let body = mint_body();
    let request = t.signed(Method::POST, "/api/v2/chittyid/mint", &body, &t.key);
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    let stream = futures::stream::once(async move {
        let _ = released.await;
        Ok::<_, Infallible>(Bytes::from(body))
    });
    let (parts, _) = request.into_parts();
    (
        Request::from_parts(parts, Body::from_stream(stream)),
        release,
    )
}

fn mint_body() -> Vec<u8> {
    let mut hash = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut hash);
    serde_json::to_vec(&json!({
        "namespace": "CHI", "entity_type": "I",
        "content_hash": hex::encode(hash), "request_nonce": hex::encode(&hash[..16]),
    }))
    .unwrap()
}

async fn minted_rows(t: &TestApp) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM chittyids")
        .fetch_one(&t.db.pool)
        .await
        .unwrap()
}

/// Waits until `n` requests hold a slot.
async fn in_flight(t: &TestApp, n: i64) {
    for _ in 0..500 {
        if t.state.metrics.admission_in_flight.get() == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "in flight: {} (wanted {n})",
        t.state.metrics.admission_in_flight.get()
    );
}

fn shed_count(t: &TestApp, reason: &str) -> u64 {
    t.state
        .metrics
        .admission_shed_total
        .with_label_values(&[reason])
        .get()
}

fn assert_overloaded(
    status: StatusCode,
    headers: &axum::http::HeaderMap,
    body: &Value,
    reason: &str,
) {
    assert_eq!((status.as_u16(), code(body)), (503, "OVERLOADED"), "{body}");
    assert_eq!(body["error"]["details"]["reason"], json!(reason), "{body}");
    assert_eq!(
        headers.get("retry-after").and_then(|v| v.to_str().ok()),
        Some("1")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_limit_a_request_is_shed_before_any_work_and_can_be_sent_again() {
    let t = TestApp::with(|c| {
        c.max_in_flight = 1;
        c.admission_queue = 0;
    })
    .await;
    let (held, release) = held_mint(&t);
    let router = t.router.clone();
    let holder = tokio::spawn(async move { send(&router, held).await });
    in_flight(&t, 1).await;

    // The slot is taken and there is no queue: shed at once.
    let body = mint_body();
    let shed = t.signed(Method::POST, "/api/v2/chittyid/mint", &body, &t.key);
    let (parts, _) = shed.into_parts();
    let again = Request::from_parts(parts.clone(), Body::from(body.clone()));
    let (status, headers, answer) =
        send_parts(&t.router, Request::from_parts(parts, Body::from(body))).await;
    assert_overloaded(status, &headers, &answer, "queue_full");
    assert_eq!(shed_count(&t, "queue_full"), 1);
    assert_eq!(minted_rows(&t).await, 0);

    // Probes are not shed.
    let (status, health) = send(
        &t.router,
        Request::get("/health").body(Body::empty()).unwrap(),
    )
    .await;
    assert_ne!(code(&health), "OVERLOADED", "{health}");
    assert!(health["status"].is_string(), "{status}: {health}");

    // The holder finishes; the very same signed request, sent again, is served: shedding
    // spent neither its nonce nor anything else.
    release.send(()).unwrap();
    let (status, minted) = holder.await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{minted}");
    in_flight(&t, 0).await;
    let (status, minted) = send(&t.router, again).await;
    assert_eq!(status, StatusCode::CREATED, "{minted}");
    assert_eq!(minted_rows(&t).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_waits_too_long_in_the_queue_is_shed() {
    let t = TestApp::with(|c| {
        c.max_in_flight = 1;
        c.admission_queue = 1;
        c.admission_wait_ms = 300;
    })
    .await;
    let (held, release) = held_mint(&t);
    let router = t.router.clone();
    let holder = tokio::spawn(async move { send(&router, held).await });
    in_flight(&t, 1).await;

    // Waits its 300 ms in the queue, then is shed.
    let started = std::time::Instant::now();
    let body = mint_body();
    let request = t.signed(Method::POST, "/api/v2/chittyid/mint", &body, &t.key);
    let (status, headers, answer) = send_parts(&t.router, request).await;
    assert_overloaded(status, &headers, &answer, "waited_too_long");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(t.state.metrics.admission_queued.get(), 0);
    assert_eq!(shed_count(&t, "waited_too_long"), 1);
    assert_eq!(minted_rows(&t).await, 0);
    release.send(()).unwrap();
    let (status, minted) = holder.await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{minted}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_request_is_served_when_a_slot_frees() {
    let t = TestApp::with(|c| {
        c.max_in_flight = 1;
        c.admission_queue = 1;
        c.admission_wait_ms = 60_000;
    })
    .await;
    let (held, release) = held_mint(&t);
    let router = t.router.clone();
    let holder = tokio::spawn(async move { send(&router, held).await });
    in_flight(&t, 1).await;

    // A queued request is served as soon as the holder leaves.
    let body = mint_body();
    let request = t.signed(Method::POST, "/api/v2/chittyid/mint", &body, &t.key);
    let router = t.router.clone();
    let queued = tokio::spawn(async move { send(&router, request).await });
    for _ in 0..500 {
        if t.state.metrics.admission_queued.get() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(t.state.metrics.admission_queued.get(), 1);
    release.send(()).unwrap();
    let (status, minted) = holder.await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{minted}");
    let (status, minted) = queued.await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{minted}");
    assert_eq!(minted_rows(&t).await, 2);
    assert_eq!(shed_count(&t, "waited_too_long"), 0);
    assert_eq!(shed_count(&t, "queue_full"), 0);
}
