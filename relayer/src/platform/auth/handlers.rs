//! `/admin/keys`: list, create and revoke API keys over HTTP (the CLI's `keys` commands do the
//! same against the database). Admin scope and the IP allowlist guard every route.

use std::sync::Arc;

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use veil_http_layers::gcra::Quota;

use super::{
    api_keys::{is_key_id, KeySummary},
    scope::Scope,
    service::AuthService,
};
use crate::platform::{
    error::{ApiError, ErrorBody, ErrorCode},
    http::{invalid_field, ApiJson},
};

/// `GET /admin/keys` query.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ListQuery {
    /// Include revoked keys (default: live keys only).
    #[serde(default)]
    pub include_revoked: bool,
}

/// Keys, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KeyList {
    /// The keys.
    pub keys: Vec<KeySummary>,
}

/// `POST /admin/keys`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateKeyBody {
    /// A label for operators (1–200 characters).
    pub label: String,
    /// Scope names: `chittyid:mint`, `chittyid:verify`, `registry`, `challenges`, `admin`.
    pub scopes: Vec<String>,
    /// Sustained requests per second (default 100).
    #[serde(default = "default_rate")]
    pub rate_per_sec: u32,
    /// Requests allowed at once (default 200).
    #[serde(default = "default_burst")]
    pub burst: u32,
}

fn default_rate() -> u32 {
    100
}

fn default_burst() -> u32 {
    200
}

/// A new key: the only time its secret and signing secret are shown.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct CreatedKeyBody {
    /// The public id.
    pub key_id: String,
    /// `cvk_<key_id>_<secret>`.
    pub api_key: String,
    /// The HMAC signing secret, 64 hex characters.
    pub signing_secret: String,
}

/// Lists API keys (never their secrets).
#[utoipa::path(get, path = "/admin/keys", tag = "admin", params(ListQuery),
    responses((status = 200, body = KeyList)),
    security(("api_key" = [])))]
pub async fn list(
    State(auth): State<Arc<AuthService>>,
    crate::platform::http::ApiQuery(query): crate::platform::http::ApiQuery<ListQuery>,
) -> Result<Json<KeyList>, ApiError> {
    let keys = auth.keys().list(query.include_revoked).await?;
    Ok(Json(KeyList { keys }))
}

/// Creates an API key.
#[utoipa::path(post, path = "/admin/keys", tag = "admin", request_body = CreateKeyBody,
    responses((status = 201, body = CreatedKeyBody),
              (status = 400, body = ErrorBody, description = "`INVALID_BODY`: label, scope or quota")),
    security(("api_key" = [])))]
pub async fn create(
    State(auth): State<Arc<AuthService>>,
    ApiJson(body): ApiJson<CreateKeyBody>,
) -> Result<(StatusCode, Json<CreatedKeyBody>), ApiError> {
    let scopes = body
        .scopes
        .iter()
        .map(|s| s.parse::<Scope>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::new(ErrorCode::InvalidBody, e.to_string()))?;
    if scopes.is_empty() {
        return Err(invalid_field("scopes", "at least one scope"));
    }
    let quota = Quota::try_new(body.rate_per_sec, body.burst)
        .ok_or_else(|| invalid_field("rate_per_sec", "at least 1, and `burst` too"))?;
    let created = auth.keys().create(&body.label, &scopes, quota).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKeyBody {
            key_id: created.key_id.clone(),
            api_key: created.api_key.clone(),
            signing_secret: created.signing_secret.clone(),
        }),
    ))
}

/// Revokes an API key: refused at once by this instance, and by every other within
/// `RELAYER_KEY_CACHE_TTL_MS`. Revoking a revoked key answers its summary again.
#[utoipa::path(delete, path = "/admin/keys/{key_id}", tag = "admin",
    params(("key_id" = String, Path, description = "16 hex characters")),
    responses((status = 200, body = KeySummary),
              (status = 404, body = ErrorBody, description = "`KEY_NOT_FOUND`")),
    security(("api_key" = [])))]
pub async fn revoke(
    State(auth): State<Arc<AuthService>>,
    Path(key_id): Path<String>,
) -> Result<Json<KeySummary>, ApiError> {
    let not_found = || {
        ApiError::new(ErrorCode::KeyNotFound, "no API key has this id")
            .with_details(json!({ "key_id": key_id }))
    };
    if !is_key_id(&key_id) {
        return Err(not_found());
    }
    if auth.keys().get(&key_id).await?.is_none() {
        return Err(not_found());
    }
    auth.keys().revoke(&key_id).await?;
    auth.keys()
        .get(&key_id)
        .await?
        .map(Json)
        .ok_or_else(not_found)
}
