//! `/gatekeeper/v2/wallet/*`: thin handlers over [`GatekeeperService`], all behind
//! `FF_GATEKEEPER_V2` and the `challenges` scope.

use std::sync::Arc;

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::wire::{ChallengeBody, ChallengeResponse, VerifyBody};
use super::{store::Verification, GatekeeperService, Issued};
use crate::platform::{
    auth::{self, AuthService, Principal, Scope},
    error::{ApiError, ErrorBody},
    flags::{self, Flag, Flags},
    http::ApiJson,
};

impl From<Issued> for ChallengeResponse {
    fn from(issued: Issued) -> Self {
        Self {
            nonce: issued.nonce,
            message: issued.message,
            address: issued.address,
            expires_at: issued.expires_at_unix,
        }
    }
}

/// What the gatekeeper handlers call.
#[derive(Clone)]
pub struct GatekeeperApi {
    /// The service.
    pub gatekeeper: Arc<GatekeeperService>,
}

/// The gatekeeper's routes with their OpenAPI paths, under the `challenges` scope and
/// `FF_GATEKEEPER_V2`.
pub fn routes(state: GatekeeperApi, auth: &Arc<AuthService>, flags: &Flags) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(challenge))
        .routes(routes!(verify))
        .routes(routes!(verification))
        .routes(routes!(check_funds))
        .route_layer(flags::require(flags.clone(), Flag::GatekeeperV2))
        .route_layer(auth::require(auth.clone(), Scope::Challenges))
        .with_state(state)
}

/// A wallet verification, cited by id.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VerificationResponse {
    /// The record's id.
    pub verification_id: String,
    /// CAIP-2.
    pub chain_id: String,
    /// The wallet (EIP-55 for EVM).
    pub address: String,
    /// Unix seconds.
    pub verified_at: i64,
}

impl From<Verification> for VerificationResponse {
    fn from(v: Verification) -> Self {
        Self {
            verification_id: v.id.to_string(),
            chain_id: v.chain_id,
            address: v.address,
            verified_at: v.verified_at_unix,
        }
    }
}

/// Issues a single-use nonce and the sign-in message for a wallet.
#[utoipa::path(post, path = "/gatekeeper/v2/wallet/challenge", tag = "gatekeeper",
    request_body = ChallengeBody,
    responses((status = 201, body = ChallengeResponse),
              (status = 400, body = ErrorBody, description = "`GATEKEEPER_CHAIN_NOT_SUPPORTED`, `INVALID_BODY`"),
              (status = 503, body = ErrorBody, description = "`FEATURE_DISABLED` (FF_GATEKEEPER_V2)")),
    security(("api_key" = [])))]
pub async fn challenge(
    State(state): State<GatekeeperApi>,
    principal: Principal,
    ApiJson(body): ApiJson<ChallengeBody>,
) -> Result<(StatusCode, Json<ChallengeResponse>), ApiError> {
    let issued = state
        .gatekeeper
        .challenge(&body.chain_id, &body.address, Some(&principal.key_id))
        .await?;
    Ok((StatusCode::CREATED, Json(issued.into())))
}

/// Verifies a signed sign-in message and records the wallet verification.
#[utoipa::path(post, path = "/gatekeeper/v2/wallet/verify", tag = "gatekeeper",
    request_body = VerifyBody,
    responses((status = 201, body = VerificationResponse),
              (status = 400, body = ErrorBody, description = "`GATEKEEPER_MESSAGE_MALFORMED`, `GATEKEEPER_NONCE_UNKNOWN`, `GATEKEEPER_DOMAIN_MISMATCH`, `GATEKEEPER_CHAIN_MISMATCH`, `GATEKEEPER_MESSAGE_MISMATCH`, `GATEKEEPER_SIGNATURE_MALFORMED`"),
              (status = 401, body = ErrorBody, description = "`GATEKEEPER_WRONG_SIGNER`"),
              (status = 409, body = ErrorBody, description = "`GATEKEEPER_NONCE_USED`"),
              (status = 410, body = ErrorBody, description = "`GATEKEEPER_NONCE_EXPIRED`")),
    security(("api_key" = [])))]
