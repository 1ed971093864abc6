//! The webhook receiver (`webhook-receiver/`, run by `scripts/webhook-receiver.sh`): node with
//! the official Standard Webhooks library from npm, checking every delivery as a dApp would.
//! The local stack runs it to show deliveries arriving; the tests and the webhook benchmark
//! deliver to it and read back what it accepted.

use std::{
    os::unix::process::CommandExt,
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use serde_json::{json, Value};

/// Why the receiver is not running.
#[derive(Debug, thiserror::Error)]
pub enum ReceiverError {
    /// `npm ci` failed (no npm, or no registry).
    #[error("installing the webhook receiver failed ({0}); it needs Node.js and npm")]
    Install(String),
    /// The process could not start.
    #[error("starting the webhook receiver: {0}")]
    Spawn(#[source] std::io::Error),
    /// It started but did not answer.
    #[error("the webhook receiver did not answer on port {0} within 30 s")]
    NotReady(u16),
    /// A request to it failed.
    #[error("the webhook receiver: {0}")]
    Http(#[from] reqwest::Error),
}

fn script() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../scripts/webhook-receiver.sh"
    ))
}

/// Installs `webhook-receiver/node_modules` once per process.
pub fn install() -> Result<(), ReceiverError> {
    static INSTALLED: std::sync::Mutex<bool> = std::sync::Mutex::new(false);
    let mut installed = INSTALLED.lock().unwrap_or_else(|e| e.into_inner());
    if !*installed {
        let status = Command::new("bash")
            .arg(script())
            .arg("install")
            .status()
            .map_err(|e| ReceiverError::Install(e.to_string()))?;
        if !status.success() {
            return Err(ReceiverError::Install(status.to_string()));
        }
        *installed = true;
    }
    Ok(())
}

fn free_port() -> Result<u16, ReceiverError> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(ReceiverError::Spawn)?
        .port())
}

/// A running receiver; killed (its whole process group) on drop.
pub struct Receiver {
    child: Option<Child>,
    /// Its port.
    pub port: u16,
    http: reqwest::Client,
}

impl Receiver {
    /// Starts a receiver on a free port, its output discarded.
    pub async fn start() -> Result<Self, ReceiverError> {
        Self::start_on(free_port()?, false).await
    }

    /// Starts a receiver on a free port that prints each verified delivery.
    pub async fn start_printing() -> Result<Self, ReceiverError> {
        Self::start_on(free_port()?, true).await
    }

    /// Starts a receiver on `port`; with `print`, each verified delivery is printed on this
    /// process's standard output.
    pub async fn start_on(port: u16, print: bool) -> Result<Self, ReceiverError> {
        install()?;
        let mut command = Command::new("bash");
        command.arg(script()).arg("serve").arg(port.to_string());
        if print {
            command.arg("--print").stdout(Stdio::inherit());
        } else {
            command.stdout(Stdio::null());
        }
        let child = command
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .map_err(ReceiverError::Spawn)?;
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
            if started.elapsed() > Duration::from_secs(30) {
                return Err(ReceiverError::NotReady(port));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(receiver)
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
    pub async fn configure(
        &self,
        name: &str,
        secret: &str,
        status: u16,
    ) -> Result<(), ReceiverError> {
        self.http
            .post(format!("{}/configure/{name}", self.base()))
            .json(&json!({ "secret": secret, "status": status }))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }

    /// What hook `name` accepted and rejected.
    pub async fn received(&self, name: &str) -> Result<(Vec<Value>, Vec<Value>), ReceiverError> {
        received(&self.http, &self.base(), name).await
    }

    /// POSTs a delivery as given (headers and body) to hook `name`; the status.
    pub async fn post_raw(
        &self,
        name: &str,
        id: &str,
        timestamp: &str,
        signature: &str,
        body: &str,
    ) -> Result<u16, ReceiverError> {
        Ok(self
            .http
            .post(self.hook(name))
            .header("webhook-id", id)
            .header("webhook-timestamp", timestamp)
            .header("webhook-signature", signature)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await?
            .status()
            .as_u16())
    }
}

/// What hook `name` of the receiver at `base` accepted and rejected.
pub async fn received(
    http: &reqwest::Client,
    base: &str,
    name: &str,
) -> Result<(Vec<Value>, Vec<Value>), ReceiverError> {
    let v: Value = http
        .get(format!("{base}/received/{name}"))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok((
        v["accepted"].as_array().cloned().unwrap_or_default(),
        v["rejected"].as_array().cloned().unwrap_or_default(),
    ))
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
