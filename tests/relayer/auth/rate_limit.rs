//! Per-key GCRA rate limits through the middleware.

use veil_relayer::platform::auth::{Quota, Scope};

use super::{get_req, harness, signed};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_burst_then_429_with_retry_after() {
    let h = harness().await;
    let quota = Quota::try_new(1, 3).unwrap();
    let key = h.key(&[Scope::ChittyIdMint], quota).await;
    for i in 0..3 {
        let reply = h.send(get_req("/v2/echo", key.api_key())).await;
        assert_eq!(reply.status, 200, "request {i} of the burst");
    }
    let reply = h.send(get_req("/v2/echo", key.api_key())).await;
    let e = reply.assert_error(429, "RATE_LIMITED");
    assert_eq!(reply.headers["retry-after"], "1");
    assert_eq!(e["details"]["retry_after_secs"], 1);
    // Signed requests count against the same quota.
    h.send(signed("POST", "/v2/echo", b"", &key))
        .await
        .assert_error(429, "RATE_LIMITED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_is_per_key() {
    let h = harness().await;
    let quota = Quota::try_new(1, 1).unwrap();
    let a = h.key(&[Scope::ChittyIdMint], quota).await;
    let b = h.key(&[Scope::ChittyIdMint], quota).await;
    h.send(get_req("/v2/echo", a.api_key())).await.assert_ok();
    h.send(get_req("/v2/echo", a.api_key()))
        .await
        .assert_error(429, "RATE_LIMITED");
    h.send(get_req("/v2/echo", b.api_key())).await.assert_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_refusals_before_the_key_do_not_count() {
    // Unauthenticated and wrong-scope requests are refused before the limiter.
    let h = harness().await;
    let quota = Quota::try_new(1, 1).unwrap();
    let verifier = h.key(&[Scope::ChittyIdVerify], quota).await;
    for _ in 0..3 {
        h.send(get_req("/v2/echo", verifier.api_key()))
            .await
            .assert_error(403, "AUTH_SCOPE_FORBIDDEN");
    }
    h.send(get_req("/v2/verify", verifier.api_key()))
        .await
        .assert_ok();
}
