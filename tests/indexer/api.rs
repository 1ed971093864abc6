//! The analytics API (`veil_indexer::api::app`) over a database the real pipeline filled from
//! real transactions: every body is an insta snapshot and is checked against numbers counted
//! independently from the executed transactions; bad parameters are typed 400s; every query
//! can use the index documented for it; `/metrics` exports the pipeline's numbers.

use std::sync::Arc;

use anchor_lang::event::EVENT_IX_TAG_LE;
use axum::{
    body::Body,
    http::{Request, StatusCode},
    Router,
};
use challenge::state::Mode;
use http_body_util::BodyExt;
use serde_json::Value;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use veil_indexer::{
    api::{self, ApiState},
    metrics::{IndexerMetrics, Metered},
    run, ChannelSource, Counters, InnerIx, PgStore, RunConfig, TxUpdate, Update,
};
use veil_zk::{scope_for, signal_hash};

use super::support::{expected, kinds, to_updates, Recorder, BLOCK_TIME_BASE};
use crate::{relayer::support::TestDb, zk::ZkTrack};

const NAME: &str = "api";
/// Verifications are delivered from this slot on: block time `BLOCK_TIME_BASE + 5000`, in
/// the hour after the rest of the stream (and the third one hour later still).
const VERIFY_SLOT: u64 = 5_000;
/// The hour holding the registry and challenge stream (slots 1000.., `BLOCK_TIME_BASE` is a
/// multiple of 3600).
const HOUR_0: i64 = BLOCK_TIME_BASE;
const HOUR_1: i64 = BLOCK_TIME_BASE + 3_600;
const DAY: i64 = 86_400;

/// What the recorded stream contains, counted while it is executed.
struct Fixture {
    db: TestDb,
    app: Router,
    metrics: Arc<IndexerMetrics>,
    counters: Counters,
    txs: Vec<TxUpdate>,
    verifications: usize,
    settled: usize,
    id_batches: u64,
    /// The bond mint of the recorded challenges, base58.
    mint: String,
}

