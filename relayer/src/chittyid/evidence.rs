//! A ChittyID's evidence, and its offline re-verification (SPEC §5.3).
//!
//! [`Evidence`] is what `GET /api/v2/chittyid/verify/{id}` returns and what the `verify` CLI
//! reads (from the endpoint or a JSON file). [`verify_offline`] checks, without trusting the
//! relayer:
//! 1. the ID's grammar and check character;
//! 2. the drand beacon's BLS signature under the pinned quicknet key, and its randomness;
//! 3. that `YYMM` is the UTC month of the beacon's round;
//! 4. `alpha` recomputed from the evidence ([`crate::chittyid::mint::alpha`]);
//! 5. the VRF proof under the pinned VRF public key, and that its output gives the sequence;
//! 6. the batch inclusion proof against the batch root (when the ID is batched).

use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use veil_chittyid::{batch::InclusionProof, sequence_from_bytes, ChittyId, EntityType};
use veil_drand::{Beacon, ChainConfig};

use crate::chittyid::mint::alpha::AlphaInput;

/// The VRF suite name (RFC 9381).
pub const VRF_SUITE: &str = "ECVRF-EDWARDS25519-SHA512-TAI";

/// Everything needed to re-verify an ID offline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Evidence {
    /// The ID.
    pub id: String,
    /// `pending` until its batch is anchored on-chain, then `anchored`.
    pub status: String,
    /// Namespace.
    pub namespace: String,
    /// Entity type letter.
    pub entity_type: String,
    /// UTC month of the drand round, `YYMM`.
    pub yymm: String,
    /// Trust level 0–9.
    pub trust_level: u8,
    /// SHA-256 of the content, hex.
    pub content_hash: String,
    /// The request nonce, hex.
    pub request_nonce: String,
    /// The drand beacon.
    pub drand: DrandEvidence,
    /// The VRF evaluation.
    pub vrf: VrfEvidence,
    /// The batch and inclusion proof, once batched.
    pub batch: Option<BatchEvidence>,
    /// The provisional `F` ID this ID reconciled, if any.
    pub reconciled_from: Option<String>,
    /// When it was minted (RFC 3339).
    pub created_at: String,
}

/// The drand part of the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DrandEvidence {
    /// Chain hash (quicknet), hex.
    pub chain_hash: String,
    /// Round.
    pub round: u64,
    /// `SHA-256(signature)`, hex.
    pub randomness: String,
    /// BLS signature, hex.
    pub signature: String,
}

/// The VRF part of the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VrfEvidence {
    /// `ECVRF-EDWARDS25519-SHA512-TAI`.
    pub suite: String,
    /// Key id (hex of the first 8 bytes of SHA-256 of the public key).
    pub key_id: String,
    /// The relayer's VRF public key, hex.
    pub public_key: String,
    /// The collision counter used in alpha.
    pub counter: u32,
    /// alpha, hex (recomputable from the other fields).
    pub alpha: String,
    /// The proof pi, hex (80 bytes).
    pub proof: String,
    /// The output beta, hex (64 bytes).
    pub beta: String,
}

/// The batch part of the evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BatchEvidence {
    /// Batch id.
    pub batch_id: i64,
    /// Sequence number of the batch's first ID: its on-chain `IdBatch` is the PDA of
    /// (namespace, `first_seq`).
    pub first_seq: u64,
    /// RFC 6962 root over the batch's IDs, hex.
    pub root: String,
    /// IDs in the batch.
    pub size: u64,
    /// This ID's position.
    pub index: u64,
    /// Audit path, leaf to root, hex.
    pub proof: Vec<String>,
    /// `pending` or `anchored`.
    pub status: String,
    /// On-chain anchor, once published.
    pub anchor: Option<AnchorEvidence>,
}

/// Where a batch root was anchored on-chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct AnchorEvidence {
    /// Transaction signature (base58).
    pub signature: String,
    /// Slot.
    pub slot: u64,
}

/// What the offline verifier may trust: the pinned chain and, optionally, a pinned VRF key.
#[derive(Debug, Clone)]
pub struct Pins {
    /// The drand chain.
    pub chain: ChainConfig,
    /// The relayer's VRF public key. `None` accepts the key in the evidence (and says so).
    pub vrf_public_key: Option<[u8; 32]>,
}

