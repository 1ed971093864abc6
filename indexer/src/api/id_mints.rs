//! `GET /api/v1/analytics/id-mints`: ChittyIDs anchored and minted per hour, and the
//! fallback ratio.
//!
//! Two sources, one statement:
//!
//! - **anchored** (on chain, always available): `indexer_id_batches`, the `IdBatchAnchored`
//!   events the pipeline wrote: batches and IDs anchored per hour of block time;
//! - **minted** (the relayer's own tables, `chittyids` and `reconciliations`, which the
//!   shared migrations create in every database they migrate): IDs minted per hour of
//!   `created_at`, by issuer class (the `A`/`F` field of `01-A-…` / `01-F-…`), and how many
//!   of them are the final IDs of reconciled provisional (fallback) IDs. When the relayer
//!   writes to another database these tables are empty here and the minted counts are 0.
//!
//! The fallback ratio is reconciled provisional IDs / all IDs minted, over the range.

use axum::{extract::State, Json};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::{IntoParams, ToSchema};

use super::{error::ErrorBody, params::TimeRange, ApiError, ApiQuery, ApiState};

/// The width of a bucket: one hour.
pub const HOUR: i64 = 3_600;

/// The query: `$1` from, `$2` to (unix seconds). `anchored` uses `indexer_id_batches_time`
/// (`block_time`); `minted` uses the BRIN index `chittyids_created_brin` (`created_at`) and
/// joins `reconciliations` on its unique `final_id`.
pub const SQL: &str = "\
WITH anchored AS (
    SELECT (block_time / 3600) * 3600 AS hour, count(*) AS batches,
           sum(id_count)::bigint AS ids
    FROM indexer_id_batches
    WHERE block_time >= $1 AND block_time < $2
    GROUP BY 1
), minted AS (
    SELECT (floor(extract(epoch FROM c.created_at) / 3600) * 3600)::bigint AS hour,
           count(*) AS minted,
           count(*) FILTER (WHERE substr(c.id, 4, 1) = 'A') AS authoritative,
           count(*) FILTER (WHERE substr(c.id, 4, 1) = 'F') AS provisional,
           count(r.provisional_id) AS reconciled
    FROM chittyids c
    LEFT JOIN reconciliations r ON r.final_id = c.id
    WHERE c.created_at >= to_timestamp($1) AND c.created_at < to_timestamp($2)
    GROUP BY 1
)
SELECT COALESCE(a.hour, m.hour) AS hour,
       COALESCE(a.batches, 0), COALESCE(a.ids, 0),
       COALESCE(m.minted, 0), COALESCE(m.authoritative, 0), COALESCE(m.provisional, 0),
       COALESCE(m.reconciled, 0)
FROM anchored a FULL JOIN minted m ON m.hour = a.hour
ORDER BY 1";

/// The query string.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct IdMintsQuery {
    /// Start, unix seconds, inclusive.
    #[param(value_type = i64, example = 1_800_000_000)]
    pub from: Option<String>,
    /// End, unix seconds, exclusive.
    #[param(value_type = i64, example = 1_800_086_400)]
    pub to: Option<String>,
}

/// One hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct IdMintHour {
    /// The hour's start, unix seconds.
    pub hour_start: i64,
    /// ID batches anchored on chain (`IdBatchAnchored`).
    pub batches_anchored: i64,
    /// IDs in those batches.
    pub ids_anchored: i64,
    /// IDs the relayer minted (`chittyids`).
    pub minted: i64,
    /// Of those, issuer class `A`.
    pub authoritative: i64,
    /// Of those, issuer class `F`.
    pub provisional: i64,
    /// Of those, final IDs of reconciled provisional IDs (`reconciliations.final_id`).
    pub reconciled: i64,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct IdMints {
    /// The range's start, as asked.
    pub from: i64,
    /// The range's end, as asked.
    pub to: i64,
    /// IDs anchored on chain in the range.
    pub ids_anchored: i64,
    /// IDs minted in the range.
    pub minted: i64,
    /// Minted IDs per hour over the range (`minted` / hours in the range).
    pub mint_rate_per_hour: f64,
    /// Reconciled provisional IDs / minted IDs; absent when nothing was minted.
    pub fallback_ratio: Option<f64>,
    /// Hours with anything anchored or minted, in order.
    pub hours: Vec<IdMintHour>,
}

/// IDs anchored and minted per hour in `range`.
pub async fn query(pool: &PgPool, range: TimeRange) -> Result<IdMints, sqlx::Error> {
    type Row = (i64, i64, i64, i64, i64, i64, i64);
    let rows: Vec<Row> = sqlx::query_as(SQL)
        .bind(range.from)
        .bind(range.to)
        .fetch_all(pool)
        .await?;
    let hours: Vec<_> = rows
        .into_iter()
        .map(
            |(hour_start, batches, ids, minted, a, f, reconciled)| IdMintHour {
                hour_start,
                batches_anchored: batches,
                ids_anchored: ids,
                minted,
                authoritative: a,
                provisional: f,
                reconciled,
            },
        )
        .collect();
    let minted: i64 = hours.iter().map(|h| h.minted).sum();
    let reconciled: i64 = hours.iter().map(|h| h.reconciled).sum();
    let span_hours = (range.to - range.from) as f64 / HOUR as f64;
    Ok(IdMints {
        from: range.from,
        to: range.to,
        ids_anchored: hours.iter().map(|h| h.ids_anchored).sum(),
        minted,
        mint_rate_per_hour: minted as f64 / span_hours,
        fallback_ratio: (minted > 0).then(|| reconciled as f64 / minted as f64),
        hours,
    })
}

/// ChittyIDs anchored and minted per hour over `[from, to)`, the mint rate and the fallback
/// ratio.
#[utoipa::path(get, path = "/api/v1/analytics/id-mints", tag = "analytics",
    params(IdMintsQuery),
    responses(
        (status = 200, body = IdMints),
        (status = 400, description = "INVALID_QUERY, MISSING_PARAMETER, INVALID_TIMESTAMP or INVALID_TIME_RANGE", body = ErrorBody),
        (status = 503, description = "DATABASE_UNAVAILABLE", body = ErrorBody)))]
pub async fn handler(
    State(state): State<ApiState>,
    ApiQuery(q): ApiQuery<IdMintsQuery>,
) -> Result<Json<IdMints>, ApiError> {
    let range = TimeRange::parse(q.from.as_deref(), q.to.as_deref(), HOUR)?;
    query(&state.pool, range)
        .await
        .map(Json)
        .map_err(|e| ApiError::database("ID mint rate", e))
}
