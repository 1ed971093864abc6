//! The challenge program's singleton configuration.

use anchor_lang::prelude::*;

use crate::error::ChallengeError;

/// Basis points in a whole.
pub const BPS: u16 = 10_000;

/// Decimals a bond mint must have (USDC-like stable bonds).
pub const BOND_DECIMALS: u8 = 6;

/// Most bond mints the admin may allow despite a freeze authority.
pub const MAX_BOND_MINTS: usize = 8;

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
    /// Proposed by the admin; becomes the admin when it accepts (two-step rotation).
    pub pending_admin: Option<Pubkey>,
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
    /// Seconds the arbiter has to decide a dispute, from the moment it arises; copied into
    /// each challenge at creation. After it, anyone may expire the dispute with refunds.
    pub arbiter_window: i64,
    /// Bond mints allowed although they have a freeze authority (for example USDC). A mint
    /// with no freeze authority is always allowed; any other must be listed here, because
    /// whoever holds the freeze authority can freeze the vault and every bond in it.
    #[max_len(MAX_BOND_MINTS)]
    pub bond_mints: Vec<Pubkey>,
    /// While set, nothing is created or advanced; exits that only return tokens to their
    /// owners (cancel, expire, settle) still run.
    pub paused: bool,
    /// Canonical bump.
    pub bump: u8,
}

impl Config {
    /// The rule every instruction that is not an exit enforces first.
    pub fn require_not_paused(&self) -> Result<()> {
        require!(!self.paused, ChallengeError::Paused);
        Ok(())
    }

    /// `signer` must be the admin.
    pub fn require_admin(&self, signer: &Pubkey) -> Result<()> {
        require_keys_eq!(*signer, self.admin, ChallengeError::NotAdmin);
        Ok(())
    }

    /// Whether bonds may be escrowed in `mint`: nobody can freeze it, or the admin listed it.
    pub fn allows_bond_mint(&self, key: &Pubkey, freeze_authority: Option<Pubkey>) -> bool {
        freeze_authority.is_none() || self.bond_mints.contains(key)
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
        require!(
            self.arbiter_window > 0,
            ChallengeError::InvalidDeadlineBounds
        );
        require!(
            self.bond_mints.len() <= MAX_BOND_MINTS
                && !self.bond_mints.contains(&Pubkey::default()),
            ChallengeError::InvalidBondMintList
        );
        require!(
            self.pending_admin != Some(self.admin),
            ChallengeError::AdminUnchanged
        );
        Ok(())
    }
}
