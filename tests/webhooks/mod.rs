//! Webhooks end to end: the relayer delivers to a receiver that checks every delivery with
//! the official Standard Webhooks library (npm `standardwebhooks`, run by
//! `scripts/webhook-receiver.sh` as a real process), never with the relayer's own code.

mod delivery;
mod endpoints;
mod notify;
mod providers;

use std::{
    os::unix::process::CommandExt,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{json, Value};
use veil_relayer::platform::auth::{CreatedKey, Scope};

use crate::relayer::support::TestApp;

fn script() -> String {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/webhook-receiver.sh"
    )
    .to_owned()
}

/// The receiver process; killed on drop.
pub struct Receiver {
    child: Option<Child>,
    /// Its port.
    pub port: u16,
    http: reqwest::Client,
}

impl Receiver {
    /// Installs (once) and starts a receiver on a free port.
    pub async fn start() -> Self {
        static INSTALLED: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
        {
            let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
            if !*installed {
                let status = Command::new("bash")
                    .arg(script())
                    .arg("install")
                    .status()
                    .expect("bash runs scripts/webhook-receiver.sh");
                assert!(
                    status.success(),
                    "scripts/webhook-receiver.sh install: {status}"
                );
                *installed = true;
            }
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new("bash")
            .arg(script())
            .arg("serve")
            .arg(port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("start the receiver");
        let receiver = Self {
            child: Some(child),
            port,
            http: reqwest::Client::new(),
        };
        let started = Instant::now();
        while receiver
            .http
            .get(format!("{}/received/ping", receiver.base()))
            .send()
            .await
            .is_err()
        {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "receiver did not start"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        receiver
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The URL of hook `name`.
    pub fn hook(&self, name: &str) -> String {
        format!("{}/hook/{name}", self.base())
    }

    /// Sets hook `name`'s secret and the status it answers verified deliveries with.
    pub async fn configure(&self, name: &str, secret: &str, status: u16) {
        let answer = self
            .http
            .post(format!("{}/configure/{name}", self.base()))
            .json(&json!({ "secret": secret, "status": status }))
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success());
    }

    /// What hook `name` accepted and rejected.
    pub async fn received(&self, name: &str) -> (Vec<Value>, Vec<Value>) {
        let v: Value = self
            .http
            .get(format!("{}/received/{name}", self.base()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        (
            v["accepted"].as_array().cloned().unwrap_or_default(),
            v["rejected"].as_array().cloned().unwrap_or_default(),
        )
    }

    /// POSTs a delivery as given (headers and body) to hook `name`; the status.
    pub async fn post_raw(
        &self,
        name: &str,
        id: &str,
        timestamp: &str,
        signature: &str,
        body: &str,
    ) -> u16 {
        self.http
            .post(self.hook(name))
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp)
            .header("webhook-signature", signature)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
        }
    }
}

/// A key that mints and manages webhooks.
pub async fn webhook_key(t: &TestApp) -> CreatedKey {
    TestApp::create_key(
        &t.state,
        &[Scope::ChittyIdMint, Scope::ChittyIdVerify, Scope::Webhooks],
        100_000,
    )
    .await
}

/// Registers an endpoint; its id and secret.
pub async fn endpoint(
    t: &TestApp,
    key: &CreatedKey,
    url: &str,
    types: &[&str],
) -> (String, String) {
    let (status, body) = t
        .post(
            "/api/v2/webhooks/endpoints",
            &json!({ "url": url, "event_types": types }),
            key,
        )
        .await;
    assert_eq!(status.as_u16(), 201, "{body}");
    (
        body["id"].as_str().unwrap().to_owned(),
        body["secret"].as_str().unwrap().to_owned(),
    )
}

/// Mints one ID with `key`; the ID.
pub async fn mint(t: &TestApp, key: &CreatedKey) -> String {
    let body = json!({
        "namespace": "CHI", "entity_type": "I",
        "content_hash": crate::relayer::support::fresh_nonce().repeat(2),
        "request_nonce": crate::relayer::support::fresh_nonce(),
    });
    let (status, minted) = t.post("/api/v2/chittyid/mint", &body, key).await;
    assert_eq!(status.as_u16(), 201, "{minted}");
    minted["id"].as_str().unwrap().to_owned()
}

/// Runs delivery rounds until `done` holds (or 30 s pass).
pub async fn deliver_until<F, Fut>(t: &TestApp, mut done: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    loop {
        t.state.webhooks.round().await.expect("a delivery round");
        if done().await {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "not delivered in 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
