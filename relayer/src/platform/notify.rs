//! Email and SMS through one [`Notifier`] trait: [`ResendNotifier`] speaks Resend's
//! `POST /emails`, [`TwilioNotifier`] Twilio's `POST /2010-04-01/Accounts/{sid}/Messages.json`
//! (form-encoded, basic auth). Any service with the same API works (a self-hosted relay, a
//! regional provider), by base URL.
//!
//! Each notifier has the relayer's outbound guards: a timeout per request, retries with jitter
//! ([`veil_retry`]) on transport errors, 429 and 5xx, and its own [`CircuitBreaker`]. A 4xx
//! other than 429 is the provider refusing this message (a bad address, a bad key): it is not
//! retried and does not count against the breaker. The API key or auth token comes from the
//! [`SecretProvider`](crate::platform::secrets::SecretProvider) and is sent only in headers.
//!
//! Recipients never reach a log in full: [`mask`] keeps the first letter and the domain of an
//! address (`a***@example.com`) and the last two digits of a number (`+*********67`), and the
//! provider's own error text is masked the same way before it is returned.

use std::{fmt, time::Duration};

use futures::future::BoxFuture;
use serde::Deserialize;

use crate::platform::{
    breaker::{BreakerConfig, BreakerState, CircuitBreaker},
    metrics::Metrics,
    secrets::Secret,
};

/// How a notification travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Channel {
    /// Email, to an address.
    Email,
    /// SMS, to an E.164 number.
    Sms,
}

impl Channel {
    /// `email` or `sms` (as stored).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One message to one recipient.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    /// The address or E.164 number.
    pub to: String,
    /// The subject (email only; an SMS carries just the text).
    pub subject: String,
    /// Plain text.
    pub text: String,
    /// The same for every retry of this message: sent as Resend's `Idempotency-Key`, so a
    /// retry after a lost answer is not a second email.
    pub idempotency_key: String,
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("to", &mask(&self.to))
            .field("subject", &self.subject)
            .field("idempotency_key", &self.idempotency_key)
            .finish_non_exhaustive()
    }
}

/// The provider took the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The provider's id for it (Resend's `id`, Twilio's `sid`).
    pub provider_id: String,
}

/// Why a message was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotifyError {
    /// The provider did not answer, or answered 429 or 5xx, after the retries: try again
    /// later.
    #[error("{channel} provider unavailable ({reason}); its breaker is {}", .breaker.as_str())]
    Unavailable {
        /// The channel.
        channel: Channel,
        /// What failed (recipients masked).
        reason: String,
        /// The breaker after the failure.
        breaker: BreakerState,
        /// When to try again.
        retry_after: Duration,
    },
    /// The breaker is open: the provider was not called. Try again after `retry_after`.
    #[error("{channel} provider's circuit breaker is open; retry after {retry_after:?}")]
    BreakerOpen {
        /// The channel.
        channel: Channel,
        /// When the breaker lets a probe through.
        retry_after: Duration,
    },
    /// The provider refused this message (4xx): retrying will not help.
    #[error("{channel} provider refused the message: HTTP {status}: {message}")]
    Rejected {
        /// The channel.
        channel: Channel,
        /// Its status.
        status: u16,
        /// Its message (recipients masked).
        message: String,
    },
}

/// Sends notifications over one channel.
pub trait Notifier: Send + Sync {
    /// Its channel.
    fn channel(&self) -> Channel;

    /// Sends one message, with the notifier's retries, under its breaker.
    fn send<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<Sent, NotifyError>>;

    /// Its breaker's state.
    fn breaker_state(&self) -> BreakerState;
}

/// A recipient as it may be logged: `a***@example.com`, `+*********67`, or `***`.
pub fn mask(recipient: &str) -> String {
    if let Some((local, domain)) = recipient.rsplit_once('@') {
        let first: String = local.chars().take(1).collect();
        return format!("{first}***@{domain}");
    }
    let digits = recipient.chars().filter(char::is_ascii_digit).count();
    if digits >= 6 {
        let tail: String = recipient
            .chars()
            .skip(recipient.chars().count() - 2)
            .collect();
        let plus = if recipient.starts_with('+') { "+" } else { "" };
        return format!("{plus}{}{tail}", "*".repeat(digits - 2));
    }
    "***".to_owned()
}

/// `text` with every occurrence of `recipient` replaced by its mask.
fn scrub(text: &str, recipient: &str) -> String {
    if recipient.is_empty() {
        return text.to_owned();
    }
    text.replace(recipient, &mask(recipient))
}

