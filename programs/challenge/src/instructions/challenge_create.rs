//! `create_challenge`: opens a challenge and, when bonded, its vault.

use anchor_lang::prelude::*;
use anchor_spl::token::{Mint, Token, TokenAccount};

use crate::{
    error::ChallengeError,
    events::{ChallengeCreated, CounterpartySet, StatusChanged},
    state::*,
};

/// Arguments of `create_challenge`.
#[derive(AnchorSerialize, AnchorDeserialize, Clone, Debug, PartialEq, Eq)]
pub struct CreateChallengeArgs {
    /// The creator's nonce (one challenge per creator and nonce).
    pub nonce: u64,
    /// Mode.
    pub mode: Mode,
    /// The counterparty; `None` for an open challenge (and always in Solo).
    pub counterparty: Option<Pubkey>,
    /// The arbiter; required when bonded.
    pub arbiter: Option<Pubkey>,
    /// SHA-256 of the agreed terms.
    pub terms_hash: [u8; 32],
    /// Bond per party in base units: > 0 in Fire, 0 in Solo and Gatekeeper, either in Enforced.
    pub bond_amount: u64,
    /// The winner's explicit share of the loser's bond, in basis points.
    pub winner_share_bps: u16,
    /// The treasury's share of the loser's bond, in basis points.
    pub treasury_share_bps: u16,
    /// Unix time by which the counterparty must accept (Enforced; else 0).
    pub accept_deadline: i64,
    /// Unix time by which the outcome must be confirmed: required in Enforced and whenever
    /// bonded (Fire); 0 for an unbonded Gatekeeper challenge.
    pub response_deadline: i64,
}

#[event_cpi]
#[derive(Accounts)]
#[instruction(args: CreateChallengeArgs)]
pub struct CreateChallenge<'info> {
    /// Opens the challenge and pays for its accounts.
    #[account(mut)]
    pub creator: Signer<'info>,
    /// The config.
    #[account(seeds = [CONFIG_SEED], bump = config.bump)]
    pub config: Account<'info, Config>,
    /// The challenge, created here.
    #[account(
        init,
        payer = creator,
        space = 8 + Challenge::INIT_SPACE,
        seeds = [CHALLENGE_SEED, creator.key().as_ref(), args.nonce.to_le_bytes().as_ref()],
        bump
    )]
    pub challenge: Account<'info, Challenge>,
    /// The bond mint (bonded challenges only).
    pub bond_mint: Option<Account<'info, Mint>>,
    /// The vault, created here for bonded challenges: a token account owned by the challenge.
    #[account(
        init,
        payer = creator,
        seeds = [VAULT_SEED, challenge.key().as_ref()],
        bump,
        token::mint = bond_mint,
        token::authority = challenge,
        token::token_program = token_program
    )]
    pub vault: Option<Account<'info, TokenAccount>>,
    /// SPL Token (bonded challenges only).
    pub token_program: Option<Program<'info, Token>>,
    /// The system program.
    pub system_program: Program<'info, System>,
}

