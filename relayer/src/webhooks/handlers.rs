//! `/api/v2/webhooks/*`: thin handlers over [`WebhookService`], behind `FF_WEBHOOKS` and the
//! `webhooks` scope. A key sees and changes only its own endpoints and deliveries (another
//! key's id answers 404, as if it did not exist).

use std::sync::Arc;

use axum::{
    extract::{Path, State},
    http::StatusCode,
    Json,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::{
    notifications::Contacts,
    store::{AttemptView, DeliveryView, Endpoint, Patch},
    WebhookError, WebhookService,
};
use crate::platform::{
    auth::{self, AuthService, Principal, Scope},
    error::{ApiError, ErrorBody},
    flags::{self, Flag, Flags},
    http::ApiJson,
};

/// What the webhook handlers call.
#[derive(Clone)]
pub struct WebhookApi {
    /// The service.
    pub webhooks: Arc<WebhookService>,
}

/// The webhook routes with their OpenAPI paths, under the `webhooks` scope and `FF_WEBHOOKS`.
pub fn routes(state: WebhookApi, auth: &Arc<AuthService>, flags: &Flags) -> OpenApiRouter {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(get, update, delete))
        .routes(routes!(rotate))
        .routes(routes!(endpoint_deliveries))
        .routes(routes!(replay_endpoint))
        .routes(routes!(delivery))
        .routes(routes!(replay_delivery))
        .route_layer(flags::require(flags.clone(), Flag::Webhooks))
        .route_layer(auth::require(auth.clone(), Scope::Webhooks))
        .with_state(state)
}

fn endpoint_id(raw: &str) -> Result<Uuid, WebhookError> {
    raw.parse().map_err(|_| WebhookError::EndpointNotFound)
}

fn delivery_id(raw: &str) -> Result<Uuid, WebhookError> {
    raw.parse().map_err(|_| WebhookError::DeliveryNotFound)
}

/// `POST /api/v2/webhooks/endpoints`.
#[derive(Debug, Deserialize, ToSchema)]
#[schema(as = EndpointCreateBody)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    /// `https://…` (http only to loopback, where the relayer allows it).
    pub url: String,
    /// Event types, e.g. `["chittyid.minted"]` (docs/webhooks.md).
    pub event_types: Vec<String>,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
    /// An email address told when the relayer disables the endpoint.
    #[serde(default)]
    pub notify_email: Option<String>,
    /// An E.164 number texted when the relayer disables the endpoint.
    #[serde(default)]
    pub notify_sms: Option<String>,
}

/// An endpoint.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EndpointResponse {
    /// Its id.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// Free text.
    pub description: String,
    /// The event types it receives.
    pub event_types: Vec<String>,
    /// Whether it receives any.
    pub enabled: bool,
    /// Why the relayer disabled it, if it did.
    pub disabled_reason: Option<String>,
    /// Since when every delivery has failed.
    pub failing_since: Option<DateTime<Utc>>,
    /// Who is emailed when the relayer disables it.
    pub notify_email: Option<String>,
    /// Who is texted when the relayer disables it.
    pub notify_sms: Option<String>,
    /// Until when the previous secret also signs (after a rotation).
    pub previous_secret_valid_until: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl From<Endpoint> for EndpointResponse {
    fn from(e: Endpoint) -> Self {
        Self {
            id: e.id.to_string(),
            url: e.url,
            description: e.description,
            event_types: e.event_types,
            enabled: e.enabled,
            disabled_reason: e.disabled_reason,
            failing_since: e.failing_since,
            notify_email: e.notify_email,
            notify_sms: e.notify_sms,
            previous_secret_valid_until: e.previous_until.filter(|_| e.secret_generation > 1),
            created_at: e.created_at,
        }
    }
}

/// An endpoint with its signing secret: shown on creation and rotation only.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EndpointWithSecret {
    /// The endpoint.
    #[serde(flatten)]
    pub endpoint: EndpointResponse,
    /// `whsec_…`: the Standard Webhooks secret. It is not shown again.
    pub secret: String,
}

