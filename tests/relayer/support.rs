//! Real PostgreSQL and Redis for the relayer tests.
//!
//! Every test gets its own database, copied from a migrated template (one per migration set,
//! created once under an advisory lock so parallel test processes agree), and dropped when the
//! [`TestDb`] goes out of scope. Redis keys get a unique prefix.

use sha2::{Digest, Sha256};
use sqlx::{postgres::PgPoolOptions, Connection, Executor, PgConnection, PgPool};

/// The server the tests use (`VEIL_TEST_PG` overrides).
pub fn pg_base() -> String {
    std::env::var("VEIL_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// The Redis the tests use (`VEIL_TEST_REDIS` overrides).
pub fn redis_url() -> String {
    std::env::var("VEIL_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A unique Redis key prefix for one test.
pub fn redis_prefix() -> String {
    format!("veil-test:{}:", uuid_like())
}

fn uuid_like() -> String {
    let mut bytes = [0u8; 8];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
    hex::encode(bytes)
}

/// Starts (or on a bare Debian machine installs) PostgreSQL and Redis with the project's
/// script, once per test process, so `cargo test --workspace` works on a fresh machine.
pub fn ensure_services() {
    static STARTED: std::sync::Once = std::sync::Once::new();
    STARTED.call_once(|| {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../scripts/services.sh");
        eprintln!("PostgreSQL is not answering; running {script}");
        let status = std::process::Command::new("bash").arg(script).status();
        eprintln!("scripts/services.sh: {status:?}");
    });
}

/// A database of its own, migrated; dropped on `Drop`.
pub struct TestDb {
    /// Pool on the test database.
    pub pool: PgPool,
    /// Its URL.
    pub url: String,
    name: String,
}

fn template_name() -> String {
    let mut h = Sha256::new();
    for m in veil_relayer::platform::db::MIGRATOR.iter() {
        h.update(m.version.to_be_bytes());
        h.update(&*m.checksum);
    }
    format!("veil_tmpl_{}", &hex::encode(h.finalize())[..12])
}

impl TestDb {
    /// Creates a fresh, migrated database.
    pub async fn new() -> Self {
        let base = pg_base();
        let mut admin = match PgConnection::connect(&format!("{base}/postgres")).await {
            Ok(conn) => conn,
            Err(_) => {
                ensure_services();
                PgConnection::connect(&format!("{base}/postgres"))
                    .await
                    .expect("PostgreSQL at VEIL_TEST_PG / 127.0.0.1:5432 (scripts/services.sh)")
            }
        };
        admin
            .execute("SELECT pg_advisory_lock(7061701)")
            .await
            .expect("advisory lock");
        let template = template_name();
        let exists: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)")
                .bind(&template)
                .fetch_one(&mut admin)
                .await
                .expect("query pg_database");
        if !exists {
            admin
                .execute(format!("CREATE DATABASE {template}").as_str())
                .await
                .expect("create template");
            let mut conn = PgConnection::connect(&format!("{base}/{template}"))
                .await
                .expect("connect template");
            veil_relayer::platform::db::MIGRATOR
                .run(&mut conn)
                .await
                .expect("migrate template");
            conn.close().await.ok();
        }
        // Databases a killed test process left behind go first, once per process.
        static SWEPT: tokio::sync::OnceCell<()> = tokio::sync::OnceCell::const_new();
        SWEPT
            .get_or_init(|| async {
                let swept = sweep_leaked(&mut admin).await;
                if !swept.is_empty() {
                    eprintln!("dropped {} leaked test databases", swept.len());
                }
            })
            .await;
        let name = format!("{}{}", own_prefix(), uuid_like());
        admin
            .execute(format!("CREATE DATABASE {name} TEMPLATE {template}").as_str())
            .await
            .expect("create test database");
        admin
            .execute("SELECT pg_advisory_unlock(7061701)")
            .await
            .expect("advisory unlock");
        admin.close().await.ok();
        let url = format!("{base}/{name}");
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .connect(&url)
            .await
            .expect("connect test database");
        Self { pool, url, name }
    }
}

/// The name prefix of this process's test databases: `veil_test_p<pid>_`.
fn own_prefix() -> String {
    format!("veil_test_p{}_", std::process::id())
}

/// Drops every test database whose creating process is gone (a test process killed before
/// its `Drop` ran leaks its database): `veil_test_p<pid>_…` when no process `<pid>` runs, and
/// the older `veil_test_<hex>` names when no one is connected. The names dropped. Run under
/// the template's advisory lock.
pub async fn sweep_leaked(admin: &mut PgConnection) -> Vec<String> {
    let names: Vec<String> = sqlx::query_scalar(
        "SELECT datname FROM pg_database WHERE datname LIKE 'veil\\_test\\_%' ORDER BY datname",
    )
    .fetch_all(&mut *admin)
    .await
    .unwrap_or_default();
    let mut dropped = Vec::new();
    for name in names {
        let owner_alive = match name
            .strip_prefix("veil_test_p")
            .and_then(|rest| rest.split_once('_'))
            .and_then(|(pid, _)| pid.parse::<u32>().ok())
        {
            Some(pid) => std::path::Path::new(&format!("/proc/{pid}")).exists(),
            None => {
                let connected: i64 =
                    sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = $1")
                        .bind(&name)
                        .fetch_one(&mut *admin)
                        .await
                        .unwrap_or(1);
                connected > 0
            }
        };
        if owner_alive {
            continue;
        }
        let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        if admin.execute(drop.as_str()).await.is_ok() {
            dropped.push(name);
        }
    }
    dropped
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = std::mem::take(&mut self.name);
        let base = pg_base();
        // Dropping happens off the test's runtime, which may be shutting down.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                if let Ok(mut admin) = PgConnection::connect(&format!("{base}/postgres")).await {
                    let _ = admin
                        .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                        .await;
                }
            });
        })
        .join();
    }
}

