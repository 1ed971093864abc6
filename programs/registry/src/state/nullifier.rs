//! A spent nullifier.

use anchor_lang::prelude::*;

/// Exists once a nullifier has been used on a track. PDA
/// `[NULLIFIER_SEED, track_id, nullifier]`, created with `init`, so a second use of the same
/// nullifier fails atomically in the same instruction that would have accepted it.
#[account]
#[derive(InitSpace, Debug, PartialEq, Eq)]
pub struct NullifierRecord {
    /// The scope the nullifier was spent in (0 or the epoch number), big-endian.
    pub scope: [u8; 32],
    /// Slot of verification.
    pub slot: u64,
    /// Canonical bump of this PDA.
    pub bump: u8,
}
