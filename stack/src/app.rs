//! The web app (`app/`) in the stack: built with npm when its bundle is missing or older than
//! its sources, served on its own origin with `/config.json` (where the relayer, the indexer,
//! the member's prover and the chain are), `/rpc` (the chain's JSON-RPC, same-origin) and
//! `/dev/faucet` (SOL and demo tokens for a development wallet: local chains only). Beside it,
//! the member's prover for page wallets (`veil-member serve`'s server) on 127.0.0.1.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::SystemTime,
};

use anchor_lang::prelude::Pubkey;
use axum::{
    body::Bytes,
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde_json::{json, Value};
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use tower_http::services::{ServeDir, ServeFile};

use crate::tokens;

/// What a development wallet gets from the faucet: 2 SOL and 100 demo tokens.
pub const FAUCET_LAMPORTS: u64 = 2_000_000_000;
/// 100 tokens of 6 decimals.
pub const FAUCET_TOKENS: u64 = 100_000_000;

/// Why the app is not served.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// No `app/` next to the stack's sources, nor at `--app-dir`.
    #[error("no app at {0} (give --app-dir)")]
    Missing(PathBuf),
    /// Node.js and npm are needed to build it.
    #[error("building the app needs Node.js and npm (apt-get install nodejs npm)")]
    NoNode,
    /// `scripts/app.sh build` failed.
    #[error("building the app failed ({0}); its output is above")]
    Build(String),
}

/// Where the app's sources are in this checkout.
pub fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../app")
}

fn newest(path: &Path, newest: &mut SystemTime) {
    let Ok(meta) = std::fs::metadata(path) else {
        return;
    };
    if meta.is_dir() {
        let skip = ["node_modules", "dist", "test-output"];
        if path
            .file_name()
            .is_some_and(|n| skip.iter().any(|s| n == *s))
        {
            return;
        }
        for entry in std::fs::read_dir(path).into_iter().flatten().flatten() {
            self::newest(&entry.path(), newest);
        }
    } else if let Ok(modified) = meta.modified() {
        *newest = (*newest).max(modified);
    }
}

/// Whether `app/dist` is missing or older than anything it is built from (the app's sources,
/// the TypeScript client, the OpenAPI document and the IDL).
pub fn stale(app: &Path) -> bool {
    let built = std::fs::metadata(app.join("dist/index.html")).and_then(|m| m.modified());
    let Ok(built) = built else {
        return true;
    };
    let mut sources = SystemTime::UNIX_EPOCH;
    for part in [
        "src",
        "index.html",
        "package.json",
        "package-lock.json",
        "vite.config.ts",
        "../clients/ts/src",
        "../clients/ts/openapi.json",
        "../clients/ts/package-lock.json",
        "../idl",
    ] {
        newest(&app.join(part), &mut sources);
    }
    sources > built
}

/// Builds the app with `scripts/app.sh build` when it is stale, its output shown as it goes.
pub async fn ensure_built(app: &Path) -> Result<bool, AppError> {
    if !app.join("package.json").is_file() {
        return Err(AppError::Missing(app.to_path_buf()));
    }
    if !stale(app) {
        return Ok(false);
    }
    let has_npm = tokio::process::Command::new("npm")
        .arg("--version")
        .output()
        .await
        .is_ok_and(|o| o.status.success());
    if !has_npm {
        return Err(AppError::NoNode);
    }
    println!("  app         building app/ with npm (scripts/app.sh build; the first build installs packages)…");
    let status = tokio::process::Command::new("bash")
        .arg(app.join("../scripts/app.sh"))
        .arg("build")
        .status()
        .await
        .map_err(|e| AppError::Build(e.to_string()))?;
    if !status.success() {
        return Err(AppError::Build(status.to_string()));
    }
    Ok(true)
}

/// What the app server knows.
pub struct AppServer {
    /// `/config.json`.
    pub config: Value,
    /// The chain's JSON-RPC, passed through at `/rpc`.
    pub rpc_url: String,
    /// The demo token's mint authority, for the faucet.
    pub issuer: Keypair,
    /// The demo token.
    pub mint: Pubkey,
    /// HTTP to the chain.
    pub http: reqwest::Client,
}

/// The app's routes over the bundle in `dist`.
pub fn router(state: Arc<AppServer>, dist: &Path) -> Router {
    let files = ServeDir::new(dist).not_found_service(ServeFile::new(dist.join("index.html")));
    Router::new()
        .route("/config.json", get(config))
        .route("/rpc", post(rpc))
        .route("/dev/faucet", post(faucet))
        .fallback_service(files)
        .with_state(state)
}

async fn config(State(state): State<Arc<AppServer>>) -> Response {
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(state.config.clone()),
    )
        .into_response()
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message, "details": {} } })),
    )
        .into_response()
}

/// The chain's JSON-RPC on the app's own origin: the local chain answers no CORS.
async fn rpc(State(state): State<Arc<AppServer>>, body: Bytes) -> Response {
    let sent = state
        .http
        .post(&state.rpc_url)
        .header(header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
    match sent {
        Ok(answer) => {
            let status =
                StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
            match answer.bytes().await {
                Ok(bytes) => {
                    (status, [(header::CONTENT_TYPE, "application/json")], bytes).into_response()
                }
                Err(e) => refuse(StatusCode::BAD_GATEWAY, "CHAIN_UNAVAILABLE", &e.to_string()),
            }
        }
        Err(e) => refuse(StatusCode::BAD_GATEWAY, "CHAIN_UNAVAILABLE", &e.to_string()),
    }
}

/// `POST /dev/faucet {"address"}`: 2 SOL and 100 demo tokens to a development wallet.
async fn faucet(State(state): State<Arc<AppServer>>, body: Bytes) -> Response {
    let address = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v["address"].as_str().and_then(|a| a.parse::<Pubkey>().ok()));
    let Some(address) = address else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "INVALID_BODY",
            "send {\"address\": \"<base58 wallet>\"}",
        );
    };
    let rpc = RpcClient::new_with_commitment(state.rpc_url.clone(), CommitmentConfig::confirmed());
    let airdrop = async {
        let signature = rpc
            .request_airdrop(&address, FAUCET_LAMPORTS)
            .await
            .map_err(|e| e.to_string())?;
        for _ in 0..100 {
            if rpc
                .confirm_transaction(&signature)
                .await
                .map_err(|e| e.to_string())?
            {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        Err("the airdrop was not confirmed within 10 s".to_owned())
    };
    if let Err(e) = airdrop.await {
        return refuse(StatusCode::BAD_GATEWAY, "FAUCET_FAILED", &e.to_string());
    }
    match tokens::fund(&rpc, &state.issuer, &state.mint, &address, FAUCET_TOKENS).await {
        Ok(account) => Json(json!({
            "address": address.to_string(),
            "lamports": FAUCET_LAMPORTS,
            "tokens": FAUCET_TOKENS,
            "token_account": account.to_string(),
        }))
        .into_response(),
        Err(e) => refuse(StatusCode::BAD_GATEWAY, "FAUCET_FAILED", &e.to_string()),
    }
}