// ---------------------------------------------------------------------------------------------
// A whole relayer over real PostgreSQL and Redis, with a local drand relay serving recorded
// quicknet beacons and the clock pinned to the newest recorded round.

use std::{net::SocketAddr, sync::Arc};

use axum::{
    body::Body,
    extract::ConnectInfo,
    http::{HeaderMap, Method, Request, StatusCode},
    Router,
};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use veil_relayer::{
    app,
    chittyid::drand_relay::{latest_recorded, RecordedRelay, RelayHandle},
    platform::auth::{signature::sign_request, CreatedKey, Quota, Scope, SigningSecret},
    platform::clock::OffsetClock,
    platform::config::Config,
    platform::secrets::{SecretName, StaticSecrets},
    AppState,
};

/// The VRF secret every test relayer uses.
pub const VRF_SECRET: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

/// The test secrets.
pub fn secrets() -> StaticSecrets {
    secrets_without_fallback_token().with(SecretName::FallbackToken, FALLBACK_TOKEN)
}

/// The test secrets without the fallback minter's token.
pub fn secrets_without_fallback_token() -> StaticSecrets {
    StaticSecrets::default()
        .with(SecretName::VrfKey, VRF_SECRET)
        .with(
            SecretName::HmacMaster,
            "1111111111111111111111111111111111111111111111111111111111111111",
        )
        .with(
            SecretName::ApiKeyPepper,
            "2222222222222222222222222222222222222222222222222222222222222222",
        )
        .with(SecretName::ChainKey, CHAIN_SEED)
        .with(SecretName::NotifyEmailKey, NOTIFY_EMAIL_KEY)
        .with(SecretName::NotifySmsToken, NOTIFY_SMS_TOKEN)
}

/// The email notifier's API key in every test relayer's secrets (used when
/// `notify_email_url` is set).
pub const NOTIFY_EMAIL_KEY: &str = "re_test_0123456789abcdef";

/// The SMS notifier's auth token in every test relayer's secrets.
pub const NOTIFY_SMS_TOKEN: &str = "sms-auth-token-for-tests-0123456";

/// The fallback minter's bearer token in every test relayer's secrets (32 characters, the
/// fallback's minimum).
pub const FALLBACK_TOKEN: &str = "fallback-token-for-tests-0123456";

/// The chain key (an Ed25519 seed, hex) of every test relayer; used when `rpc_url` is set.
pub const CHAIN_SEED: &str = "3333333333333333333333333333333333333333333333333333333333333333";

/// A running relayer (router only; no port) and its dependencies.
pub struct TestApp {
    /// Its database (dropped last).
    pub db: TestDb,
    /// The state.
    pub state: AppState,
    /// The router.
    pub router: Router,
    /// The local drand relay.
    pub relay: RelayHandle,
    /// The pinned clock.
    pub clock: Arc<OffsetClock>,
    /// A key with `chittyid:mint` and `chittyid:verify`, 100k/s.
    pub key: CreatedKey,
    /// An admin key.
    pub admin: CreatedKey,
}

/// Unix time of the newest recorded beacon, plus one second.
pub fn recorded_now() -> u64 {
    veil_drand::ChainConfig::quicknet()
        .round_time(latest_recorded().round)
        .expect("round time")
        + 1
}

impl TestApp {
    /// Defaults.
    pub async fn new() -> Self {
        Self::with(|_| {}).await
    }

    /// With configuration changes.
    pub async fn with(change: impl FnOnce(&mut Config)) -> Self {
        Self::build(change, &secrets()).await
    }