/// Executes the stream on the in-process chain, runs the pipeline over it into a fresh
/// database (through [`Metered`], so the per-kind counters are live), and adds a few rows
/// to the relayer's `chittyids` and `reconciliations` tables.
async fn fixture() -> Fixture {
    let settled = 2;
    let id_batches = 3;
    let mut rec = Recorder::new();
    rec.registry(4, id_batches).challenges(settled);
    // Two challenges left open: one waiting for its counterparty, one accepted.
    let counterparty = rec.f.counterparty.insecure_clone();
    let args = rec.f.args(Mode::Fire);
    let (_, created) = rec.f.create(args);
    rec.executed.push(created.expect("create lands"));
    let args = rec.f.args(Mode::Fire);
    let (c, created) = rec.f.create(args);
    rec.executed.push(created.expect("create lands"));
    rec.executed
        .push(rec.f.accept(&c, &counterparty).expect("accept lands"));
    let mint = rec.f.mint.to_string();
    let mut txs = rec.updates();

    // Three verifications with real proofs: two scopes (days), three nullifiers.
    let verified = tokio::task::spawn_blocking(|| {
        // A track with daily scopes: members 0 and 1 verify today, member 0 again tomorrow.
        let mut z = ZkTrack::new(2, DAY as u64);
        let relayer = z.t.wallet();
        let now = BLOCK_TIME_BASE;
        let mut executed = Vec::new();
        for (member, at) in [(0, now), (1, now), (0, now + DAY)] {
            z.t.chain.set_unix_timestamp(at);
            let scope = scope_for(DAY as u64, at);
            let args = z.prove(member, scope, signal_hash(b"api", &[member as u8; 32]));
            executed.push(
                z.t.verify_ownership_as(&relayer, args)
                    .expect("a valid proof verifies"),
            );
        }
        executed
    })
    .await
    .expect("prove");
    let verifications = verified.len();
    // Two in one hour, the third an hour later.
    txs.extend(to_updates(&verified[..2], VERIFY_SLOT));
    txs.extend(to_updates(&verified[2..], VERIFY_SLOT + 3_600));

    // One transaction with an event CPI that does not decode.
    let mut garbled = txs[1].clone();
    garbled.slot = VERIFY_SLOT + 3_700;
    garbled.index_in_slot = 0;
    garbled.signature = "4444444444444444444444444444444444444444444444444444444444444444".into();
    let mut bad = EVENT_IX_TAG_LE.to_vec();
    bad.extend_from_slice(&[0xff; 5]);
    garbled.inner = vec![vec![InnerIx {
        program_id: veil_client::registry::PROGRAM_ID,
        data: bad,
    }]];
    txs.push(garbled);

    let db = TestDb::new().await;
    let metrics = Arc::new(IndexerMetrics::new());
    let store = Metered::new(PgStore::new(db.pool.clone(), NAME), metrics.clone());
    let counters = Counters::default();
    let mut source = ChannelSource::from_updates(txs.iter().cloned().map(Update::Tx).collect());
    run(
        &mut source,
        &store,
        &counters,
        &CancellationToken::new(),
        RunConfig {
            max_batch_txs: 5,
            ..RunConfig::default()
        },
    )
    .await
    .expect("pipeline runs");
    metrics.sync(&counters);

    // The relayer's side: 3 IDs minted in HOUR_0 (one the final ID of a reconciled
    // provisional ID), 1 in HOUR_1, 1 outside any asked range.
    sqlx::query(
        "INSERT INTO chittyids (id, namespace, entity_type, yymm, sequence, trust_level,
             content_hash, request_nonce, drand_round, drand_randomness, drand_signature,
             vrf_key_id, vrf_counter, vrf_beta, vrf_proof, created_at)
         SELECT '01-A-CHI-' || lpad(n::text, 8, '0') || '-P-2701-3-X', 'CHI', 'P', '2701',
                lpad(n::text, 8, '0'), 3, decode(repeat('00', 32), 'hex'), '\\x01', 1,
                decode(repeat('00', 32), 'hex'), '\\x02', 'k', 0,
                decode(repeat('00', 64), 'hex'), decode(repeat('00', 80), 'hex'),
                to_timestamp(t)
         FROM unnest($1::bigint[], $2::bigint[]) AS u(n, t)",
    )
    .bind(vec![1i64, 2, 3, 4, 5])
    .bind(vec![
        HOUR_0 + 10,
        HOUR_0 + 20,
        HOUR_0 + 30,
        HOUR_1 + 5,
        HOUR_0 + 2 * DAY,
    ])
    .execute(&db.pool)
    .await
    .expect("chittyids");
    sqlx::query(
        "INSERT INTO reconciliations (provisional_id, final_id, fallback_seq, record)
         VALUES ('01-F-CHI-00000001-P-2701-3-Y', '01-A-CHI-00000002-P-2701-3-X', 1, '{}')",
    )
    .execute(&db.pool)
    .await
    .expect("reconciliations");

    let app = api::app(ApiState::new(db.pool.clone(), metrics.clone()));
    Fixture {
        db,
        app,
        metrics,
        counters,
        txs,
        verifications,
        settled,
        id_batches,
        mint,
    }
}

/// GETs `uri`; returns the status and the body (JSON, or a JSON string for text).
async fn get(app: &Router, uri: &str) -> (StatusCode, Value) {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).expect("request"))
        .await
        .expect("infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let body = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()));
    (status, body)
}

