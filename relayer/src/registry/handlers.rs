//! `/api/v2/registry/*`, `/api/v2/prove`, `/api/v2/verify-ownership`: thin handlers over
//! [`RegistryService`](crate::registry::RegistryService). Bytes travel as hex (field
//! elements, proofs), addresses and signatures as base58.

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Extension, Json,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use veil_zk::{ProofBytes, PublicInputs, PROOF_LEN};

use crate::platform::http::{invalid_field, on_chain, parse_pubkey, ApiJson};
use std::sync::Arc;

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    platform::{
        auth::{self, AuthService, Scope, SessionPrincipal},
        error::{ApiError, ErrorBody},
    },
    registry::{ProveRequest, RegisterRequest, RegistryService},
};

/// What the registry handlers call: the service, present with `RELAYER_RPC_URL` (without it
/// every route answers `501 CHAIN_NOT_CONFIGURED`).
#[derive(Clone)]
pub struct RegistryApi {
    /// The registry flows.
    pub registry: Option<Arc<RegistryService>>,
}

/// The registry's routes with their OpenAPI paths: register, prove and verify under the
/// `registry` scope; publish under `admin` and the IP allowlist.
pub fn routes(state: RegistryApi, auth: &Arc<AuthService>) -> OpenApiRouter {
    // A person's session may register its own wallet and submit a proof; proving on the
    // relayer (which sees the member's secret) stays behind keys.
    let members = OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(leaves))
        .routes(routes!(verify_ownership))
        .route_layer(auth::require_key_or_session(auth.clone(), Scope::Registry));
    let proving = OpenApiRouter::new()
        .routes(routes!(prove))
        .route_layer(auth::require(auth.clone(), Scope::Registry));
    let admin = OpenApiRouter::new()
        .routes(routes!(publish))
        .route_layer(auth::require(auth.clone(), Scope::Admin))
        .route_layer(auth::admin_only(auth.clone()));
    members.merge(proving).merge(admin).with_state(state)
}

/// A track's published leaves.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LeavesResponse {
    /// The token mint (base58).
    pub mint: String,
    /// The track, hex.
    pub track_id: String,
    /// The tree's depth.
    pub depth: usize,
    /// The published root the leaves hash to, hex.
    pub root: String,
    /// The slot of the holdings snapshot the root was built from.
    pub snapshot_slot: u64,
    /// Where the root landed.
    pub published_slot: u64,
    /// The leaves in index order, hex; a member the snapshot did not find holding has the
    /// empty leaf (zero).
    pub leaves: Vec<String>,
}

/// The leaves under a track's latest published root, so that a member builds its own Merkle
/// path and proves on its own machine (`veil-member prove`); nothing says whose leaf is whose.
#[utoipa::path(
    get, path = "/api/v2/registry/tracks/{mint}/leaves", tag = "registry",
    params(("mint" = String, Path, description = "The token mint (base58)")),
    responses(
        (status = 200, body = LeavesResponse),
        (status = 404, body = ErrorBody, description = "`REGISTRY_TRACK_NOT_FOUND`: no members (`details.reason` `no_members`) or no published root (`not_published`)"),
    ),
    security(("api_key" = []), ("session" = []))
)]
pub async fn leaves(
    State(state): State<RegistryApi>,
    Path(mint): Path<String>,
) -> Result<Json<LeavesResponse>, ApiError> {
    let mint = parse_pubkey(&mint, "mint")?;
    let published = service(&state)?.published_leaves(&mint).await?;
    Ok(Json(LeavesResponse {
        mint: mint.to_string(),
        track_id: hex::encode(published.track_id),
        depth: published.depth,
        root: hex::encode(published.root),
        snapshot_slot: published.published.snapshot_slot,
        published_slot: published.published.slot,
        leaves: published.leaves.iter().map(hex::encode).collect(),
    }))
}

fn service(state: &RegistryApi) -> Result<&RegistryService, ApiError> {
    on_chain(state.registry.as_deref())
}

