//! The fuzz targets of `fuzz/` in their bounded form (issue 18): each target runs every file
//! of its checked-in corpus (`fuzz/corpus/<target>/`), then mutations of them from a seeded
//! generator. The coverage-guided run is `cargo fuzz` (`docs/reliability.md`).
//!
//! `VEIL_FUZZ_ITERATIONS` sets the mutations per target (default 3,000), `VEIL_FUZZ_SEED` the
//! generator's seed (default: a fixed one, so CI is repeatable; a failure prints the seed and
//! the input). `cargo test -- --ignored fuzz::write_seed_corpus` rewrites the seed corpus
//! from the real builders.

mod corpus;
mod mutate;

use std::{
    panic::AssertUnwindSafe,
    path::{Path, PathBuf},
};

use veil_fuzz::TARGETS;

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target)
}

fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = corpus_dir(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `target` on its corpus and on mutations of it; panics naming the input that failed.
fn fuzz(target: &str) {
    let seeds = corpus(target);
    assert!(
        seeds.len() >= 3,
        "{target}: only {} seed files",
        seeds.len()
    );
    let iterations = env_u64("VEIL_FUZZ_ITERATIONS", 3_000);
    let seed = env_u64("VEIL_FUZZ_SEED", 0x5eed_1e55);
    let mut mutator = mutate::Mutator::new(seed, seeds.clone());
    let inputs = seeds
        .iter()
        .cloned()
        .chain((0..iterations).map(|_| mutator.next_input()));
    for (n, input) in inputs.enumerate() {
        let ran = std::panic::catch_unwind(AssertUnwindSafe(|| veil_fuzz::run(target, &input)));
        if let Err(panic) = ran {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            panic!(
                "fuzz target {target} failed on input {n} (VEIL_FUZZ_SEED={seed}): {message}\n\
                 input (hex): {}",
                hex::encode(&input)
            );
        }
    }
}

macro_rules! bounded {
    ($($name:ident),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                fuzz(stringify!($name));
            }
        )+

        #[test]
        fn every_target_has_a_bounded_run() {
            let bounded = [$(stringify!($name)),+];
            assert_eq!(bounded.as_slice(), TARGETS.as_slice());
            for target in TARGETS {
                let binary = Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join(format!("../fuzz/fuzz_targets/{target}.rs"));
                assert!(binary.exists(), "no cargo-fuzz binary for {target}");
            }
        }
    };
}

bounded!(
    chittyid,
    provisional_record,
    signature_headers,
    relayer_bodies,
    forwarded_transaction,
    siws_message,
    indexer_events,
    program_instructions,
);

#[test]
fn relayer_bodies_cover_every_documented_request_body() {
    // The relayer's OpenAPI document (kept equal to the live one by `clients::typescript`).
    let doc: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../clients/ts/openapi.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut documented = std::collections::BTreeSet::new();
    for operations in doc["paths"].as_object().unwrap().values() {
        for operation in operations.as_object().unwrap().values() {
            let schema =
                operation["requestBody"]["content"]["application/json"]["schema"].to_string();
            for name in schema.split("#/components/schemas/").skip(1) {
                documented.insert(name.split('"').next().unwrap().to_owned());
            }
        }
    }
    let covered: std::collections::BTreeSet<String> = veil_fuzz::BODY_SCHEMAS
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    assert_eq!(covered, documented);
}

#[test]
#[ignore = "rewrites fuzz/corpus from the real builders; run by hand"]
fn write_seed_corpus() {
    for (target, seeds) in corpus::seeds() {
        let dir = corpus_dir(target);
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in seeds {
            std::fs::write(dir.join(name), bytes).unwrap();
        }
    }
}
