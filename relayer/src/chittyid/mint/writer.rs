//! Group commit of minted IDs.
//!
//! Mint handlers enqueue their row and await the outcome. Writer tasks take everything queued
//! (up to `max_rows`), insert it with one `INSERT … SELECT FROM UNNEST … ON CONFLICT DO NOTHING
//! RETURNING id` in one transaction, and answer each waiter only after the commit, so an
//! answered mint is durable (`synchronous_commit` is left at its default, `on`). Under load the
//! batches grow by themselves while the previous commit is flushing; idle, a mint commits alone.
//! The same transaction records a `chittyid.minted` event per inserted ID in the outbox (for
//! the keys `FF_WEBHOOKS` admits), so an event exists exactly when its ID does.

use std::{collections::HashSet, sync::Arc};

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot, Mutex};

use super::row::MintRow;
use crate::{
    chittyid::store,
    chittyid::store::StoreError,
    platform::{
        metrics::Metrics,
        outbox::{self, NewEvent, Outbox},
    },
};

/// `chittyid.minted` (the webhooks' catalogue names it too).
pub const MINTED_EVENT: &str = "chittyid.minted";

/// Whether a queued row was inserted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Commit {
    /// Inserted and committed.
    Inserted,
    /// Its `(namespace, YYMM, sequence)` is taken: retry with the next counter.
    Collision,
    /// Another mint with its `Idempotency-Key` committed first; this one was not kept.
    Replayed,
}

struct Job {
    row: MintRow,
    reply: oneshot::Sender<Result<(Commit, MintRow), Arc<StoreError>>>,
}

/// The queue in front of the writers.
#[derive(Clone)]
pub struct CommitQueue {
    tx: mpsc::Sender<Job>,
}

/// The queue was closed (shutdown) or a writer died.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    /// The store failed.
    #[error(transparent)]
    Store(Arc<StoreError>),
    /// The writers are gone.
    #[error("the commit queue is closed")]
    Closed,
}

impl CommitQueue {
    /// Starts `writers` writer tasks on the current runtime.
    pub fn start(
        pool: PgPool,
        max_rows: usize,
        writers: usize,
        metrics: Metrics,
        outbox: Outbox,
    ) -> Self {
        let max_rows = max_rows.max(1);
        let (tx, rx) = mpsc::channel::<Job>(max_rows.saturating_mul(8));
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..writers.max(1) {
            tokio::spawn(run_writer(
                pool.clone(),
                rx.clone(),
                max_rows,
                metrics.clone(),
                outbox.clone(),
            ));
        }
        Self { tx }
    }

    /// Enqueues `row` and waits for its commit; the row comes back with the outcome.
    pub async fn insert(&self, row: MintRow) -> Result<(Commit, MintRow), QueueError> {
        let (reply, outcome) = oneshot::channel();
        self.tx
            .send(Job { row, reply })
            .await
            .map_err(|_| QueueError::Closed)?;
        match outcome.await {
            Ok(Ok(commit)) => Ok(commit),
            Ok(Err(e)) => Err(QueueError::Store(e)),
            Err(_) => Err(QueueError::Closed),
        }
    }
}

async fn run_writer(
    pool: PgPool,
    rx: Arc<Mutex<mpsc::Receiver<Job>>>,
    max_rows: usize,
    metrics: Metrics,
    outbox: Outbox,
) {
    let mut jobs: Vec<Job> = Vec::with_capacity(max_rows);
    loop {
        {
            let mut rx = rx.lock().await;
            if rx.recv_many(&mut jobs, max_rows).await == 0 {
                return; // every sender is gone
            }
        }
        metrics.mint_commit_rows.observe(jobs.len() as f64);
        let result = commit(&pool, &jobs, &outbox).await;
        match result {
            Ok((inserted, replayed)) => {
                for job in jobs.drain(..) {
                    let outcome = if inserted.contains(&job.row.id) {
                        Commit::Inserted
                    } else if replayed.contains(&job.row.id) {
                        Commit::Replayed
                    } else {
                        Commit::Collision
                    };
                    let _ = job.reply.send(Ok((outcome, job.row)));
                }
            }
            Err(e) => {
                let e = Arc::new(e);
                for job in jobs.drain(..) {
                    let _ = job.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// Inserts one group. Two rows of the same group that claim the same ID or the same
/// `(namespace, YYMM, sequence)` cannot both win: only the first is sent, the others collide.
/// A row sent with an `Idempotency-Key` keeps its ID only if it records the key first; one
/// that finds the key taken (by a committed mint, or an earlier row of the group) is removed
/// again in the same transaction and answered [`Commit::Replayed`]. The inserted and the
/// replayed IDs.
async fn commit(
    pool: &PgPool,
    jobs: &[Job],
    outbox: &Outbox,
) -> Result<(HashSet<String>, HashSet<String>), StoreError> {
    let mut seen = HashSet::with_capacity(jobs.len());
    let rows: Vec<&MintRow> = jobs
        .iter()
        .map(|j| &j.row)
        .filter(|r| seen.insert((r.namespace.as_str(), r.yymm.as_str(), r.sequence.as_str())))
        .collect();
    let mut tx = pool.begin().await?;
    let mut inserted = store::insert_ids(&mut *tx, &rows).await?;
    let keyed: Vec<&MintRow> = rows
        .iter()
        .copied()
        .filter(|r| r.idempotency.is_some() && inserted.contains(&r.id))
        .collect();
    let mut replayed = HashSet::new();
    if !keyed.is_empty() {
        let kept = store::record_idempotency(&mut *tx, &keyed).await?;
        replayed = keyed
            .iter()
            .filter(|r| !kept.contains(&r.id))
            .map(|r| r.id.clone())
            .collect();
        if !replayed.is_empty() {
            store::delete_ids(&mut *tx, &replayed).await?;
            inserted.retain(|id| !replayed.contains(id));
        }
    }
    let with_metadata: Vec<&MintRow> = rows
        .iter()
        .copied()
        .filter(|r| r.metadata.is_some() && inserted.contains(&r.id))
        .collect();
    if !with_metadata.is_empty() {
        store::insert_metadata(&mut *tx, &with_metadata).await?;
    }
    let events: Vec<NewEvent> = rows
        .iter()
        .filter(|r| inserted.contains(&r.id) && outbox.wants(r.api_key_id.as_deref()))
        .map(|r| NewEvent {
            event_type: MINTED_EVENT,
            audience: r.api_key_id.clone(),
            subject: r.id.clone(),
            data: serde_json::json!({
                "id": r.id,
                "namespace": r.namespace,
                "entity_type": r.entity.letter().to_string(),
                "trust_level": r.trust,
                "drand_round": r.round,
                "content_sha256": hex::encode(r.content_hash),
            }),
            chain: None,
        })
        .collect();
    // Filtered by `wants` above, before any JSON is built: recorded as they are.
    if !events.is_empty() {
        outbox::record_admitted(&mut tx, events.iter()).await?;
    }
    tx.commit().await?;
    Ok((inserted, replayed))
}
