//! `veil-rest-client` against a relayer on a real socket: its signatures pass the relayer's own
//! check (and a wrong secret is refused, typed), a mint whose answer is lost is retried under
//! its idempotency key and yields one ID, verify answers come from its cache, a wallet signs in
//! and its session mints, and with the relayer down the breaker opens, mints fail over to the
//! fallback minter, and a health probe closes the breaker once the relayer is back.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use axum::{
    body::Body,
    extract::{Request, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Router,
};
use ed25519_dalek::{Signer, SigningKey};
use parking_lot::Mutex;
use reqwest::Method;
use veil_relayer::platform::auth::Scope;
use veil_rest_client::{breaker::BreakerConfig, ChallengeQuery, Client, ClientError, MintRequest};

use crate::{fallback::support::TestFallback, relayer::support::TestApp};

/// Serves `router` on 127.0.0.1 (port 0: any); its base URL.
pub(super) async fn serve_on(router: Router, port: u16) -> String {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
    });
    format!("http://{addr}")
}

fn hash(byte: u8) -> String {
    hex::encode([byte; 32])
}

fn quick() -> veil_retry::Policy {
    veil_retry::Policy::new(Duration::from_millis(10), Duration::from_millis(50), 3)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_signs_as_the_relayer_checks_and_reads_verify_answers_from_its_cache() {
    let t = TestApp::new().await;
    let base = serve_on(t.router.clone(), 0).await;
    let key = TestApp::create_key(
        &t.state,
        &[
            Scope::ChittyIdMint,
            Scope::ChittyIdVerify,
            Scope::Challenges,
        ],
        1_000,
    )
    .await;
    let client = Client::builder(&base)
        .api_key(&key.api_key, &key.signing_secret)
        .build()
        .unwrap();
    let minted = client
        .mint(&MintRequest::content_hash("CHI", "I", &hash(0x51)))
        .await
        .expect("a signed mint");
    assert!(!minted.provisional && !minted.replayed && !minted.via_fallback);
    let stored: String = sqlx::query_scalar("SELECT id FROM chittyids WHERE content_hash = $1")
        .bind(hex::decode(hash(0x51)).unwrap())
        .fetch_one(&t.db.pool)
        .await
        .unwrap();
    assert_eq!(stored, minted.id);

    // Verify twice: one request reaches the relayer.
    let verify_route = || {
        t.state
            .metrics
            .http_requests_total
            .with_label_values(&["/api/v2/chittyid/verify/{id}", "200"])
            .get()
    };
    let before = verify_route();
    let first = client.verify(&minted.id).await.unwrap();
    let second = client.verify(&minted.id).await.unwrap();
    assert_eq!(first, second);
    assert_eq!(
        (&first["valid"], &first["evidence"]["id"]),
        (&serde_json::json!(true), &serde_json::json!(minted.id)),
        "{first}"
    );
    assert_eq!(
        (verify_route() - before, client.verify_cache_hits()),
        (1, 1)
    );

    // A query string is signed as sent: the listing answers (empty: no chain here).
    let page = client
        .challenges(&ChallengeQuery {
            mode: Some("fire".into()),
            limit: Some(5),
            ..ChallengeQuery::default()
        })
        .await
        .expect("a signed GET with a query");
    assert_eq!(page["challenges"], serde_json::json!([]));

    // The wrong secret: refused by the relayer's check, typed.
    let forged = Client::builder(&base)
        .api_key(&key.api_key, &"ab".repeat(32))
        .build()
        .unwrap();
    let refused = forged
        .mint(&MintRequest::content_hash("CHI", "I", &hash(0x52)))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("AUTH_INVALID_SIGNATURE"), "{refused}");
    assert!(matches!(refused, ClientError::Api { status: 401, .. }));
    // A refusal is an answer: the breaker stays closed.
    assert!(!forged.breaker_open());
}

/// Forwards everything to the relayer, but while `lose` is set it answers the next mint the
/// relayer made (`201`) with `502`: an answer lost on the way back.
#[derive(Clone)]
pub(super) struct LossyProxy {
    pub(super) upstream: String,
    pub(super) http: reqwest::Client,
    /// (mints forwarded, answers lost, lose the next one).
    pub(super) mints: Arc<Mutex<(u32, u32, bool)>>,
}

