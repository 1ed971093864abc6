//! PostgreSQL: the embedded migrations and the one classification of a database failure that
//! every store shares.

use sqlx::PgPool;

use crate::platform::error::{ApiError, ErrorCode};

/// The embedded migrations (`migrations/` at the workspace root).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

/// A database failure, classified.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached (connection refused, pool timed out or closed).
    #[error("database unavailable: {0}")]
    Unavailable(#[source] sqlx::Error),
    /// A query failed.
    #[error("database query failed: {0}")]
    Query(#[source] sqlx::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => Self::Unavailable(e),
            _ => Self::Query(e),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(cause) => {
                tracing::warn!(%cause, "database unavailable");
                ApiError::new(
                    ErrorCode::DatabaseUnavailable,
                    "the database is unavailable; retry later",
                )
                .retry_after(1)
            }
            StoreError::Query(cause) => ApiError::internal("database query", cause),
        }
    }
}

/// Checks the database answers.
pub async fn ping(pool: &PgPool) -> Result<(), StoreError> {
    sqlx::query("SELECT 1").execute(pool).await?;
    Ok(())
}
