//! `GET /api/v1/analytics/verifications`: verifications per track per hour or day.

use axum::{extract::State, Json};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};

use super::{
    error::ErrorBody,
    hex_of,
    params::{Bucket, TimeRange},
    ApiError, ApiQuery, ApiState,
};

/// The query: `$1` from, `$2` to, `$3` bucket seconds. Uses `indexer_verifications_time`
/// (`block_time INCLUDE track_id`): an index-only range scan, then a hash aggregate.
pub const SQL: &str = "\
SELECT track_id, (block_time / $3) * $3 AS bucket_start, count(*) AS verifications
FROM indexer_verifications
WHERE block_time >= $1 AND block_time < $2
GROUP BY track_id, bucket_start
ORDER BY track_id, bucket_start";

/// The query string.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VerificationsQuery {
    /// `hour` or `day`.
    #[param(value_type = String, example = "hour")]
    pub bucket: Option<String>,
    /// Start, unix seconds, inclusive.
    #[param(value_type = i64, example = 1_800_000_000)]
    pub from: Option<String>,
    /// End, unix seconds, exclusive.
    #[param(value_type = i64, example = 1_800_086_400)]
    pub to: Option<String>,
}

/// Verifications of one track in one bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VerificationBucket {
    /// The track id, hex.
    pub track_id: String,
    /// The bucket's start, unix seconds (a multiple of the bucket width).
    pub bucket_start: i64,
    /// `OwnershipVerified` events in the bucket.
    pub verifications: i64,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct VerificationsPerTrack {
    /// `hour` or `day`.
    pub bucket: String,
    /// The range's start, as asked.
    pub from: i64,
    /// The range's end, as asked.
    pub to: i64,
    /// Verifications in the range, all tracks.
    pub total: i64,
    /// Non-empty buckets, by track then time.
    pub series: Vec<VerificationBucket>,
}

/// Verifications per track per bucket in `range`.
pub async fn query(
    pool: &PgPool,
    bucket: Bucket,
    range: TimeRange,
) -> Result<VerificationsPerTrack, sqlx::Error> {
    let rows: Vec<(Vec<u8>, i64, i64)> = sqlx::query_as(SQL)
        .bind(range.from)
        .bind(range.to)
        .bind(bucket.seconds())
        .fetch_all(pool)
        .await?;
    let series: Vec<_> = rows
        .into_iter()
        .map(|(track, bucket_start, verifications)| VerificationBucket {
            track_id: hex_of(&track),
            bucket_start,
            verifications,
        })
        .collect();
    Ok(VerificationsPerTrack {
        bucket: bucket.as_str().to_owned(),
        from: range.from,
        to: range.to,
        total: series.iter().map(|b| b.verifications).sum(),
        series,
    })
}

/// Verifications per track per hour or day, over `[from, to)`.
#[utoipa::path(get, path = "/api/v1/analytics/verifications", tag = "analytics",
    params(VerificationsQuery),
    responses(
        (status = 200, body = VerificationsPerTrack),
        (status = 400, description = "INVALID_QUERY, MISSING_PARAMETER, INVALID_BUCKET, INVALID_TIMESTAMP or INVALID_TIME_RANGE", body = ErrorBody),
        (status = 503, description = "DATABASE_UNAVAILABLE", body = ErrorBody)))]
pub async fn handler(
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<VerificationsQuery>,
) -> Result<Json<VerificationsPerTrack>, ApiError> {
    let bucket = Bucket::parse(q.bucket.as_deref())?;
    let range = TimeRange::parse(q.from.as_deref(), q.to.as_deref(), bucket.seconds())?;
    query(&state.pool, bucket, range)
        .await
        .map(Json)
        .map_err(|e| ApiError::database("verifications per track", e))
}
