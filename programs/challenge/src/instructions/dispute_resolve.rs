//! `resolve`: the arbiter decides a disputed challenge.

use anchor_lang::prelude::*;

use crate::{error::ChallengeError, events::AttestationCreated, state::*};

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
    /// Not paused; the arbiter shall resolve only a DISPUTED challenge.
    pub fn validate(&self) -> Result<()> {
        self.config.require_not_paused()?;
        let c = &self.challenge;
        require!(
            c.arbiter == Some(self.arbiter.key()),
            ChallengeError::NotArbiter
        );
        c.require_status(Status::Disputed)
    }

    /// Records the outcome and completes the challenge.
    pub fn handle(ctx: Context<Self>, outcome: Outcome) -> Result<()> {
        let key = ctx.accounts.challenge.key();
        let challenge = &mut ctx.accounts.challenge;
        challenge.outcome = Some(outcome);
        let event = challenge.change_status(key, Status::Completed)?;
        challenge.invariant(None)?;
        emit_cpi!(event);
        emit_cpi!(AttestationCreated {
            challenge: key,
            outcome,
            terms_hash: challenge.terms_hash,
        });
        Ok(())
    }
}
