//! Fallback and reconciliation: with drand unreachable, mints fall back to the fallback minter
//! (a separate server on its own port, its own key and redb file); once drand is back,
//! `POST /api/v2/chittyid/reconcile` issues an authoritative ID for every provisional one,
//! exactly once.

use std::{collections::HashSet, time::Duration};

use axum::http::StatusCode;
use serde_json::{json, Value};
use veil_chittyid::provisional::ProvisionalRecord;
use veil_fallback::{BearerToken, FallbackKey, FallbackService, FallbackState};
use veil_relayer::{
    chittyid::drand_relay::RelayMode,
    platform::clock::OffsetClock,
    platform::config::Config,
    platform::secrets::{SecretError, SecretName},
    state::StartupError,
    AppState,
};

use super::support::{
    code, recorded_now, redis_prefix, redis_url, secrets, secrets_without_fallback_token, TestApp,
    TestDb, FALLBACK_TOKEN,
};

const HASH: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

pub(crate) struct Fallback {
    pub(crate) url: String,
    pub(crate) public_key: String,
    _dir: std::path::PathBuf,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Fallback {
    fn drop(&mut self) {
        self.server.abort();
        std::fs::remove_dir_all(&self._dir).ok();
    }
}

pub(crate) async fn spawn_fallback() -> Fallback {
    spawn_fallback_with_key([9; 32]).await
}

async fn app_with_fallback(fallback: &Fallback) -> TestApp {
    let (url, key) = (fallback.url.clone(), fallback.public_key.clone());
    TestApp::with(move |c| {
        c.fallback_url = Some(url);
        c.fallback_public_key = Some(key);
        c.breaker_failures = 1;
        c.breaker_open_secs = 1;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mint_without_drand_and_without_fallback_is_503() {
    let t = TestApp::new().await;
    t.relay.set_mode(RelayMode::Down).await;
    let (status, body) = t.mint(HASH, "01").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, "DRAND_UNAVAILABLE")
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM chittyids")
        .fetch_one(&t.db.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drand_down_falls_back_and_reconciliation_imports_every_provisional_id_once() {
    let fallback = spawn_fallback().await;
    let t = app_with_fallback(&fallback).await;
    t.relay.set_mode(RelayMode::Down).await;

    let mut provisional = Vec::new();
    for i in 0..20u8 {
        let (status, body) = t.mint(HASH, &hex::encode([i])).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        assert_eq!(body["issuer"], "F");
        assert_eq!(body["provisional"], true);
        let id = body["id"].as_str().unwrap().to_owned();
        assert!(id.starts_with("01-F-CHI-"), "{id}");
        let record: ProvisionalRecord =
            serde_json::from_value(body["provisional_record"].clone()).unwrap();
        assert_eq!(record.provisional_id, id);
        assert_eq!(record.content_hash, HASH);
        provisional.push(id);
    }
    let metrics = t.state.metrics.render();
    assert!(
        metrics.contains("chittyid_generation_total{issuer=\"F\"} 20"),
        "{metrics}"
    );
    assert!(
        metrics.contains("chittyid_fallback_usage_ratio 1"),
        "{metrics}"
    );

    // Reconciliation needs drand: while it is down the run is refused and imports nothing.
    let (status, body) = t
        .post("/api/v2/chittyid/reconcile", &json!({}), &t.admin)
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, "DRAND_UNAVAILABLE")
    );

    t.relay.set_mode(RelayMode::Normal).await;
    tokio::time::sleep(Duration::from_millis(1_100)).await; // breaker OPEN -> HALF_OPEN
    let (status, report) = t
        .post("/api/v2/chittyid/reconcile", &json!({}), &t.admin)
        .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["processed"], 20);
    assert_eq!(report["reconciled"], 20, "{report}");
    assert_eq!(report["invalid"], 0);
    let results = report["results"].as_array().unwrap();
    let finals: HashSet<String> = results
        .iter()
        .map(|r| r["final_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(finals.len(), 20, "one distinct final ID per provisional ID");
    let mapped: HashSet<String> = results
        .iter()
        .map(|r| r["provisional_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(mapped, provisional.iter().cloned().collect());

    // Each final ID verifies and names its provisional origin.
    for r in results {
        let final_id = r["final_id"].as_str().unwrap();
        assert!(final_id.starts_with("01-A-CHI-"));
        let (status, body) = t
            .get(&format!("/api/v2/chittyid/verify/{final_id}"), &t.key)
            .await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["evidence"]["reconciled_from"], r["provisional_id"]);
        assert_eq!(body["evidence"]["content_hash"], HASH);
    }

    // Idempotent: a second run changes nothing.
    let (status, again) = t
        .post("/api/v2/chittyid/reconcile", &json!({}), &t.admin)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (
            again["reconciled"].clone(),
            again["already_reconciled"].clone()
        ),
        (json!(0), json!(20))
    );
    let (ids, mappings): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM chittyids), (SELECT count(*) FROM reconciliations)",
    )
    .fetch_one(&t.db.pool)
    .await
    .unwrap();
    assert_eq!((ids, mappings), (20, 20));
    let metrics = t.state.metrics.render();
    assert!(
        metrics.contains("chittyid_reconciliation_total{result=\"reconciled\"} 20"),
        "{metrics}"
    );
    assert!(metrics.contains("chittyid_reconciliation_total{result=\"already_reconciled\"} 20"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_refuses_records_not_signed_by_the_pinned_key() {
    let fallback = spawn_fallback().await;
    let t = app_with_fallback(&fallback).await;
    // A record signed by another fallback key.
    let rogue = spawn_fallback_with_key([5; 32]).await;
    let record = reqwest::Client::new()
        .post(format!("{}/api/v2/fallback/request", rogue.url))
        .bearer_auth(FALLBACK_TOKEN)
        .json(&json!({"namespace": "CHI", "entity_type": "I", "content_hash": HASH, "request_nonce": "01"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    // And a genuine record whose content hash was altered after signing.
    let genuine = reqwest::Client::new()
        .post(format!("{}/api/v2/fallback/request", fallback.url))
        .bearer_auth(FALLBACK_TOKEN)
        .json(&json!({"namespace": "CHI", "entity_type": "I", "content_hash": HASH, "request_nonce": "02"}))
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    let mut altered = genuine.clone();
    altered["content_hash"] = json!("00".repeat(32));
    let body = json!({ "records": [record, altered, genuine] });
    let (status, report) = t.post("/api/v2/chittyid/reconcile", &body, &t.admin).await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(
        (report["invalid"].clone(), report["reconciled"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(report["results"][0]["result"], "invalid");
    assert_eq!(report["results"][1]["result"], "invalid");
    assert_eq!(report["results"][2]["result"], "reconciled");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM reconciliations")
        .fetch_one(&t.db.pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);
}

async fn spawn_fallback_with_key(seed: [u8; 32]) -> Fallback {
    let dir = std::env::temp_dir().join(format!("veil-rogue-{}", super::support::fresh_nonce()));
    std::fs::create_dir_all(&dir).unwrap();
    let key = FallbackKey::from_bytes(&seed);
    let public_key = key.public_key_hex();
    let service = FallbackService::open(dir.join("fallback.redb"), key).expect("open store");
    let token = BearerToken::new(FALLBACK_TOKEN).expect("usable token");
    let router = veil_fallback::app(FallbackState::new(service).with_token(token));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, router).await.ok();
    });
    Fallback {
        url,
        public_key,
        _dir: dir,
        server,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fallback_outage_opens_its_breaker_and_mints_answer_503() {
    let fallback = spawn_fallback().await;
    let t = app_with_fallback(&fallback).await;
    t.relay.set_mode(RelayMode::Down).await;
    drop(fallback); // the fallback minter's server stops too
    let (status, body) = t.mint(HASH, "01").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, "FALLBACK_UNAVAILABLE"),
        "{body}"
    );
    // One failure opens it (breaker_failures = 1): the next mint does not even try.
    let (_, health) = t
        .send(
            axum::http::Request::get("/health")
                .body(axum::body::Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(health["fallback_breaker"], "OPEN", "{health}");
    assert_eq!(health["status"], "down");
    let (status, body) = t.mint(HASH, "02").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, "FALLBACK_UNAVAILABLE")
    );
    assert!(t
        .state
        .metrics
        .render()
        .contains("circuit_breaker_state{dependency=\"fallback\"} 2"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relayer_with_a_fallback_url_refuses_to_start_without_a_usable_token() {
    // Audit finding 13: an unreadable `fallback_token` secret used to be dropped silently and
    // the relayer sent no token at all.
    let db = TestDb::new().await;
    let config = || {
        let mut config = Config::defaults();
        config.db.database_url = db.url.clone();
        config.db.db_max_connections = 2;
        config.redis_url = redis_url();
        config.redis_prefix = redis_prefix();
        config.fallback_url = Some("http://127.0.0.1:9".into());
        config
    };
    let clock = || std::sync::Arc::new(OffsetClock::starting_at(recorded_now()));
    let without = secrets_without_fallback_token();
    let missing = AppState::build(config(), &without, clock()).await;
    assert!(
        matches!(
            missing,
            Err(StartupError::Secret(SecretError::Missing {
                name: "fallback_token",
                ..
            }))
        ),
        "{:?}",
        missing.err()
    );
    let short = without.clone().with(SecretName::FallbackToken, "too-short");
    let refused = AppState::build(config(), &short, clock()).await;
    assert!(
        matches!(refused, Err(StartupError::FallbackToken(_))),
        "{:?}",
        refused.err()
    );
    // With the token, it starts.
    AppState::build(config(), &secrets(), clock())
        .await
        .expect("starts with a usable fallback token");
    assert_eq!(FALLBACK_TOKEN.len(), 32);
}
