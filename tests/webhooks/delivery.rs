//! Delivery: signed deliveries the official library accepts (and refuses when altered,
//! signed with another secret or too old), retries on the schedule then `failed`, disabling
//! and replay, secret rotation, and at-least-once delivery through a killed worker.

use std::{collections::HashSet, time::Duration};

use axum::http::Method;
use serde_json::{json, Value};
use veil_relayer::{
    platform::outbox::{self, NewEvent},
    webhooks::signing,
};

use super::{deliver_until, endpoint, mint, webhook_key, Receiver};
use crate::relayer::support::{code, TestApp};

fn body_of(delivery: &Value) -> Value {
    serde_json::from_str(delivery["body"].as_str().unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mints_reach_the_keys_endpoint_signed_as_the_official_library_expects() {
    let receiver = Receiver::start()
        .await
        .expect("the webhook receiver starts");
    let t = TestApp::with(|c| c.webhook_allow_loopback = true).await;
    let key = webhook_key(&t).await;
    let (id, secret) = endpoint(&t, &key, &receiver.hook("a"), &["chittyid.minted"]).await;
    receiver.configure("a", &secret, 204).await.unwrap();

    let mut minted = HashSet::new();
    for _ in 0..3 {
        minted.insert(mint(&t, &key).await);
    }
    // Another key's mint is not this endpoint's business.
    super::mint(&t, &webhook_key(&t).await).await;
    deliver_until(&t, || async {
        receiver.received("a").await.unwrap().0.len() >= 3
    })
    .await;
    t.state.webhooks.round().await.unwrap();
    let (accepted, rejected) = receiver.received("a").await.unwrap();
    assert_eq!((accepted.len(), rejected.len()), (3, 0), "{rejected:?}");
    let subjects: HashSet<String> = accepted
        .iter()
        .map(|d| {
            let body = body_of(d);
            assert_eq!(body["type"], "chittyid.minted");
            assert_eq!(body["data"]["id"], body["subject"]);
            assert_eq!(body["data"]["namespace"], "CHI");
            assert!(d["id"].as_str().unwrap().starts_with("msg_"));
            body["subject"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(subjects, minted);

    // The same library refuses a delivery whose body was altered, one checked with another
    // secret, and one whose timestamp is more than 5 minutes old (signed correctly).
    let d = &accepted[0];
    let (mid, ts, sig, body) = (
        d["id"].as_str().unwrap(),
        d["timestamp"].as_str().unwrap(),
        d["signature"].as_str().unwrap(),
        d["body"].as_str().unwrap(),
    );
    assert_eq!(
        receiver.post_raw("a", mid, ts, sig, body).await.unwrap(),
        204,
        "the original verifies"
    );
    let altered = body.replacen("CHI", "CHX", 1);
    assert_eq!(
        receiver
            .post_raw("a", mid, ts, sig, &altered)
            .await
            .unwrap(),
        400
    );
    receiver
        .configure("other", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", 204)
        .await
        .unwrap();
    assert_eq!(
        receiver
            .post_raw("other", mid, ts, sig, body)
            .await
            .unwrap(),
        400
    );
    let key_bytes = signing::parse_secret(&secret).unwrap();
    let old = chrono::Utc::now().timestamp() - 6 * 60;
    let old_sig = signing::sign(&key_bytes, mid, old, body.as_bytes());
    assert_eq!(
        receiver
            .post_raw("a", mid, &old.to_string(), &old_sig, body)
            .await
            .unwrap(),
        400
    );
    let (_, rejected) = receiver.received("a").await.unwrap();
    assert!(
        rejected
            .iter()
            .any(|r| r["reason"].as_str().unwrap().contains("too old")),
        "{rejected:?}"
    );

    // The deliveries and their attempts, as the key sees them; the metrics.
    let (status, list) = t
        .get(&format!("/api/v2/webhooks/endpoints/{id}/deliveries"), &key)
        .await;
    assert_eq!(status.as_u16(), 200);
    let deliveries = list["deliveries"].as_array().unwrap();
    assert_eq!(deliveries.len(), 3);
    assert!(deliveries
        .iter()
        .all(|d| d["status"] == "succeeded" && d["attempts"] == 1));
    let (status, detail) = t
        .get(
            &format!(
                "/api/v2/webhooks/deliveries/{}",
                deliveries[0]["id"].as_str().unwrap()
            ),
            &key,
        )
        .await;
    assert_eq!(status.as_u16(), 200, "{detail}");
    assert_eq!(detail["attempts"][0]["status_code"], 204);
    assert!(detail["attempts"][0]["latency_ms"].as_i64().unwrap() >= 0);
    let other = webhook_key(&t).await;
    let (status, body) = t
        .get(
            &format!(
                "/api/v2/webhooks/deliveries/{}",
                deliveries[0]["id"].as_str().unwrap()
            ),
            &other,
        )
        .await;
    assert_eq!(
        (status.as_u16(), code(&body)),
        (404, "WEBHOOK_DELIVERY_NOT_FOUND")
    );
    let metrics = t.state.metrics.render();
    assert!(
        metrics.contains("webhook_deliveries_total{result=\"succeeded\"} 3"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_endpoint_is_retried_on_the_schedule_then_failed_disabled_and_replayed() {
    let receiver = Receiver::start()
        .await
        .expect("the webhook receiver starts");
    let t = TestApp::with(|c| {
        c.webhook_allow_loopback = true;
        // Attempts at 0, ~1 s and ~3 s; the third finds the streak past 2 s and disables.
        c.webhook_schedule_secs = vec![0, 1, 2];
        c.webhook_disable_after_secs = 2;
    })
    .await;
    let key = webhook_key(&t).await;
    let (id, secret) = endpoint(
        &t,
        &key,
        &receiver.hook("down"),
        &["chittyid.minted", "webhook.endpoint.disabled"],
    )
    .await;
    receiver.configure("down", &secret, 500).await.unwrap();
    mint(&t, &key).await;
    let pool = t.db.pool.clone();
    deliver_until(&t, || {
        let pool = pool.clone();
        async move {
            let status: String = sqlx::query_scalar("SELECT status FROM webhook_deliveries")
                .fetch_one(&pool)
                .await
                .unwrap();
            status == "failed"
        }
    })
    .await;
    // Three attempts, each answered 500 (the library verified it first), 1 s then 2 s apart
    // (±20 % jitter, plus the polling).
    let attempts: Vec<(Option<i32>, String, f64)> = sqlx::query_as(
        "SELECT status_code, response_body,
                extract(epoch FROM attempted_at - lag(attempted_at) OVER (ORDER BY id))::float8
         FROM webhook_attempts ORDER BY id",
    )
    .fetch_all(&t.db.pool)
    .await
    .map(|rows: Vec<(Option<i32>, String, Option<f64>)>| {
        rows.into_iter()
            .map(|(s, b, gap)| (s, b, gap.unwrap_or(0.0)))
            .collect()
    })
    .unwrap();
    assert_eq!(attempts.len(), 3, "{attempts:?}");
    assert!(attempts
        .iter()
        .all(|(s, b, _)| *s == Some(500) && b.contains("500")));
    assert!((0.75..2.0).contains(&attempts[1].2), "{attempts:?}");
    assert!((1.55..3.5).contains(&attempts[2].2), "{attempts:?}");
    // Failing for more than 2 s disabled it, and its key hears about that.
    let (_, endpoint_now) = t
        .get(&format!("/api/v2/webhooks/endpoints/{id}"), &key)
        .await;
    assert_eq!(endpoint_now["enabled"], json!(false), "{endpoint_now}");
    assert!(endpoint_now["disabled_reason"]
        .as_str()
        .unwrap()
        .contains("failed"));
    let disabled: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT subject, audience FROM outbox_events WHERE type = 'webhook.endpoint.disabled'",
    )
    .fetch_all(&t.db.pool)
    .await
    .unwrap();
    assert_eq!(disabled, vec![(id.clone(), Some(key.key_id.clone()))]);
    let metrics = t.state.metrics.render();
    assert!(
        metrics.contains("webhook_deliveries_total{result=\"retrying\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("webhook_deliveries_total{result=\"failed\"} 1"),
        "{metrics}"
    );

    // The receiver is fixed; the endpoint is enabled again and the delivery replayed.
    receiver.configure("down", &secret, 204).await.unwrap();
    let path = format!("/api/v2/webhooks/endpoints/{id}");
    let bytes = serde_json::to_vec(&json!({ "enabled": true })).unwrap();
    let (status, enabled) = t.send(t.signed(Method::PATCH, &path, &bytes, &key)).await;
    assert_eq!(status.as_u16(), 200);
    assert_eq!(
        (&enabled["enabled"], &enabled["failing_since"]),
        (&json!(true), &Value::Null)
    );
    let delivery: String = sqlx::query_scalar("SELECT id::text FROM webhook_deliveries")
        .fetch_one(&t.db.pool)
        .await
        .unwrap();
    let (status, _) = t
        .post(
            &format!("/api/v2/webhooks/deliveries/{delivery}/replay"),
            &json!({}),
            &key,
        )
        .await;
    assert_eq!(status.as_u16(), 202);
    deliver_until(&t, || async {
        receiver.received("down").await.unwrap().0.len() >= 4
    })
    .await;
    let (status, detail) = t
        .get(&format!("/api/v2/webhooks/deliveries/{delivery}"), &key)
        .await;
    assert_eq!(status.as_u16(), 200);
    assert_eq!(
        (
            &detail["status"],
            &detail["attempts"].as_array().unwrap().len()
        ),
        (&json!("succeeded"), &4)
    );

    // Replaying everything since before the mint sends both of the endpoint's events again:
    // the mint and the notice that the endpoint was disabled.
    let since = (chrono::Utc::now() - chrono::Duration::minutes(5)).to_rfc3339();
    let (status, replayed) = t
        .post(&format!("{path}/replay"), &json!({ "since": since }), &key)
        .await;
    assert_eq!(status.as_u16(), 202, "{replayed}");
    assert_eq!(replayed["replayed"], 2, "{replayed}");
    deliver_until(&t, || async {
        receiver.received("down").await.unwrap().0.len() >= 6
    })
    .await;
    let (accepted, _) = receiver.received("down").await.unwrap();
    let types: HashSet<String> = accepted[4..]
        .iter()
        .map(|d| body_of(d)["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        types,
        HashSet::from([
            "chittyid.minted".to_owned(),
            "webhook.endpoint.disabled".to_owned()
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_secret_signs_beside_the_old_one_for_the_overlap_then_alone() {
    let receiver = Receiver::start()
        .await
        .expect("the webhook receiver starts");
    let t = TestApp::with(|c| c.webhook_allow_loopback = true).await;
    let key = webhook_key(&t).await;
    let (id, old) = endpoint(&t, &key, &receiver.hook("old"), &["chittyid.minted"]).await;
    receiver.configure("old", &old, 204).await.unwrap();
    let (status, rotated) = t
        .post(
            &format!("/api/v2/webhooks/endpoints/{id}/rotate"),
            &json!({}),
            &key,
        )
        .await;
    assert_eq!(status.as_u16(), 200, "{rotated}");
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert!(rotated["previous_secret_valid_until"].is_string());
    receiver.configure("new", &new, 204).await.unwrap();

    // During the overlap both sign: the old-secret receiver accepts, and the same request
    // verifies with the new secret too.
    mint(&t, &key).await;
    deliver_until(&t, || async {
        receiver.received("old").await.unwrap().0.len() == 1
    })
    .await;
    let (accepted, _) = receiver.received("old").await.unwrap();
    let d = &accepted[0];
    let signature = d["signature"].as_str().unwrap();
    assert_eq!(signature.split(' ').count(), 2, "{signature}");
    let forward = |name: &'static str, d: Value| {
        let receiver = &receiver;
        async move {
            receiver
                .post_raw(
                    name,
                    d["id"].as_str().unwrap(),
                    d["timestamp"].as_str().unwrap(),
                    d["signature"].as_str().unwrap(),
                    d["body"].as_str().unwrap(),
                )
                .await
                .unwrap()
        }
    };
    assert_eq!(forward("new", d.clone()).await, 204);

    // After the overlap only the new secret signs: the old-secret receiver refuses.
    sqlx::query("UPDATE webhook_endpoints SET previous_until = now() - interval '1 second'")
        .execute(&t.db.pool)
        .await
        .unwrap();
    mint(&t, &key).await;
    deliver_until(&t, || async {
        !receiver.received("old").await.unwrap().1.is_empty()
    })
    .await;
    let (_, rejected) = receiver.received("old").await.unwrap();
    let r = &rejected[0];
    assert_eq!(r["signature"].as_str().unwrap().split(' ').count(), 1);
    assert_eq!(
        forward("new", r.clone()).await,
        204,
        "it is the new secret's signature"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_loses_nothing_of_a_burst_of_1000_events() {
    let receiver = Receiver::start()
        .await
        .expect("the webhook receiver starts");
    let t = TestApp::with(|c| {
        c.webhook_allow_loopback = true;
        c.webhook_timeout_ms = 1_000;
        c.webhook_concurrency = 16;
    })
    .await;
    let key = webhook_key(&t).await;
    let (_, secret) = endpoint(&t, &key, &receiver.hook("burst"), &["chittyid.minted"]).await;
    receiver.configure("burst", &secret, 204).await.unwrap();
    let events: Vec<NewEvent> = (0..1000)
        .map(|i| NewEvent {
            event_type: "chittyid.minted",
            audience: Some(key.key_id.clone()),
            subject: format!("burst-{i}"),
            data: json!({ "i": i }),
            chain: None,
        })
        .collect();
    let mut conn = t.db.pool.acquire().await.unwrap();
    assert_eq!(
        outbox::record_admitted(&mut conn, events.iter())
            .await
            .unwrap(),
        1000
    );
    drop(conn);

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(t.state.webhooks.clone().run(stop_rx.clone()));
    // Kill it mid-burst: some deliveries are in flight, leased to a worker that is gone.
    let started = std::time::Instant::now();
    while receiver.received("burst").await.unwrap().0.len() < 150 {
        assert!(started.elapsed() < Duration::from_secs(60));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    worker.abort();
    let _ = worker.await;
    let at_kill = receiver.received("burst").await.unwrap().0.len();
    assert!(
        at_kill < 1000,
        "the burst was over before the kill ({at_kill})"
    );
    let second = tokio::spawn(t.state.webhooks.clone().run(stop_rx));
    let started = std::time::Instant::now();
    loop {
        let pending: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM webhook_deliveries WHERE status <> 'succeeded'",
        )
        .fetch_one(&t.db.pool)
        .await
        .unwrap();
        if pending == 0 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{pending} still pending"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = stop_tx.send(true);
    let _ = second.await;
    let (accepted, rejected) = receiver.received("burst").await.unwrap();
    assert!(rejected.is_empty());
    let subjects: HashSet<String> = accepted
        .iter()
        .map(|d| body_of(d)["subject"].as_str().unwrap().to_owned())
        .collect();
    let emitted: HashSet<String> = (0..1000).map(|i| format!("burst-{i}")).collect();
    assert_eq!(subjects, emitted, "every event arrived, and nothing else");
    assert!(accepted.len() >= 1000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chain_event_and_its_undo_reach_every_subscriber_of_its_type_with_the_transaction() {
    let receiver = Receiver::start()
        .await
        .expect("the webhook receiver starts");
    let t = TestApp::with(|c| c.webhook_allow_loopback = true).await;
    let (a, b) = (webhook_key(&t).await, webhook_key(&t).await);
    let (_, secret_a) = endpoint(&t, &a, &receiver.hook("a"), &["challenge.accepted"]).await;
    let (_, secret_b) = endpoint(&t, &b, &receiver.hook("b"), &["challenge.accepted"]).await;
    let (_, secret_c) = endpoint(&t, &b, &receiver.hook("c"), &["challenge.created"]).await;
    for (name, secret) in [("a", &secret_a), ("b", &secret_b), ("c", &secret_c)] {
        receiver.configure(name, secret, 204).await.unwrap();
    }
    // As the indexer records them: a broadcast with the transaction, then its undo.
    let events: Vec<NewEvent> = ["challenge.accepted", "challenge.accepted.undone"]
        .into_iter()
        .map(|kind| NewEvent {
            event_type: kind,
            audience: None,
            subject: "Chall3nge".into(),
            data: json!({ "challenge": "Chall3nge", "to": "Accepted" }),
            chain: Some(("5igNaTure".into(), 77)),
        })
        .collect();
    let mut conn = t.db.pool.acquire().await.unwrap();
    outbox::record_admitted(&mut conn, events.iter())
        .await
        .unwrap();
    drop(conn);
    deliver_until(&t, || async {
        receiver.received("a").await.unwrap().0.len() == 2
            && receiver.received("b").await.unwrap().0.len() == 2
    })
    .await;
    for name in ["a", "b"] {
        let (accepted, _) = receiver.received(name).await.unwrap();
        let kinds: Vec<String> = accepted
            .iter()
            .map(|d| {
                let body = body_of(d);
                assert_eq!(
                    body["chain"],
                    json!({ "signature": "5igNaTure", "slot": 77 })
                );
                body["type"].as_str().unwrap().to_owned()
            })
            .collect();
        assert_eq!(kinds.len(), 2);
        assert!(
            kinds.contains(&"challenge.accepted.undone".to_owned()),
            "{kinds:?}"
        );
    }
    assert!(
        receiver.received("c").await.unwrap().0.is_empty(),
        "another type's subscriber"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_event_wakes_an_idle_worker_without_waiting_for_its_poll() {
    let receiver = Receiver::start()
        .await
        .expect("the webhook receiver starts");
    // A ten-minute poll: only the outbox's NOTIFY can make this delivery prompt.
    let t = TestApp::with(|c| {
        c.webhook_allow_loopback = true;
        c.webhook_poll_ms = 600_000;
    })
    .await;
    let key = webhook_key(&t).await;
    let (_, secret) = endpoint(&t, &key, &receiver.hook("wake"), &["chittyid.minted"]).await;
    receiver.configure("wake", &secret, 204).await.unwrap();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(t.state.webhooks.clone().run(stop_rx));
    // The worker goes idle, listening on the outbox's channel.
    let started = std::time::Instant::now();
    loop {
        let listening: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND query = 'LISTEN \"veil_outbox\"'",
        )
        .fetch_one(&t.db.pool)
        .await
        .unwrap();
        if listening == 1 {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "never listened"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let id = mint(&t, &key).await;
    let minted = std::time::Instant::now();
    while receiver.received("wake").await.unwrap().0.is_empty() {
        assert!(
            minted.elapsed() < Duration::from_secs(20),
            "the idle worker was not woken"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let (accepted, _) = receiver.received("wake").await.unwrap();
    assert_eq!(body_of(&accepted[0])["subject"], json!(id));
    let _ = stop_tx.send(true);
    let _ = worker.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settled_events_past_the_retention_are_pruned_and_nothing_pending_is() {
    let receiver = Receiver::start()
        .await
        .expect("the webhook receiver starts");
    let t = TestApp::with(|c| {
        c.webhook_allow_loopback = true;
        c.webhook_schedule_secs = vec![0, 3600];
        c.webhook_retention_days = 30;
    })
    .await;
    let key = webhook_key(&t).await;
    let (_, secret) = endpoint(&t, &key, &receiver.hook("p"), &["chittyid.minted"]).await;
    receiver.configure("p", &secret, 204).await.unwrap();
    let record = |subject: &'static str| {
        let pool = t.db.pool.clone();
        let key_id = key.key_id.clone();
        async move {
            let mut conn = pool.acquire().await.unwrap();
            let event = NewEvent {
                event_type: "chittyid.minted",
                audience: Some(key_id),
                subject: subject.to_owned(),
                data: json!({}),
                chain: None,
            };
            outbox::record_admitted(&mut conn, std::iter::once(&event))
                .await
                .unwrap();
        }
    };
    let succeeded = |n: i64| {
        let pool = t.db.pool.clone();
        move || {
            let pool = pool.clone();
            async move {
                let done: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'",
                )
                .fetch_one(&pool)
                .await
                .unwrap();
                done == n
            }
        }
    };
    record("old-delivered").await;
    record("recent").await;
    deliver_until(&t, succeeded(2)).await;
    // A third whose delivery fails and waits an hour for its retry: still pending.
    receiver.configure("p", &secret, 500).await.unwrap();
    record("old-pending").await;
    deliver_until(&t, || async {
        let attempts: i64 = sqlx::query_scalar("SELECT count(*) FROM webhook_attempts")
            .fetch_one(&t.db.pool)
            .await
            .unwrap();
        attempts == 3
    })
    .await;
    sqlx::query(
        "UPDATE outbox_events SET created_at = now() - interval '31 days'
         WHERE subject IN ('old-delivered', 'old-pending')",
    )
    .execute(&t.db.pool)
    .await
    .unwrap();
    for (status, age) in [("sent", 31), ("pending", 31), ("sent", 1)] {
        sqlx::query(
            "INSERT INTO notifications (id, channel, recipient, subject, body, cause, api_key_id,
                                        status, created_at)
             VALUES (gen_random_uuid(), 'email', 'ops@example.com', 's', 'b', $1, 'k', $2,
                     now() - $3 * interval '1 day')",
        )
        .bind(format!("{status}-{age}"))
        .bind(status)
        .bind(age)
        .execute(&t.db.pool)
        .await
        .unwrap();
    }

    assert_eq!(t.state.webhooks.prune().await.unwrap(), 1);
    let events: Vec<String> = sqlx::query_scalar("SELECT subject FROM outbox_events ORDER BY seq")
        .fetch_all(&t.db.pool)
        .await
        .unwrap();
    assert_eq!(events, ["recent", "old-pending"]);
    let (deliveries, attempts): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM webhook_deliveries), (SELECT count(*) FROM webhook_attempts)",
    )
    .fetch_one(&t.db.pool)
    .await
    .unwrap();
    assert_eq!((deliveries, attempts), (2, 2));
    let causes: Vec<String> = sqlx::query_scalar("SELECT cause FROM notifications ORDER BY cause")
        .fetch_all(&t.db.pool)
        .await
        .unwrap();
    assert_eq!(causes, ["pending-31", "sent-1"]);
    // Nothing more to prune.
    assert_eq!(t.state.webhooks.prune().await.unwrap(), 0);
}
