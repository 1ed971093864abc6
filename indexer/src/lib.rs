//! The indexer: program events into PostgreSQL.
//!
//! A pipeline of three small stages, stopped by a [`CancellationToken`]
//! (`tokio_util::sync::CancellationToken`):
//!
//! 1. a [`Source`] yields transport-free [`Update`]s: a landed transaction ([`TxUpdate`]) or a
//!    slot status ([`SlotStatus::Dead`]). [`grpc::GrpcSource`] converts Yellowstone gRPC
//!    updates into these and [`rpc::RpcBackfill`] JSON-RPC history ([`gaps`] joins them); tests
//!    also feed real transactions executed on the in-process chain through a [`ChannelSource`];
//! 2. [`decode`] turns a transaction's `emit_cpi!` inner instructions into [`DecodedEvent`]s,
//!    each keyed by (signature, instruction index, event index), through the shared client
//!    crate's decoders; undecodable data is counted in [`Counters`] and logged, never fatal;
//! 3. a [`Persist`] store ([`PgStore`]) writes a batch of events and the [`Cursor`] that covers
//!    them in one transaction, idempotently, and removes the rows of a dead slot.
//!
//! [`run`] drives them. [`api::app`] serves the analytics queries and [`metrics`] the Prometheus
//! counters. See `docs/indexer.md`.
//!
//! [`CancellationToken`]: tokio_util::sync::CancellationToken

pub mod api;
pub mod decode;
pub mod gaps;
pub mod grpc;
pub mod metrics;
pub mod persist;
pub mod pipeline;
pub mod rpc;
pub mod source;

pub use decode::{decode, Counters, DecodedEvent, ProgramEvent};
pub use persist::{Batch, Cursor, Persist, PersistError, PgStore};
pub use pipeline::{run, RunConfig, RunError};
pub use source::{ChannelSource, InnerIx, SlotStatus, Source, SourceError, TxUpdate, Update};

/// The embedded migrations (`migrations/` at the workspace root, shared with the relayer).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");
