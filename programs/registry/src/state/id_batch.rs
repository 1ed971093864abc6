//! The on-chain record of one anchored ChittyID batch.

use anchor_lang::prelude::*;
use veil_core::namespace;

use crate::error::RegistryError;

/// Most IDs a single batch may cover (the relayer batches by count or time below this).
pub const MAX_ID_BATCH: u32 = 1 << 20;

/// A Merkle root over a contiguous run of minted ChittyIDs.
/// PDA `[ID_BATCH_SEED, namespace, first_seq.to_le_bytes()]`.
///
/// The record exists, besides the `IdBatchAnchored` event, so an offline verifier can check an
/// ID's batch root with one `getAccountInfo`, without an indexer; and because `init` on this PDA
/// makes re-anchoring the same batch fail atomically.
#[account]
#[derive(InitSpace, Debug, PartialEq, Eq)]
pub struct IdBatch {
    /// Namespace, 3 or 4 uppercase letters, zero-padded to 4 bytes.
    pub namespace: [u8; 4],
    /// Sequence number of the first ID in the batch.
    pub first_seq: u64,
    /// Number of IDs in the batch, `1..=MAX_ID_BATCH`.
    pub count: u32,
    /// Root of the batch's Merkle tree (leaf hashing is defined by the relayer's batch builder).
    pub batch_root: [u8; 32],
    /// Slot in which the batch was anchored.
    pub slot: u64,
    /// Unix time at which the batch was anchored.
    pub anchored_at: i64,
    /// Canonical bump of this PDA.
    pub bump: u8,
}

impl IdBatch {
    /// Holds after `id_batch_anchor` writes the record.
    pub fn invariant(&self) -> Result<()> {
        namespace::validate(&self.namespace).map_err(|_| RegistryError::InvalidNamespace)?;
        require!(
            self.count >= 1 && self.count <= MAX_ID_BATCH,
            RegistryError::InvalidBatchSize
        );
        // The run of sequence numbers fits in u64.
        self.first_seq
            .checked_add(u64::from(self.count))
            .ok_or(RegistryError::SequenceOverflow)?;
        Ok(())
    }
}

/// Where a namespace's anchored ID ranges end: a batch must start at or past it, so no two
/// batches of a namespace claim the same sequence numbers. PDA `[ID_SEQUENCE_SEED, namespace]`,
/// created by the namespace's first `anchor_id_batch`.
#[account]
#[derive(InitSpace, Debug, PartialEq, Eq)]
pub struct IdSequence {
    /// Namespace, zero-padded to 4 bytes.
    pub namespace: [u8; 4],
    /// One past the last sequence number anchored (0 before the first batch).
    pub next_seq: u64,
    /// Canonical bump of this PDA.
    pub bump: u8,
}
