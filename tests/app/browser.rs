//! `veil-stack up` in-process on free ports, with its app and the member's prover; then
//! `scripts/app.sh test`: playwright-core drives Debian's Chromium through every page's flow
//! (two development wallets, each in its own browser profile), asserting on the chain, and
//! saves a screenshot per test.

use std::{path::PathBuf, process::Command, time::Duration};

use veil_stack::up::UpArgs;

use crate::localnet::stack::InProcess;

fn screenshots() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("app-browser-{}", std::process::id()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_in_chromium_mints_proves_locally_plays_fire_and_charts_it() {
    // A first start builds the app with npm.
    let args = UpArgs {
        no_app: false,
        ..InProcess::args("app_test")
    };
    let stack = InProcess::start("app-test", args, Duration::from_secs(600)).await;
    let session = stack.session.clone();
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

    stack.stop().await;
}
