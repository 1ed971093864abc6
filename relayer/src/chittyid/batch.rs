//! ID batches (SPEC §5.4): unbatched IDs, oldest first, are cut into a batch when
//! `max_ids` are waiting or the oldest has waited `max_age`. Each batch is an RFC 6962 tree
//! (`veil_chittyid::batch`) whose root is stored with status `pending`; publishing it with
//! `registry::anchor_id_batch` (and moving it to `anchored`) is the chain layer's job.
//!
//! Cutting runs in one transaction with `FOR UPDATE SKIP LOCKED`, so two batchers (or two
//! relayer instances) never put an ID in two batches.

use std::{sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use veil_chittyid::batch::BatchTree;

use crate::chittyid::{store::StoreError, verify::Verifier};

/// When to cut.
#[derive(Debug, Clone, Copy)]
pub struct BatchPolicy {
    /// Cut when this many IDs are waiting (and never put more in one batch).
    pub max_ids: usize,
    /// Cut when the oldest waiting ID is this old.
    pub max_age: Duration,
}

/// A batch that was cut.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BatchSummary {
    /// Batch id.
    pub batch_id: i64,
    /// Root, hex.
    pub root: String,
    /// IDs in it.
    pub size: usize,
    /// `pending`.
    pub status: String,
}

/// Cuts batches.
pub struct Batcher {
    pool: PgPool,
    policy: BatchPolicy,
    verifier: Arc<Verifier>,
}

impl Batcher {
    /// A batcher.
    pub fn new(pool: PgPool, policy: BatchPolicy, verifier: Arc<Verifier>) -> Self {
        Self {
            pool,
            policy,
            verifier,
        }
    }

    /// Cuts one batch if the policy says so (or `force` and anything is waiting).
    pub async fn cut(&self, force: bool) -> Result<Option<BatchSummary>, StoreError> {
        let limit = i64::try_from(self.policy.max_ids.max(1)).unwrap_or(i64::MAX);
        let mut tx = self.pool.begin().await?;
        let rows: Vec<(String, bool)> = sqlx::query_as(
            "SELECT id, created_at <= now() - make_interval(secs => $2)
               FROM chittyids
              WHERE batch_id IS NULL
              ORDER BY created_at, id
              LIMIT $1
                FOR UPDATE SKIP LOCKED",
        )
        .bind(limit)
        .bind(self.policy.max_age.as_secs_f64())
        .fetch_all(&mut *tx)
        .await?;
        let full = rows.len() >= self.policy.max_ids.max(1);
        let old = rows.first().is_some_and(|(_, old)| *old);
        if rows.is_empty() || !(force || full || old) {
            // Release the row locks now: a dropped transaction is only rolled back when its
            // connection is returned to the pool, and a concurrent cut would skip these rows
            // until then.
            tx.rollback().await?;
            return Ok(None);
        }
        let ids: Vec<String> = rows.into_iter().map(|(id, _)| id).collect();
        let tree = BatchTree::new(&ids).expect("non-empty");
        let size = i32::try_from(ids.len()).unwrap_or(i32::MAX);
        // The batch's range of sequence numbers, from the one counter row: its lock orders
        // concurrent cuts, so ranges commit in the order they were taken.
        let batch_id: i64 = sqlx::query_scalar(
            "WITH range AS (UPDATE id_batch_sequence SET next_seq = next_seq + $2 \
                            RETURNING next_seq - $2 AS first_seq) \
             INSERT INTO id_batches (root, size, first_seq) \
             SELECT $1, $2, first_seq FROM range RETURNING id",
        )
        .bind(&tree.root()[..])
        .bind(size)
        .fetch_one(&mut *tx)
        .await?;
        let positions: Vec<i32> = (0..size).collect();
        sqlx::query(
            "UPDATE chittyids c SET batch_id = $1, batch_index = u.pos
               FROM UNNEST($2::text[], $3::int4[]) AS u(id, pos)
              WHERE c.id = u.id",
        )
        .bind(batch_id)
        .bind(&ids)
        .bind(&positions)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.verifier.invalidate(ids.iter().map(String::as_str));
        tracing::info!(batch_id, size = ids.len(), "cut ID batch");
        Ok(Some(BatchSummary {
            batch_id,
            root: hex::encode(tree.root()),
            size: ids.len(),
            status: "pending".into(),
        }))
    }

    /// Cuts batches every `tick` until the token is cancelled.
    pub async fn run(self: Arc<Self>, tick: Duration, stop: tokio::sync::watch::Receiver<bool>) {
        let mut stop = stop;
        loop {
            loop {
                match self.cut(false).await {
                    Ok(Some(_)) => continue,
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "batch cut failed; retrying next tick");
                        break;
                    }
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                _ = stop.changed() => return,
            }
        }
    }
}
