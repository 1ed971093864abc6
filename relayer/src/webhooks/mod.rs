//! The webhooks domain (SPEC §6 "Webhooks"): endpoints per API key, Standard Webhooks
//! signatures, and at-least-once delivery from the platform's outbox (`outbox_events`).
//!
//! - [`events`]: the event catalogue.
//! - [`signing`]: the Standard Webhooks signature and the derived per-endpoint secrets.
//! - [`target`]: which URLs and addresses a delivery may reach (no SSRF).
//! - [`store`]: endpoints, the fan-out, claims with leases, attempts.
//! - [`notifications`]: email and SMS to an endpoint's contacts when it is disabled.
//! - [`handlers`]: `/api/v2/webhooks/*`, behind `FF_WEBHOOKS` and the `webhooks` scope.
//!
//! **Delivery.** [`WebhookService::run`] loops: fan out new outbox events into one delivery
//! per interested endpoint, claim due deliveries with `FOR UPDATE SKIP LOCKED` and a lease,
//! send each (`POST`, signed, with the timeout), and record the attempt: success, a retry at
//! the next step of the schedule (±20 % jitter), or `failed` once the schedule is spent. A
//! worker that dies mid-send leaves its deliveries leased; they fall due again when the lease
//! ends, so each is delivered at least once (receivers de-duplicate on `webhook-id`).

mod error;
pub mod events;
pub mod handlers;
pub mod notifications;
pub mod signing;
pub mod store;
pub mod target;

use std::{sync::Arc, time::Duration};

use chrono::{DateTime, SecondsFormat, Utc};
use futures::StreamExt;
use rand::Rng;
use uuid::Uuid;

pub use self::{
    error::WebhookError,
    events::{CHITTYID_ANCHORED, CHITTYID_MINTED, ENDPOINT_DISABLED, EVENT_TYPES},
};
use self::{
    notifications::{Contacts, Notifiers, Settled},
    store::{Attempt, Claimed, DeliveryView, Endpoint, Next, Patch},
    target::{GuardedResolver, TargetPolicy},
};
use crate::platform::{
    flags::{Flag, Flags},
    metrics::Metrics,
    notify::{mask, Message, NotifyError},
    outbox::WAKE_CHANNEL,
};

/// How long a rotated-out secret keeps signing.
pub const ROTATION_OVERLAP: Duration = Duration::from_secs(24 * 3600);

/// How often a worker prunes what is past the retention.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// Deliveries a round claims, in multiples of the concurrency.
const CLAIM_WAVES: usize = 4;

/// How many bytes of an answer an attempt keeps.
const KEPT_BODY: usize = 1024;

/// The delivery policy.
#[derive(Debug, Clone)]
pub struct WebhookConfig {
    /// Which targets are allowed.
    pub policy: TargetPolicy,
    /// One attempt's limit.
    pub timeout: Duration,
    /// The wait before each attempt (the first usually zero).
    pub schedule: Vec<Duration>,
    /// How long an endpoint may fail every delivery before it is disabled.
    pub disable_after: Duration,
    /// Attempts in flight per instance.
    pub concurrency: usize,
    /// The pause when there is nothing to do.
    pub poll: Duration,
    /// How long settled events, deliveries and notifications are kept.
    pub retention_days: u32,
}

/// A new endpoint and its secret, shown once.
#[derive(Debug, Clone)]
pub struct Created {
    /// The endpoint.
    pub endpoint: Endpoint,
    /// `whsec_…`.
    pub secret: String,
}

/// The webhooks.
pub struct WebhookService {
    pool: sqlx::PgPool,
    config: WebhookConfig,
    master: [u8; 32],
    http: reqwest::Client,
    flags: Flags,
    metrics: Metrics,
    notifiers: Notifiers,
}

