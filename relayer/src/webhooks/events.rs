//! The event catalogue (`docs/webhooks.md` shows a payload of each).

/// `chittyid.minted`: an ID was minted and is durable (its key only).
pub const CHITTYID_MINTED: &str = crate::chittyid::MINTED_EVENT;
/// `chittyid.anchored`: a batch of IDs was anchored on chain (every subscriber).
pub const CHITTYID_ANCHORED: &str = crate::chittyid::ANCHORED_EVENT;
/// `webhook.endpoint.disabled`: one of the key's endpoints failed for too long.
pub const ENDPOINT_DISABLED: &str = "webhook.endpoint.disabled";

/// The event types an endpoint may subscribe to (`docs/webhooks.md`).
pub const EVENT_TYPES: &[&str] = &[CHITTYID_MINTED, CHITTYID_ANCHORED, ENDPOINT_DISABLED];
