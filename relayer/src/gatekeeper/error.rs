//! Every gatekeeper refusal, and how it is answered.

use serde_json::json;

use super::message::Malformed;
use crate::platform::{
    db::StoreError,
    error::{ApiError, ErrorCode},
};

/// Why a sign-in was refused.
#[derive(Debug, thiserror::Error)]
pub enum GatekeeperError {
    /// The chain id is not CAIP-2, or not one this relayer accepts.
    #[error("chain `{chain_id}` is not supported here")]
    ChainNotSupported {
        /// As given.
        chain_id: String,
        /// What is.
        supported: Vec<String>,
    },
    /// The address is not one of the chain's.
    #[error("`address` must be {0}")]
    AddressInvalid(&'static str),
    /// Not a sign-in message.
    #[error(transparent)]
    Malformed(Malformed),
    /// No nonce like this was issued.
    #[error("this nonce was never issued")]
    NonceUnknown,
    /// The nonce was used by an earlier verification.
    #[error("this nonce was already used")]
    NonceUsed,
    /// The nonce's time ran out.
    #[error("this nonce expired at {expired_at}; ask for a new challenge")]
    NonceExpired {
        /// RFC 3339.
        expired_at: String,
    },
    /// The message names another domain than the nonce was issued for.
    #[error("the message is for domain `{found}`, the nonce for `{expected}`")]
    DomainMismatch {
        /// Issued for.
        expected: String,
        /// In the message.
        found: String,
    },
    /// The message names another chain than the nonce was issued for.
    #[error("the message's chain is not the one the nonce was issued for ({expected})")]
    ChainMismatch {
        /// Issued for (CAIP-2).
        expected: String,
    },
    /// The message differs from the issued one.
    #[error("the message differs from the one issued (first at byte {first_difference})")]
    MessageMismatch {
        /// Byte offset.
        first_difference: usize,
    },
    /// The signature is not in the chain's encoding.
    #[error("the signature must be base58 of 64 bytes (Solana) or 0x and 65 bytes r‖s‖v with a low s (EVM)")]
    SignatureMalformed,
    /// The signature is not the address's.
    #[error("the signature was not made by the message's address")]
    WrongSigner,
    /// No verification has this id.
    #[error("no wallet verification has this id")]
    VerificationNotFound,
    /// The asset is not one this chain's funds check reads.
    #[error("`{asset}` is not {rule}")]
    AssetInvalid {
        /// As given.
        asset: String,
        /// What it must be.
        rule: &'static str,
    },
    /// The threshold does not parse in the asset's units.
    #[error("threshold `{amount}` must be {rule}")]
    AmountInvalid {
        /// As given.
        amount: String,
        /// What it must be.
        rule: &'static str,
    },
    /// The wallet's EVM network has no RPC configured here.
    #[error("no RPC is configured for {chain_id}")]
    NetworkNotConfigured {
        /// CAIP-2.
        chain_id: String,
    },
    /// The relayer runs without `RELAYER_RPC_URL`.
    #[error("the relayer runs without RELAYER_RPC_URL")]
    SolanaNotConfigured,
    /// The chain RPC failed.
    #[error(transparent)]
    Chain(#[from] crate::platform::chain::ChainError),
    /// An EVM network's RPC failed.
    #[error(transparent)]
    Evm(#[from] crate::platform::evm::EvmRpcError),
    /// A stored row is not what this code wrote.
    #[error("a stored gatekeeper row is malformed")]
    Integrity,
    /// PostgreSQL failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<GatekeeperError> for ApiError {
    fn from(e: GatekeeperError) -> Self {
        use GatekeeperError as E;
        let message = e.to_string();
        match e {
            E::ChainNotSupported {
                chain_id,
                supported,
            } => ApiError::new(ErrorCode::GatekeeperChainNotSupported, message)
                .with_details(json!({ "chain_id": chain_id, "supported": supported })),
            E::AddressInvalid(_) => ApiError::new(ErrorCode::InvalidBody, message)
                .with_details(json!({ "field": "address" })),
            E::Malformed(Malformed(rule)) => {
                ApiError::new(ErrorCode::GatekeeperMessageMalformed, message)
                    .with_details(json!({ "rule": rule }))
            }
            E::NonceUnknown => ApiError::new(ErrorCode::GatekeeperNonceUnknown, message),
            E::NonceUsed => ApiError::new(ErrorCode::GatekeeperNonceUsed, message),
            E::NonceExpired { expired_at } => {
                ApiError::new(ErrorCode::GatekeeperNonceExpired, message)
                    .with_details(json!({ "expired_at": expired_at }))
            }
            E::DomainMismatch { expected, found } => {
                ApiError::new(ErrorCode::GatekeeperDomainMismatch, message)
                    .with_details(json!({ "expected": expected, "found": found }))
            }
            E::ChainMismatch { expected } => {
                ApiError::new(ErrorCode::GatekeeperChainMismatch, message)
                    .with_details(json!({ "expected": expected }))
            }
            E::MessageMismatch { first_difference } => {
                ApiError::new(ErrorCode::GatekeeperMessageMismatch, message)
                    .with_details(json!({ "first_difference": first_difference }))
            }
            E::SignatureMalformed => {
                ApiError::new(ErrorCode::GatekeeperSignatureMalformed, message)
            }
            E::WrongSigner => ApiError::new(ErrorCode::GatekeeperWrongSigner, message),
            E::VerificationNotFound => {
                ApiError::new(ErrorCode::GatekeeperVerificationNotFound, message)
            }
            E::AssetInvalid { asset, .. } => {
                ApiError::new(ErrorCode::GatekeeperAssetInvalid, message)
                    .with_details(json!({ "asset": asset }))
            }
            E::AmountInvalid { amount, .. } => {
                ApiError::new(ErrorCode::GatekeeperAmountInvalid, message)
                    .with_details(json!({ "threshold": amount }))
            }
            E::NetworkNotConfigured { chain_id } => {
                ApiError::new(ErrorCode::GatekeeperNetworkNotConfigured, message)
                    .with_details(json!({ "chain_id": chain_id }))
            }
            E::SolanaNotConfigured => ApiError::new(ErrorCode::ChainNotConfigured, message),
            E::Chain(error) => error.into(),
            E::Evm(crate::platform::evm::EvmRpcError::Unavailable {
                chain_id,
                breaker,
                retry_after,
                ..
            }) => ApiError::new(ErrorCode::EvmRpcUnavailable, message)
                .with_details(json!({ "chain_id": chain_id, "breaker": breaker.as_str() }))
                .retry_after(retry_after.as_secs().max(1)),
            E::Evm(crate::platform::evm::EvmRpcError::Refused { method, message }) => {
                tracing::warn!(method, %message, "EVM node refused a read");
                ApiError::new(
                    ErrorCode::EvmRpcUnavailable,
                    "the EVM node refused the read; see the relayer's logs",
                )
                .retry_after(1)
            }
            E::Integrity => ApiError::internal("gatekeeper", message),
            E::Store(error) => error.into(),
        }
    }
}
