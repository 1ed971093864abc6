//! SQL over `challenge_attestations` (migration 0008).

use sqlx::{PgPool, Row};

use super::Attested;
use crate::platform::chain::Landed;

/// An attestation record about to be written.
#[derive(Debug, Clone)]
pub struct NewAttestation<'a> {
    /// The submission key, `attest:<challenge>:<party>`.
    pub key: &'a str,
    /// The challenge (base58).
    pub challenge: &'a str,
    /// `creator` or `counterparty`.
    pub party: &'a str,
    /// The party's wallet (base58).
    pub wallet: &'a str,
    /// The wallet check.
    pub wallet_ok: bool,
    /// The funds check.
    pub funds_ok: bool,
    /// The salt of the balance hash.
    pub salt: &'a [u8; 16],
    /// SHA-256(salt ‖ balance).
    pub balance_hash: &'a [u8; 32],
    /// SHA-256 of the record.
    pub attestation_hash: &'a [u8; 32],
}

/// The record as stored (the first writer's, if there was one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prepared {
    /// The wallet check.
    pub wallet_ok: bool,
    /// The funds check.
    pub funds_ok: bool,
    /// SHA-256 of the record.
    pub attestation_hash: [u8; 32],
}

/// Writes the record unless one exists under its key; the stored one either way.
pub async fn prepare(pool: &PgPool, record: &NewAttestation<'_>) -> Result<Prepared, sqlx::Error> {
    sqlx::query(
        "INSERT INTO challenge_attestations
           (key, challenge, party, wallet, wallet_ok, funds_ok, salt, balance_hash,
            attestation_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (key) DO NOTHING",
    )
    .bind(record.key)
    .bind(record.challenge)
    .bind(record.party)
    .bind(record.wallet)
    .bind(record.wallet_ok)
    .bind(record.funds_ok)
    .bind(record.salt.as_slice())
    .bind(record.balance_hash.as_slice())
    .bind(record.attestation_hash.as_slice())
    .execute(pool)
    .await?;
    let row = sqlx::query(
        "SELECT wallet_ok, funds_ok, attestation_hash FROM challenge_attestations WHERE key = $1",
    )
    .bind(record.key)
    .fetch_one(pool)
    .await?;
    let hash: Vec<u8> = row.get("attestation_hash");
    Ok(Prepared {
        wallet_ok: row.get("wallet_ok"),
        funds_ok: row.get("funds_ok"),
        attestation_hash: hash.try_into().unwrap_or([0; 32]),
    })
}

/// Removes the record under `key` unless it landed: the chain refused it, so it must not
/// decide the next attestation.
pub async fn forget_unlanded(pool: &PgPool, key: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM challenge_attestations WHERE key = $1 AND signature IS NULL")
        .bind(key)
        .execute(pool)
        .await?;
    Ok(())
}

/// Records where the attestation landed.
pub async fn landed(pool: &PgPool, key: &str, landed: &Landed) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE challenge_attestations SET signature = $2, slot = $3 WHERE key = $1")
        .bind(key)
        .bind(&landed.signature)
        .bind(i64::try_from(landed.slot).unwrap_or(i64::MAX))
        .execute(pool)
        .await?;
    Ok(())
}

/// The landed attestation under `key`, if any.
pub async fn attestation(pool: &PgPool, key: &str) -> Result<Option<Attested>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT wallet_ok, funds_ok, attestation_hash, signature, slot
         FROM challenge_attestations WHERE key = $1 AND signature IS NOT NULL",
    )
    .bind(key)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| {
        let hash: Vec<u8> = row.get("attestation_hash");
        let wallet_ok: bool = row.get("wallet_ok");
        let funds_ok: bool = row.get("funds_ok");
        Attested {
            passed: wallet_ok && funds_ok,
            attestation_hash: hash.try_into().unwrap_or([0; 32]),
            landed: Landed {
                signature: row.get("signature"),
                slot: u64::try_from(row.get::<i64, _>("slot")).unwrap_or(0),
                by_this_call: false,
            },
        }
    }))
}