impl WebhookService {
    /// The service; endpoint secrets derive from `master` (the relayer's HMAC master);
    /// endpoints' contacts hear through `notifiers`.
    pub fn new(
        pool: sqlx::PgPool,
        config: WebhookConfig,
        master: [u8; 32],
        flags: Flags,
        metrics: Metrics,
        notifiers: Notifiers,
    ) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(Arc::new(GuardedResolver(config.policy)))
            .user_agent(concat!("chitty-veil-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self {
            pool,
            config,
            master,
            http,
            flags,
            metrics,
            notifiers,
        })
    }

    /// The configured notifiers.
    pub fn notifiers(&self) -> &Notifiers {
        &self.notifiers
    }

    /// Checks `contacts`, and that a notifier exists for each channel they set.
    fn contacts(&self, contacts: Contacts) -> Result<Contacts, WebhookError> {
        let contacts = contacts.checked()?;
        for channel in contacts.channels() {
            if self.notifiers.get(channel).is_none() {
                return Err(WebhookError::NotifierNotConfigured(channel));
            }
        }
        Ok(contacts)
    }

    /// Wall-clock time, not the relayer's [`Clock`](crate::platform::clock::Clock): a
    /// receiver checks `webhook-timestamp` against its own clock (within 5 minutes), so the
    /// timestamp must be the real time even where the relayer's clock is pinned (tests).
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn secret(&self, endpoint: Uuid, generation: i32) -> String {
        signing::secret_text(&signing::endpoint_key(&self.master, endpoint, generation))
    }

    fn event_types(types: &[String]) -> Result<Vec<String>, WebhookError> {
        if types.is_empty() {
            return Err(WebhookError::NoEventTypes);
        }
        let mut out: Vec<String> = Vec::with_capacity(types.len());
        for t in types {
            if !EVENT_TYPES.contains(&t.as_str()) {
                return Err(WebhookError::UnknownEventType(t.clone()));
            }
            if !out.contains(t) {
                out.push(t.clone());
            }
        }
        Ok(out)
    }

    /// Registers an endpoint for `key`; its secret is in the answer and nowhere else.
    pub async fn create(
        &self,
        key: &str,
        url: &str,
        event_types: &[String],
        description: Option<String>,
        contacts: Contacts,
    ) -> Result<Created, WebhookError> {
        let event_types = Self::event_types(event_types)?;
        let contacts = self.contacts(contacts)?;
        let url = self.config.policy.check_resolved(url).await?;
        let stored = store::insert_endpoint(
            &self.pool,
            key,
            url.as_str(),
            &description.unwrap_or_default(),
            &event_types,
            &contacts,
        )
        .await?;
        Ok(Created {
            secret: self.secret(stored.id, stored.secret_generation),
            endpoint: stored,
        })
    }

    /// The key's endpoints.
    pub async fn endpoints(&self, key: &str) -> Result<Vec<Endpoint>, WebhookError> {
        Ok(store::endpoints(&self.pool, key).await?)
    }

    /// The key's endpoint `id`.
    pub async fn endpoint(&self, key: &str, id: Uuid) -> Result<Endpoint, WebhookError> {
        store::find_endpoint(&self.pool, key, id)
            .await?
            .ok_or(WebhookError::EndpointNotFound)
    }

    /// Changes the key's endpoint `id`: `change` holds what it sets, unchecked.
    pub async fn update(
        &self,
        key: &str,
        id: Uuid,
        change: Patch,
    ) -> Result<Endpoint, WebhookError> {
        let event_types = change
            .event_types
            .as_deref()
            .map(Self::event_types)
            .transpose()?;
        let contacts = self.contacts(change.contacts)?;
        let url = match change.url {
            Some(url) => Some(self.config.policy.check_resolved(&url).await?.to_string()),
            None => None,
        };
        let patch = Patch {
            url,
            description: change.description,
            event_types,
            enabled: change.enabled,
            contacts,
        };
        store::update_endpoint(&self.pool, key, id, &patch)
            .await?
            .ok_or(WebhookError::EndpointNotFound)
    }

    /// Starts a new secret for the key's endpoint `id`; the old one also signs for
    /// [`ROTATION_OVERLAP`]. The new secret, shown once.
    pub async fn rotate(&self, key: &str, id: Uuid) -> Result<Created, WebhookError> {
        let until = self.now()
            + chrono::Duration::from_std(ROTATION_OVERLAP).unwrap_or(chrono::Duration::zero());
        let endpoint = store::rotate(&self.pool, key, id, until)
            .await?
            .ok_or(WebhookError::EndpointNotFound)?;
        Ok(Created {
            secret: self.secret(endpoint.id, endpoint.secret_generation),
            endpoint,
        })
    }

    /// Deletes the key's endpoint `id` and its deliveries.
    pub async fn delete(&self, key: &str, id: Uuid) -> Result<(), WebhookError> {
        if store::delete_endpoint(&self.pool, key, id).await? {
            Ok(())
        } else {
            Err(WebhookError::EndpointNotFound)
        }
    }

    /// The newest deliveries to the key's endpoint `id`.
    pub async fn deliveries(
        &self,
        key: &str,
        id: Uuid,
        limit: i64,
    ) -> Result<Vec<DeliveryView>, WebhookError> {
        self.endpoint(key, id).await?;
        Ok(store::deliveries(&self.pool, key, id, limit.clamp(1, 500)).await?)
    }

    /// The key's delivery `id` and its attempts.
    pub async fn delivery(
        &self,
        key: &str,
        id: Uuid,
    ) -> Result<(DeliveryView, Vec<store::AttemptView>), WebhookError> {
        store::find_delivery(&self.pool, key, id)
            .await?
            .ok_or(WebhookError::DeliveryNotFound)
    }

    /// Sends the key's delivery `id` again, on a new schedule.
    pub async fn replay(&self, key: &str, id: Uuid) -> Result<(), WebhookError> {
        if store::replay(&self.pool, key, id).await? {
            Ok(())
        } else {
            Err(WebhookError::DeliveryNotFound)
        }
    }

    /// Sends again to the key's endpoint `id` every event since `since` it would receive now;
    /// how many deliveries that is.
    pub async fn replay_since(
        &self,
        key: &str,
        id: Uuid,
        since: DateTime<Utc>,
    ) -> Result<u64, WebhookError> {
        self.endpoint(key, id).await?;
        Ok(store::replay_since(&self.pool, key, id, since).await?)
    }

    /// The JSON body of a delivery: `type`, `timestamp`, `subject`, `data`, and `chain` for
    /// chain events.
    pub fn body(claimed: &Claimed) -> Vec<u8> {
        let data: serde_json::Value =
            serde_json::from_str(&claimed.data).unwrap_or(serde_json::Value::Null);
        let mut body = serde_json::json!({
            "type": claimed.event_type,
            "timestamp": claimed.created_at.to_rfc3339_opts(SecondsFormat::Millis, true),
            "subject": claimed.subject,
            "data": data,
        });
        if let Some((signature, slot)) = &claimed.chain {
            body["chain"] = serde_json::json!({ "signature": signature, "slot": slot });
        }
        serde_json::to_vec(&body).unwrap_or_default()
    }

    /// The keys that sign for `endpoint` at `now`: the current one, and the previous one
    /// during its overlap.
    fn signing_keys(&self, endpoint: &Endpoint, now: DateTime<Utc>) -> Vec<[u8; 32]> {
        let mut keys = vec![signing::endpoint_key(
            &self.master,
            endpoint.id,
            endpoint.secret_generation,
        )];
        if endpoint.secret_generation > 1 && endpoint.previous_until.is_some_and(|u| now < u) {
            keys.push(signing::endpoint_key(
                &self.master,
                endpoint.id,
                endpoint.secret_generation - 1,
            ));
        }
        keys
    }

    /// One attempt: the POST and what it answered.
    async fn attempt(&self, claimed: &Claimed) -> Attempt {
        let started = std::time::Instant::now();
        let elapsed = |started: std::time::Instant| {
            i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX)
        };
        // An IP literal reaches no resolver: its address is checked here.
        if let Err(error) = self.config.policy.check_url(&claimed.endpoint.url) {
            return Attempt {
                status_code: None,
                latency_ms: 0,
                response_body: String::new(),
                error: Some(error.to_string()),
            };
        }
        let body = Self::body(claimed);
        let now = self.now();
        let timestamp = now.timestamp();
        let signature = signing::signature_header(
            &self.signing_keys(&claimed.endpoint, now),
            &claimed.message_id,
            timestamp,
            &body,
        );
        let sent = self
            .http
            .post(&claimed.endpoint.url)
            .header("content-type", "application/json")
            .header("webhook-id", &claimed.message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => {
                return Attempt {
                    status_code: None,
                    latency_ms: elapsed(started),
                    response_body: String::new(),
                    error: Some(describe(&error)),
                }
            }
        };
        let status = i32::from(response.status().as_u16());
        let mut kept = Vec::new();
        let mut response = response;
        let mut error = None;
        while kept.len() < KEPT_BODY {
            match response.chunk().await {
                Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
                Ok(None) => break,
                Err(e) => {
                    error = Some(describe(&e));
                    break;
                }
            }
        }
        kept.truncate(KEPT_BODY);
        Attempt {
            status_code: Some(status),
            latency_ms: elapsed(started),
            response_body: String::from_utf8_lossy(&kept).into_owned(),
            error,
        }
    }

    /// What follows attempt number `made` (1-based) that failed: the next wait with jitter,
    /// or the end of the schedule.
    pub fn after_failure(schedule: &[Duration], made: usize) -> Next {
        match schedule.get(made) {
            None => Next::Failed,
            Some(wait) => {
                let ms = wait.as_millis() as f64;
                let jittered = ms * rand::thread_rng().gen_range(0.8..=1.2);
                Next::RetryAfterMs(jittered.round() as i64)
            }
        }
    }

    async fn deliver(&self, claimed: Claimed) -> Result<(), WebhookError> {
        if !claimed.endpoint.enabled {
            store::abandon(&self.pool, &claimed, "the endpoint is disabled").await?;
            self.metrics
                .webhook_deliveries_total
                .with_label_values(&["failed"])
                .inc();
            return Ok(());
        }
        let attempt = self.attempt(&claimed).await;
        self.metrics
            .webhook_attempt_seconds
            .observe(f64::from(attempt.latency_ms) / 1e3);
        let ok = attempt.status_code.is_some_and(|s| (200..300).contains(&s));
        let made = usize::try_from(claimed.attempts).unwrap_or(0) + 1;
        let next = if ok {
            Next::Succeeded
        } else {
            Self::after_failure(&self.config.schedule, made)
        };
        let result = match next {
            Next::Succeeded => "succeeded",
            Next::RetryAfterMs(_) => "retrying",
            Next::Failed => "failed",
        };
        self.metrics
            .webhook_deliveries_total
            .with_label_values(&[result])
            .inc();
        let disable_after = i64::try_from(self.config.disable_after.as_secs()).unwrap_or(i64::MAX);
        if store::finish(&self.pool, &claimed, &attempt, next, disable_after).await? {
            tracing::warn!(endpoint = %claimed.endpoint.id, "webhook endpoint disabled: every delivery failed for too long");
        }
        Ok(())
    }

    /// Sends one claimed notification and records the outcome.
    async fn notify(&self, claimed: notifications::Claimed) -> Result<(), WebhookError> {
        let settled = match self.notifiers.get(claimed.channel) {
            None => Settled::Failed {
                error: format!("no {} notifier is configured", claimed.channel),
            },
            Some(notifier) => {
                let message = Message {
                    to: claimed.recipient.clone(),
                    subject: claimed.subject.clone(),
                    text: claimed.body.clone(),
                    idempotency_key: claimed.id.to_string(),
                };
                match notifier.send(&message).await {
                    Ok(sent) => Settled::Sent {
                        provider_id: sent.provider_id,
                    },
                    Err(error @ NotifyError::Rejected { .. }) => Settled::Failed {
                        error: error.to_string(),
                    },
                    Err(error @ NotifyError::BreakerOpen { retry_after, .. }) => Settled::Wait {
                        after_ms: i64::try_from(retry_after.as_millis())
                            .unwrap_or(i64::MAX)
                            .max(100),
                        error: error.to_string(),
                    },
                    Err(error @ NotifyError::Unavailable { .. }) => {
                        let made = usize::try_from(claimed.attempts).unwrap_or(0) + 1;
                        match Self::after_failure(&self.config.schedule, made) {
                            Next::RetryAfterMs(after_ms) => Settled::Retry {
                                after_ms,
                                error: error.to_string(),
                            },
                            _ => Settled::Failed {
                                error: error.to_string(),
                            },
                        }
                    }
                }
            }
        };
        let to = mask(&claimed.recipient);
        match &settled {
            Settled::Sent { provider_id } => {
                tracing::info!(channel = %claimed.channel, %to, %provider_id, "notification sent")
            }
            Settled::Failed { error } => {
                tracing::warn!(channel = %claimed.channel, %to, %error, "notification failed for good")
            }
            Settled::Retry { error, .. } | Settled::Wait { error, .. } => {
                tracing::warn!(channel = %claimed.channel, %to, %error, "notification not sent; will retry")
            }
        }
        self.metrics
            .notifications_total
            .with_label_values(&[claimed.channel.as_str(), settled.label()])
            .inc();
        notifications::settle(&self.pool, claimed.id, &settled).await?;
        Ok(())
    }

    /// Claims the due notifications and sends them. How many were tried.
    pub async fn notify_round(&self) -> Result<usize, WebhookError> {
        let lease = self.config.timeout.saturating_mul(4) + Duration::from_secs(5);
        let claimed = notifications::claim(
            &self.pool,
            i64::try_from(self.config.concurrency).unwrap_or(16),
            i64::try_from(lease.as_millis()).unwrap_or(i64::MAX),
        )
        .await?;
        self.each(claimed, |c| self.notify(c)).await
    }

    /// Runs `f` on each item, `concurrency` at once; how many there were (the first error, if
    /// any, after all have run).
    async fn each<T, F, Fut>(&self, items: Vec<T>, f: F) -> Result<usize, WebhookError>
    where
        F: FnMut(T) -> Fut,
        Fut: std::future::Future<Output = Result<(), WebhookError>>,
    {
        let count = items.len();
        let results: Vec<Result<(), WebhookError>> = futures::stream::iter(items)
            .map(f)
            .buffer_unordered(self.config.concurrency)
            .collect()
            .await;
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
        Ok(count)
    }

    /// One round: fan out, then claim and attempt what is due, then send the due
    /// notifications. The deliveries and notifications attempted.
    pub async fn round(&self) -> Result<usize, WebhookError> {
        while store::dispatch(&self.pool, 500).await? > 0 {}
        // A round claims CLAIM_WAVES times the concurrency (fewer claim queries per
        // delivery); the lease covers the last wave's wait, then its attempt, twice over.
        let waves = u32::try_from(CLAIM_WAVES).unwrap_or(1);
        let lease = self.config.timeout.saturating_mul(waves + 1) + Duration::from_secs(1);
        let claimed = store::claim(
            &self.pool,
            i64::try_from(self.config.concurrency * CLAIM_WAVES).unwrap_or(64),
            i64::try_from(lease.as_millis()).unwrap_or(i64::MAX),
        )
        .await?;
        let count = self.each(claimed, |c| self.deliver(c)).await?;
        Ok(count + self.notify_round().await?)
    }

    /// Deletes what is older than the retention and settled, in batches; how many events.
    pub async fn prune(&self) -> Result<u64, WebhookError> {
        const BATCH: i64 = 1_000;
        let days = i64::from(self.config.retention_days);
        let mut total = 0;
        loop {
            let deleted = store::prune(&self.pool, days, BATCH).await?;
            total += deleted;
            if deleted < BATCH as u64 {
                return Ok(total);
            }
        }
    }

    /// Runs [`round`](Self::round)s until `stop` changes, while `FF_WEBHOOKS` is not off;
    /// pauses for the poll interval when a round found nothing. A failed round is logged and
    /// retried.
    pub async fn run(self: Arc<Self>, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut measured = std::time::Instant::now() - Duration::from_secs(60);
        let mut wake = Wake::new(self.pool.clone());
        let mut pruned = std::time::Instant::now();
        loop {
            let busy = if self.flags.rollout(Flag::Webhooks) == crate::platform::flags::Rollout::Off
            {
                false
            } else {
                match self.round().await {
                    Ok(n) => n > 0,
                    Err(error) => {
                        tracing::warn!(%error, "webhook delivery round failed; retrying");
                        false
                    }
                }
            };
            if pruned.elapsed() >= PRUNE_EVERY {
                pruned = std::time::Instant::now();
                match self.prune().await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(events = n, "pruned settled webhook events"),
                    Err(error) => tracing::warn!(%error, "pruning webhook events failed"),
                }
            }
            if measured.elapsed() >= Duration::from_secs(1) {
                measured = std::time::Instant::now();
                if let Ok((depth, oldest)) = store::depth(&self.pool).await {
                    self.metrics.webhook_outbox_depth.set(depth);
                    self.metrics.webhook_outbox_oldest_seconds.set(oldest);
                }
            }
            if *stop.borrow() {
                return;
            }
            if !busy {
                tokio::select! {
                    _ = tokio::time::sleep(self.config.poll) => {}
                    _ = wake.next() => {}
                    _ = stop.changed() => return,
                }
            }
        }
    }
}

