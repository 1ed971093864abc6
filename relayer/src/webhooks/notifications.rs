//! Email and SMS to the people behind an endpoint (migration 0018). An endpoint may name an
//! address and an E.164 number ([`Contacts`]); when the relayer disables it, one notification
//! per contact is written in the transaction that disables it ([`endpoint_disabled`],
//! [`insert`]), and the delivery workers send them through the platform's
//! [`Notifier`](crate::platform::notify::Notifier)s ([`claim`], [`settle`]).

use std::sync::Arc;

use chrono::{DateTime, SecondsFormat, Utc};
use sqlx::{PgConnection, PgPool, Row};
use uuid::Uuid;

use crate::platform::{
    db::StoreError,
    notify::{Channel, Notifier},
};

/// Who hears when an endpoint is disabled. In a change, `None` keeps a contact and `Some("")`
/// removes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contacts {
    /// An email address.
    pub email: Option<String>,
    /// An E.164 number (`+` and 8 to 15 digits).
    pub sms: Option<String>,
}

/// Why a contact is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContactError {
    /// Not one plain address.
    #[error("`notify_email` is not one email address (`name@example.com`)")]
    Email,
    /// Not E.164.
    #[error("`notify_sms` is not an E.164 number (`+` and 8 to 15 digits, e.g. +15005550006)")]
    Sms,
}

impl ContactError {
    /// The request field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Email => "notify_email",
            Self::Sms => "notify_sms",
        }
    }
}

/// One address: no spaces, commas or angle brackets (one recipient, no display name), one `@`,
/// a dotted domain, at most 254 characters.
fn is_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    text.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && text
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, ',' | ';' | '<' | '>' | '"'))
}

/// `+` then 8 to 15 digits, the first not zero.
fn is_e164(text: &str) -> bool {
    text.strip_prefix('+').is_some_and(|digits| {
        (8..=15).contains(&digits.len())
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0')
    })
}

impl Contacts {
    /// Trims and checks each contact given (an empty one, a removal, passes).
    pub fn checked(self) -> Result<Self, ContactError> {
        let email = self.email.map(|e| e.trim().to_owned());
        let sms = self.sms.map(|s| s.trim().to_owned());
        if email
            .as_deref()
            .is_some_and(|e| !e.is_empty() && !is_email(e))
        {
            return Err(ContactError::Email);
        }
        if sms.as_deref().is_some_and(|s| !s.is_empty() && !is_e164(s)) {
            return Err(ContactError::Sms);
        }
        Ok(Self { email, sms })
    }

    /// The channels this change sets (not removes).
    pub fn channels(&self) -> Vec<Channel> {
        let mut out = Vec::new();
        if self.email.as_deref().is_some_and(|e| !e.is_empty()) {
            out.push(Channel::Email);
        }
        if self.sms.as_deref().is_some_and(|s| !s.is_empty()) {
            out.push(Channel::Sms);
        }
        out
    }
}

/// A notification to write.
#[derive(Debug, Clone)]
pub struct NewNotification {
    /// Email or SMS.
    pub channel: Channel,
    /// The address or number.
    pub recipient: String,
    /// The subject (email).
    pub subject: String,
    /// The text.
    pub body: String,
    /// What caused it; one notification per cause and channel.
    pub cause: String,
    /// The key whose endpoint it is about.
    pub api_key_id: String,
}

/// What an endpoint's disabling tells its contacts.
#[derive(Debug, Clone)]
pub struct Disabled<'a> {
    /// The endpoint.
    pub endpoint_id: &'a str,
    /// Its URL.
    pub url: &'a str,
    /// Its key.
    pub api_key_id: &'a str,
    /// Since when every delivery failed.
    pub failing_since: DateTime<Utc>,
    /// The relayer's reason.
    pub reason: &'a str,
    /// Its email contact.
    pub email: Option<&'a str>,
    /// Its SMS contact.
    pub sms: Option<&'a str>,
}

