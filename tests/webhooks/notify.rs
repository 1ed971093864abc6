//! Email and SMS: an endpoint's contacts hear when it is disabled, through the Resend- and
//! Twilio-compatible notifiers, against a local server that speaks both APIs
//! ([`super::providers`]); an outage opens a notifier's breaker, the notification waits, and
//! it goes once the provider is back.

use std::time::Duration;

use axum::http::Method;
use serde_json::json;
use veil_relayer::platform::{
    breaker::{BreakerConfig, BreakerState},
    metrics::Metrics,
    notify::{
        Message, Notifier, NotifyError, ResendConfig, ResendNotifier, TwilioConfig, TwilioNotifier,
    },
    secrets::Secret,
};

use super::{
    deliver_until, mint,
    providers::{Providers, ACCOUNT_SID, INVALID_TO},
    webhook_key,
};
use crate::relayer::support::{code, TestApp, NOTIFY_EMAIL_KEY, NOTIFY_SMS_TOKEN};

const SENDER: &str = "Chitty Veil <alerts@veil.test>";
const SMS_FROM: &str = "+15005550006";

/// A port on which nothing listens: every delivery to it fails at once.
fn dead_url() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("http://127.0.0.1:{port}/hook")
}

/// A relayer whose endpoints are disabled at their first failed delivery, with both notifiers
/// pointed at `providers`.
async fn app(providers: &Providers, schedule: Vec<u64>) -> TestApp {
    let base = providers.base.clone();
    TestApp::with(move |c| {
        c.webhook_allow_loopback = true;
        c.webhook_schedule_secs = schedule;
        c.webhook_disable_after_secs = 0;
        c.notify_email_url = Some(base.clone());
        c.notify_email_from = Some(SENDER.into());
        c.notify_sms_url = Some(base);
        c.notify_sms_account = Some(ACCOUNT_SID.into());
        c.notify_sms_from = Some(SMS_FROM.into());
        c.breaker_failures = 2;
        c.breaker_open_secs = 1;
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_endpoint_emails_and_texts_its_contacts_once() {
    let providers = Providers::start(NOTIFY_EMAIL_KEY, NOTIFY_SMS_TOKEN).await;
    let t = app(&providers, vec![0]).await;
    let key = webhook_key(&t).await;
    let url = dead_url();

    // Contacts are checked like the URL.
    for (field, value, expected) in [
        ("notify_email", "ops@example", "WEBHOOK_CONTACT_INVALID"),
        (
            "notify_email",
            "a@b.com, c@d.com",
            "WEBHOOK_CONTACT_INVALID",
        ),
        ("notify_sms", "5005550006", "WEBHOOK_CONTACT_INVALID"),
    ] {
        let mut body = json!({ "url": url, "event_types": ["chittyid.minted"] });
        body[field] = json!(value);
        let (status, answer) = t.post("/api/v2/webhooks/endpoints", &body, &key).await;
        assert_eq!(
            (status.as_u16(), code(&answer)),
            (400, expected),
            "{answer}"
        );
        assert_eq!(answer["error"]["details"]["field"], json!(field));
    }

    let body = json!({
        "url": url, "event_types": ["chittyid.minted"],
        "notify_email": " ops@example.com ", "notify_sms": "+15005550009",
    });
    let (status, created) = t.post("/api/v2/webhooks/endpoints", &body, &key).await;
    assert_eq!(status.as_u16(), 201, "{created}");
    assert_eq!(created["notify_email"], json!("ops@example.com"));
    assert_eq!(created["notify_sms"], json!("+15005550009"));
    let id = created["id"].as_str().unwrap().to_owned();

    mint(&t, &key).await;
    let pool = t.db.pool.clone();
    deliver_until(&t, || {
        let pool = pool.clone();
        async move {
            let (sent, all): (i64, i64) = sqlx::query_as(
                "SELECT count(*) FILTER (WHERE status = 'sent'), count(*) FROM notifications",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            sent == 2 && all == 2
        }
    })
    .await;
    let (_, now) = t
        .get(&format!("/api/v2/webhooks/endpoints/{id}"), &key)
        .await;
    assert_eq!(now["enabled"], json!(false), "{now}");

    // The email: the right key, sender, recipient and text; its idempotency key is the row's id.
    let emails = providers.emails();
    assert_eq!(emails.len(), 1, "{emails:?}");
    let email = &emails[0];
    assert_eq!(email.body["from"], json!(SENDER));
    assert_eq!(email.body["to"], json!(["ops@example.com"]));
    assert_eq!(
        email.body["subject"],
        json!("Chitty Veil: a webhook endpoint was disabled")
    );
    let text = email.body["text"].as_str().unwrap();
    assert!(text.contains(&url) && text.contains(&id), "{text}");
    assert!(
        text.contains(&format!("PATCH /api/v2/webhooks/endpoints/{id}")),
        "{text}"
    );
    // The SMS: form fields as Twilio takes them.
    let sms = providers.sms();
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert_eq!(sms[0].form["To"], "+15005550009");
    assert_eq!(sms[0].form["From"], SMS_FROM);
    assert!(sms[0].form["Body"].contains(&id));

    // The rows name the provider's ids; one attempt each.
    let rows: Vec<(String, String, String, i32, Option<String>)> = sqlx::query_as(
        "SELECT channel, recipient, id::text, attempts, provider_id FROM notifications
         ORDER BY channel",
    )
    .fetch_all(&t.db.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0].0.as_str(), rows[0].1.as_str(), rows[0].3),
        ("email", "ops@example.com", 1)
    );
    assert_eq!(email.idempotency_key.as_deref(), Some(rows[0].2.as_str()));
    assert_eq!(rows[0].4.as_deref(), Some(email.id.as_str()));
    assert_eq!(
        (rows[1].0.as_str(), rows[1].1.as_str(), rows[1].3),
        ("sms", "+15005550009", 1)
    );
    assert_eq!(rows[1].4.as_deref(), Some(sms[0].sid.as_str()));
    let metrics = t.state.metrics.render();
    for line in [
        "notifications_total{channel=\"email\",result=\"sent\"} 1",
        "notifications_total{channel=\"sms\",result=\"sent\"} 1",
    ] {
        assert!(metrics.contains(line), "{line}\n{metrics}");
    }

    // More rounds send nothing again.
    for _ in 0..3 {
        t.state.webhooks.round().await.unwrap();
    }
    assert_eq!((providers.emails().len(), providers.sms().len()), (1, 1));

    // A PATCH can remove a contact with "".
    let bytes = serde_json::to_vec(&json!({ "notify_sms": "" })).unwrap();
    let path = format!("/api/v2/webhooks/endpoints/{id}");
    let (status, patched) = t.send(t.signed(Method::PATCH, &path, &bytes, &key)).await;
    assert_eq!(status.as_u16(), 200, "{patched}");
    assert_eq!(patched["notify_sms"], json!(null));
    assert_eq!(patched["notify_email"], json!("ops@example.com"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_on_a_channel_the_relayer_cannot_send_on_is_refused() {
    // No notifier configured (the default).
    let t = TestApp::with(|c| c.webhook_allow_loopback = true).await;
    let key = webhook_key(&t).await;
    let body = json!({
        "url": dead_url(), "event_types": ["chittyid.minted"], "notify_sms": "+15005550009",
    });
    let (status, answer) = t.post("/api/v2/webhooks/endpoints", &body, &key).await;
    assert_eq!(
        (status.as_u16(), code(&answer)),
        (422, "WEBHOOK_NOTIFIER_NOT_CONFIGURED"),
        "{answer}"
    );
    assert_eq!(answer["error"]["details"]["channel"], json!("sms"));
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_endpoints")
        .fetch_one(&t.db.pool)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

fn message(to: &str) -> Message {
    Message {
        to: to.into(),
        subject: "subject".into(),
        text: "text".into(),
        idempotency_key: crate::relayer::support::fresh_nonce(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_opens_the_breaker_without_touching_the_provider_and_a_probe_closes_it() {
    let providers = Providers::start(NOTIFY_EMAIL_KEY, NOTIFY_SMS_TOKEN).await;
    let breaker = BreakerConfig {
        failure_threshold: 2,
        open_for: Duration::from_millis(500),
    };
    let email = ResendNotifier::new(
        ResendConfig {
            base_url: providers.base.clone(),
            from: SENDER.into(),
        },
        Secret::new(NOTIFY_EMAIL_KEY.as_bytes().to_vec()),
        Duration::from_secs(5),
        breaker,
        &Metrics::default(),
    )
    .unwrap();
    providers.set_down(true);
    // Two 503s (the first try and one retry) open the breaker; the retries stop there.
    match email.send(&message("ops@example.com")).await {
        Err(NotifyError::Unavailable {
            reason, breaker, ..
        }) => {
            assert_eq!(breaker, BreakerState::Open);
            assert!(reason.contains("503"), "{reason}");
        }
        other => panic!("expected Unavailable, got {other:?}"),
    }
    assert_eq!(providers.hits(), 2);
    // While open, calls are refused without reaching the provider.
    for _ in 0..5 {
        assert!(matches!(
            email.send(&message("ops@example.com")).await,
            Err(NotifyError::BreakerOpen { .. })
        ));
    }
    assert_eq!(providers.hits(), 2);
    assert_eq!(email.breaker_state(), BreakerState::Open);
    // The provider comes back; after the open time one probe goes and closes the breaker.
    providers.set_down(false);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let sent = email.send(&message("ops@example.com")).await.unwrap();
    assert_eq!(email.breaker_state(), BreakerState::Closed);
    assert_eq!(providers.emails()[0].id, sent.provider_id);
    assert_eq!(providers.hits(), 3);

    // A wrong key and an invalid number are refusals: no retry, no breaker failure, and the
    // number is masked in the error.
    let wrong = ResendNotifier::new(
        ResendConfig {
            base_url: providers.base.clone(),
            from: SENDER.into(),
        },
        Secret::new(b"re_wrong".to_vec()),
        Duration::from_secs(5),
        breaker,
        &Metrics::default(),
    )
    .unwrap();
    assert_eq!(
        wrong.send(&message("ops@example.com")).await,
        Err(NotifyError::Rejected {
            channel: veil_relayer::platform::notify::Channel::Email,
            status: 403,
            message: "API key is invalid".into(),
        })
    );
    let sms = TwilioNotifier::new(
        TwilioConfig {
            base_url: providers.base.clone(),
            account_sid: ACCOUNT_SID.into(),
            from: SMS_FROM.into(),
        },
        Secret::new(NOTIFY_SMS_TOKEN.as_bytes().to_vec()),
        Duration::from_secs(5),
        breaker,
        &Metrics::default(),
    )
    .unwrap();
    let before = providers.hits();
    match sms.send(&message(INVALID_TO)).await {
        Err(NotifyError::Rejected {
            status, message, ..
        }) => {
            assert_eq!(status, 400);
            assert_eq!(
                message,
                "The 'To' number +*********01 is not a valid phone number."
            );
        }
        other => panic!("expected Rejected, got {other:?}"),
    }
    assert_eq!(providers.hits(), before + 1);
    assert_eq!(sms.breaker_state(), BreakerState::Closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_waits_out_an_outage_and_is_sent_once_the_provider_is_back() {
    let providers = Providers::start(NOTIFY_EMAIL_KEY, NOTIFY_SMS_TOKEN).await;
    // Notifications retry on the webhook schedule: after 1 s, four times.
    let t = app(&providers, vec![0, 1, 1, 1, 1]).await;
    let key = webhook_key(&t).await;
    let body = json!({
        "url": dead_url(), "event_types": ["chittyid.minted"],
        "notify_email": "ops@example.com",
    });
    let (status, created) = t.post("/api/v2/webhooks/endpoints", &body, &key).await;
    assert_eq!(status.as_u16(), 201, "{created}");
    providers.set_down(true);
    mint(&t, &key).await;
    let pool = t.db.pool.clone();
    // The endpoint is disabled at its first failure; the email fails and opens the breaker.
    let email = t.state.webhooks.notifiers().email.clone().unwrap();
    deliver_until(&t, || {
        let pool = pool.clone();
        let email = email.clone();
        async move {
            let attempts: Option<i32> = sqlx::query_scalar("SELECT attempts FROM notifications")
                .fetch_optional(&pool)
                .await
                .unwrap();
            attempts.is_some_and(|a| a >= 1) && email.breaker_state() == BreakerState::Open
        }
    })
    .await;
    let (status, error): (String, Option<String>) =
        sqlx::query_as("SELECT status, last_error FROM notifications")
            .fetch_one(&t.db.pool)
            .await
            .unwrap();
    assert_eq!(status, "pending");
    let error = error.unwrap();
    assert!(error.contains("503"), "{error}");
    assert!(!error.contains("ops@example.com"), "{error}");
    assert!(providers.emails().is_empty());

    providers.set_down(false);
    deliver_until(&t, || {
        let pool = pool.clone();
        async move {
            let status: String = sqlx::query_scalar("SELECT status FROM notifications")
                .fetch_one(&pool)
                .await
                .unwrap();
            status == "sent"
        }
    })
    .await;
    assert_eq!(email.breaker_state(), BreakerState::Closed);
    assert_eq!(providers.emails().len(), 1);
    let (attempts, provider_id): (i32, Option<String>) =
        sqlx::query_as("SELECT attempts, provider_id FROM notifications")
            .fetch_one(&t.db.pool)
            .await
            .unwrap();
    assert!((2..=5).contains(&attempts), "{attempts}");
    assert_eq!(
        provider_id.as_deref(),
        Some(providers.emails()[0].id.as_str())
    );
    let metrics = t.state.metrics.render();
    assert!(
        metrics.contains("notifications_total{channel=\"email\",result=\"sent\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("notifications_total{channel=\"email\",result=\"retrying\"}"),
        "{metrics}"
    );
}
