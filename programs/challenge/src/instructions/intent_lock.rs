//! `lock_intent`: the terms are locked once every precondition of the mode holds.

use anchor_lang::prelude::*;

use crate::{error::ChallengeError, state::*};

#[event_cpi]
#[derive(Accounts)]
pub struct LockIntent<'info> {
    /// A party (the creator in Solo).
    pub party: Signer<'info>,
    /// The config.
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Account<'info, Config>,
    /// The challenge.
    #[account(mut)]
    pub challenge: Account<'info, Challenge>,
}

impl LockIntent<'_> {
    /// Not paused. Solo: the creator, from DRAFT. Otherwise: a party, from ACCEPTED, with both
    /// parties verified, both bonds deposited when bonded, and before the response deadline.
    pub fn validate(&self) -> Result<()> {
        self.config.require_not_paused()?;
        let c = &self.challenge;
        if c.mode == Mode::Solo {
            require_keys_eq!(self.party.key(), c.creator, ChallengeError::NotCreator);
            return c.require_status(Status::Draft);
        }
        c.require_party(&self.party.key())?;
        c.require_status(Status::Accepted)?;
        require!(
            c.creator_state.verified && c.counterparty_state.verified,
            ChallengeError::NotVerified
        );
        if c.is_bonded() {
            require!(
                c.creator_state.bond_deposited && c.counterparty_state.bond_deposited,
                ChallengeError::BondsMissing
            );
        }
        c.require_before_response_deadline()
    }

    /// Moves to INTENT_LOCKED.
    pub fn handle(ctx: Context<Self>) -> Result<()> {
        let key = ctx.accounts.challenge.key();
        let challenge = &mut ctx.accounts.challenge;
        let event = challenge.change_status(key, Status::IntentLocked)?;
        challenge.invariant(None)?;
        emit_cpi!(event);
        Ok(())
    }
}