/// What one request came to.
enum Outcome {
    Taken(Sent),
    /// Worth retrying: transport error, 429, 5xx, an unreadable 2xx.
    Transient(String),
    Refused {
        status: u16,
        message: String,
    },
}

/// The guards both notifiers share: breaker, retries, metrics.
struct Guarded {
    channel: Channel,
    breaker: CircuitBreaker,
    retry: veil_retry::Policy,
    http: reqwest::Client,
}

impl Guarded {
    fn new(
        channel: Channel,
        timeout: Duration,
        breaker: BreakerConfig,
        metrics: &Metrics,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            channel,
            breaker: CircuitBreaker::new(format!("notify:{channel}"), breaker)
                .with_metrics(metrics),
            retry: veil_retry::Policy::new(Duration::from_millis(100), Duration::from_secs(1), 2),
            http: reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("chitty-veil-relayer/", env!("CARGO_PKG_VERSION")))
                .build()?,
        })
    }

    async fn call<F, Fut>(&self, recipient: &str, mut request: F) -> Result<Sent, NotifyError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Outcome>,
    {
        let mut delays = self.retry.delays();
        loop {
            let permit = self
                .breaker
                .try_acquire()
                .map_err(|open| NotifyError::BreakerOpen {
                    channel: self.channel,
                    retry_after: open.retry_after,
                })?;
            let reason = match request().await {
                Outcome::Taken(sent) => {
                    permit.record_success();
                    return Ok(sent);
                }
                Outcome::Refused { status, message } => {
                    // The provider is up and answered: not a breaker failure.
                    permit.record_success();
                    return Err(NotifyError::Rejected {
                        channel: self.channel,
                        status,
                        message: scrub(&message, recipient),
                    });
                }
                Outcome::Transient(reason) => {
                    permit.record_failure();
                    scrub(&reason, recipient)
                }
            };
            match delays.next() {
                Some(delay) if self.breaker.state() == BreakerState::Closed => {
                    tracing::warn!(channel = %self.channel, to = %mask(recipient), %reason, "notification failed; retrying");
                    tokio::time::sleep(delay).await;
                }
                _ => {
                    let state = self.breaker.state();
                    return Err(NotifyError::Unavailable {
                        channel: self.channel,
                        reason,
                        breaker: state,
                        retry_after: if state == BreakerState::Closed {
                            Duration::from_secs(1)
                        } else {
                            self.breaker.config().open_for
                        },
                    });
                }
            }
        }
    }
}

/// Reads an answer into an [`Outcome`]: 2xx parsed by `taken`, 429 and 5xx transient, other
/// 4xx refused with the provider's message (the JSON `message` field when there is one).
async fn outcome(
    sent: Result<reqwest::Response, reqwest::Error>,
    taken: impl FnOnce(&[u8]) -> Option<String>,
) -> Outcome {
    let response = match sent {
        Ok(response) => response,
        Err(e) if e.is_timeout() => return Outcome::Transient("timed out".into()),
        Err(e) if e.is_connect() => return Outcome::Transient("could not connect".into()),
        Err(_) => return Outcome::Transient("request failed".into()),
    };
    let status = response.status();
    let body = match response.bytes().await {
        Ok(body) => body,
        Err(_) => return Outcome::Transient(format!("HTTP {status}: the answer broke off")),
    };
    if status.is_success() {
        return match taken(&body) {
            Some(provider_id) => Outcome::Taken(Sent { provider_id }),
            None => Outcome::Transient(format!("HTTP {status}: the answer has no message id")),
        };
    }
    #[derive(Deserialize)]
    struct ProviderError {
        #[serde(default)]
        message: String,
    }
    let message = serde_json::from_slice::<ProviderError>(&body)
        .map(|e| e.message)
        .unwrap_or_else(|_| String::from_utf8_lossy(&body[..body.len().min(256)]).into_owned());
    if status.as_u16() == 429 || status.is_server_error() {
        Outcome::Transient(format!("HTTP {}: {message}", status.as_u16()))
    } else {
        Outcome::Refused {
            status: status.as_u16(),
            message,
        }
    }
}

/// What differs between two HTTP notification APIs: the request, and where the answer keeps
/// the message's id. [`HttpNotifier`] adds the guards.
pub trait Provider: Send + Sync {
    /// The channel.
    const CHANNEL: Channel;

    /// The request that sends `message`, authenticated with `secret`.
    fn request(
        &self,
        http: &reqwest::Client,
        secret: &str,
        message: &Message,
    ) -> reqwest::RequestBuilder;

