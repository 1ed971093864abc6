//! Latency of the gatekeeper over the wire (docs/perf.md): the local chain, a local EVM node
//! (Hardhat Network) and the relayer on loopback sockets with real PostgreSQL and Redis. For
//! each of `--rounds` rounds, a Solana wallet (Sign-In With Solana, ed25519) and an EVM wallet
//! (EIP-4361, EIP-191) each get a challenge and verify it, then the funds check runs once per
//! asset: SOL, an SPL token, ETH and an ERC-20. Only the verify and the funds checks are timed,
//! one request at a time. Beside them, in the same run, the machine's yardsticks: the relayer's
//! cheapest signed route over the same sockets (`GET /gatekeeper/v2/wallet/verifications/{id}`:
//! signature check, Redis nonce, one `SELECT`), and one JSON-RPC read straight to each node
//! (`getSlot`, `eth_blockNumber`). The ratio column is each p99 over the signed read's p99.
//!
//! ```sh
//! cargo run -p veil-stack --bin gatekeeper-bench -- --rounds 300
//! ```
//!
//! Needs PostgreSQL (`--pg`; a database `veil_gatekeeper_bench` is recreated), Redis
//! (`--redis`), and Node.js with npm for the EVM node (`scripts/evm-node.sh`).

use std::time::{Duration, Instant};

use clap::Parser;
use serde_json::json;
use solana_commitment_config::CommitmentConfig;
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_signer::Signer;
use veil_evm_node::{EvmNode, DEPLOYER};
use veil_localnet::{Localnet, LocalnetConfig};
use veil_relayer::{gatekeeper::evm, platform::config::Config};
use veil_stack::{
    bench::{ok, percentile_ms, Services},
    services, tokens,
};

#[derive(Debug, Parser)]
struct Args {
    /// Rounds: each verifies one Solana and one EVM wallet and checks four assets.
    #[arg(long, default_value_t = 200)]
    rounds: usize,
    #[command(flatten)]
    services: Services,
}

const SOL: u64 = 1_000_000_000;

