//! Minting (SPEC §5.2): the latest verified drand beacon, `alpha` over the beacon and the
//! request, the relayer's ECVRF proof, the sequence from `beta`, a collision retry with a
//! counter, and a durable commit before the answer.
//!
//! Counters are allocated in memory per `alpha` base (an LRU), so concurrent mints of the same
//! content and nonce in the same round take counters 0, 1, 2, … instead of colliding on the
//! same sequence; the database's unique `(namespace, yymm, sequence)` stays the authority and a
//! collision there (another instance, a restart, a genuine 40-bit clash) moves to the next
//! counter.

pub mod alpha;
pub mod row;
pub mod service;
pub mod writer;

use std::{num::NonZeroUsize, sync::Arc};

use lru::LruCache;
use parking_lot::Mutex;
use sha2::{Digest, Sha256};
use veil_chittyid::{sequence_from_bytes, ChittyId, ChittyIdError, EntityType, IssuerClass};
use veil_drand::VerifiedBeacon;

pub use self::row::{Idempotency, Metadata, MintRow};
use self::{
    alpha::AlphaInput,
    writer::{Commit, CommitQueue, QueueError},
};
use crate::{
    chittyid::evidence::{yymm_of, DrandEvidence, Evidence, VrfEvidence, VRF_SUITE},
    platform::error::{ApiError, ErrorCode},
    platform::metrics::Metrics,
};

/// How many counters a mint tries before giving up.
pub const MAX_ATTEMPTS: u32 = 16;

/// What a caller asks to mint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MintRequest {
    /// Namespace (validated by the grammar).
    pub namespace: String,
    /// Entity type.
    pub entity: EntityType,
    /// Trust level 0–9.
    pub trust: u8,
    /// SHA-256 of the content.
    pub content_hash: [u8; 32],
    /// Request nonce, 1–64 bytes.
    pub nonce: Vec<u8>,
    /// The API key that asked (audit).
    pub api_key_id: Option<String>,
    /// The `Idempotency-Key` it was sent with, if any.
    pub idempotency: Option<Arc<Idempotency>>,
    /// Metadata to store with it, if any.
    pub metadata: Option<Arc<Metadata>>,
}