/// The notifications for a disabled endpoint: an email and an SMS, for the contacts it has.
pub fn endpoint_disabled(d: &Disabled<'_>) -> Vec<NewNotification> {
    let since = d.failing_since.to_rfc3339_opts(SecondsFormat::Secs, true);
    let cause = format!("endpoint.disabled:{}:{since}", d.endpoint_id);
    let subject = "Chitty Veil: a webhook endpoint was disabled".to_owned();
    let email = format!(
        "Your webhook endpoint {url} (id {id}) was disabled: {reason}, since {since}.\n\n\
         Events for it are no longer sent. Once the receiver answers 2xx again, enable it with\n\
         PATCH /api/v2/webhooks/endpoints/{id} {{\"enabled\": true}}\n\
         and send what it missed with\n\
         POST /api/v2/webhooks/endpoints/{id}/replay {{\"since\": \"{since}\"}}\n\n\
         Its attempts, with status codes and answers: GET /api/v2/webhooks/endpoints/{id}/deliveries\n",
        url = d.url,
        id = d.endpoint_id,
        reason = d.reason,
    );
    let sms = format!(
        "Chitty Veil: webhook endpoint {} was disabled after failing since {since}. Re-enable it with PATCH /api/v2/webhooks/endpoints/{}.",
        d.url, d.endpoint_id
    );
    let mut out = Vec::new();
    let mut push = |channel: Channel, recipient: &str, body: String| {
        out.push(NewNotification {
            channel,
            recipient: recipient.to_owned(),
            subject: subject.clone(),
            body,
            cause: cause.clone(),
            api_key_id: d.api_key_id.to_owned(),
        })
    };
    if let Some(to) = d.email {
        push(Channel::Email, to, email);
    }
    if let Some(to) = d.sms {
        push(Channel::Sms, to, sms);
    }
    out
}

/// Writes `notes` on `conn` (the caller's transaction); a cause already written is skipped.
pub async fn insert(conn: &mut PgConnection, notes: &[NewNotification]) -> Result<(), sqlx::Error> {
    for note in notes {
        sqlx::query(
            "INSERT INTO notifications (id, channel, recipient, subject, body, cause, api_key_id)
             VALUES ($1::uuid, $2, $3, $4, $5, $6, $7) ON CONFLICT (cause, channel) DO NOTHING",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(note.channel.as_str())
        .bind(&note.recipient)
        .bind(&note.subject)
        .bind(&note.body)
        .bind(&note.cause)
        .bind(&note.api_key_id)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A notification a worker holds.
#[derive(Debug, Clone)]
pub struct Claimed {
    /// Its id (also the provider's idempotency key).
    pub id: Uuid,
    /// Email or SMS.
    pub channel: Channel,
    /// The address or number.
    pub recipient: String,
    /// The subject.
    pub subject: String,
    /// The text.
    pub body: String,
    /// Attempts made before this one.
    pub attempts: i32,
}

/// Claims up to `limit` due notifications, each leased for `lease_ms`.
pub async fn claim(pool: &PgPool, limit: i64, lease_ms: i64) -> Result<Vec<Claimed>, StoreError> {
    let rows = sqlx::query(
        "WITH due AS (
             SELECT id FROM notifications
             WHERE status = 'pending' AND next_attempt_at <= now()
             ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
         UPDATE notifications n SET next_attempt_at = now() + $2 * interval '1 millisecond'
           FROM due WHERE n.id = due.id
         RETURNING n.id::text AS id, n.channel, n.recipient, n.subject, n.body, n.attempts",
    )
    .bind(limit)
    .bind(lease_ms)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .iter()
        .map(|row| Claimed {
            id: row
                .get::<String, _>("id")
                .parse()
                .unwrap_or_else(|_| Uuid::nil()),
            channel: if row.get::<String, _>("channel") == "sms" {
                Channel::Sms
            } else {
                Channel::Email
            },
            recipient: row.get("recipient"),
            subject: row.get("subject"),
            body: row.get("body"),
            attempts: row.get("attempts"),
        })
        .collect())
}

/// What became of one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// The provider took it.
    Sent {
        /// The provider's id.
        provider_id: String,
    },
    /// It failed; try again after the wait (an attempt is counted).
    Retry {
        /// Milliseconds.
        after_ms: i64,
        /// Why (recipients masked).
        error: String,
    },
    /// The breaker was open, so the provider was not called: try again after the wait (no
    /// attempt is counted).
    Wait {
        /// Milliseconds.
        after_ms: i64,
        /// Why.
        error: String,
    },
    /// Refused, or the schedule is spent.
    Failed {
        /// Why (recipients masked).
        error: String,
    },
}

impl Settled {
    /// `sent`, `retrying`, `waiting` or `failed` (the metric's label).
    pub fn label(&self) -> &'static str {
        match self {
            Self::Sent { .. } => "sent",
            Self::Retry { .. } => "retrying",
            Self::Wait { .. } => "waiting",
            Self::Failed { .. } => "failed",
        }
    }
}

