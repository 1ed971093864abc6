//! `veil-member serve`: the member's prover on 127.0.0.1, for the web app. The page asks it
//! for a proof; it fetches the published leaves, proves here with the wallet's identity, and
//! (when asked) submits only the proof, so the secret never enters the page nor the relayer.
//!
//! Only pages of the configured origins may use it: a request whose `Origin` is not one of them
//! is `403`, and a body that is not `application/json` is `415`, so that no other page can make
//! a browser send a simple cross-site form to it (which needs no CORS preflight). CORS answers
//! the listed origins' preflights. One proof at a time.

use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{header, HeaderValue, Method, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::{get, post},
    Json, Router,
};
use serde::Deserialize;
use serde_json::{json, Value};
use solana_keypair::Keypair;
use solana_signer::Signer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use veil_circuits::prover::Prover;
use veil_rest_client::{Client, Method as HttpMethod};

use crate::{proof_body, scope, Identity, PublishedLeaves};

/// What the server proves with.
pub struct ProverState {
    /// The member's wallet.
    pub wallet: Keypair,
    /// The relayer, signed in as that wallet.
    pub relayer: Client,
    /// The prover (its key loaded once).
    pub prover: Arc<Prover>,
    /// The origins whose pages may call it (`http://127.0.0.1:5173`).
    pub origins: Vec<String>,
    /// One proof at a time.
    pub busy: tokio::sync::Mutex<()>,
}

/// `POST /prove`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProveBody {
    /// The token mint (base58).
    pub mint: String,
    /// The action of the signal.
    pub action: String,
    /// The recipient of the signal (base58).
    pub recipient: String,
    /// 0 (once per track) or an epoch.
    #[serde(default)]
    pub scope: u64,
    /// Also submit the proof to the relayer's `verify-ownership`.
    #[serde(default)]
    pub submit: bool,
}

fn refuse(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        Json(json!({ "error": { "code": code, "message": message, "details": {} } })),
    )
        .into_response()
}

/// A base58 address, or the message naming the field.
fn address(raw: &str, field: &str) -> Result<[u8; 32], String> {
    bs58::decode(raw)
        .into_vec()
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| format!("`{field}` must be a base58 address"))
}

/// The router, to serve on 127.0.0.1.
pub fn router(state: Arc<ProverState>) -> Router {
    let origins: Vec<HeaderValue> = state
        .origins
        .iter()
        .filter_map(|o| HeaderValue::from_str(o.trim_end_matches('/')).ok())
        .collect();
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST])
        .allow_headers([header::CONTENT_TYPE]);
    Router::new()
        .route("/health", get(health))
        .route("/prove", post(prove))
        .layer(middleware::from_fn_with_state(state.clone(), guard))
        .layer(cors)
        .with_state(state)
}

/// Pages of other origins, and non-JSON bodies, are refused before anything runs.
async fn guard(State(state): State<Arc<ProverState>>, request: Request, next: Next) -> Response {
    if let Some(origin) = request.headers().get(header::ORIGIN) {
        let allowed = origin
            .to_str()
            .is_ok_and(|o| state.origins.iter().any(|a| a.trim_end_matches('/') == o));
        if !allowed {
            return refuse(
                StatusCode::FORBIDDEN,
                "ORIGIN_NOT_ALLOWED",
                "this page's origin may not use the member's prover",
            );
        }
    }
    if request.method() == Method::POST {
        let json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !json {
            return refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "INVALID_BODY",
                "the body must be JSON with `Content-Type: application/json`",
            );
        }
    }
    next.run(request).await
}

async fn health(State(state): State<Arc<ProverState>>) -> Json<Value> {
    Json(json!({
        "wallet": state.wallet.pubkey().to_string(),
        "commitment": hex::encode(Identity::from_wallet(&state.wallet).commitment()),
    }))
}

async fn prove(State(state): State<Arc<ProverState>>, body: axum::body::Bytes) -> Response {
    let body: ProveBody = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(error) => return refuse(StatusCode::BAD_REQUEST, "INVALID_BODY", &error.to_string()),
    };
    let (mint, recipient) = match (
        address(&body.mint, "mint"),
        address(&body.recipient, "recipient"),
    ) {
        (Ok(m), Ok(r)) => (m, r),
        (Err(e), _) | (_, Err(e)) => return refuse(StatusCode::BAD_REQUEST, "INVALID_BODY", &e),
    };
    let _one = state.busy.lock().await;
    let leaves = match state
        .relayer
        .call(
            HttpMethod::GET,
            &format!("/api/v2/registry/tracks/{}/leaves", body.mint),
            None,
        )
        .await
    {
        Ok(answer) => answer.body,
        Err(error) => return relayer_error(&error),
    };
    let identity = Identity::from_wallet(&state.wallet);
    let signal = veil_zk::signal_hash(body.action.as_bytes(), &recipient);
    let witness = match PublishedLeaves::from_json(&leaves)
        .and_then(|published| identity.witness(&mint, &published, &scope(body.scope), &signal))
    {
        Ok(witness) => witness,
        Err(error) => return refuse(StatusCode::CONFLICT, "NOT_PROVABLE", &error.to_string()),
    };
    let prover = state.prover.clone();
    let proved = tokio::task::spawn_blocking(move || prover.prove(&witness)).await;
    let (proof, inputs) = match proved {
        Ok(Ok(proved)) => proved,
        Ok(Err(error)) => {
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "PROVE_FAILED",
                &error.to_string(),
            )
        }
        Err(_) => {
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "PROVE_FAILED",
                "the prover stopped",
            )
        }
    };
    let proof = proof_body(&proof, &inputs);
    if !body.submit {
        return Json(json!({ "proof": proof })).into_response();
    }
    match state
        .relayer
        .call(HttpMethod::POST, "/api/v2/verify-ownership", Some(&proof))
        .await
    {
        Ok(answer) => Json(json!({ "proof": proof, "verified": answer.body })).into_response(),
        Err(error) => relayer_error(&error),
    }
}

/// A relayer refusal passed on with its status and envelope; no answer is `502`.
fn relayer_error(error: &veil_rest_client::ClientError) -> Response {
    match error {
        veil_rest_client::ClientError::Api {
            status,
            code,
            message,
            details,
            ..
        } => (
            StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY),
            Json(json!({ "error": { "code": code, "message": message, "details": details } })),
        )
            .into_response(),
        other => refuse(
            StatusCode::BAD_GATEWAY,
            "RELAYER_UNAVAILABLE",
            &other.to_string(),
        ),
    }
}
