//! Events, all emitted with `emit_cpi!`. Every status change emits [`StatusChanged`].

use anchor_lang::prelude::*;

use crate::state::{Mode, Outcome, Party, Payout, Status};

/// A challenge moved from one status to another.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChanged {
    /// The challenge.
    pub challenge: Pubkey,
    /// Previous status (`None` at creation).
    pub from: Option<Status>,
    /// New status.
    pub to: Status,
    /// Unix time of the change.
    pub at: i64,
}

/// A challenge was created.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeCreated {
    /// The challenge.
    pub challenge: Pubkey,
    /// The creator.
    pub creator: Pubkey,
    /// Mode.
    pub mode: Mode,
    /// Terms hash.
    pub terms_hash: [u8; 32],
    /// Bond mint (default key when unbonded).
    pub bond_mint: Pubkey,
    /// Bond per party.
    pub bond_amount: u64,
}

/// A challenge's counterparty became known: named at creation (`accepted` false), or on
/// acceptance (`accepted` true; for an open challenge this is the first time it is known).
/// Lets an indexer list a wallet's challenges without reading accounts.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterpartySet {
    /// The challenge.
    pub challenge: Pubkey,
    /// The counterparty.
    pub counterparty: Pubkey,
    /// Whether it accepted (false: only named by the creator).
    pub accepted: bool,
}

/// The gatekeeper attested a party.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerificationAttested {
    /// The challenge.
    pub challenge: Pubkey,
    /// The party attested.
    pub party: Party,
    /// Whether both the wallet and the funds checks passed.
    pub passed: bool,
    /// Hash of the attestation record.
    pub attestation_hash: [u8; 32],
}

/// A bond entered the vault.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BondDeposited {
    /// The challenge.
    pub challenge: Pubkey,
    /// The party that deposited.
    pub party: Party,
    /// Amount.
    pub amount: u64,
}

/// A party confirmed an outcome.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutcomeConfirmed {
    /// The challenge.
    pub challenge: Pubkey,
    /// The confirming party.
    pub party: Party,
    /// The outcome it confirmed.
    pub outcome: Outcome,
}

/// A challenge completed: the attestation of its outcome against its terms.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestationCreated {
    /// The challenge.
    pub challenge: Pubkey,
    /// The final outcome.
    pub outcome: Outcome,
    /// The terms it was decided under.
    pub terms_hash: [u8; 32],
}

/// Tokens left the vault: a settlement, or refunds on cancel or expiry.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BondsReleased {
    /// The challenge.
    pub challenge: Pubkey,
    /// Bond mint.
    pub mint: Pubkey,
    /// Amounts paid.
    pub payout: Payout,
    /// Tokens slashed from the loser (the treasury's share plus the winner's gain).
    pub slashed: u64,
}

/// Tokens that someone sent into a vault outside the challenge's bookkeeping were swept to the
/// treasury when the vault closed.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurplusSwept {
    /// The challenge whose vault held them.
    pub challenge: Pubkey,
    /// Bond mint.
    pub mint: Pubkey,
    /// The treasury (owner of the receiving token account).
    pub treasury: Pubkey,
    /// Tokens swept.
    pub amount: u64,
}

/// The admin proposed a successor (first step of the rotation).
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeAdminProposed {
    /// The current admin.
    pub admin: Pubkey,
    /// The proposed successor.
    pub proposed: Pubkey,
}

/// The proposed admin accepted the role.
#[event]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeAdminAccepted {
    /// The admin before.
    pub previous: Pubkey,
    /// The admin now.
    pub admin: Pubkey,
}
