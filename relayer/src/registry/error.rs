//! How a registry failure is answered: each [`RegistryError`] to its code in the envelope.

use serde_json::json;

use super::{prover::ProverError, RegistryError};
use crate::platform::{
    db::StoreError,
    error::{ApiError, ErrorCode},
};

impl From<RegistryError> for ApiError {
    fn from(e: RegistryError) -> Self {
        use RegistryError as E;
        let message = e.to_string();
        match e {
            E::NotInField(field) => ApiError::new(ErrorCode::FieldNotCanonical, message)
                .with_details(json!({ "field": field })),
            E::BadSignature => ApiError::new(ErrorCode::WalletSignatureInvalid, message),
            E::TokenNotHeld { account, reason } => ApiError::new(ErrorCode::TokenNotHeld, message)
                .with_details(
                    json!({ "token_account": account.to_string(), "reason": reason.as_str() }),
                ),
            E::WalletAlreadyRegistered { leaf_index } => {
                ApiError::new(ErrorCode::RegistryAlreadyRegistered, message).with_details(
                    json!({ "reason": "wallet_registered", "leaf_index": leaf_index }),
                )
            }
            E::CommitmentTaken => ApiError::new(ErrorCode::RegistryAlreadyRegistered, message)
                .with_details(json!({ "reason": "commitment_taken" })),
            E::TreeFull => ApiError::new(ErrorCode::RegistryTrackFull, message),
            E::UnknownTrack => ApiError::new(ErrorCode::RegistryTrackNotFound, message)
                .with_details(json!({ "reason": "no_members" })),
            E::NoPublishedRoot => ApiError::new(ErrorCode::RegistryTrackNotFound, message)
                .with_details(json!({ "reason": "not_published" })),
            E::NotAMember => ApiError::new(ErrorCode::RegistryNotAMember, message),
            E::NotPublished {
                leaf_index,
                published,
            } => ApiError::new(ErrorCode::RegistryNotPublished, message)
                .with_details(json!({ "leaf_index": leaf_index, "published_leaves": published })),
            E::ProofInvalid => ApiError::new(ErrorCode::ProofInvalid, message),
            E::NullifierAlreadyUsed { landed } => {
                ApiError::new(ErrorCode::NullifierAlreadyUsed, message).with_details(match landed {
                    Some(landed) => json!({ "signature": landed.signature, "slot": landed.slot }),
                    None => json!({}),
                })
            }
            E::RootNotRecent => ApiError::new(ErrorCode::RootNotRecent, message),
            E::RootTooOld => ApiError::new(ErrorCode::RootTooOld, message),
            E::ScopeMismatch => ApiError::new(ErrorCode::ScopeMismatch, message),
            E::NotHeldAtSnapshot {
                leaf_index,
                snapshot_slot,
            } => ApiError::new(ErrorCode::RegistryNotHeldAtSnapshot, message)
                .with_details(json!({ "leaf_index": leaf_index, "snapshot_slot": snapshot_slot })),
            E::Chain(error) => error.into(),
            E::Prover(ProverError::Busy {
                capacity,
                retry_after,
            }) => ApiError::new(ErrorCode::ProverBusy, message)
                .with_details(json!({ "capacity": capacity }))
                .retry_after(retry_after.as_secs().max(1)),
            E::Prover(ProverError::Witness(error)) => {
                ApiError::new(ErrorCode::InvalidBody, error.to_string())
            }
            E::Prover(ProverError::Unavailable(cause)) => {
                tracing::error!(%cause, "prover unavailable");
                ApiError::new(
                    ErrorCode::ProverUnavailable,
                    "the prover is unavailable; see the relayer's logs",
                )
                .retry_after(30)
            }
            E::Prover(ProverError::Failed(cause)) => ApiError::internal("prove", cause),
            E::Database(error) => ApiError::from(StoreError::from(error)),
            E::Integrity(cause) => ApiError::internal("registry", cause),
        }
    }
}
