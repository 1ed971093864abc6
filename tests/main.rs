//! The single integration-test binary. Modules mirror the programs' instructions:
//! `registry/<instruction>.rs`; `harness/` proves the in-process chain behaves as on-chain.

mod anchor_toml;
mod app;
mod challenge;
mod clients;
mod common;
mod conformance;
mod evm;
mod fallback;
mod fuzz;
mod harness;
mod indexer;
mod localnet;
mod ops;
mod registry;
mod relayer;
mod reliability;
mod webhooks;
mod zk;