fn bytes32(value: &str, field: &str) -> Result<[u8; 32], ApiError> {
    hex::decode(value)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| invalid_field(field, "32 bytes in hex (64 characters)"))
}

fn hex32(bytes: &[u8; 32]) -> String {
    hex::encode(bytes)
}

/// `POST /api/v2/registry/register`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    /// The wallet (base58).
    pub wallet: String,
    /// The token mint (base58); its track is `track_id_for(mint)`.
    pub mint: String,
    /// The token account to check (base58); the wallet's associated token account by default.
    pub token_account: Option<String>,
    /// `Poseidon(secret)`, 32 bytes big-endian, hex.
    pub commitment: String,
    /// The wallet's Ed25519 signature (base58) over the registration message:
    /// `"Chitty Veil registration v1\nmint: <mint>\ncommitment: <commitment hex>"`.
    pub signature: String,
}

/// A registered member.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RegisterResponse {
    /// The track (hex).
    pub track_id: String,
    /// The leaf's position in the track's tree.
    pub leaf_index: u64,
    /// The leaf (hex).
    pub leaf: String,
    /// False when this exact registration was already stored.
    pub created: bool,
    /// The token account that showed the holding.
    pub token_account: String,
    /// Whether the holding qualifies (always true in an answer: a holding that does not is
    /// refused `TOKEN_NOT_HELD`). The balance itself is never revealed.
    pub qualifies: bool,
}

/// Registers a wallet's identity commitment on its token's track (SPEC §6).
#[utoipa::path(
    post, path = "/api/v2/registry/register", tag = "registry",
    request_body = RegisterBody,
    responses(
        (status = 201, body = RegisterResponse, description = "Added"),
        (status = 200, body = RegisterResponse, description = "Already registered, unchanged"),
        (status = 400, body = ErrorBody, description = "INVALID_BODY, FIELD_NOT_CANONICAL, WALLET_SIGNATURE_INVALID"),
        (status = 403, body = ErrorBody, description = "AUTH_SESSION_WALLET_MISMATCH: a session registers its own wallet only"),
        (status = 409, body = ErrorBody, description = "REGISTRY_ALREADY_REGISTERED, REGISTRY_TRACK_FULL"),
        (status = 422, body = ErrorBody, description = "TOKEN_NOT_HELD (details.reason)"),
        (status = 503, body = ErrorBody, description = "CHAIN_UNAVAILABLE"),
    ),
    security(("api_key" = []), ("session" = []))
)]
pub async fn register(
    State(state): State<RegistryApi>,
    session: Option<Extension<SessionPrincipal>>,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<(StatusCode, Json<RegisterResponse>), ApiError> {
    // A session registers its own wallet only.
    if let Some(Extension(session)) = &session {
        session.require_wallet("solana", &body.wallet)?;
    }
    let service = service(&state)?;
    let signature: [u8; 64] = bs58::decode(&body.signature)
        .into_vec()
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| invalid_field("signature", "a 64-byte Ed25519 signature in base58"))?;
    let request = RegisterRequest {
        wallet: parse_pubkey(&body.wallet, "wallet")?,
        mint: parse_pubkey(&body.mint, "mint")?,
        token_account: body
            .token_account
            .as_deref()
            .map(|a| parse_pubkey(a, "token_account"))
            .transpose()?,
        commitment: bytes32(&body.commitment, "commitment")?,
        signature,
    };
    let registered = service.register(&request).await?;
    let status = if registered.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(RegisterResponse {
            track_id: hex32(&registered.track_id),
            leaf_index: registered.leaf_index,
            leaf: hex32(&registered.leaf),
            created: registered.created,
            token_account: registered.token_account.to_string(),
            qualifies: true,
        }),
    ))
}

/// `POST /api/v2/registry/publish`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublishBody {
    /// The token mint whose track to publish (base58).
    pub mint: String,
}

