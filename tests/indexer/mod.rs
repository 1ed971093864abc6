//! The indexer (`veil-indexer`) over real transactions: every test executes the programs on
//! the in-process chain, turns what landed into the source's `TxUpdate`s, runs the pipeline
//! into a fresh migrated PostgreSQL database, and compares the rows with the events decoded
//! independently from the same transactions.

mod api;
mod grpc;
mod pipeline;
mod rpc;
pub(crate) mod support;