pub async fn verify(
    State(state): State<GatekeeperApi>,
    principal: Principal,
    ApiJson(body): ApiJson<VerifyBody>,
) -> Result<(StatusCode, Json<VerificationResponse>), ApiError> {
    let verified = state
        .gatekeeper
        .verify(&body.message, &body.signature, Some(&principal.key_id))
        .await?;
    Ok((StatusCode::CREATED, Json(verified.into())))
}

/// A recorded wallet verification.
#[utoipa::path(get, path = "/gatekeeper/v2/wallet/verifications/{id}", tag = "gatekeeper",
    params(("id" = String, Path, description = "The verification id (a UUID)")),
    responses((status = 200, body = VerificationResponse),
              (status = 404, body = ErrorBody, description = "`GATEKEEPER_VERIFICATION_NOT_FOUND`")),
    security(("api_key" = [])))]
pub async fn verification(
    State(state): State<GatekeeperApi>,
    Path(id): Path<String>,
) -> Result<Json<VerificationResponse>, ApiError> {
    Ok(Json(state.gatekeeper.verification(&id).await?.into()))
}

/// `POST /gatekeeper/v2/funds/check`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = FundsCheckBody)]
#[serde(deny_unknown_fields)]
pub struct FundsBody {
    /// The wallet verification (from `/gatekeeper/v2/wallet/verify`).
    pub verification_id: String,
    /// Solana: `native` (SOL) or a mint address (SPL Token or Token-2022). EVM: `native`
    /// (ETH) or an ERC-20 contract address.
    pub asset: String,
    /// The least the wallet must hold, a decimal in the asset's units (e.g. `1.5`).
    pub threshold: String,
}

/// The outcome of a funds check: never the balance.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FundsResponse {
    /// The attestation's id.
    pub attestation_id: String,
    /// `PASSED` or `FAILED`.
    pub result: String,
    /// The verification it is for.
    pub verification_id: String,
    /// CAIP-2.
    pub chain_id: String,
    /// The wallet.
    pub address: String,
    /// As asked.
    pub asset: String,
    /// As asked.
    pub threshold: String,
    /// The slot (Solana) or block (EVM) the balance was read at.
    pub read_at: u64,
}

/// Checks that a verified wallet holds at least a threshold of an asset; answers `PASSED` or
/// `FAILED`, never the balance.
#[utoipa::path(post, path = "/gatekeeper/v2/funds/check", tag = "gatekeeper",
    request_body = FundsBody,
    responses((status = 200, body = FundsResponse),
              (status = 400, body = ErrorBody, description = "`GATEKEEPER_ASSET_INVALID`, `GATEKEEPER_AMOUNT_INVALID`, `GATEKEEPER_NETWORK_NOT_CONFIGURED`"),
              (status = 404, body = ErrorBody, description = "`GATEKEEPER_VERIFICATION_NOT_FOUND`"),
              (status = 501, body = ErrorBody, description = "`CHAIN_NOT_CONFIGURED`"),
              (status = 503, body = ErrorBody, description = "`CHAIN_UNAVAILABLE`, `EVM_RPC_UNAVAILABLE` (with `Retry-After`)")),
    security(("api_key" = [])))]
pub async fn check_funds(
    State(state): State<GatekeeperApi>,
    principal: Principal,
    ApiJson(body): ApiJson<FundsBody>,
) -> Result<Json<FundsResponse>, ApiError> {
    let a = state
        .gatekeeper
        .check_funds(
            &body.verification_id,
            &body.asset,
            &body.threshold,
            Some(&principal.key_id),
        )
        .await?;
    Ok(Json(FundsResponse {
        attestation_id: a.id.to_string(),
        result: if a.passed { "PASSED" } else { "FAILED" }.into(),
        verification_id: a.verification_id.to_string(),
        chain_id: a.chain_id,
        address: a.address,
        asset: a.asset,
        threshold: a.threshold,
        read_at: a.read_at,
    }))
}
