//! Webhook delivery from the outbox to a real receiver (docs/perf.md): the relayer's delivery
//! workers, PostgreSQL, and the stack's Standard Webhooks receiver (node, npm's
//! `standardwebhooks`, which verifies every signature) on this machine.
//!
//! - **Burst:** `--burst` events are written to the outbox in one transaction, the way a
//!   domain writes them. The figure is deliveries per second from that commit until the
//!   receiver has accepted every one.
//! - **Paced:** `--paced` events, one transaction each, `--rate` per second. The figures are
//!   the p50 and p99 from outbox to delivery: each event's `created_at` to its delivery's
//!   `completed_at`, both on PostgreSQL's clock. A worker that finds nothing sleeps
//!   `--poll-ms` (`RELAYER_WEBHOOK_POLL_MS`, 250 ms by default), and that sleep is most of the
//!   figure.
//! - **Yardstick, in the same run:** the receiver alone, with the same number of signed
//!   deliveries posted straight to it at the workers' concurrency. The ratio column is the
//!   relayer's rate over that rate.
//!
//! ```sh
//! cargo run --release -p veil-stack --bin webhook-bench -- --burst 5000 --paced 500 --rate 50
//! ```
//!
//! Needs PostgreSQL (`--pg`; a database `veil_webhook_bench` is recreated), Redis
//! (`--redis`), and Node.js with npm for the receiver (`scripts/webhook-receiver.sh`).

use std::time::{Duration, Instant};

use clap::Parser;
use futures::StreamExt;
use serde_json::json;
use solana_keypair::Keypair;
use veil_relayer::{
    platform::{
        config::Config,
        outbox::{self, NewEvent},
    },
    webhooks::signing,
};
use veil_stack::{
    bench::{ok, Services},
    receiver::Receiver,
    services,
};

#[derive(Debug, Parser)]
struct Args {
    /// Events in the burst.
    #[arg(long, default_value_t = 5_000)]
    burst: usize,
    /// Events in the paced run.
    #[arg(long, default_value_t = 500)]
    paced: usize,
    /// Events per second in the paced run.
    #[arg(long, default_value_t = 50)]
    rate: u32,
    /// `RELAYER_WEBHOOK_POLL_MS`.
    #[arg(long, default_value_t = 250)]
    poll_ms: u64,
    /// `RELAYER_WEBHOOK_CONCURRENCY`.
    #[arg(long, default_value_t = 16)]
    concurrency: u32,
    #[command(flatten)]
    services: Services,
}

fn event(key_id: &str, n: usize) -> NewEvent {
    NewEvent {
        event_type: veil_relayer::webhooks::CHITTYID_MINTED,
        audience: Some(key_id.to_owned()),
        subject: format!("bench-{n}"),
        data: json!({ "id": format!("bench-{n}"), "namespace": "CHI", "entity_type": "P" }),
        chain: None,
    }
}

