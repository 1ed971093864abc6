//! Reconciliation (SPEC §5.5): provisional `F` IDs from the fallback minter get authoritative
//! IDs, and the provisional → final mapping is recorded.
//!
//! Idempotent by construction: each record is handled in its own transaction that takes an
//! advisory lock on the provisional ID, returns the existing mapping if there is one, and
//! otherwise inserts the final ID and the mapping together. A rerun (or two concurrent runs)
//! therefore never issues two final IDs for one provisional ID. Records that do not verify under
//! the pinned fallback key are reported and skipped; they are never imported.

use std::sync::Arc;

use ed25519_dalek::VerifyingKey;
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;
use veil_chittyid::{provisional::ProvisionalRecord, EntityType};

use crate::{
    chittyid::drand::{DrandClient, DrandError},
    chittyid::fallback_client::{FallbackClient, FallbackError},
    chittyid::mint::{writer::Commit, MintError, MintRequest, Minter, MAX_ATTEMPTS},
    chittyid::store::{self, StoreError},
    platform::error::{ApiError, ErrorCode},
    platform::metrics::Metrics,
};

/// Records fetched per page from the fallback minter.
pub const PAGE: u32 = 500;

/// What happened to one provisional ID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReconcileResult {
    /// The provisional ID.
    pub provisional_id: String,
    /// `reconciled`, `already_reconciled` or `invalid`.
    pub result: String,
    /// The authoritative ID (absent when invalid).
    pub final_id: Option<String>,
    /// Why it is invalid.
    pub error: Option<String>,
}

/// A reconciliation run.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct ReconcileReport {
    /// Records examined.
    pub processed: usize,
    /// New mappings.
    pub reconciled: usize,
    /// Mappings that already existed.
    pub already_reconciled: usize,
    /// Records refused.
    pub invalid: usize,
    /// Per record.
    pub results: Vec<ReconcileResult>,
}

