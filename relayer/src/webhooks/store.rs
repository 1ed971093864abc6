//! The webhooks' SQL (migration 0016): endpoints, the fan-out of `outbox_events` into
//! deliveries, claims with leases, attempts. Ids cross as text (`::uuid`, `::text`): the
//! workspace builds sqlx without its `uuid` and `json` features.

use chrono::{DateTime, Utc};
use sqlx::{postgres::PgRow, PgPool, Row};
use uuid::Uuid;

use super::notifications::{self, Contacts, Disabled};
use crate::platform::{
    db::StoreError,
    outbox::{self, NewEvent},
};

/// An endpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Its id.
    pub id: Uuid,
    /// The API key it belongs to.
    pub api_key_id: String,
    /// Where deliveries go.
    pub url: String,
    /// Free text.
    pub description: String,
    /// The event types it receives.
    pub event_types: Vec<String>,
    /// Whether it receives any.
    pub enabled: bool,
    /// The current secret's generation.
    pub secret_generation: i32,
    /// Until when the previous generation also signs.
    pub previous_until: Option<DateTime<Utc>>,
    /// Since when every delivery has failed.
    pub failing_since: Option<DateTime<Utc>>,
    /// Why it was disabled by the relayer, if it was.
    pub disabled_reason: Option<String>,
    /// Who hears by email when it is disabled.
    pub notify_email: Option<String>,
    /// Who hears by SMS when it is disabled (E.164).
    pub notify_sms: Option<String>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

const ENDPOINT: &str = "id::text AS id, api_key_id, url, description, event_types, enabled, \
    secret_generation, previous_until, failing_since, disabled_reason, notify_email, notify_sms, \
    created_at";

fn endpoint(row: &PgRow) -> Endpoint {
    Endpoint {
        id: row
            .get::<String, _>("id")
            .parse()
            .unwrap_or_else(|_| Uuid::nil()),
        api_key_id: row.get("api_key_id"),
        url: row.get("url"),
        description: row.get("description"),
        event_types: row.get("event_types"),
        enabled: row.get("enabled"),
        secret_generation: row.get("secret_generation"),
        previous_until: row.get("previous_until"),
        failing_since: row.get("failing_since"),
        disabled_reason: row.get("disabled_reason"),
        notify_email: row.get("notify_email"),
        notify_sms: row.get("notify_sms"),
        created_at: row.get("created_at"),
    }
}

/// Stores a new endpoint of `key` (enabled, secret generation 1); the row as stored.
pub async fn insert_endpoint(
    pool: &PgPool,
    key: &str,
    url: &str,
    description: &str,
    event_types: &[String],
    contacts: &Contacts,
) -> Result<Endpoint, StoreError> {
    let row = sqlx::query(&format!(
        "INSERT INTO webhook_endpoints
             (id, api_key_id, url, description, event_types, notify_email, notify_sms)
         VALUES ($1::uuid, $2, $3, $4, $5, nullif($6, ''), nullif($7, '')) RETURNING {ENDPOINT}"
    ))
    .bind(Uuid::new_v4().to_string())
    .bind(key)
    .bind(url)
    .bind(description)
    .bind(event_types)
    .bind(&contacts.email)
    .bind(&contacts.sms)
    .fetch_one(pool)
    .await?;
    Ok(endpoint(&row))
}

/// The key's endpoints, oldest first.
pub async fn endpoints(pool: &PgPool, key: &str) -> Result<Vec<Endpoint>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {ENDPOINT} FROM webhook_endpoints WHERE api_key_id = $1 ORDER BY created_at, id"
    ))
    .bind(key)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(endpoint).collect())
}

/// The key's endpoint `id`.
pub async fn find_endpoint(
    pool: &PgPool,
    key: &str,
    id: Uuid,
) -> Result<Option<Endpoint>, StoreError> {
    let row = sqlx::query(&format!(
        "SELECT {ENDPOINT} FROM webhook_endpoints WHERE id = $1::uuid AND api_key_id = $2"
    ))
    .bind(id.to_string())
    .bind(key)
    .fetch_optional(pool)
    .await?;
    Ok(row.as_ref().map(endpoint))
}

