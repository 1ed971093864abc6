//! `GET /api/v1/analytics/challenges`: challenges by mode and current status.

use axum::{extract::State, Json};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use utoipa::ToSchema;

use super::{error::ErrorBody, ApiError, ApiState};

/// The statuses after which a challenge can no longer change.
pub const TERMINAL: &[&str] = &["Completed", "Cancelled", "Expired"];

/// The query. The view `indexer_challenge_current` reads `indexer_challenge_status` through
/// `indexer_challenge_status_challenge` (`challenge, slot DESC, …`, the `DISTINCT ON` order);
/// the join to the creation row uses `indexer_challenges_challenge`.
pub const SQL: &str = "\
SELECT c.mode, cur.status, cur.status <> ALL ($1) AS active, count(*) AS challenges
FROM indexer_challenge_current cur
JOIN indexer_challenges c ON c.challenge = cur.challenge
GROUP BY c.mode, cur.status
ORDER BY c.mode, cur.status";

/// Challenges of one mode in one status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ModeStatus {
    /// `Fire`, `Solo`, …
    pub mode: String,
    /// The current status: `AwaitingCounterparty`, `Accepted`, `Completed`, …
    pub status: String,
    /// Whether the status is not terminal (not `Completed`, `Cancelled` or `Expired`).
    pub active: bool,
    /// Challenges of this mode now in this status.
    pub challenges: i64,
}

/// The answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChallengeStats {
    /// Challenges in a non-terminal status.
    pub active_total: i64,
    /// Every (mode, status) with at least one challenge, active or not.
    pub by_mode_status: Vec<ModeStatus>,
}

/// Challenges by mode and current status.
pub async fn query(pool: &PgPool) -> Result<ChallengeStats, sqlx::Error> {
    let rows: Vec<(String, String, bool, i64)> =
        sqlx::query_as(SQL).bind(TERMINAL).fetch_all(pool).await?;
    let by_mode_status: Vec<_> = rows
        .into_iter()
        .map(|(mode, status, active, challenges)| ModeStatus {
            mode,
            status,
            active,
            challenges,
        })
        .collect();
    Ok(ChallengeStats {
        active_total: by_mode_status
            .iter()
            .filter(|m| m.active)
            .map(|m| m.challenges)
            .sum(),
        by_mode_status,
    })
}

/// Active (and settled) challenges by mode and current status.
#[utoipa::path(get, path = "/api/v1/analytics/challenges", tag = "analytics",
    responses(
        (status = 200, body = ChallengeStats),
        (status = 503, description = "DATABASE_UNAVAILABLE", body = ErrorBody)))]
pub async fn handler(State(state): State<ApiState>) -> Result<Json<ChallengeStats>, ApiError> {
    query(&state.pool)
        .await
        .map(Json)
        .map_err(|e| ApiError::database("challenges by mode and status", e))
}
