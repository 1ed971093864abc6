//! `POST /api/v2/fallback/request`: issue one provisional ID.

use axum::{extract::State, http::StatusCode, Json};
use veil_chittyid::provisional::ProvisionalRecord;

use super::extract::JsonBody;
use crate::{error::ApiError, service::IssueBody, FallbackState};

/// Validates the body, issues and durably stores a signed record; answers `201` with it.
pub async fn issue(
    State(state): State<FallbackState>,
    JsonBody(body): JsonBody<IssueBody>,
) -> Result<(StatusCode, Json<ProvisionalRecord>), ApiError> {
    let request = body.validate()?;
    let record = state.run(move |service| service.issue(&request)).await?;
    Ok((StatusCode::CREATED, Json(record)))
}