/// What the offline verifier established.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OfflineReport {
    /// The ID.
    pub id: String,
    /// Checks that passed, in order.
    pub checks: Vec<&'static str>,
    /// Whether the VRF key was pinned by the verifier or taken from the evidence.
    pub vrf_key_pinned: bool,
    /// Whether a batch proof was checked.
    pub batch_checked: bool,
    /// Whether the batch root was checked against the chain (`veil-relayer verify --rpc-url`).
    pub chain_checked: bool,
}

/// Why evidence does not verify. Each variant names the check that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// The ID itself is invalid.
    #[error("the ID is invalid: {0}")]
    Id(#[from] veil_chittyid::ChittyIdError),
    /// Provisional IDs carry no drand/VRF evidence.
    #[error("`{0}` is a provisional (F) ID; only authoritative IDs carry drand and VRF evidence")]
    NotAuthoritative(String),
    /// A field disagrees with the ID.
    #[error("evidence field `{0}` disagrees with the ID")]
    FieldMismatch(&'static str),
    /// A hex field is malformed.
    #[error("evidence field `{0}` is not hex of the expected length")]
    Encoding(&'static str),
    /// The drand chain is not the pinned one.
    #[error("the drand chain hash is not the pinned quicknet chain")]
    WrongChain,
    /// The beacon does not verify.
    #[error("the drand beacon does not verify: {0}")]
    Beacon(#[from] veil_drand::BeaconError),
    /// `YYMM` is not the month of the round.
    #[error("YYMM {found} is not the UTC month of drand round {round} ({expected})")]
    MonthMismatch {
        /// Round.
        round: u64,
        /// From the round time.
        expected: String,
        /// In the ID.
        found: String,
    },
    /// alpha in the evidence is not the recomputed alpha.
    #[error("alpha does not match the value recomputed from the evidence")]
    AlphaMismatch,
    /// The VRF key is not the pinned one.
    #[error("the VRF public key is not the pinned key")]
    VrfKeyMismatch,
    /// The VRF proof does not verify.
    #[error("the VRF proof does not verify: {0}")]
    Vrf(#[from] veil_vrf::VrfError),
    /// beta in the evidence is not the proof's output.
    #[error("beta is not the output of the VRF proof")]
    BetaMismatch,
    /// The sequence is not derived from beta.
    #[error("sequence {found} is not derived from beta ({expected})")]
    SequenceMismatch {
        /// From beta.
        expected: String,
        /// In the ID.
        found: String,
    },
    /// The inclusion proof does not lead to the batch root.
    #[error("the batch inclusion proof does not lead to the batch root")]
    BatchProof,
}

fn hex_array<const N: usize>(s: &str, field: &'static str) -> Result<[u8; N], EvidenceError> {
    hex::decode(s)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or(EvidenceError::Encoding(field))
}

/// `YYMM` of a Unix time, UTC.
pub fn yymm_of(unix: u64) -> Option<(u8, u8)> {
    let t: DateTime<Utc> = DateTime::from_timestamp(i64::try_from(unix).ok()?, 0)?;
    let year = u8::try_from(t.year().rem_euclid(100)).ok()?;
    let month = u8::try_from(t.month()).ok()?;
    Some((year, month))
}

/// Re-verifies `evidence` against `pins`, trusting nothing the relayer says.
pub fn verify_offline(evidence: &Evidence, pins: &Pins) -> Result<OfflineReport, EvidenceError> {
    let mut checks = Vec::new();
    let id: ChittyId = evidence.id.parse()?;
    checks.push("grammar and check character");
    if id.issuer() != veil_chittyid::IssuerClass::Authoritative {
        return Err(EvidenceError::NotAuthoritative(evidence.id.clone()));
    }
    if id.namespace() != evidence.namespace {
        return Err(EvidenceError::FieldMismatch("namespace"));
    }
    if id.entity().letter().to_string() != evidence.entity_type {
        return Err(EvidenceError::FieldMismatch("entity_type"));
    }
    if id.trust() != evidence.trust_level {
        return Err(EvidenceError::FieldMismatch("trust_level"));
    }
    let yymm = format!("{:02}{:02}", id.year(), id.month());
    if yymm != evidence.yymm {
        return Err(EvidenceError::FieldMismatch("yymm"));
    }

    // drand.
    if evidence.drand.chain_hash != pins.chain.chain_hash {
        return Err(EvidenceError::WrongChain);
    }
    let beacon = pins.chain.verify(&Beacon {
        round: evidence.drand.round,
        randomness: evidence.drand.randomness.clone(),
        signature: evidence.drand.signature.clone(),
    })?;
    checks.push("drand BLS signature under the pinned quicknet key");
    let round_time = pins
        .chain
        .round_time(beacon.round)
        .ok_or(EvidenceError::FieldMismatch("drand.round"))?;
    let (year, month) = yymm_of(round_time).ok_or(EvidenceError::FieldMismatch("drand.round"))?;
    if (year, month) != (id.year(), id.month()) {
        return Err(EvidenceError::MonthMismatch {
            round: beacon.round,
            expected: format!("{year:02}{month:02}"),
            found: yymm,
        });
    }
    checks.push("YYMM is the month of the drand round");

    // alpha.
    let content_hash: [u8; 32] = hex_array(&evidence.content_hash, "content_hash")?;
    let nonce = hex::decode(&evidence.request_nonce)
        .map_err(|_| EvidenceError::Encoding("request_nonce"))?;
    let entity = EntityType::from_letter(&evidence.entity_type)
        .ok_or(EvidenceError::FieldMismatch("entity_type"))?;
    let alpha = AlphaInput {
        round: beacon.round,
        randomness: &beacon.randomness,
        content_hash: &content_hash,
        namespace: &evidence.namespace,
        entity,
        nonce: &nonce,
    }
    .alpha(evidence.vrf.counter);
    if hex::encode(alpha) != evidence.vrf.alpha {
        return Err(EvidenceError::AlphaMismatch);
    }
    checks.push("alpha recomputed from round, randomness, content hash, namespace, type, nonce");

    // VRF.
    let public: [u8; 32] = hex_array(&evidence.vrf.public_key, "vrf.public_key")?;
    if let Some(pinned) = pins.vrf_public_key {
        if pinned != public {
            return Err(EvidenceError::VrfKeyMismatch);
        }
    }
    let proof: [u8; veil_vrf::PROOF_LEN] = hex_array(&evidence.vrf.proof, "vrf.proof")?;
    let beta = veil_vrf::verify(&public, &proof, &alpha)?;
    if hex::encode(beta) != evidence.vrf.beta {
        return Err(EvidenceError::BetaMismatch);
    }
    checks.push("VRF proof (RFC 9381 ECVRF-EDWARDS25519-SHA512-TAI)");
    let mut head = [0u8; 5];
    head.copy_from_slice(&beta[..5]);
    let expected = sequence_from_bytes(&head);
    if expected != id.sequence() {
        return Err(EvidenceError::SequenceMismatch {
            expected,
            found: id.sequence().to_owned(),
        });
    }
    checks.push("sequence derived from the VRF output");

    // Batch.
    let batch_checked = match &evidence.batch {
        None => false,
        Some(batch) => {
            let root: [u8; 32] = hex_array(&batch.root, "batch.root")?;
            let path = batch
                .proof
                .iter()
                .map(|h| hex_array::<32>(h, "batch.proof"))
                .collect::<Result<Vec<_>, _>>()?;
            let proof = InclusionProof {
                index: usize::try_from(batch.index)
                    .map_err(|_| EvidenceError::Encoding("batch.index"))?,
                size: usize::try_from(batch.size)
                    .map_err(|_| EvidenceError::Encoding("batch.size"))?,
                path,
            };
            if !proof.verify(&evidence.id, &root) {
                return Err(EvidenceError::BatchProof);
            }
            checks.push("RFC 6962 inclusion proof to the batch root");
            true
        }
    };
    Ok(OfflineReport {
        id: evidence.id.clone(),
        checks,
        vrf_key_pinned: pins.vrf_public_key.is_some(),
        batch_checked,
        chain_checked: false,
    })
}
