//! The request and answer types of the calls the client types; every other route is reachable
//! through [`Client::call`](crate::Client::call) with JSON.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `POST /api/v2/chittyid/mint` (`docs/api.md`, "Minting").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MintRequest {
    /// 3–4 uppercase letters.
    pub namespace: String,
    /// One of `P L T E A I`.
    pub entity_type: String,
    /// 0–9.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trust_level: Option<u8>,
    /// SHA-256 of the content, hex (or give `content`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
    /// The content, standard base64.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// 1–64 bytes of hex; the relayer makes one when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_nonce: Option<String>,
    /// Off-chain metadata (scalar values).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// Whether anyone may read the metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata_public: Option<bool>,
}

impl MintRequest {
    /// A mint of the content whose SHA-256 is `content_hash` (hex).
    pub fn content_hash(namespace: &str, entity_type: &str, content_hash: &str) -> Self {
        Self {
            namespace: namespace.to_owned(),
            entity_type: entity_type.to_owned(),
            content_hash: Some(content_hash.to_owned()),
            ..Self::default()
        }
    }

    /// The fallback minter's body: the same fields without metadata, with a fresh request nonce
    /// when none is given (`docs/fallback.md`).
    pub(crate) fn fallback_body(&self) -> Value {
        serde_json::json!({
            "namespace": self.namespace,
            "entity_type": self.entity_type,
            "trust_level": self.trust_level.unwrap_or(0),
            "content_hash": self.content_hash,
            "content": self.content,
            // The fallback needs a nonce; the relayer makes its own when none is given.
            "request_nonce": self
                .request_nonce
                .clone()
                .unwrap_or_else(|| hex::encode(rand::random::<[u8; 16]>())),
        })
    }
}

/// A minted ID.
#[derive(Debug, Clone, PartialEq)]
pub struct Minted {
    /// The ID (a provisional `01-F-…` one when the fallback minted it).
    pub id: String,
    /// Minted by the fallback minter: provisional until the relayer reconciles it.
    pub provisional: bool,
    /// The relayer answered an earlier mint under the same idempotency key.
    pub replayed: bool,
    /// The relayer could not be reached and the client went to the fallback minter itself.
    pub via_fallback: bool,
    /// The `Idempotency-Key` the mint was sent under.
    pub idempotency_key: String,
    /// The whole answer (`evidence`, `provisional_record`, …).
    pub body: Value,
}

/// `GET /api/v2/challenges` filters (`docs/api.md`, "Listing challenges").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChallengeQuery {
    /// A wallet that is a party.
    pub party: Option<String>,
    /// The current status (`awaiting_counterparty`, …).
    pub status: Option<String>,
    /// The mode (`fire`, …).
    pub mode: Option<String>,
    /// The previous page's `next_cursor`.
    pub cursor: Option<String>,
    /// 1–200.
    pub limit: Option<u32>,
}

impl ChallengeQuery {
    pub(crate) fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        for (name, value) in [
            ("party", &self.party),
            ("status", &self.status),
            ("mode", &self.mode),
            ("cursor", &self.cursor),
        ] {
            if let Some(v) = value {
                out.push((name, v.clone()));
            }
        }
        if let Some(limit) = self.limit {
            out.push(("limit", limit.to_string()));
        }
        out
    }
}

/// A wallet's session (`POST /api/v2/auth/session`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Session {
    /// `vs_…`, sent as `Authorization: Bearer`.
    pub token: String,
    /// `vr_…`, traded once for new tokens.
    pub refresh_token: String,
    /// RFC 3339.
    pub expires_at: String,
    /// CAIP-2.
    pub chain_id: String,
    /// The wallet.
    pub address: String,
}
