//! `GET /api/v2/challenges`: challenges listed from the indexer's tables (migrations 0003,
//! 0024), newest first, a page at a time.
//!
//! **Order and cursor.** Challenges are ordered by their creation event's chain position
//! `(slot, tx_index, ix_index, event_index)`, descending. A page's cursor is the position of its
//! last row; the next page is every row strictly before it. Challenges created while a caller
//! pages appear ahead of the first page, never inside or between later pages, so a walk over
//! the pages sees every challenge that existed when it started exactly once.
//!
//! **Freshness.** The rows are as current as the indexer: each answer carries `indexed_slot`,
//! the slot the indexer has committed through.

use anchor_lang::prelude::Pubkey;
use base64::Engine;
use sqlx::{PgPool, Row};

/// Rows a page holds at most.
pub const MAX_LIMIT: u32 = 200;
/// Rows a page holds when the caller does not say.
pub const DEFAULT_LIMIT: u32 = 50;

/// A position in the listing's order: the creation event's place on the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    slot: i64,
    tx_index: i64,
    ix_index: i32,
    event_index: i32,
}

impl Cursor {
    /// The opaque form handed to callers (URL-safe base64 of the four numbers).
    pub fn encode(&self) -> String {
        let raw = format!(
            "{}.{}.{}.{}",
            self.slot, self.tx_index, self.ix_index, self.event_index
        );
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }

    /// Reads a cursor this service handed out; `None` for anything else.
    pub fn decode(raw: &str) -> Option<Self> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(raw)
            .ok()?;
        let text = String::from_utf8(bytes).ok()?;
        let mut parts = text.split('.');
        let cursor = Self {
            slot: parts.next()?.parse().ok()?,
            tx_index: parts.next()?.parse().ok()?,
            ix_index: parts.next()?.parse().ok()?,
            event_index: parts.next()?.parse().ok()?,
        };
        let sane = parts.next().is_none()
            && cursor.slot >= 0
            && cursor.tx_index >= 0
            && cursor.ix_index >= 0
            && cursor.event_index >= 0;
        sane.then_some(cursor)
    }
}

/// What to list. The handler fills `created_by_key` for an API key (it sees what it created)
/// and `party` for a session (it sees its own wallet's).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Challenges where this wallet is the creator or the counterparty (named or accepted).
    pub party: Option<Pubkey>,
    /// The current status, as the program names it (`AwaitingCounterparty`).
    pub status: Option<String>,
    /// The mode, as the program names it (`Fire`).
    pub mode: Option<String>,
    /// Only challenges whose `create` this API key built.
    pub created_by_key: Option<String>,
    /// Rows strictly after this position.
    pub after: Option<Cursor>,
    /// Rows at most (1..=[`MAX_LIMIT`]).
    pub limit: u32,
}

/// One listed challenge, as indexed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// Its address.
    pub address: Pubkey,
    /// The creator.
    pub creator: Pubkey,
    /// The counterparty, once named or accepted.
    pub counterparty: Option<Pubkey>,
    /// Whether the counterparty accepted.
    pub accepted: bool,
    /// The mode, as the program names it.
    pub mode: String,
    /// The current status, as the program names it.
    pub status: String,
    /// SHA-256 of the terms.
    pub terms_hash: [u8; 32],
    /// The bond mint (the default key when unbonded).
    pub bond_mint: Pubkey,
    /// Each party's bond, base units, as a decimal string (up to `u64::MAX`).
    pub bond_amount: String,
    /// The slot it was created in.
    pub created_slot: u64,
    /// The block time of its creation, when known.
    pub created_at: Option<i64>,
    /// The slot of its latest status change.
    pub status_slot: u64,
    /// Its position, for the next page's cursor.
    pub cursor: Cursor,
}

/// A page.
#[derive(Debug, Clone)]
pub struct Page {
    /// The rows, newest first.
    pub challenges: Vec<Listed>,
    /// Where the next page starts; `None` on the last.
    pub next: Option<Cursor>,
    /// The slot the indexer has committed through (`None` before it ran).
    pub indexed_slot: Option<u64>,
}

const LIST: &str = "
SELECT c.challenge, c.creator, c.mode, c.terms_hash, c.bond_mint, c.bond_amount::text AS bond_amount,
       c.slot, c.tx_index, c.ix_index, c.event_index, c.block_time,
       s.to_status, s.slot AS status_slot, p.counterparty, p.accepted
