//! `create_track`: opens a token-gated membership set.

use anchor_lang::prelude::*;
use veil_core::field::is_canonical_scalar;

use crate::{error::RegistryError, events::TrackCreated, state::*};

/// Arguments of `create_track`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct CreateTrackArgs {
    /// Track id, a canonical BN254 scalar (clients hash names or mints into the field).
    pub track_id: [u8; 32],
    /// Tree depth, `1..=MAX_TREE_DEPTH` (clients default to `DEFAULT_TREE_DEPTH`).
    pub depth: u8,
    /// Nullifier epoch length in seconds; 0 means once per track.
    pub epoch_seconds: u64,
    /// Slots a root's holdings snapshot stays usable for proofs (> 0).
    pub freshness_slots: u64,
}

#[event_cpi]
#[derive(Accounts)]
#[instruction(args: CreateTrackArgs)]
pub struct CreateTrack<'info> {
    /// The admin, who pays for the track.
    #[account(mut)]
    pub admin: Signer<'info>,
    /// The config.
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Account<'info, Config>,
    /// The track, created here; the same id twice fails because it already exists.
    #[account(
        init,
        payer = admin,
        space = Track::SPACE,
        seeds = [TRACK_SEED, args.track_id.as_ref()],
        bump
    )]
    pub track: AccountLoader<'info, Track>,
    /// The system program.
    pub system_program: Program<'info, System>,
}

impl CreateTrack<'_> {
    /// The registry is not paused, the signer is the admin, and the track parameters are sound.
    pub fn validate(&self, args: &CreateTrackArgs) -> Result<()> {
        self.config.require_not_paused()?;
        self.config.require_admin(&self.admin.key())?;
        // The track id is a public input of every proof on this track.
        require!(
            is_canonical_scalar(&args.track_id),
            RegistryError::TrackIdNotInField
        );
        require!(
            (1..=MAX_TREE_DEPTH).contains(&args.depth),
            RegistryError::InvalidDepth
        );
        require!(
            args.freshness_slots > 0,
            RegistryError::InvalidFreshnessWindow
        );
        Ok(())
    }

    /// Initializes an empty track: no roots, zero leaves.
    pub fn handle(ctx: Context<Self>, args: CreateTrackArgs) -> Result<()> {
        {
            let mut track = ctx.accounts.track.load_init()?;
            track.track_id = args.track_id;
            track.depth = args.depth;
            track.epoch_seconds = args.epoch_seconds;
            track.freshness_slots = args.freshness_slots;
            track.bump = ctx.bumps.track;
            track.invariant()?;
        }
        emit_cpi!(TrackCreated {
            track_id: args.track_id,
            depth: args.depth,
            epoch_seconds: args.epoch_seconds,
            freshness_slots: args.freshness_slots,
        });
        Ok(())
    }
}