/// What a PATCH changes (`None`: unchanged).
#[derive(Debug, Clone, Default)]
pub struct Patch {
    /// A new URL (already checked).
    pub url: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// New event types (already checked).
    pub event_types: Option<Vec<String>>,
    /// Enable (which forgets past failures) or disable.
    pub enabled: Option<bool>,
    /// New contacts (already checked; `Some("")` removes one).
    pub contacts: Contacts,
}

/// Applies `patch` to the key's endpoint `id`; the endpoint after it.
pub async fn update_endpoint(
    pool: &PgPool,
    key: &str,
    id: Uuid,
    patch: &Patch,
) -> Result<Option<Endpoint>, StoreError> {
    let row = sqlx::query(&format!(
        "UPDATE webhook_endpoints SET
             url = coalesce($3, url),
             description = coalesce($4, description),
             event_types = coalesce($5, event_types),
             enabled = coalesce($6, enabled),
             failing_since = CASE WHEN $6 THEN NULL ELSE failing_since END,
             disabled_reason = CASE WHEN $6 THEN NULL ELSE disabled_reason END,
             notify_email = CASE WHEN $7::text IS NULL THEN notify_email ELSE nullif($7, '') END,
             notify_sms = CASE WHEN $8::text IS NULL THEN notify_sms ELSE nullif($8, '') END,
             updated_at = now()
         WHERE id = $1::uuid AND api_key_id = $2
         RETURNING {ENDPOINT}"
    ))
    .bind(id.to_string())
    .bind(key)
    .bind(&patch.url)
    .bind(&patch.description)
    .bind(&patch.event_types)
    .bind(patch.enabled)
    .bind(&patch.contacts.email)
    .bind(&patch.contacts.sms)
    .fetch_optional(pool)
    .await?;
    Ok(row.as_ref().map(endpoint))
}

/// Starts the next secret generation; the previous one signs too until `previous_until`.
pub async fn rotate(
    pool: &PgPool,
    key: &str,
    id: Uuid,
    previous_until: DateTime<Utc>,
) -> Result<Option<Endpoint>, StoreError> {
    let row = sqlx::query(&format!(
        "UPDATE webhook_endpoints SET secret_generation = secret_generation + 1,
             previous_until = $3, updated_at = now()
         WHERE id = $1::uuid AND api_key_id = $2
         RETURNING {ENDPOINT}"
    ))
    .bind(id.to_string())
    .bind(key)
    .bind(previous_until)
    .fetch_optional(pool)
    .await?;
    Ok(row.as_ref().map(endpoint))
}

/// Deletes the key's endpoint `id` with its deliveries; whether it existed.
pub async fn delete_endpoint(pool: &PgPool, key: &str, id: Uuid) -> Result<bool, StoreError> {
    let deleted =
        sqlx::query("DELETE FROM webhook_endpoints WHERE id = $1::uuid AND api_key_id = $2")
            .bind(id.to_string())
            .bind(key)
            .execute(pool)
            .await?
            .rows_affected();
    Ok(deleted == 1)
}

/// Fans out up to `limit` undispatched events, oldest first, into one delivery per enabled
/// endpoint that wants each (its type, or the type it undoes; and its key unless the event is a
/// broadcast), and marks
/// them dispatched, in one transaction that skips events another instance holds. The number
/// of events.
pub async fn dispatch(pool: &PgPool, limit: i64) -> Result<u64, StoreError> {
    let mut tx = pool.begin().await?;
    let seqs: Vec<i64> = sqlx::query_scalar(
        "SELECT seq FROM outbox_events WHERE dispatched_at IS NULL ORDER BY seq
         LIMIT $1 FOR UPDATE SKIP LOCKED",
    )
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    if seqs.is_empty() {
        return Ok(0);
    }
    sqlx::query(
        "INSERT INTO webhook_deliveries (id, event_seq, endpoint_id, status, next_attempt_at)
         SELECT gen_random_uuid(), e.seq, ep.id, 'pending', now()
         FROM outbox_events e
         JOIN webhook_endpoints ep
           ON ep.enabled AND (e.type = ANY (ep.event_types)
                              OR (e.type LIKE '%.undone' AND left(e.type, -7) = ANY (ep.event_types)))
          AND (e.audience IS NULL OR e.audience = ep.api_key_id)
         WHERE e.seq = ANY ($1)
         ON CONFLICT (event_seq, endpoint_id) DO NOTHING",
    )
    .bind(&seqs)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE outbox_events SET dispatched_at = now() WHERE seq = ANY ($1)")
        .bind(&seqs)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(u64::try_from(seqs.len()).unwrap_or(u64::MAX))
}

