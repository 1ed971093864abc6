//! Prints the cost of one ECVRF prove, proof_to_hash and verify on this machine.
//!
//! ```sh
//! cargo run --profile perf -p veil-vrf --bin vrf-bench
//! ```

use std::time::Instant;

fn main() {
    let key = veil_vrf::SecretKey::from_bytes(&[7; 32]);
    let public = key.public_key();
    let n = 5_000u32;
    let mut alpha = [0u8; 32];
    let mut proofs = Vec::with_capacity(n as usize);
    let started = Instant::now();
    for i in 0..n {
        alpha[..4].copy_from_slice(&i.to_be_bytes());
        proofs.push(key.prove(&alpha));
    }
    let prove = started.elapsed() / n;
    let started = Instant::now();
    for pi in &proofs {
        std::hint::black_box(veil_vrf::proof_to_hash(pi).expect("valid"));
    }
    let to_hash = started.elapsed() / n;
    let started = Instant::now();
    for (i, pi) in proofs.iter().enumerate().take(1_000) {
        alpha[..4].copy_from_slice(&(i as u32).to_be_bytes());
        std::hint::black_box(veil_vrf::verify(&public, pi, &alpha).expect("valid"));
    }
    let verify = started.elapsed() / 1_000;
    let started = Instant::now();
    for i in 0..n {
        alpha[..4].copy_from_slice(&i.to_be_bytes());
        std::hint::black_box(key.prove_with_output(&alpha));
    }
    let both = started.elapsed() / n;
    println!("ECVRF-EDWARDS25519-SHA512-TAI, {n} proofs, one thread:");
    println!("  prove          {:>8.1} µs", prove.as_secs_f64() * 1e6);
    println!("  proof_to_hash  {:>8.1} µs", to_hash.as_secs_f64() * 1e6);
    println!("  verify         {:>8.1} µs", verify.as_secs_f64() * 1e6);
    println!(
        "  prove_with_output (what a mint costs) {:>6.1} µs",
        both.as_secs_f64() * 1e6
    );
}
