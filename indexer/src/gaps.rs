//! Gap handling: when the live gRPC source cannot replay from the persisted cursor, or skips
//! blocks while streaming, the RPC backfill fills the slots in between, and the live source
//! resumes after them.
//!
//! **The rule.** [`run_live`] reads the persisted [`Cursor`] and runs a [`GrpcSource`] from
//! it. The source ends with a range to backfill in two cases:
//! - [`GrpcError::ReplayUnavailable`] `{ from_slot, first_available }` on (re)subscribing: the
//!   slots `[from_slot, first_available]`;
//! - [`GrpcError::Gap`] `{ from_slot, to_slot, .. }` while streaming (a block meta whose parent
//!   is newer than the last block seen): the slots `[from_slot, to_slot]`. The pipeline has
//!   committed everything the source delivered before it ([`run`] writes what it holds before
//!   returning a source error), which is every transaction before `from_slot`.
//!
//! The range is backfilled through [`RpcBackfill`] into the same store with the same [`run`],
//! then the cursor is set to the end of its last slot ([`Cursor::end_of_slot`]) and the gRPC
//! source is started again from there: its replay of that slot is skipped whole, because the
//! backfill delivered every confirmed transaction of it. Writes are idempotent, so what the
//! backfill rewrites (a slot already partly indexed) changes nothing.
//!
//! The backfill's `index_in_slot` is the transaction's position in its block (`getBlock`), the
//! same index the live stream gives, so its cursor is exact: if the process stops during a
//! backfill, the next start resumes from there and the live source's refusal (or gap) brings
//! the rest of the range back.

use std::sync::{atomic::Ordering, Arc};

use tokio_util::sync::CancellationToken;

use crate::{
    decode::Counters,
    grpc::{GrpcConfig, GrpcError, GrpcSource, GrpcStats},
    persist::{Batch, Cursor, Persist, PersistError},
    pipeline::{run, RunConfig, RunError},
    rpc::{RpcBackfill, RpcConfig, RpcError, SlotRange},
};

/// What [`run_live`] needs.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// The live source.
    pub grpc: GrpcConfig,
    /// The backfill.
    pub rpc: RpcConfig,
    /// Batching, for both.
    pub run: RunConfig,
    /// Backfills in a row that leave the live source still refusing, before giving up.
    pub max_backfills: u32,
}

impl LiveConfig {
    /// Both sources, default batching, at most 3 backfills in a row.
    pub fn new(grpc: GrpcConfig, rpc: RpcConfig) -> Self {
        Self {
            grpc,
            rpc,
            run: RunConfig::default(),
            max_backfills: 3,
        }
    }
}

