//! The gatekeeper's SQL: nonces with their issued message, and wallet verifications. Ids cross
//! as text (`::uuid`): the workspace builds sqlx without its `uuid` feature.

use sqlx::{PgPool, Row};
use uuid::Uuid;

use crate::platform::db::StoreError;

/// What a signed message is for. A nonce is issued for one purpose and verifies only for it,
/// so a message signed for a dApp's wallet check cannot be turned into a session, nor the
/// reverse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// A verification record (the gatekeeper's routes): funds checks and attestations cite it.
    Verification,
    /// A session for the wallet (sign-in, `/api/v2/auth/*`).
    Session,
}

impl Purpose {
    /// As stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verification => "verification",
            Self::Session => "session",
        }
    }
}

/// An issued nonce, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedNonce {
    /// The nonce.
    pub nonce: String,
    /// CAIP-2.
    pub chain_id: String,
    /// As issued (base58, or EIP-55).
    pub address: String,
    /// The domain it was issued for.
    pub domain: String,
    /// The exact text issued.
    pub message: String,
    /// Unix seconds.
    pub expires_at_unix: i64,
    /// Unix seconds, once used.
    pub used_at_unix: Option<i64>,
    /// What it is for.
    pub purpose: Purpose,
}

/// Stores a new nonce; drops unused nonces that expired more than a day ago.
pub async fn issue(
    pool: &PgPool,
    nonce: &IssuedNonce,
    issued_at_unix: i64,
    api_key_id: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO gatekeeper_nonces \
         (nonce, chain_id, address, domain, message, api_key_id, issued_at_unix, expires_at_unix, \
          purpose) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&nonce.nonce)
    .bind(&nonce.chain_id)
    .bind(&nonce.address)
    .bind(&nonce.domain)
    .bind(&nonce.message)
    .bind(api_key_id)
    .bind(issued_at_unix)
    .bind(nonce.expires_at_unix)
    .bind(nonce.purpose.as_str())
    .execute(pool)
    .await?;
    sqlx::query(
        "DELETE FROM gatekeeper_nonces WHERE used_at_unix IS NULL AND expires_at_unix < $1",
    )
    .bind(issued_at_unix - 86_400)
    .execute(pool)
    .await?;
    Ok(())
}

/// The nonce, if it was issued.
pub async fn find(
    pool: &PgPool,
    nonce: &str,
    purpose: Purpose,
) -> Result<Option<IssuedNonce>, StoreError> {
    let row = sqlx::query(
        "SELECT nonce, chain_id, address, domain, message, expires_at_unix, used_at_unix \
         FROM gatekeeper_nonces WHERE nonce = $1 AND purpose = $2",
    )
    .bind(nonce)
    .bind(purpose.as_str())
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| IssuedNonce {
        nonce: r.get("nonce"),
        chain_id: r.get("chain_id"),
        address: r.get("address"),
        domain: r.get("domain"),
        message: r.get("message"),
        expires_at_unix: r.get("expires_at_unix"),
        used_at_unix: r.get("used_at_unix"),
        purpose,
    }))
}

/// A recorded verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    /// Its id.
    pub id: Uuid,
    /// CAIP-2.
    pub chain_id: String,
    /// The wallet.
    pub address: String,
    /// Unix seconds.
    pub verified_at_unix: i64,
}

/// Marks the nonce used and records the verification, in one transaction. `None` when the
/// nonce was used in the meantime (a concurrent verify won).
pub async fn record(
    pool: &PgPool,
    nonce: &IssuedNonce,
    message_sha256: &[u8; 32],
    api_key_id: Option<&str>,
    now_unix: i64,
) -> Result<Option<Verification>, StoreError> {
    let mut tx = pool.begin().await?;
    let claimed = sqlx::query(
        "UPDATE gatekeeper_nonces SET used_at_unix = $2 WHERE nonce = $1 AND used_at_unix IS NULL",
    )
    .bind(&nonce.nonce)
    .bind(now_unix)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if claimed != 1 {
        return Ok(None);
    }
    let id = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO gatekeeper_wallet_verifications \
         (id, chain_id, address, nonce, message_sha256, api_key_id, verified_at_unix) \
         VALUES ($1::uuid, $2, $3, $4, $5, $6, $7)",
    )
    .bind(id.to_string())
    .bind(&nonce.chain_id)
    .bind(&nonce.address)
    .bind(&nonce.nonce)
    .bind(&message_sha256[..])
    .bind(api_key_id)
    .bind(now_unix)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(Verification {
        id,
        chain_id: nonce.chain_id.clone(),
        address: nonce.address.clone(),
        verified_at_unix: now_unix,
    }))
}

/// A verification by id.
pub async fn verification(pool: &PgPool, id: Uuid) -> Result<Option<Verification>, StoreError> {
    let row = sqlx::query(
        "SELECT id::text AS id, chain_id, address, verified_at_unix \
         FROM gatekeeper_wallet_verifications WHERE id = $1::uuid",
    )
    .bind(id.to_string())
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| Verification {
        id: r.get::<String, _>("id").parse().unwrap_or(id),
        chain_id: r.get("chain_id"),
        address: r.get("address"),
        verified_at_unix: r.get("verified_at_unix"),
    }))
}

/// A funds attestation: the outcome and a commitment, never the balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FundsAttestation {
    /// Its id.
    pub id: Uuid,
    /// The wallet verification it is for.
    pub verification_id: Uuid,
    /// CAIP-2.
    pub chain_id: String,
    /// The wallet.
    pub address: String,
    /// `native` or the token.
    pub asset: String,
    /// As asked (a decimal in the asset's units).
    pub threshold: String,
    /// The asset's decimals.
    pub decimals: u8,
    /// Whether the balance reached the threshold.
    pub passed: bool,
    /// Random per attestation.
    pub salt: [u8; 16],
    /// SHA-256(salt ‖ balance as 32 bytes big-endian).
    pub balance_hash: [u8; 32],
    /// The slot (Solana) or block (EVM) the balance was read at.
    pub read_at: u64,
}

/// Stores a funds attestation.
pub async fn attest_funds(
    pool: &PgPool,
    a: &FundsAttestation,
    api_key_id: Option<&str>,
    now_unix: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO gatekeeper_funds_attestations \
         (id, verification_id, chain_id, address, asset, threshold, decimals, passed, salt, \
          balance_hash, read_at, api_key_id, created_at_unix) \
         VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(a.id.to_string())
    .bind(a.verification_id.to_string())
    .bind(&a.chain_id)
    .bind(&a.address)
    .bind(&a.asset)
    .bind(&a.threshold)
    .bind(i16::from(a.decimals))
    .bind(a.passed)
    .bind(&a.salt[..])
    .bind(&a.balance_hash[..])
    .bind(i64::try_from(a.read_at).unwrap_or(i64::MAX))
    .bind(api_key_id)
    .bind(now_unix)
    .execute(pool)
    .await?;
    Ok(())
}
