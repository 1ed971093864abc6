//! Anchoring (SPEC §5.4): each `pending` ID batch is published with
//! `registry::anchor_id_batch` (the relayer's chain key signs as the registrar), and once it
//! has landed the batch becomes `anchored` with the transaction's signature and slot, which
//! `verify` returns as the ID's chain evidence.
//!
//! The on-chain record of batch `n` is the `IdBatch` PDA of (`namespace`, `first_seq`), where
//! `first_seq` is the sequence number of the batch's first ID among all IDs batched (assigned
//! when the batch is cut), holding the batch root and its size. The program refuses a range
//! that overlaps the previous one, so batches are anchored in `first_seq` order and a round
//! stops at its first failure. The submission key is `anchor_id_batch:{n}`, so the
//! chain layer applies it at most once however often (or by however many relayers) a batch is
//! anchored; the database update (one statement) moves the batch and its IDs from `pending` to
//! `anchored`.

use std::sync::Arc;

use sqlx::{PgPool, Row as _};
use veil_client::registry as ix;

use crate::{
    chittyid::verify::Verifier,
    platform::chain::{ChainClient, ChainError, Landed},
    platform::outbox::{NewEvent, Outbox},
};

/// The namespace batches are anchored under unless configured otherwise.
pub const DEFAULT_NAMESPACE: [u8; 4] = *b"CHI\0";

/// A batch that was anchored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Anchored {
    /// Batch id.
    pub batch_id: i64,
    /// The sequence number of its first ID (`first_seq` on chain).
    pub first_seq: u64,
    /// Where it landed.
    pub landed: Landed,
}

/// Why anchoring stopped.
#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    /// The chain layer failed.
    #[error("anchoring batch {batch_id}")]
    Chain {
        /// The batch.
        batch_id: i64,
        /// Why.
        #[source]
        source: ChainError,
    },
    /// A stored batch is malformed (root not 32 bytes, negative id or size).
    #[error("batch {batch_id} is malformed: {what}")]
    Malformed {
        /// The batch.
        batch_id: i64,
        /// What.
        what: &'static str,
    },
    /// The database failed.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

/// Publishes pending batches.
pub struct Anchorer {
    pool: PgPool,
    chain: Arc<ChainClient>,
    verifier: Arc<Verifier>,
    namespace: [u8; 4],
    outbox: Outbox,
}

/// `chittyid.anchored` (the webhooks' catalogue names it too).
pub const ANCHORED_EVENT: &str = "chittyid.anchored";

impl Anchorer {
    /// An anchorer publishing under `namespace`.
    pub fn new(
        pool: PgPool,
        chain: Arc<ChainClient>,
        verifier: Arc<Verifier>,
        namespace: [u8; 4],
        outbox: Outbox,
    ) -> Self {
        Self {
            pool,
            chain,
            verifier,
            namespace,
            outbox,
        }
    }

    /// The state of the chain RPC's breaker.
    pub fn breaker_state(&self) -> crate::platform::breaker::BreakerState {
        self.chain.breaker().state()
    }

    /// The relayer's chain key (payer and registrar).
    pub fn payer(&self) -> anchor_lang::prelude::Pubkey {
        self.chain.payer()
    }

    /// Anchors up to `limit` pending batches, oldest first, and returns them. Stops at the
    /// first failure (the batches before it stay anchored).
    pub async fn anchor_pending(&self, limit: i64) -> Result<Vec<Anchored>, AnchorError> {
        let rows = sqlx::query(
            "SELECT id, root, size, first_seq FROM id_batches WHERE status = 'pending' \
             ORDER BY first_seq LIMIT $1",
        )
        .bind(limit.max(1))
        .fetch_all(&self.pool)
        .await?;
        let mut anchored = Vec::with_capacity(rows.len());
        for row in rows {
            let batch_id: i64 = row.try_get(0)?;
            let root: Vec<u8> = row.try_get(1)?;
            let size: i32 = row.try_get(2)?;
            let first_seq: i64 = row.try_get(3)?;
            anchored.push(self.anchor(batch_id, &root, size, first_seq).await?);
        }
        Ok(anchored)
    }

    /// Anchors every pending batch each `tick` until `stop` changes. A failed round is logged
    /// and retried on the next tick: its submission record resumes where it stood.
    pub async fn run(
        self: Arc<Self>,
        tick: std::time::Duration,
        stop: tokio::sync::watch::Receiver<bool>,
    ) {
        let mut stop = stop;
        loop {
            match self.anchor_pending(64).await {
                Ok(done) if !done.is_empty() => tracing::debug!(batches = done.len(), "anchored"),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "anchoring failed; retrying next tick"),
            }
            tokio::select! {
                _ = tokio::time::sleep(tick) => {}
                _ = stop.changed() => return,
            }
        }
    }

    /// Anchors one batch.
    async fn anchor(
        &self,
        batch_id: i64,
        root: &[u8],
        size: i32,
        first_seq: i64,
    ) -> Result<Anchored, AnchorError> {
        let malformed = |what| AnchorError::Malformed { batch_id, what };
        let root: [u8; 32] = root.try_into().map_err(|_| malformed("root length"))?;
        let first_seq = u64::try_from(first_seq).map_err(|_| malformed("negative first_seq"))?;
        let count = u32::try_from(size).map_err(|_| malformed("negative size"))?;
        let registrar = self.chain.payer();
        let instruction = ix::anchor_id_batch(&registrar, self.namespace, root, first_seq, count);
        let key = format!("anchor_id_batch:{batch_id}");
        let landed = self
            .chain
            .submit(&key, &[instruction], &[])
            .await
            .map_err(|source| AnchorError::Chain { batch_id, source })?;
        // One transaction: the batch, its IDs, and (the first time) its outbox event.
        let mut tx = self.pool.begin().await?;
        let moved = sqlx::query(
            "UPDATE id_batches SET status = 'anchored', anchor_signature = $2, anchor_slot = $3, \
               anchored_at = now() WHERE id = $1 AND status = 'pending'",
        )
        .bind(batch_id)
        .bind(&landed.signature)
        .bind(i64::try_from(landed.slot).unwrap_or(i64::MAX))
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let ids: Vec<String> = sqlx::query_scalar(
            "UPDATE chittyids SET status = 'anchored' WHERE batch_id = $1 RETURNING id",
        )
        .bind(batch_id)
        .fetch_all(&mut *tx)
        .await?;
        if moved {
            let event = NewEvent {
                event_type: ANCHORED_EVENT,
                audience: None,
                subject: batch_id.to_string(),
                data: serde_json::json!({
                    "batch_id": batch_id,
                    // Padded with NULs on chain; JSON text (jsonb) cannot hold U+0000.
                    "namespace": String::from_utf8_lossy(&self.namespace).trim_end_matches('\0'),
                    "root": hex::encode(root),
                    "first_seq": first_seq,
                    "count": count,
                    "ids": ids,
                }),
                chain: Some((landed.signature.clone(), landed.slot)),
            };
            self.outbox
                .record(&mut tx, std::slice::from_ref(&event))
                .await?;
        }
        tx.commit().await?;
        self.verifier.invalidate(ids.iter().map(String::as_str));
        tracing::info!(batch_id, signature = %landed.signature, slot = landed.slot, "batch anchored");
        Ok(Anchored {
            batch_id,
            first_seq,
            landed,
        })
    }
}
