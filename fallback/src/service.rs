//! The transport-free fallback service: validates a request, derives a sequence, signs and
//! stores a [`ProvisionalRecord`]; answers status, lookups and export pages. It knows nothing
//! of HTTP; the handlers in [`crate::api`] call it on the blocking pool.
//!
//! **Sequence derivation.** The 8 sequence characters are the first 40 bits of
//!
//! ```text
//! SHA-256( lp(SEQUENCE_DOMAIN) ‖ public_key(32) ‖ u64be(seq_no) ‖ content_hash(32)
//!          ‖ lp(request_nonce) ‖ u32be(attempt) )        lp(x) = u64be(len x) ‖ x
//! ```
//!
//! in Crockford base 32 ([`veil_chittyid::sequence_from_bytes`]). `seq_no` is unique, so
//! identical requests still get distinct IDs. If the `(namespace, YYMM, sequence)` slot is
//! already taken in the store, `attempt` is incremented, up to [`MAX_SEQUENCE_ATTEMPTS`].

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use veil_chittyid::{
    provisional::{utc_year_month, ProvisionalDraft, ProvisionalError, ProvisionalRecord},
    sequence_from_bytes, ChittyId, ChittyIdError, EntityType, IssuerClass,
};

use crate::{
    key::FallbackKey,
    store::{slot_key, Store, StoreError},
};

/// The domain separator of the sequence derivation.
pub const SEQUENCE_DOMAIN: &[u8] = b"chitty-veil/fallback/sequence/v1";

/// How many sequences are tried for one request before giving up.
pub const MAX_SEQUENCE_ATTEMPTS: u32 = 16;

/// The default export page size.
pub const DEFAULT_PAGE: u32 = 100;

/// The largest export page.
pub const MAX_PAGE: u32 = 1000;

/// Why a service call failed. Each variant names the rule broken.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// Not exactly one of `content` and `content_hash`.
    #[error(
        "give exactly one of `content` (base64) and `content_hash` (hex SHA-256); {given} given"
    )]
    Content {
        /// `"both"` or `"neither"`.
        given: &'static str,
    },
    /// `content` is not standard base64, or `content_hash` not 64 hex characters.
    #[error("`{field}` is not {}", if *field == "content" { "standard base64" } else { "64 hex characters (a SHA-256)" })]
    ContentEncoding {
        /// `content` or `content_hash`.
        field: &'static str,
    },
    /// `request_nonce` is missing or not 1–64 bytes of hex.
    #[error("`request_nonce` must be 1 to 64 bytes of hex (2 to 128 hex characters)")]
    Nonce,
    /// `namespace` is missing or not 3 or 4 uppercase letters.
    #[error("`namespace` must be 3 or 4 uppercase letters (A-Z)")]
    Namespace,
    /// `entity_type` is missing or not one of the six letters.
    #[error("`entity_type` must be one of P, L, T, E, A, I")]
    EntityType,
    /// `trust_level` outside 0–9.
    #[error("`trust_level` must be 0 to 9, found {found}")]
    TrustLevel {
        /// The value given.
        found: i64,
    },
    /// A lookup by a string that is not a ChittyID.
    #[error("not a valid ChittyID: {0}")]
    Id(#[source] ChittyIdError),
    /// An export page size outside 1–1000.
    #[error("`limit` must be 1 to {MAX_PAGE}, found {found}")]
    Limit {
        /// The value given.
        found: u32,
    },
    /// A valid ID this fallback never issued.
    #[error("no provisional record {id}")]
    NotFound {
        /// The ID asked for.
        id: String,
    },
    /// Every attempt hit an occupied `(namespace, YYMM, sequence)` slot.
    #[error("no free sequence after {attempts} attempts; retry the request")]
    SequenceExhausted {
        /// Attempts made.
        attempts: u32,
    },
    /// `seq_no` reached `u64::MAX`.
    #[error("the record counter is exhausted")]
    CounterOverflow,
    /// The embedded store failed.
    #[error("store: {0}")]
    Store(#[from] StoreError),
    /// A validated request produced an invalid ID (a bug).
    #[error("a validated request produced an invalid ID: {0}")]
    Grammar(#[source] ChittyIdError),
    /// A validated request produced an unsignable draft (a bug).
    #[error("a validated request produced an unsignable record: {0}")]
    Sign(#[from] ProvisionalError),
}

/// Where `issued_at` comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clock {
    /// The system clock.
    System,
    /// A fixed unix time (tests, replays).
    Fixed(i64),
}

impl Clock {
    /// Unix seconds now.
    pub fn now(self) -> i64 {
        match self {
            Self::System => match SystemTime::now().duration_since(UNIX_EPOCH) {
                Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                Err(before) => i64::try_from(before.duration().as_secs())
                    .map(|s| -s)
                    .unwrap_or(i64::MIN),
            },
            Self::Fixed(t) => t,
        }
    }
}

/// `POST /api/v2/fallback/request` as sent. Every field is optional here so that a missing one
/// is refused by name ([`IssueBody::validate`]); unknown fields are refused.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IssueBody {
    /// 3 or 4 uppercase letters.
    pub namespace: Option<String>,
    /// One of `P L T E A I`.
    pub entity_type: Option<String>,
    /// 0–9; 0 when absent.
    pub trust_level: Option<i64>,
    /// The content, standard base64. Exclusive with `content_hash`.
    pub content: Option<String>,
    /// SHA-256 of the content, 64 hex characters. Exclusive with `content`.
    pub content_hash: Option<String>,
    /// 1–64 bytes of hex.
    pub request_nonce: Option<String>,
}

/// A validated issuance request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssueRequest {
    /// The namespace.
    pub namespace: String,
    /// The entity type.
    pub entity: EntityType,
    /// The trust level, 0–9.
    pub trust: u8,
    /// SHA-256 of the content.
    pub content_hash: [u8; 32],
    /// The nonce, 1–64 bytes.
    pub nonce: Vec<u8>,
}