/// Times `f`.
async fn timed<T>(samples: &mut Vec<Duration>, f: impl std::future::Future<Output = T>) -> T {
    let started = Instant::now();
    let out = f.await;
    samples.push(started.elapsed());
    out
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = Args::parse();
    let (relayer, issuer, holder) = (Keypair::new(), Keypair::new(), Keypair::new());
    let net = Localnet::start(LocalnetConfig {
        slot_time: Duration::from_millis(100),
        airdrop: vec![relayer.pubkey(), issuer.pubkey(), holder.pubkey()],
        airdrop_lamports: 10 * SOL,
        ..LocalnetConfig::default()
    })
    .expect("localnet");
    let rpc =
        RpcClient::new_with_commitment(net.rpc_url().to_owned(), CommitmentConfig::confirmed());
    let mint = tokens::create_mint(&rpc, &issuer, 6).await.expect("mint");
    tokens::fund(&rpc, &issuer, &mint, &holder.pubkey(), 5_000_000)
        .await
        .expect("fund");

    let node = EvmNode::start().await.expect("the EVM node starts");
    let evm_key = k256::ecdsa::SigningKey::from_slice(&rand::random::<[u8; 32]>()).expect("key");
    let evm_address = evm::Address::of(evm_key.verifying_key()).checksummed();
    let token = node
        .deploy_erc20("Bench", "BNCH", 10u128.pow(21), &evm_address)
        .await
        .expect("ERC-20");
    node.send(json!({ "from": DEPLOYER, "to": evm_address, "value": "0xde0b6b3a7640000" }))
        .await
        .expect("ETH");

    let database_url = services::fresh_database(&args.services.pg, "veil_gatekeeper_bench")
        .await
        .expect("PostgreSQL");
    let mut config = Config::defaults().with_all_flags_on();
    config.db.database_url = database_url;
    config.redis_url = args.services.redis.clone();
    config.rpc_url = Some(net.rpc_url().to_owned());
    config.evm_rpc = vec![format!("eip155:31337={}", node.url())];
    let relayer = veil_stack::bench::start_relayer(config, &relayer).await;
    let client = relayer.client;

    let names = [
        "verify (Solana, ed25519)",
        "verify (EVM, EIP-191)",
        "funds SOL",
        "funds SPL token",
        "funds ETH",
        "funds ERC-20",
        "ref: signed GET (1 SELECT)",
        "ref: chain getSlot",
        "ref: EVM eth_blockNumber",
    ];
    let mut samples: Vec<Vec<Duration>> = names.iter().map(|_| Vec::new()).collect();
    let mint = mint.to_string();
    // One round untimed first: connections, caches, the JIT of the EVM node.
    for round in 0..=args.rounds {
        let mut scratch: Vec<Vec<Duration>> = names.iter().map(|_| Vec::new()).collect();
        let s = if round == 0 {
            &mut scratch
        } else {
            &mut samples
        };
        let issued = ok(
            &client,
            "/gatekeeper/v2/wallet/challenge",
            &json!({"chain_id": "solana:localnet", "address": holder.pubkey().to_string()}),
        )
        .await;
        let message = issued["message"].as_str().expect("a message");
        let body = json!({"message": message,
                          "signature": holder.sign_message(message.as_bytes()).to_string()});
        let solana = timed(
            &mut s[0],
            ok(&client, "/gatekeeper/v2/wallet/verify", &body),
        )
        .await;
        let issued = ok(
            &client,
            "/gatekeeper/v2/wallet/challenge",
            &json!({"chain_id": "eip155:31337", "address": evm_address}),
        )
        .await;
        let message = issued["message"].as_str().expect("a message");
        let body = json!({"message": message,
                          "signature": evm::sign(&evm_key, message.as_bytes())});
        let ethereum = timed(
            &mut s[1],
            ok(&client, "/gatekeeper/v2/wallet/verify", &body),
        )
        .await;
        for (slot, verified, asset, threshold) in [
            (2, &solana, "native", "1"),
            (3, &solana, mint.as_str(), "2.5"),
            (4, &ethereum, "native", "0.5"),
            (5, &ethereum, token.as_str(), "100"),
        ] {
            let body = json!({"verification_id": verified["verification_id"],
                              "asset": asset, "threshold": threshold});
            let checked = timed(
                &mut s[slot],
                ok(&client, "/gatekeeper/v2/funds/check", &body),
            )
            .await;
            assert_eq!(checked["result"], "PASSED", "{asset}: {checked}");
        }
        let path = format!(
            "/gatekeeper/v2/wallet/verifications/{}",
            solana["verification_id"].as_str().unwrap_or_default()
        );
        let (status, _) = timed(&mut s[6], client.call("GET", &path, None))
            .await
            .expect("the relayer answers");
        assert_eq!(status, 200, "{path}");
        timed(&mut s[7], async { rpc.get_slot().await.expect("getSlot") }).await;
        timed(&mut s[8], async {
            node.rpc("eth_blockNumber", json!([]))
                .await
                .expect("eth_blockNumber")
        })
        .await;
        eprint!("\r{round}/{} rounds", args.rounds);
    }
    eprintln!();
    println!(
        "gatekeeper over HTTP, {} rounds, one request at a time (local chain, Hardhat Network, PostgreSQL, Redis on this machine):",
        args.rounds
    );
    let reference_p99 = {
        let mut h = samples[6].clone();
        h.sort();
        percentile_ms(&h, 0.99)
    };
    for (name, mut s) in names.iter().zip(samples) {
        s.sort();
        let p99 = percentile_ms(&s, 0.99);
        println!(
            "  {name:<26} p50 {:>7.2} ms   p99 {:>7.2} ms   max {:>7.2} ms   p99 / signed GET p99 {:>5.1}",
            percentile_ms(&s, 0.5),
            p99,
            s.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
            p99 / reference_p99
        );
    }
}