/// The key's endpoints.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EndpointList {
    /// Oldest first.
    pub endpoints: Vec<EndpointResponse>,
}

/// Registers an endpoint; its secret is in this answer only.
#[utoipa::path(post, path = "/api/v2/webhooks/endpoints", tag = "webhooks",
    request_body = CreateBody,
    responses((status = 201, body = EndpointWithSecret),
              (status = 400, body = ErrorBody, description = "`WEBHOOK_URL_INVALID`, `WEBHOOK_EVENT_TYPE_UNKNOWN`, `WEBHOOK_CONTACT_INVALID`"),
              (status = 422, body = ErrorBody, description = "`WEBHOOK_URL_FORBIDDEN`, `WEBHOOK_NOTIFIER_NOT_CONFIGURED`"),
              (status = 503, body = ErrorBody, description = "`FEATURE_DISABLED` (FF_WEBHOOKS)")),
    security(("api_key" = [])))]
pub async fn create(
    State(state): State<WebhookApi>,
    principal: Principal,
    ApiJson(body): ApiJson<CreateBody>,
) -> Result<(StatusCode, Json<EndpointWithSecret>), ApiError> {
    let created = state
        .webhooks
        .create(
            &principal.key_id,
            &body.url,
            &body.event_types,
            body.description,
            Contacts {
                email: body.notify_email,
                sms: body.notify_sms,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(EndpointWithSecret {
            endpoint: created.endpoint.into(),
            secret: created.secret,
        }),
    ))
}

/// The key's endpoints.
#[utoipa::path(get, path = "/api/v2/webhooks/endpoints", tag = "webhooks",
    responses((status = 200, body = EndpointList)),
    security(("api_key" = [])))]
pub async fn list(
    State(state): State<WebhookApi>,
    principal: Principal,
) -> Result<Json<EndpointList>, ApiError> {
    let endpoints = state.webhooks.endpoints(&principal.key_id).await?;
    Ok(Json(EndpointList {
        endpoints: endpoints.into_iter().map(Into::into).collect(),
    }))
}

/// One endpoint.
#[utoipa::path(get, path = "/api/v2/webhooks/endpoints/{id}", tag = "webhooks",
    params(("id" = String, Path)),
    responses((status = 200, body = EndpointResponse),
              (status = 404, body = ErrorBody, description = "`WEBHOOK_ENDPOINT_NOT_FOUND`")),
    security(("api_key" = [])))]
pub async fn get(
    State(state): State<WebhookApi>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<EndpointResponse>, ApiError> {
    let endpoint = state
        .webhooks
        .endpoint(&principal.key_id, endpoint_id(&id)?)
        .await?;
    Ok(Json(endpoint.into()))
}

/// `PATCH /api/v2/webhooks/endpoints/{id}`: the fields to change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    /// A new URL.
    #[serde(default)]
    pub url: Option<String>,
    /// New event types.
    #[serde(default)]
    pub event_types: Option<Vec<String>>,
    /// New description.
    #[serde(default)]
    pub description: Option<String>,
    /// Disable, or enable (which forgets the failing streak).
    #[serde(default)]
    pub enabled: Option<bool>,
    /// A new email contact (`""` removes it).
    #[serde(default)]
    pub notify_email: Option<String>,
    /// A new SMS contact (`""` removes it).
    #[serde(default)]
    pub notify_sms: Option<String>,
}

/// Changes an endpoint.
#[utoipa::path(patch, path = "/api/v2/webhooks/endpoints/{id}", tag = "webhooks",
    params(("id" = String, Path)), request_body = UpdateBody,
    responses((status = 200, body = EndpointResponse),
              (status = 400, body = ErrorBody, description = "`WEBHOOK_URL_INVALID`, `WEBHOOK_EVENT_TYPE_UNKNOWN`, `WEBHOOK_CONTACT_INVALID`"),
              (status = 404, body = ErrorBody, description = "`WEBHOOK_ENDPOINT_NOT_FOUND`"),
              (status = 422, body = ErrorBody, description = "`WEBHOOK_URL_FORBIDDEN`, `WEBHOOK_NOTIFIER_NOT_CONFIGURED`")),
    security(("api_key" = [])))]