impl IssueBody {
    /// Checks every field, in the order namespace, entity type, trust level, content, nonce.
    pub fn validate(self) -> Result<IssueRequest, ServiceError> {
        let namespace = self.namespace.ok_or(ServiceError::Namespace)?;
        let entity = self
            .entity_type
            .as_deref()
            .and_then(EntityType::from_letter)
            .ok_or(ServiceError::EntityType)?;
        let found = self.trust_level.unwrap_or(0);
        let trust = u8::try_from(found)
            .ok()
            .filter(|t| *t <= 9)
            .ok_or(ServiceError::TrustLevel { found })?;
        // The one grammar decides what a namespace is: a probe ID with a placeholder sequence
        // and month fails only on the namespace.
        ChittyId::new(
            IssuerClass::Fallback,
            &namespace,
            "00000000",
            entity,
            0,
            1,
            trust,
        )
        .map_err(|e| match e {
            ChittyIdError::InvalidNamespace { .. } => ServiceError::Namespace,
            other => ServiceError::Grammar(other),
        })?;
        let content_hash = match (self.content, self.content_hash) {
            (Some(content), None) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(content.as_bytes())
                    .map_err(|_| ServiceError::ContentEncoding { field: "content" })?;
                Sha256::digest(&bytes).into()
            }
            (None, Some(hash)) => {
                let bytes =
                    hex::decode(hash.as_bytes()).map_err(|_| ServiceError::ContentEncoding {
                        field: "content_hash",
                    })?;
                <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| {
                    ServiceError::ContentEncoding {
                        field: "content_hash",
                    }
                })?
            }
            (Some(_), Some(_)) => return Err(ServiceError::Content { given: "both" }),
            (None, None) => return Err(ServiceError::Content { given: "neither" }),
        };
        let nonce = self
            .request_nonce
            .and_then(|n| hex::decode(n.as_bytes()).ok())
            .filter(|n| (1..=veil_chittyid::provisional::MAX_NONCE_LEN).contains(&n.len()))
            .ok_or(ServiceError::Nonce)?;
        Ok(IssueRequest {
            namespace,
            entity,
            trust,
            content_hash,
            nonce,
        })
    }
}

/// `GET /api/v2/fallback/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    /// Always `"ok"` when the store answers.
    pub status: String,
    /// Lowercase hex of the verifying key the relayer pins.
    pub public_key: String,
    /// Records held.
    pub issued: u64,
    /// The last `seq_no` issued (0 before the first).
    pub last_seq_no: u64,
}

/// `GET /api/v2/fallback/records`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordsPage {
    /// Records with `seq_no > after`, ascending, at most `limit`.
    pub records: Vec<ProvisionalRecord>,
    /// The `after` of the next page, or `None` when this page reached the end.
    pub next_after: Option<u64>,
}

/// The fallback minter: its store, its key, its clock.
#[derive(Debug)]
pub struct FallbackService {
    store: Store,
    key: FallbackKey,
    clock: Clock,
}

impl FallbackService {
    /// A service over an opened store, with the system clock.
    pub fn new(store: Store, key: FallbackKey) -> Self {
        Self {
            store,
            key,
            clock: Clock::System,
        }
    }

