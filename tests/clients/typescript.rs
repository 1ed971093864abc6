//! The TypeScript package (`clients/ts`) against live relayers on real sockets, run by node
//! (`scripts/ts-client.sh test`): its checked-in OpenAPI document is the relayer's own (so its
//! generated types are current), its signatures pass the relayer's check, a mint whose answer
//! is lost is retried under its key and yields one ID (asserted here, in the database), verify
//! answers come from its cache, a wallet signs in, and with the relayer down mints fail over
//! to the fallback minter.

use std::{path::PathBuf, process::Command, sync::Arc};

use axum::{body::Body, http::Request, Router};
use parking_lot::Mutex;
use tower::ServiceExt;
use veil_relayer::platform::auth::Scope;

use super::rust::{lossy, serve_on, LossyProxy};
use crate::{fallback::support::TestFallback, relayer::support::TestApp};

fn package() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../clients/ts"))
}

/// The relayer's OpenAPI document, as the package keeps it (pretty, with a final newline).
async fn document(t: &TestApp) -> String {
    let response = t
        .router
        .clone()
        .oneshot(Request::get("/openapi.json").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .unwrap();
    let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    serde_json::to_string_pretty(&value).unwrap() + "\n"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typescript_client_against_a_live_relayer() {
    let t = TestApp::new().await;
    // The generated types come from this file: it must be the relayer's document.
    let path = package().join("openapi.json");
    let current = document(&t).await;
    if std::env::var_os("VEIL_UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &current).unwrap();
    }
    let kept = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        kept == current,
        "clients/ts/openapi.json is stale: rerun with VEIL_UPDATE_OPENAPI=1 \
         (cargo test --test integration -- clients::typescript) and commit it"
    );

    let relayer = serve_on(t.router.clone(), 0).await;
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
    let proxy = LossyProxy {
        upstream: relayer.clone(),
        http: reqwest::Client::new(),
        mints: Arc::new(Mutex::new((0, 0, false))),
    };
    let mints = proxy.mints.clone();
    let lossy_base = serve_on(Router::new().fallback(lossy).with_state(proxy), 0).await;
    let fallback = TestFallback::with_token("fallback-ts-token-0123456789abcdef");
    let fallback_base = serve_on(fallback.app(), 0).await;
    let dead = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", probe.local_addr().unwrap())
    };
    let retried_hash = hex::encode([0x91u8; 32]);

    // node runs its tests with the addresses; the lossy proxy loses the first mint it makes.
    let script = package().join("../../scripts/ts-client.sh");
    let run = {
        let mints = mints.clone();
        let (key, relayer, retried) = (key.clone(), relayer.clone(), retried_hash.clone());
        tokio::task::spawn_blocking(move || {
            mints.lock().2 = true;
            Command::new("bash")
                .arg(script)
                .arg("test")
                .env("RELAYER_URL", &relayer)
                .env("LOSSY_URL", &lossy_base)
                .env("DEAD_URL", &dead)
                .env("FALLBACK_URL", &fallback_base)
                .env("FALLBACK_TOKEN", "fallback-ts-token-0123456789abcdef")
                .env("API_KEY", &key.api_key)
                .env("SIGNING_SECRET", &key.signing_secret)
                .env("RETRIED_HASH", &retried)
                .output()
                .expect("bash runs")
        })
        .await
        .unwrap()
    };
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "node --test failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("# fail 0"), "{stdout}");
    assert!(!stdout.contains("# pass 0"), "{stdout}");

    // The lost answer: one mint made and lost, the retry answered it; one row.
    let (_, lost, _) = *mints.lock();
    assert_eq!(lost, 1, "the proxy lost one mint's answer");
    let rows: Vec<String> = sqlx::query_scalar("SELECT id FROM chittyids WHERE content_hash = $1")
        .bind(hex::decode(&retried_hash).unwrap())
        .fetch_all(&t.db.pool)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert!(
        stdout.contains(&format!("retried mint {}", rows[0])),
        "node printed the ID it got: {stdout}"
    );
}

/// The package's program half (`src/programs.ts`: @coral-xyz/anchor over the checked-in IDL)
/// against real transactions of the programs, executed on the in-process chain: it decodes
/// their `emit_cpi!` events and the challenge account as the Rust decoders do, derives the
/// same PDA, and builds `accept` byte for byte as `veil-client` does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_typescript_program_client_decodes_real_transactions_and_builds_the_same_instructions()
{
    use challenge::state::Mode;
    use solana_signer::Signer;
    use veil_client::{challenge as cix, decode::ChallengeEvent};
    use veil_harness::ChallengeFixture;

    let mut f = ChallengeFixture::new();
    let args = f.args(Mode::Fire);
    let nonce = args.nonce;
    let (address, created) = f.create(args);
    let created = created.expect("create lands");
    let counterparty = f.counterparty.insecure_clone();
    let accepted = f.accept(&address, &counterparty).expect("accept lands");
    let mut events = Vec::new();
    for executed in [&created, &accepted] {
        for data in executed.event_cpi_payloads(&cix::PROGRAM_ID) {
            let decoded = ChallengeEvent::decode_event_cpi(data).expect("a challenge event");
            let name = format!("{decoded:?}");
            events.push(serde_json::json!({
                "data": hex::encode(data),
                "name": name.split('(').next().unwrap(),
            }));
        }
    }
    let state = f.state(&address);
    let account = f.t.chain.account(&address).expect("the challenge account");
    let ix = cix::accept(&counterparty.pubkey(), &address);
    let fixture = serde_json::json!({
        "events": events,
        "challenge": address.to_string(),
        "creator": state.creator.to_string(),
        "counterparty": counterparty.pubkey().to_string(),
        "nonce": nonce.to_string(),
        "account": hex::encode(&account.data),
        "bond_amount": state.bond_amount.to_string(),
        "accept": {
            "data": hex::encode(&ix.data),
            "keys": ix.accounts.iter().map(|m| serde_json::json!([m.pubkey.to_string(), m.is_signer, m.is_writable])).collect::<Vec<_>>(),
        },
    });
    assert!(events.len() >= 4, "{events:?}");
    let path =
        std::env::temp_dir().join(format!("veil-programs-fixture-{}.json", std::process::id()));
    std::fs::write(&path, fixture.to_string()).unwrap();
    let script = package().join("../../scripts/ts-client.sh");
    let run = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg(script)
            .arg("test-programs")
            .env("PROGRAMS_FIXTURE", &path)
            .output()
            .expect("bash runs")
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(
        run.status.success(),
        "node --test failed:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("# fail 0") && !stdout.contains("# pass 0"),
        "{stdout}"
    );
}