async fn ok(app: &Router, uri: &str) -> Value {
    let (status, body) = get(app, uri).await;
    assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexer_api_bodies_match_the_executed_transactions() {
    let f = fixture().await;
    let app = &f.app;
    let want = kinds(&expected(&f.txs));

    // Verifications per track: the count equals the verify_ownership transactions executed.
    let hourly = ok(
        app,
        &format!(
            "/api/v1/analytics/verifications?bucket=hour&from={HOUR_0}&to={}",
            HOUR_0 + DAY
        ),
    )
    .await;
    assert_eq!(hourly["total"], f.verifications as i64);
    assert_eq!(want["OwnershipVerified"], f.verifications);
    let series: Vec<(i64, i64)> = hourly["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["bucket_start"].as_i64().unwrap(),
                b["verifications"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(series, [(HOUR_1, 2), (HOUR_1 + 3_600, 1)]);
    insta::assert_json_snapshot!("verifications_hour", hourly);
    let (status, body) = get(
        app,
        &format!(
            "/api/v1/analytics/verifications?bucket=day&from={HOUR_0}&to={}",
            HOUR_0 + DAY
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["total"], f.verifications as i64);
    assert_eq!(
        body["series"][0]["bucket_start"],
        HOUR_0 - HOUR_0.rem_euclid(DAY)
    );
    insta::assert_json_snapshot!("verifications_day", body);
    // Outside the range: nothing.
    let empty = ok(
        app,
        &format!("/api/v1/analytics/verifications?bucket=hour&from={HOUR_0}&to={HOUR_1}"),
    )
    .await;
    assert_eq!(empty["total"], 0);

    // Nullifier usage: three nullifiers, two scopes, on the proving track.
    let nullifiers = ok(app, "/api/v1/analytics/nullifiers").await;
    let tracks = nullifiers["tracks"].as_array().unwrap();
    assert_eq!(tracks.len(), 1);
    assert_eq!(tracks[0]["verifications"], f.verifications as i64);
    assert_eq!(tracks[0]["nullifiers"], f.verifications as i64);
    assert_eq!(tracks[0]["scopes"], 2);
    insta::assert_json_snapshot!("nullifiers", nullifiers);

    // Challenges: the settled ones Completed, one awaiting its counterparty, one accepted.
    let challenges = ok(app, "/api/v1/analytics/challenges").await;
    assert_eq!(challenges["active_total"], 2);
    let completed = challenges["by_mode_status"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["status"] == "Completed")
        .expect("completed challenges");
    assert_eq!(completed["challenges"], f.settled as i64);
    assert_eq!(completed["active"], false);
    assert_eq!(want["ChallengeCreated"], f.settled + 2);
    insta::assert_json_snapshot!("challenges", challenges);

    // Slashed volume: one slash per settled challenge, summed as the rows say.
    let slashes = ok(app, "/api/v1/analytics/slashes").await;
    let (n, sum): (i64, String) = sqlx::query_as(
        "SELECT count(*), sum(slashed)::text FROM indexer_bond_releases WHERE slashed > 0",
    )
    .fetch_one(&f.db.pool)
    .await
    .unwrap();
    assert_eq!(n, f.settled as i64);
    let mints = slashes["mints"].as_array().unwrap();
    assert_eq!(mints.len(), 1);
    assert_eq!(mints[0]["slashes"], n);
    assert_eq!(mints[0]["slashed"], sum);
    assert_eq!(mints[0]["mint"], f.mint);
    insta::assert_json_snapshot!("slashes", slashes, { ".mints[].mint" => "[mint]" });

    // ID mints: anchored batches from the chain, minted IDs from the relayer's tables.
    let ids = ok(
        app,
        &format!(
            "/api/v1/analytics/id-mints?from={HOUR_0}&to={}",
            HOUR_0 + DAY
        ),
    )
    .await;
    assert_eq!(ids["ids_anchored"], (f.id_batches * 100) as i64);
    assert_eq!(ids["minted"], 4);
    assert_eq!(ids["fallback_ratio"], 0.25);
    assert_eq!(ids["hours"][0]["hour_start"], HOUR_0);
    assert_eq!(ids["hours"][0]["batches_anchored"], f.id_batches as i64);
    assert_eq!(ids["hours"][0]["reconciled"], 1);
    insta::assert_json_snapshot!("id_mints", ids);

    // Health and metrics.
    let (status, health) = get(app, "/health").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(health["database"], "up");
    f.metrics
        .set_lag(f.txs.last().unwrap().slot + 12, f.cursor().await.as_ref());
    let (status, text) = get(app, "/metrics").await;
    assert_eq!(status, StatusCode::OK);
    let text = text.as_str().expect("text");
    for (kind, n) in &want {
        assert!(
            text.contains(&format!("indexer_events_total{{kind=\"{kind}\"}} {n}\n")),
            "{kind} {n} in\n{text}"
        );
    }
    assert_eq!(
        Counters::get(&f.counters.events),
        want.values().sum::<usize>() as u64
    );
    assert!(text.contains("indexer_decode_errors_total 1\n"), "{text}");
    assert!(text.contains("indexer_lag_slots 12\n"), "{text}");
    assert!(text.contains("indexer_reconnects_total 0\n"), "{text}");
}

impl Fixture {
    async fn cursor(&self) -> Option<veil_indexer::Cursor> {
        use veil_indexer::Persist;
        PgStore::new(self.db.pool.clone(), NAME)
            .cursor()
            .await
            .expect("cursor")
    }
}

/// An app over a fresh, empty database.
async fn empty_app() -> (TestDb, Router) {
    let db = TestDb::new().await;
    let app = api::app(ApiState::new(
        db.pool.clone(),
        Arc::new(IndexerMetrics::new()),
    ));
    (db, app)
}

#[tokio::test]
async fn indexer_api_bad_parameters_are_typed_400s() {
    let (_db, app) = empty_app().await;
    const V: &str = "/api/v1/analytics/verifications";
    const I: &str = "/api/v1/analytics/id-mints";
    let cases: &[(&str, &str, &str, Option<&str>)] = &[
        (V, "from=0&to=10", "MISSING_PARAMETER", Some("bucket")),
        (
            V,
            "bucket=week&from=0&to=10",
            "INVALID_BUCKET",
            Some("bucket"),
        ),
        (V, "bucket=&from=0&to=10", "INVALID_BUCKET", Some("bucket")),
        (V, "bucket=hour&to=10", "MISSING_PARAMETER", Some("from")),
        (V, "bucket=hour&from=0", "MISSING_PARAMETER", Some("to")),
        (
            V,
            "bucket=hour&from=abc&to=10",
            "INVALID_TIMESTAMP",
            Some("from"),
        ),
        (
            V,
            "bucket=hour&from=-5&to=10",
            "INVALID_TIMESTAMP",
            Some("from"),
        ),
        (
            V,
            "bucket=hour&from=1.5&to=10",
            "INVALID_TIMESTAMP",
            Some("from"),
        ),
        (
            V,
            "bucket=hour&from=0&to=99999999999999999999",
            "INVALID_TIMESTAMP",
            Some("to"),
        ),
        (
            V,
            "bucket=hour&from=0&to=253402300800",
            "INVALID_TIMESTAMP",
            Some("to"),
        ),
        (V, "bucket=hour&from=10&to=10", "INVALID_TIME_RANGE", None),
        (V, "bucket=hour&from=20&to=10", "INVALID_TIME_RANGE", None),
        (
            V,
            "bucket=hour&from=0&to=36000001",
            "INVALID_TIME_RANGE",
            None,
        ),
        (
            V,
            "bucket=hour&bucket=day&from=0&to=10",
            "INVALID_QUERY",
            None,
        ),
        (I, "", "MISSING_PARAMETER", Some("from")),
        (I, "from=0", "MISSING_PARAMETER", Some("to")),
        (I, "from=x&to=1", "INVALID_TIMESTAMP", Some("from")),
        (I, "from=0&to=36000001", "INVALID_TIME_RANGE", None),
        (I, "from=0&from=1&to=5", "INVALID_QUERY", None),
    ];
    for (path, query, code, parameter) in cases {
        let uri = format!("{path}?{query}");
        let (status, body) = get(&app, &uri).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
        assert_eq!(body["error"]["code"], *code, "{uri}: {body}");
        if let Some(parameter) = parameter {
            assert_eq!(body["error"]["details"]["parameter"], *parameter, "{uri}");
        }
    }
    let (_, body) = get(&app, &format!("{V}?bucket=week&from=0&to=10")).await;
    insta::assert_json_snapshot!("error_invalid_bucket", body);

    let (status, body) = get(&app, "/api/v1/analytics/nope").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "ROUTE_NOT_FOUND");
    let response = app
        .clone()
        .oneshot(Request::post(V).body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn indexer_api_database_down_is_503_without_internals() {
    let db = TestDb::new().await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_secs(1))
        .connect(&db.url)
        .await
        .expect("pool");
    pool.close().await;
    let app = api::app(ApiState::new(pool, Arc::new(IndexerMetrics::new())));
    for uri in [
        "/api/v1/analytics/nullifiers",
        "/api/v1/analytics/challenges",
        "/api/v1/analytics/slashes",
        "/api/v1/analytics/verifications?bucket=day&from=0&to=86400",
        "/api/v1/analytics/id-mints?from=0&to=3600",
    ] {
        let (status, body) = get(&app, uri).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{uri}: {body}");
        assert_eq!(
            body,
            serde_json::json!({"error": {"code": "DATABASE_UNAVAILABLE",
                "message": "the database is unavailable", "details": {}}})
        );
    }
    let (status, body) = get(&app, "/health").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        body,
        serde_json::json!({"status": "down", "database": "down"})
    );
}

#[tokio::test]
async fn indexer_api_queries_can_use_their_indexes() {
    let db = TestDb::new().await;
    let mut conn = db.pool.acquire().await.expect("connection");
    // With sequential scans priced out, the plan shows which index serves each query.
    sqlx::query("SET enable_seqscan = off")
        .execute(&mut *conn)
        .await
        .unwrap();
    let cases: Vec<(&str, &str, Vec<i64>, &[&str])> = vec![
        (
            "verifications",
            api::verifications::SQL,
            vec![0, 86_400, 3_600],
            &["indexer_verifications_time"],
        ),
        (
            "nullifiers",
            api::nullifiers::SQL,
            vec![],
            &["indexer_verifications_usage"],
        ),
        (
            "slashes",
            api::slashes::SQL,
            vec![],
            &["indexer_bond_releases_slashed"],
        ),
        (
            "id-mints",
            api::id_mints::SQL,
            vec![0, 86_400],
            &["indexer_id_batches_time", "chittyids_created_brin"],
        ),
    ];
    for (name, sql, binds, indexes) in cases {
        let explain = format!("EXPLAIN {sql}");
        let mut q = sqlx::query_scalar::<_, String>(&explain);
        for b in binds {
            q = q.bind(b);
        }
        let plan = q.fetch_all(&mut *conn).await.expect("explain").join("\n");
        for index in indexes {
            assert!(plan.contains(index), "{name} does not use {index}:\n{plan}");
        }
    }
    let explain = format!("EXPLAIN {}", api::challenges::SQL);
    let plan = sqlx::query_scalar::<_, String>(&explain)
        .bind(api::challenges::TERMINAL)
        .fetch_all(&mut *conn)
        .await
        .expect("explain")
        .join("\n");
    for index in [
        "indexer_challenge_status_challenge",
        "indexer_challenges_challenge",
    ] {
        assert!(
            plan.contains(index),
            "challenges do not use {index}:\n{plan}"
        );
    }
}

#[tokio::test]
async fn indexer_api_openapi_lists_every_endpoint() {
    let (_db, app) = empty_app().await;
    let doc = ok(&app, "/openapi.json").await;
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for path in [
        "/api/v1/analytics/verifications",
        "/api/v1/analytics/nullifiers",
        "/api/v1/analytics/challenges",
        "/api/v1/analytics/slashes",
        "/api/v1/analytics/id-mints",
        "/health",
        "/metrics",
    ] {
        assert!(paths.contains(&path), "{path} missing from {paths:?}");
    }
    let params: Vec<&str> = doc["paths"]["/api/v1/analytics/verifications"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(params, ["bucket", "from", "to"]);
    // Error codes are unique.
    let codes: std::collections::BTreeSet<_> =
        api::ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
    assert_eq!(codes.len(), api::ErrorCode::ALL.len());
}

#[tokio::test]
async fn indexer_api_has_request_ids_and_an_offline_docs_page() {
    let (_db, app) = empty_app().await;
    let response = app
        .clone()
        .oneshot(
            Request::get("/api/v1/analytics/nullifiers")
                .header("x-request-id", "trace-me-42")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["x-request-id"], "trace-me-42");
    let response = app
        .clone()
        .oneshot(Request::get("/nowhere").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        response.headers()["x-request-id"].len(),
        36,
        "a request id is made when none is sent"
    );
    // Swagger UI from the vendored crate: the page and its assets are served here.
    let page = app
        .clone()
        .oneshot(Request::get("/docs/").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let html = String::from_utf8(
        page.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(
        html.contains("swagger-ui-bundle.js") && !html.contains("src=\"http"),
        "{html}"
    );
    let init = app
        .clone()
        .oneshot(
            Request::get("/docs/swagger-initializer.js")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(init.status(), StatusCode::OK);
    let init = String::from_utf8(
        init.into_body()
            .collect()
            .await
            .unwrap()
            .to_bytes()
            .to_vec(),
    )
    .unwrap();
    assert!(init.contains("/openapi.json"), "{init}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexer_api_flood_is_shed_with_503_while_every_event_is_indexed() {
    // Audit finding 9: the API shared the writers' pool with no limit, so a handful of
    // concurrent analytics requests starved ingestion and the process exited.
    let mut rec = Recorder::new();
    rec.registry(60, 5).challenges(6);
    let txs = rec.updates();
    let updates: Vec<Update> = txs.iter().cloned().map(Update::Tx).collect();
    let db = TestDb::new().await;
    let store = PgStore::new(db.pool.clone(), "flooded");
    let api_pool = api::api_pool(&db.url, 1, std::time::Duration::from_millis(500))
        .await
        .expect("API pool");
    let app = api::app(
        ApiState::new(api_pool, Arc::new(IndexerMetrics::new())).with_limits(api::ApiLimits {
            concurrency: 2,
            request_timeout: std::time::Duration::from_secs(2),
        }),
    );
    let stop = CancellationToken::new();
    let flood = tokio::spawn({
        let (app, stop) = (app.clone(), stop.clone());
        async move {
            let mut statuses = Vec::new();
            while !stop.is_cancelled() || statuses.len() < 256 {
                let round = (0..32).map(|i| {
                    let path = match i % 3 {
                        0 => "/api/v1/analytics/challenges",
                        1 => "/api/v1/analytics/slashes",
                        _ => "/api/v1/analytics/nullifiers",
                    };
                    let request = Request::get(path).body(Body::empty()).unwrap();
                    app.clone().oneshot(request)
                });
                for response in futures::future::join_all(round).await {
                    statuses.push(response.unwrap().status());
                }
            }
            statuses
        }
    });
    let counters = Counters::default();
    let mut source = ChannelSource::from_updates(updates);
    run(
        &mut source,
        &store,
        &counters,
        &CancellationToken::new(),
        RunConfig {
            max_batch_txs: 4,
            ..RunConfig::default()
        },
    )
    .await
    .expect("ingestion survives the flood");
    stop.cancel();
    let statuses = flood.await.unwrap();
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::SERVICE_UNAVAILABLE),
        "{statuses:?}"
    );
    assert!(statuses.contains(&StatusCode::OK));
    assert!(
        statuses.contains(&StatusCode::SERVICE_UNAVAILABLE),
        "the flood was never shed"
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM indexer_events")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(rows as usize, expected(&txs).len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn indexer_api_statement_timeout_answers_503_query_timeout() {
    let db = TestDb::new().await;
    let api_pool = api::api_pool(&db.url, 1, std::time::Duration::from_millis(50))
        .await
        .expect("API pool");
    // Hold a lock the analytics query needs, longer than its statement timeout.
    let mut blocker = db.pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE indexer_challenges IN ACCESS EXCLUSIVE MODE")
        .execute(&mut *blocker)
        .await
        .unwrap();
    let app = api::app(ApiState::new(api_pool, Arc::new(IndexerMetrics::new())));
    let response = app
        .oneshot(
            Request::get("/api/v1/analytics/challenges")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status();
    let body: Value =
        serde_json::from_slice(&response.into_body().collect().await.unwrap().to_bytes()).unwrap();
    blocker.rollback().await.unwrap();
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (StatusCode::SERVICE_UNAVAILABLE, Some("QUERY_TIMEOUT")),
        "{body}"
    );
}

#[tokio::test]
async fn indexer_api_answers_cors_for_its_origins_and_limits_each_client_address() {
    use std::net::SocketAddr;

    use axum::extract::ConnectInfo;
    use veil_http_layers::{client::PerClientLimit, cors, gcra::Quota};

    let db = TestDb::new().await;
    let edge = api::Edge {
        cors: cors::layer(&["https://dash.example.com".into()]).unwrap(),
        per_client: Some(PerClientLimit::new(
            Quota::try_new(1, 2).unwrap(),
            vec![],
            api::rate_limited,
        )),
    };
    let app =
        api::app(ApiState::new(db.pool.clone(), Arc::new(IndexerMetrics::new())).with_edge(edge));
    let get = |peer: [u8; 4]| {
        Request::get("/api/v1/analytics/id-mints?bucket=day&from=0&to=86400")
            .header("origin", "https://dash.example.com")
            .extension(ConnectInfo(SocketAddr::from((peer, 5000))))
            .body(Body::empty())
            .unwrap()
    };
    for _ in 0..2 {
        let response = app.clone().oneshot(get([198, 51, 100, 1])).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(
            response.headers()["access-control-allow-origin"],
            "https://dash.example.com"
        );
    }
    let response = app.clone().oneshot(get([198, 51, 100, 1])).await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    // The refusal is readable by the page too.
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://dash.example.com"
    );
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(body["error"]["code"], "RATE_LIMITED", "{body}");
    // Another address has its own bucket.
    let response = app.clone().oneshot(get([198, 51, 100, 2])).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}
