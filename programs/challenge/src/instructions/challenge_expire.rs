//! `expire`: after an Enforced deadline, anyone refunds every bond and ends the challenge.
//! Runs while paused: users can always get their bonds back.

use anchor_lang::prelude::*;

use super::escrow::*;
use crate::{error::ChallengeError, state::*};

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
        let (released, changed) = ctx
            .accounts
            .escrow
            .refund_and_end(&mut ctx.accounts.challenge, Status::Expired)?;
        if let Some(released) = released {
            emit_cpi!(released);
        }
        emit_cpi!(changed);
        Ok(())
    }
}