/// A delivery a worker holds until its lease ends.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// The delivery.
    pub id: Uuid,
    /// Attempts made in its schedule before this one.
    pub attempts: i32,
    /// The message id (`webhook-id`).
    pub message_id: String,
    /// The event type.
    pub event_type: String,
    /// Its subject.
    pub subject: String,
    /// Its data (JSON text).
    pub data: String,
    /// A chain event's signature and slot.
    pub chain: Option<(String, i64)>,
    /// When the event happened.
    pub created_at: DateTime<Utc>,
    /// The endpoint.
    pub endpoint: Endpoint,
}

/// Claims up to `limit` due deliveries, each leased for `lease_ms` (after which another worker
/// may take it: a worker that died delivers nothing twice on purpose, but at least once).
pub async fn claim(pool: &PgPool, limit: i64, lease_ms: i64) -> Result<Vec<Claimed>, StoreError> {
    let rows = sqlx::query(
        "WITH due AS (
             SELECT id FROM webhook_deliveries
             WHERE status = 'pending' AND next_attempt_at <= now()
             ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
         UPDATE webhook_deliveries d
            SET next_attempt_at = now() + $2 * interval '1 millisecond'
           FROM due, outbox_events e, webhook_endpoints ep
          WHERE d.id = due.id AND e.seq = d.event_seq AND ep.id = d.endpoint_id
         RETURNING d.id::text AS delivery, d.attempts, e.id AS message_id, e.type,
                   e.subject, e.data::text AS data, e.signature, e.slot,
                   e.created_at AS event_at,
                   ep.id::text AS id, ep.api_key_id, ep.url, ep.description, ep.event_types,
                   ep.enabled, ep.secret_generation, ep.previous_until, ep.failing_since,
                   ep.disabled_reason, ep.notify_email, ep.notify_sms, ep.created_at",
    )
    .bind(limit)
    .bind(lease_ms)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|row| Claimed {
            id: row
                .get::<String, _>("delivery")
                .parse()
                .unwrap_or_else(|_| Uuid::nil()),
            attempts: row.get("attempts"),
            message_id: row.get("message_id"),
            event_type: row.get("type"),
            subject: row.get("subject"),
            data: row.get("data"),
            chain: row
                .get::<Option<String>, _>("signature")
                .zip(row.get::<Option<i64>, _>("slot")),
            created_at: row.get("event_at"),
            endpoint: endpoint(row),
        })
        .collect())
}

/// One attempt's result.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The HTTP status, if an answer came.
    pub status_code: Option<i32>,
    /// Request to answer (or failure).
    pub latency_ms: i32,
    /// The answer's first 1 KiB.
    pub response_body: String,
    /// Why no answer came, or why it was not sent.
    pub error: Option<String>,
}

/// What happens to the delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// It succeeded.
    Succeeded,
    /// Try again after this many milliseconds.
    RetryAfterMs(i64),
    /// The schedule is spent.
    Failed,
}

