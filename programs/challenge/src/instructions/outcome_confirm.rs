//! `confirm_outcome`: each party declares the outcome. Matching declarations complete the
//! challenge; different ones dispute it, and the arbiter's window opens then. In Solo the
//! creator's declaration completes it. A party that stays silent past the response deadline
//! lets the other's declaration stand (`expire`).

use anchor_lang::prelude::*;

use crate::{error::ChallengeError, events::OutcomeConfirmed, state::*};

#[event_cpi]
#[derive(Accounts)]
pub struct ConfirmOutcome<'info> {
    /// A party.
    pub party: Signer<'info>,
    /// The config.
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Account<'info, Config>,
    /// The challenge.
    #[account(mut)]
    pub challenge: Account<'info, Challenge>,
}

impl ConfirmOutcome<'_> {
    /// Not paused; INTENT_LOCKED; a party that has not confirmed; before the response deadline.
    pub fn validate(&self) -> Result<()> {
        self.config.require_not_paused()?;
        let c = &self.challenge;
        c.require_status(Status::IntentLocked)?;
        let party = c.require_party(&self.party.key())?;
        require!(
            c.party(party).confirmed.is_none(),
            ChallengeError::AlreadyConfirmed
        );
        c.require_before_response_deadline()
    }

    /// Records the declaration and completes or disputes when both are in.
    pub fn handle(ctx: Context<Self>, outcome: Outcome) -> Result<()> {
        let key = ctx.accounts.challenge.key();
        let party = ctx
            .accounts
            .challenge
            .require_party(&ctx.accounts.party.key())?;
        let challenge = &mut ctx.accounts.challenge;
        challenge.party_mut(party).confirmed = Some(outcome);
        emit_cpi!(OutcomeConfirmed {
            challenge: key,
            party,
            outcome,
        });

        let decided = if challenge.mode == Mode::Solo {
            Some(outcome)
        } else {
            match (
                challenge.creator_state.confirmed,
                challenge.counterparty_state.confirmed,
            ) {
                (Some(a), Some(b)) if a == b => Some(a),
                (Some(_), Some(_)) => {
                    challenge.open_dispute(Clock::get()?.unix_timestamp)?;
                    let event = challenge.change_status(key, Status::Disputed)?;
                    challenge.invariant(None)?;
                    emit_cpi!(event);
                    return Ok(());
                }
                _ => None,
            }
        };
        if let Some(outcome) = decided {
            let (changed, attestation) = challenge.complete(key, outcome)?;
            challenge.invariant(None)?;
            emit_cpi!(changed);
            emit_cpi!(attestation);
            return Ok(());
        }
        challenge.invariant(None)
    }
}
