//! API conformance (issue 18): schemathesis against the relayer's live OpenAPI document, every
//! request signed as a client signs it (`tests/conformance/test_relayer.py`, run through
//! `scripts/conformance.sh`, which installs schemathesis from PyPI into a virtualenv of its
//! own). The relayer runs over a local chain with every feature flag on, so no route answers
//! `501 CHAIN_NOT_CONFIGURED`.
//!
//! `VEIL_CONFORMANCE_EXAMPLES` sets the generated requests per operation (default 10; the
//! full run in `docs/reliability.md` uses more).

use std::{process::Command, time::Duration};

use solana_keypair::Keypair;
use solana_signer::Signer;
use veil_localnet::{Localnet, LocalnetConfig};
use veil_relayer::platform::{
    auth::{Quota, Scope},
    clock::{Clock, SystemClock},
};

use crate::{
    localnet::{wire::Wire, SOL},
    relayer::{
        reconcile::spawn_fallback,
        support::{TestApp, CHAIN_SEED},
    },
};

/// Runs `bash scripts/conformance.sh <test file>` with `env`; fails the test with
/// schemathesis' findings.
async fn schemathesis(test_file: &'static str, env: Vec<(&'static str, String)>) {
    let examples = std::env::var("VEIL_CONFORMANCE_EXAMPLES").unwrap_or_else(|_| "10".into());
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg("scripts/conformance.sh")
            .arg(test_file)
            .current_dir(root)
            .envs(env)
            .env("VEIL_CONFORMANCE_EXAMPLES", examples)
            .output()
            .expect("bash runs")
    })
    .await
    .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("{test_file}: {}", text.lines().last().unwrap_or_default());
    assert!(output.status.success(), "schemathesis found:\n{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_indexer_conforms_to_its_openapi_document() {
    use veil_indexer::{
        api::{self, ApiState},
        metrics::IndexerMetrics,
    };
    let db = crate::relayer::support::TestDb::new().await;
    let app = api::app(ApiState::new(
        db.pool.clone(),
        std::sync::Arc::new(IndexerMetrics::new()),
    ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await
    });
    schemathesis(
        "tests/conformance/test_indexer.py",
        vec![("VEIL_INDEXER_URL", base)],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relayer_conforms_to_its_openapi_document() {
    let seed: [u8; 32] = hex::decode(CHAIN_SEED).unwrap().try_into().unwrap();
    let relayer = Keypair::new_from_array(seed);
    let net = Localnet::start(LocalnetConfig {
        slot_time: Duration::from_millis(100),
        airdrop: vec![relayer.pubkey()],
        airdrop_lamports: 100 * SOL,
        ..LocalnetConfig::default()
    })
    .expect("localnet starts");
    // And a fallback minter, so reconciliation has one to read.
    let fallback = spawn_fallback().await;
    let url = net.rpc_url().to_owned();
    let (fallback_url, fallback_key) = (fallback.url.clone(), fallback.public_key.clone());
    let t = TestApp::with(|c| {
        c.rpc_url = Some(url);
        c.anchor_interval_secs = 3_600;
        c.fallback_url = Some(fallback_url);
        c.fallback_public_key = Some(fallback_key);
    })
    .await;
    // Every scope; a quota schemathesis cannot exhaust.
    let key = t
        .state
        .auth
        .keys()
        .create(
            "conformance",
            &Scope::ALL,
            Quota::try_new(100_000, 100_000).unwrap(),
        )
        .await
        .unwrap();
    let wire = Wire::serve(&t).await;
    let offset = t.clock.now_unix() as i64 - SystemClock.now_unix() as i64;
    schemathesis(
        "tests/conformance/test_relayer.py",
        vec![
            ("VEIL_RELAYER_URL", wire.base.clone()),
            ("VEIL_API_KEY", key.api_key.clone()),
            ("VEIL_SIGNING_SECRET", key.signing_secret.clone()),
            ("VEIL_CLOCK_OFFSET", offset.to_string()),
        ],
    )
    .await;
    drop(fallback);
}
