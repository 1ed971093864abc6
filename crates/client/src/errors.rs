//! Program error codes back to typed errors, for callers that only see a `Custom(code)`.

use challenge::error::ChallengeError;
use registry::error::RegistryError;

/// Lists a program's errors in code order, with a lookup by code. The exhaustive `match`
/// fails to compile when a variant is added to the enum but not to the list.
macro_rules! program_errors {
    ($ty:ident, $list:ident, $lookup:ident, [$($variant:ident),+ $(,)?]) => {
        #[doc = concat!("Every `", stringify!($ty), "`, in code order.")]
        pub const $list: &[$ty] = &[$($ty::$variant),+];

        #[doc = concat!("The `", stringify!($ty), "` with custom code `code`, if there is one.")]
        pub fn $lookup(code: u32) -> Option<$ty> {
            $list.iter().copied().find(|e| u32::from(*e) == code)
        }

        const _: fn($ty) = |e| match e {
            $($ty::$variant)|+ => {}
        };
    };
}

program_errors!(
    RegistryError,
    REGISTRY_ERRORS,
    registry_error,
    [
        Paused,
        NotPaused,
        NotAdmin,
        NotRegistrar,
        NoPendingAdmin,
        NotPendingAdmin,
        AdminUnchanged,
        InvalidAuthority,
        NotUpgradeAuthority,
        InvalidDepth,
        TrackIdNotInField,
        RootNotInField,
        LeafCountDecreased,
        LeafCountExceedsCapacity,
        RootAlreadyLatest,
        RootNotInHistory,
        NullifierAlreadyUsed,
        InvalidProof,
        InvalidNamespace,
        InvalidBatchSize,
        SequenceOverflow,
        InvalidEpoch,
        ArithmeticOverflow,
        InvariantViolated,
        UnsupportedTreeDepth,
        ScopeMismatch,
        InputNotInField,
        RootTooOld,
        InvalidFreshnessWindow,
        InvalidSnapshotSlot,
        BatchOverlaps,
    ]
);

program_errors!(
    ChallengeError,
    CHALLENGE_ERRORS,
    challenge_error,
    [
        Paused,
        NotAdmin,
        NotGatekeeper,
        NotArbiter,
        NotAParty,
        NotCreator,
        NotCounterparty,
        InvalidAuthority,
        NotUpgradeAuthority,
        InvalidDeadlineBounds,
        InvalidShares,
        InvalidModeParameters,
        ArbiterRequired,
        PartiesNotDistinct,
        EmptyTerms,
        DeadlineOutOfBounds,
        UnsupportedBondMint,
        InvalidStatus,
        InvalidTransition,
        AcceptDeadlinePassed,
        ResponseDeadlinePassed,
        DeadlineNotReached,
        NotEnforced,
        AlreadyVerified,
        NotVerified,
        BondAlreadyDeposited,
        BondsMissing,
        NotBonded,
        AlreadyConfirmed,
        AlreadySettled,
        EscrowMismatch,
        TokenAccountMismatch,
        ArithmeticOverflow,
        InvariantViolated,
        ArbiterDeadlinePassed,
        ResponseDeadlineRequired,
        InvalidBondMintList,
        NoPendingAdmin,
        NotPendingAdmin,
        AdminUnchanged,
    ]
);

/// What a failed registry transaction means to a caller, as a typed decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryFailure {
    /// The program refused with one of its own errors.
    Program(RegistryError),
    /// `verify_ownership` found its nullifier already spent: an idempotent conflict, not a
    /// server error (the system program refused to create the existing nullifier record).
    NullifierAlreadyUsed,
    /// An `init` target (config, track, ID batch) already exists.
    AlreadyExists,
    /// Anything else: an Anchor framework error, a runtime error, or another program's.
    Other,
}

/// The instruction a failure came from, where that changes its meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistryInstructionKind {
    /// `verify_ownership`, whose only `init` is the nullifier record.
    VerifyOwnership,
    /// Any other instruction.
    Other,
}

impl RegistryFailure {
    /// Classifies a failure from its custom error code and the innermost failing program.
    pub fn classify(
        custom_code: Option<u32>,
        failing_program: Option<&anchor_lang::prelude::Pubkey>,
        instruction: RegistryInstructionKind,
    ) -> Self {
        let system = failing_program == Some(&anchor_lang::system_program::ID);
        match (custom_code, system, instruction) {
            // SystemError::AccountAlreadyInUse is code 0.
            (Some(0), true, RegistryInstructionKind::VerifyOwnership) => Self::NullifierAlreadyUsed,
            (Some(0), true, RegistryInstructionKind::Other) => Self::AlreadyExists,
            (Some(code), false, _) => registry_error(code).map_or(Self::Other, Self::Program),
            _ => Self::Other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_classify_into_typed_decisions() {
        use anchor_lang::{prelude::Pubkey, system_program};
        let registry = registry::ID;
        assert_eq!(
            RegistryFailure::classify(
                Some(0),
                Some(&system_program::ID),
                RegistryInstructionKind::VerifyOwnership
            ),
            RegistryFailure::NullifierAlreadyUsed
        );
        assert_eq!(
            RegistryFailure::classify(
                Some(0),
                Some(&system_program::ID),
                RegistryInstructionKind::Other
            ),
            RegistryFailure::AlreadyExists
        );
        assert_eq!(
            RegistryFailure::classify(
                Some(u32::from(RegistryError::InvalidProof)),
                Some(&registry),
                RegistryInstructionKind::VerifyOwnership
            ),
            RegistryFailure::Program(RegistryError::InvalidProof)
        );
        assert_eq!(
            RegistryFailure::classify(
                Some(1),
                Some(&Pubkey::new_unique()),
                RegistryInstructionKind::Other
            ),
            RegistryFailure::Other
        );
        assert_eq!(
            RegistryFailure::classify(None, None, RegistryInstructionKind::Other),
            RegistryFailure::Other
        );
    }

    #[test]
    fn codes_are_dense_from_6000_and_round_trip() {
        for (i, e) in REGISTRY_ERRORS.iter().enumerate() {
            let code = 6000 + u32::try_from(i).unwrap();
            assert_eq!(u32::from(*e), code, "{} is out of order", e.name());
            assert_eq!(registry_error(code).map(u32::from), Some(code));
        }
        let past_end = 6000 + u32::try_from(REGISTRY_ERRORS.len()).unwrap();
        assert!(registry_error(past_end).is_none());
        assert!(registry_error(0).is_none());
        for (i, e) in CHALLENGE_ERRORS.iter().enumerate() {
            let code = 6000 + u32::try_from(i).unwrap();
            assert_eq!(u32::from(*e), code, "{} is out of order", e.name());
            assert_eq!(challenge_error(code).map(u32::from), Some(code));
        }
    }
}