pub(super) async fn lossy(State(proxy): State<LossyProxy>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap();
    let url = format!("{}{}", proxy.upstream, parts.uri);
    let mut forwarded = proxy.http.request(parts.method.clone(), url).body(bytes);
    for (name, value) in &parts.headers {
        if name != "host" && name != "content-length" {
            forwarded = forwarded.header(name, value);
        }
    }
    let answer = forwarded.send().await.unwrap();
    let status = answer.status();
    let headers = answer.headers().clone();
    let body = answer.bytes().await.unwrap();
    if parts.uri.path() == "/api/v2/chittyid/mint" {
        let mut mints = proxy.mints.lock();
        mints.0 += 1;
        if mints.2 && status == StatusCode::CREATED {
            mints.1 += 1;
            mints.2 = false;
            return (StatusCode::BAD_GATEWAY, "upstream connection reset").into_response();
        }
    }
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    for (name, value) in &headers {
        if name != "content-length" && name != "transfer-encoding" {
            response.headers_mut().insert(name, value.clone());
        }
    }
    response
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mint_whose_answer_is_lost_is_retried_under_its_key_and_yields_one_id() {
    let t = TestApp::new().await;
    let upstream = serve_on(t.router.clone(), 0).await;
    let proxy = LossyProxy {
        upstream,
        http: reqwest::Client::new(),
        mints: Arc::new(Mutex::new((0, 0, true))),
    };
    let mints = proxy.mints.clone();
    let base = serve_on(Router::new().fallback(lossy).with_state(proxy), 0).await;
    let client = Client::builder(&base)
        .api_key(&t.key.api_key, &t.key.signing_secret)
        .retry(quick())
        .build()
        .unwrap();
    let minted = client
        .mint(&MintRequest::content_hash("CHI", "P", &hash(0x61)))
        .await
        .expect("the retry answers");
    // The first attempt is signed on this machine's clock, which the test relayer's pinned
    // clock refuses; the client signs again on the relayer's time. Then one answer is lost and
    // the retry gets the relayer's replay.
    assert_eq!(
        *mints.lock(),
        (3, 1, false),
        "refused, minted and lost, replayed"
    );
    assert!(
        minted.replayed,
        "the retry is the relayer's replay of the first mint"
    );
    let rows: Vec<String> = sqlx::query_scalar("SELECT id FROM chittyids WHERE content_hash = $1")
        .bind(hex::decode(hash(0x61)).unwrap())
        .fetch_all(&t.db.pool)
        .await
        .unwrap();
    assert_eq!(rows, vec![minted.id.clone()], "one ID, the one answered");
    // A write without an idempotency key is never retried: the lossy proxy's second lost
    // answer would surface as is.
    *mints.lock() = (0, 0, true);
    let raw = client
        .call(
            Method::POST,
            "/api/v2/chittyid/mint",
            Some(&serde_json::json!({"namespace": "CHI", "entity_type": "P", "content_hash": hash(0x62)})),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(raw, ClientError::Unexpected { status: 502, .. }),
        "{raw}"
    );
    assert_eq!(*mints.lock(), (1, 1, false), "not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wallet_signs_in_through_the_client_and_its_session_mints_until_it_signs_out() {
    let t = TestApp::new().await;
    let base = serve_on(t.router.clone(), 0).await;
    let wallet = SigningKey::from_bytes(&[44; 32]);
    let address = bs58::encode(wallet.verifying_key().to_bytes()).into_string();
    let client = Client::builder(&base).build().unwrap();
    // Without credentials: the relayer asks for them.
    let refused = client
        .mint(&MintRequest::content_hash("CHI", "P", &hash(0x71)))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Some("AUTH_MISSING_API_KEY"), "{refused}");
    let session = client
        .sign_in("solana:localnet", &address, |message| {
            bs58::encode(wallet.sign(message.as_bytes()).to_bytes()).into_string()
        })
        .await
        .expect("signed in");
    assert!(session.token.starts_with("vs_"), "{session:?}");
    assert_eq!(session.address, address);
    let minted = client
        .mint(&MintRequest::content_hash("CHI", "P", &hash(0x71)))
        .await
        .expect("a session mints");
    // The mint's idempotency key is the session wallet's.
    let requester: String =
        sqlx::query_scalar("SELECT requester FROM mint_idempotency WHERE id = $1 AND key = $2")
            .bind(&minted.id)
            .bind(&minted.idempotency_key)
            .fetch_one(&t.db.pool)
            .await
            .unwrap();
    assert_eq!(requester, format!("wallet:solana:localnet:{address}"));
    // A refresh gives new tokens; the old one no longer works, the client carries the new.
    let refreshed = client.refresh().await.unwrap();
    assert_ne!(refreshed.token, session.token);
    client
        .verify(&minted.id)
        .await
        .expect("verify as the session");
    client.sign_out().await.unwrap();
    assert!(client.session().is_none());
    let after = client
        .mint(&MintRequest::content_hash("CHI", "P", &hash(0x72)))
        .await
        .unwrap_err();
    assert_eq!(after.code(), Some("AUTH_MISSING_API_KEY"), "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_relayer_down_the_breaker_opens_mints_fail_over_and_a_probe_closes_it() {
    let t = TestApp::new().await;
    // Warm drand so that the relayer's /health answers 200 once it is served.
    let (status, _) = t.mint(&hash(0x80), "80").await;
    assert_eq!(status, 201);
    // A port with nothing behind it yet.
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let fallback = TestFallback::with_token("fallback-client-token-0123456789");
    let fallback_base = serve_on(fallback.app(), 0).await;
    let client = Client::builder(&format!("http://127.0.0.1:{port}"))
        .api_key(&t.key.api_key, &t.key.signing_secret)
        .retry(veil_retry::Policy::new(
            Duration::from_millis(5),
            Duration::from_millis(10),
            1,
        ))
        .breaker(BreakerConfig {
            failures: 2,
            open_for: Duration::from_millis(300),
        })
        .fallback(&fallback_base, Some("fallback-client-token-0123456789"))
        .build()
        .unwrap();
    let minted = client
        .mint(&MintRequest::content_hash("CHI", "I", &hash(0x81)))
        .await
        .expect("the fallback mints");
    assert!(minted.via_fallback && minted.provisional, "{minted:?}");
    assert!(minted.id.starts_with("01-F-"), "{}", minted.id);
    assert_eq!(minted.body["content_hash"], hash(0x81));
    // Two failed attempts (the first and its retry) opened the breaker: the next call does not
    // touch the network.
    assert!(client.breaker_open());
    let fast = client.verify(&minted.id).await.unwrap_err();
    assert!(matches!(fast, ClientError::BreakerOpen { .. }), "{fast}");
    // Mints still fail over while it is open.
    let second = client
        .mint(&MintRequest::content_hash("CHI", "I", &hash(0x82)))
        .await
        .unwrap();
    assert!(second.via_fallback, "{second:?}");

    // The relayer comes up on that port; after the pause, a probe of /health closes the
    // breaker and the call goes to the relayer.
    serve_on(t.router.clone(), port).await;
    tokio::time::sleep(Duration::from_millis(350)).await;
    let back = client
        .mint(&MintRequest::content_hash("CHI", "I", &hash(0x83)))
        .await
        .expect("the relayer mints again");
    assert!(!back.via_fallback && !back.provisional, "{back:?}");
    assert!(!client.breaker_open());
    // Without a fallback, an outage is the error itself.
    let lone = Client::builder("http://127.0.0.1:9")
        .api_key(&t.key.api_key, &t.key.signing_secret)
        .retry(veil_retry::Policy::new(
            Duration::from_millis(1),
            Duration::from_millis(1),
            0,
        ))
        .build()
        .unwrap();
    let down = lone
        .mint(&MintRequest::content_hash("CHI", "I", &hash(0x84)))
        .await
        .unwrap_err();
    assert!(matches!(down, ClientError::Unreachable { .. }), "{down}");
}
