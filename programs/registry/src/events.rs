//! Events, all emitted with `emit_cpi!` so they survive log truncation and the indexer reads
//! them from inner instructions. None carries a wallet of an end user.

use anchor_lang::prelude::*;

/// The registry was initialized.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistryInitialized {
    /// First admin.
    pub admin: Pubkey,
    /// First registrar.
    pub registrar: Pubkey,
    /// Treasury.
    pub treasury: Pubkey,
}

/// The admin proposed a successor.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminProposed {
    /// The admin that proposed.
    pub admin: Pubkey,
    /// The proposed successor.
    pub proposed: Pubkey,
}

/// The proposed admin accepted and is now the admin.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminAccepted {
    /// The admin replaced.
    pub previous: Pubkey,
    /// The new admin.
    pub admin: Pubkey,
}

/// The registrar was replaced.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarSet {
    /// The registrar replaced.
    pub previous: Pubkey,
    /// The new registrar.
    pub registrar: Pubkey,
}

/// The registry was paused or unpaused.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PauseSet {
    /// The new pause state.
    pub paused: bool,
}

/// A track was created.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackCreated {
    /// Track id.
    pub track_id: [u8; 32],
    /// Tree depth.
    pub depth: u8,
    /// Nullifier epoch length in seconds; 0 for once per track.
    pub epoch_seconds: u64,
    /// Slots a root's holdings snapshot stays usable for proofs.
    pub freshness_slots: u64,
}

/// A new Merkle root entered a track's ring.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleRootUpdated {
    /// Track id.
    pub track_id: [u8; 32],
    /// The new root.
    pub root: [u8; 32],
    /// Leaves the root commits to.
    pub leaf_count: u64,
    /// Ordinal of this root among all roots of the track (0-based).
    pub root_index: u64,
    /// Slot of publication.
    pub slot: u64,
    /// The slot at which the holdings behind the root were read.
    pub snapshot_slot: u64,
}

/// A ChittyID batch root was anchored.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdBatchAnchored {
    /// Namespace, zero-padded to 4 bytes.
    pub namespace: [u8; 4],
    /// Batch Merkle root.
    pub batch_root: [u8; 32],
    /// Sequence number of the first ID.
    pub first_seq: u64,
    /// Number of IDs.
    pub count: u32,
    /// Slot of anchoring.
    pub slot: u64,
}

/// A membership proof was verified and its nullifier spent. Carries no wallet: the payer of
/// the transaction is usually the relayer, and nothing here links the prover to a leaf.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnershipVerified {
    /// Track id.
    pub track_id: [u8; 32],
    /// The spent nullifier.
    pub nullifier: [u8; 32],
    /// The root the proof was checked against.
    pub root: [u8; 32],
    /// The nullifier scope (0 or the epoch number).
    pub scope: [u8; 32],
    /// The action/recipient binding.
    pub signal_hash: [u8; 32],
    /// Slot of verification.
    pub slot: u64,
}
