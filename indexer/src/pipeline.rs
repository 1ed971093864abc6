//! [`run`]: source, then decode, then persist, until the source ends or the token is
//! cancelled.

use std::{future::Future, sync::atomic::Ordering};

use tokio_util::sync::CancellationToken;

use crate::{
    decode::{decode, Counters},
    persist::{Batch, Cursor, Persist, PersistError},
    source::{SlotStatus, Source, SourceError, Update},
};

/// How [`run`] batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunConfig {
    /// At most this many transactions per database transaction. A batch also closes as soon
    /// as the source has nothing ready, so latency stays low when traffic is.
    pub max_batch_txs: usize,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self { max_batch_txs: 512 }
    }
}

/// Why [`run`] stopped early.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The source failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The store failed.
    #[error(transparent)]
    Persist(#[from] PersistError),
}

/// Pulls one update if the source has one ready, without waiting.
async fn ready<S: Source>(source: &mut S) -> Option<Result<Option<Update>, SourceError>> {
    let next = source.next();
    tokio::select! {
        biased;
        update = next => Some(update),
        () = std::future::ready(()) => None,
    }
}

async fn next_or_cancel<F: Future>(cancel: &CancellationToken, next: F) -> Option<F::Output> {
    tokio::select! {
        biased;
        () = cancel.cancelled() => None,
        update = next => Some(update),
    }
}

/// Runs the pipeline until the source ends (`Ok`) or `cancel` fires (`Ok`, after the batch in
/// hand is written). Every batch goes to `store` with the cursor of its last transaction; a
/// [`SlotStatus::Dead`] first writes what came before it, then rolls the slot back.
pub async fn run<S: Source, P: Persist>(
    source: &mut S,
    store: &P,
    counters: &Counters,
    cancel: &CancellationToken,
    config: RunConfig,
) -> Result<(), RunError> {
    let mut batch = Batch::default();
    let mut txs = 0usize;
    loop {
        // Wait for the first update of a batch; then take what is ready, up to the limit.
        let first = match next_or_cancel(cancel, source.next()).await {
            None => break,
            Some(update) => update?,
        };
        let mut update = first;
        loop {
            match update {
                None => {
                    flush(store, &mut batch, &mut txs).await?;
                    return Ok(());
                }
                Some(Update::Tx(tx)) => {
                    batch.events.extend(decode(&tx, counters));
                    batch.cursor = Some(Cursor {
                        slot: tx.slot,
                        index_in_slot: tx.index_in_slot,
                        signature: Some(tx.signature),
                    });
                    txs += 1;
                }
                Some(Update::Slot(SlotStatus::Dead(slot))) => {
                    flush(store, &mut batch, &mut txs).await?;
                    let removed = store.rollback_slot(slot).await?;
                    counters.dead_slots.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(slot, removed, "dead slot rolled back");
                }
            }
            if txs >= config.max_batch_txs || cancel.is_cancelled() {
                break;
            }
            match ready(source).await {
                Some(next) => update = next?,
                None => break,
            }
        }
        flush(store, &mut batch, &mut txs).await?;
    }
    flush(store, &mut batch, &mut txs).await?;
    Ok(())
}

async fn flush<P: Persist>(
    store: &P,
    batch: &mut Batch,
    txs: &mut usize,
) -> Result<(), PersistError> {
    if *txs == 0 && batch.events.is_empty() {
        return Ok(());
    }
    store.write(batch).await?;
    *batch = Batch::default();
    *txs = 0;
    Ok(())
}
