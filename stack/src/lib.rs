//! `veil-stack`: the whole local stack in one command (the local chain, then the relayer, then
//! the indexer, on embedded defaults), its guided demo, the open-loop load of its challenge API (`veil-stack load`),
//! and the ownership-flow and gatekeeper benchmarks.

pub mod app;
pub mod bench;
pub mod client;
pub mod data;
pub mod demo;
pub mod load;
pub mod receiver;
pub mod services;
pub mod tokens;
pub mod up;
