//! `settle`: pays out a completed bonded challenge and closes its vault. Anyone may crank it:
//! every destination is fixed by the challenge. Runs while paused: a pause must not hold back
//! what the winners are owed.

use anchor_lang::prelude::*;

use super::escrow::*;
use crate::{error::ChallengeError, events::BondsReleased, state::*};

#[event_cpi]
#[derive(Accounts)]
pub struct Settle<'info> {
    /// Whoever cranks the settlement.
    pub cranker: Signer<'info>,
    /// The challenge.
    #[account(mut)]
    pub challenge: Account<'info, Challenge>,
    /// Escrow (its treasury token account receives the treasury's share and any surplus).
    pub escrow: Escrow<'info>,
}

impl Settle<'_> {
    /// Bonded; COMPLETED; not settled; the escrow accounts belong to the challenge. (Not
    /// gated by the pause: it only pays out what the outcome already decided.)
    pub fn validate(&self) -> Result<()> {
        let c = &self.challenge;
        require!(c.is_bonded(), ChallengeError::NotBonded);
        c.require_status(Status::Completed)?;
        require!(!c.vault_closed, ChallengeError::AlreadySettled);
        self.escrow.validate(c)
    }

    /// Pays the winner, the treasury or both parties, then closes the vault.
    pub fn handle(ctx: Context<Self>) -> Result<()> {
        let key = ctx.accounts.challenge.key();
        let c = &ctx.accounts.challenge;
        let outcome = c.outcome.ok_or(ChallengeError::InvariantViolated)?;
        let payout = settle_payout(
            outcome,
            c.bond_amount,
            c.winner_share_bps,
            c.treasury_share_bps,
        )?;
        // The loser's bond that did not return to its owner.
        let slashed = match outcome {
            Outcome::Draw | Outcome::NoContest => 0,
            _ => c.bond_amount,
        };
        let surplus = ctx
            .accounts
            .escrow
            .release(&mut ctx.accounts.challenge, payout)?;
        let challenge = &ctx.accounts.challenge;
        challenge.invariant(None)?;
        let released = Released {
            released: Some(BondsReleased {
                challenge: key,
                mint: challenge.bond_mint,
                payout,
                slashed,
            }),
            swept: swept(key, challenge, surplus),
            changed: None,
        };
        crate::emit_released!(ctx, released);
        Ok(())
    }
}
