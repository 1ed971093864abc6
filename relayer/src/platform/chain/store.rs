//! The durable record of submissions (`migrations/0006_chain_submissions.sql`): one row per
//! idempotency key, written before a transaction is sent, moved by compare-and-set so that two
//! relayers (or a restarted one) never both send for one key.

use sqlx::{PgPool, Row as _};

/// Where a key's submission stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// `signature` was sent and may still land until the chain passes `last_valid_block_height`.
    Sending {
        /// The signature in flight.
        signature: String,
        /// The last block height at which it can land.
        last_valid_block_height: u64,
    },
    /// `signature` landed in `slot`.
    Landed {
        /// The signature that landed.
        signature: String,
        /// Its slot.
        slot: u64,
    },
    /// `signature` landed in `slot` and failed with `error`.
    Failed {
        /// The signature that landed.
        signature: String,
        /// Its slot.
        slot: u64,
        /// The failure, as recorded.
        error: String,
    },
    /// The node refused `signature` before it could land.
    Rejected {
        /// The refused signature.
        signature: String,
        /// Why.
        error: String,
    },
}

/// A submission row, with every signature sent under its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// Where it stands.
    pub record: Record,
    /// Every signature sent, oldest first.
    pub signatures: Vec<String>,
}

fn big(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Reads the submission of `key`.
pub async fn get(pool: &PgPool, key: &str) -> Result<Option<Submission>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT status, signature, last_valid_block_height, signatures, slot, error \
         FROM chain_submissions WHERE key = $1",
    )
    .bind(key)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let status: String = row.try_get(0)?;
    let signature: String = row.try_get(1)?;
    let valid: i64 = row.try_get(2)?;
    let signatures: Vec<String> = row.try_get(3)?;
    let slot: Option<i64> = row.try_get(4)?;
    let error: Option<String> = row.try_get(5)?;
    let slot = slot.unwrap_or_default().max(0) as u64;
    let record = match status.as_str() {
        "landed" => Record::Landed { signature, slot },
        "failed" => Record::Failed {
            signature,
            slot,
            error: error.unwrap_or_default(),
        },
        "rejected" => Record::Rejected {
            signature,
            error: error.unwrap_or_default(),
        },
        _ => Record::Sending {
            signature,
            last_valid_block_height: valid.max(0) as u64,
        },
    };
    Ok(Some(Submission { record, signatures }))
}

/// Records `signature` as in flight for `key`: a new row, or, if `replaces` is given, the
/// replacement of that signature (expired or rejected) on the existing row. Returns false when
/// another writer got there first (the row is not as the caller read it).
pub async fn start(
    pool: &PgPool,
    key: &str,
    replaces: Option<&str>,
    signature: &str,
    last_valid_block_height: u64,
) -> Result<bool, sqlx::Error> {
    let done = match replaces {
        None => {
            sqlx::query(
                "INSERT INTO chain_submissions \
               (key, status, signature, last_valid_block_height, signatures) \
             VALUES ($1, 'sending', $2, $3, ARRAY[$2]) ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(signature)
            .bind(big(last_valid_block_height))
            .execute(pool)
            .await?
        }
        Some(old) => {
            sqlx::query(
                "UPDATE chain_submissions SET status = 'sending', signature = $3, \
               last_valid_block_height = $4, signatures = signatures || $3, error = NULL, \
               updated_at = now() \
             WHERE key = $1 AND signature = $2 AND status IN ('sending', 'rejected')",
            )
            .bind(key)
            .bind(old)
            .bind(signature)
            .bind(big(last_valid_block_height))
            .execute(pool)
            .await?
        }
    };
    Ok(done.rows_affected() == 1)
}

/// Records the outcome of `signature`: landed in `slot` (with `error` if it failed there).
pub async fn landed(
    pool: &PgPool,
    key: &str,
    signature: &str,
    slot: u64,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE chain_submissions SET status = CASE WHEN $4::text IS NULL THEN 'landed' \
           ELSE 'failed' END, slot = $3, error = $4, updated_at = now() \
         WHERE key = $1 AND signature = $2",
    )
    .bind(key)
    .bind(signature)
    .bind(big(slot))
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// Records that the node refused `signature` before it could land.
pub async fn rejected(
    pool: &PgPool,
    key: &str,
    signature: &str,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE chain_submissions SET status = 'rejected', error = $3, updated_at = now() \
         WHERE key = $1 AND signature = $2 AND status = 'sending'",
    )
    .bind(key)
    .bind(signature)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}
