//! `expire`: after a deadline, anyone ends the challenge by its rules (see
//! [`Challenge::expiry`]): refunds, or completion with the only confirmation given. Runs while
//! paused: users can always get their bonds out.

use anchor_lang::prelude::*;

use super::escrow::*;
use crate::state::*;

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
    /// The deadline of the current stage has passed: the accept deadline while awaiting the
    /// counterparty (the response deadline when there is no accept deadline), the response
    /// deadline after acceptance, the arbiter's deadline in a dispute.
    pub fn validate(&self) -> Result<()> {
        let c = &self.challenge;
        c.expiry(Clock::get()?.unix_timestamp)?;
        self.escrow.validate(c)
    }

    /// Refunds every deposited bond, closes the vault and moves to EXPIRED; or, when exactly
    /// one party confirmed an outcome before the response deadline, completes with it (then
    /// `settle` pays out as for any completed challenge).
    pub fn handle(ctx: Context<Self>) -> Result<()> {
        let key = ctx.accounts.challenge.key();
        let now = Clock::get()?.unix_timestamp;
        match ctx.accounts.challenge.expiry(now)? {
            Expiry::Refund => {
                let released = ctx
                    .accounts
                    .escrow
                    .refund_and_end(&mut ctx.accounts.challenge, Status::Expired)?;
                crate::emit_released!(ctx, released);
            }
            Expiry::Complete(outcome) => {
                let challenge = &mut ctx.accounts.challenge;
                let (changed, attestation) = challenge.complete(key, outcome)?;
                challenge.invariant(None)?;
                emit_cpi!(changed);
                emit_cpi!(attestation);
            }
        }
        Ok(())
    }
}
