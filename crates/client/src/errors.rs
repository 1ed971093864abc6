//! Program error codes back to typed errors, for callers that only see a `Custom(code)`.

use registry::error::RegistryError;

macro_rules! registry_errors {
    ($($variant:ident),+ $(,)?) => {
        /// Every registry error, in code order.
        pub const REGISTRY_ERRORS: &[RegistryError] = &[$(RegistryError::$variant),+];

        /// Fails to compile when a variant is added to `RegistryError` but not listed above.
        #[allow(dead_code)]
        fn registry_errors_are_all_listed(e: RegistryError) {
            match e {
                $(RegistryError::$variant)|+ => {}
            }
        }
    };
}

registry_errors!(
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
);

/// The registry error with custom code `code`, if there is one.
pub fn registry_error(code: u32) -> Option<RegistryError> {
    REGISTRY_ERRORS
        .iter()
        .copied()
        .find(|e| u32::from(*e) == code)
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
