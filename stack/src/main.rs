//! `veil-stack`: the whole local stack in one command, and its guided demo.
//!
//! - `veil-stack` (or `veil-stack up`): the local chain, then the relayer, then the indexer,
//!   with keys generated into the data directory; prints the URLs and the demo;
//! - `veil-stack demo [step|all]`: the guided demo against the running stack;
//! - `veil-stack load [--rate N --seconds S]`: the challenge API of the running stack under an
//!   open-loop load, with latency percentiles corrected for coordinated omission;
//! - `veil-stack call METHOD PATH [JSON]`: any signed call to the running relayer.

use std::{path::PathBuf, process::ExitCode};

use clap::{Parser, Subcommand};
use tracing_subscriber::EnvFilter;
use veil_stack::{data, demo, load, up};

#[derive(Debug, Parser)]
#[command(
    name = "veil-stack",
    version,
    about = "The Chitty Veil local stack: chain, relayer and indexer on embedded defaults"
)]
struct Cli {
    /// The data directory (secrets, demo wallets, and PostgreSQL/Redis if the stack runs
    /// them).
    #[arg(
        long,
        env = "VEIL_STACK_DIR",
        default_value = ".veil-stack",
        global = true
    )]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Runs the stack until Ctrl-C (the default).
    Up(up::UpArgs),
    /// Runs a step of the guided demo against the running stack, or `all`.
    Demo {
        /// mint, register, publish, prove, verify, evm, fire, or all.
        #[arg(default_value = "all")]
        step: String,
    },
    /// The challenge API of the running stack under an open-loop load: latency percentiles
    /// corrected for coordinated omission, beside an axum hello-world at the same rate.
    Load(load::LoadArgs),
    /// Sends one signed request to the running relayer and prints the answer.
    Call {
        /// GET, POST, …
        method: String,
        /// The path, e.g. /api/v2/chittyid/verify/<id>.
        path: String,
        /// A JSON body.
        body: Option<String>,
    },
}

async fn run(cli: Cli) -> Result<ExitCode, Box<dyn std::error::Error>> {
    let data = data::DataDir::open(&cli.data_dir)?;
    match cli.command {
        None => {
            let args = up::UpArgs::parse_defaults();
            up::up(&args, &data, veil_shutdown::requested()).await?;
        }
        Some(Command::Up(args)) => up::up(&args, &data, veil_shutdown::requested()).await?,
        Some(Command::Demo { step }) => {
            let client = demo::Client::new(&data)?;
            let steps: Vec<&str> = if step == "all" {
                demo::STEPS.to_vec()
            } else {
                vec![step.as_str()]
            };
            for step in steps {
                client.step(step).await?;
            }
        }
        Some(Command::Load(args)) => {
            let session = data.session()?;
            let report = load::challenge_api(&session, &args, true).await?;
            load::print(&args, &report);
            if report.api.failed() > 0 {
                return Ok(ExitCode::FAILURE);
            }
        }
        Some(Command::Call { method, path, body }) => {
            let body = body
                .map(|b| serde_json::from_str::<serde_json::Value>(&b))
                .transpose()
                .map_err(|e| demo::DemoError::Usage(format!("the body is not JSON: {e}")))?;
            let (status, _) = demo::Client::new(&data)?
                .call(&method.to_uppercase(), &path, body.as_ref())
                .await?;
            if !(200..300).contains(&status) {
                return Ok(ExitCode::from(1));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[tokio::main]
async fn main() -> ExitCode {
    let filter = EnvFilter::try_from_env("VEIL_STACK_LOG")
        .unwrap_or_else(|_| EnvFilter::new("warn,veil_relayer=info"));
    tracing_subscriber::fmt().with_env_filter(filter).init();
    match run(Cli::parse()).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
