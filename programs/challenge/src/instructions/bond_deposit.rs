//! `deposit_bond`: a party moves its bond into the vault.

use anchor_lang::prelude::*;
use anchor_spl::token::{self, Mint, Token, TokenAccount, TransferChecked};

use crate::{error::ChallengeError, events::BondDeposited, state::*};

#[event_cpi]
#[derive(Accounts)]
pub struct DepositBond<'info> {
    /// The depositing party.
    pub depositor: Signer<'info>,
    /// The config.
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Account<'info, Config>,
    /// The challenge.
    #[account(mut)]
    pub challenge: Account<'info, Challenge>,
    /// The bond mint.
    pub mint: Account<'info, Mint>,
    /// The challenge's vault.
    #[account(mut)]
    pub vault: Account<'info, TokenAccount>,
    /// The depositor's token account of the bond mint.
    #[account(mut)]
    pub from: Account<'info, TokenAccount>,
    /// SPL Token.
    pub token_program: Program<'info, Token>,
}

impl DepositBond<'_> {
    /// Not paused; bonded; ACCEPTED; a party that has not deposited; the challenge's own vault
    /// and mint.
    pub fn validate(&self) -> Result<()> {
        self.config.require_not_paused()?;
        let c = &self.challenge;
        require!(c.is_bonded(), ChallengeError::NotBonded);
        c.require_status(Status::Accepted)?;
        let party = c.require_party(&self.depositor.key())?;
        require!(
            !c.party(party).bond_deposited,
            ChallengeError::BondAlreadyDeposited
        );
        require_keys_eq!(self.vault.key(), c.vault, ChallengeError::EscrowMismatch);
        require_keys_eq!(self.mint.key(), c.bond_mint, ChallengeError::EscrowMismatch);
        require_keys_eq!(
            self.from.mint,
            c.bond_mint,
            ChallengeError::TokenAccountMismatch
        );
        Ok(())
    }

    /// Transfers the bond in and records it.
    pub fn handle(ctx: Context<Self>) -> Result<()> {
        let key = ctx.accounts.challenge.key();
        let amount = ctx.accounts.challenge.bond_amount;
        token::transfer_checked(
            CpiContext::new(
                ctx.accounts.token_program.key(),
                TransferChecked {
                    from: ctx.accounts.from.to_account_info(),
                    mint: ctx.accounts.mint.to_account_info(),
                    to: ctx.accounts.vault.to_account_info(),
                    authority: ctx.accounts.depositor.to_account_info(),
                },
            ),
            amount,
            ctx.accounts.mint.decimals,
        )?;
        let party = ctx
            .accounts
            .challenge
            .require_party(&ctx.accounts.depositor.key())?;
        let challenge = &mut ctx.accounts.challenge;
        challenge.party_mut(party).bond_deposited = true;
        challenge.record_deposit(amount)?;
        ctx.accounts.vault.reload()?;
        challenge.invariant(Some(ctx.accounts.vault.amount))?;
        emit_cpi!(BondDeposited {
            challenge: key,
            party,
            amount,
        });
        Ok(())
    }
}
