//! `GET /api/v1/analytics/slashes`: slashed volume per bond mint.

use axum::{extract::State, Json};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;

use super::{error::ErrorBody, pubkey_of, ApiError, ApiState};

/// The query. Uses the partial covering index `indexer_bond_releases_slashed`
/// (`mint INCLUDE (slashed, to_treasury) WHERE slashed > 0`): an index-only scan in mint
/// order. Sums are `numeric`, sent as decimal strings, so no total can overflow.
pub const SQL: &str = "\
SELECT mint, count(*) AS slashes, sum(slashed)::text AS slashed,
       sum(to_treasury)::text AS to_treasury
FROM indexer_bond_releases
WHERE slashed > 0
GROUP BY mint
ORDER BY mint";

/// Slashes in one mint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct MintSlashes {
    /// The bond mint, base58.
    pub mint: String,
    /// Releases that slashed a bond.
    pub slashes: i64,
    /// Tokens slashed from losers (base units, decimal string).
    pub slashed: String,
    /// Of those releases, tokens paid to the treasury (base units, decimal string).
    pub to_treasury: String,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SlashedVolume {
    /// Per mint with at least one slash.
    pub mints: Vec<MintSlashes>,
}

/// Slashed volume per mint.
pub async fn query(pool: &PgPool) -> Result<SlashedVolume, sqlx::Error> {
    let rows: Vec<(Vec<u8>, i64, String, String)> = sqlx::query_as(SQL).fetch_all(pool).await?;
    Ok(SlashedVolume {
        mints: rows
            .into_iter()
            .map(|(mint, slashes, slashed, to_treasury)| MintSlashes {
                mint: pubkey_of(&mint),
                slashes,
                slashed,
                to_treasury,
            })
            .collect(),
    })
}

/// Slashed volume per bond mint.
#[utoipa::path(get, path = "/api/v1/analytics/slashes", tag = "analytics",
    responses(
        (status = 200, body = SlashedVolume),
        (status = 503, description = "DATABASE_UNAVAILABLE", body = ErrorBody)))]
pub async fn handler(State(state): State<ApiState>) -> Result<Json<SlashedVolume>, ApiError> {
    query(&state.pool)
        .await
        .map(Json)
        .map_err(|e| ApiError::database("slashed volume", e))
}
