//! `GET /api/v2/fallback/status` and `GET /api/v2/fallback/status/{provisional_id}`.

use axum::{extract::State, Json};
use veil_chittyid::provisional::ProvisionalRecord;

use super::extract::PathParam;
use crate::{error::ApiError, service::StatusReport, FallbackState};

/// Liveness, the public key to pin, and the counters.
pub async fn status(State(state): State<FallbackState>) -> Result<Json<StatusReport>, ApiError> {
    Ok(Json(state.run(|service| service.status()).await?))
}

/// The record of one provisional ID, or `FALLBACK_NOT_FOUND`.
pub async fn record(
    State(state): State<FallbackState>,
    PathParam(provisional_id): PathParam<String>,
) -> Result<Json<ProvisionalRecord>, ApiError> {
    Ok(Json(
        state
            .run(move |service| service.record(&provisional_id))
            .await?,
    ))
}