    /// The field of a 2xx answer's JSON body that holds the provider's id of the message.
    const ID_FIELD: &'static str;
}

/// A [`Notifier`] over one HTTP API, its secret from the secret provider.
pub struct HttpNotifier<P> {
    provider: P,
    secret: Secret,
    guarded: Guarded,
}

impl<P: Provider> HttpNotifier<P> {
    /// A notifier with its key or token.
    pub fn new(
        provider: P,
        secret: Secret,
        timeout: Duration,
        breaker: BreakerConfig,
        metrics: &Metrics,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            provider,
            secret,
            guarded: Guarded::new(P::CHANNEL, timeout, breaker, metrics)?,
        })
    }
}

impl<P: Provider> Notifier for HttpNotifier<P> {
    fn channel(&self) -> Channel {
        P::CHANNEL
    }

    fn send<'a>(&'a self, message: &'a Message) -> BoxFuture<'a, Result<Sent, NotifyError>> {
        Box::pin(async move {
            let secret = String::from_utf8_lossy(self.secret.expose())
                .trim()
                .to_owned();
            self.guarded
                .call(&message.to, || async {
                    let sent = self
                        .provider
                        .request(&self.guarded.http, &secret, message)
                        .send()
                        .await;
                    outcome(sent, |body| {
                        serde_json::from_slice::<serde_json::Value>(body)
                            .ok()?
                            .get(P::ID_FIELD)?
                            .as_str()
                            .map(str::to_owned)
                    })
                    .await
                })
                .await
        })
    }

    fn breaker_state(&self) -> BreakerState {
        self.guarded.breaker.state()
    }
}

/// Email through a Resend-compatible API.
pub type ResendNotifier = HttpNotifier<ResendConfig>;

/// SMS through a Twilio-compatible API.
pub type TwilioNotifier = HttpNotifier<TwilioConfig>;

/// Resend: `POST {base}/emails` with a bearer key, JSON `{from, to, subject, text}`, and the
/// message's `Idempotency-Key`; answers `{"id": …}`.
#[derive(Debug, Clone)]
pub struct ResendConfig {
    /// The API's base URL (`https://api.resend.com`).
    pub base_url: String,
    /// The sender (`Chitty Veil <alerts@example.com>`).
    pub from: String,
}

impl Provider for ResendConfig {
    const CHANNEL: Channel = Channel::Email;
    const ID_FIELD: &'static str = "id";

    fn request(
        &self,
        http: &reqwest::Client,
        secret: &str,
        message: &Message,
    ) -> reqwest::RequestBuilder {
        http.post(format!("{}/emails", self.base_url.trim_end_matches('/')))
            .bearer_auth(secret)
            .header("idempotency-key", &message.idempotency_key)
            .json(&serde_json::json!({
                "from": self.from,
                "to": [message.to],
                "subject": message.subject,
                "text": message.text,
            }))
    }
}

/// Twilio: `POST {base}/2010-04-01/Accounts/{sid}/Messages.json`, form-encoded `To`, `From`,
/// `Body`, basic auth with the account SID and auth token; answers the message resource, whose
/// `sid` is the id.
#[derive(Debug, Clone)]
pub struct TwilioConfig {
    /// The API's base URL (`https://api.twilio.com`).
    pub base_url: String,
    /// The account SID (`AC…`), also the basic-auth user.
    pub account_sid: String,
    /// The sending number (E.164) or messaging service.
    pub from: String,
}

impl Provider for TwilioConfig {
    const CHANNEL: Channel = Channel::Sms;
    const ID_FIELD: &'static str = "sid";

    fn request(
        &self,
        http: &reqwest::Client,
        secret: &str,
        message: &Message,
    ) -> reqwest::RequestBuilder {
        http.post(format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.base_url.trim_end_matches('/'),
            self.account_sid
        ))
        .basic_auth(&self.account_sid, Some(secret))
        .form(&[
            ("To", message.to.as_str()),
            ("From", self.from.as_str()),
            ("Body", message.text.as_str()),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipients_are_masked() {
        assert_eq!(mask("alice@example.com"), "a***@example.com");
        assert_eq!(mask("+15005550006"), "+*********06");
        assert_eq!(mask("12"), "***");
        assert_eq!(
            scrub("The 'To' number +15005550006 is not valid", "+15005550006"),
            "The 'To' number +*********06 is not valid"
        );
        let message = Message {
            to: "alice@example.com".into(),
            subject: "s".into(),
            text: "t".into(),
            idempotency_key: "k".into(),
        };
        assert!(!format!("{message:?}").contains("alice@"));
    }
}
