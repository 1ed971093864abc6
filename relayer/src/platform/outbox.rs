//! The event outbox (JSON crosses as text: the workspace builds sqlx without `json`) (`outbox_events`, migration 0016): a domain records what happened in the
//! same transaction as the change itself, so an event exists exactly when its change does. The
//! webhooks domain reads the outbox; nothing here knows who listens.
//!
//! Events are recorded only while `FF_WEBHOOKS` admits their audience (the API key they
//! belong to; a broadcast only when the flag is fully on): with the flag off an emit costs
//! nothing.

use serde_json::Value;
use sqlx::PgConnection;

use super::flags::{Flag, Flags};

/// One event to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Its type, e.g. `chittyid.minted` (`docs/webhooks.md` has the catalogue).
    pub event_type: &'static str,
    /// The API key it belongs to; `None`: every endpoint subscribed to the type.
    pub audience: Option<String>,
    /// What it is about.
    pub subject: String,
    /// Its `data` object.
    pub data: Value,
    /// A chain event's transaction signature and slot.
    pub chain: Option<(String, u64)>,
}

/// The PostgreSQL channel on which every insert into the outbox (and into `notifications`)
/// notifies at commit (migration 0019's trigger): delivery workers LISTEN on it.
pub const WAKE_CHANNEL: &str = "veil_outbox";

/// A Standard Webhooks message id: `msg_` and 32 hex characters.
pub fn message_id() -> String {
    format!("msg_{}", uuid::Uuid::new_v4().simple())
}

/// Records events in the caller's transaction.
#[derive(Clone)]
pub struct Outbox {
    flags: Flags,
}

impl Outbox {
    /// An outbox gated by `flags`' `FF_WEBHOOKS`.
    pub fn new(flags: Flags) -> Self {
        Self { flags }
    }

    /// Whether an event for `audience` is recorded now.
    pub fn wants(&self, audience: Option<&str>) -> bool {
        self.flags.admits(Flag::Webhooks, audience)
    }

    /// Records the `events` that [`wants`](Self::wants) admits, in one statement on `conn`
    /// (the transaction of the change that caused them). The number recorded.
    pub async fn record(
        &self,
        conn: &mut PgConnection,
        events: &[NewEvent],
    ) -> Result<usize, sqlx::Error> {
        record_admitted(
            conn,
            events.iter().filter(|e| self.wants(e.audience.as_deref())),
        )
        .await
    }
}

/// Records `events` unconditionally (the webhooks domain's own events, written while it runs).
pub async fn record_admitted<'a>(
    conn: &mut PgConnection,
    events: impl Iterator<Item = &'a NewEvent>,
) -> Result<usize, sqlx::Error> {
    let (mut ids, mut types, mut audiences, mut subjects, mut data, mut signatures, mut slots) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for event in events {
        ids.push(message_id());
        types.push(event.event_type);
        audiences.push(event.audience.clone());
        subjects.push(event.subject.clone());
        data.push(event.data.to_string());
        signatures.push(event.chain.as_ref().map(|(s, _)| s.clone()));
        slots.push(
            event
                .chain
                .as_ref()
                .map(|(_, slot)| i64::try_from(*slot).unwrap_or(i64::MAX)),
        );
    }
    if ids.is_empty() {
        return Ok(0);
    }
    let recorded = sqlx::query(
        "INSERT INTO outbox_events (id, type, audience, subject, data, signature, slot)
         SELECT i, t, a, s, d::jsonb, sig, sl
         FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
                     $7::int8[]) AS u(i, t, a, s, d, sig, sl)",
    )
    .bind(&ids)
    .bind(&types)
    .bind(&audiences)
    .bind(&subjects)
    .bind(&data)
    .bind(&signatures)
    .bind(&slots)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(usize::try_from(recorded).unwrap_or(usize::MAX))
}