FROM indexer_challenges c
LEFT JOIN LATERAL (
    SELECT to_status, slot FROM indexer_challenge_status s
    WHERE s.challenge = c.challenge
    ORDER BY slot DESC, tx_index DESC, ix_index DESC, event_index DESC LIMIT 1
) s ON true
LEFT JOIN LATERAL (
    SELECT counterparty, accepted FROM indexer_challenge_parties p
    WHERE p.challenge = c.challenge
    ORDER BY slot DESC, tx_index DESC, ix_index DESC, event_index DESC LIMIT 1
) p ON true
WHERE ($1::bytea IS NULL OR c.creator = $1 OR c.challenge IN (
          SELECT challenge FROM indexer_challenge_parties WHERE counterparty = $1))
  AND ($2::text IS NULL OR c.mode = $2)
  AND ($3::text IS NULL OR s.to_status = $3)
  AND ($4::text IS NULL OR c.challenge IN (
          SELECT challenge FROM challenge_origins WHERE key_id = $4))
  AND ($5::bigint IS NULL
       OR (c.slot, c.tx_index, c.ix_index, c.event_index) < ($5, $6, $7, $8))
ORDER BY c.slot DESC, c.tx_index DESC, c.ix_index DESC, c.event_index DESC
LIMIT $9";

fn key(bytes: Vec<u8>) -> Result<Pubkey, sqlx::Error> {
    <[u8; 32]>::try_from(bytes)
        .map(Pubkey::new_from_array)
        .map_err(|_| sqlx::Error::Decode("an indexed key is not 32 bytes".into()))
}

/// One page of challenges matching `filter`.
pub async fn list(pool: &PgPool, filter: &Filter) -> Result<Page, sqlx::Error> {
    let limit = filter.limit.clamp(1, MAX_LIMIT);
    let after = filter.after;
    let rows = sqlx::query(LIST)
        .bind(filter.party.map(|p| p.to_bytes().to_vec()))
        .bind(filter.mode.as_deref())
        .bind(filter.status.as_deref())
        .bind(filter.created_by_key.as_deref())
        .bind(after.map(|c| c.slot))
        .bind(after.map(|c| c.tx_index))
        .bind(after.map(|c| c.ix_index))
        .bind(after.map(|c| c.event_index))
        .bind(i64::from(limit) + 1)
        .fetch_all(pool)
        .await?;
    let more = rows.len() > limit as usize;
    let mut challenges = Vec::with_capacity(rows.len().min(limit as usize));
    for row in rows.into_iter().take(limit as usize) {
        let terms: Vec<u8> = row.get("terms_hash");
        let counterparty: Option<Vec<u8>> = row.get("counterparty");
        let slot: i64 = row.get("slot");
        challenges.push(Listed {
            address: key(row.get("challenge"))?,
            creator: key(row.get("creator"))?,
            counterparty: counterparty.map(key).transpose()?,
            accepted: row.get::<Option<bool>, _>("accepted").unwrap_or(false),
            mode: row.get("mode"),
            status: row
                .get::<Option<String>, _>("to_status")
                .unwrap_or_default(),
            terms_hash: terms.try_into().unwrap_or([0; 32]),
            bond_mint: key(row.get("bond_mint"))?,
            bond_amount: row.get("bond_amount"),
            created_slot: u64::try_from(slot).unwrap_or(0),
            created_at: row.get("block_time"),
            status_slot: u64::try_from(row.get::<Option<i64>, _>("status_slot").unwrap_or(0))
                .unwrap_or(0),
            cursor: Cursor {
                slot,
                tx_index: row.get("tx_index"),
                ix_index: row.get("ix_index"),
                event_index: row.get("event_index"),
            },
        });
    }
    let next = if more {
        challenges.last().map(|c| c.cursor)
    } else {
        None
    };
    let indexed_slot: Option<i64> = sqlx::query_scalar("SELECT max(slot) FROM indexer_cursor")
        .fetch_one(pool)
        .await?;
    Ok(Page {
        challenges,
        next,
        indexed_slot: indexed_slot.and_then(|s| u64::try_from(s).ok()),
    })
}

/// Records that the API key `key_id` built the `create` of `challenge`, so that it lists it.
pub async fn record_origin(
    pool: &PgPool,
    challenge: &Pubkey,
    key_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO challenge_origins (challenge, key_id) VALUES ($1, $2)
         ON CONFLICT DO NOTHING",
    )
    .bind(challenge.to_bytes().as_slice())
    .bind(key_id)
    .execute(pool)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_nothing_else_decodes() {
        let c = Cursor {
            slot: 123,
            tx_index: 4,
            ix_index: 0,
            event_index: 2,
        };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        for bad in [
            "",
            "!!",
            "MS4yLjM",
            "MS4yLjMuNC41",
            "LTEuMC4wLjA",
            "YS5iLmMuZA",
        ] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }
}
