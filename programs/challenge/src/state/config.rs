//! The challenge program's singleton configuration.

use anchor_lang::prelude::*;

use crate::error::ChallengeError;

/// Basis points in a whole.
pub const BPS: u16 = 10_000;

/// Decimals a bond mint must have (USDC-like stable bonds).
pub const BOND_DECIMALS: u8 = 6;

/// Inclusive bounds, in seconds.
#[derive(AnchorSerialize, AnchorDeserialize, InitSpace, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Shortest allowed span.
    pub min: i64,
    /// Longest allowed span.
    pub max: i64,
}

impl Window {
    /// Whether `span` lies within the bounds.
    pub fn contains(&self, span: i64) -> bool {
        (self.min..=self.max).contains(&span)
    }
}

/// PDA `[CONFIG_SEED]`.
#[account]
#[derive(InitSpace, Debug, PartialEq, Eq)]
pub struct Config {
    /// Manages the config and the pause flag.
    pub admin: Pubkey,
    /// Attests wallet and funds verification for Gatekeeper, Fire and Enforced challenges.
    pub gatekeeper: Pubkey,
    /// Owner of the token accounts that receive the treasury's share of slashed bonds.
    pub treasury: Pubkey,
    /// Bounds of `accept_deadline − creation time` for Enforced challenges.
    pub accept_window: Window,
    /// Bounds of `response_deadline − accept_deadline` for Enforced challenges.
    pub response_window: Window,
    /// Largest treasury share a challenge may set, in basis points.
    pub max_treasury_bps: u16,
    /// While set, no challenge may be created or advanced; refunds (cancel, expire) still run.
    pub paused: bool,
    /// Canonical bump.
    pub bump: u8,
}

impl Config {
    /// The rule every instruction that is not a refund enforces first.
    pub fn require_not_paused(&self) -> Result<()> {
        require!(!self.paused, ChallengeError::Paused);
        Ok(())
    }

    /// Holds after every instruction that writes the config.
    pub fn invariant(&self) -> Result<()> {
        require_keys_neq!(
            self.gatekeeper,
            Pubkey::default(),
            ChallengeError::InvalidAuthority
        );
        require_keys_neq!(
            self.treasury,
            Pubkey::default(),
            ChallengeError::InvalidAuthority
        );
        require!(
            self.accept_window.min > 0 && self.accept_window.min <= self.accept_window.max,
            ChallengeError::InvalidDeadlineBounds
        );
        require!(
            self.response_window.min > 0 && self.response_window.min <= self.response_window.max,
            ChallengeError::InvalidDeadlineBounds
        );
        require!(self.max_treasury_bps <= BPS, ChallengeError::InvalidShares);
        Ok(())
    }
}
