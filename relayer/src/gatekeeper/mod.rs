//! The gatekeeper domain (SPEC §6 "Gatekeeper"): a wallet proves it controls its address by
//! signing a sign-in message the relayer issued (Sign-In With Solana, or EIP-4361 for EVM
//! wallets), once. A successful verification is a record that later checks cite by id.
//!
//! - [`message`]: the two message formats, written and read back.
//! - [`evm`]: EIP-191 signer recovery and EIP-55 addresses.
//! - [`funds`]: proof of funds (SOL, SPL / Token-2022, ETH, ERC-20), thresholds, commitments.
//! - [`store`]: nonces and verifications in PostgreSQL.
//! - [`handlers`]: `POST /gatekeeper/v2/wallet/{challenge,verify}`, behind `FF_GATEKEEPER_V2`.
//! - `error.rs`: every refusal's code in the envelope.
//!
//! [`GatekeeperService`] is transport-free.

mod error;
pub mod evm;
pub mod funds;
pub mod handlers;
pub mod message;
pub mod store;
pub mod wire;

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, SecondsFormat, Utc};
use ed25519_dalek::{Signature, VerifyingKey};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub use self::{
    error::GatekeeperError,
    store::{FundsAttestation, Purpose, Verification},
    wire::{ChallengeBody, ChallengeResponse, VerifyBody},
};
use self::{
    funds::SolanaAsset,
    message::{ChainId, Family, SignIn},
    store::IssuedNonce,
};
use crate::platform::{chain::ChainClient, clock::Clock, evm::EvmNetworks};

/// The statement every issued message carries.
pub const STATEMENT: &str =
    "Sign in to Chitty Veil to prove you control this wallet. This costs nothing and moves no funds.";

/// The statement of a message that starts a session (`/api/v2/auth/*`).
pub const SESSION_STATEMENT: &str =
    "Sign in to Chitty Veil: this starts a session for this wallet. It costs nothing and moves no funds.";

/// The statement a message for `purpose` carries.
fn statement(purpose: Purpose) -> &'static str {
    match purpose {
        Purpose::Verification => STATEMENT,
        Purpose::Session => SESSION_STATEMENT,
    }
}

/// Where the relayer stands as a relying party, and how long a nonce lives.
#[derive(Debug, Clone)]
pub struct GatekeeperConfig {
    /// The domain wallets show (`RELAYER_GATEKEEPER_DOMAIN`).
    pub domain: String,
    /// The URI in the message (`RELAYER_GATEKEEPER_URI`).
    pub uri: String,
    /// How long an issued nonce may be used.
    pub nonce_ttl: Duration,
    /// The CAIP-2 chain ids a wallet may sign in on.
    pub chains: Vec<String>,
}

/// What the wallet must sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// The nonce (32 hex characters: 128 random bits).
    pub nonce: String,
    /// The exact message text.
    pub message: String,
    /// Unix seconds after which the nonce is refused.
    pub expires_at_unix: i64,
    /// The address as the message carries it (EIP-55 for EVM).
    pub address: String,
}

/// How much a funds check asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threshold<'a> {
    /// A decimal in the asset's units, as a person writes it (`"2.5"`).
    Decimal(&'a str),
    /// Base units (lamports, token base units, wei), as a program stores them.
    BaseUnits(u128),
}

/// The gatekeeper.
pub struct GatekeeperService {
    pool: sqlx::PgPool,
    config: GatekeeperConfig,
    clock: Arc<dyn Clock>,
    solana: Option<Arc<ChainClient>>,
    evm: EvmNetworks,
}