    /// Opens (or creates) the redb file at `path` for `key`.
    pub fn open(path: impl AsRef<std::path::Path>, key: FallbackKey) -> Result<Self, StoreError> {
        let store = Store::open(path, &key.verifying_key())?;
        Ok(Self::new(store, key))
    }

    /// Replaces the clock.
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// The signing key's public half, as the relayer pins it.
    pub fn key(&self) -> &FallbackKey {
        &self.key
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Issues, signs and durably stores one provisional record.
    pub fn issue(&self, request: &IssueRequest) -> Result<ProvisionalRecord, ServiceError> {
        let issued_at = self.clock.now();
        let (year, month) = utc_year_month(issued_at);
        let public_key = self.key.verifying_key();
        // One write transaction: redb serialises writers, so the counter read here is the one
        // committed below.
        let mut txn = self.store.begin_issue()?;
        let seq_no = txn
            .last_seq_no()?
            .checked_add(1)
            .ok_or(ServiceError::CounterOverflow)?;
        for attempt in 0..MAX_SEQUENCE_ATTEMPTS {
            let sequence = derive_sequence(
                public_key.as_bytes(),
                seq_no,
                &request.content_hash,
                &request.nonce,
                attempt,
            );
            let id = ChittyId::new(
                IssuerClass::Fallback,
                &request.namespace,
                &sequence,
                request.entity,
                year,
                month,
                request.trust,
            )
            .map_err(ServiceError::Grammar)?;
            // A (namespace, YYMM, sequence) slot names one ID; an occupied one means retry.
            let slot = slot_key(&id);
            if txn.slot_taken(&slot)? {
                tracing::warn!(seq_no, attempt, "sequence slot taken; retrying");
                continue;
            }
            let record = ProvisionalRecord::sign(
                ProvisionalDraft {
                    seq_no,
                    provisional_id: id,
                    content_hash: request.content_hash,
                    request_nonce: request.nonce.clone(),
                    issued_at,
                },
                self.key.signing_key(),
            )?;
            txn.insert(&record, &slot)?;
            txn.commit()?;
            tracing::info!(seq_no, provisional_id = %record.provisional_id, "issued");
            return Ok(record);
        }
        Err(ServiceError::SequenceExhausted {
            attempts: MAX_SEQUENCE_ATTEMPTS,
        })
    }

    /// Counts and the public key.
    pub fn status(&self) -> Result<StatusReport, ServiceError> {
        let counts = self.store.counts()?;
        Ok(StatusReport {
            status: "ok".into(),
            public_key: self.key.public_key_hex(),
            issued: counts.issued,
            last_seq_no: counts.last_seq_no,
        })
    }

    /// The record of a provisional ID.
    pub fn record(&self, provisional_id: &str) -> Result<ProvisionalRecord, ServiceError> {
        // Only a well-formed ID is looked up; the canonical form is the index key.
        let id: ChittyId = provisional_id.parse().map_err(ServiceError::Id)?;
        let canonical = id.to_string();
        self.store
            .get_by_id(&canonical)?
            .ok_or(ServiceError::NotFound { id: canonical })
    }

    /// Records with `seq_no > after`, ascending, at most `limit` (1–1000).
    pub fn records(&self, after: u64, limit: u32) -> Result<RecordsPage, ServiceError> {
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(ServiceError::Limit { found: limit });
        }
        let (records, more) = self.store.page(after, limit as usize)?;
        let next_after = if more {
            records.last().map(|r| r.seq_no)
        } else {
            None
        };
        Ok(RecordsPage {
            records,
            next_after,
        })
    }
}

/// The 8 sequence characters for one attempt (see the module documentation).
pub fn derive_sequence(
    public_key: &[u8; 32],
    seq_no: u64,
    content_hash: &[u8; 32],
    nonce: &[u8],
    attempt: u32,
) -> String {
    let mut h = Sha256::new();
    h.update((SEQUENCE_DOMAIN.len() as u64).to_be_bytes());
    h.update(SEQUENCE_DOMAIN);
    h.update(public_key);
    h.update(seq_no.to_be_bytes());
    h.update(content_hash);
    h.update((nonce.len() as u64).to_be_bytes());
    h.update(nonce);
    h.update(attempt.to_be_bytes());
    let digest = h.finalize();
    let mut first = [0u8; 5];
    first.copy_from_slice(&digest[..5]);
    sequence_from_bytes(&first)
}

#[cfg(test)]
mod tests;
