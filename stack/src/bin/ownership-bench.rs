//! End-to-end latency of the private ownership flow over the wire: the local chain and the
//! relayer (real sockets, real PostgreSQL and Redis). Each of `--members` wallets holding the
//! token registers; the root is published once; then, one member at a time, a proof followed
//! by `POST /verify-ownership` (which waits for the transaction to be confirmed) is timed. Half
//! the members prove on the relayer (`POST /prove`, custodial), the other half on their own
//! machine as `veil-member` does (fetch the published leaves, rebuild the tree, prove here),
//! so both paths are measured in the same run. Prints p50, p90 and max of each part.
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
    /// The relayer's status poll of a sent transaction (`RELAYER_CHAIN_POLL_MS`); the
    /// relayer's default when absent.
    #[arg(long)]
    poll_ms: Option<u64>,
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
    if let Some(poll_ms) = args.poll_ms {
        config.chain_poll_ms = poll_ms;
    }
    let poll_ms = config.chain_poll_ms;
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
    // The member's own prover: the same development key, generated once (not timed).
    let depth = usize::from(veil_zk::vk::TREE_DEPTH);
    let local = std::sync::Arc::new(
        veil_circuits::prover::Prover::new(
            veil_circuits::keys::generate(depth, veil_circuits::keys::DEV_SEED).expect("dev key"),
            depth,
        )
        .expect("a prover"),
    );
    let (mut prove, mut verify, mut total) = (Vec::new(), Vec::new(), Vec::new());
    let (mut local_prove, mut local_verify, mut local_total) = (Vec::new(), Vec::new(), Vec::new());
    for (i, secret) in secrets.iter().enumerate() {
        let recipient = members[i].pubkey();
        let started = Instant::now();
        let custodial = i % 2 == 0;
        let proof = if custodial {
            ok(
                &client,
                "/api/v2/prove",
                &json!({"secret": hex::encode(secret), "mint": mint.to_string(),
                        "action": "claim-access", "recipient": recipient.to_string()}),
            )
            .await
        } else {
            let (status, leaves) = client
                .call(
                    "GET",
                    &format!("/api/v2/registry/tracks/{mint}/leaves"),
                    None,
                )
                .await
                .expect("the relayer answers");
            assert_eq!(status, 200, "{leaves}");
            let identity = veil_member::Identity::from_wallet(&members[i]);
            let signal = veil_zk::signal_hash(b"claim-access", &recipient.to_bytes());
            let witness = identity
                .witness(
                    &mint.to_bytes(),
                    &veil_member::PublishedLeaves::from_json(&leaves).expect("leaves"),
                    &veil_member::scope(0),
                    &signal,
                )
                .expect("a member");
            let prover = local.clone();
            let (proof, inputs) = tokio::task::spawn_blocking(move || prover.prove(&witness))
                .await
                .expect("the prover runs")
                .expect("a proof");
            veil_member::proof_body(&proof, &inputs)
        };
        let proved = started.elapsed();
        ok(&client, "/api/v2/verify-ownership", &proof).await;
        let all = started.elapsed();
        let (p, v, t) = if custodial {
            (&mut prove, &mut verify, &mut total)
        } else {
            (&mut local_prove, &mut local_verify, &mut local_total)
        };
        p.push(proved);
        v.push(all - proved);
        t.push(all);
        eprint!("\r{}/{} members verified", i + 1, secrets.len());
    }
    eprintln!();
    println!(
        "ownership flow over HTTP, {} members, {} ms slots, relayer polls every {} ms ({}):",
        secrets.len(),
        args.slot_ms,
        poll_ms,
        if cfg!(debug_assertions) {
            "dev profile, crypto at opt-level 3"
        } else {
            "optimized build"
        },
    );
    for (name, mut samples) in [
        ("custodial: POST /prove", prove),
        ("custodial: verify-ownership", verify),
        ("custodial: prove + verify", total),
        ("local: leaves + prove here", local_prove),
        ("local: verify-ownership", local_verify),
        ("local: prove + verify", local_total),
    ] {
        samples.sort();
        println!(
            "  {name:<28} p50 {:>7.1} ms   p90 {:>7.1} ms   max {:>7.1} ms",
            percentile_ms(&samples, 0.5),
            percentile_ms(&samples, 0.9),
            samples.last().map_or(0.0, |d| d.as_secs_f64() * 1e3)
        );
    }
}
