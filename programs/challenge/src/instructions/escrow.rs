//! The bond vault's accounts, checked in one place, and the releases out of it: transfers
//! signed by the challenge PDA, a sweep of any unsolicited surplus to the treasury, then
//! closing the vault with its rent back to the creator.

use anchor_lang::prelude::*;
use anchor_spl::token::{self, CloseAccount, Mint, Token, TokenAccount, TransferChecked};

use crate::{
    error::ChallengeError,
    events::{BondsReleased, StatusChanged, SurplusSwept},
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
    /// The treasury's token account of the bond mint: receives the treasury's share of a
    /// slashed bond and any surplus someone sent into the vault. Required only when either is
    /// non-zero.
    #[account(mut)]
    pub treasury_tokens: Option<Account<'info, TokenAccount>>,
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
        if let Some(treasury_tokens) = self.treasury_tokens.as_ref() {
            require_token_account(Some(treasury_tokens), challenge, &challenge.treasury)?;
        }
        Ok(())
    }

    /// Pays `payout` out of the vault, sweeps any surplus to the treasury, and closes the
    /// vault. Returns the surplus swept (0 for unbonded challenges, a no-op).
    pub fn release(
        &mut self,
        challenge: &mut Account<'info, Challenge>,
        payout: Payout,
    ) -> Result<u64> {
        if !challenge.is_bonded() || challenge.vault_closed {
            return Ok(0);
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
            (payout.to_treasury, self.treasury_tokens.as_ref()),
        ];
        let vault_info = vault.to_account_info();
        let transfer = |amount: u64, to: Option<&Account<'info, TokenAccount>>| -> Result<()> {
            if amount == 0 {
                return Ok(());
            }
            let to = to.ok_or(ChallengeError::TokenAccountMismatch)?;
            token::transfer_checked(
                CpiContext::new_with_signer(
                    token_program.key(),
                    TransferChecked {
                        from: vault_info.clone(),
                        mint: mint.to_account_info(),
                        to: to.to_account_info(),
                        authority: authority.clone(),
                    },
                    &[seeds],
                ),
                amount,
                mint.decimals,
            )
        };
        for (amount, to) in destinations {
            transfer(amount, to)?;
        }
        challenge.record_payout(payout.total()?)?;

        // Every escrowed token is out; whatever remains was sent in by someone outside the
        // challenge's bookkeeping. It belongs to no party: it goes to the treasury, so that the
        // vault can close (an account must be empty to close).
        vault.reload()?;
        let escrowed = challenge.escrowed()?;
        require!(escrowed == 0, ChallengeError::InvariantViolated);
        let surplus = vault.amount;
        transfer(surplus, self.treasury_tokens.as_ref())?;
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
        Ok(surplus)
    }
}

impl<'info> Escrow<'info> {
    /// Refunds every deposited bond, closes the vault and ends the challenge in `status`
    /// (CANCELLED or EXPIRED). Returns the events to emit, in order.
    pub fn refund_and_end(
        &mut self,
        challenge: &mut Account<'info, Challenge>,
        status: Status,
    ) -> Result<Released> {
        let key = challenge.key();
        let payout = refund(challenge);
        let surplus = self.release(challenge, payout)?;
        let changed = challenge.change_status(key, status)?;
        challenge.invariant(None)?;
        Ok(Released {
            released: (payout.total()? > 0).then_some(BondsReleased {
                challenge: key,
                mint: challenge.bond_mint,
                payout,
                slashed: 0,
            }),
            swept: swept(key, challenge, surplus),
            changed: Some(changed),
        })
    }
}

/// Emits the events of a [`Released`] with `emit_cpi!` through `$ctx`, in order.
#[macro_export]
macro_rules! emit_released {
    ($ctx:ident, $released:expr) => {{
        let ctx = &$ctx;
        let released: $crate::instructions::escrow::Released = $released;
        if let Some(event) = released.released {
            emit_cpi!(event);
        }
        if let Some(event) = released.swept {
            emit_cpi!(event);
        }
        if let Some(event) = released.changed {
            emit_cpi!(event);
        }
    }};
}

/// The events of a release, in the order they are emitted.
pub struct Released {
    /// Tokens paid to parties or the treasury, when any.
    pub released: Option<BondsReleased>,
    /// Surplus swept to the treasury, when any.
    pub swept: Option<SurplusSwept>,
    /// The status change, when the release ended the challenge.
    pub changed: Option<StatusChanged>,
}

/// The sweep event of `surplus` tokens out of the vault of `challenge` (at `key`), if there
/// were any.
pub fn swept(key: Pubkey, challenge: &Challenge, surplus: u64) -> Option<SurplusSwept> {
    (surplus > 0).then_some(SurplusSwept {
        challenge: key,
        mint: challenge.bond_mint,
        treasury: challenge.treasury,
        amount: surplus,
    })
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
