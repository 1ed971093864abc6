//! `accept`: the counterparty joins.

use anchor_lang::prelude::*;

use crate::{error::ChallengeError, events::CounterpartySet, state::*};

#[event_cpi]
#[derive(Accounts)]
pub struct Accept<'info> {
    /// The counterparty (the named one, or anyone for an open challenge).
    pub counterparty: Signer<'info>,
    /// The config.
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Account<'info, Config>,
    /// The challenge.
    #[account(mut)]
    pub challenge: Account<'info, Challenge>,
}

impl Accept<'_> {
    /// Not paused; awaiting a counterparty; the signer may take that role; before the accept
    /// deadline.
    pub fn validate(&self) -> Result<()> {
        self.config.require_not_paused()?;
        let c = &self.challenge;
        c.require_status(Status::AwaitingCounterparty)?;
        let signer = self.counterparty.key();
        match c.counterparty {
            Some(named) => require_keys_eq!(signer, named, ChallengeError::NotCounterparty),
            None => require!(
                signer != c.creator && Some(signer) != c.arbiter,
                ChallengeError::PartiesNotDistinct
            ),
        }
        c.require_before_accept_deadline()
    }

    /// Records the counterparty and moves to ACCEPTED.
    pub fn handle(ctx: Context<Self>) -> Result<()> {
        let key = ctx.accounts.challenge.key();
        let counterparty = ctx.accounts.counterparty.key();
        let challenge = &mut ctx.accounts.challenge;
        challenge.counterparty = Some(counterparty);
        let event = challenge.change_status(key, Status::Accepted)?;
        challenge.invariant(None)?;
        emit_cpi!(event);
        emit_cpi!(CounterpartySet {
            challenge: key,
            counterparty,
            accepted: true,
        });
        Ok(())
    }
}
