//! [`run`]: source, then decode, then persist, until the source ends or the token is
//! cancelled.
//!
//! **Writers.** With [`RunConfig::writers`] above one, up to that many batches are being
//! written at once, each on its own connection, while the next batch is read and decoded. Their
//! commits may land in any order; the cursor may not. Each write therefore names the batch
//! before it ([`Persist::write_after`]) and moves the cursor only if the committed cursor has
//! reached that batch, in the same statement as its rows. Writes complete here in submission
//! order; when one could not move the cursor (its predecessor had not committed yet when it
//! looked), the cursor is moved over it with an empty batch once every batch before it has
//! committed. The committed cursor thus always ends a committed prefix of the stream, and a
//! restart from it replays at most the batches that were in flight, whose rows are idempotent.

use std::{future::Future, pin::Pin, sync::atomic::Ordering};

use futures::{stream::FuturesOrdered, StreamExt};
use tokio_util::sync::CancellationToken;

use crate::{
    decode::{decode, Counters},
    persist::{Batch, Cursor, Persist, PersistError},
    source::{SlotStatus, Source, SourceError, Update},
};

/// How [`run`] batches and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunConfig {
    /// At most this many transactions per database transaction. A batch also closes as soon
    /// as the source has nothing ready, so latency stays low when traffic is.
    pub max_batch_txs: usize,
    /// Batches written at once (at least one; see the module's rule on the cursor).
    pub writers: usize,
}

impl Default for RunConfig {
    fn default() -> Self {
        Self {
            max_batch_txs: 512,
            writers: 2,
        }
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

/// A write in flight: whether it covered its batch, and the batch's position.
type Write<'a> =
    Pin<Box<dyn Future<Output = Result<(bool, Option<Cursor>), PersistError>> + Send + 'a>>;

/// The writes in flight, completed in submission order.
struct Writes<'a, P> {
    store: &'a P,
    limit: usize,
    in_flight: FuturesOrdered<Write<'a>>,
    /// The position of the last batch submitted: the predecessor of the next.
    last: Option<Cursor>,
}

impl<'a, P: Persist> Writes<'a, P> {
    fn new(store: &'a P, limit: usize) -> Self {
        Self {
            store,
            limit: limit.max(1),
            in_flight: FuturesOrdered::new(),
            last: None,
        }
    }

    fn busy(&self) -> bool {
        !self.in_flight.is_empty()
    }

    /// Starts writing `batch` (if it holds anything), after completing the oldest write if the
    /// limit is reached.
    async fn submit(&mut self, batch: Batch, txs: usize) -> Result<(), PersistError> {
        if txs == 0 && batch.events.is_empty() {
            return Ok(());
        }
        while self.in_flight.len() >= self.limit {
            self.complete_one().await?;
        }
        let after = match &batch.cursor {
            Some(cursor) => self.last.replace(cursor.clone()),
            None => self.last.clone(),
        };
        let store = self.store;
        self.in_flight.push_back(Box::pin(async move {
            let covered = store.write_after(&batch, after.as_ref()).await?;
            Ok((covered, batch.cursor))
        }));
        Ok(())
    }

    /// Completes the oldest write in flight.
    async fn complete_one(&mut self) -> Result<(), PersistError> {
        match self.in_flight.next().await {
            Some(done) => self.settle(done).await,
            None => Ok(()),
        }
    }

    /// Settles a completed write: if it could not move the cursor, every batch before it is
    /// now committed (writes complete in order), so the cursor moves over it alone.
    async fn settle(
        &mut self,
        done: Result<(bool, Option<Cursor>), PersistError>,
    ) -> Result<(), PersistError> {
        if let (false, Some(cursor)) = done? {
            let empty = Batch {
                events: Vec::new(),
                cursor: Some(cursor),
            };
            self.store.write(&empty).await?;
        }
        Ok(())
    }

    /// Completes every write in flight.
    async fn drain(&mut self) -> Result<(), PersistError> {
        while self.busy() {
            self.complete_one().await?;
        }
        Ok(())
    }

    /// After a rollback the cursor may stand before the last batch: the next write starts a
    /// new chain.
    fn restart_chain(&mut self) {
        self.last = None;
    }
}

/// Runs the pipeline until the source ends (`Ok`) or `cancel` fires (`Ok`, after the batch in
/// hand is written). Every batch goes to `store` with the cursor of its last transaction; a
/// [`SlotStatus::Dead`] first writes what came before it, then rolls the slot back and has
/// the source read again from the rewound cursor; a [`SlotStatus::Finalized`] moves the
/// store's finality watermark. When the source fails, what it delivered before is written,
/// then the error is returned.
pub async fn run<S: Source, P: Persist>(
    source: &mut S,
    store: &P,
    counters: &Counters,
    cancel: &CancellationToken,
    config: RunConfig,
) -> Result<(), RunError> {
    let mut writes = Writes::new(store, config.writers);
    let result = stream(source, &mut writes, counters, cancel, config).await;
    // Whatever ended the stream, the writes in flight complete (or the first error is kept).
    let drained = writes.drain().await;
    result?;
    drained?;
    Ok(())
}

async fn stream<S: Source, P: Persist>(
    source: &mut S,
    writes: &mut Writes<'_, P>,
    counters: &Counters,
    cancel: &CancellationToken,
    config: RunConfig,
) -> Result<(), RunError> {
    let mut batch = Batch::default();
    let mut txs = 0usize;
    loop {
        // Wait for the first update of a batch, completing writes meanwhile; then take what
        // is ready, up to the limit.
        let first = tokio::select! {
            biased;
            () = cancel.cancelled() => return Ok(()),
            // Cancel-safe: a write that completes stays queued until taken.
            Some(done) = writes.in_flight.next(), if writes.busy() => {
                writes.settle(done).await?;
                continue;
            }
            update = source.next() => update,
        };
        let mut update = first;
        loop {
            match update {
                Err(error) => {
                    writes.submit(std::mem::take(&mut batch), txs).await?;
                    return Err(error.into());
                }
                Ok(None) => {
                    writes.submit(std::mem::take(&mut batch), txs).await?;
                    return Ok(());
                }
                Ok(Some(Update::Tx(tx))) => {
                    batch.events.extend(decode(&tx, counters));
                    batch.cursor = Some(Cursor {
                        slot: tx.slot,
                        index_in_slot: tx.index_in_slot,
                        signature: Some(tx.signature),
                    });
                    txs += 1;
                }
                Ok(Some(Update::Slot(SlotStatus::Dead(slot)))) => {
                    writes.submit(std::mem::take(&mut batch), txs).await?;
                    txs = 0;
                    writes.drain().await?;
                    let removed = writes.store.rollback_slot(slot).await?;
                    writes.restart_chain();
                    counters.dead_slots.fetch_add(1, Ordering::Relaxed);
                    tracing::info!(slot, removed, "dead slot rolled back");
                    // Read again from the rewound cursor: what follows comes from the fork
                    // that survived (rows already written are kept by the idempotent inserts).
                    if let Some(cursor) = writes.store.cursor().await? {
                        source.rewind(&cursor).await;
                    }
                }
                Ok(Some(Update::Slot(SlotStatus::Finalized(slot)))) => {
                    writes.store.set_finalized(slot).await?;
                }
            }
            if txs >= config.max_batch_txs || cancel.is_cancelled() {
                break;
            }
            match ready(source).await {
                Some(next) => update = next,
                None => break,
            }
        }
        writes.submit(std::mem::take(&mut batch), txs).await?;
        txs = 0;
    }
}
