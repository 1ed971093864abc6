//! Verification (SPEC §5.3): grammar and check character first, then the stored evidence with
//! the batch inclusion proof, served from an LRU + TTL cache whose hit ratio is exported.
//!
//! Cache entries are invalidated when their ID's batch is cut (see [`crate::chittyid::batch`]), and expire
//! after the TTL in any case, so a changed status (anchored) shows within the TTL.

use std::{
    num::NonZeroUsize,
    sync::Arc,
    time::{Duration, Instant},
};

use lru::LruCache;
use parking_lot::Mutex;
use sqlx::PgPool;
use veil_chittyid::{batch::BatchTree, ChittyId, EntityType, IssuerClass};

use crate::{
    chittyid::evidence::{
        AnchorEvidence, BatchEvidence, DrandEvidence, Evidence, VrfEvidence, VRF_SUITE,
    },
    chittyid::mint::alpha::AlphaInput,
    chittyid::store::{self, StoreError, StoredId},
    platform::error::{ApiError, ErrorCode},
    platform::metrics::Metrics,
};

/// Why a verification failed.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// Not a valid ID.
    #[error(transparent)]
    Id(#[from] veil_chittyid::ChittyIdError),
    /// Valid, but never issued here.
    #[error("ChittyID {0} was not issued by this relayer")]
    NotFound(String),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Stored data is inconsistent (e.g. a batch whose ids changed).
    #[error("stored evidence for {0} is inconsistent")]
    Corrupt(String),
}

impl From<VerifyError> for ApiError {
    fn from(e: VerifyError) -> Self {
        match e {
            VerifyError::Id(e) => e.into(),
            VerifyError::NotFound(id) => ApiError::new(
                ErrorCode::ChittyIdNotFound,
                format!("ChittyID {id} is well-formed but was not issued by this relayer"),
            ),
            VerifyError::Store(e) => e.into(),
            VerifyError::Corrupt(id) => ApiError::internal("verify", format!("corrupt {id}")),
        }
    }
}

struct Entry {
    at: Instant,
    evidence: Arc<Evidence>,
}

/// Verification with a validation cache.
pub struct Verifier {
    pool: PgPool,
    chain_hash: String,
    ttl: Duration,
    cache: Mutex<LruCache<String, Entry>>,
    trees: Mutex<LruCache<i64, Arc<BatchTree>>>,
    metrics: Metrics,
}

impl Verifier {
    /// A verifier with a cache of `capacity` entries living `ttl`.
    pub fn new(
        pool: PgPool,
        chain_hash: String,
        capacity: usize,
        ttl: Duration,
        metrics: Metrics,
    ) -> Self {
        let capacity = NonZeroUsize::new(capacity.max(1)).expect("non-zero");
        Self {
            pool,
            chain_hash,
            ttl,
            cache: Mutex::new(LruCache::new(capacity)),
            trees: Mutex::new(LruCache::new(NonZeroUsize::new(64).expect("non-zero"))),
            metrics,
        }
    }

