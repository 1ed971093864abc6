//! `POST /api/v2/chittyid/mint` and `GET /api/v2/chittyid/verify/{id}` end to end through the
//! router, over real PostgreSQL and Redis and a local drand relay serving recorded beacons.

use std::collections::HashSet;

use axum::http::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use veil_relayer::{
    chittyid::drand_relay::latest_recorded,
    chittyid::evidence::{verify_offline, Evidence, EvidenceError, Pins},
    chittyid::mint::VrfKey,
    cli::{self, VerifyArgs},
    platform::auth::Scope,
};

use super::support::{code, fresh_nonce, TestApp, VRF_SECRET};

fn pins() -> Pins {
    let secret: [u8; 32] = hex::decode(VRF_SECRET).unwrap().try_into().unwrap();
    Pins {
        chain: veil_drand::ChainConfig::quicknet(),
        vrf_public_key: Some(VrfKey::from_secret(&secret).public_key),
    }
}

fn evidence(body: &Value) -> Evidence {
    serde_json::from_value(body["evidence"].clone()).expect("evidence")
}

const HASH: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mint_persists_the_id_with_evidence_that_verifies_offline() {
    let t = TestApp::new().await;
    let (status, body) = t.mint(HASH, "0a0b0c").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["issuer"], "A");
    assert_eq!(body["provisional"], false);
    assert_eq!(body["status"], "pending");
    let e = evidence(&body);
    let id = body["id"].as_str().unwrap();
    assert!(id.starts_with("01-A-CHI-"), "{id}");
    // The newest recorded round is from September 2026.
    let round = latest_recorded().round;
    assert_eq!(e.drand.round, round);
    assert_eq!(e.yymm, "2609");
    assert_eq!(e.content_hash, HASH);
    assert_eq!(e.request_nonce, "0a0b0c");
    assert_eq!(e.vrf.counter, 0);

    // Durable before the answer: the row is there with the same evidence.
    let (hash, nonce, row_round, proof): (Vec<u8>, Vec<u8>, i64, Vec<u8>) = sqlx::query_as(
        "SELECT content_hash, request_nonce, drand_round, vrf_proof FROM chittyids WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&t.db.pool)
    .await
    .unwrap();
    assert_eq!(hex::encode(hash), HASH);
    assert_eq!(nonce, vec![0x0a, 0x0b, 0x0c]);
    assert_eq!(row_round as u64, round);
    assert_eq!(hex::encode(proof), e.vrf.proof);

    let report = verify_offline(&e, &pins()).expect("offline verification");
    assert!(report.vrf_key_pinned);
    assert!(!report.batch_checked);
    assert_eq!(report.checks.len(), 6, "{:?}", report.checks);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mint_content_as_bytes_binds_the_same_hash_as_content_hash() {
    let t = TestApp::new().await;
    let body = json!({ "namespace": "DOCS", "entity_type": "T", "trust_level": 3,
                       "content": "dGVzdA==", "request_nonce": "01" });
    let (status, minted) = t.post("/api/v2/chittyid/mint", &body, &t.key).await;
    assert_eq!(status, StatusCode::CREATED, "{minted}");
    let e = evidence(&minted);
    assert_eq!(e.content_hash, hex::encode(Sha256::digest(b"test")));
    assert_eq!(e.content_hash, HASH);
    assert_eq!(e.trust_level, 3);
    assert!(minted["id"].as_str().unwrap().starts_with("01-A-DOCS-"));
    assert!(minted["id"].as_str().unwrap().ends_with("-3"));
    // Without a nonce the relayer picks one and reports it.
    let body = json!({ "namespace": "CHI", "entity_type": "P", "content_hash": HASH });
    let (status, minted) = t.post("/api/v2/chittyid/mint", &body, &t.key).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(evidence(&minted).request_nonce.len(), 32);
    verify_offline(&evidence(&minted), &pins()).expect("verifies");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mint_bad_input_yields_documented_codes() {
    let t = TestApp::new().await;
    let cases = [
        (
            json!({"namespace": "chi", "entity_type": "I", "content_hash": HASH}),
            "CHITTYID_INVALID_NAMESPACE",
        ),
        (
            json!({"namespace": "CHITTY", "entity_type": "I", "content_hash": HASH}),
            "CHITTYID_INVALID_NAMESPACE",
        ),
        (
            json!({"namespace": "CHI", "entity_type": "Q", "content_hash": HASH}),
            "CHITTYID_INVALID_ENTITY_TYPE",
        ),
        (
            json!({"namespace": "CHI", "entity_type": "I", "trust_level": 12, "content_hash": HASH}),
            "CHITTYID_INVALID_TRUST_LEVEL",
        ),
        (
            json!({"namespace": "CHI", "entity_type": "I"}),
            "INVALID_CONTENT",
        ),
        (
            json!({"namespace": "CHI", "entity_type": "I", "content": "dGVzdA==", "content_hash": HASH}),
            "INVALID_CONTENT",
        ),
        (
            json!({"namespace": "CHI", "entity_type": "I", "content": "not base64!"}),
            "INVALID_CONTENT",
        ),
        (
            json!({"namespace": "CHI", "entity_type": "I", "content_hash": "abcd"}),
            "INVALID_CONTENT",
        ),
        (
            json!({"namespace": "CHI", "entity_type": "I", "content_hash": HASH, "request_nonce": "zz"}),
            "INVALID_REQUEST_NONCE",
        ),
        (
            json!({"namespace": "CHI", "entity_type": "I", "content_hash": HASH, "request_nonce": "00".repeat(65)}),
            "INVALID_REQUEST_NONCE",
        ),
        (
            json!({"namespace": "CHI", "entity_type": "I", "content_hash": HASH, "request_nonce": ""}),
            "INVALID_REQUEST_NONCE",
        ),
        (
            json!({"namespace": "CHI", "entity_type": "I", "content_hash": HASH, "colour": "red"}),
            "INVALID_BODY",
        ),
        (
            json!({"namespace": 7, "entity_type": "I", "content_hash": HASH}),
            "INVALID_BODY",
        ),
        (json!([1, 2]), "INVALID_BODY"),
    ];
    for (body, expected) in cases {
        let (status, answer) = t.post("/api/v2/chittyid/mint", &body, &t.key).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body} -> {answer}");
        assert_eq!(code(&answer), expected, "{body} -> {answer}");
        assert!(answer["error"]["message"].as_str().unwrap().len() > 10);
    }
    // Not JSON at all.
    let (status, answer) = t
        .send(t.signed(Method::POST, "/api/v2/chittyid/mint", b"{not json", &t.key))
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::BAD_REQUEST, "INVALID_BODY")
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM chittyids")
        .fetch_one(&t.db.pool)
        .await
        .unwrap();
    assert_eq!(rows, 0, "nothing was minted by a bad request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_returns_the_evidence_and_serves_repeats_from_the_cache() {
    let t = TestApp::new().await;
    let (_, minted) = t.mint(HASH, "aa").await;
    let id = minted["id"].as_str().unwrap();
    let path = format!("/api/v2/chittyid/verify/{id}");
    let (status, first) = t.get(&path, &t.key).await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["valid"], true);
    let mut minted_evidence = evidence(&minted);
    let verified = evidence(&first);
    // Same evidence as the mint answered (created_at is the database's commit time).
    minted_evidence.created_at = verified.created_at.clone();
    assert_eq!(verified, minted_evidence);
    let (_, second) = t.get(&path, &t.key).await;
    assert_eq!(first, second);
    let metrics = t.state.metrics.render();
    assert!(
        metrics.contains("chittyid_validation_cache_lookups_total{result=\"hit\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("chittyid_validation_cache_hit_ratio 0.5"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_refuses_bad_ids_with_the_grammar_codes() {
    let t = TestApp::new().await;
    let cases = [
        ("garbage", StatusCode::BAD_REQUEST, "CHITTYID_MALFORMED"),
        (
            "01-A-CHI-7K3M9QXP-I-2611-7-0",
            StatusCode::BAD_REQUEST,
            "CHITTYID_CHECKSUM_MISMATCH",
        ),
        (
            "CT-A-CHI-1234-I-24-A-0",
            StatusCode::BAD_REQUEST,
            "CHITTYID_LEGACY_FORMAT",
        ),
        (
            "01-A-CHI-1234-I-2409-5-0",
            StatusCode::BAD_REQUEST,
            "CHITTYID_LEGACY_FORMAT",
        ),
        (
            "02-A-CHI-7K3M9QXP-I-2611-Z-0",
            StatusCode::BAD_REQUEST,
            "CHITTYID_UNSUPPORTED_VERSION",
        ),
        (
            "01-A-CHI-7K3M9QXP-I-2613-Z-0",
            StatusCode::BAD_REQUEST,
            "CHITTYID_INVALID_YEAR_MONTH",
        ),
        (
            "01-A-CHI-7K3M9QXP-I-2611-Z-0",
            StatusCode::NOT_FOUND,
            "CHITTYID_NOT_FOUND",
        ),
    ];
    for (id, status, expected) in cases {
        let (got, body) = t
            .get(&format!("/api/v2/chittyid/verify/{id}"), &t.key)
            .await;
        assert_eq!((got, code(&body)), (status, expected), "{id}: {body}");
    }
    let (_, body) = t
        .get(
            "/api/v2/chittyid/verify/01-A-CHI-7K3M9QXP-I-2611-7-0",
            &t.key,
        )
        .await;
    assert_eq!(
        body["error"]["details"],
        json!({"expected": "Z", "found": "7"})
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mint_a_thousand_concurrent_identical_requests_gives_a_thousand_distinct_ids() {
    let t = std::sync::Arc::new(TestApp::new().await);
    let nonce = fresh_nonce();
    let body = serde_json::to_vec(&json!({"namespace": "CHI", "entity_type": "E",
        "content_hash": HASH, "request_nonce": nonce}))
    .unwrap();
    let mut tasks = Vec::new();
    for _ in 0..1_000 {
        let (t, body) = (t.clone(), body.clone());
        // A client that honours `503 OVERLOADED` + `Retry-After` (the admission queue sheds
        // what it cannot serve in time; a shed request did nothing and may be sent again).
        tasks.push(tokio::spawn(async move {
            loop {
                let request = t.signed(Method::POST, "/api/v2/chittyid/mint", &body, &t.key);
                let (status, answer) = super::support::send(&t.router, request).await;
                if super::support::code(&answer) != "OVERLOADED" {
                    return (status, answer);
                }
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }));
    }
    let mut ids = HashSet::new();
    let mut counters = HashSet::new();
    for task in tasks {
        let (status, body) = task.await.unwrap();
        assert_eq!(status, StatusCode::CREATED, "{body}");
        ids.insert(body["id"].as_str().unwrap().to_owned());
        counters.insert(evidence(&body).vrf.counter);
    }
    assert_eq!(ids.len(), 1_000, "no duplicate IDs");
    assert_eq!(counters.len(), 1_000, "each took its own counter");
    let (rows, distinct): (i64, i64) = sqlx::query_as(
        "SELECT count(*), count(DISTINCT (namespace, yymm, sequence)) FROM chittyids",
    )
    .fetch_one(&t.db.pool)
    .await
    .unwrap();
    assert_eq!((rows, distinct), (1_000, 1_000));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_give_every_id_an_inclusion_proof_to_a_pending_root() {
    let t = TestApp::new().await;
    let mut ids = Vec::new();
    for i in 0..5u8 {
        let (_, body) = t.mint(HASH, &hex::encode([i])).await;
        ids.push(body["id"].as_str().unwrap().to_owned());
    }
    // Not batched yet: verify has no batch.
    let (_, before) = t
        .get(&format!("/api/v2/chittyid/verify/{}", ids[0]), &t.key)
        .await;
    assert_eq!(before["evidence"]["batch"], Value::Null);
    let (status, cut) = t.post("/admin/batches/cut", &json!({}), &t.admin).await;
    assert_eq!(status, StatusCode::OK, "{cut}");
    assert_eq!(cut["batch"]["size"], 5);
    assert_eq!(cut["batch"]["status"], "pending");
    let root = cut["batch"]["root"].as_str().unwrap().to_owned();
    let (stored_root, size, status_col): (Vec<u8>, i32, String) =
        sqlx::query_as("SELECT root, size, status FROM id_batches")
            .fetch_one(&t.db.pool)
            .await
            .unwrap();
    assert_eq!(
        (hex::encode(stored_root), size, status_col.as_str()),
        (root.clone(), 5, "pending")
    );
    for id in &ids {
        // The cache entry of ids[0] was invalidated by the cut.
        let (_, body) = t
            .get(&format!("/api/v2/chittyid/verify/{id}"), &t.key)
            .await;
        let e = evidence(&body);
        let batch = e.batch.clone().expect("batched");
        assert_eq!(batch.root, root);
        assert_eq!(batch.size, 5);
        assert_eq!(e.status, "pending");
        let report = verify_offline(&e, &pins()).expect("verifies with the batch proof");
        assert!(report.batch_checked);
        // A proof for another position does not verify.
        let mut wrong = e.clone();
        let b = wrong.batch.as_mut().unwrap();
        b.index = (b.index + 1) % 5;
        assert_eq!(
            verify_offline(&wrong, &pins()),
            Err(EvidenceError::BatchProof)
        );
    }
    // Nothing left to cut.
    let (_, again) = t.post("/admin/batches/cut", &json!({}), &t.admin).await;
    assert_eq!(again["batch"], Value::Null);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offline_verification_rejects_tampered_evidence() {
    let t = TestApp::new().await;
    let (_, body) = t.mint(HASH, "bb").await;
    let good = evidence(&body);
    let tamper = |f: &dyn Fn(&mut Evidence)| {
        let mut e = good.clone();
        f(&mut e);
        verify_offline(&e, &pins())
    };
    assert!(matches!(
        tamper(&|e| e.content_hash = "00".repeat(32)),
        Err(EvidenceError::AlphaMismatch)
    ));
    assert!(matches!(
        tamper(&|e| e.request_nonce = "cc".into()),
        Err(EvidenceError::AlphaMismatch)
    ));
    assert!(matches!(
        tamper(&|e| e.vrf.counter = 1),
        Err(EvidenceError::AlphaMismatch)
    ));
    assert!(matches!(
        tamper(&|e| {
            let mut sig = hex::decode(&e.drand.signature).unwrap();
            sig[10] ^= 1;
            e.drand.signature = hex::encode(sig);
        }),
        Err(EvidenceError::Beacon(_))
    ));
    assert!(matches!(
        tamper(&|e| {
            let mut pi = hex::decode(&e.vrf.proof).unwrap();
            pi[70] ^= 1;
            e.vrf.proof = hex::encode(pi);
        }),
        Err(EvidenceError::Vrf(_))
    ));
    assert!(matches!(
        tamper(&|e| e.vrf.public_key = hex::encode([7u8; 32])),
        Err(EvidenceError::VrfKeyMismatch)
    ));
    assert!(matches!(
        tamper(&|e| e.drand.chain_hash = "00".into()),
        Err(EvidenceError::WrongChain)
    ));
    assert!(matches!(
        tamper(&|e| e.namespace = "XYZ".into()),
        Err(EvidenceError::FieldMismatch("namespace"))
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_verify_reads_evidence_from_a_file() {
    let t = TestApp::new().await;
    let (_, minted) = t.mint(HASH, "dd").await;
    let id = minted["id"].as_str().unwrap();
    let (_, verified) = t
        .get(&format!("/api/v2/chittyid/verify/{id}"), &t.key)
        .await;
    let dir = std::env::temp_dir().join(format!("veil-cli-{}", fresh_nonce()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("evidence.json");
    std::fs::write(&file, serde_json::to_vec(&verified).unwrap()).unwrap();
    let args = |file: &std::path::Path, pin: Option<String>| VerifyArgs {
        id: None,
        file: Some(file.to_owned()),
        url: "http://127.0.0.1:1".into(),
        api_key: None,
        vrf_public_key: pin,
        rpc_url: None,
        anchor_namespace: *b"CHI\0",
    };
    let pin = pins().vrf_public_key.map(hex::encode);
    let report = cli::verify(&args(&file, pin.clone())).await.expect("valid");
    assert_eq!(report.id, id);
    assert!(report.vrf_key_pinned);
    // A bare evidence document works too, and a tampered one is refused with the check named.
    let mut bare = evidence(&verified);
    bare.id = bare.id.replacen("-CHI-", "-CHJ-", 1);
    std::fs::write(&file, serde_json::to_vec(&bare).unwrap()).unwrap();
    match cli::verify(&args(&file, pin)).await {
        Err(cli::CliError::Invalid(EvidenceError::Id(_))) => {}
        other => panic!("expected an ID error, got {other:?}"),
    }
    std::fs::remove_dir_all(dir).ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_enforce_keys_scopes_signatures_and_rate_limits() {
    let t = TestApp::new().await;
    let body =
        serde_json::to_vec(&json!({"namespace": "CHI", "entity_type": "I", "content_hash": HASH}))
            .unwrap();
    // No key.
    let request = axum::http::Request::post("/api/v2/chittyid/mint")
        .header("content-type", "application/json")
        .body(axum::body::Body::from(body.clone()))
        .unwrap();
    let (status, answer) = t.send(request).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNAUTHORIZED, "AUTH_MISSING_API_KEY")
    );
    // Verify-only key cannot mint.
    let reader = TestApp::create_key(&t.state, &[Scope::ChittyIdVerify], 100).await;
    let (status, answer) = t
        .send(t.signed(Method::POST, "/api/v2/chittyid/mint", &body, &reader))
        .await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::FORBIDDEN, "AUTH_SCOPE_FORBIDDEN")
    );
    // A mint key cannot reconcile or cut batches.
    let (status, answer) = t.post("/admin/batches/cut", &json!({}), &t.key).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::FORBIDDEN, "AUTH_SCOPE_FORBIDDEN")
    );
    // Replay.
    let nonce = fresh_nonce();
    let first = super::support::signed_request(
        Method::POST,
        "/api/v2/chittyid/mint",
        &body,
        &t.key,
        t.clock.as_ref(),
        &nonce,
    );
    let again = super::support::signed_request(
        Method::POST,
        "/api/v2/chittyid/mint",
        &body,
        &t.key,
        t.clock.as_ref(),
        &nonce,
    );
    assert_eq!(t.send(first).await.0, StatusCode::CREATED);
    let (status, answer) = t.send(again).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::UNAUTHORIZED, "AUTH_NONCE_REPLAYED")
    );
    // Rate limit: 2 per second, burst 2.
    let slow = TestApp::create_key(&t.state, &[Scope::ChittyIdVerify], 2).await;
    let path = "/api/v2/chittyid/verify/01-A-CHI-7K3M9QXP-I-2611-Z-0";
    assert_eq!(t.get(path, &slow).await.0, StatusCode::NOT_FOUND);
    assert_eq!(t.get(path, &slow).await.0, StatusCode::NOT_FOUND);
    let (status, answer) = t.get(path, &slow).await;
    assert_eq!(
        (status, code(&answer)),
        (StatusCode::TOO_MANY_REQUESTS, "RATE_LIMITED")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_are_cut_by_count_and_by_age() {
    let t = TestApp::with(|c| {
        c.batch_max_ids = 3;
        c.batch_max_age_secs = 3_600;
    })
    .await;
    for i in 0..4u8 {
        t.mint(HASH, &hex::encode([i])).await;
    }
    let first = t
        .state
        .batcher
        .cut(false)
        .await
        .unwrap()
        .expect("3 waiting: full");
    assert_eq!(first.size, 3);
    assert_eq!(
        t.state.batcher.cut(false).await.unwrap(),
        None,
        "1 young ID waits"
    );
    // Age: the same relayer with a zero max age cuts the lone ID.
    let aged = veil_relayer::chittyid::batch::Batcher::new(
        t.state.pool.clone(),
        veil_relayer::chittyid::batch::BatchPolicy {
            max_ids: 3,
            max_age: std::time::Duration::ZERO,
        },
        t.state.verifier.clone(),
    );
    let second = aged.cut(false).await.unwrap().expect("old enough");
    assert_eq!(second.size, 1);
    let unbatched: i64 =
        sqlx::query_scalar("SELECT count(*) FROM chittyids WHERE batch_id IS NULL")
            .fetch_one(&t.db.pool)
            .await
            .unwrap();
    assert_eq!(unbatched, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_verify_fetches_evidence_from_a_running_relayer() {
    let t = TestApp::new().await;
    let (_, minted) = t.mint(HASH, "ee").await;
    let id = minted["id"].as_str().unwrap().to_owned();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let router = t.router.clone();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
        .ok();
    });
    let mut args = VerifyArgs {
        id: Some(id.clone()),
        file: None,
        url: url.clone(),
        api_key: Some(t.key.api_key.clone()),
        vrf_public_key: pins().vrf_public_key.map(hex::encode),
        rpc_url: None,
        anchor_namespace: *b"CHI\0",
    };
    let report = cli::verify(&args).await.expect("verifies over HTTP");
    assert_eq!(report.id, id);
    // An unknown ID is the relayer's typed 404, passed through.
    args.id = Some("01-A-CHI-7K3M9QXP-I-2611-Z-0".into());
    match cli::verify(&args).await {
        Err(cli::CliError::Refused { status: 404, body }) => {
            assert!(body.contains("CHITTYID_NOT_FOUND"))
        }
        other => panic!("expected a 404, got {other:?}"),
    }
    server.abort();
}
