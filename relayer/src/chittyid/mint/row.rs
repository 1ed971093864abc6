//! The persisted shape of a minted ID.

use std::sync::Arc;

use veil_chittyid::EntityType;

/// A minted ID and all of its evidence, as persisted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintRow {
    /// The formatted ID.
    pub id: String,
    /// Namespace.
    pub namespace: String,
    /// Entity type.
    pub entity: EntityType,
    /// `YYMM` of the round.
    pub yymm: String,
    /// 8 sequence characters.
    pub sequence: String,
    /// Trust level.
    pub trust: u8,
    /// SHA-256 of the content.
    pub content_hash: [u8; 32],
    /// Request nonce.
    pub nonce: Vec<u8>,
    /// drand round.
    pub round: u64,
    /// drand randomness.
    pub randomness: [u8; 32],
    /// drand signature.
    pub signature: Arc<[u8]>,
    /// Collision counter.
    pub counter: u32,
    /// alpha.
    pub alpha: [u8; 32],
    /// VRF output.
    pub beta: [u8; 64],
    /// VRF proof.
    pub proof: [u8; 80],
    /// VRF key id.
    pub key_id: Arc<str>,
    /// Who asked.
    pub api_key_id: Option<String>,
    /// The `Idempotency-Key` it was sent with, if any.
    pub idempotency: Option<Arc<Idempotency>>,
    /// Metadata to store with it, if any.
    pub metadata: Option<Arc<Metadata>>,
}

/// A mint's metadata: a JSON object of scalar values (checked), and whether anyone may read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// The object, as JSON text.
    pub json: String,
    /// Readable by anyone (else only by who minted).
    pub public: bool,
}

/// A mint sent with an `Idempotency-Key`: who asked, the key, and the request's fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    /// The API key's id, or `wallet:<chain>:<address>`.
    pub requester: String,
    /// The key as sent.
    pub key: String,
    /// SHA-256 of the request's fields.
    pub fingerprint: [u8; 32],
    /// Seconds the key answers this mint's ID (`RELAYER_IDEMPOTENCY_TTL_HOURS`).
    pub ttl_secs: i64,
}
