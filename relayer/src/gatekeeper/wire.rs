//! The sign-in messages' wire types, shared by the gatekeeper's routes and the sign-in
//! domain's (the same shapes for a wallet check and for a session).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `POST /gatekeeper/v2/wallet/challenge` and `POST /api/v2/auth/challenge`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChallengeBody {
    /// CAIP-2: `solana:mainnet`, `solana:devnet`, `solana:localnet`, `eip155:<chain id>`.
    pub chain_id: String,
    /// The wallet: base58 (Solana) or `0x…` (EVM; any case, or its EIP-55 checksum).
    pub address: String,
}

/// The message to sign.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChallengeResponse {
    /// The single-use nonce (also inside the message).
    pub nonce: String,
    /// The exact text the wallet signs: Sign-In With Solana, or EIP-4361.
    pub message: String,
    /// The address as the message carries it (EIP-55 for EVM).
    pub address: String,
    /// Unix seconds after which the nonce is refused.
    pub expires_at: i64,
}

/// `POST /gatekeeper/v2/wallet/verify` and `POST /api/v2/auth/session`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyBody {
    /// The signed message, byte for byte as issued.
    pub message: String,
    /// Solana: base58 of the 64-byte ed25519 signature over the message bytes. EVM: `0x` and
    /// 65 bytes (r ‖ s ‖ v) of the EIP-191 `personal_sign` signature.
    pub signature: String,
}
