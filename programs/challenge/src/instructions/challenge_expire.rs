//! `expire`: after an Enforced deadline, anyone refunds every bond and ends the challenge.
//! Runs while paused: users can always get their bonds back.

use anchor_lang::prelude::*;

use super::escrow::*;
use crate::{error::ChallengeError, events::BondsReleased, state::*};

#[event_cpi]
#[derive(Accounts)]
pub struct Expire<'info> {
    /// Whoever cranks the expiry.
    pub cranker: Signer<'info>,
    /// The challenge.
    #[account(mut)]
    pub challenge: Account<'info, Challenge>,
    /// Escrow.
    pub escrow: Escrow<'info>,
}

impl Expire<'_> {
    /// Enforced; the deadline of the current stage has passed: the accept deadline while
    /// awaiting the counterparty, the response deadline after acceptance.
    pub fn validate(&self) -> Result<()> {
        let c = &self.challenge;
        require!(c.is_enforced(), ChallengeError::NotEnforced);
        let now = Clock::get()?.unix_timestamp;
        let deadline = match c.status {
            Status::AwaitingCounterparty => c.accept_deadline,
            Status::Accepted | Status::IntentLocked | Status::Disputed => c.response_deadline,
            _ => return err!(ChallengeError::InvalidStatus),
        };
        require!(now > deadline, ChallengeError::DeadlineNotReached);
        self.escrow.validate(c)
    }

    /// Refunds every deposited bond, closes the vault, and moves to EXPIRED.
    pub fn handle(ctx: Context<Self>) -> Result<()> {
        let key = ctx.accounts.challenge.key();
        let payout = refund(&ctx.accounts.challenge);
        let bonded = ctx.accounts.challenge.is_bonded();
        ctx.accounts
            .escrow
            .release(&mut ctx.accounts.challenge, payout, None)?;
        let challenge = &mut ctx.accounts.challenge;
        let event = challenge.change_status(key, Status::Expired)?;
        challenge.invariant(None)?;
        if bonded {
            emit_cpi!(BondsReleased {
                challenge: key,
                mint: challenge.bond_mint,
                payout,
                slashed: 0,
            });
        }
        emit_cpi!(event);
        Ok(())
    }
}
