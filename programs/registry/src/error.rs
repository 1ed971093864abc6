//! Every way a registry instruction can fail. Each message states the rule that was broken.

use anchor_lang::prelude::*;

/// Registry errors. Codes start at Anchor's custom offset (6000) and are stable: append only.
#[error_code]
#[derive(PartialEq, Eq)]
pub enum RegistryError {
    /// 6000
    #[msg("the registry is paused: only unpause is allowed")]
    Paused,
    /// 6001
    #[msg("unpause requires the registry to be paused")]
    NotPaused,
    /// 6002
    #[msg("only the admin may do this")]
    NotAdmin,
    /// 6003
    #[msg("only the registrar may publish roots or anchor ID batches")]
    NotRegistrar,
    /// 6004
    #[msg("no admin rotation is pending")]
    NoPendingAdmin,
    /// 6005
    #[msg("only the proposed admin may accept the rotation")]
    NotPendingAdmin,
    /// 6006
    #[msg("the proposed admin is already the admin")]
    AdminUnchanged,
    /// 6007
    #[msg("an authority may not be the default public key")]
    InvalidAuthority,
    /// 6008
    #[msg("initialize must be signed by the program's upgrade authority")]
    NotUpgradeAuthority,
    /// 6009
    #[msg("tree depth must be between 1 and 32")]
    InvalidDepth,
    /// 6010
    #[msg("track id must be a canonical BN254 scalar (below the field modulus)")]
    TrackIdNotInField,
    /// 6011
    #[msg("root must be a canonical BN254 scalar (below the field modulus)")]
    RootNotInField,
    /// 6012
    #[msg("the leaf count of a track never decreases")]
    LeafCountDecreased,
    /// 6013
    #[msg("the leaf count exceeds the capacity of the track's tree depth")]
    LeafCountExceedsCapacity,
    /// 6014
    #[msg("this root and leaf count are already the track's latest")]
    RootAlreadyLatest,
    /// 6015
    #[msg("the root is not among the track's recent roots")]
    RootNotInHistory,
    /// 6016
    #[msg("this nullifier has already been used on this track")]
    NullifierAlreadyUsed,
    /// 6017
    #[msg("the proof does not verify against the public inputs")]
    InvalidProof,
    /// 6018
    #[msg("a namespace is 3 or 4 uppercase letters, zero-padded to 4 bytes")]
    InvalidNamespace,
    /// 6019
    #[msg("an ID batch covers between 1 and MAX_ID_BATCH IDs")]
    InvalidBatchSize,
    /// 6020
    #[msg("the batch's sequence range overflows u64")]
    SequenceOverflow,
    /// 6021
    #[msg("an epoch length must be 0 (once per track) or a positive number of seconds")]
    InvalidEpoch,
    /// 6022
    #[msg("arithmetic overflow")]
    ArithmeticOverflow,
    /// 6023
    #[msg("an account invariant does not hold")]
    InvariantViolated,
    /// 6024
    #[msg("the track's tree depth has no compiled-in verifying key")]
    UnsupportedTreeDepth,
    /// 6025
    #[msg("the scope does not match the track's nullifier rule at this time")]
    ScopeMismatch,
    /// 6026
    #[msg("a public input is not a canonical BN254 scalar (below the field modulus)")]
    InputNotInField,
    /// 6027
    #[msg("the root's holdings snapshot is older than the track's freshness window: publish a fresh root and prove again")]
    RootTooOld,
    /// 6028
    #[msg("a track's freshness window must be a positive number of slots")]
    InvalidFreshnessWindow,
    /// 6029
    #[msg("a root's snapshot slot may not be in the future nor before the latest root's")]
    InvalidSnapshotSlot,
    /// 6030
    #[msg("this ID batch overlaps the namespace's previous batch: first_seq must be at or past its end")]
    BatchOverlaps,
}
