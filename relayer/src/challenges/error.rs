//! How a challenge failure is answered: each [`ChallengeApiError`] to its code in the envelope.

use serde_json::json;

use super::ChallengeApiError;
use crate::platform::{
    db::StoreError,
    error::{ApiError, ErrorCode},
};

impl From<ChallengeApiError> for ApiError {
    fn from(e: ChallengeApiError) -> Self {
        use ChallengeApiError as E;
        let message = e.to_string();
        match e {
            E::NotFound(address) => ApiError::new(ErrorCode::ChallengeNotFound, message)
                .with_details(json!({ "address": address.to_string() })),
            E::NoCounterparty => ApiError::new(ErrorCode::ChallengeNoCounterparty, message),
            E::NoArbiter => ApiError::new(ErrorCode::ChallengeNoArbiter, message),
            E::Refused(rule) => ApiError::new(
                ErrorCode::ChallengeRefused,
                format!("the challenge program refused: {rule}"),
            )
            .with_details(json!({ "rule": format!("{rule:?}"), "code": u32::from(rule) })),
            E::BadTransaction(_) => ApiError::new(ErrorCode::TransactionInvalid, message),
            E::ProgramNotAllowed { program } => {
                ApiError::new(ErrorCode::TransactionProgramNotAllowed, message).with_details(
                    json!({
                        "program": program.to_string(),
                        "allowed": super::FORWARDABLE_PROGRAMS
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>(),
                    }),
                )
            }
            E::VerificationRequired => {
                ApiError::new(ErrorCode::ChallengeVerificationRequired, message)
            }
            E::VerificationMismatch {
                verification,
                expected,
                found,
            } => ApiError::new(ErrorCode::ChallengeVerificationMismatch, message).with_details(
                json!({ "verification_id": verification, "expected": expected, "found": found }),
            ),
            E::Gatekeeper(error) => error.into(),
            E::Chain(error) => error.into(),
            E::Database(error) => ApiError::from(StoreError::from(error)),
            E::NotActingWallet { step_wallet } => {
                ApiError::new(ErrorCode::AuthSessionWalletMismatch, message)
                    .with_details(json!({ "step_wallet": step_wallet.to_string() }))
            }
            E::ReadFailed(_) => ApiError::new(ErrorCode::ChainUnavailable, message).retry_after(1),
        }
    }
}