/// The outbox's wake-ups: a LISTEN on [`WAKE_CHANNEL`]. When the listening connection fails,
/// the workers fall back to polling and listen again after [`Wake::RETRY`].
struct Wake {
    pool: sqlx::PgPool,
    listener: Option<sqlx::postgres::PgListener>,
    failed_at: Option<std::time::Instant>,
}

impl Wake {
    const RETRY: Duration = Duration::from_secs(10);

    fn new(pool: sqlx::PgPool) -> Self {
        Self {
            pool,
            listener: None,
            failed_at: None,
        }
    }

    /// Resolves on the next notification; never, while not listening.
    async fn next(&mut self) {
        if self.listener.is_none() && self.failed_at.is_none_or(|t| t.elapsed() >= Self::RETRY) {
            match sqlx::postgres::PgListener::connect_with(&self.pool).await {
                Ok(mut listener) => match listener.listen(WAKE_CHANNEL).await {
                    Ok(()) => self.listener = Some(listener),
                    Err(error) => self.failed(&error),
                },
                Err(error) => self.failed(&error),
            }
        }
        let Some(listener) = self.listener.as_mut() else {
            return std::future::pending().await;
        };
        match listener.recv().await {
            Ok(_) => {}
            Err(error) => {
                self.failed(&error);
                std::future::pending::<()>().await
            }
        }
    }