    /// Drops cached evidence of `ids` (their batch or status changed).
    pub fn invalidate<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        let mut cache = self.cache.lock();
        for id in ids {
            cache.pop(id);
        }
    }

    fn cached(&self, id: &str) -> Option<Arc<Evidence>> {
        let mut cache = self.cache.lock();
        match cache.get(id) {
            Some(entry) if entry.at.elapsed() < self.ttl => Some(entry.evidence.clone()),
            Some(_) => {
                cache.pop(id);
                None
            }
            None => None,
        }
    }

    /// Verifies `raw`: grammar, check character, then the evidence.
    pub async fn verify(&self, raw: &str) -> Result<Arc<Evidence>, VerifyError> {
        let id: ChittyId = raw.parse()?;
        if let Some(hit) = self.cached(raw) {
            self.metrics
                .validation_cache_lookups
                .with_label_values(&["hit"])
                .inc();
            return Ok(hit);
        }
        self.metrics
            .validation_cache_lookups
            .with_label_values(&["miss"])
            .inc();
        if id.issuer() == IssuerClass::Fallback {
            // Provisional IDs live in the fallback minter; here they exist only once
            // reconciled, under their final ID.
            return Err(VerifyError::NotFound(raw.to_owned()));
        }
        let stored = store::fetch_id(&self.pool, raw)
            .await?
            .ok_or_else(|| VerifyError::NotFound(raw.to_owned()))?;
        let evidence = Arc::new(self.evidence(stored).await?);
        self.cache.lock().put(
            raw.to_owned(),
            Entry {
                at: Instant::now(),
                evidence: evidence.clone(),
            },
        );
        Ok(evidence)
    }

    async fn tree(&self, batch_id: i64) -> Result<Arc<BatchTree>, VerifyError> {
        if let Some(tree) = self.trees.lock().get(&batch_id) {
            return Ok(tree.clone());
        }
        let ids = store::batch_ids(&self.pool, batch_id).await?;
        let tree = Arc::new(
            BatchTree::new(&ids).map_err(|_| VerifyError::Corrupt(format!("batch {batch_id}")))?,
        );
        self.trees.lock().put(batch_id, tree.clone());
        Ok(tree)
    }

    async fn evidence(&self, s: StoredId) -> Result<Evidence, VerifyError> {
        let corrupt = || VerifyError::Corrupt(s.id.clone());
        let batch = match (s.batch_id, s.batch_index, &s.batch_root) {
            (Some(batch_id), Some(index), Some(root)) => {
                let tree = self.tree(batch_id).await?;
                let index = usize::try_from(index).map_err(|_| corrupt())?;
                let proof = tree.proof(index).map_err(|_| corrupt())?;
                if tree.root()[..] != root[..] || !proof.verify(&s.id, &tree.root()) {
                    return Err(corrupt());
                }
                Some(BatchEvidence {
                    batch_id,
                    first_seq: s
                        .batch_first_seq
                        .and_then(|f| u64::try_from(f).ok())
                        .ok_or_else(corrupt)?,
                    root: hex::encode(root),
                    size: proof.size as u64,
                    index: proof.index as u64,
                    proof: proof.path.iter().map(hex::encode).collect(),
                    status: s.batch_status.clone().unwrap_or_default(),
                    anchor: match (&s.anchor_signature, s.anchor_slot) {
                        (Some(signature), Some(slot)) => Some(AnchorEvidence {
                            signature: signature.clone(),
                            slot: u64::try_from(slot).map_err(|_| corrupt())?,
                        }),
                        _ => None,
                    },
                })
            }
            _ => None,
        };
        // alpha is not stored: it is a function of the stored fields, recomputed here.
        let randomness: [u8; 32] = s.drand_randomness[..].try_into().map_err(|_| corrupt())?;
        let content_hash: [u8; 32] = s.content_hash[..].try_into().map_err(|_| corrupt())?;
        let round = u64::try_from(s.drand_round).map_err(|_| corrupt())?;
        let counter = u32::try_from(s.vrf_counter).map_err(|_| corrupt())?;
        let alpha = AlphaInput {
            round,
            randomness: &randomness,
            content_hash: &content_hash,
            namespace: &s.namespace,
            entity: EntityType::from_letter(&s.entity_type).ok_or_else(corrupt)?,
            nonce: &s.request_nonce,
        }
        .alpha(counter);
        Ok(Evidence {
            id: s.id.clone(),
            status: s.status.clone(),
            namespace: s.namespace.clone(),
            entity_type: s.entity_type.clone(),
            yymm: s.yymm.clone(),
            trust_level: u8::try_from(s.trust_level).map_err(|_| corrupt())?,
            content_hash: hex::encode(&s.content_hash),
            request_nonce: hex::encode(&s.request_nonce),
            drand: DrandEvidence {
                chain_hash: self.chain_hash.clone(),
                round,
                randomness: hex::encode(randomness),
                signature: hex::encode(&s.drand_signature),
            },
            vrf: VrfEvidence {
                suite: VRF_SUITE.into(),
                key_id: s.vrf_key_id.clone(),
                public_key: hex::encode(&s.vrf_public_key),
                counter,
                alpha: hex::encode(alpha),
                proof: hex::encode(&s.vrf_proof),
                beta: hex::encode(&s.vrf_beta),
            },
            batch,
            reconciled_from: s.reconciled_from.clone(),
            created_at: s.created_at.to_rfc3339(),
        })
    }
}
