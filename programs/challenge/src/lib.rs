//! # Chitty Veil challenges
//!
//! Solo, Gatekeeper, Fire and Enforced challenges with SPL-token bond escrow (SPEC §3.2). The
//! state machine is the transition table in [`state::Status::may_become`]; every mutating
//! instruction ends by checking [`state::Challenge::invariant`] (tokens conserved, whole
//! bonds, nothing paid twice, shares within the whole). Every status change emits
//! `StatusChanged` with `emit_cpi!`; completion emits `AttestationCreated`.
//!
//! While paused, nothing is created or advanced, but the exits still run: `cancel`, `expire`
//! and `settle` only return tokens to their owners. No status that holds tokens lacks a way
//! out that needs no cooperation from the other party (see `docs/challenge.md`).
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
use state::Outcome;

declare_id!("Gw3DTSjK1NpDVQLHjUfdUfXvRKYZshAh4WYJQ5i8EvJC");

#[program]
pub mod challenge {
    use super::*;

    /// Creates the config. Signer: payer and admin (the upgrade authority when upgradeable).
    #[access_control(ctx.accounts.validate())]
    pub fn initialize(ctx: Context<Initialize>, args: ConfigArgs) -> Result<()> {
        Initialize::handle(ctx, args)
    }

    /// Replaces the configurable parameters. Signer: admin.
    #[access_control(ctx.accounts.validate())]
    pub fn update_config(ctx: Context<AdminConfig>, args: ConfigArgs) -> Result<()> {
        AdminConfig::update(ctx, args)
    }

    /// Proposes a new admin (two-step rotation). Signer: admin.
    #[access_control(ctx.accounts.validate())]
    pub fn propose_admin(ctx: Context<ProposeAdmin>, proposed: Pubkey) -> Result<()> {
        ProposeAdmin::handle(ctx, proposed)
    }

    /// Accepts the admin role. Signer: the proposed admin.
    #[access_control(ctx.accounts.validate())]
    pub fn accept_admin(ctx: Context<AcceptAdmin>) -> Result<()> {
        AcceptAdmin::handle(ctx)
    }

    /// Sets or clears the pause flag. Signer: admin.
    #[access_control(ctx.accounts.validate())]
    pub fn set_paused(ctx: Context<AdminConfig>, paused: bool) -> Result<()> {
        AdminConfig::set_paused(ctx, paused)
    }

    /// Opens a challenge (and its vault when bonded). Signer: creator. Not paused; parameters
    /// fit the mode; shares and deadlines within the config (every bonded challenge has a
    /// response deadline); a 6-decimal bond mint that nobody can freeze or that the admin
    /// listed.
    #[access_control(ctx.accounts.validate(&args))]
    pub fn create_challenge(
        ctx: Context<CreateChallenge>,
        args: CreateChallengeArgs,
    ) -> Result<()> {
        CreateChallenge::handle(ctx, args)
    }

    /// Joins as counterparty. Not paused; AWAITING_COUNTERPARTY; before the accept and response
    /// deadlines.
    #[access_control(ctx.accounts.validate())]
    pub fn accept(ctx: Context<Accept>) -> Result<()> {
        Accept::handle(ctx)
    }

    /// Records a party's wallet and funds checks. Signer: gatekeeper. ACCEPTED. A failure
    /// cancels and refunds.
    #[access_control(ctx.accounts.validate(&args))]
    pub fn attest_verification(
        ctx: Context<AttestVerification>,
        args: AttestVerificationArgs,
    ) -> Result<()> {
        AttestVerification::handle(ctx, args)
    }

    /// Deposits the signer's bond. Bonded; ACCEPTED; once per party.
    #[access_control(ctx.accounts.validate())]
    pub fn deposit_bond(ctx: Context<DepositBond>) -> Result<()> {
        DepositBond::handle(ctx)
    }

    /// Locks the intent. Solo: creator from DRAFT. Else a party from ACCEPTED with both
    /// verified and, when bonded, both bonds in.
    #[access_control(ctx.accounts.validate())]
    pub fn lock_intent(ctx: Context<LockIntent>) -> Result<()> {
        LockIntent::handle(ctx)
    }

    /// Declares an outcome. A party; INTENT_LOCKED; once. Matching declarations complete,
    /// different ones dispute.
    #[access_control(ctx.accounts.validate())]
    pub fn confirm_outcome(ctx: Context<ConfirmOutcome>, outcome: Outcome) -> Result<()> {
        ConfirmOutcome::handle(ctx, outcome)
    }

    /// Decides a dispute. Signer: arbiter. DISPUTED; before the arbiter's deadline.
    #[access_control(ctx.accounts.validate())]
    pub fn resolve(ctx: Context<Resolve>, outcome: Outcome) -> Result<()> {
        Resolve::handle(ctx, outcome)
    }

    /// Pays out a completed bonded challenge, sweeps any surplus to the treasury and closes
    /// its vault. Anyone; once; runs while paused.
    #[access_control(ctx.accounts.validate())]
    pub fn settle(ctx: Context<Settle>) -> Result<()> {
        Settle::handle(ctx)
    }

    /// After the deadline of the current stage: refunds and ends, or completes with the only
    /// confirmation given. Anyone; runs while paused.
    #[access_control(ctx.accounts.validate())]
    pub fn expire(ctx: Context<Expire>) -> Result<()> {
        Expire::handle(ctx)
    }

    /// Withdraws with refunds. Signer: the creator before acceptance, either party until the
    /// intent locks; runs while paused.
    #[access_control(ctx.accounts.validate())]
    pub fn cancel(ctx: Context<Cancel>) -> Result<()> {
        Cancel::handle(ctx)
    }
}
