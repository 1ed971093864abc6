//! A [`TestFallback`] per test: its own redb file in a temporary directory, a known key, a
//! fixed clock, and helpers that send requests through `app(...)` with `oneshot`.

use std::path::PathBuf;

use axum::{
    body::Body,
    http::{header, Method, Request, StatusCode},
    Router,
};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use veil_chittyid::provisional::ProvisionalRecord;
use veil_fallback::{app, BearerToken, Clock, FallbackKey, FallbackService, FallbackState};

/// 2026-11-15T12:00:00Z: IDs carry YYMM `2611`.
pub const NOV_2026: i64 = 1_794_744_000;

/// The secret key seed every test fallback uses.
pub const KEY_SEED: [u8; 32] = [42; 32];

/// A temporary directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh, empty directory.
    pub fn new() -> Self {
        let mut tag = [0u8; 8];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut tag);
        let path = std::env::temp_dir().join(format!(
            "veil-fallback-it-{}-{}",
            std::process::id(),
            hex::encode(tag)
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

/// A fallback over its own store file.
pub struct TestFallback {
    /// Holds the store file.
    pub dir: TempDir,
    /// The shared state (clone it into `app`).
    pub state: FallbackState,
}

impl TestFallback {
    /// No token, fixed clock.
    pub fn new() -> Self {
        Self::build(None)
    }

    /// Requires `Bearer <token>`.
    pub fn with_token(token: &str) -> Self {
        Self::build(Some(token))
    }

    fn build(token: Option<&str>) -> Self {
        let dir = TempDir::new();
        let state = open_state(&dir, token);
        Self { dir, state }
    }

    /// The router.
    pub fn app(&self) -> Router {
        app(self.state.clone())
    }

    /// The store file.
    pub fn db_path(&self) -> PathBuf {
        db_path(&self.dir)
    }
}

/// The store file in a directory.
pub fn db_path(dir: &TempDir) -> PathBuf {
    dir.0.join("fallback.redb")
}

/// Opens the store in `dir` with the test key and clock.
pub fn open_state(dir: &TempDir, token: Option<&str>) -> FallbackState {
    try_open_state(dir, token).expect("open store")
}

/// Opens the store in `dir` with the test key and clock, or says why not.
pub fn try_open_state(
    dir: &TempDir,
    token: Option<&str>,
) -> Result<FallbackState, veil_fallback::store::StoreError> {
    let service = FallbackService::open(db_path(dir), FallbackKey::from_bytes(&KEY_SEED))?
        .with_clock(Clock::Fixed(NOV_2026));
    let state = FallbackState::new(service);
    Ok(match token {
        Some(t) => state.with_token(BearerToken::new(t).expect("usable token")),
        None => state,
    })
}

/// The key every test fallback signs with.
pub fn key() -> FallbackKey {
    FallbackKey::from_bytes(&KEY_SEED)
}

/// Sends one request; returns the status and the JSON body (`Null` if empty).
pub async fn send(
    app: Router,
    method: Method,
    uri: &str,
    body: Option<String>,
    auth: Option<&str>,
) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if body.is_some() {
        req = req.header(header::CONTENT_TYPE, "application/json");
    }
    if let Some(a) = auth {
        req = req.header(header::AUTHORIZATION, a);
    }
    let req = req
        .body(body.map(Body::from).unwrap_or_else(Body::empty))
        .expect("request");
    let res = app.oneshot(req).await.expect("infallible");
    let status = res.status();
    let bytes = res.into_body().collect().await.expect("body").to_bytes();
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).expect("every answer is JSON")
    };
    (status, json)
}

/// `POST /api/v2/fallback/request` with a JSON value.
pub async fn post_request(app: Router, body: &Value) -> (StatusCode, Value) {
    send(
        app,
        Method::POST,
        "/api/v2/fallback/request",
        Some(body.to_string()),
        None,
    )
    .await
}

/// A `GET` without auth.
pub async fn get(app: Router, uri: &str) -> (StatusCode, Value) {
    send(app, Method::GET, uri, None, None).await
}

/// Issues one record for `content_hash` hex; panics unless 201.
pub async fn issue(app: Router, body: Value) -> ProvisionalRecord {
    let (status, json) = post_request(app, &body).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    serde_json::from_value(json).expect("a ProvisionalRecord")
}

/// A valid request body by content hash.
pub fn body_by_hash(namespace: &str, entity: &str, hash_byte: u8, nonce: &str) -> Value {
    serde_json::json!({
        "namespace": namespace,
        "entity_type": entity,
        "content_hash": hex::encode([hash_byte; 32]),
        "request_nonce": nonce,
    })
}

/// Asserts an error answer: status, code, and the `{ error: { code, message, details } }`
/// shape.
pub fn assert_error(got: &(StatusCode, Value), status: StatusCode, code: &str) {
    let (s, json) = got;
    assert_eq!(*s, status, "{json}");
    assert_eq!(json["error"]["code"], code, "{json}");
    assert!(
        json["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{json}"
    );
    assert!(json["error"]["details"].is_object(), "{json}");
}