/// Why a run stopped.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// No fallback minter to pull from and no records given.
    #[error("no fallback minter is configured and no records were given")]
    NoSource,
    /// No pinned fallback key: records cannot be authenticated.
    #[error("no fallback public key is pinned; records cannot be authenticated")]
    NoPinnedKey,
    /// The fallback minter failed while paging.
    #[error(transparent)]
    Fallback(#[from] FallbackError),
    /// drand is unavailable: authoritative IDs cannot be minted now.
    #[error(transparent)]
    Drand(#[from] DrandError),
    /// Minting failed.
    #[error(transparent)]
    Mint(#[from] MintError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ReconcileError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

impl From<ReconcileError> for ApiError {
    fn from(e: ReconcileError) -> Self {
        match e {
            ReconcileError::NoSource | ReconcileError::NoPinnedKey => {
                ApiError::new(ErrorCode::FallbackUnavailable, e.to_string())
            }
            ReconcileError::Fallback(cause) => {
                tracing::warn!(%cause, "reconciliation: fallback minter failed");
                ApiError::new(
                    ErrorCode::FallbackUnavailable,
                    "the fallback minter could not be read; processed records are kept, retry",
                )
                .retry_after(3)
            }
            ReconcileError::Drand(cause) => {
                tracing::warn!(%cause, "reconciliation: drand unavailable");
                ApiError::new(
                    ErrorCode::DrandUnavailable,
                    "drand is unavailable; processed records are kept, retry",
                )
                .retry_after(3)
            }
            ReconcileError::Mint(e) => e.into(),
            ReconcileError::Store(e) => e.into(),
        }
    }
}

/// Imports provisional IDs.
pub struct Reconciler {
    pool: PgPool,
    drand: Arc<DrandClient>,
    minter: Arc<Minter>,
    fallback: Option<FallbackClient>,
    pinned: Option<VerifyingKey>,
    metrics: Metrics,
}

enum Decision {
    Reconciled(String),
    Already(String),
}

impl Reconciler {
    /// A reconciler.
    pub fn new(
        pool: PgPool,
        drand: Arc<DrandClient>,
        minter: Arc<Minter>,
        fallback: Option<FallbackClient>,
        pinned: Option<VerifyingKey>,
        metrics: Metrics,
    ) -> Self {
        Self {
            pool,
            drand,
            minter,
            fallback,
            pinned,
            metrics,
        }
    }

    /// Reconciles `records`, or — when `None` — every record of the fallback minter after
    /// `after`, page by page.
    pub async fn run(
        &self,
        records: Option<Vec<ProvisionalRecord>>,
        after: u64,
    ) -> Result<ReconcileReport, ReconcileError> {
        let pinned = self.pinned.ok_or(ReconcileError::NoPinnedKey)?;
        let mut report = ReconcileReport::default();
        match records {
            Some(records) => self.page(&pinned, &records, &mut report).await?,
            None => {
                let fallback = self.fallback.as_ref().ok_or(ReconcileError::NoSource)?;
                let mut cursor = after;
                loop {
                    let (records, next) = fallback.records(cursor, PAGE).await?;
                    self.page(&pinned, &records, &mut report).await?;
                    // Progress of long runs: one line per page.
                    tracing::info!(
                        after = cursor,
                        page = records.len(),
                        processed = report.processed,
                        reconciled = report.reconciled,
                        "reconciliation page done"
                    );
                    match next {
                        Some(next) if next > cursor && !records.is_empty() => cursor = next,
                        _ => break,
                    }
                }
            }
        }
        tracing::info!(
            processed = report.processed,
            reconciled = report.reconciled,
            already = report.already_reconciled,
            invalid = report.invalid,
            "reconciliation run"
        );
        Ok(report)
    }

    async fn page(
        &self,
        pinned: &VerifyingKey,
        records: &[ProvisionalRecord],
        report: &mut ReconcileReport,
    ) -> Result<(), ReconcileError> {
        for record in records {
            report.processed += 1;
            // A record that does not authenticate is reported and skipped; a run failure
            // (drand, database) stops the run, and what was imported so far stays imported.
            let outcome = match request_of(pinned, record) {
                Ok(request) => Ok(self.import(record, &request).await?),
                Err(reason) => Err(reason),
            };
            let result = match outcome {
                Ok(Decision::Reconciled(final_id)) => {
                    report.reconciled += 1;
                    ReconcileResult {
                        provisional_id: record.provisional_id.clone(),
                        result: "reconciled".into(),
                        final_id: Some(final_id),
                        error: None,
                    }
                }
                Ok(Decision::Already(final_id)) => {
                    report.already_reconciled += 1;
                    ReconcileResult {
                        provisional_id: record.provisional_id.clone(),
                        result: "already_reconciled".into(),
                        final_id: Some(final_id),
                        error: None,
                    }
                }
                Err(reason) => {
                    report.invalid += 1;
                    ReconcileResult {
                        provisional_id: record.provisional_id.clone(),
                        result: "invalid".into(),
                        final_id: None,
                        error: Some(reason),
                    }
                }
            };
            self.metrics
                .reconciliation_total
                .with_label_values(&[result.result.as_str()])
                .inc();
            report.results.push(result);
        }
        Ok(())
    }
}

impl Reconciler {
    async fn import(
        &self,
        record: &ProvisionalRecord,
        request: &MintRequest,
    ) -> Result<Decision, ReconcileError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7061))")
            .bind(&record.provisional_id)
            .execute(&mut *tx)
            .await?;
        let existing: Option<String> =
            sqlx::query_scalar("SELECT final_id FROM reconciliations WHERE provisional_id = $1")
                .bind(&record.provisional_id)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(final_id) = existing {
            // Release the advisory lock now rather than when the connection is recycled.
            tx.rollback().await?;
            return Ok(Decision::Already(final_id));
        }
        let beacon = self.drand.latest().await?;
        let signature: Arc<[u8]> = beacon.signature.clone().into();
        for _ in 0..MAX_ATTEMPTS {
            let row = self.minter.candidate(&beacon, &signature, request)?;
            let inserted = store::insert_ids(&mut *tx, &[&row]).await?;
            let commit = if inserted.contains(&row.id) {
                Commit::Inserted
            } else {
                Commit::Collision
            };
            self.minter.record(commit);
            if commit == Commit::Collision {
                continue;
            }
            let json = serde_json::to_value(record).unwrap_or_default();
            sqlx::query(
                "INSERT INTO reconciliations (provisional_id, final_id, fallback_seq, record)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&record.provisional_id)
            .bind(&row.id)
            .bind(i64::try_from(record.seq_no).unwrap_or(i64::MAX))
            .bind(json)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            return Ok(Decision::Reconciled(row.id));
        }
        tx.rollback().await?;
        Err(MintError::CollisionBudget.into())
    }
}

/// Authenticates a record and turns it into the mint request it stands for.
fn request_of(pinned: &VerifyingKey, record: &ProvisionalRecord) -> Result<MintRequest, String> {
    let id = record.verify(pinned).map_err(|e| e.to_string())?;
    let content_hash: [u8; 32] = hex::decode(&record.content_hash)
        .ok()
        .and_then(|v| v.try_into().ok())
        .ok_or("content_hash is not 32 bytes of hex")?;
    let nonce = hex::decode(&record.request_nonce).map_err(|_| "request_nonce is not hex")?;
    let entity = EntityType::from_letter(&record.entity_type).ok_or("unknown entity type")?;
    Ok(MintRequest {
        namespace: id.namespace().to_owned(),
        entity,
        trust: id.trust(),
        content_hash,
        nonce,
        api_key_id: None,
        idempotency: None,
        metadata: None,
    })
}