    /// Defaults, with secrets from `provider`.
    pub async fn with_secrets(
        provider: impl veil_relayer::platform::secrets::SecretProvider,
    ) -> Self {
        Self::build(|_| {}, &provider).await
    }

    async fn build(
        change: impl FnOnce(&mut Config),
        secrets: &dyn veil_relayer::platform::secrets::SecretProvider,
    ) -> Self {
        let db = TestDb::new().await;
        let (_, relay) = RecordedRelay::spawn().await.expect("drand relay");
        let clock = Arc::new(OffsetClock::starting_at(recorded_now()));
        let mut config = Config::defaults().with_all_flags_on();
        config.db.database_url = db.url.clone();
        config.db.db_max_connections = 8;
        config.redis_url = redis_url();
        config.redis_prefix = redis_prefix();
        config.drand_urls = vec![relay.url()];
        config.drand_timeout_ms = 1_000;
        // The recorded "latest" round must stay usable for the whole test.
        config.drand_max_age_secs = 3_600;
        // Every /health call probes afresh unless a test asks for the cache.
        config.health_cache_ms = 0;
        change(&mut config);
        let state = AppState::build(config, secrets, clock.clone())
            .await
            .expect("relayer state");
        let key = Self::create_key(
            &state,
            &[Scope::ChittyIdMint, Scope::ChittyIdVerify],
            100_000,
        )
        .await;
        let admin = Self::create_key(&state, &[Scope::Admin], 1_000).await;
        Self {
            router: app(state.clone()),
            db,
            state,
            relay,
            clock,
            key,
            admin,
        }
    }

    /// A second relayer instance on the same database and Redis prefix (another process
    /// behind the same load balancer), with `change` applied to a copy of this one's config.
    pub async fn sibling(&self, change: impl FnOnce(&mut Config)) -> (AppState, Router) {
        let mut config = self.state.config.clone();
        change(&mut config);
        let state = AppState::build(config, &secrets(), self.clock.clone())
            .await
            .expect("second relayer state");
        let router = app(state.clone());
        (state, router)
    }

    /// A new key.
    pub async fn create_key(state: &AppState, scopes: &[Scope], rate: u32) -> CreatedKey {
        state
            .auth
            .keys()
            .create("test", scopes, Quota::try_new(rate, rate).expect("quota"))
            .await
            .expect("create key")
    }

    /// A signed request from 127.0.0.1.
    pub fn signed(
        &self,
        method: Method,
        path: &str,
        body: &[u8],
        key: &CreatedKey,
    ) -> Request<Body> {
        signed_request(method, path, body, key, self.clock.as_ref(), &fresh_nonce())
    }

    /// Sends a request through the router; status and JSON body (`Value::Null` if not JSON).
    pub async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        send(&self.router, request).await
    }

    /// Signed POST of a JSON body.
    pub async fn post(&self, path: &str, body: &Value, key: &CreatedKey) -> (StatusCode, Value) {
        let bytes = serde_json::to_vec(body).expect("json");
        self.send(self.signed(Method::POST, path, &bytes, key))
            .await
    }

    /// GET with a key.
    pub async fn get(&self, path: &str, key: &CreatedKey) -> (StatusCode, Value) {
        let request = Request::get(path)
            .header("x-api-key", &key.api_key)
            .extension(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))))
            .body(Body::empty())
            .expect("request");
        self.send(request).await
    }

    /// A signed mint of `body` with `key`, with `idempotency_key` as its header if given;
    /// status, headers and body.
    pub async fn mint_keyed(
        &self,
        key: &CreatedKey,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> (u16, HeaderMap, Value) {
        let mut request = self.signed(
            Method::POST,
            "/api/v2/chittyid/mint",
            &serde_json::to_vec(body).expect("json"),
            key,
        );
        if let Some(k) = idempotency_key {
            request
                .headers_mut()
                .insert("idempotency-key", k.parse().expect("a header value"));
        }
        let (status, headers, body) = send_parts(&self.router, request).await;
        (status.as_u16(), headers, body)
    }

    /// Mints `content_hash` (hex) with `nonce` (hex); the response.
    pub async fn mint(&self, content_hash: &str, nonce: &str) -> (StatusCode, Value) {
        let body = serde_json::json!({
            "namespace": "CHI", "entity_type": "I",
            "content_hash": content_hash, "request_nonce": nonce,
        });
        self.post("/api/v2/chittyid/mint", &body, &self.key).await
    }
}

/// 32 random hex characters.
pub fn fresh_nonce() -> String {
    let mut bytes = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
    hex::encode(bytes)
}

