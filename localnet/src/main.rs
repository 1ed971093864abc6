//! `veil-localnet`: runs the local chain until Ctrl-C or SIGTERM, printing its URLs and the
//! programs it carries.

use std::{process::ExitCode, time::Duration};

use anchor_lang::prelude::Pubkey;
use clap::Parser;
use tracing_subscriber::EnvFilter;
use veil_localnet::{Localnet, LocalnetConfig, PROGRAMS};

/// One SOL.
const LAMPORTS_PER_SOL: u64 = 1_000_000_000;

#[derive(Debug, Parser)]
#[command(
    name = "veil-localnet",
    version,
    about = "A local Solana chain (surfpool-core, offline) with the Chitty Veil programs, behind \
             the real JSON-RPC and PubSub APIs"
)]
struct Args {
    /// Address the servers bind.
    #[arg(long, env = "LOCALNET_HOST", default_value = "127.0.0.1")]
    host: String,
    /// JSON-RPC port.
    #[arg(long, env = "LOCALNET_RPC_PORT", default_value_t = 8899)]
    rpc_port: u16,
    /// PubSub WebSocket port.
    #[arg(long, env = "LOCALNET_WS_PORT", default_value_t = 8900)]
    ws_port: u16,
    /// Milliseconds per slot.
    #[arg(long, env = "LOCALNET_SLOT_MS", default_value_t = 400,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    slot_ms: u64,
    /// Yellowstone gRPC port (10000 is the Yellowstone plugin's default).
    #[arg(long, env = "LOCALNET_GRPC_PORT", default_value_t = 10_000)]
    grpc_port: u16,
    /// A wallet to fund at start (repeatable).
    #[arg(long = "airdrop", value_name = "PUBKEY")]
    airdrop: Vec<Pubkey>,
    /// SOL each funded wallet gets.
    #[arg(long, default_value_t = 100)]
    airdrop_sol: u64,
}

fn main() -> ExitCode {
    let filter = EnvFilter::try_from_env("LOCALNET_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    let args = Args::parse();
    let Some(lamports) = args.airdrop_sol.checked_mul(LAMPORTS_PER_SOL) else {
        eprintln!(
            "--airdrop-sol {} is more lamports than a u64 holds",
            args.airdrop_sol
        );
        return ExitCode::FAILURE;
    };
    let localnet = match Localnet::start(LocalnetConfig {
        host: args.host,
        rpc_port: args.rpc_port,
        ws_port: args.ws_port,
        slot_time: Duration::from_millis(args.slot_ms),
        airdrop: args.airdrop.clone(),
        airdrop_lamports: lamports,
        grpc_port: Some(args.grpc_port),
    }) {
        Ok(localnet) => localnet,
        Err(error) => {
            eprintln!("veil-localnet: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!("veil-localnet is up (offline; Ctrl-C stops it)");
    println!("  JSON-RPC  {}", localnet.rpc_url());
    println!("  PubSub    {}", localnet.ws_url());
    if let Some(url) = localnet.grpc_url() {
        println!("  Yellowstone gRPC  {url}");
    }
    for (id, name) in PROGRAMS {
        println!("  program   {name:<9} {id}");
    }
    for wallet in &args.airdrop {
        println!("  funded    {wallet} with {} SOL", args.airdrop_sol);
    }
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("veil-localnet: {error}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(veil_shutdown::requested());
    drop(localnet);
    ExitCode::SUCCESS
}
