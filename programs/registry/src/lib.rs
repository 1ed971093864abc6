//! # Chitty Veil registry
//!
//! Merkle roots of token ownership per track, the nullifier set, and anchoring of ChittyID
//! batches. Every instruction but `unpause` refuses to run while the registry is paused.
//! Every state change emits an event with `emit_cpi!`, so it survives log truncation.
//!
//! This file is the table of contents: one line of preconditions per instruction, and one
//! call into its handler in `instructions/`.

#![deny(clippy::arithmetic_side_effects)]
#![allow(unexpected_cfgs)]

use anchor_lang::prelude::*;

pub mod error;
pub mod events;
pub mod instructions;
pub mod state;

pub use instructions::*;

declare_id!("7k8MB76GdRgncTEK1EUE679iGwbyFWBHXb4VqLLi8qna");

#[program]
pub mod registry {
    use super::*;

    /// Creates the config. Signer: payer and first admin; under the upgradeable loader it must
    /// be the program's upgrade authority. Fails if the config exists.
    #[access_control(ctx.accounts.validate())]
    pub fn initialize(ctx: Context<Initialize>, args: InitializeArgs) -> Result<()> {
        Initialize::handle(ctx, args)
    }

    /// Proposes a new admin. Signer: admin. Not paused.
    #[access_control(ctx.accounts.validate())]
    pub fn propose_admin(ctx: Context<ProposeAdmin>, proposed: Pubkey) -> Result<()> {
        ProposeAdmin::handle(ctx, proposed)
    }

    /// Completes the rotation. Signer: the proposed admin. Not paused; a proposal pending.
    #[access_control(ctx.accounts.validate())]
    pub fn accept_admin(ctx: Context<AcceptAdmin>) -> Result<()> {
        AcceptAdmin::handle(ctx)
    }

    /// Replaces the registrar. Signer: admin. Not paused.
    #[access_control(ctx.accounts.validate())]
    pub fn set_registrar(ctx: Context<SetRegistrar>, registrar: Pubkey) -> Result<()> {
        SetRegistrar::handle(ctx, registrar)
    }

    /// Pauses the registry. Signer: admin. Not already paused.
    #[access_control(ctx.accounts.validate())]
    pub fn pause(ctx: Context<Pause>) -> Result<()> {
        Pause::handle(ctx)
    }

    /// Unpauses the registry. Signer: admin. Paused.
    #[access_control(ctx.accounts.validate())]
    pub fn unpause(ctx: Context<Unpause>) -> Result<()> {
        Unpause::handle(ctx)
    }

    /// Creates a track. Signer: admin (payer). Not paused; canonical track id; depth 1..=32;
    /// a positive freshness window.
    #[access_control(ctx.accounts.validate(&args))]
    pub fn create_track(ctx: Context<CreateTrack>, args: CreateTrackArgs) -> Result<()> {
        CreateTrack::handle(ctx, args)
    }

    /// Publishes a root into a track's ring. Signer: registrar. Not paused; canonical root;
    /// leaf count not decreasing and within capacity; snapshot slot not in the future nor
    /// before the latest root's; the latest root again only with a newer snapshot (a refresh).
    #[access_control(ctx.accounts.validate(&args))]
    pub fn publish_root(ctx: Context<PublishRoot>, args: PublishRootArgs) -> Result<()> {
        PublishRoot::handle(ctx, args)
    }

    /// Records a ChittyID batch root. Signer: registrar (payer). Not paused; valid namespace;
    /// 1..=MAX_ID_BATCH IDs; (namespace, first_seq) not anchored before; the range starts at
    /// or past the end of the namespace's previous batch.
    #[access_control(ctx.accounts.validate(&args))]
    pub fn anchor_id_batch(ctx: Context<AnchorIdBatch>, args: AnchorIdBatchArgs) -> Result<()> {
        AnchorIdBatch::handle(ctx, args)
    }

    /// Verifies a Groth16 membership proof and spends its nullifier. Signer: payer. Not paused;
    /// track depth has a verifying key; root in the ring with a snapshot inside the track's
    /// freshness window; scope per the track's rule; canonical
    /// inputs; nullifier unused on this track.
    #[access_control(ctx.accounts.validate(&args))]
    pub fn verify_ownership(
        ctx: Context<VerifyOwnership>,
        args: VerifyOwnershipArgs,
    ) -> Result<()> {
        VerifyOwnership::handle(ctx, args)
    }
}