/// A request signed with `key` at the clock's time, from 127.0.0.1.
pub fn signed_request(
    method: Method,
    path: &str,
    body: &[u8],
    key: &CreatedKey,
    clock: &dyn veil_relayer::platform::clock::Clock,
    nonce: &str,
) -> Request<Body> {
    let secret = SigningSecret::from_hex(&key.signing_secret).expect("signing secret");
    let headers = sign_request(
        method.as_str(),
        path,
        body,
        &secret,
        clock.now_unix(),
        nonce,
    );
    Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .header("x-api-key", &key.api_key)
        .header("x-timestamp", &headers.timestamp)
        .header("x-nonce", &headers.nonce)
        .header("x-signature", &headers.signature)
        .extension(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))))
        .body(Body::from(body.to_vec()))
        .expect("request")
}

/// Sends through a router; status and JSON body (`Value::Null` if not JSON).
pub async fn send(router: &Router, request: Request<Body>) -> (StatusCode, Value) {
    let (status, _, body) = send_parts(router, request).await;
    (status, body)
}

/// Sends through a router; status, headers and JSON body (`Value::Null` if not JSON).
pub async fn send_parts(router: &Router, request: Request<Body>) -> (StatusCode, HeaderMap, Value) {
    let response = router.clone().oneshot(request).await.expect("infallible");
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    (
        parts.status,
        parts.headers,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

/// Why `AppState::build` refuses `config` with `secrets` (it must refuse).
pub async fn startup_error(
    config: Config,
    secrets: &dyn veil_relayer::platform::secrets::SecretProvider,
) -> veil_relayer::state::StartupError {
    let clock = Arc::new(OffsetClock::starting_at(0));
    AppState::build(config, secrets, clock)
        .await
        .err()
        .expect("the relayer refuses to start")
}

/// The error code of an error body.
pub fn code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("<no error code>")
}

/// A wallet signs in through the gatekeeper: `sign` signs the issued message (base58 ed25519
/// for Solana, `0x…` EIP-191 for EVM); the verification's id.
pub async fn gatekeeper_sign_in(
    t: &TestApp,
    key: &CreatedKey,
    chain_id: &str,
    address: &str,
    sign: impl FnOnce(&str) -> String,
) -> String {
    let (status, issued) = t
        .post(
            "/gatekeeper/v2/wallet/challenge",
            &serde_json::json!({ "chain_id": chain_id, "address": address }),
            key,
        )
        .await;
    assert_eq!(status.as_u16(), 201, "{issued}");
    let message = issued["message"].as_str().unwrap();
    let (status, verified) = t
        .post(
            "/gatekeeper/v2/wallet/verify",
            &serde_json::json!({ "message": message, "signature": sign(message) }),
            key,
        )
        .await;
    assert_eq!(status.as_u16(), 201, "{verified}");
    verified["verification_id"].as_str().unwrap().to_owned()
}

/// `POST /gatekeeper/v2/funds/check`; the status and body.
pub async fn funds_check(
    t: &TestApp,
    key: &CreatedKey,
    id: &str,
    asset: &str,
    threshold: &str,
) -> (u16, Value) {
    let (status, body) = t
        .post(
            "/gatekeeper/v2/funds/check",
            &serde_json::json!({ "verification_id": id, "asset": asset, "threshold": threshold }),
            key,
        )
        .await;
    (status.as_u16(), body)
}

/// A request without an API key, as a browser at 127.0.0.1 sends it, with an optional
/// `Authorization: Bearer` (a session token); status and JSON body.
pub async fn keyless(
    t: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
    bearer: Option<&str>,
) -> (u16, Value) {
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", "application/json")
        .extension(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))));
    if let Some(token) = bearer {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let body = body.map_or(Body::empty(), |b| Body::from(b.to_string()));
    let (status, value) = t.send(request.body(body).expect("request")).await;
    (status.as_u16(), value)
}

/// A wallet signs in without a key (`/api/v2/auth/challenge`, then `/api/v2/auth/session`),
/// `sign` signing the issued message; the session answer and the signed message.
pub async fn session_sign_in(
    t: &TestApp,
    chain_id: &str,
    address: &str,
    sign: impl FnOnce(&str) -> String,
) -> (Value, String) {
    let (status, issued) = keyless(
        t,
        Method::POST,
        "/api/v2/auth/challenge",
        Some(serde_json::json!({ "chain_id": chain_id, "address": address })),
        None,
    )
    .await;
    assert_eq!(status, 201, "{issued}");
    let message = issued["message"].as_str().expect("a message").to_owned();
    assert!(message.contains("this starts a session"), "{message}");
    let (status, session) = keyless(
        t,
        Method::POST,
        "/api/v2/auth/session",
        Some(serde_json::json!({ "message": message, "signature": sign(&message) })),
        None,
    )
    .await;
    assert_eq!(status, 201, "{session}");
    (session, message)
}
