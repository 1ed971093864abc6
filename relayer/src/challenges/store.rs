//! SQL over `challenge_attestations` (migrations 0008, 0015). Ids cross as text (`::uuid`):
//! the workspace builds sqlx without its `uuid` feature.

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
    /// The gatekeeper's wallet verification it cites.
    pub wallet_verification: Option<&'a str>,
    /// The gatekeeper's funds attestations it cites.
    pub funds_attestations: &'a [String],
}

/// The record as stored (the first writer's, if there was one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prepared {
    /// The wallet check.
    pub wallet_ok: bool,
    /// The funds check.
    pub funds_ok: bool,
    /// SHA-256 of the record.
    pub attestation_hash: [u8; 32],
    /// The gatekeeper's wallet verification it cites.
    pub wallet_verification: Option<String>,
    /// The gatekeeper's funds attestations it cites.
    pub funds_attestations: Vec<String>,
}

/// The columns a [`Prepared`] or [`Attested`] is read from.
const CITED: &str = "wallet_ok, funds_ok, attestation_hash, \
    wallet_verification_id::text AS wallet_verification_id, \
    coalesce(funds_attestation_ids::text[], '{}') AS funds_attestation_ids";

fn prepared(row: &sqlx::postgres::PgRow) -> Prepared {
    let hash: Vec<u8> = row.get("attestation_hash");
    Prepared {
        wallet_ok: row.get("wallet_ok"),
        funds_ok: row.get("funds_ok"),
        attestation_hash: hash.try_into().unwrap_or([0; 32]),
        wallet_verification: row.get("wallet_verification_id"),
        funds_attestations: row.get("funds_attestation_ids"),
    }
}

/// Writes the record unless one exists under its key; the stored one either way.
pub async fn prepare(pool: &PgPool, record: &NewAttestation<'_>) -> Result<Prepared, sqlx::Error> {
    sqlx::query(
        "INSERT INTO challenge_attestations
           (key, challenge, party, wallet, wallet_ok, funds_ok, salt, balance_hash,
            attestation_hash, wallet_verification_id, funds_attestation_ids)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::uuid,
                 CASE WHEN $10 IS NULL AND cardinality($11::text[]) = 0 THEN NULL
                      ELSE $11::text[]::uuid[] END)
         ON CONFLICT (key) DO NOTHING",
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
    .bind(record.wallet_verification)
    .bind(record.funds_attestations)
    .execute(pool)
    .await?;
    let row = sqlx::query(&format!(
        "SELECT {CITED} FROM challenge_attestations WHERE key = $1"
    ))
    .bind(record.key)
    .fetch_one(pool)
    .await?;
    Ok(prepared(&row))
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
    let row = sqlx::query(&format!(
        "SELECT {CITED}, signature, slot
         FROM challenge_attestations WHERE key = $1 AND signature IS NOT NULL"
    ))
    .bind(key)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|row| {
        let cited = prepared(&row);
        Attested {
            passed: cited.wallet_ok && cited.funds_ok,
            attestation_hash: cited.attestation_hash,
            wallet_verification: cited.wallet_verification,
            funds_attestations: cited.funds_attestations,
            landed: Landed {
                signature: row.get("signature"),
                slot: u64::try_from(row.get::<i64, _>("slot")).unwrap_or(0),
                by_this_call: false,
            },
        }
    }))
}
