//! `publish_root`: the registrar moves a track to a new Merkle root.

use anchor_lang::prelude::*;
use veil_core::field::is_canonical_scalar;

use crate::{error::RegistryError, events::MerkleRootUpdated, state::*};

/// Arguments of `publish_root`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct PublishRootArgs {
    /// The track.
    pub track_id: [u8; 32],
    /// The new root, a canonical BN254 scalar.
    pub root: [u8; 32],
    /// Leaves the root commits to; never below the track's current count.
    pub leaf_count: u64,
    /// The slot at which the registrar read the holdings (not after now, not before the
    /// latest root's snapshot).
    pub snapshot_slot: u64,
}

#[event_cpi]
#[derive(Accounts)]
#[instruction(args: PublishRootArgs)]
pub struct PublishRoot<'info> {
    /// The registrar.
    pub registrar: Signer<'info>,
    /// The config.
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Account<'info, Config>,
    /// The track.
    #[account(mut, seeds = [TRACK_SEED, args.track_id.as_ref()], bump = track.load()?.bump)]
    pub track: AccountLoader<'info, Track>,
}

impl PublishRoot<'_> {
    /// The registry is not paused, the signer is the registrar, and the new root (or a newer
    /// snapshot of the latest one) moves the track forward.
    pub fn validate(&self, args: &PublishRootArgs) -> Result<()> {
        self.config.require_not_paused()?;
        self.config.require_registrar(&self.registrar.key())?;
        // A root is a public input of every proof against it.
        require!(
            is_canonical_scalar(&args.root),
            RegistryError::RootNotInField
        );
        let track = self.track.load()?;
        // The leaf count never decreases: a lagging publisher cannot roll the track back.
        require!(
            args.leaf_count >= track.leaf_count,
            RegistryError::LeafCountDecreased
        );
        require!(
            args.leaf_count <= track.capacity(),
            RegistryError::LeafCountExceedsCapacity
        );
        // A snapshot is of the past, and snapshots move forward.
        require!(
            args.snapshot_slot <= Clock::get()?.slot,
            RegistryError::InvalidSnapshotSlot
        );
        if let Some(latest) = track.latest_root() {
            require!(
                args.snapshot_slot >= latest.slot,
                RegistryError::InvalidSnapshotSlot
            );
            // The same root again is only a refresh of its snapshot (holders unchanged); with
            // no newer snapshot it would change nothing.
            require!(
                latest.root != args.root
                    || latest.leaf_count != args.leaf_count
                    || args.snapshot_slot > latest.slot,
                RegistryError::RootAlreadyLatest
            );
        }
        Ok(())
    }

    /// Pushes the root into the ring, evicting the oldest once it is full; the latest root
    /// again only moves its snapshot forward.
    pub fn handle(ctx: Context<Self>, args: PublishRootArgs) -> Result<()> {
        let slot = Clock::get()?.slot;
        let root_index = {
            let mut track = ctx.accounts.track.load_mut()?;
            let refresh = track
                .latest_root()
                .is_some_and(|l| l.root == args.root && l.leaf_count == args.leaf_count);
            if refresh {
                track.refresh_latest(args.snapshot_slot)?;
            } else {
                track.push_root(args.root, args.leaf_count, args.snapshot_slot)?;
            }
            track.invariant()?;
            track
                .root_count
                .checked_sub(1)
                .ok_or(RegistryError::ArithmeticOverflow)?
        };
        emit_cpi!(MerkleRootUpdated {
            track_id: args.track_id,
            root: args.root,
            leaf_count: args.leaf_count,
            root_index,
            slot,
            snapshot_slot: args.snapshot_slot,
        });
        Ok(())
    }
}