/// Waits until `expected` deliveries have succeeded; prints progress.
async fn delivered(pool: &sqlx::PgPool, expected: i64, label: &str) {
    let started = Instant::now();
    let mut shown = -1;
    loop {
        let done: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'",
        )
        .fetch_one(pool)
        .await
        .expect("count deliveries");
        if done != shown {
            eprint!("\r{label}: {done}/{expected} delivered");
            shown = done;
        }
        if done >= expected {
            eprintln!();
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(600),
            "{label}: only {done} of {expected} delivered in 10 min"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = Args::parse();
    let receiver = Receiver::start()
        .await
        .expect("the webhook receiver starts");
    let database_url = services::fresh_database(&args.services.pg, "veil_webhook_bench")
        .await
        .expect("PostgreSQL");
    let mut config = Config::defaults().with_all_flags_on();
    config.db.database_url = database_url.clone();
    config.redis_url = args.services.redis.clone();
    config.webhook_allow_loopback = true;
    config.webhook_poll_ms = args.poll_ms;
    config.webhook_concurrency = args.concurrency;
    let relayer = veil_stack::bench::start_relayer(config, &Keypair::new()).await;
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(4)
        .connect(&database_url)
        .await
        .expect("PostgreSQL");
    let endpoint = ok(
        &relayer.client,
        "/api/v2/webhooks/endpoints",
        &json!({ "url": receiver.hook("bench"), "event_types": ["chittyid.minted"] }),
    )
    .await;
    receiver
        .configure("bench", endpoint["secret"].as_str().expect("a secret"), 204)
        .await
        .expect("configure the receiver");

    // Burst.
    let events: Vec<NewEvent> = (0..args.burst).map(|n| event(&relayer.key_id, n)).collect();
    let mut tx = pool.begin().await.expect("a transaction");
    outbox::record_admitted(&mut tx, events.iter())
        .await
        .expect("the outbox takes the burst");
    tx.commit().await.expect("commit");
    let started = Instant::now();
    delivered(&pool, args.burst as i64, "burst").await;
    let burst_secs = started.elapsed().as_secs_f64();
    let (accepted, rejected) = receiver.received("bench").await.expect("the receiver");
    assert!(rejected.is_empty(), "the receiver rejected {rejected:?}");
    assert!(accepted.len() >= args.burst, "{} accepted", accepted.len());

    // Paced.
    let already = args.burst as i64;
    let last_burst: i64 = sqlx::query_scalar("SELECT max(seq) FROM outbox_events")
        .fetch_one(&pool)
        .await
        .expect("the burst's last event");
    let gap = Duration::from_secs_f64(1.0 / f64::from(args.rate.max(1)));
    let mut tick = tokio::time::interval(gap);
    for n in 0..args.paced {
        tick.tick().await;
        let mut conn = pool.acquire().await.expect("a connection");
        outbox::record_admitted(&mut conn, std::iter::once(&event(&relayer.key_id, n)))
            .await
            .expect("the outbox takes an event");
    }
    delivered(&pool, already + args.paced as i64, "paced").await;
    let (p50, p99, max): (f64, f64, f64) = sqlx::query_as(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY ms),
                percentile_cont(0.99) WITHIN GROUP (ORDER BY ms), max(ms)
         FROM (SELECT (extract(epoch FROM d.completed_at - e.created_at) * 1000)::float8 AS ms
               FROM webhook_deliveries d JOIN outbox_events e ON e.seq = d.event_seq
               WHERE e.seq > $1) AS t",
    )
    .bind(last_burst)
    .fetch_one(&pool)
    .await
    .expect("latencies");

    // The yardstick: the receiver alone, the same number of signed deliveries at the same
    // concurrency.
    let key: [u8; 32] = rand::random();
    receiver
        .configure("ref", &signing::secret_text(&key), 204)
        .await
        .expect("configure the receiver");
    let http = reqwest::Client::new();
    let url = receiver.hook("ref");
    let started = Instant::now();
    let statuses: Vec<u16> = futures::stream::iter(0..args.burst)
        .map(|n| {
            let (http, url) = (http.clone(), url.clone());
            async move {
                let body = serde_json::to_vec(&json!({
                    "type": "chittyid.minted", "timestamp": "2026-12-05T00:00:00.000Z",
                    "subject": format!("bench-{n}"), "data": { "id": format!("bench-{n}") },
                }))
                .expect("json");
                let id = outbox::message_id();
                let timestamp = chrono::Utc::now().timestamp();
                http.post(&url)
                    .header("content-type", "application/json")
                    .header("webhook-id", &id)
                    .header("webhook-timestamp", timestamp.to_string())
                    .header(
                        "webhook-signature",
                        signing::signature_header(&[key], &id, timestamp, &body),
                    )
                    .body(body)
                    .send()
                    .await
                    .map(|r| r.status().as_u16())
                    .unwrap_or(0)
            }
        })
        .buffer_unordered(args.concurrency as usize)
        .collect()
        .await;
    let reference_secs = started.elapsed().as_secs_f64();
    assert!(
        statuses.iter().all(|s| *s == 204),
        "the receiver refused some"
    );

    let rate = args.burst as f64 / burst_secs;
    let reference = args.burst as f64 / reference_secs;
    println!(
        "webhook delivery, outbox to the standardwebhooks receiver (node), concurrency {}, PostgreSQL on this machine:",
        args.concurrency
    );
    println!(
        "  burst of {:>6}:        {:>8.0} deliveries/s  ({burst_secs:.2} s)   relayer / receiver alone {:.2}",
        args.burst,
        rate,
        rate / reference
    );
    println!(
        "  ref: receiver alone:    {reference:>8.0} deliveries/s  ({reference_secs:.2} s, signed POSTs straight to it)"
    );
    println!(
        "  paced {} at {}/s, poll {} ms: outbox to delivery p50 {p50:.1} ms   p99 {p99:.1} ms   max {max:.1} ms",
        args.paced, args.rate, args.poll_ms
    );
}
