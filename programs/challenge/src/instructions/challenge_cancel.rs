//! `cancel`: the creator withdraws a challenge nobody accepted. Runs while paused.

use anchor_lang::prelude::*;

use super::escrow::*;
use crate::{error::ChallengeError, state::*};

#[event_cpi]
#[derive(Accounts)]
pub struct Cancel<'info> {
    /// The creator.
    pub creator: Signer<'info>,
    /// The challenge.
    #[account(mut)]
    pub challenge: Account<'info, Challenge>,
    /// Escrow (the vault is closed, its rent returned).
    pub escrow: Escrow<'info>,
}

impl Cancel<'_> {
    /// The creator, before acceptance (DRAFT or AWAITING_COUNTERPARTY).
    pub fn validate(&self) -> Result<()> {
        let c = &self.challenge;
        require_keys_eq!(self.creator.key(), c.creator, ChallengeError::NotCreator);
        require!(
            matches!(c.status, Status::Draft | Status::AwaitingCounterparty),
            ChallengeError::InvalidStatus
        );
        self.escrow.validate(c)
    }

    /// Refunds (no bond can be in yet), closes the vault, and moves to CANCELLED.
    pub fn handle(ctx: Context<Self>) -> Result<()> {
        let (released, changed) = ctx
            .accounts
            .escrow
            .refund_and_end(&mut ctx.accounts.challenge, Status::Cancelled)?;
        if let Some(released) = released {
            emit_cpi!(released);
        }
        emit_cpi!(changed);
        Ok(())
    }
}
