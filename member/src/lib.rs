//! Private proofs of token ownership on the member's own machine (SPEC §4, "Where the secret
//! lives"; `docs/zk.md`).
//!
//! 1. [`Identity::from_wallet`]: the wallet signs the fixed identity message; the secret is
//!    derived from that signature (`veil_circuits::identity`), so it can always be recovered
//!    from the wallet and never has to be stored or sent anywhere.
//! 2. [`Identity::registration`]: what `POST /api/v2/registry/register` takes: the identity
//!    commitment `Poseidon(s)` and the wallet's signature over it. Not the secret.
//! 3. [`Identity::witness`]: from the track's published leaves (`GET
//!    /api/v2/registry/tracks/{mint}/leaves`, which says nothing of whose leaf is whose), this
//!    machine finds its own leaf, rebuilds the tree, checks that it hashes to the published
//!    root, and takes its own Merkle path.
//! 4. A [`veil_circuits::prover::Prover`] proves here; [`proof_body`] is what
//!    `POST /api/v2/verify-ownership` takes: the proof and its public inputs, nothing else.
//!
//! The relayer therefore sees the commitment (public by design, as it is a leaf's preimage
//! part only together with the secret) and the proof, never the secret nor the signature it
//! comes from.

pub mod server;

use serde_json::{json, Value};
use solana_keypair::Keypair;
use solana_signer::Signer;
use veil_circuits::{identity, OwnershipWitness};
use veil_merkle::Tree;
use veil_poseidon::{from_be_bytes, to_be_bytes, Fr};
use veil_zk::{ProofBytes, PublicInputs};

/// Why a local proof could not be made.
#[derive(Debug, thiserror::Error)]
pub enum MemberError {
    /// The leaves answer is not what the relayer serves.
    #[error("the published leaves are malformed: {0}")]
    Malformed(&'static str),
    /// This identity's leaf is not among the published leaves (not registered on this mint,
    /// registered after the latest root, or not holding at its snapshot).
    #[error("this wallet's leaf is not under the published root: register, then wait for the next publication (or hold the token at its snapshot)")]
    NotAMember,
    /// The leaves do not hash to the root they were served with.
    #[error(
        "the published leaves do not hash to the published root: refusing to prove against them"
    )]
    RootMismatch,
    /// The witness could not be built.
    #[error("witness: {0}")]
    Witness(String),
    /// The signature a page sent is not its wallet's signature over the identity message.
    #[error("`identity_signature` is not {wallet}'s signature over the identity message")]
    IdentitySignature {
        /// The wallet named.
        wallet: String,
    },
}

/// A member's identity on this machine. `Debug` shows only the commitment.
pub struct Identity {
    secret: Fr,
    commitment: [u8; 32],
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("commitment", &hex::encode(self.commitment))
            .finish_non_exhaustive()
    }
}

/// The published leaves of a track, as `GET /api/v2/registry/tracks/{mint}/leaves` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedLeaves {
    /// The track.
    pub track_id: [u8; 32],
    /// The tree's depth.
    pub depth: usize,
    /// The root.
    pub root: [u8; 32],
    /// The leaves in index order.
    pub leaves: Vec<[u8; 32]>,
}

fn bytes32(value: &Value, what: &'static str) -> Result<[u8; 32], MemberError> {
    value
        .as_str()
        .and_then(|s| hex::decode(s).ok())
        .and_then(|b| b.try_into().ok())
        .ok_or(MemberError::Malformed(what))
}

impl PublishedLeaves {
    /// Reads the relayer's answer.
    pub fn from_json(body: &Value) -> Result<Self, MemberError> {
        let leaves = body["leaves"]
            .as_array()
            .ok_or(MemberError::Malformed("leaves"))?
            .iter()
            .map(|leaf| bytes32(leaf, "a leaf"))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            track_id: bytes32(&body["track_id"], "track_id")?,
            depth: body["depth"]
                .as_u64()
                .and_then(|d| usize::try_from(d).ok())
                .ok_or(MemberError::Malformed("depth"))?,
            root: bytes32(&body["root"], "root")?,
            leaves,
        })
    }
}

impl Identity {
    /// The identity of `wallet`: its signature over the identity message, hashed into the
    /// secret.
    pub fn from_wallet(wallet: &Keypair) -> Self {
        Self::from_signature(wallet.sign_message(identity::IDENTITY_MESSAGE).as_ref())
    }

    /// The identity from a wallet's signature over the identity message.
    fn from_signature(signature: &[u8]) -> Self {
        let secret = identity::secret_from_signature(signature);
        Self {
            commitment: to_be_bytes(&identity::commitment(&secret)),
            secret,
        }
    }