/// Why a mint failed.
#[derive(Debug, thiserror::Error)]
pub enum MintError {
    /// The request does not make a valid ID (namespace, trust).
    #[error(transparent)]
    Id(#[from] ChittyIdError),
    /// The round's time has no calendar month (corrupt beacon round).
    #[error("drand round {0} has no UTC month")]
    RoundOutOfRange(u64),
    /// No free sequence within [`MAX_ATTEMPTS`] counters.
    #[error("no free sequence after {MAX_ATTEMPTS} counters")]
    CollisionBudget,
    /// Another mint with the same `Idempotency-Key` committed first: answer with its ID.
    #[error("a mint with this idempotency key was committed first")]
    Replayed,
    /// Persisting failed.
    #[error(transparent)]
    Queue(#[from] QueueError),
}

impl From<MintError> for ApiError {
    fn from(e: MintError) -> Self {
        match e {
            MintError::Id(e) => e.into(),
            MintError::RoundOutOfRange(_) => ApiError::internal("mint", e),
            // The handler answers a replay before it gets here.
            MintError::Replayed => ApiError::internal("mint", e),
            MintError::CollisionBudget => ApiError::new(
                ErrorCode::MintCollisionBudgetExhausted,
                format!("no free sequence after {MAX_ATTEMPTS} counters; retry"),
            )
            .retry_after(1),
            MintError::Queue(QueueError::Store(store)) => match Arc::try_unwrap(store) {
                Ok(store) => store.into(),
                Err(shared) => match &*shared {
                    crate::platform::db::StoreError::Unavailable(_) => ApiError::new(
                        ErrorCode::DatabaseUnavailable,
                        "the database is unavailable; retry later",
                    )
                    .retry_after(1),
                    crate::platform::db::StoreError::Query(cause) => {
                        ApiError::internal("mint commit", cause)
                    }
                },
            },
            MintError::Queue(QueueError::Closed) => ApiError::internal("mint", e),
        }
    }
}

/// The VRF key and its identity.
pub struct VrfKey {
    secret: veil_vrf::SecretKey,
    /// Public key.
    pub public_key: [u8; 32],
    /// Hex of the first 8 bytes of SHA-256(public key).
    pub key_id: Arc<str>,
}

impl VrfKey {
    /// From a 32-byte Ed25519-style secret.
    pub fn from_secret(bytes: &[u8; 32]) -> Self {
        let secret = veil_vrf::SecretKey::from_bytes(bytes);
        let public_key = secret.public_key();
        let key_id = hex::encode(&Sha256::digest(public_key)[..8]).into();
        Self {
            secret,
            public_key,
            key_id,
        }
    }
}

/// Turns beacons and requests into persisted IDs.
pub struct Minter {
    key: VrfKey,
    chain: veil_drand::ChainConfig,
    counters: Mutex<LruCache<[u8; 32], u32>>,
    queue: CommitQueue,
    metrics: Metrics,
}

impl Minter {
    /// A minter committing through `queue`.
    pub fn new(
        key: VrfKey,
        chain: veil_drand::ChainConfig,
        queue: CommitQueue,
        metrics: Metrics,
    ) -> Self {
        Self {
            key,
            chain,
            counters: Mutex::new(LruCache::new(NonZeroUsize::new(65_536).expect("non-zero"))),
            queue,
            metrics,
        }
    }

    /// The VRF key.
    pub fn key(&self) -> &VrfKey {
        &self.key
    }

    /// Takes the next counter for an alpha base.
    fn next_counter(&self, base: [u8; 32]) -> u32 {
        let mut counters = self.counters.lock();
        let slot = counters.get_or_insert_mut(base, || 0);
        let counter = *slot;
        *slot = slot.saturating_add(1);
        counter
    }

    /// Evaluates the VRF for one counter: the ID and its evidence, not yet persisted.
    pub fn evaluate(
        &self,
        beacon: &VerifiedBeacon,
        signature: &Arc<[u8]>,
        request: &MintRequest,
        counter: u32,
    ) -> Result<MintRow, MintError> {
        let input = AlphaInput {
            round: beacon.round,
            randomness: &beacon.randomness,
            content_hash: &request.content_hash,
            namespace: &request.namespace,
            entity: request.entity,
            nonce: &request.nonce,
        };
        let alpha = input.alpha(counter);
        let (proof, beta) = self.key.secret.prove_with_output(&alpha);
        let mut head = [0u8; 5];
        head.copy_from_slice(&beta[..5]);
        let sequence = sequence_from_bytes(&head);
        let (year, month) = self
            .chain
            .round_time(beacon.round)
            .and_then(yymm_of)
            .ok_or(MintError::RoundOutOfRange(beacon.round))?;
        let id = ChittyId::new(
            IssuerClass::Authoritative,
            &request.namespace,
            &sequence,
            request.entity,
            year,
            month,
            request.trust,
        )?;
        Ok(MintRow {
            id: id.to_string(),
            namespace: request.namespace.clone(),
            entity: request.entity,
            yymm: format!("{year:02}{month:02}"),
            sequence,
            trust: request.trust,
            content_hash: request.content_hash,
            nonce: request.nonce.clone(),
            round: beacon.round,
            randomness: beacon.randomness,
            signature: signature.clone(),
            counter,
            alpha,
            beta,
            proof,
            key_id: self.key.key_id.clone(),
            api_key_id: request.api_key_id.clone(),
            idempotency: request.idempotency.clone(),
            metadata: request.metadata.clone(),
        })
    }

    /// The next candidate row for `request`: allocates a counter and evaluates the VRF.
    pub fn candidate(
        &self,
        beacon: &VerifiedBeacon,
        signature: &Arc<[u8]>,
        request: &MintRequest,
    ) -> Result<MintRow, MintError> {
        let base = AlphaInput {
            round: beacon.round,
            randomness: &beacon.randomness,
            content_hash: &request.content_hash,
            namespace: &request.namespace,
            entity: request.entity,
            nonce: &request.nonce,
        }
        .base_key();
        self.evaluate(beacon, signature, request, self.next_counter(base))
    }

    /// Counts a committed authoritative ID, or a collision.
    pub fn record(&self, commit: Commit) {
        match commit {
            Commit::Inserted => self
                .metrics
                .generation_total
                .with_label_values(&["A"])
                .inc(),
            Commit::Collision => self.metrics.sequence_collisions_total.inc(),
            Commit::Replayed => {}
        }
    }

    /// Mints through the group-commit queue: candidates until one commits.
    pub async fn mint(
        &self,
        beacon: &VerifiedBeacon,
        request: &MintRequest,
    ) -> Result<MintRow, MintError> {
        let signature: Arc<[u8]> = beacon.signature.clone().into();
        for _ in 0..MAX_ATTEMPTS {
            let row = self.candidate(beacon, &signature, request)?;
            let (commit, row) = self.queue.insert(row).await?;
            self.record(commit);
            match commit {
                Commit::Inserted => return Ok(row),
                Commit::Replayed => return Err(MintError::Replayed),
                Commit::Collision => {}
            }
        }
        Err(MintError::CollisionBudget)
    }

    /// The evidence of a freshly minted row (not yet batched).
    pub fn evidence(&self, row: &MintRow, created_at: &str) -> Evidence {
        Evidence {
            id: row.id.clone(),
            status: "pending".into(),
            namespace: row.namespace.clone(),
            entity_type: row.entity.letter().to_string(),
            yymm: row.yymm.clone(),
            trust_level: row.trust,
            content_hash: hex::encode(row.content_hash),
            request_nonce: hex::encode(&row.nonce),
            drand: DrandEvidence {
                chain_hash: self.chain.chain_hash.clone(),
                round: row.round,
                randomness: hex::encode(row.randomness),
                signature: hex::encode(&row.signature),
            },
            vrf: VrfEvidence {
                suite: VRF_SUITE.into(),
                key_id: row.key_id.to_string(),
                public_key: hex::encode(self.key.public_key),
                counter: row.counter,
                alpha: hex::encode(row.alpha),
                proof: hex::encode(row.proof),
                beta: hex::encode(row.beta),
            },
            batch: None,
            reconciled_from: None,
            created_at: created_at.to_owned(),
        }
    }
}
