//! Auth over real PostgreSQL and Redis (SPEC §6 "Auth"): a tiny router with dummy handlers
//! behind `auth::require` / `auth::admin_only`, driven with `tower::ServiceExt::oneshot`.
//!
//! Every failure path asserts the exact status and `error.code`.

mod admin;
mod api_keys;
mod nonce_store;
mod rate_limit;
mod signature;

use std::{
    net::SocketAddr,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};

use axum::{
    body::{Body, Bytes},
    extract::{ConnectInfo, Request},
    http::{header, request::Builder, HeaderMap, StatusCode},
    response::IntoResponse,
    routing::{get, post},
    Json, Router,
};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use veil_relayer::{
    platform::auth::{
        self, sign_request, signature::generate_nonce, ApiKeyStore, AuthService, AuthSettings,
        CreatedKey, IpAllowlist, KeyCacheConfig, NonceStore, Principal, Quota, Scope,
        SigningSecret,
    },
    platform::clock::Clock,
    platform::secrets::{SecretName, StaticSecrets},
};

use super::support::{redis_prefix, redis_url, TestDb};

/// The API-key pepper of every test store (32 bytes, hex).
pub const PEPPER_HEX: &str = "a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0";
/// The HMAC master secret of every test store (32 bytes, hex).
pub const MASTER_HEX: &str = "0f0e0d0c0b0a09080706050403020100f0e0d0c0b0a090807060504030201000";
/// The fixed server time of every test.
pub const NOW: u64 = 1_750_000_000;

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct FixedClock(AtomicU64);

impl Clock for FixedClock {
    fn now_unix(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A migrated database, an auth service over it, and the test router.
pub struct Harness {
    /// The database (dropped with the harness).
    pub db: TestDb,
    /// The service behind the router.
    pub auth: Arc<AuthService>,
    /// The router.
    pub router: Router,
    /// The Redis prefix of this test.
    pub redis_prefix: String,
}

/// A created key with its parsed signing secret.
pub struct TestKey {
    /// As created.
    pub created: CreatedKey,
    /// `created.signing_secret`, parsed as a client would.
    pub secret: SigningSecret,
}

impl TestKey {
    /// The plaintext key.
    pub fn api_key(&self) -> &str {
        &self.created.api_key
    }
}

/// Test secrets.
pub fn secrets() -> StaticSecrets {
    StaticSecrets::default()
        .with(SecretName::ApiKeyPepper, PEPPER_HEX)
        .with(SecretName::HmacMaster, MASTER_HEX)
}

/// A harness on the test Redis with the default settings (±60 s, 1 MiB).
pub async fn harness() -> Harness {
    harness_with(&redis_url(), AuthSettings::default()).await
}

/// A harness on a given Redis URL and settings.
pub async fn harness_with(redis: &str, settings: AuthSettings) -> Harness {
    let db = TestDb::new().await;
    let keys = ApiKeyStore::new(db.pool.clone(), &secrets(), KeyCacheConfig::default())
        .expect("test secrets");
    let redis_prefix = redis_prefix();
    let auth = service(keys, redis, &redis_prefix, settings);
    let router = app(auth.clone());
    Harness {
        db,
        auth,
        router,
        redis_prefix,
    }
}

/// An auth service over `keys` with the test allowlist and clock.
pub fn service(
    keys: ApiKeyStore,
    redis: &str,
    prefix: &str,
    settings: AuthSettings,
) -> Arc<AuthService> {
    let nonces = NonceStore::new(redis, prefix).expect("redis url");
    let allowlist = IpAllowlist::parse(&[
        "127.0.0.1/32".to_owned(),
        "10.0.0.0/8".to_owned(),
        "::1/128".to_owned(),
    ])
    .expect("allowlist");
    AuthService::new(
        keys,
        nonces,
        allowlist,
        Arc::new(FixedClock(AtomicU64::new(NOW))),
        settings,
    )
}

/// `/v2/echo` (chittyid:mint; every method), `/v2/verify` (chittyid:verify), `/admin/ping`
/// (admin + allowlist) and `/nested/echo` (chittyid:mint, under `Router::nest`).
pub fn app(auth: Arc<AuthService>) -> Router {
    let mint = Router::new()
        .route(
            "/v2/echo",
            post(echo).put(echo).patch(echo).delete(echo).get(whoami),
        )
        .route_layer(auth::require(auth.clone(), Scope::ChittyIdMint));
    let verify = Router::new()
        .route("/v2/verify", get(whoami).post(echo))
        .route_layer(auth::require(auth.clone(), Scope::ChittyIdVerify));
    let admin = Router::new()
        .route("/admin/ping", get(whoami).post(echo))
        .route_layer(auth::require(auth.clone(), Scope::Admin))
        .route_layer(auth::admin_only(auth.clone()));
    let nested = Router::new()
        .route("/echo", post(echo))
        .route_layer(auth::require(auth, Scope::ChittyIdMint));
    Router::new()
        .merge(mint)
        .merge(verify)
        .merge(admin)
        .nest("/nested", nested)
}

/// Answers the exact body bytes it received, and the caller's key id in `x-key-id`.
async fn echo(principal: Principal, body: Bytes) -> impl IntoResponse {
    ([("x-key-id", principal.key_id)], body)
}

/// Answers the principal.
async fn whoami(principal: Principal) -> Json<Principal> {
    Json(principal)
}

/// A generous quota.
pub fn roomy() -> Quota {
    Quota::try_new(10_000, 10_000).expect("quota")
}

impl Harness {
    /// Creates a key.
    pub async fn key(&self, scopes: &[Scope], quota: Quota) -> TestKey {
        let created = self
            .auth
            .keys()
            .create("test key", scopes, quota)
            .await
            .expect("create key");
        let secret = SigningSecret::from_hex(&created.signing_secret).expect("hex secret");
        TestKey { created, secret }
    }

    /// A mint-scoped key with a generous quota.
    pub async fn minter(&self) -> TestKey {
        self.key(&[Scope::ChittyIdMint], roomy()).await
    }

    /// Sends a request through the router.
    pub async fn send(&self, req: Request) -> Reply {
        let response = self
            .router
            .clone()
            .oneshot(req)
            .await
            .expect("infallible")
            .into_response();
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        Reply {
            status,
            headers,
            body,
        }
    }
}

/// A request from 127.0.0.1 carrying `api_key` as a bearer token.
pub fn builder(method: &str, uri: &str, api_key: &str) -> Builder {
    Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {api_key}"))
        .extension(ConnectInfo(local_peer()))
}

/// `127.0.0.1:40000`.
pub fn local_peer() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 40_000))
}

