//! Generates the ownership circuit's development keys.
//!
//! ```text
//! cargo run -p veil-circuits --features dev-keys --bin keygen                  # write crates/zk/src/vk.rs and the proving key
//! cargo run -p veil-circuits --features dev-keys --bin keygen -- --check       # fail if crates/zk/src/vk.rs is stale
//! ```
//!
//! Keys from a public seed are for development only; see docs/ceremony.md.

use std::{path::PathBuf, process::ExitCode, time::Instant};

use clap::Parser;
use veil_circuits::{convert, keys, Prover, DEFAULT_DEPTH};

#[derive(Parser, Debug)]
#[command(about = "Generate the ownership circuit's deterministic development keys")]
struct Args {
    /// Merkle tree depth.
    #[arg(long, default_value_t = DEFAULT_DEPTH)]
    depth: usize,
    /// Where the verifying-key module goes (compiled into the registry program).
    #[arg(long, default_value = "crates/zk/src/vk.rs")]
    vk_module: PathBuf,
    /// Where the proving key goes (loaded by the relayer's prover).
    #[arg(
        long,
        env = "VEIL_PROVING_KEY",
        default_value = "keys/dev/ownership-d20.pk"
    )]
    proving_key: PathBuf,
    /// Only compare the regenerated module with the file; exit 1 if it differs.
    #[arg(long)]
    check: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let started = Instant::now();
    eprintln!(
        "generating depth-{} keys from the development seed …",
        args.depth
    );
    let pk = match keys::generate(args.depth, keys::DEV_SEED) {
        Ok(pk) => pk,
        Err(e) => {
            eprintln!("keygen failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let module = convert::vk_module(&pk.vk, args.depth, "development seed keys::DEV_SEED");
    eprintln!("setup done in {:.1} s", started.elapsed().as_secs_f64());

    if args.check {
        let current = std::fs::read_to_string(&args.vk_module).unwrap_or_default();
        if current == module {
            eprintln!("{} is up to date", args.vk_module.display());
            return ExitCode::SUCCESS;
        }
        eprintln!(
            "{} differs from the regenerated key: run keygen",
            args.vk_module.display()
        );
        return ExitCode::FAILURE;
    }

    if let Err(e) = std::fs::write(&args.vk_module, &module) {
        eprintln!("cannot write {}: {e}", args.vk_module.display());
        return ExitCode::FAILURE;
    }
    eprintln!("wrote {}", args.vk_module.display());
    if let Err(e) = keys::save_proving_key(&args.proving_key, &pk) {
        eprintln!("cannot write {}: {e}", args.proving_key.display());
        return ExitCode::FAILURE;
    }
    eprintln!("wrote {}", args.proving_key.display());
    match Prover::new(pk, args.depth) {
        Ok(prover) => eprintln!("circuit: {} constraints", prover.num_constraints()),
        Err(e) => eprintln!("warning: prover setup failed: {e}"),
    }
    ExitCode::SUCCESS
}