fn rfc3339(unix: i64) -> String {
    DateTime::<Utc>::from_timestamp(unix, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl GatekeeperService {
    /// A gatekeeper over `pool`; funds on Solana are read through `solana` (the relayer's
    /// chain client, present with `RELAYER_RPC_URL`).
    pub fn new(
        pool: sqlx::PgPool,
        config: GatekeeperConfig,
        clock: Arc<dyn Clock>,
        solana: Option<Arc<ChainClient>>,
        evm: EvmNetworks,
    ) -> Self {
        Self {
            pool,
            config,
            clock,
            solana,
            evm,
        }
    }

    fn now(&self) -> i64 {
        i64::try_from(self.clock.now_unix()).unwrap_or(i64::MAX)
    }

    /// Issues a nonce and the message `address` must sign on `chain_id`.
    pub async fn challenge(
        &self,
        chain_id: &str,
        address: &str,
        api_key_id: Option<&str>,
    ) -> Result<Issued, GatekeeperError> {
        self.challenge_for(Purpose::Verification, chain_id, address, api_key_id)
            .await
    }

    /// Issues a nonce and the message to sign for `purpose`.
    pub async fn challenge_for(
        &self,
        purpose: Purpose,
        chain_id: &str,
        address: &str,
        api_key_id: Option<&str>,
    ) -> Result<Issued, GatekeeperError> {
        let chain = ChainId::parse(chain_id)
            .filter(|_| self.config.chains.iter().any(|c| c == chain_id))
            .ok_or_else(|| GatekeeperError::ChainNotSupported {
                chain_id: chain_id.to_owned(),
                supported: self.config.chains.clone(),
            })?;
        let address = canonical_address(chain.family, address)?;
        let mut random = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut random);
        let nonce = hex::encode(random);
        let now = self.now();
        let ttl = i64::try_from(self.config.nonce_ttl.as_secs()).unwrap_or(i64::MAX);
        let expires_at_unix = now.saturating_add(ttl);
        let message = SignIn {
            family: chain.family,
            domain: self.config.domain.clone(),
            address: address.clone(),
            statement: Some(statement(purpose).to_owned()),
            uri: self.config.uri.clone(),
            version: "1".into(),
            chain_id: chain.reference.clone(),
            nonce: nonce.clone(),
            issued_at: rfc3339(now),
            expiration_time: Some(rfc3339(expires_at_unix)),
        }
        .to_text();
        let issued = IssuedNonce {
            nonce: nonce.clone(),
            chain_id: chain.to_string(),
            address: address.clone(),
            domain: self.config.domain.clone(),
            message: message.clone(),
            expires_at_unix,
            used_at_unix: None,
            purpose,
        };
        store::issue(&self.pool, &issued, now, api_key_id).await?;
        Ok(Issued {
            nonce,
            message,
            expires_at_unix,
            address,
        })
    }

    /// Checks a signed message against the one issued for its nonce, and records the
    /// verification. Each refusal names its rule; a refused attempt leaves the nonce usable.
    pub async fn verify(
        &self,
        text: &str,
        signature: &str,
        api_key_id: Option<&str>,
    ) -> Result<Verification, GatekeeperError> {
        self.verify_for(Purpose::Verification, text, signature, api_key_id)
            .await
    }

    /// [`verify`](Self::verify) for a nonce issued for `purpose`; a nonce issued for another
    /// purpose is unknown here.
    pub async fn verify_for(
        &self,
        purpose: Purpose,
        text: &str,
        signature: &str,
        api_key_id: Option<&str>,
    ) -> Result<Verification, GatekeeperError> {
        let signed = SignIn::parse(text).map_err(GatekeeperError::Malformed)?;
        let issued = store::find(&self.pool, &signed.nonce, purpose)
            .await?
            .ok_or(GatekeeperError::NonceUnknown)?;
        if issued.used_at_unix.is_some() {
            return Err(GatekeeperError::NonceUsed);
        }
        if self.now() > issued.expires_at_unix {
            return Err(GatekeeperError::NonceExpired {
                expired_at: rfc3339(issued.expires_at_unix),
            });
        }
        if signed.domain != issued.domain {
            return Err(GatekeeperError::DomainMismatch {
                expected: issued.domain,
                found: signed.domain,
            });
        }
        let chain = ChainId::parse(&issued.chain_id).ok_or(GatekeeperError::Integrity)?;
        if signed.family != chain.family || signed.chain_id != chain.reference {
            return Err(GatekeeperError::ChainMismatch {
                expected: issued.chain_id,
            });
        }
        if text.as_bytes() != issued.message.as_bytes() {
            let at = text
                .bytes()
                .zip(issued.message.bytes())
                .position(|(a, b)| a != b)
                .unwrap_or(text.len().min(issued.message.len()));
            return Err(GatekeeperError::MessageMismatch {
                first_difference: at,
            });
        }
        match chain.family {
            Family::Solana => verify_solana(&issued.address, text.as_bytes(), signature)?,
            Family::Evm => {
                let signer = evm::recover(text.as_bytes(), signature)
                    .map_err(|_| GatekeeperError::SignatureMalformed)?;
                if signer.checksummed() != issued.address {
                    return Err(GatekeeperError::WrongSigner);
                }
            }
        }
        let digest: [u8; 32] = Sha256::digest(text.as_bytes()).into();
        store::record(&self.pool, &issued, &digest, api_key_id, self.now())
            .await?
            .ok_or(GatekeeperError::NonceUsed)
    }

    /// Checks that the verified wallet holds at least `threshold` (a decimal in the asset's
    /// units) of `asset`, and records a `PASSED`/`FAILED` attestation that keeps no balance.
    pub async fn check_funds(
        &self,
        verification_id: &str,
        asset: &str,
        threshold: &str,
        api_key_id: Option<&str>,
    ) -> Result<FundsAttestation, GatekeeperError> {
        self.check_funds_against(
            verification_id,
            asset,
            Threshold::Decimal(threshold),
            api_key_id,
        )
        .await
    }

    /// [`check_funds`](Self::check_funds) with the threshold in either form; the attestation
    /// records it as a decimal in the asset's units.
    pub async fn check_funds_against(
        &self,
        verification_id: &str,
        asset: &str,
        threshold: Threshold<'_>,
        api_key_id: Option<&str>,
    ) -> Result<FundsAttestation, GatekeeperError> {
        let verification = self.verification(verification_id).await?;
        let chain = ChainId::parse(&verification.chain_id).ok_or(GatekeeperError::Integrity)?;
        let read = match chain.family {
            Family::Solana => {
                let client = self
                    .solana
                    .as_deref()
                    .ok_or(GatekeeperError::SolanaNotConfigured)?;
                let wallet = verification
                    .address
                    .parse()
                    .map_err(|_| GatekeeperError::Integrity)?;
                let asset = SolanaAsset::parse(asset)?;
                funds::read_solana(client, &wallet, asset).await?
            }
            Family::Evm => {
                let client = chain
                    .reference
                    .parse()
                    .ok()
                    .and_then(|id| self.evm.get(id))
                    .ok_or_else(|| GatekeeperError::NetworkNotConfigured {
                        chain_id: verification.chain_id.clone(),
                    })?;
                let wallet = evm::Address::parse(&verification.address)
                    .map_err(|_| GatekeeperError::Integrity)?;
                funds::read_evm(client, &wallet, asset).await?
            }
        };
        let (needed, threshold) = match threshold {
            Threshold::Decimal(text) => (funds::base_units(text, read.decimals)?, text.to_owned()),
            Threshold::BaseUnits(units) => (units, funds::decimal(units, read.decimals)),
        };
        let needed = funds::wide(needed);
        let mut salt = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut salt);
        let attestation = FundsAttestation {
            id: uuid::Uuid::new_v4(),
            verification_id: verification.id,
            chain_id: verification.chain_id,
            address: verification.address,
            asset: asset.to_owned(),
            threshold,
            decimals: read.decimals,
            // Big-endian words of one width compare as the numbers they hold.
            passed: read.balance >= needed,
            salt,
            balance_hash: funds::balance_hash(&salt, &read.balance),
            read_at: read.slot,
        };
        store::attest_funds(&self.pool, &attestation, api_key_id, self.now()).await?;
        Ok(attestation)
    }

    /// A recorded verification.
    pub async fn verification(&self, id: &str) -> Result<Verification, GatekeeperError> {
        let id = id
            .parse()
            .map_err(|_| GatekeeperError::VerificationNotFound)?;
        store::verification(&self.pool, id)
            .await?
            .ok_or(GatekeeperError::VerificationNotFound)
    }
}