/// A published root.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PublishResponse {
    /// The track (hex).
    pub track_id: String,
    /// The root (hex).
    pub root: String,
    /// Leaves under it.
    pub leaf_count: u64,
    /// The `publish_root` transaction (base58).
    pub signature: String,
    /// Its slot.
    pub slot: u64,
    /// The slot at which every member's holding was read: proofs against this root show
    /// "held at this slot", and the program accepts them while it is within the track's
    /// freshness window.
    pub snapshot_slot: u64,
    /// Members the snapshot found holding the token (the others have the empty leaf).
    pub holders: u64,
    /// False when the latest root already covered every leaf and current holder, with a
    /// snapshot younger than half the freshness window, and nothing was sent.
    pub sent: bool,
}

/// Re-reads every member's holding at one slot, rebuilds the track's tree from current holders
/// and publishes its root on chain with that snapshot slot (admin). Call it at least every
/// half freshness window: a root older than the window no longer proves.
#[utoipa::path(
    post, path = "/api/v2/registry/publish", tag = "registry",
    request_body = PublishBody,
    responses(
        (status = 200, body = PublishResponse),
        (status = 404, body = ErrorBody, description = "REGISTRY_TRACK_NOT_FOUND: nobody registered"),
        (status = 502, body = ErrorBody, description = "CHAIN_TRANSACTION_FAILED (the chain key is not the registry's admin and registrar)"),
        (status = 503, body = ErrorBody, description = "CHAIN_UNAVAILABLE"),
    ),
    security(("api_key" = []))
)]
pub async fn publish(
    State(state): State<RegistryApi>,
    ApiJson(body): ApiJson<PublishBody>,
) -> Result<Json<PublishResponse>, ApiError> {
    let outcome = service(&state)?
        .publish(&parse_pubkey(&body.mint, "mint")?)
        .await?;
    Ok(Json(PublishResponse {
        track_id: hex32(&outcome.track_id),
        root: hex32(&outcome.published.root),
        leaf_count: outcome.published.leaves,
        signature: outcome.published.signature,
        slot: outcome.published.slot,
        snapshot_slot: outcome.published.snapshot_slot,
        holders: outcome.holders,
        sent: outcome.sent,
    }))
}

/// `POST /api/v2/prove`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProveBody {
    /// The member's secret (hex, 32 bytes big-endian), derived from their wallet's signature
    /// over the identity message. The relayer that proves learns it.
    pub secret: String,
    /// The token mint of the track (base58).
    pub mint: String,
    /// The action the proof authorizes, e.g. `claim-access`.
    pub action: String,
    /// Who benefits (base58): with `action`, bound into the proof as its signal.
    pub recipient: String,
    /// The nullifier epoch (0, the default, for once-per-track tracks).
    #[serde(default)]
    pub scope: u64,
}

/// The public inputs, hex, in the verifier's order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PublicInputsBody {
    /// The Merkle root.
    pub root: String,
    /// The nullifier.
    pub nullifier: String,
    /// The track.
    pub track_id: String,
    /// The scope.
    pub scope: String,
    /// The signal hash.
    pub signal_hash: String,
}

impl From<&PublicInputs> for PublicInputsBody {
    fn from(inputs: &PublicInputs) -> Self {
        Self {
            root: hex32(&inputs.root),
            nullifier: hex32(&inputs.nullifier),
            track_id: hex32(&inputs.track_id),
            scope: hex32(&inputs.scope),
            signal_hash: hex32(&inputs.signal_hash),
        }
    }
}

impl PublicInputsBody {
    fn parse(&self) -> Result<PublicInputs, ApiError> {
        Ok(PublicInputs {
            root: bytes32(&self.root, "public_inputs.root")?,
            nullifier: bytes32(&self.nullifier, "public_inputs.nullifier")?,
            track_id: bytes32(&self.track_id, "public_inputs.track_id")?,
            scope: bytes32(&self.scope, "public_inputs.scope")?,
            signal_hash: bytes32(&self.signal_hash, "public_inputs.signal_hash")?,
        })
    }
}

