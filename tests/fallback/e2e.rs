//! End to end over a real port with reqwest: the relayer's view of the fallback.

use std::net::SocketAddr;

use serde_json::{json, Value};
use veil_chittyid::provisional::ProvisionalRecord;
use veil_fallback::app;

use super::support::{key, try_open_state, TempDir};

const TOKEN: &str = "e2e-token";

async fn serve(
    dir: &TempDir,
) -> (
    SocketAddr,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<()>,
) {
    // A stopped server's last connection task may still be dropping its handle on the file.
    let mut attempts = 0;
    let state = loop {
        match try_open_state(dir, Some(TOKEN)) {
            Ok(state) => break state,
            Err(_) if attempts < 100 => {
                attempts += 1;
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
            Err(e) => panic!("reopen: {e}"),
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        axum::serve(listener, app(state))
            .with_graceful_shutdown(async {
                stopped.await.ok();
            })
            .await
            .expect("serve");
    });
    (addr, stop, server)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn e2e_issue_export_and_restart_over_a_real_port() {
    let dir = TempDir::new();
    let (addr, stop, server) = serve(&dir).await;
    let base = format!("http://{addr}/api/v2/fallback");
    let http = reqwest::Client::new();

    let status: Value = http
        .get(format!("{base}/status"))
        .send()
        .await
        .expect("status")
        .json()
        .await
        .expect("json");
    assert_eq!(status["public_key"], key().public_key_hex());
    assert_eq!(status["issued"], 0);

    let mut issued = Vec::new();
    for n in 0..3 {
        let res = http
            .post(format!("{base}/request"))
            .bearer_auth(TOKEN)
            .json(&json!({
                "namespace": "CHI",
                "entity_type": "I",
                "content": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, format!("doc {n}")),
                "request_nonce": format!("{n:02x}"),
            }))
            .send()
            .await
            .expect("request");
        assert_eq!(res.status(), reqwest::StatusCode::CREATED);
        let record: ProvisionalRecord = res.json().await.expect("record");
        record
            .verify(&key().verifying_key())
            .expect("verifies under the pinned key");
        issued.push(record);
    }

    // Malformed JSON over the wire is the typed error too.
    let res = http
        .post(format!("{base}/request"))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .expect("request");
    assert_eq!(res.status(), reqwest::StatusCode::BAD_REQUEST);
    let err: Value = res.json().await.expect("json");
    assert_eq!(err["error"]["code"], "FALLBACK_INVALID_BODY");
    let res = http
        .get(format!("{base}/records"))
        .send()
        .await
        .expect("records");
    assert_eq!(res.status(), reqwest::StatusCode::UNAUTHORIZED);

    let page: Value = http
        .get(format!("{base}/records?after=1&limit=1"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("records")
        .json()
        .await
        .expect("json");
    let records: Vec<ProvisionalRecord> =
        serde_json::from_value(page["records"].clone()).expect("records");
    assert_eq!(records, issued[1..2]);
    assert_eq!(page["next_after"], 2);

    // Stop the process, start again on the same file: the export is unchanged and the
    // counter continues.
    stop.send(()).expect("stop");
    server.await.expect("server stopped");
    let (addr, stop, server) = serve(&dir).await;
    let base = format!("http://{addr}/api/v2/fallback");
    let page: Value = http
        .get(format!("{base}/records"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("records")
        .json()
        .await
        .expect("json");
    let records: Vec<ProvisionalRecord> =
        serde_json::from_value(page["records"].clone()).expect("records");
    assert_eq!(records, issued);
    let res = http
        .post(format!("{base}/request"))
        .bearer_auth(TOKEN)
        .json(&json!({ "namespace": "CHI", "entity_type": "I", "content_hash": "ab".repeat(32), "request_nonce": "01" }))
        .send()
        .await
        .expect("request");
    let next: ProvisionalRecord = res.json().await.expect("record");
    assert_eq!(next.seq_no, 4);
    stop.send(()).expect("stop");
    server.await.expect("server stopped");
}
