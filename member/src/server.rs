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
    /// The member's wallet and its identity, when the server holds the wallet (`veil-member
    /// serve --keypair`); without it, each request brings its page wallet's identity
    /// signature.
    wallet: Option<(Keypair, Identity)>,
    /// The relayer, signed in as that wallet: where the leaves come from when a request does
    /// not bring them, and where `submit` sends the proof.
    relayer: Option<Client>,
    /// The prover (its key loaded once).
    prover: Arc<Prover>,
    /// The origins whose pages may call it (`http://127.0.0.1:5173`).
    origins: Vec<String>,
    /// One proof at a time.
    busy: tokio::sync::Mutex<()>,
}

impl ProverState {
    /// A server for `wallet`, fetching leaves and submitting proofs through `relayer`
    /// (signed in as that wallet).
    pub fn for_wallet(
        wallet: Keypair,
        relayer: Client,
        prover: Arc<Prover>,
        origins: Vec<String>,
    ) -> Self {
        let identity = Identity::from_wallet(&wallet);
        Self {
            wallet: Some((wallet, identity)),
            relayer: Some(relayer),
            prover,
            origins,
            busy: tokio::sync::Mutex::new(()),
        }
    }

    /// A server for the wallets of the pages of `origins`: each request names its wallet,
    /// carries that wallet's signature over the identity message and the published leaves
    /// it fetched; the server answers the proof and keeps nothing. It never talks to the
    /// relayer.
    pub fn for_pages(prover: Arc<Prover>, origins: Vec<String>) -> Self {
        Self {
            wallet: None,
            relayer: None,
            prover,
            origins,
            busy: tokio::sync::Mutex::new(()),
        }
    }
}

/// A page wallet's identity: its address and its signature over the identity message.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityBody {
    /// The wallet (base58).
    pub wallet: String,
    /// Its Ed25519 signature (base58) over the identity message.
    pub identity_signature: String,
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
    /// Also submit the proof to the relayer's `verify-ownership` (a server holding its
    /// wallet only).
    #[serde(default)]
    pub submit: bool,
    /// The page wallet's address (with `identity_signature`).
    #[serde(default)]
    pub wallet: Option<String>,
    /// The page wallet's signature over the identity message.
    #[serde(default)]
    pub identity_signature: Option<String>,
    /// The track's published leaves as the relayer served them; fetched by the server when
    /// absent.
    #[serde(default)]
    pub leaves: Option<Value>,
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
        .route("/identity", post(identity))
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
    Json(match &state.wallet {
        Some((wallet, identity)) => json!({
            "wallet": wallet.pubkey().to_string(),
            "commitment": hex::encode(identity.commitment()),
        }),
        None => json!({ "wallet": null, "page_wallets": true }),
    })
}

/// A page wallet's identity from its signature, or the typed refusal.
fn page_identity(wallet: &str, signature: &str) -> Result<Identity, Box<Response>> {
    Identity::from_wallet_signature(wallet, signature).map_err(|e| {
        Box::new(refuse(
            StatusCode::BAD_REQUEST,
            "IDENTITY_SIGNATURE_INVALID",
            &e.to_string(),
        ))
    })
}

/// `POST /identity`: the identity commitment of a page's wallet, which its registration
/// carries. The secret stays here and is dropped with the answer.
async fn identity(body: axum::body::Bytes) -> Response {
    let body: IdentityBody = match serde_json::from_slice(&body) {
        Ok(body) => body,
        Err(error) => return refuse(StatusCode::BAD_REQUEST, "INVALID_BODY", &error.to_string()),
    };
    match page_identity(&body.wallet, &body.identity_signature) {
        Ok(identity) => Json(json!({
            "wallet": body.wallet,
            "commitment": hex::encode(identity.commitment()),
        }))
        .into_response(),
        Err(refused) => *refused,
    }
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
    // Whose identity: the page's wallet when the request names one, else the server's.
    let page;
    let identity = match (&body.wallet, &body.identity_signature, &state.wallet) {
        (Some(wallet), Some(signature), _) => match page_identity(wallet, signature) {
            Ok(identity) => {
                page = identity;
                &page
            }
            Err(refused) => return *refused,
        },
        (None, None, Some((_, identity))) => identity,
        (None, None, None) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "IDENTITY_REQUIRED",
                "this prover holds no wallet: send `wallet` and `identity_signature`",
            )
        }
        _ => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "INVALID_BODY",
                "`wallet` and `identity_signature` go together",
            )
        }
    };
    if body.submit && (state.relayer.is_none() || body.wallet.is_some()) {
        return refuse(
            StatusCode::BAD_REQUEST,
            "INVALID_BODY",
            "`submit` is for a prover holding its wallet: a page submits the proof with its own session",
        );
    }
    let _one = state.busy.lock().await;
    let leaves = match (body.leaves, &state.relayer) {
        (Some(leaves), _) => leaves,
        (None, Some(relayer)) => match relayer
            .call(
                HttpMethod::GET,
                &format!("/api/v2/registry/tracks/{}/leaves", body.mint),
                None,
            )
            .await
        {
            Ok(answer) => answer.body,
            Err(error) => return relayer_error(&error),
        },
        (None, None) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "INVALID_BODY",
                "send `leaves`: the track's published leaves as the relayer serves them",
            )
        }
    };
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
    let Some(relayer) = state.relayer.as_ref().filter(|_| body.submit) else {
        return Json(json!({ "proof": proof })).into_response();
    };
    match relayer
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