/// A proof and its public inputs: the body `verify-ownership` takes.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProofBody {
    /// The Groth16 proof in groth16-solana's layout (`-A ‖ B ‖ C`, 256 bytes), hex.
    pub proof: String,
    /// Its public inputs.
    pub public_inputs: PublicInputsBody,
}

/// Proves the membership of the secret's identity under the latest published root.
#[utoipa::path(
    post, path = "/api/v2/prove", tag = "registry",
    request_body = ProveBody,
    responses(
        (status = 200, body = ProofBody),
        (status = 400, body = ErrorBody, description = "INVALID_BODY, FIELD_NOT_CANONICAL"),
        (status = 404, body = ErrorBody, description = "REGISTRY_NOT_A_MEMBER"),
        (status = 409, body = ErrorBody, description = "REGISTRY_NOT_PUBLISHED: registered after the latest root"),
        (status = 429, body = ErrorBody, description = "PROVER_BUSY, with Retry-After"),
        (status = 503, body = ErrorBody, description = "PROVER_UNAVAILABLE"),
    ),
    security(("api_key" = []))
)]
pub async fn prove(
    State(state): State<RegistryApi>,
    ApiJson(body): ApiJson<ProveBody>,
) -> Result<Json<ProofBody>, ApiError> {
    let service = service(&state)?;
    if body.action.is_empty() || body.action.len() > 256 {
        return Err(invalid_field("action", "1 to 256 bytes"));
    }
    let recipient = parse_pubkey(&body.recipient, "recipient")?;
    let mut scope = [0u8; 32];
    scope[24..].copy_from_slice(&body.scope.to_be_bytes());
    let request = ProveRequest {
        secret: bytes32(&body.secret, "secret")?,
        mint: parse_pubkey(&body.mint, "mint")?,
        scope,
        signal_hash: veil_zk::signal_hash(body.action.as_bytes(), &recipient.to_bytes()),
    };
    let (proof, inputs) = service.prove(&request).await?;
    Ok(Json(ProofBody {
        proof: hex::encode(proof.to_bytes()),
        public_inputs: PublicInputsBody::from(&inputs),
    }))
}

/// A spent nullifier.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VerifiedResponse {
    /// The `verify_ownership` transaction (base58).
    pub signature: String,
    /// Its slot.
    pub slot: u64,
    /// The track (hex).
    pub track_id: String,
    /// The nullifier spent (hex).
    pub nullifier: String,
}

/// Checks a proof and spends its nullifier on chain, once (paid by the relayer).
#[utoipa::path(
    post, path = "/api/v2/verify-ownership", tag = "registry",
    request_body = ProofBody,
    responses(
        (status = 200, body = VerifiedResponse),
        (status = 400, body = ErrorBody, description = "INVALID_BODY, FIELD_NOT_CANONICAL"),
        (status = 409, body = ErrorBody, description = "NULLIFIER_ALREADY_USED (details: where, when this relayer spent it), ROOT_NOT_RECENT, ROOT_TOO_OLD, SCOPE_MISMATCH"),
        (status = 422, body = ErrorBody, description = "PROOF_INVALID"),
        (status = 503, body = ErrorBody, description = "CHAIN_UNAVAILABLE, with Retry-After"),
    ),
    security(("api_key" = []), ("session" = []))
)]
pub async fn verify_ownership(
    State(state): State<RegistryApi>,
    ApiJson(body): ApiJson<ProofBody>,
) -> Result<Json<VerifiedResponse>, ApiError> {
    let service = service(&state)?;
    let proof: [u8; PROOF_LEN] = hex::decode(&body.proof)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| invalid_field("proof", "256 bytes in hex (512 characters)"))?;
    let inputs = body.public_inputs.parse()?;
    let landed = service
        .verify_ownership(&ProofBytes::from_bytes(&proof), &inputs)
        .await?;
    Ok(Json(VerifiedResponse {
        signature: landed.signature,
        slot: landed.slot,
        track_id: hex32(&inputs.track_id),
        nullifier: hex32(&inputs.nullifier),
    }))
}
