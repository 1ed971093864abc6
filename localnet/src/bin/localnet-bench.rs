//! `localnet-bench`: transactions per second through the local chain's JSON-RPC, end to end:
//! built and signed here, sent with `sendTransaction` (preflight on) by concurrent senders, and
//! counted once `getSignatureStatuses` reports them confirmed.
//!
//! ```sh
//! cargo run --profile perf -p veil-localnet --bin localnet-bench -- --txs 2000 --concurrency 32
//! ```
//!
//! Two workloads: `transfer` (a system-program transfer, the runtime alone) and `anchor`
//! (`registry::anchor_id_batch`, our program through the bridge: a PDA created, an event CPI).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use anchor_lang::{prelude::Pubkey, solana_program::instruction::Instruction};
use clap::{Parser, ValueEnum};
use futures::StreamExt;
use solana_commitment_config::{CommitmentConfig, CommitmentLevel};
use solana_keypair::Keypair;
use solana_rpc_client::nonblocking::rpc_client::RpcClient;
use solana_rpc_client_api::config::RpcSendTransactionConfig;
use solana_signature::Signature;
use solana_signer::Signer;
use solana_transaction::Transaction;
use veil_client::registry as ix;
use veil_localnet::{Localnet, LocalnetConfig};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Workload {
    /// System-program transfers.
    Transfer,
    /// `registry::anchor_id_batch`, each creating its own `IdBatch` PDA.
    Anchor,
}

#[derive(Debug, Parser)]
#[command(about = "Transactions/s through the local chain's JSON-RPC")]
struct Args {
    /// Transactions per workload.
    #[arg(long, default_value_t = 2_000)]
    txs: usize,
    /// Transactions in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Milliseconds per slot.
    #[arg(long, default_value_t = 100)]
    slot_ms: u64,
    /// Workloads to run.
    #[arg(long, value_delimiter = ',', default_value = "transfer,anchor")]
    workloads: Vec<Workload>,
}

const SOL: u64 = 1_000_000_000;

/// Sends one transaction and waits until it is confirmed; its latency.
async fn land(rpc: &RpcClient, tx: Transaction) -> Duration {
    let began = Instant::now();
    let signature: Signature = rpc
        .send_transaction_with_config(
            &tx,
            RpcSendTransactionConfig {
                preflight_commitment: Some(CommitmentLevel::Confirmed),
                ..RpcSendTransactionConfig::default()
            },
        )
        .await
        .expect("sendTransaction");
    loop {
        let status = rpc
            .get_signature_statuses(std::slice::from_ref(&signature))
            .await
            .expect("getSignatureStatuses")
            .value
            .into_iter()
            .next()
            .flatten();
        if let Some(status) = status {
            assert!(status.err.is_none(), "transaction failed: {:?}", status.err);
            if status.satisfies_commitment(CommitmentConfig::confirmed()) {
                return began.elapsed();
            }
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let rank = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1].as_secs_f64() * 1e3
}

async fn run(args: &Args, workload: Workload) {
    let payer = Keypair::new();
    let admin = Keypair::new();
    // Funded too, so that transfers to it need no rent-exempt minimum.
    let sink = Pubkey::new_unique();
    let net = Localnet::start(LocalnetConfig {
        slot_time: Duration::from_millis(args.slot_ms),
        airdrop: vec![payer.pubkey(), admin.pubkey(), sink],
        airdrop_lamports: 1_000 * SOL,
        ..LocalnetConfig::default()
    })
    .expect("localnet starts");
    let rpc = Arc::new(RpcClient::new_with_commitment(
        net.rpc_url().to_owned(),
        CommitmentConfig::confirmed(),
    ));
    if workload == Workload::Anchor {
        let init = ix::initialize(
            &admin.pubkey(),
            &payer.pubkey(),
            &Pubkey::new_unique(),
            None,
        );
        let blockhash = rpc.get_latest_blockhash().await.expect("blockhash");
        let tx = Transaction::new_signed_with_payer(
            &[init],
            Some(&admin.pubkey()),
            &[&admin],
            blockhash,
        );
        land(&rpc, tx).await;
    }
    let blockhash = rpc.get_latest_blockhash().await.expect("blockhash");
    let txs: Vec<Transaction> = (0..args.txs)
        .map(|i| {
            let instruction: Instruction = match workload {
                Workload::Transfer => anchor_lang::solana_program::system_instruction::transfer(
                    &payer.pubkey(),
                    &sink,
                    1_000 + i as u64,
                ),
                Workload::Anchor => {
                    ix::anchor_id_batch(&payer.pubkey(), *b"BNCH", [7; 32], i as u64 + 1, 1)
                }
            };
            Transaction::new_signed_with_payer(
                &[instruction],
                Some(&payer.pubkey()),
                &[&payer],
                blockhash,
            )
        })
        .collect();
    let began = Instant::now();
    let mut latencies: Vec<Duration> = futures::stream::iter(txs)
        .map(|tx| {
            let rpc = rpc.clone();
            async move { land(&rpc, tx).await }
        })
        .buffer_unordered(args.concurrency.max(1))
        .collect()
        .await;
    let seconds = began.elapsed().as_secs_f64();
    latencies.sort_unstable();
    println!(
        "| {:?} | {} | {} | {} | {:.2} | {:.0} | {:.1} | {:.1} |",
        workload,
        args.txs,
        args.concurrency,
        args.slot_ms,
        seconds,
        args.txs as f64 / seconds,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
    );
}

fn main() {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "| workload | txs | concurrency | slot ms | seconds | confirmed tx/s | p50 ms | p99 ms |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for &workload in &args.workloads {
        runtime.block_on(run(&args, workload));
    }
}
