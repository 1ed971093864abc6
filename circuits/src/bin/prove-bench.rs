//! Proving benchmark for the depth-20 ownership circuit.
//!
//! `cargo run -p veil-circuits --features dev-keys --bin prove-bench [-- <single-proofs> <batch-size>]` prints the
//! median and spread of single proofs (one proof parallelized over every core) and the
//! throughput of a batch (one single-threaded prover per core). Includes witness synthesis and
//! the prover's pairing self-check.

use std::time::{Duration, Instant};

use veil_circuits::{identity, keys, OwnershipWitness, Prover, DEFAULT_DEPTH};
use veil_merkle::Tree;
use veil_poseidon::Fr;

fn witnesses(count: usize) -> Vec<OwnershipWitness> {
    let track_id = Fr::from(9u64);
    let secrets: Vec<Fr> = (0..count as u64)
        .map(|i| identity::secret_from_signature(&i.to_be_bytes()))
        .collect();
    let leaves = secrets
        .iter()
        .enumerate()
        .map(|(i, s)| identity::leaf(&identity::commitment(s), &Fr::from(i as u64), &track_id))
        .collect();
    let tree = Tree::from_leaves(DEFAULT_DEPTH, leaves).expect("tree");
    secrets
        .iter()
        .enumerate()
        .map(|(i, s)| OwnershipWitness {
            secret: *s,
            token_id: Fr::from(i as u64),
            track_id,
            scope: Fr::from(0u64),
            signal_hash: Fr::from(1u64),
            path: tree.proof(i as u64).expect("path"),
        })
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let mut args = std::env::args().skip(1);
    let singles: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(30);
    let batch: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(16);

    let started = Instant::now();
    let pk = keys::generate(DEFAULT_DEPTH, keys::DEV_SEED).expect("keygen");
    let prover = Prover::new(pk, DEFAULT_DEPTH).expect("prover");
    println!(
        "depth {DEFAULT_DEPTH}: {} constraints, setup {:.0} ms, {} cores",
        prover.num_constraints(),
        ms(started.elapsed()),
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let ws = witnesses(singles.max(batch));
    prover.prove(&ws[0]).expect("warm-up");

    let mut times: Vec<Duration> = ws[..singles]
        .iter()
        .map(|w| {
            let t = Instant::now();
            prover.prove(w).expect("prove");
            t.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "single proof (all cores):  n={singles}  median={:.1} ms  min={:.1} ms  p90={:.1} ms",
        ms(times[times.len() / 2]),
        ms(times[0]),
        ms(times[times.len() * 9 / 10])
    );

    let (proof, inputs) = prover.prove(&ws[0]).expect("prove");
    let checks = 50u32;
    let t = Instant::now();
    for _ in 0..checks {
        veil_zk::verify(&proof, &inputs).expect("verify");
    }
    println!(
        "on-chain verifier code (groth16-solana, host syscall emulation): {:.2} ms per proof",
        ms(t.elapsed()) / f64::from(checks)
    );

    let t = Instant::now();
    let results = prover.prove_batch(&ws[..batch]);
    let elapsed = t.elapsed();
    assert!(
        results.iter().all(Result::is_ok),
        "every batch proof succeeds"
    );
    println!(
        "batch of {batch} (1 thread per core): {:.0} ms total, {:.1} proofs/s, {:.1} ms per proof",
        ms(elapsed),
        batch as f64 / elapsed.as_secs_f64(),
        ms(elapsed) / batch as f64
    );
}
