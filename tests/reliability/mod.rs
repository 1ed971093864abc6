//! Crash and restart (issue 18): the relayer killed with SIGKILL in the middle of a mint load,
//! and its dependencies (PostgreSQL, Redis, the chain) taken away and given back under load;
//! and the open-loop load generator with the bounded form of its challenge-API run.
//! `docs/reliability.md` records the full-size figures and the commands.
//!
//! The relayer runs as a process of its own: this test binary started again with a filter
//! that runs only [`child::relayer`], which serves the relayer library (`veil_relayer::serve`,
//! what `veil-relayer serve` runs) until it is killed. (Cargo builds no `veil-relayer`
//! executable for the test run, and a nested `cargo build` would wait on this one's lock.)

pub mod child;
mod dependencies;
mod indexer_kill;
mod load;
mod relayer_kill;

/// A whole number from the environment, or `default`.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