/// Why [`run_live`] stopped early.
#[derive(Debug, thiserror::Error)]
pub enum GapError {
    /// The live pipeline failed (other than by a replay refusal).
    #[error("live pipeline")]
    Live(#[source] RunError),
    /// The backfill could not start.
    #[error("backfill of slots {from_slot}..={to_slot} cannot start")]
    BackfillStart {
        /// First slot of the gap.
        from_slot: u64,
        /// Last slot of the gap.
        to_slot: u64,
        /// Why.
        #[source]
        source: RpcError,
    },
    /// The backfill pipeline failed.
    #[error("backfill of slots {from_slot}..={to_slot}")]
    Backfill {
        /// First slot of the gap.
        from_slot: u64,
        /// Last slot of the gap.
        to_slot: u64,
        /// Why.
        #[source]
        source: RunError,
    },
    /// The store failed (reading or moving the cursor).
    #[error(transparent)]
    Persist(#[from] PersistError),
    /// The live source still refuses after `backfills` backfills in a row.
    #[error("the live source still cannot replay after {backfills} backfills")]
    StillUnavailable {
        /// Backfills made.
        backfills: u32,
    },
    /// The live source showed the same gap again right after it was backfilled.
    #[error("the live source skips slots {from_slot}..={to_slot} again after their backfill")]
    GapRepeats {
        /// First slot of the gap.
        from_slot: u64,
        /// Last slot of the gap.
        to_slot: u64,
    },
}

/// What [`run_live`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GapReport {
    /// The gaps backfilled, as `(from_slot, to_slot)`.
    pub backfilled: Vec<(u64, u64)>,
}

/// Runs the live gRPC source from the persisted cursor, backfilling over RPC whenever it
/// cannot replay from there or skips blocks (the module's rule). The live sources count into
/// `stats`. Returns when the live source ends or `cancel` fires.
pub async fn run_live<P: Persist>(
    store: &P,
    counters: &Counters,
    stats: &Arc<GrpcStats>,
    cancel: &CancellationToken,
    config: &LiveConfig,
) -> Result<GapReport, GapError> {
    let mut report = GapReport::default();
    let mut refusals_in_a_row = 0u32;
    let mut last_gap = None;
    loop {
        let cursor = store.cursor().await?;
        let mut live = GrpcSource::spawn_with_stats(config.grpc.clone(), cursor, stats.clone());
        let error = match run(&mut live, store, counters, cancel, config.run).await {
            Ok(()) => return Ok(report),
            Err(RunError::Source(error)) => error,
            Err(error) => return Err(GapError::Live(error)),
        };
        let (from_slot, to_slot) = match GrpcError::of(&error) {
            Some(&GrpcError::ReplayUnavailable {
                from_slot,
                first_available,
            }) => {
                if refusals_in_a_row >= config.max_backfills {
                    return Err(GapError::StillUnavailable {
                        backfills: refusals_in_a_row,
                    });
                }
                refusals_in_a_row += 1;
                tracing::warn!(
                    from_slot,
                    first_available,
                    "live source cannot replay; backfilling over RPC"
                );
                (from_slot, first_available)
            }
            Some(&GrpcError::Gap {
                from_slot, to_slot, ..
            }) => {
                refusals_in_a_row = 0;
                if last_gap == Some((from_slot, to_slot)) {
                    return Err(GapError::GapRepeats { from_slot, to_slot });
                }
                last_gap = Some((from_slot, to_slot));
                tracing::warn!(
                    from_slot,
                    to_slot,
                    "live source skipped slots; backfilling over RPC"
                );
                (from_slot, to_slot)
            }
            _ => return Err(GapError::Live(RunError::Source(error))),
        };
        drop(live);
        backfill(store, counters, cancel, config, from_slot, to_slot).await?;
        if cancel.is_cancelled() {
            return Ok(report);
        }
        counters.backfills.fetch_add(1, Ordering::Relaxed);
        counters.backfilled_slots.fetch_add(
            to_slot.saturating_sub(from_slot).saturating_add(1),
            Ordering::Relaxed,
        );
        report.backfilled.push((from_slot, to_slot));
    }
}

/// Backfills `[from_slot, to_slot]` into `store`, then moves the cursor to the end of
/// `to_slot` (see the module's rule).
pub async fn backfill<P: Persist>(
    store: &P,
    counters: &Counters,
    cancel: &CancellationToken,
    config: &LiveConfig,
    from_slot: u64,
    to_slot: u64,
) -> Result<(), GapError> {
    let mut source = RpcBackfill::spawn(config.rpc.clone(), SlotRange::new(from_slot, to_slot))
        .map_err(|source| GapError::BackfillStart {
            from_slot,
            to_slot,
            source,
        })?;
    run(&mut source, store, counters, cancel, config.run)
        .await
        .map_err(|source| GapError::Backfill {
            from_slot,
            to_slot,
            source,
        })?;
    if !cancel.is_cancelled() {
        store
            .write(&Batch {
                events: Vec::new(),
                cursor: Some(Cursor::end_of_slot(to_slot)),
            })
            .await?;
    }
    Ok(())
}
