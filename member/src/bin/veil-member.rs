//! `veil-member`: a member's private proof of token ownership, made on the member's own
//! machine (`docs/zk.md`, "Where the secret lives"). The wallet signs in to the relayer (a
//! session, no API key), the secret is derived here from the wallet, and only the commitment
//! and the proof ever travel.
//!
//! ```sh
//! veil-member identity --keypair alice.json
//! veil-member register --relayer http://127.0.0.1:8080 --keypair alice.json --mint <MINT>
//! veil-member prove    --relayer http://127.0.0.1:8080 --keypair alice.json --mint <MINT> \
//!                      --action claim-access --recipient <ADDRESS> --submit
//! ```

use std::{path::PathBuf, process::ExitCode, time::Instant};

use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use solana_keypair::Keypair;
use solana_signer::Signer;
use veil_circuits::prover::Prover;
use veil_member::{proof_body, scope, Identity, PublishedLeaves};
use veil_rest_client::{Client, ClientError, Method};

#[derive(Debug, Parser)]
#[command(
    name = "veil-member",
    about = "Private proofs of token ownership, made on this machine"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, clap::Args)]
struct Wallet {
    /// The wallet: a Solana keypair file (a JSON array of 64 bytes, as solana-keygen writes).
    #[arg(long)]
    keypair: PathBuf,
}

#[derive(Debug, clap::Args)]
struct Relayer {
    /// The relayer's origin.
    #[arg(
        long,
        env = "VEIL_RELAYER_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    relayer: String,
    /// The chain the wallet signs in on (CAIP-2).
    #[arg(long, default_value = "solana:localnet")]
    chain_id: String,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Prints the wallet's identity commitment (the secret stays here).
    Identity {
        #[command(flatten)]
        wallet: Wallet,
    },
    /// Registers the wallet's identity on a mint's track (the relayer checks the holding).
    Register {
        #[command(flatten)]
        wallet: Wallet,
        #[command(flatten)]
        relayer: Relayer,
        /// The token mint (base58).
        #[arg(long)]
        mint: String,
    },
    /// Proves ownership here from the track's published leaves; with `--submit`, spends the
    /// nullifier on chain through the relayer, which sees only the proof.
    Prove {
        #[command(flatten)]
        wallet: Wallet,
        #[command(flatten)]
        relayer: Relayer,
        /// The token mint (base58).
        #[arg(long)]
        mint: String,
        /// The action the proof is for (its signal, with the recipient).
        #[arg(long)]
        action: String,
        /// The recipient bound into the signal (base58).
        #[arg(long)]
        recipient: String,
        /// 0: once per track; else an epoch number.
        #[arg(long, default_value_t = 0)]
        scope: u64,
        /// The proving key (the ceremony's). Without it, a build with the `dev-keys` feature
        /// generates the insecure development key, for local chains only.
        #[arg(long)]
        proving_key: Option<PathBuf>,
        /// Submit the proof (`/api/v2/verify-ownership`).
        #[arg(long)]
        submit: bool,
    },
    /// Serves this wallet's prover on 127.0.0.1 for the web app (`POST /prove`), to the pages
    /// of `--allow-origin` only.
    Serve {
        #[command(flatten)]
        wallet: Wallet,
        #[command(flatten)]
        relayer: Relayer,
        /// The port on 127.0.0.1.
        #[arg(long, default_value_t = 8787)]
        port: u16,
        /// An origin whose pages may call it (repeat for more), e.g. http://127.0.0.1:5173.
        #[arg(long = "allow-origin", required = true)]
        origins: Vec<String>,
        /// The proving key (see `prove`).
        #[arg(long)]
        proving_key: Option<PathBuf>,
    },
}

#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Member(#[from] veil_member::MemberError),
    #[error("the relayer: {0}")]
    Relayer(#[from] ClientError),
}

fn keypair(path: &PathBuf) -> Result<Keypair, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
    let bytes: Vec<u8> = serde_json::from_str(&text)
        .map_err(|_| Failure::Usage(format!("{} is not a JSON array of bytes", path.display())))?;
    Keypair::try_from(bytes.as_slice())
        .map_err(|_| Failure::Usage(format!("{} is not a 64-byte keypair", path.display())))
}

fn mint_bytes(mint: &str) -> Result<[u8; 32], Failure> {
    bs58::decode(mint)
        .into_vec()
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Failure::Usage(format!("`{mint}` is not a base58 address")))
}

/// A client signed in with `wallet`.
async fn session(relayer: &Relayer, wallet: &Keypair) -> Result<Client, Failure> {
    let client = Client::builder(&relayer.relayer).build()?;
    client
        .sign_in(&relayer.chain_id, &wallet.pubkey().to_string(), |message| {
            wallet.sign_message(message.as_bytes()).to_string()
        })
        .await?;
    Ok(client)
}

