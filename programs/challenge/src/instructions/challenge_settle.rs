//! `settle`: pays out a completed bonded challenge and closes its vault. Anyone may crank it:
//! every destination is fixed by the challenge.

use anchor_lang::prelude::*;
use anchor_spl::token::TokenAccount;

use super::escrow::*;
use crate::{error::ChallengeError, events::BondsReleased, state::*};

#[event_cpi]
#[derive(Accounts)]
pub struct Settle<'info> {
    /// Whoever cranks the settlement.
    pub cranker: Signer<'info>,
    /// The config.
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Account<'info, Config>,
    /// The challenge.
    #[account(mut)]
    pub challenge: Account<'info, Challenge>,
    /// Escrow.
    pub escrow: Escrow<'info>,
    /// The treasury's token account of the bond mint.
    #[account(mut)]
    pub treasury_tokens: Account<'info, TokenAccount>,
}

impl Settle<'_> {
    /// Not paused; bonded; COMPLETED; not settled; the escrow and treasury accounts belong to
    /// the challenge.
    pub fn validate(&self) -> Result<()> {
        self.config.require_not_paused()?;
        let c = &self.challenge;
        require!(c.is_bonded(), ChallengeError::NotBonded);
        c.require_status(Status::Completed)?;
        require!(!c.vault_closed, ChallengeError::AlreadySettled);
        self.escrow.validate(c)?;
        require_token_account(Some(&self.treasury_tokens), c, &c.treasury)
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
        ctx.accounts.escrow.release(
            &mut ctx.accounts.challenge,
            payout,
            Some(&ctx.accounts.treasury_tokens),
        )?;
        let challenge = &ctx.accounts.challenge;
        challenge.invariant(None)?;
        emit_cpi!(BondsReleased {
            challenge: key,
            mint: challenge.bond_mint,
            payout,
            slashed,
        });
        Ok(())
    }
}
