//! A track: one token-gated membership set with its recent Merkle roots.

use anchor_lang::prelude::*;

use crate::error::RegistryError;

/// Number of recent roots a track remembers. A proof must use one of them.
pub const ROOT_HISTORY_SIZE: usize = 64;
/// Tree depth a track gets unless the admin chooses another.
pub const DEFAULT_TREE_DEPTH: u8 = 20;
/// Deepest tree a track may declare (2^32 leaves).
pub const MAX_TREE_DEPTH: u8 = 32;

/// One published root in the ring.
#[zero_copy]
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RootEntry {
    /// Merkle root, a canonical BN254 scalar, big-endian.
    pub root: [u8; 32],
    /// The slot at which the registrar read the holdings the root is built from (its
    /// snapshot; at or before the publication). A proof against the root shows that the
    /// member held the token at this slot, and is accepted only while this slot is within
    /// the track's freshness window.
    pub slot: u64,
    /// Leaf count the root commits to.
    pub leaf_count: u64,
}

/// How nullifiers are scoped on a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeRule {
    /// One use per identity per track: `scope` must be 0.
    OncePerTrack,
    /// One use per identity per epoch: `scope` is `unix_time / seconds`.
    Epoch {
        /// Epoch length in seconds, > 0.
        seconds: u64,
    },
}

/// PDA `[TRACK_SEED, track_id]`. Zero-copy: the root ring is 3 KiB and must never be copied
/// onto the 4 KiB SBF stack.
#[account(zero_copy)]
#[derive(Debug)]
pub struct Track {
    /// The track's id, a canonical BN254 scalar (a public input of every proof).
    pub track_id: [u8; 32],
    /// Leaves committed by the newest root; never decreases.
    pub leaf_count: u64,
    /// Roots ever published; the newest is at `roots[head]` once this is non-zero.
    pub root_count: u64,
    /// Nullifier epoch length in seconds; 0 means [`ScopeRule::OncePerTrack`].
    pub epoch_seconds: u64,
    /// How many slots a root's snapshot stays usable for proofs: ownership means "held at a
    /// slot within the last `freshness_slots`", so a token sold stops proving within this
    /// window whatever the ring size. Set at creation, > 0.
    pub freshness_slots: u64,
    /// Ring of the most recent roots.
    pub roots: [RootEntry; ROOT_HISTORY_SIZE],
    /// Index of the newest entry in `roots`.
    pub head: u32,
    /// Tree depth, `1..=MAX_TREE_DEPTH`.
    pub depth: u8,
    /// Canonical bump of this PDA.
    pub bump: u8,
    /// Explicit padding to an 8-byte multiple.
    pub _reserved: [u8; 2],
}

impl Track {
    /// Account size including the discriminator.
    pub const SPACE: usize = 8 + core::mem::size_of::<Track>();

    /// The nullifier rule of this track.
    pub fn scope_rule(&self) -> ScopeRule {
        match self.epoch_seconds {
            0 => ScopeRule::OncePerTrack,
            seconds => ScopeRule::Epoch { seconds },
        }
    }

    /// Most leaves a tree of this depth holds.
    pub fn capacity(&self) -> u64 {
        // depth <= 32 by invariant, so the shift cannot overflow u64.
        1u64 << self.depth
    }

    /// The newest root, if any has been published.
    pub fn latest_root(&self) -> Option<&RootEntry> {
        (self.root_count > 0).then(|| &self.roots[self.head as usize])
    }

    /// The ring entry holding `root`, if it is still among the recent roots.
    pub fn find_root(&self, root: &[u8; 32]) -> Option<&RootEntry> {
        let live = usize::try_from(self.root_count)
            .unwrap_or(usize::MAX)
            .min(ROOT_HISTORY_SIZE);
        // Entries beyond `live` are zero and never match a published root.
        self.roots[..live].iter().find(|entry| &entry.root == root)
    }

    /// Whether a root whose snapshot is at `snapshot_slot` may still be proven against at
    /// `now`.
    pub fn is_fresh(&self, snapshot_slot: u64, now: u64) -> bool {
        now.saturating_sub(snapshot_slot) <= self.freshness_slots
    }

    /// Moves the latest root's snapshot forward to `slot` (the holder set, and so the root,
    /// did not change): a refresh that evicts nothing from the ring.
    pub fn refresh_latest(&mut self, slot: u64) -> Result<()> {
        require!(self.root_count > 0, RegistryError::InvariantViolated);
        let head = self.head as usize;
        self.roots[head].slot = slot;
        Ok(())
    }

    /// Appends `root` to the ring, evicting the oldest entry once the ring is full.
    pub fn push_root(&mut self, root: [u8; 32], leaf_count: u64, slot: u64) -> Result<()> {
        let next = if self.root_count == 0 {
            0
        } else {
            (self.head as usize)
                .checked_add(1)
                .ok_or(RegistryError::ArithmeticOverflow)?
                .checked_rem(ROOT_HISTORY_SIZE)
                .ok_or(RegistryError::ArithmeticOverflow)?
        };
        self.roots[next] = RootEntry {
            root,
            slot,
            leaf_count,
        };
        self.head = u32::try_from(next).map_err(|_| RegistryError::ArithmeticOverflow)?;
        self.root_count = self
            .root_count
            .checked_add(1)
            .ok_or(RegistryError::ArithmeticOverflow)?;
        self.leaf_count = leaf_count;
        Ok(())
    }

    /// Holds after every instruction that writes the track.
    pub fn invariant(&self) -> Result<()> {
        require!(
            (1..=MAX_TREE_DEPTH).contains(&self.depth),
            RegistryError::InvalidDepth
        );
        require!(
            self.leaf_count <= self.capacity(),
            RegistryError::LeafCountExceedsCapacity
        );
        require!(
            (self.head as usize) < ROOT_HISTORY_SIZE,
            RegistryError::InvariantViolated
        );
        require!(
            self.freshness_slots > 0,
            RegistryError::InvalidFreshnessWindow
        );
        // The newest root commits to exactly the track's leaf count.
        if let Some(latest) = self.latest_root() {
            require!(
                latest.leaf_count == self.leaf_count,
                RegistryError::InvariantViolated
            );
        }
        Ok(())
    }
}
