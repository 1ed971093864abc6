//! `cancel`: the creator withdraws a challenge nobody accepted, or either party backs out
//! before the intent locks, with every bond refunded. Runs while paused.

use anchor_lang::prelude::*;

use super::escrow::*;
use crate::{error::ChallengeError, state::*};

#[event_cpi]
#[derive(Accounts)]
pub struct Cancel<'info> {
    /// The creator, or after acceptance either party.
    pub creator: Signer<'info>,
    /// The challenge.
    #[account(mut)]
    pub challenge: Account<'info, Challenge>,
    /// Escrow (the vault is closed, its rent returned).
    pub escrow: Escrow<'info>,
}

impl Cancel<'_> {
    /// Before acceptance (DRAFT or AWAITING_COUNTERPARTY), the creator; from acceptance until
    /// the intent locks (ACCEPTED), either party: a party whose counterpart never deposits,
    /// or never gets verified, must not need that counterpart to get its own bond back.
    pub fn validate(&self) -> Result<()> {
        let c = &self.challenge;
        let signer = self.creator.key();
        match c.status {
            Status::Draft | Status::AwaitingCounterparty => {
                require_keys_eq!(signer, c.creator, ChallengeError::NotCreator)
            }
            Status::Accepted => {
                c.require_party(&signer)?;
            }
            _ => return err!(ChallengeError::InvalidStatus),
        }
        self.escrow.validate(c)
    }

    /// Refunds every deposited bond, closes the vault, and moves to CANCELLED.
    pub fn handle(ctx: Context<Self>) -> Result<()> {
        let released = ctx
            .accounts
            .escrow
            .refund_and_end(&mut ctx.accounts.challenge, Status::Cancelled)?;
        crate::emit_released!(ctx, released);
        Ok(())
    }
}