impl CreateChallenge<'_> {
    /// Not paused; the parameters fit the mode; shares and deadlines are within the config; a
    /// bond mint nobody can freeze, or one the admin allowed.
    pub fn validate(&self, args: &CreateChallengeArgs) -> Result<()> {
        self.config.require_not_paused()?;
        let creator = self.creator.key();
        require!(args.terms_hash != [0; 32], ChallengeError::EmptyTerms);

        let bonded = args.bond_amount > 0;
        let shape_ok = match args.mode {
            Mode::Solo => args.counterparty.is_none() && args.arbiter.is_none() && !bonded,
            Mode::Gatekeeper => !bonded,
            Mode::Fire => bonded,
            Mode::Enforced => true,
        };
        require!(shape_ok, ChallengeError::InvalidModeParameters);
        // Bonded challenges come with their mint and vault; unbonded ones with neither.
        require!(
            bonded == self.vault.is_some() && bonded == self.bond_mint.is_some(),
            ChallengeError::InvalidModeParameters
        );
        if bonded {
            require!(args.arbiter.is_some(), ChallengeError::ArbiterRequired);
            let mint = self
                .bond_mint
                .as_ref()
                .ok_or(ChallengeError::UnsupportedBondMint)?;
            require!(
                mint.decimals == BOND_DECIMALS
                    && self
                        .config
                        .allows_bond_mint(&mint.key(), mint.freeze_authority.into()),
                ChallengeError::UnsupportedBondMint
            );
        } else {
            require!(
                args.winner_share_bps == 0 && args.treasury_share_bps == 0,
                ChallengeError::InvalidShares
            );
        }

        // Three distinct keys.
        let distinct = args.counterparty != Some(creator)
            && args.arbiter != Some(creator)
            && (args.arbiter.is_none() || args.arbiter != args.counterparty);
        require!(distinct, ChallengeError::PartiesNotDistinct);

        let shares = args
            .winner_share_bps
            .checked_add(args.treasury_share_bps)
            .ok_or(ChallengeError::InvalidShares)?;
        require!(
            shares <= BPS && args.treasury_share_bps <= self.config.max_treasury_bps,
            ChallengeError::InvalidShares
        );

        // Deadlines. Enforced: both, each within its configured window. Fire (bonded, not
        // Enforced): no accept deadline (the creator may cancel until acceptance), and a
        // response deadline within the response window from now, so that no bond can be
        // escrowed without a way out. Unbonded Gatekeeper: none.
        let now = Clock::get()?.unix_timestamp;
        if args.mode == Mode::Enforced {
            let accept_span = args
                .accept_deadline
                .checked_sub(now)
                .ok_or(ChallengeError::ArithmeticOverflow)?;
            let response_span = args
                .response_deadline
                .checked_sub(args.accept_deadline)
                .ok_or(ChallengeError::ArithmeticOverflow)?;
            require!(
                self.config.accept_window.contains(accept_span)
                    && self.config.response_window.contains(response_span),
                ChallengeError::DeadlineOutOfBounds
            );
        } else if bonded {
            require!(
                args.accept_deadline == 0,
                ChallengeError::InvalidModeParameters
            );
            require!(
                args.response_deadline != 0,
                ChallengeError::ResponseDeadlineRequired
            );
            let response_span = args
                .response_deadline
                .checked_sub(now)
                .ok_or(ChallengeError::ArithmeticOverflow)?;
            require!(
                self.config.response_window.contains(response_span),
                ChallengeError::DeadlineOutOfBounds
            );
        } else {
            require!(
                args.accept_deadline == 0 && args.response_deadline == 0,
                ChallengeError::InvalidModeParameters
            );
        }
        Ok(())
    }

    /// Writes the challenge in its first status.
    pub fn handle(ctx: Context<Self>, args: CreateChallengeArgs) -> Result<()> {
        let status = if args.mode == Mode::Solo {
            Status::Draft
        } else {
            Status::AwaitingCounterparty
        };
        let challenge_key = ctx.accounts.challenge.key();
        let vault = ctx
            .accounts
            .vault
            .as_ref()
            .map_or(Pubkey::default(), |v| v.key());
        let bond_mint = ctx
            .accounts
            .bond_mint
            .as_ref()
            .map_or(Pubkey::default(), |m| m.key());
        let challenge = &mut ctx.accounts.challenge;
        challenge.set_inner(Challenge {
            creator: ctx.accounts.creator.key(),
            nonce: args.nonce,
            counterparty: args.counterparty,
            arbiter: args.arbiter,
            mode: args.mode,
            status,
            terms_hash: args.terms_hash,
            bond_mint,
            bond_amount: args.bond_amount,
            winner_share_bps: args.winner_share_bps,
            treasury_share_bps: args.treasury_share_bps,
            treasury: ctx.accounts.config.treasury,
            accept_deadline: args.accept_deadline,
            response_deadline: args.response_deadline,
            arbiter_window: ctx.accounts.config.arbiter_window,
            arbiter_deadline: 0,
            creator_state: PartyState::default(),
            counterparty_state: PartyState::default(),
            outcome: None,
            deposited: 0,
            paid_out: 0,
            vault,
            vault_closed: false,
            bump: ctx.bumps.challenge,
        });
        challenge.invariant(ctx.accounts.vault.as_ref().map(|v| v.amount))?;
        emit_cpi!(ChallengeCreated {
            challenge: challenge_key,
            creator: challenge.creator,
            mode: args.mode,
            terms_hash: args.terms_hash,
            bond_mint,
            bond_amount: args.bond_amount,
        });
        emit_cpi!(StatusChanged {
            challenge: challenge_key,
            from: None,
            to: status,
            at: Clock::get()?.unix_timestamp,
        });
        if let Some(counterparty) = args.counterparty {
            emit_cpi!(CounterpartySet {
                challenge: challenge_key,
                counterparty,
                accepted: false,
            });
        }
        Ok(())
    }
}
