//! `idl-gen write | check`: both programs' Anchor IDL, built by Anchor's own IDL builder
//! (`anchor_lang_idl::build::IdlBuilder`: `cargo test __anchor_private_print_idl` with the
//! programs' `idl-build` feature, on the host; no SBF toolchain), written to or compared with
//! `idl/<program>.json`. `scripts/idl.sh` runs it; `.ci/run` fails when `idl/` is stale.

use std::{path::PathBuf, process::ExitCode};

use anchor_lang_idl::build::IdlBuilder;

/// Each program with the features its library builds with here: the registry's public inputs
/// need the compiled verifying key, the development one.
const PROGRAMS: [(&str, &[&str]); 2] = [("registry", &["dev-keys"]), ("challenge", &[])];

fn root() -> PathBuf {
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    root.canonicalize().unwrap_or(root)
}

/// The IDL of `program`, pretty, with a final newline.
fn build(program: &str, features: &[&str]) -> Result<String, String> {
    let mut args = vec!["--lib".to_owned(), "--locked".to_owned()];
    if !features.is_empty() {
        args.extend(["--features".to_owned(), features.join(",")]);
    }
    let idl = IdlBuilder::new()
        .program_path(root().join("programs").join(program))
        .resolution(true)
        .cargo_args(args)
        .build()
        .map_err(|e| format!("{program}: {e:#}"))?;
    serde_json::to_string_pretty(&idl)
        .map(|json| json + "\n")
        .map_err(|e| format!("{program}: {e}"))
}

fn main() -> ExitCode {
    let write = match std::env::args().nth(1).as_deref() {
        Some("write") => true,
        Some("check") => false,
        _ => {
            eprintln!("usage: idl-gen write | check");
            return ExitCode::from(2);
        }
    };
    let mut stale = Vec::new();
    for (program, features) in PROGRAMS {
        let built = match build(program, features) {
            Ok(json) => json,
            Err(error) => {
                eprintln!("idl-gen: building the IDL failed: {error}");
                return ExitCode::FAILURE;
            }
        };
        let path = root().join("idl").join(format!("{program}.json"));
        if write {
            if let Err(error) = std::fs::write(&path, &built) {
                eprintln!("idl-gen: {}: {error}", path.display());
                return ExitCode::FAILURE;
            }
            eprintln!("idl-gen: wrote {}", path.display());
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(built.as_str()) {
            stale.push(format!("idl/{program}.json"));
        }
    }
    if stale.is_empty() {
        if !write {
            eprintln!("idl-gen: idl/ is current");
        }
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "idl-gen: {} stale: run `bash scripts/idl.sh write` and commit it",
            stale.join(", ")
        );
        ExitCode::FAILURE
    }
}
