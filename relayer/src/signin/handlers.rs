//! `/api/v2/auth/*`: sign in with a wallet, refresh, sign out. No API key: these are for
//! people in browsers; the routes sit under the limit per client address.

use std::sync::Arc;

use axum::{extract::State, http::HeaderMap, http::StatusCode, Json};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::SignInService;
use crate::gatekeeper::{ChallengeBody, ChallengeResponse, VerifyBody};
use crate::platform::{
    auth::{sessions, AuthError, IssuedSession},
    error::{ApiError, ErrorBody},
    http::ApiJson,
};

/// The sign-in routes with their OpenAPI paths.
pub fn routes(service: Arc<SignInService>) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(challenge))
        .routes(routes!(sign_in, sign_out))
        .routes(routes!(refresh))
        .with_state(service)
}

/// Issues a sign-in message for a wallet.
#[utoipa::path(post, path = "/api/v2/auth/challenge", tag = "auth", request_body = ChallengeBody,
    responses((status = 201, body = ChallengeResponse),
              (status = 400, body = ErrorBody, description = "`GATEKEEPER_CHAIN_NOT_SUPPORTED`, `INVALID_BODY`"),
              (status = 429, body = ErrorBody, description = "`RATE_LIMITED` (per client address)")))]
pub async fn challenge(
    State(service): State<Arc<SignInService>>,
    ApiJson(body): ApiJson<ChallengeBody>,
) -> Result<(StatusCode, Json<ChallengeResponse>), ApiError> {
    let issued = service.challenge(&body.chain_id, &body.address).await?;
    Ok((StatusCode::CREATED, Json(issued.into())))
}

/// A session's tokens: shown here only.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SessionResponse {
    /// `vs_…`: send as `Authorization: Bearer`.
    pub token: String,
    /// `vr_…`: trade for new tokens at `/api/v2/auth/refresh` (once).
    pub refresh_token: String,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
    /// When the refresh token stops working.
    pub refresh_expires_at: DateTime<Utc>,
    /// CAIP-2.
    pub chain_id: String,
    /// The wallet the session acts for.
    pub address: String,
}

impl From<IssuedSession> for SessionResponse {
    fn from(s: IssuedSession) -> Self {
        Self {
            token: s.token,
            refresh_token: s.refresh_token,
            expires_at: s.expires_at,
            refresh_expires_at: s.refresh_expires_at,
            chain_id: s.chain_id,
            address: s.address,
        }
    }
}

/// Checks the signed message and starts a session for its wallet.
#[utoipa::path(post, path = "/api/v2/auth/session", tag = "auth", request_body = VerifyBody,
    responses((status = 201, body = SessionResponse),
              (status = 400, body = ErrorBody, description = "The message or signature breaks a rule (`GATEKEEPER_*`); `GATEKEEPER_NONCE_UNKNOWN` also for a nonce issued for a wallet check, not a sign-in"),
              (status = 401, body = ErrorBody, description = "`GATEKEEPER_WRONG_SIGNER`"),
              (status = 409, body = ErrorBody, description = "`GATEKEEPER_NONCE_USED`: the message was used already")))]
pub async fn sign_in(
    State(service): State<Arc<SignInService>>,
    ApiJson(body): ApiJson<VerifyBody>,
) -> Result<(StatusCode, Json<SessionResponse>), ApiError> {
    let session = service.sign_in(&body.message, &body.signature).await?;
    Ok((StatusCode::CREATED, Json(session.into())))
}

/// Signs out: the session's token stops working.
#[utoipa::path(delete, path = "/api/v2/auth/session", tag = "auth",
    responses((status = 204),
              (status = 401, body = ErrorBody, description = "`AUTH_SESSION_INVALID`")),
    security(("session" = [])))]
pub async fn sign_out(
    State(service): State<Arc<SignInService>>,
    headers: HeaderMap,
) -> Result<StatusCode, ApiError> {
    let token = sessions::bearer(&headers).ok_or(ApiError::from(AuthError::SessionInvalid))?;
    service.sign_out(token).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v2/auth/refresh`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshBody {
    /// `vr_…`.
    pub refresh_token: String,
}

/// Trades a refresh token for new tokens; the old ones stop working.
#[utoipa::path(post, path = "/api/v2/auth/refresh", tag = "auth", request_body = RefreshBody,
    responses((status = 200, body = SessionResponse),
              (status = 401, body = ErrorBody, description = "`AUTH_SESSION_INVALID`: unknown, used, expired or signed out")))]
pub async fn refresh(
    State(service): State<Arc<SignInService>>,
    ApiJson(body): ApiJson<RefreshBody>,
) -> Result<Json<SessionResponse>, ApiError> {
    Ok(Json(service.refresh(&body.refresh_token).await?.into()))
}