pub async fn update(
    State(state): State<WebhookApi>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateBody>,
) -> Result<Json<EndpointResponse>, ApiError> {
    let endpoint = state
        .webhooks
        .update(
            &principal.key_id,
            endpoint_id(&id)?,
            Patch {
                url: body.url,
                description: body.description,
                event_types: body.event_types,
                enabled: body.enabled,
                contacts: Contacts {
                    email: body.notify_email,
                    sms: body.notify_sms,
                },
            },
        )
        .await?;
    Ok(Json(endpoint.into()))
}

/// Deletes an endpoint and its deliveries.
#[utoipa::path(delete, path = "/api/v2/webhooks/endpoints/{id}", tag = "webhooks",
    params(("id" = String, Path)),
    responses((status = 204),
              (status = 404, body = ErrorBody, description = "`WEBHOOK_ENDPOINT_NOT_FOUND`")),
    security(("api_key" = [])))]
pub async fn delete(
    State(state): State<WebhookApi>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state
        .webhooks
        .delete(&principal.key_id, endpoint_id(&id)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts a new signing secret; the previous one keeps signing for 24 h (both signatures are
/// sent meanwhile).
#[utoipa::path(post, path = "/api/v2/webhooks/endpoints/{id}/rotate", tag = "webhooks",
    params(("id" = String, Path)),
    responses((status = 200, body = EndpointWithSecret),
              (status = 404, body = ErrorBody, description = "`WEBHOOK_ENDPOINT_NOT_FOUND`")),
    security(("api_key" = [])))]
pub async fn rotate(
    State(state): State<WebhookApi>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<EndpointWithSecret>, ApiError> {
    let rotated = state
        .webhooks
        .rotate(&principal.key_id, endpoint_id(&id)?)
        .await?;
    Ok(Json(EndpointWithSecret {
        endpoint: rotated.endpoint.into(),
        secret: rotated.secret,
    }))
}

/// A delivery.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryResponse {
    /// Its id.
    pub id: String,
    /// The endpoint.
    pub endpoint_id: String,
    /// The message id (`webhook-id`).
    pub message_id: String,
    /// The event type.
    pub event_type: String,
    /// `pending`, `succeeded` or `failed`.
    pub status: String,
    /// Attempts in the current schedule.
    pub attempts: i32,
    /// When the next attempt is due, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

impl From<DeliveryView> for DeliveryResponse {
    fn from(d: DeliveryView) -> Self {
        Self {
            id: d.id.to_string(),
            endpoint_id: d.endpoint_id.to_string(),
            message_id: d.message_id,
            event_type: d.event_type,
            status: d.status,
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            created_at: d.created_at,
        }
    }
}

/// One attempt.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AttemptResponse {
    /// When.
    pub attempted_at: DateTime<Utc>,
    /// The answer's status, if one came.
    pub status_code: Option<i32>,
    /// Request to answer, milliseconds.
    pub latency_ms: i32,
    /// The answer's first 1 KiB.
    pub response_body: String,
    /// Why no answer came.
    pub error: Option<String>,
}

impl From<AttemptView> for AttemptResponse {
    fn from(a: AttemptView) -> Self {
        Self {
            attempted_at: a.attempted_at,
            status_code: a.status_code,
            latency_ms: a.latency_ms,
            response_body: a.response_body,
            error: a.error,
        }
    }
}

/// A delivery with its attempts.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryDetail {
    /// The delivery.
    #[serde(flatten)]
    pub delivery: DeliveryResponse,
    /// Oldest first.
    pub attempts: Vec<AttemptResponse>,
}