fn prover(proving_key: Option<&PathBuf>) -> Result<Prover, Failure> {
    let depth = usize::from(veil_zk::vk::TREE_DEPTH);
    if let Some(path) = proving_key {
        let pk = veil_circuits::keys::load_proving_key(path)
            .map_err(|e| Failure::Usage(format!("the proving key {}: {e}", path.display())))?;
        return Prover::new(pk, depth).map_err(|e| Failure::Usage(e.to_string()));
    }
    #[cfg(feature = "dev-keys")]
    {
        eprintln!("generating the INSECURE development proving key (local chains only)…");
        let pk = veil_circuits::keys::generate(depth, veil_circuits::keys::DEV_SEED)
            .map_err(|e| Failure::Usage(e.to_string()))?;
        Prover::new(pk, depth).map_err(|e| Failure::Usage(e.to_string()))
    }
    #[cfg(not(feature = "dev-keys"))]
    Err(Failure::Usage(
        "give --proving-key (the ceremony's proving key)".into(),
    ))
}

async fn run(cli: Cli) -> Result<Value, Failure> {
    match cli.command {
        Command::Identity { wallet } => {
            let wallet = keypair(&wallet.keypair)?;
            let identity = Identity::from_wallet(&wallet);
            Ok(json!({
                "wallet": wallet.pubkey().to_string(),
                "commitment": hex::encode(identity.commitment()),
            }))
        }
        Command::Register {
            wallet,
            relayer,
            mint,
        } => {
            let wallet = keypair(&wallet.keypair)?;
            let identity = Identity::from_wallet(&wallet);
            let client = session(&relayer, &wallet).await?;
            let body = identity.registration(&wallet, &mint_bytes(&mint)?);
            let answer = client
                .call(Method::POST, "/api/v2/registry/register", Some(&body))
                .await?;
            Ok(answer.body)
        }
        Command::Prove {
            wallet,
            relayer,
            mint,
            action,
            recipient,
            scope: scope_number,
            proving_key,
            submit,
        } => {
            let wallet = keypair(&wallet.keypair)?;
            let mint_key = mint_bytes(&mint)?;
            let recipient = mint_bytes(&recipient)?;
            let identity = Identity::from_wallet(&wallet);
            let client = session(&relayer, &wallet).await?;
            let leaves = client
                .call(
                    Method::GET,
                    &format!("/api/v2/registry/tracks/{mint}/leaves"),
                    None,
                )
                .await?
                .body;
            let published = PublishedLeaves::from_json(&leaves)?;
            let signal = veil_zk::signal_hash(action.as_bytes(), &recipient);
            let witness = identity.witness(&mint_key, &published, &scope(scope_number), &signal)?;
            let prover = prover(proving_key.as_ref())?;
            eprintln!("proving on this machine…");
            let started = Instant::now();
            let (proof, inputs) = prover
                .prove(&witness)
                .map_err(|e| Failure::Usage(format!("proving failed: {e}")))?;
            eprintln!("proved in {} ms", started.elapsed().as_millis());
            let body = proof_body(&proof, &inputs);
            if !submit {
                return Ok(body);
            }
            let landed = client
                .call(Method::POST, "/api/v2/verify-ownership", Some(&body))
                .await?;
            Ok(json!({ "proof": body, "verified": landed.body }))
        }
        Command::Serve {
            wallet,
            relayer,
            port,
            origins,
            proving_key,
        } => {
            let wallet = keypair(&wallet.keypair)?;
            let client = session(&relayer, &wallet).await?;
            let prover = prover(proving_key.as_ref())?;
            let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
                .await
                .map_err(|e| Failure::Usage(format!("cannot listen on 127.0.0.1:{port}: {e}")))?;
            eprintln!(
                "the member's prover for {} listens on http://127.0.0.1:{port} (origins: {})",
                wallet.pubkey(),
                origins.join(", ")
            );
            let state = std::sync::Arc::new(veil_member::server::ProverState::for_wallet(
                wallet,
                client,
                std::sync::Arc::new(prover),
                origins,
            ));
            axum::serve(listener, veil_member::server::router(state))
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await
                .map_err(|e| Failure::Usage(format!("serving failed: {e}")))?;
            Ok(json!({ "stopped": true }))
        }
    }
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> ExitCode {
    match run(Cli::parse()).await {
        Ok(answer) => {
            println!(
                "{}",
                serde_json::to_string_pretty(&answer).unwrap_or_default()
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("veil-member: {error}");
            ExitCode::FAILURE
        }
    }
}
