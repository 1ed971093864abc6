//! Challenge reads at a fixed rate over the wire (docs/perf.md): the local chain with
//! `--challenges` challenges on it, and two relayers on loopback sockets with real PostgreSQL
//! and Redis, one with the read cache (`RELAYER_CHALLENGE_READ_TTL_MS`, default 2 s) and one
//! without (TTL 0: one `getAccountInfo` per read, as before the cache). Each target gets
//! `--rate` requests/s for `--seconds`, open loop: every request is sent at its scheduled time
//! whether or not earlier ones answered, and its latency is counted from that time, so a
//! stall shows up in the tail instead of slowing the load. The reads are signed
//! `GET /api/v2/challenges/{address}` over the challenges in turn. The generator is
//! `veil_stack::load::open_loop`, the one `veil-stack load` uses. The yardstick, at the same
//! rate in the same run: an axum hello-world on its own socket. RPC calls per read come from
//! each relayer's `challenge_reads_total{source}` counter.
//!
//! ```sh
//! cargo run --profile perf -p veil-stack --bin challenge-read-bench -- --rate 1000 --seconds 20
//! ```
//!
//! Needs PostgreSQL (`--pg`; a database `veil_challenge_read_bench` is recreated) and Redis.

use std::{sync::Arc, time::Duration};

use challenge::{state::Mode, ConfigArgs, CreateChallengeArgs};
use clap::Parser;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer;
use solana_transaction::Transaction;
use veil_client::challenge as cix;
use veil_localnet::{Localnet, LocalnetConfig};
use veil_relayer::platform::config::Config;
use veil_stack::{
    bench::Services,
    client::SignedClient,
    load::{self, ms, Report},
    services,
};

#[derive(Debug, Parser)]
struct Args {
    /// Requests per second per target.
    #[arg(long, default_value_t = 1_000)]
    rate: u64,
    /// Measured seconds per target.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Warm-up seconds per target (not measured).
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Challenges on the chain, read in turn.
    #[arg(long, default_value_t = 100)]
    challenges: u64,
    #[command(flatten)]
    services: Services,
}

const SOL: u64 = 1_000_000_000;

