//! The event catalogue (`docs/webhooks.md` shows a payload of each).

/// `chittyid.minted`: an ID was minted and is durable (its key only).
pub const CHITTYID_MINTED: &str = crate::chittyid::MINTED_EVENT;
/// `chittyid.anchored`: a batch of IDs was anchored on chain (every subscriber).
pub const CHITTYID_ANCHORED: &str = crate::chittyid::ANCHORED_EVENT;
/// `webhook.endpoint.disabled`: one of the key's endpoints failed for too long.
pub const ENDPOINT_DISABLED: &str = "webhook.endpoint.disabled";

/// The event types an endpoint may subscribe to (`docs/webhooks.md`). The chain events below
/// are recorded by the indexer when it writes the transaction's rows (`indexer/src/persist.rs`);
/// a subscriber of one also receives its `….undone` when a rolled-back slot removes it.
pub const EVENT_TYPES: &[&str] = &[
    CHITTYID_MINTED,
    CHITTYID_ANCHORED,
    ENDPOINT_DISABLED,
    "challenge.created",
    "challenge.draft",
    "challenge.awaiting_counterparty",
    "challenge.accepted",
    "challenge.intent_locked",
    "challenge.disputed",
    "challenge.completed",
    "challenge.cancelled",
    "challenge.expired",
    "challenge.slashed",
    "challenge.refunded",
    "ownership.verified",
];