/// Records an attempt and its consequence for the delivery and the endpoint, in one
/// transaction: a success clears the endpoint's failing streak; a failure starts one, and when
/// the streak is older than `disable_after_secs` the endpoint is disabled and a
/// `webhook.endpoint.disabled` event for its key is recorded, with a notification for each of
/// its contacts. Whether it was disabled now.
pub async fn finish(
    pool: &PgPool,
    claimed: &Claimed,
    attempt: &Attempt,
    next: Next,
    disable_after_secs: i64,
) -> Result<bool, StoreError> {
    let delivery = claimed.id.to_string();
    if next == Next::Succeeded {
        // The common case in one statement (one round trip, atomic as a transaction): the
        // attempt, the delivery's end, and the endpoint's streak cleared if it had one
        // (only then written: concurrent successes to one endpoint would otherwise queue on
        // its row lock).
        sqlx::query(
            "WITH attempt AS (
                 INSERT INTO webhook_attempts
                     (delivery_id, status_code, latency_ms, response_body, error)
                 VALUES ($1::uuid, $2, $3, $4, $5)),
             delivery AS (
                 UPDATE webhook_deliveries SET status = 'succeeded', attempts = attempts + 1,
                     next_attempt_at = NULL, completed_at = now()
                 WHERE id = $1::uuid)
             UPDATE webhook_endpoints SET failing_since = NULL
             WHERE id = $6::uuid AND failing_since IS NOT NULL",
        )
        .bind(&delivery)
        .bind(attempt.status_code)
        .bind(attempt.latency_ms)
        .bind(&attempt.response_body)
        .bind(&attempt.error)
        .bind(claimed.endpoint.id.to_string())
        .execute(pool)
        .await?;
        return Ok(false);
    }
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO webhook_attempts (delivery_id, status_code, latency_ms, response_body, error)
         VALUES ($1::uuid, $2, $3, $4, $5)",
    )
    .bind(&delivery)
    .bind(attempt.status_code)
    .bind(attempt.latency_ms)
    .bind(&attempt.response_body)
    .bind(&attempt.error)
    .execute(&mut *tx)
    .await?;
    let (status, wait_ms): (&str, Option<i64>) = match next {
        Next::RetryAfterMs(ms) => ("pending", Some(ms)),
        Next::Failed => ("failed", None),
        Next::Succeeded => ("succeeded", None),
    };
    sqlx::query(
        "UPDATE webhook_deliveries SET status = $2, attempts = attempts + 1,
             next_attempt_at = CASE WHEN $3::int8 IS NULL THEN NULL
                                    ELSE now() + $3 * interval '1 millisecond' END,
             completed_at = CASE WHEN $2 = 'pending' THEN NULL ELSE now() END
         WHERE id = $1::uuid",
    )
    .bind(&delivery)
    .bind(status)
    .bind(wait_ms)
    .execute(&mut *tx)
    .await?;
    let endpoint = claimed.endpoint.id.to_string();
    let mut disabled = false;
    // The row is locked first, so that of two workers failing at once only one disables
    // it and records the event.
    let row = sqlx::query(
        "SELECT enabled, notify_email, notify_sms,
                coalesce(failing_since, now()) AS failing_since,
                coalesce(failing_since, now()) <= now() - $2 * interval '1 second' AS expired
         FROM webhook_endpoints WHERE id = $1::uuid FOR UPDATE",
    )
    .bind(&endpoint)
    .bind(disable_after_secs)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(row) = row {
        let enabled: bool = row.get("enabled");
        let failing_since: DateTime<Utc> = row.get("failing_since");
        disabled = enabled && row.get::<bool, _>("expired");
        let reason = format!("every delivery failed for {disable_after_secs} s");
        sqlx::query(
            "UPDATE webhook_endpoints SET failing_since = $2,
                 enabled = enabled AND NOT $3,
                 disabled_reason = CASE WHEN $3 THEN $4 ELSE disabled_reason END,
                 updated_at = CASE WHEN $3 THEN now() ELSE updated_at END
             WHERE id = $1::uuid",
        )
        .bind(&endpoint)
        .bind(failing_since)
        .bind(disabled)
        .bind(&reason)
        .execute(&mut *tx)
        .await?;
        if disabled {
            let event = NewEvent {
                event_type: super::events::ENDPOINT_DISABLED,
                audience: Some(claimed.endpoint.api_key_id.clone()),
                subject: endpoint.clone(),
                data: serde_json::json!({
                    "endpoint_id": endpoint,
                    "url": claimed.endpoint.url,
                    "failing_since": failing_since,
                    "reason": reason,
                }),
                chain: None,
            };
            outbox::record_admitted(&mut tx, std::iter::once(&event)).await?;
            let email: Option<String> = row.get("notify_email");
            let sms: Option<String> = row.get("notify_sms");
            let notes = notifications::endpoint_disabled(&Disabled {
                endpoint_id: &endpoint,
                url: &claimed.endpoint.url,
                api_key_id: &claimed.endpoint.api_key_id,
                failing_since,
                reason: &reason,
                email: email.as_deref(),
                sms: sms.as_deref(),
            });
            notifications::insert(&mut tx, &notes).await?;
        }
    }
    tx.commit().await?;
    Ok(disabled)
}