    /// The identity of a wallet held elsewhere (a web page's): `signature` (base58) must be
    /// `wallet`'s (base58) Ed25519 signature over the identity message. Ed25519 is
    /// deterministic, so the same wallet always yields the same identity.
    pub fn from_wallet_signature(wallet: &str, signature: &str) -> Result<Self, MemberError> {
        use ed25519_dalek::{Signature, VerifyingKey};
        let refused = || MemberError::IdentitySignature {
            wallet: wallet.to_owned(),
        };
        let key: [u8; 32] = bs58::decode(wallet)
            .into_vec()
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(refused)?;
        let bytes: [u8; 64] = bs58::decode(signature)
            .into_vec()
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(refused)?;
        VerifyingKey::from_bytes(&key)
            .and_then(|k| {
                k.verify_strict(identity::IDENTITY_MESSAGE, &Signature::from_bytes(&bytes))
            })
            .map_err(|_| refused())?;
        Ok(Self::from_signature(&bytes))
    }

    /// `Poseidon(s)`, hex: what the registration carries.
    pub fn commitment(&self) -> [u8; 32] {
        self.commitment
    }

    /// The body of `POST /api/v2/registry/register` for `mint`, signed by `wallet`.
    pub fn registration(&self, wallet: &Keypair, mint: &[u8; 32]) -> Value {
        let mint = bs58::encode(mint).into_string();
        let message = identity::registration_message(&mint, &self.commitment);
        json!({
            "wallet": wallet.pubkey().to_string(),
            "mint": mint,
            "commitment": hex::encode(self.commitment),
            "signature": wallet.sign_message(message.as_bytes()).to_string(),
        })
    }

    /// This identity's leaf on `mint`'s track.
    pub fn leaf(&self, mint: &[u8; 32]) -> Result<[u8; 32], MemberError> {
        let field =
            |bytes: [u8; 32], what| from_be_bytes(&bytes).ok_or(MemberError::Malformed(what));
        let commitment = field(self.commitment, "commitment")?;
        let token_id = field(veil_zk::token_id_for(mint), "token_id")?;
        let track_id = field(veil_zk::track_id_for(mint), "track_id")?;
        Ok(to_be_bytes(&identity::leaf(
            &commitment,
            &token_id,
            &track_id,
        )))
    }

    /// The witness of a proof on `mint`'s track, from its published leaves: this identity's
    /// leaf found among them, the tree rebuilt here and checked against the published root.
    pub fn witness(
        &self,
        mint: &[u8; 32],
        published: &PublishedLeaves,
        scope: &[u8; 32],
        signal_hash: &[u8; 32],
    ) -> Result<OwnershipWitness, MemberError> {
        if published.track_id != veil_zk::track_id_for(mint) {
            return Err(MemberError::Malformed("the leaves are of another track"));
        }
        let mine = self.leaf(mint)?;
        let index = published
            .leaves
            .iter()
            .position(|leaf| *leaf == mine)
            .ok_or(MemberError::NotAMember)?;
        let fields = published
            .leaves
            .iter()
            .map(|leaf| {
                from_be_bytes(leaf).ok_or(MemberError::Malformed("a leaf is not a field element"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let tree = Tree::from_leaves(published.depth, fields)
            .map_err(|_| MemberError::Malformed("more leaves than the depth holds"))?;
        if to_be_bytes(&tree.root()) != published.root {
            return Err(MemberError::RootMismatch);
        }
        let path = tree
            .proof(index as u64)
            .map_err(|_| MemberError::NotAMember)?;
        let token_id = from_be_bytes(&veil_zk::token_id_for(mint))
            .ok_or(MemberError::Malformed("token_id"))?;
        OwnershipWitness::from_bytes(
            self.secret,
            token_id,
            &published.track_id,
            scope,
            signal_hash,
            path,
        )
        .map_err(|e| MemberError::Witness(e.to_string()))
    }

    /// The secret, hex: for tests that check it never leaves this machine.
    pub fn secret_hex(&self) -> String {
        hex::encode(to_be_bytes(&self.secret))
    }
}

/// `scope` as the relayer encodes a number: big-endian in the last 8 bytes.
pub fn scope(n: u64) -> [u8; 32] {
    let mut scope = [0u8; 32];
    scope[24..].copy_from_slice(&n.to_be_bytes());
    scope
}

/// The body of `POST /api/v2/verify-ownership`: the proof and its public inputs.
pub fn proof_body(proof: &ProofBytes, inputs: &PublicInputs) -> Value {
    json!({
        "proof": hex::encode(proof.to_bytes()),
        "public_inputs": {
            "root": hex::encode(inputs.root),
            "nullifier": hex::encode(inputs.nullifier),
            "track_id": hex::encode(inputs.track_id),
            "scope": hex::encode(inputs.scope),
            "signal_hash": hex::encode(inputs.signal_hash),
        },
    })
}