/// The address in the form messages carry: base58 of 32 bytes for Solana, EIP-55 for EVM.
fn canonical_address(family: Family, address: &str) -> Result<String, GatekeeperError> {
    match family {
        Family::Solana => bs58::decode(address)
            .into_vec()
            .ok()
            .filter(|b| b.len() == 32)
            .map(|_| address.to_owned())
            .ok_or(GatekeeperError::AddressInvalid(
                "a base58 Solana address (32 bytes)",
            )),
        Family::Evm => evm::Address::parse(address)
            .map(|a| a.checksummed())
            .map_err(|e| match e {
                evm::EvmError::BadChecksum => GatekeeperError::AddressInvalid(
                    "an EVM address whose mixed case is its EIP-55 checksum",
                ),
                _ => GatekeeperError::AddressInvalid("an EVM address: 0x and 40 hex characters"),
            }),
    }
}

fn verify_solana(address: &str, message: &[u8], signature: &str) -> Result<(), GatekeeperError> {
    let key: [u8; 32] = bs58::decode(address)
        .into_vec()
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(GatekeeperError::Integrity)?;
    let key = VerifyingKey::from_bytes(&key).map_err(|_| GatekeeperError::WrongSigner)?;
    let signature: [u8; 64] = bs58::decode(signature)
        .into_vec()
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(GatekeeperError::SignatureMalformed)?;
    key.verify_strict(message, &Signature::from_bytes(&signature))
        .map_err(|_| GatekeeperError::WrongSigner)
}