/// Gives up a delivery whose endpoint was disabled after it was queued: `failed`, with the
/// reason as its attempt (a replay after re-enabling sends it).
pub async fn abandon(pool: &PgPool, claimed: &Claimed, reason: &str) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO webhook_attempts (delivery_id, latency_ms, error) VALUES ($1::uuid, 0, $2)",
    )
    .bind(claimed.id.to_string())
    .bind(reason)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE webhook_deliveries SET status = 'failed', next_attempt_at = NULL,
             completed_at = now() WHERE id = $1::uuid",
    )
    .bind(claimed.id.to_string())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A delivery as shown to its key.
#[derive(Debug, Clone)]
pub struct DeliveryView {
    /// Its id.
    pub id: Uuid,
    /// The endpoint.
    pub endpoint_id: Uuid,
    /// The message id.
    pub message_id: String,
    /// The event type.
    pub event_type: String,
    /// `pending`, `succeeded`, `failed`.
    pub status: String,
    /// Attempts in the current schedule.
    pub attempts: i32,
    /// When due, while pending.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// Created.
    pub created_at: DateTime<Utc>,
}

const DELIVERY: &str = "d.id::text AS id, d.endpoint_id::text AS endpoint_id, e.id AS message_id, \
    e.type, d.status, d.attempts, d.next_attempt_at, d.created_at";

fn delivery(row: &PgRow) -> DeliveryView {
    let uuid = |name: &str| {
        row.get::<String, _>(name)
            .parse()
            .unwrap_or_else(|_| Uuid::nil())
    };
    DeliveryView {
        id: uuid("id"),
        endpoint_id: uuid("endpoint_id"),
        message_id: row.get("message_id"),
        event_type: row.get("type"),
        status: row.get("status"),
        attempts: row.get("attempts"),
        next_attempt_at: row.get("next_attempt_at"),
        created_at: row.get("created_at"),
    }
}

/// The newest `limit` deliveries to the key's endpoint `id`.
pub async fn deliveries(
    pool: &PgPool,
    key: &str,
    id: Uuid,
    limit: i64,
) -> Result<Vec<DeliveryView>, StoreError> {
    let rows = sqlx::query(&format!(
        "SELECT {DELIVERY} FROM webhook_deliveries d
         JOIN outbox_events e ON e.seq = d.event_seq
         JOIN webhook_endpoints ep ON ep.id = d.endpoint_id
         WHERE d.endpoint_id = $1::uuid AND ep.api_key_id = $2
         ORDER BY d.created_at DESC, d.id LIMIT $3"
    ))
    .bind(id.to_string())
    .bind(key)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows.iter().map(delivery).collect())
}

/// A recorded attempt.
#[derive(Debug, Clone)]
pub struct AttemptView {
    /// When.
    pub attempted_at: DateTime<Utc>,
    /// The answer's status.
    pub status_code: Option<i32>,
    /// Latency.
    pub latency_ms: i32,
    /// The answer's first 1 KiB.
    pub response_body: String,
    /// Why no answer.
    pub error: Option<String>,
}

/// The key's delivery `id` with its attempts, oldest first.
pub async fn find_delivery(
    pool: &PgPool,
    key: &str,
    id: Uuid,
) -> Result<Option<(DeliveryView, Vec<AttemptView>)>, StoreError> {
    let Some(row) = sqlx::query(&format!(
        "SELECT {DELIVERY} FROM webhook_deliveries d
         JOIN outbox_events e ON e.seq = d.event_seq
         JOIN webhook_endpoints ep ON ep.id = d.endpoint_id
         WHERE d.id = $1::uuid AND ep.api_key_id = $2"
    ))
    .bind(id.to_string())
    .bind(key)
    .fetch_optional(pool)
    .await?
    else {
        return Ok(None);
    };
    let attempts = sqlx::query(
        "SELECT attempted_at, status_code, latency_ms, response_body, error
         FROM webhook_attempts WHERE delivery_id = $1::uuid ORDER BY id",
    )
    .bind(id.to_string())
    .fetch_all(pool)
    .await?
    .iter()
    .map(|r| AttemptView {
        attempted_at: r.get("attempted_at"),
        status_code: r.get("status_code"),
        latency_ms: r.get("latency_ms"),
        response_body: r.get("response_body"),
        error: r.get("error"),
    })
    .collect();
    Ok(Some((delivery(&row), attempts)))
}

