//! `GET /api/v2/fallback/records?after=<seq_no>&limit=<1..=1000>`: the export that the
//! relayer's reconciliation pages through, in `seq_no` order.

use axum::{extract::State, Json};
use serde::Deserialize;

use super::extract::QueryParams;
use crate::{
    error::ApiError,
    service::{RecordsPage, DEFAULT_PAGE},
    FallbackState,
};

/// The export cursor.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordsQuery {
    /// Return records with `seq_no` greater than this; 0 (the start) when absent.
    pub after: Option<u64>,
    /// Page size, 1–1000; 100 when absent.
    pub limit: Option<u32>,
}

/// One page of records and the cursor of the next.
pub async fn list(
    State(state): State<FallbackState>,
    QueryParams(query): QueryParams<RecordsQuery>,
) -> Result<Json<RecordsPage>, ApiError> {
    let after = query.after.unwrap_or(0);
    let limit = query.limit.unwrap_or(DEFAULT_PAGE);
    Ok(Json(
        state
            .run(move |service| service.records(after, limit))
            .await?,
    ))
}
