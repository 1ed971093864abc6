//! The bond vault's accounts, checked in one place, and the releases out of it: transfers
//! signed by the challenge PDA, then closing the vault with its rent back to the creator.

use anchor_lang::prelude::*;
use anchor_spl::token::{self, CloseAccount, Mint, Token, TokenAccount, TransferChecked};

use crate::{
    error::ChallengeError,
    events::{BondsReleased, StatusChanged},
    state::{Challenge, Payout, Status, CHALLENGE_SEED},
};

/// The escrow accounts of an instruction that may release bonds. Every field is optional
/// because unbonded challenges have no vault; [`Escrow::validate`] requires what the challenge
/// needs.
#[derive(Accounts)]
pub struct Escrow<'info> {
    /// The bond mint.
    pub mint: Option<Account<'info, Mint>>,
    /// The challenge's vault.
    #[account(mut)]
    pub vault: Option<Account<'info, TokenAccount>>,
    /// The creator's token account of the bond mint.
    #[account(mut)]
    pub creator_tokens: Option<Account<'info, TokenAccount>>,
    /// The counterparty's token account of the bond mint.
    #[account(mut)]
    pub counterparty_tokens: Option<Account<'info, TokenAccount>>,
    /// The creator, who receives the vault's rent when it closes.
    /// CHECK: must equal `challenge.creator` (checked in `Escrow::validate`).
    #[account(mut)]
    pub creator: Option<UncheckedAccount<'info>>,
    /// SPL Token.
    pub token_program: Option<Program<'info, Token>>,
}

impl<'info> Escrow<'info> {
    /// The accounts belong to `challenge`: its vault and mint, and each depositing party's own
    /// token account of that mint.
    pub fn validate(&self, challenge: &Challenge) -> Result<()> {
        if !challenge.is_bonded() || challenge.vault_closed {
            return Ok(());
        }
        let vault = self.vault.as_ref().ok_or(ChallengeError::EscrowMismatch)?;
        require_keys_eq!(vault.key(), challenge.vault, ChallengeError::EscrowMismatch);
        let mint = self.mint.as_ref().ok_or(ChallengeError::EscrowMismatch)?;
        require_keys_eq!(
            mint.key(),
            challenge.bond_mint,
            ChallengeError::EscrowMismatch
        );
        require!(self.token_program.is_some(), ChallengeError::EscrowMismatch);
        let creator = self
            .creator
            .as_ref()
            .ok_or(ChallengeError::EscrowMismatch)?;
        require_keys_eq!(
            creator.key(),
            challenge.creator,
            ChallengeError::EscrowMismatch
        );
        if challenge.creator_state.bond_deposited {
            require_token_account(self.creator_tokens.as_ref(), challenge, &challenge.creator)?;
        }
        if challenge.counterparty_state.bond_deposited {
            let counterparty = challenge
                .counterparty
                .ok_or(ChallengeError::InvariantViolated)?;
            require_token_account(self.counterparty_tokens.as_ref(), challenge, &counterparty)?;
        }
        Ok(())
    }

    /// Pays `payout` out of the vault and closes it. A no-op for unbonded challenges.
    pub fn release(
        &mut self,
        challenge: &mut Account<'info, Challenge>,
        payout: Payout,
        treasury_tokens: Option<&Account<'info, TokenAccount>>,
    ) -> Result<()> {
        if !challenge.is_bonded() || challenge.vault_closed {
            return Ok(());
        }
        let (Some(vault), Some(mint), Some(token_program), Some(creator)) = (
            self.vault.as_mut(),
            self.mint.as_ref(),
            self.token_program.as_ref(),
            self.creator.as_ref(),
        ) else {
            return err!(ChallengeError::EscrowMismatch);
        };
        let creator_key = challenge.creator;
        let nonce = challenge.nonce.to_le_bytes();
        let bump = [challenge.bump];
        let seeds: &[&[u8]] = &[CHALLENGE_SEED, creator_key.as_ref(), &nonce, &bump];
        let authority = challenge.to_account_info();

        let destinations = [
            (payout.to_creator, self.creator_tokens.as_ref()),
            (payout.to_counterparty, self.counterparty_tokens.as_ref()),
            (payout.to_treasury, treasury_tokens),
        ];
        for (amount, to) in destinations {
            if amount == 0 {
                continue;
            }
            let to = to.ok_or(ChallengeError::TokenAccountMismatch)?;
            token::transfer_checked(
                CpiContext::new_with_signer(
                    token_program.key(),
                    TransferChecked {
                        from: vault.to_account_info(),
                        mint: mint.to_account_info(),
                        to: to.to_account_info(),
                        authority: authority.clone(),
                    },
                    &[seeds],
                ),
                amount,
                mint.decimals,
            )?;
        }
        challenge.record_payout(payout.total()?)?;

        // Tokens are conserved: the vault holds exactly what remains escrowed (nothing).
        vault.reload()?;
        require!(
            vault.amount == challenge.escrowed()?,
            ChallengeError::InvariantViolated
        );
        token::close_account(CpiContext::new_with_signer(
            token_program.key(),
            CloseAccount {
                account: vault.to_account_info(),
                destination: creator.to_account_info(),
                authority,
            },
            &[seeds],
        ))?;
        challenge.vault_closed = true;
        Ok(())
    }
}

impl<'info> Escrow<'info> {
    /// Refunds every deposited bond, closes the vault and ends the challenge in `status`
    /// (CANCELLED or EXPIRED). Returns the events to emit: the release, when anything was
    /// paid, and the status change.
    pub fn refund_and_end(
        &mut self,
        challenge: &mut Account<'info, Challenge>,
        status: Status,
    ) -> Result<(Option<BondsReleased>, StatusChanged)> {
        let key = challenge.key();
        let payout = refund(challenge);
        self.release(challenge, payout, None)?;
        let changed = challenge.change_status(key, status)?;
        challenge.invariant(None)?;
        let released = (payout.total()? > 0).then_some(BondsReleased {
            challenge: key,
            mint: challenge.bond_mint,
            payout,
            slashed: 0,
        });
        Ok((released, changed))
    }
}

/// `account` is `owner`'s token account of the challenge's bond mint.
pub fn require_token_account(
    account: Option<&Account<TokenAccount>>,
    challenge: &Challenge,
    owner: &Pubkey,
) -> Result<()> {
    let account = account.ok_or(ChallengeError::TokenAccountMismatch)?;
    require!(
        account.mint == challenge.bond_mint && account.owner == *owner,
        ChallengeError::TokenAccountMismatch
    );
    Ok(())
}

/// Each deposited bond back to its party.
fn refund(challenge: &Challenge) -> Payout {
    let back = |deposited: bool| if deposited { challenge.bond_amount } else { 0 };
    Payout {
        to_creator: back(challenge.creator_state.bond_deposited),
        to_counterparty: back(challenge.counterparty_state.bond_deposited),
        to_treasury: 0,
    }
}
