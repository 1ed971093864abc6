//! Expiry of `Idempotency-Key`s (migration 0025): a key answers its mint's ID for
//! `RELAYER_IDEMPOTENCY_TTL_HOURS`; lookups skip expired keys and a new mint takes an expired
//! key over at once, so this pruner only reclaims space. Every instance runs it; the deletes
//! are idempotent.

use std::time::Duration;

use sqlx::PgPool;

use super::store;

/// How often expired keys are pruned.
pub const PRUNE_EVERY: Duration = Duration::from_secs(3_600);
/// Rows deleted per statement.
const BATCH: i64 = 10_000;

/// Deletes every expired key, a batch at a time; how many.
pub async fn prune(pool: &PgPool) -> Result<u64, store::StoreError> {
    let mut total = 0;
    loop {
        let deleted = store::prune_idempotency(pool, BATCH).await?;
        total += deleted;
        if deleted < BATCH as u64 {
            return Ok(total);
        }
    }
}

/// Prunes every [`PRUNE_EVERY`] until `stop` changes; a failed round is logged.
pub async fn run_pruner(pool: PgPool, stop: tokio::sync::watch::Receiver<bool>) {
    let mut stop = stop;
    loop {
        match prune(&pool).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(pruned = n, "expired idempotency keys pruned"),
            Err(error) => tracing::warn!(%error, "pruning idempotency keys failed; next hour"),
        }
        tokio::select! {
            _ = tokio::time::sleep(PRUNE_EVERY) => {}
            _ = stop.changed() => return,
        }
    }
}
