//! `GET /api/v1/analytics/nullifiers`: nullifier usage per track.

use axum::{extract::State, Json};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;

use super::{error::ErrorBody, hex_of, ApiError, ApiState};

/// The query. Uses `indexer_verifications_usage` (`track_id, scope, nullifier`): an
/// index-only scan in track order, grouped without a sort.
pub const SQL: &str = "\
SELECT track_id, count(*) AS verifications, count(DISTINCT nullifier) AS nullifiers,
       count(DISTINCT scope) AS scopes
FROM indexer_verifications
GROUP BY track_id
ORDER BY track_id";

/// One track's nullifier usage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct TrackNullifiers {
    /// The track id, hex.
    pub track_id: String,
    /// Verifications on the track.
    pub verifications: i64,
    /// Distinct nullifiers spent (each verification spends one; the program refuses reuse).
    pub nullifiers: i64,
    /// Distinct scopes (external nullifiers) verified against.
    pub scopes: i64,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NullifierUsage {
    /// Per track, in track id order.
    pub tracks: Vec<TrackNullifiers>,
}

/// Nullifier usage per track.
pub async fn query(pool: &PgPool) -> Result<NullifierUsage, sqlx::Error> {
    let rows: Vec<(Vec<u8>, i64, i64, i64)> = sqlx::query_as(SQL).fetch_all(pool).await?;
    Ok(NullifierUsage {
        tracks: rows
            .into_iter()
            .map(
                |(track, verifications, nullifiers, scopes)| TrackNullifiers {
                    track_id: hex_of(&track),
                    verifications,
                    nullifiers,
                    scopes,
                },
            )
            .collect(),
    })
}

/// Per track: nullifiers spent and distinct scopes.
#[utoipa::path(get, path = "/api/v1/analytics/nullifiers", tag = "analytics",
    responses(
        (status = 200, body = NullifierUsage),
        (status = 503, description = "DATABASE_UNAVAILABLE", body = ErrorBody)))]
pub async fn handler(State(state): State<ApiState>) -> Result<Json<NullifierUsage>, ApiError> {
    query(&state.pool)
        .await
        .map(Json)
        .map_err(|e| ApiError::database("nullifier usage", e))
}
