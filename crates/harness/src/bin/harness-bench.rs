//! Per-transaction cost of the in-process chain, in the same build profile the tests use.
//!
//! `cargo run --bin harness-bench [-- <transactions>]` prints the median and p99 wall time of
//! `publish_root` transactions (signature verification, the bridged Anchor program, one
//! `emit_cpi!` self-CPI) and of a plain system transfer for reference.

use std::time::{Duration, Instant};

use anchor_lang::solana_program::system_instruction;
use veil_harness::{scalar, Signer, TestBuilder};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn summarize(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let total: Duration = samples.iter().sum();
    println!(
        "{name:<28} n={:<6} median={:>7.3} ms  p99={:>7.3} ms  mean={:>7.3} ms",
        samples.len(),
        percentile(&samples, 0.5).as_secs_f64() * 1e3,
        percentile(&samples, 0.99).as_secs_f64() * 1e3,
        total.as_secs_f64() * 1e3 / samples.len() as f64,
    );
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(2_000);
    let track = scalar(1);
    let mut t = TestBuilder::new().build();
    t.create_track(track, 20, 0).expect("create_track");

    // Warm-up: first calls page in code and fill caches.
    for i in 0..50 {
        t.publish_root(track, scalar(10_000_000 + i), i + 1)
            .expect("warm-up");
    }

    let mut publish = Vec::with_capacity(n as usize);
    for i in 0..n {
        let started = Instant::now();
        t.publish_root(track, scalar(i + 1), 50 + i + 1)
            .expect("publish_root");
        publish.push(started.elapsed());
    }

    let from = t.wallet();
    let to = t.wallet();
    let mut transfer = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let ix = system_instruction::transfer(&from.pubkey(), &to.pubkey(), 1);
        let started = Instant::now();
        t.chain.send(&from, &[ix], &[]).expect("transfer");
        transfer.push(started.elapsed());
    }

    println!("in-process chain, dev profile (deps opt-level 1), 1 thread");
    summarize("publish_root (bridged)", publish);
    summarize("system transfer (builtin)", transfer);
}