/// Starts the key's delivery `id` over (a new schedule, due now); whether it exists.
pub async fn replay(pool: &PgPool, key: &str, id: Uuid) -> Result<bool, StoreError> {
    let replayed = sqlx::query(
        "UPDATE webhook_deliveries d SET status = 'pending', attempts = 0,
             next_attempt_at = now(), completed_at = NULL
         FROM webhook_endpoints ep
         WHERE d.id = $1::uuid AND ep.id = d.endpoint_id AND ep.api_key_id = $2",
    )
    .bind(id.to_string())
    .bind(key)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(replayed == 1)
}

/// Delivers again to the key's endpoint `id` every event since `since` that it would receive
/// now (its types, its key or broadcasts): existing deliveries start over, missing ones are
/// created. The number of deliveries due now.
pub async fn replay_since(
    pool: &PgPool,
    key: &str,
    id: Uuid,
    since: DateTime<Utc>,
) -> Result<u64, StoreError> {
    let replayed = sqlx::query(
        "INSERT INTO webhook_deliveries (id, event_seq, endpoint_id, status, next_attempt_at)
         SELECT gen_random_uuid(), e.seq, ep.id, 'pending', now()
         FROM webhook_endpoints ep
         JOIN outbox_events e
           ON (e.type = ANY (ep.event_types)
               OR (e.type LIKE '%.undone' AND left(e.type, -7) = ANY (ep.event_types)))
          AND (e.audience IS NULL OR e.audience = ep.api_key_id)
         WHERE ep.id = $1::uuid AND ep.api_key_id = $2 AND e.created_at >= $3
           AND e.dispatched_at IS NOT NULL
         ON CONFLICT (event_seq, endpoint_id) DO UPDATE
           SET status = 'pending', attempts = 0, next_attempt_at = now(), completed_at = NULL",
    )
    .bind(id.to_string())
    .bind(key)
    .bind(since)
    .execute(pool)
    .await?
    .rows_affected();
    Ok(replayed)
}

/// Events not yet fanned out plus pending deliveries, and the oldest pending delivery's age in
/// seconds.
pub async fn depth(pool: &PgPool) -> Result<(i64, f64), StoreError> {
    let row = sqlx::query(
        "SELECT (SELECT count(*) FROM outbox_events WHERE dispatched_at IS NULL)
              + (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending') AS depth,
                coalesce((SELECT extract(epoch FROM now() - min(created_at))::float8
                          FROM webhook_deliveries WHERE status = 'pending'), 0) AS oldest",
    )
    .fetch_one(pool)
    .await?;
    Ok((row.get("depth"), row.get("oldest")))
}

/// Deletes up to `limit` outbox events older than `days` days that are fanned out and have no
/// pending delivery, with their deliveries and attempts, and the settled notifications as old.
/// The number of events deleted (the caller repeats while it is `limit`).
pub async fn prune(pool: &PgPool, days: i64, limit: i64) -> Result<u64, StoreError> {
    let mut tx = pool.begin().await?;
    let seqs: Vec<i64> = sqlx::query_scalar(
        "SELECT seq FROM outbox_events e
         WHERE created_at < now() - $1 * interval '1 day' AND dispatched_at IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d
                           WHERE d.event_seq = e.seq AND d.status = 'pending')
         ORDER BY seq LIMIT $2 FOR UPDATE SKIP LOCKED",
    )
    .bind(days)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM webhook_deliveries WHERE event_seq = ANY($1)")
        .bind(&seqs)
        .execute(&mut *tx)
        .await?;
    let deleted = sqlx::query("DELETE FROM outbox_events WHERE seq = ANY($1)")
        .bind(&seqs)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    sqlx::query(
        "DELETE FROM notifications
         WHERE status <> 'pending' AND created_at < now() - $1 * interval '1 day'",
    )
    .bind(days)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(deleted)
}
