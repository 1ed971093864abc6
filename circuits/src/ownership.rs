//! The ownership circuit (SPEC §4).
//!
//! Private: the secret `s`, the token id, the Merkle path (siblings and index bits).
//! Public, in the order of [`veil_zk::PublicInputs::to_array`]: root, nullifier, track_id,
//! scope, signal_hash. Constraints:
//!
//! - `identity_commitment = Poseidon(s)`;
//! - `leaf = Poseidon(identity_commitment, token_id, track_id)`;
//! - the path from `leaf` hashes to `root` (`Poseidon(left, right)` per level);
//! - `nullifier = Poseidon(s, track_id, scope)`;
//! - `signal_hash²` is computed, so the signal is bound into the proof (a public input no
//!   constraint touches would have a zero verifying-key term and could be swapped freely).

use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use veil_merkle::MerkleProof;
use veil_poseidon::{from_be_bytes, to_be_bytes, Fr};
use veil_zk::PublicInputs;

use crate::{gadget::Builder, identity};

/// Tree depth the on-chain verifying key is generated for.
pub const DEFAULT_DEPTH: usize = 20;

/// Everything a prover knows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnershipWitness {
    /// The identity secret (see [`identity::secret_from_signature`]).
    pub secret: Fr,
    /// The token the identity is registered for.
    pub token_id: Fr,
    /// The track.
    pub track_id: Fr,
    /// 0 for once-per-track, else the epoch number.
    pub scope: Fr,
    /// The action/recipient binding.
    pub signal_hash: Fr,
    /// The leaf's inclusion proof in the track's tree.
    pub path: MerkleProof,
}

/// Why a witness was refused before proving.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    /// A public value is not a canonical field element.
    #[error("{0} is not below the BN254 field modulus")]
    NotInField(&'static str),
    /// The path length is not the circuit depth.
    #[error("merkle path has {got} levels, the circuit has {want}")]
    WrongDepth {
        /// Levels in the path.
        got: usize,
        /// Circuit depth.
        want: usize,
    },
    /// The index does not fit the depth.
    #[error("leaf index {0} does not fit the tree depth")]
    IndexOutOfRange(u64),
}

impl OwnershipWitness {
    /// Builds a witness from byte-encoded public values.
    pub fn from_bytes(
        secret: Fr,
        token_id: Fr,
        track_id: &[u8; 32],
        scope: &[u8; 32],
        signal_hash: &[u8; 32],
        path: MerkleProof,
    ) -> Result<Self, WitnessError> {
        Ok(Self {
            secret,
            token_id,
            track_id: from_be_bytes(track_id).ok_or(WitnessError::NotInField("track_id"))?,
            scope: from_be_bytes(scope).ok_or(WitnessError::NotInField("scope"))?,
            signal_hash: from_be_bytes(signal_hash)
                .ok_or(WitnessError::NotInField("signal_hash"))?,
            path,
        })
    }

    /// The leaf this witness proves membership of.
    pub fn leaf(&self) -> Fr {
        identity::leaf(
            &identity::commitment(&self.secret),
            &self.token_id,
            &self.track_id,
        )
    }

    /// The public inputs this witness yields, computed natively.
    pub fn public_inputs(&self) -> PublicInputs {
        PublicInputs {
            root: to_be_bytes(&self.path.compute_root(&self.leaf())),
            nullifier: to_be_bytes(&identity::nullifier(
                &self.secret,
                &self.track_id,
                &self.scope,
            )),
            track_id: to_be_bytes(&self.track_id),
            scope: to_be_bytes(&self.scope),
            signal_hash: to_be_bytes(&self.signal_hash),
        }
    }

    /// Checks the shape against a circuit of `depth`.
    pub fn check_depth(&self, depth: usize) -> Result<(), WitnessError> {
        if self.path.siblings.len() != depth {
            return Err(WitnessError::WrongDepth {
                got: self.path.siblings.len(),
                want: depth,
            });
        }
        if depth < 64 && self.path.index >> depth != 0 {
            return Err(WitnessError::IndexOutOfRange(self.path.index));
        }
        Ok(())
    }

    /// A placeholder witness of `depth`, for key generation (values are not used in setup).
    pub fn blank(depth: usize) -> Self {
        let zero = Fr::from(0u64);
        Self {
            secret: zero,
            token_id: zero,
            track_id: zero,
            scope: zero,
            signal_hash: zero,
            path: MerkleProof {
                index: 0,
                siblings: vec![zero; depth],
            },
        }
    }
}

/// The circuit: a witness plus the public inputs it is checked against.
#[derive(Clone, Debug)]
pub struct OwnershipCircuit {
    /// Private inputs.
    pub witness: OwnershipWitness,
    /// Public inputs as field elements, in verifier order.
    pub public: [Fr; veil_zk::PUBLIC_INPUT_COUNT],
}

impl OwnershipCircuit {
    /// The honest circuit for `witness`: its public inputs computed natively.
    pub fn new(witness: OwnershipWitness) -> Self {
        let public = witness
            .public_inputs()
            .to_array()
            .map(|bytes| from_be_bytes(&bytes).expect("native values are canonical"));
        Self { witness, public }
    }

    /// A circuit asserting `witness` against arbitrary public inputs (for negative tests).
    pub fn with_public(witness: OwnershipWitness, public: PublicInputs) -> Option<Self> {
        let array = public.to_array();
        let mut fields = [Fr::from(0u64); veil_zk::PUBLIC_INPUT_COUNT];
        for (out, bytes) in fields.iter_mut().zip(array.iter()) {
            *out = from_be_bytes(bytes)?;
        }
        Some(Self {
            witness,
            public: fields,
        })
    }
}

impl ConstraintSynthesizer<Fr> for OwnershipCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        let b = Builder::new(cs);
        let w = &self.witness;

        // Public inputs, allocated in the one verifier order.
        let [root, nullifier, track_id, scope, signal_hash] = self.public.map(|v| b.input(v));
        let (root, nullifier, track_id, scope, signal_hash) =
            (root?, nullifier?, track_id?, scope?, signal_hash?);

        let secret = b.witness(w.secret)?;
        let token_id = b.witness(w.token_id)?;

        let commitment = b.poseidon(std::slice::from_ref(&secret))?;
        let leaf = b.poseidon(&[commitment, token_id, track_id.clone()])?;

        let mut node = leaf;
        for (level, sibling) in w.path.siblings.iter().enumerate() {
            let is_right = level < 64 && (w.path.index >> level) & 1 == 1;
            let bit = b.bit(is_right)?;
            let sibling = b.witness(*sibling)?;
            let (left, right) = b.swap_if(&bit, &node, &sibling)?;
            node = b.poseidon(&[left, right])?;
        }
        b.enforce_equal(&node, &root)?;

        let computed = b.poseidon(&[secret, track_id, scope])?;
        b.enforce_equal(&computed, &nullifier)?;

        // Bind the signal into the constraint system.
        b.mul(&signal_hash, &signal_hash)?;
        Ok(())
    }
}