    fn failed(&mut self, error: &sqlx::Error) {
        tracing::warn!(%error, "webhook workers cannot LISTEN for outbox wake-ups; polling");
        self.listener = None;
        self.failed_at = Some(std::time::Instant::now());
    }
}

/// A transport error without the URL (which reqwest puts in its message).
fn describe(error: &reqwest::Error) -> String {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_redirect() {
        "redirect (not followed)"
    } else if error.is_body() || error.is_decode() {
        "the answer broke off"
    } else {
        "request failed"
    };
    let mut source = std::error::Error::source(error);
    let mut detail = String::new();
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_owned()
    } else {
        format!("{kind}: {detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_waits_with_jitter_then_ends() {
        let schedule: Vec<Duration> = [0, 5, 300].map(Duration::from_secs).to_vec();
        for _ in 0..100 {
            match WebhookService::after_failure(&schedule, 1) {
                Next::RetryAfterMs(ms) => assert!((4_000..=6_000).contains(&ms), "{ms}"),
                other => panic!("{other:?}"),
            }
            match WebhookService::after_failure(&schedule, 2) {
                Next::RetryAfterMs(ms) => assert!((240_000..=360_000).contains(&ms), "{ms}"),
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(WebhookService::after_failure(&schedule, 3), Next::Failed);
    }
}