/// `challenge_reads_total{source}` of the relayer behind `client`.
async fn reads(client: &SignedClient, source: &str) -> u64 {
    let (status, body) = client
        .call("GET", "/metrics", None)
        .await
        .expect("metrics answer");
    assert_eq!(status, 200, "{body}");
    let text = body.as_str().unwrap_or_default();
    let prefix = format!("challenge_reads_total{{source=\"{source}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// Creates `n` Gatekeeper challenges of `creator`, 25 transactions in flight at a time.
async fn create_challenges(rpc: &RpcClient, creator: &Keypair, n: u64) -> Vec<String> {
    let counterparty = Keypair::new().pubkey();
    let mut addresses = Vec::new();
    for chunk in (0..n).collect::<Vec<_>>().chunks(25) {
        let blockhash = rpc.get_latest_blockhash().await.expect("blockhash");
        let sends = chunk.iter().map(|&nonce| {
            let args = CreateChallengeArgs {
                nonce,
                mode: Mode::Gatekeeper,
                counterparty: Some(counterparty),
                arbiter: None,
                terms_hash: [0x5a; 32],
                bond_amount: 0,
                winner_share_bps: 0,
                treasury_share_bps: 0,
                accept_deadline: 0,
                response_deadline: 0,
            };
            let ix = cix::create_challenge(&creator.pubkey(), args, None);
            let tx = Transaction::new_signed_with_payer(
                &[ix],
                Some(&creator.pubkey()),
                &[creator],
                blockhash,
            );
            async move { rpc.send_and_confirm_transaction(&tx).await }
        });
        for result in futures::future::join_all(sends).await {
            result.expect("create_challenge lands");
        }
        addresses.extend(
            chunk
                .iter()
                .map(|&nonce| cix::challenge_pda(&creator.pubkey(), nonce).0.to_string()),
        );
        eprint!("\r{}/{n} challenges created", addresses.len());
    }
    eprintln!();
    addresses
}

fn line(name: &str, run: &Report, reference_p99: f64, rpc_per_read: Option<f64>) {
    let h = &run.all;
    let p99 = ms(h, 0.99);
    println!(
        "  {name:<28} p50 {:>6.2} ms   p99 {:>6.2} ms   p99.9 {:>6.2} ms   max {:>7.2} ms   p99 / hello p99 {:>5.2}   failed {}   late {}{}",
        ms(h, 0.5),
        p99,
        ms(h, 0.999),
        ms(h, 1.0),
        p99 / reference_p99,
        run.failed(),
        run.late,
        rpc_per_read.map_or(String::new(), |r| format!("   RPC calls per read {r:.4}")),
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = Args::parse();
    let (relayer_key, admin, creator) = (Keypair::new(), Keypair::new(), Keypair::new());
    let net = Localnet::start(LocalnetConfig {
        slot_time: Duration::from_millis(100),
        airdrop: vec![relayer_key.pubkey(), admin.pubkey(), creator.pubkey()],
        airdrop_lamports: 100 * SOL,
        ..LocalnetConfig::default()
    })
    .expect("localnet");
    let rpc =
        RpcClient::new_with_commitment(net.rpc_url().to_owned(), CommitmentConfig::confirmed());
    let init = cix::initialize(
        &admin.pubkey(),
        ConfigArgs {
            gatekeeper: relayer_key.pubkey(),
            treasury: Keypair::new().pubkey(),
            accept_window: challenge::state::Window { min: 1, max: 3_600 },
            response_window: challenge::state::Window { min: 1, max: 3_600 },
            max_treasury_bps: 3_000,
            arbiter_window: 3_600,
            bond_mints: Vec::new(),
        },
        None,
    );
    let blockhash = rpc.get_latest_blockhash().await.expect("blockhash");
    rpc.send_and_confirm_transaction(&Transaction::new_signed_with_payer(
        &[init],
        Some(&admin.pubkey()),
        &[&admin],
        blockhash,
    ))
    .await
    .expect("initialize the challenge program");
    let addresses = Arc::new(create_challenges(&rpc, &creator, args.challenges).await);

    let database_url = services::fresh_database(&args.services.pg, "veil_challenge_read_bench")
        .await
        .expect("PostgreSQL");
    let relayer = |ttl_ms: u64| {
        let mut config = Config::defaults().with_all_flags_on();
        config.db.database_url = database_url.clone();
        config.redis_url = args.services.redis.clone();
        config.rpc_url = Some(net.rpc_url().to_owned());
        config.challenge_read_ttl_ms = ttl_ms;
        config
    };
    let cached = veil_stack::bench::start_relayer(relayer(2_000), &relayer_key)
        .await
        .client;
    let uncached = veil_stack::bench::start_relayer(relayer(0), &relayer_key)
        .await
        .client;
    let (rate, warmup, seconds) = (args.rate, args.warmup, args.seconds);
    let schedule = load::Schedule {
        rate,
        warmup: Duration::from_secs(warmup),
        measure: Duration::from_secs(seconds),
        timeout: Duration::from_secs(10),
    };
    eprintln!("hello-world at {rate}/s");
    let hello_run = load::hello_world(schedule, true)
        .await
        .expect("the hello-world listens");
    let mut runs = Vec::new();
    for (name, client) in [
        ("GET challenge, cached", &cached),
        ("GET challenge, no cache", &uncached),
    ] {
        eprintln!("{name} at {rate}/s");
        let before = (reads(client, "cache").await, reads(client, "chain").await);
        let (c, a) = (client.clone(), addresses.clone());
        let run = load::open_loop(
            schedule,
            &["get"],
            move |i| {
                let (c, a) = (c.clone(), a.clone());
                (0, async move {
                    let path = format!("/api/v2/challenges/{}", a[(i as usize) % a.len()]);
                    match c.call("GET", &path, None).await {
                        Ok((200, _)) => Ok(()),
                        other => Err(format!("{other:?}")),
                    }
                })
            },
            true,
        )
        .await;
        let after = (reads(client, "cache").await, reads(client, "chain").await);
        let (hits, calls) = (after.0 - before.0, after.1 - before.1);
        let per_read = calls as f64 / (hits + calls).max(1) as f64;
        runs.push((name, run, per_read));
    }
    println!(
        "challenge reads over HTTP, {rate} requests/s open loop for {seconds} s after {warmup} s warm-up, {} challenges (local chain with 100 ms slots, PostgreSQL, Redis on this machine):",
        args.challenges
    );
    let reference = ms(&hello_run.all, 0.99);
    line("ref: axum hello-world", &hello_run, reference, None);
    for (name, run, per_read) in &runs {
        line(name, run, reference, Some(*per_read));
    }
}