/// The newest deliveries to an endpoint.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DeliveryList {
    /// Newest first.
    pub deliveries: Vec<DeliveryResponse>,
}

/// `?limit=` (1–500, default 100).
#[derive(Debug, Deserialize, IntoParams)]
pub struct LimitQuery {
    /// How many.
    pub limit: Option<i64>,
}

/// The newest deliveries to an endpoint.
#[utoipa::path(get, path = "/api/v2/webhooks/endpoints/{id}/deliveries", tag = "webhooks",
    params(("id" = String, Path), LimitQuery),
    responses((status = 200, body = DeliveryList),
              (status = 404, body = ErrorBody, description = "`WEBHOOK_ENDPOINT_NOT_FOUND`")),
    security(("api_key" = [])))]
pub async fn endpoint_deliveries(
    State(state): State<WebhookApi>,
    principal: Principal,
    Path(id): Path<String>,
    crate::platform::http::ApiQuery(query): crate::platform::http::ApiQuery<LimitQuery>,
) -> Result<Json<DeliveryList>, ApiError> {
    let deliveries = state
        .webhooks
        .deliveries(
            &principal.key_id,
            endpoint_id(&id)?,
            query.limit.unwrap_or(100),
        )
        .await?;
    Ok(Json(DeliveryList {
        deliveries: deliveries.into_iter().map(Into::into).collect(),
    }))
}

/// `POST /api/v2/webhooks/endpoints/{id}/replay`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaySinceBody {
    /// RFC 3339: every event since then that the endpoint would receive now is sent again.
    pub since: DateTime<Utc>,
}

/// How many deliveries a replay made due.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Replayed {
    /// Deliveries due now.
    pub replayed: u64,
}

/// Sends an endpoint every event since a time again (recovery after an outage).
#[utoipa::path(post, path = "/api/v2/webhooks/endpoints/{id}/replay", tag = "webhooks",
    params(("id" = String, Path)), request_body = ReplaySinceBody,
    responses((status = 202, body = Replayed),
              (status = 404, body = ErrorBody, description = "`WEBHOOK_ENDPOINT_NOT_FOUND`")),
    security(("api_key" = [])))]
pub async fn replay_endpoint(
    State(state): State<WebhookApi>,
    principal: Principal,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ReplaySinceBody>,
) -> Result<(StatusCode, Json<Replayed>), ApiError> {
    let replayed = state
        .webhooks
        .replay_since(&principal.key_id, endpoint_id(&id)?, body.since)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(Replayed { replayed })))
}

/// A delivery and its attempts (status code, latency, the answer's first 1 KiB).
#[utoipa::path(get, path = "/api/v2/webhooks/deliveries/{id}", tag = "webhooks",
    params(("id" = String, Path)),
    responses((status = 200, body = DeliveryDetail),
              (status = 404, body = ErrorBody, description = "`WEBHOOK_DELIVERY_NOT_FOUND`")),
    security(("api_key" = [])))]
pub async fn delivery(
    State(state): State<WebhookApi>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<DeliveryDetail>, ApiError> {
    let (delivery, attempts) = state
        .webhooks
        .delivery(&principal.key_id, delivery_id(&id)?)
        .await?;
    Ok(Json(DeliveryDetail {
        delivery: delivery.into(),
        attempts: attempts.into_iter().map(Into::into).collect(),
    }))
}

/// Sends a delivery again, on a new schedule.
#[utoipa::path(post, path = "/api/v2/webhooks/deliveries/{id}/replay", tag = "webhooks",
    params(("id" = String, Path)),
    responses((status = 202, body = Replayed),
              (status = 404, body = ErrorBody, description = "`WEBHOOK_DELIVERY_NOT_FOUND`")),
    security(("api_key" = [])))]
pub async fn replay_delivery(
    State(state): State<WebhookApi>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<(StatusCode, Json<Replayed>), ApiError> {
    state
        .webhooks
        .replay(&principal.key_id, delivery_id(&id)?)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(Replayed { replayed: 1 })))
}
