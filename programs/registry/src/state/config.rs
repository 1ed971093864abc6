//! The registry's singleton configuration.

use anchor_lang::prelude::*;

use crate::error::RegistryError;

/// Who may do what, and whether the registry is paused. PDA `[CONFIG_SEED]`.
#[account]
#[derive(InitSpace, Debug, PartialEq, Eq)]
pub struct Config {
    /// Manages tracks, the registrar, pausing and its own rotation.
    pub admin: Pubkey,
    /// The admin proposed by `admin_propose`; it takes over only when it signs `admin_accept`.
    pub pending_admin: Option<Pubkey>,
    /// The only key that may publish Merkle roots and anchor ChittyID batches (the relayer).
    pub registrar: Pubkey,
    /// Receives protocol fees; recorded here so every program reads one value.
    pub treasury: Pubkey,
    /// While set, every instruction except `unpause` fails with `RegistryError::Paused`.
    pub paused: bool,
    /// Canonical bump of this PDA.
    pub bump: u8,
}

impl Config {
    /// The rule every instruction but `unpause` enforces first.
    pub fn require_not_paused(&self) -> Result<()> {
        require!(!self.paused, RegistryError::Paused);
        Ok(())
    }

    /// `signer` must be the current admin.
    pub fn require_admin(&self, signer: &Pubkey) -> Result<()> {
        require_keys_eq!(*signer, self.admin, RegistryError::NotAdmin);
        Ok(())
    }

    /// `signer` must be the registrar.
    pub fn require_registrar(&self, signer: &Pubkey) -> Result<()> {
        require_keys_eq!(*signer, self.registrar, RegistryError::NotRegistrar);
        Ok(())
    }

    /// Holds after every instruction that writes the config.
    pub fn invariant(&self) -> Result<()> {
        // No role may be the default key, which nobody can sign for.
        require_keys_neq!(
            self.admin,
            Pubkey::default(),
            RegistryError::InvalidAuthority
        );
        require_keys_neq!(
            self.registrar,
            Pubkey::default(),
            RegistryError::InvalidAuthority
        );
        require_keys_neq!(
            self.treasury,
            Pubkey::default(),
            RegistryError::InvalidAuthority
        );
        // A pending admin is a different key that is not the default.
        if let Some(pending) = self.pending_admin {
            require_keys_neq!(pending, self.admin, RegistryError::AdminUnchanged);
            require_keys_neq!(pending, Pubkey::default(), RegistryError::InvalidAuthority);
        }
        Ok(())
    }
}
