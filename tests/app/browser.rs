//! `veil-stack up` in-process on free ports, with its app and the member's prover; then
//! `scripts/app.sh test`: playwright-core drives Debian's Chromium through every page's flow
//! (two development wallets, each in its own browser profile), asserting on the chain, and
//! saves a screenshot per test.

use std::{path::PathBuf, process::Command, time::Duration};

use veil_stack::{
    data::DataDir,
    up::{up, UpArgs},
};

use crate::relayer::support::{ensure_services, pg_base, redis_url};

fn screenshots() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("app-browser-{}", std::process::id()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_in_chromium_mints_proves_locally_plays_fire_and_charts_it() {
    ensure_services();
    let dir = std::env::temp_dir().join(format!("veil-app-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let data = DataDir::open(&dir).expect("data dir");
    let args = UpArgs {
        relayer: "127.0.0.1:0".parse().unwrap(),
        indexer: "127.0.0.1:0".parse().unwrap(),
        rpc_port: 0,
        grpc_port: 0,
        slot_ms: 100,
        database: format!("veil_app_test_{}", std::process::id()),
        postgres: Some(pg_base()),
        redis: Some(redis_url()),
        isolated: false,
        evm_port: 0,
        no_evm: true,
        webhook_port: 0,
        no_webhooks: true,
        app: "127.0.0.1:0".parse().unwrap(),
        prover_port: 0,
        no_app: false,
        app_dir: None,
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let stack = tokio::spawn({
        let data = data.clone();
        async move {
            up(&args, &data, async {
                let _ = stop_rx.await;
            })
            .await
        }
    });
    // Up once the session is written (a first start builds the app with npm).
    let started = tokio::time::Instant::now();
    while data.session().is_err() {
        assert!(!stack.is_finished(), "the stack stopped while starting");
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "not up in 600 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let session = data.session().unwrap();
    let app_url = session
        .app_url
        .clone()
        .expect("the stack serves the app (see its output above)");

    let out = screenshots();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../scripts/app.sh");
    let run = {
        let (rpc, mint, out) = (session.rpc_url.clone(), session.mint.clone(), out.clone());
        tokio::task::spawn_blocking(move || {
            Command::new("bash")
                .arg(script)
                .arg("test")
                .env("APP_URL", &app_url)
                .env("RPC_URL", &rpc)
                .env("MINT", &mint)
                .env("OUTPUT_DIR", &out)
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
        "the browser tests failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("# pass 4"), "{stdout}");
    assert!(stdout.contains("# fail 0"), "{stdout}");
    for shot in [
        "ids",
        "ids-error",
        "ownership",
        "challenge-alice",
        "challenge-bob",
        "analytics",
    ] {
        let png = std::fs::read(out.join(format!("{shot}.png")))
            .unwrap_or_else(|e| panic!("{shot}.png: {e}"));
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 10_000,
            "{shot}.png is a real screenshot"
        );
    }
    println!("screenshots in {}", out.display());
    if let Some(line) = stdout.lines().find(|l| l.contains("prove-to-verified ms")) {
        println!("{}", line.trim_start_matches(['#', ' ']));
    }

    stop_tx.send(()).unwrap();
    stack.await.unwrap().expect("the stack stops cleanly");
    let _ = std::fs::remove_dir_all(&dir);
}
