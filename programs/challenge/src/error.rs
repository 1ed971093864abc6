//! Every way a challenge instruction can fail. Each message states the rule that was broken.

use anchor_lang::prelude::*;

/// Challenge errors. Codes start at 6000 and are stable: append only.
#[error_code]
#[derive(PartialEq, Eq)]
pub enum ChallengeError {
    /// 6000
    #[msg("the challenge program is paused: only exits (cancel, expire, settle) run")]
    Paused,
    /// 6001
    #[msg("only the admin may do this")]
    NotAdmin,
    /// 6002
    #[msg("only the gatekeeper may attest verifications")]
    NotGatekeeper,
    /// 6003
    #[msg("only the arbiter may resolve a dispute")]
    NotArbiter,
    /// 6004
    #[msg("only a party of the challenge may do this")]
    NotAParty,
    /// 6005
    #[msg("only the creator may do this")]
    NotCreator,
    /// 6006
    #[msg("only the named counterparty may accept")]
    NotCounterparty,
    /// 6007
    #[msg("an authority may not be the default public key")]
    InvalidAuthority,
    /// 6008
    #[msg("initialize must be signed by the program's upgrade authority")]
    NotUpgradeAuthority,
    /// 6009
    #[msg("deadline bounds must be positive with min <= max")]
    InvalidDeadlineBounds,
    /// 6010
    #[msg("winner and treasury shares must sum to at most 10,000 bps, and the treasury share may not exceed the configured maximum")]
    InvalidShares,
    /// 6011
    #[msg("the challenge's parameters do not fit its mode")]
    InvalidModeParameters,
    /// 6012
    #[msg("a bonded challenge needs an arbiter to resolve disputes")]
    ArbiterRequired,
    /// 6013
    #[msg("the creator, counterparty and arbiter must be three different keys")]
    PartiesNotDistinct,
    /// 6014
    #[msg("the terms hash may not be zero")]
    EmptyTerms,
    /// 6015
    #[msg("the deadlines are outside the configured bounds")]
    DeadlineOutOfBounds,
    /// 6016
    #[msg("the bond mint must be an SPL token mint with 6 decimals, and either have no freeze authority or be on the config's bond mint list")]
    UnsupportedBondMint,
    /// 6017
    #[msg("the challenge is not in the status this instruction requires")]
    InvalidStatus,
    /// 6018
    #[msg("this status change is not in the transition table")]
    InvalidTransition,
    /// 6019
    #[msg("the accept deadline has passed")]
    AcceptDeadlinePassed,
    /// 6020
    #[msg("the response deadline has passed")]
    ResponseDeadlinePassed,
    /// 6021
    #[msg("no deadline of this challenge has passed yet")]
    DeadlineNotReached,
    /// 6022
    #[msg("this challenge has no deadline that has passed in its status, so it cannot expire")]
    NotEnforced,
    /// 6023
    #[msg("this party has already been attested")]
    AlreadyVerified,
    /// 6024
    #[msg("both parties must be verified before the intent locks")]
    NotVerified,
    /// 6025
    #[msg("this party's bond is already deposited")]
    BondAlreadyDeposited,
    /// 6026
    #[msg("both bonds must be deposited before the intent locks")]
    BondsMissing,
    /// 6027
    #[msg("this challenge escrows no bonds")]
    NotBonded,
    /// 6028
    #[msg("this party has already confirmed an outcome")]
    AlreadyConfirmed,
    /// 6029
    #[msg("the challenge has already been settled")]
    AlreadySettled,
    /// 6030
    #[msg("the escrow accounts do not belong to this challenge")]
    EscrowMismatch,
    /// 6031
    #[msg("a token account is not the party's account for the bond mint")]
    TokenAccountMismatch,
    /// 6032
    #[msg("arithmetic overflow")]
    ArithmeticOverflow,
    /// 6033
    #[msg("an account invariant does not hold")]
    InvariantViolated,
    /// 6034
    #[msg("the arbiter's deadline for this dispute has passed: anyone may expire it with refunds")]
    ArbiterDeadlinePassed,
    /// 6035
    #[msg("a bonded challenge needs a response deadline")]
    ResponseDeadlineRequired,
    /// 6036
    #[msg("the bond mint list may hold at most 8 mints and no default key")]
    InvalidBondMintList,
    /// 6037
    #[msg("there is no pending admin to accept")]
    NoPendingAdmin,
    /// 6038
    #[msg("only the proposed admin may accept the admin role")]
    NotPendingAdmin,
    /// 6039
    #[msg("the proposed admin is already the admin")]
    AdminUnchanged,
}