/// An unsigned GET.
pub fn get_req(uri: &str, api_key: &str) -> Request {
    builder("GET", uri, api_key)
        .body(Body::empty())
        .expect("request")
}

/// A correctly signed request at `timestamp` with `nonce`.
pub fn signed_at(
    method: &str,
    uri: &str,
    body: &[u8],
    key: &TestKey,
    timestamp: u64,
    nonce: &str,
) -> Request {
    let headers = sign_request(method, uri, body, &key.secret, timestamp, nonce);
    let mut b = builder(method, uri, key.api_key());
    for (name, value) in headers.pairs() {
        b = b.header(name, value);
    }
    b.body(Body::from(body.to_vec())).expect("request")
}

/// A correctly signed request, now, with a fresh nonce.
pub fn signed(method: &str, uri: &str, body: &[u8], key: &TestKey) -> Request {
    signed_at(method, uri, body, key, NOW, &generate_nonce())
}

/// A response, fully read.
#[derive(Debug)]
pub struct Reply {
    /// Status.
    pub status: StatusCode,
    /// Headers.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Bytes,
}

impl Reply {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "body is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Asserts an error answer: status and `error.code`; returns the `error` object.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) -> Value {
        assert_eq!(
            (self.status.as_u16(), self.error_code().as_str()),
            (status, code),
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        self.json()["error"].clone()
    }

    /// `error.code`, or "" if there is none.
    pub fn error_code(&self) -> String {
        serde_json::from_slice::<Value>(&self.body)
            .ok()
            .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// Asserts success.
    #[track_caller]
    pub fn assert_ok(&self) {
        assert_eq!(
            self.status,
            StatusCode::OK,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
    }
}
