//! Builds a full 2^20-leaf Poseidon tree and reports the time, then times single inserts and
//! path extraction.
//!
//! `cargo run -p veil-merkle --bin tree-bench [-- <depth>]`

use std::time::Instant;

use veil_merkle::Tree;
use veil_poseidon::Fr;

fn main() {
    let depth: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20);
    let count = 1u64 << depth;
    let leaves: Vec<Fr> = (0..count).map(|i| Fr::from(i + 1)).collect();

    let started = Instant::now();
    let tree = Tree::from_leaves(depth, leaves).expect("tree");
    let build = started.elapsed();
    println!(
        "bulk build: {count} leaves, depth {depth}: {:.2} s ({:.2} µs per hash, {} threads)",
        build.as_secs_f64(),
        build.as_secs_f64() * 1e6 / (count as f64 - 1.0),
        rayon::current_num_threads()
    );

    let mut incremental = Tree::new(depth).expect("tree");
    let inserts = 2_000u64;
    let started = Instant::now();
    for i in 0..inserts {
        incremental.insert(Fr::from(i)).expect("insert");
    }
    println!(
        "insert: {:.1} µs per leaf (depth {depth})",
        started.elapsed().as_secs_f64() * 1e6 / inserts as f64
    );

    let started = Instant::now();
    for i in 0..inserts {
        let _ = tree.proof(i * 97 % count).expect("proof");
    }
    println!(
        "path extraction: {:.2} µs per path",
        started.elapsed().as_secs_f64() * 1e6 / inserts as f64
    );
}
