//! Harness probe: a host-only Anchor program used by the harness self-tests to prove that the
//! bridge really executes CPIs (system and SPL Token, PDA-signed), delivers `emit_cpi!` events,
//! and rejects writes to read-only accounts. It is a test fixture, never deployed.

#![allow(unexpected_cfgs)]

use anchor_lang::prelude::*;
use anchor_spl::token::{self, Mint, Token, TokenAccount, Transfer};

declare_id!("EdDfCCw47iNHT7mRjsWUJSegJcsf5nDLr8b67qZWmPZW");

/// `[RECORD_SEED, payer]`: a record created through a system-program CPI.
pub const RECORD_SEED: &[u8] = b"record";
/// `[VAULT_SEED, mint]`: a token account owned by [`AUTHORITY_SEED`]'s PDA.
pub const VAULT_SEED: &[u8] = b"vault";
/// `[AUTHORITY_SEED]`: the PDA that signs vault withdrawals.
pub const AUTHORITY_SEED: &[u8] = b"authority";

#[program]
pub mod veil_probe {
    use super::*;

    /// Creates a record PDA (system CPI) and stores `value` in it.
    pub fn create_record(ctx: Context<CreateRecord>, value: u64) -> Result<()> {
        ctx.accounts.record.value = value;
        ctx.accounts.record.created_slot = Clock::get()?.slot;
        Ok(())
    }

    /// Creates the vault token account (system + SPL Token CPIs).
    pub fn open_vault(_ctx: Context<OpenVault>) -> Result<()> {
        Ok(())
    }

    /// Moves `amount` from the signer's token account into the vault (SPL Token CPI).
    pub fn deposit(ctx: Context<Deposit>, amount: u64) -> Result<()> {
        let accounts = Transfer {
            from: ctx.accounts.from.to_account_info(),
            to: ctx.accounts.vault.to_account_info(),
            authority: ctx.accounts.owner.to_account_info(),
        };
        token::transfer(
            CpiContext::new(ctx.accounts.token_program.key(), accounts),
            amount,
        )
    }

    /// Moves `amount` out of the vault, signed by the authority PDA (SPL Token CPI).
    /// `swallow_error` makes the program ignore a failed CPI, which the runtime must not allow.
    pub fn withdraw(ctx: Context<Withdraw>, amount: u64, swallow_error: bool) -> Result<()> {
        let accounts = Transfer {
            from: ctx.accounts.vault.to_account_info(),
            to: ctx.accounts.to.to_account_info(),
            authority: ctx.accounts.authority.to_account_info(),
        };
        let bump = [ctx.bumps.authority];
        let seeds: &[&[u8]] = &[AUTHORITY_SEED, &bump];
        let result = token::transfer(
            CpiContext::new_with_signer(ctx.accounts.token_program.key(), accounts, &[seeds]),
            amount,
        );
        match (result, swallow_error) {
            (Err(_), true) => Ok(()),
            (result, _) => result,
        }
    }

    /// Emits [`Pinged`] through an event CPI.
    pub fn ping(ctx: Context<Ping>, value: u64) -> Result<()> {
        emit_cpi!(Pinged { value });
        Ok(())
    }

    /// Writes into an account passed read-only; the runtime must reject the change.
    pub fn write_readonly(ctx: Context<WriteReadonly>) -> Result<()> {
        let mut data = ctx.accounts.target.try_borrow_mut_data()?;
        if let Some(byte) = data.last_mut() {
            *byte = byte.wrapping_add(1);
        }
        Ok(())
    }
}

/// A record created by [`veil_probe::create_record`].
#[account]
#[derive(InitSpace)]
pub struct Record {
    /// The value written.
    pub value: u64,
    /// Slot of creation, read from the Clock sysvar.
    pub created_slot: u64,
}

/// Emitted by [`veil_probe::ping`].
#[event]
pub struct Pinged {
    /// The value sent.
    pub value: u64,
}

#[derive(Accounts)]
pub struct CreateRecord<'info> {
    /// Payer.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The record.
    #[account(init, payer = payer, space = 8 + Record::INIT_SPACE, seeds = [RECORD_SEED, payer.key().as_ref()], bump)]
    pub record: Account<'info, Record>,
    /// System program.
    pub system_program: Program<'info, System>,
}

#[derive(Accounts)]
pub struct OpenVault<'info> {
    /// Payer.
    #[account(mut)]
    pub payer: Signer<'info>,
    /// The mint.
    pub mint: Account<'info, Mint>,
    /// The vault authority PDA.
    /// CHECK: a PDA that owns no data; only its address matters.
    #[account(seeds = [AUTHORITY_SEED], bump)]
    pub authority: UncheckedAccount<'info>,
    /// The vault.
    #[account(init, payer = payer, seeds = [VAULT_SEED, mint.key().as_ref()], bump, token::mint = mint, token::authority = authority)]
    pub vault: Account<'info, TokenAccount>,
    /// SPL Token.
    pub token_program: Program<'info, Token>,
    /// System program.
    pub system_program: Program<'info, System>,
}

#[derive(Accounts)]
pub struct Deposit<'info> {
    /// Owner of `from`.
    pub owner: Signer<'info>,
    /// Source token account.
    #[account(mut)]
    pub from: Account<'info, TokenAccount>,
    /// The vault.
    #[account(mut, seeds = [VAULT_SEED, from.mint.as_ref()], bump)]
    pub vault: Account<'info, TokenAccount>,
    /// SPL Token.
    pub token_program: Program<'info, Token>,
}

#[derive(Accounts)]
pub struct Withdraw<'info> {
    /// The vault authority PDA.
    /// CHECK: a PDA that owns no data; only its address matters.
    #[account(seeds = [AUTHORITY_SEED], bump)]
    pub authority: UncheckedAccount<'info>,
    /// The vault.
    #[account(mut, seeds = [VAULT_SEED, to.mint.as_ref()], bump)]
    pub vault: Account<'info, TokenAccount>,
    /// Destination token account.
    #[account(mut)]
    pub to: Account<'info, TokenAccount>,
    /// SPL Token.
    pub token_program: Program<'info, Token>,
}

#[event_cpi]
#[derive(Accounts)]
pub struct Ping {}

#[derive(Accounts)]
pub struct WriteReadonly<'info> {
    /// An account owned by this program, passed read-only.
    /// CHECK: deliberately unchecked; the test is that the runtime rejects the write.
    pub target: UncheckedAccount<'info>,
}