/// Records what became of notification `id`.
pub async fn settle(pool: &PgPool, id: Uuid, settled: &Settled) -> Result<(), StoreError> {
    let (status, counted, wait_ms, provider_id, error): (&str, bool, Option<i64>, _, _) =
        match settled {
            Settled::Sent { provider_id } => ("sent", true, None, Some(provider_id), None),
            Settled::Retry { after_ms, error } => {
                ("pending", true, Some(*after_ms), None, Some(error))
            }
            Settled::Wait { after_ms, error } => {
                ("pending", false, Some(*after_ms), None, Some(error))
            }
            Settled::Failed { error } => ("failed", true, None, None, Some(error)),
        };
    sqlx::query(
        "UPDATE notifications SET status = $2,
             attempts = attempts + CASE WHEN $3 THEN 1 ELSE 0 END,
             next_attempt_at = CASE WHEN $4::int8 IS NULL THEN NULL
                                    ELSE now() + $4 * interval '1 millisecond' END,
             provider_id = coalesce($5, provider_id),
             last_error = coalesce($6, last_error),
             sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE sent_at END
         WHERE id = $1::uuid",
    )
    .bind(id.to_string())
    .bind(status)
    .bind(counted)
    .bind(wait_ms)
    .bind(provider_id)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// The configured notifiers, by channel.
#[derive(Clone, Default)]
pub struct Notifiers {
    /// Email, with `RELAYER_NOTIFY_EMAIL_URL`.
    pub email: Option<Arc<dyn Notifier>>,
    /// SMS, with `RELAYER_NOTIFY_SMS_URL`.
    pub sms: Option<Arc<dyn Notifier>>,
}

impl Notifiers {
    /// The notifier of `channel`, if configured.
    pub fn get(&self, channel: Channel) -> Option<&Arc<dyn Notifier>> {
        match channel {
            Channel::Email => self.email.as_ref(),
            Channel::Sms => self.sms.as_ref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contacts_are_one_address_and_one_e164_number() {
        let ok = |email: &str, sms: &str| {
            Contacts {
                email: Some(email.into()),
                sms: Some(sms.into()),
            }
            .checked()
        };
        assert!(ok("ops@example.com", "+15005550006").is_ok());
        assert!(ok("", "").is_ok(), "empty removes");
        for bad in [
            "ops",
            "ops@example",
            "a@b.com,c@d.com",
            "Ops <ops@example.com>",
            "o ps@example.com",
            "ops@@example.com",
        ] {
            assert_eq!(ok(bad, ""), Err(ContactError::Email), "{bad}");
        }
        for bad in [
            "15005550006",
            "+0123456789",
            "+1500",
            "+1500555000612345",
            "+1-500-555",
        ] {
            assert_eq!(ok("", bad), Err(ContactError::Sms), "{bad}");
        }
    }
}
