//! Every webhooks refusal, and how it is answered.

use serde_json::json;

use super::{events::EVENT_TYPES, notifications::ContactError, target::TargetError};
use crate::platform::{
    db::StoreError,
    error::{ApiError, ErrorCode},
    notify::Channel,
};

/// Why a webhooks request was refused.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    /// The URL is not one a delivery may go to.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// An event type that is not in the catalogue.
    #[error("`{0}` is not an event type (see docs/webhooks.md)")]
    UnknownEventType(String),
    /// No event types.
    #[error("`event_types` must name at least one event type")]
    NoEventTypes,
    /// The key has no endpoint with this id.
    #[error("no webhook endpoint of this key has this id")]
    EndpointNotFound,
    /// The key has no delivery with this id.
    #[error("no webhook delivery of this key has this id")]
    DeliveryNotFound,
    /// A notification contact is malformed.
    #[error(transparent)]
    Contact(#[from] ContactError),
    /// A contact names a channel the relayer cannot send on.
    #[error("this relayer has no {0} notifier; its operator configures one (docs/webhooks.md)")]
    NotifierNotConfigured(Channel),
    /// PostgreSQL failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<WebhookError> for ApiError {
    fn from(e: WebhookError) -> Self {
        use WebhookError as E;
        let message = e.to_string();
        match e {
            E::Target(TargetError::Forbidden { address, class }) => {
                ApiError::new(ErrorCode::WebhookUrlForbidden, message)
                    .with_details(json!({ "address": address.to_string(), "class": class }))
            }
            E::Target(TargetError::Unresolvable(host)) => {
                ApiError::new(ErrorCode::WebhookUrlInvalid, message)
                    .with_details(json!({ "field": "url", "host": host }))
            }
            E::Target(_) => ApiError::new(ErrorCode::WebhookUrlInvalid, message)
                .with_details(json!({ "field": "url" })),
            E::UnknownEventType(t) => ApiError::new(ErrorCode::WebhookEventTypeUnknown, message)
                .with_details(json!({ "event_type": t, "known": EVENT_TYPES })),
            E::NoEventTypes => ApiError::new(ErrorCode::WebhookEventTypeUnknown, message)
                .with_details(json!({ "known": EVENT_TYPES })),
            E::EndpointNotFound => ApiError::new(ErrorCode::WebhookEndpointNotFound, message),
            E::DeliveryNotFound => ApiError::new(ErrorCode::WebhookDeliveryNotFound, message),
            E::Contact(c) => ApiError::new(ErrorCode::WebhookContactInvalid, message)
                .with_details(json!({ "field": c.field() })),
            E::NotifierNotConfigured(channel) => {
                ApiError::new(ErrorCode::WebhookNotifierNotConfigured, message)
                    .with_details(json!({ "channel": channel.as_str() }))
            }
            E::Store(error) => error.into(),
        }
    }
}
