//! `resolve`: the arbiter decides a disputed challenge.

use anchor_lang::prelude::*;

use crate::{error::ChallengeError, state::*};

#[event_cpi]
#[derive(Accounts)]
pub struct Resolve<'info> {
    /// The arbiter.
    pub arbiter: Signer<'info>,
    /// The config.
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Account<'info, Config>,
    /// The challenge.
    #[account(mut)]
    pub challenge: Account<'info, Challenge>,
}

impl Resolve<'_> {
    /// Not paused; the arbiter shall resolve only a DISPUTED challenge, and only before its
    /// deadline (after it, the dispute expires with refunds).
    pub fn validate(&self) -> Result<()> {
        self.config.require_not_paused()?;
        let c = &self.challenge;
        require!(
            c.arbiter == Some(self.arbiter.key()),
            ChallengeError::NotArbiter
        );
        c.require_status(Status::Disputed)?;
        c.require_before_arbiter_deadline()
    }

    /// Records the outcome and completes the challenge.
    pub fn handle(ctx: Context<Self>, outcome: Outcome) -> Result<()> {
        let key = ctx.accounts.challenge.key();
        let challenge = &mut ctx.accounts.challenge;
        let (changed, attestation) = challenge.complete(key, outcome)?;
        challenge.invariant(None)?;
        emit_cpi!(changed);
        emit_cpi!(attestation);
        Ok(())
    }
}
