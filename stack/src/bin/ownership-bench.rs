//! End-to-end latency of the private ownership flow over the wire: the local chain and the
//! relayer (real sockets, real PostgreSQL and Redis). Each of `--members` wallets holding the
//! token registers; the root is published once; then, one member at a time, `POST /prove`
//! followed by `POST /verify-ownership` (which waits for the transaction to be confirmed) is
//! timed. Prints p50, p90 and max of each part and of the whole.
//!
//! ```sh
//! cargo run -p veil-stack --bin ownership-bench -- --members 20
//! ```
//!
//! Needs PostgreSQL (`--pg`, default postgres://postgres@127.0.0.1:5432; a database
//! `veil_ownership_bench` is recreated) and Redis (`--redis`).

use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::json;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer;
use veil_circuits::identity;
use veil_localnet::{Localnet, LocalnetConfig};
use veil_poseidon::to_be_bytes;
use veil_relayer::{platform::config::Config, registry::registration_message};
use veil_stack::{
    bench::{ok, percentile_ms, Services},
    services, tokens,
};

#[derive(Debug, Parser)]
struct Args {
    /// Members, each proved and verified once.
    #[arg(long, default_value_t = 20)]
    members: usize,
    /// Milliseconds per slot of the local chain.
    #[arg(long, default_value_t = 100)]
    slot_ms: u64,
    #[command(flatten)]
    services: Services,
}

const SOL: u64 = 1_000_000_000;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = Args::parse();
    let relayer = Keypair::new();
    let issuer = Keypair::new();
    let members: Vec<Keypair> = (0..args.members).map(|_| Keypair::new()).collect();
    let mut airdrop = vec![relayer.pubkey(), issuer.pubkey()];
    airdrop.extend(members.iter().map(|m| m.pubkey()));
    let net = Localnet::start(LocalnetConfig {
        slot_time: Duration::from_millis(args.slot_ms),
        airdrop,
        airdrop_lamports: 10 * SOL,
        ..LocalnetConfig::default()
    })
    .expect("localnet");
    let rpc =
        RpcClient::new_with_commitment(net.rpc_url().to_owned(), CommitmentConfig::confirmed());
    let init = veil_client::registry::initialize(
        &relayer.pubkey(),
        &relayer.pubkey(),
        &relayer.pubkey(),
        None,
    );
    tokens::send(&rpc, "initialize", &relayer, &[init], &[])
        .await
        .expect("initialize");
    let mint = tokens::create_mint(&rpc, &issuer, 0).await.expect("mint");
    for member in &members {
        tokens::fund(&rpc, &issuer, &mint, &member.pubkey(), 1)
            .await
            .expect("fund");
    }

    let database_url = services::fresh_database(&args.services.pg, "veil_ownership_bench")
        .await
        .expect("PostgreSQL");
    let mut config = Config::defaults();
    config.db.database_url = database_url;
    config.redis_url = args.services.redis.clone();
    config.rpc_url = Some(net.rpc_url().to_owned());
    let relayer = veil_stack::bench::start_relayer(config, &relayer).await;
    let client = relayer.client;

    // Every member registers (not timed), then one publication.
    let mut secrets = Vec::with_capacity(members.len());
    for member in &members {
        let signature = member.sign_message(identity::IDENTITY_MESSAGE);
        let secret = identity::secret_from_signature(signature.as_ref());
        let commitment = to_be_bytes(&identity::commitment(&secret));
        let message = registration_message(&mint, &commitment);
        ok(
            &client,
            "/api/v2/registry/register",
            &json!({
                "wallet": member.pubkey().to_string(),
                "mint": mint.to_string(),
                "commitment": hex::encode(commitment),
                "signature": member.sign_message(message.as_bytes()).to_string(),
            }),
        )
        .await;
        secrets.push(to_be_bytes(&secret));
    }
    ok(
        &client,
        "/api/v2/registry/publish",
        &json!({"mint": mint.to_string()}),
    )
    .await;

    // The flow, one member at a time: prove, then verify on chain (confirmed).
    // The first proof also waits for the development key to be generated: a warm-up, not timed.
    let warm = Keypair::new().pubkey().to_string();
    let _ = client
        .call(
            "POST",
            "/api/v2/prove",
            Some(
                &json!({"secret": hex::encode(secrets[0]), "mint": mint.to_string(),
                    "action": "warm-up", "recipient": warm}),
            ),
        )
        .await;
    let (mut prove, mut verify, mut total) = (Vec::new(), Vec::new(), Vec::new());
    for (i, secret) in secrets.iter().enumerate() {
        let started = Instant::now();
        let proof = ok(
            &client,
            "/api/v2/prove",
            &json!({"secret": hex::encode(secret), "mint": mint.to_string(),
                        "action": "claim-access", "recipient": members[i].pubkey().to_string()}),
        )
        .await;
        let proved = started.elapsed();
        ok(&client, "/api/v2/verify-ownership", &proof).await;
        let all = started.elapsed();
        prove.push(proved);
        verify.push(all - proved);
        total.push(all);
        eprint!("\r{}/{} members verified", i + 1, secrets.len());
    }
    eprintln!();
    println!(
        "ownership flow over HTTP, {} members, {} ms slots (dev profile, crypto at opt-level 3):",
        secrets.len(),
        args.slot_ms
    );
    for (name, mut samples) in [
        ("prove", prove),
        ("verify-ownership", verify),
        ("prove + verify", total),
    ] {
        samples.sort();
        println!(
            "  {name:<18} p50 {:>7.1} ms   p90 {:>7.1} ms   max {:>7.1} ms",
            percentile_ms(&samples, 0.5),
            percentile_ms(&samples, 0.9),
            samples.last().map_or(0.0, |d| d.as_secs_f64() * 1e3)
        );
    }
}
