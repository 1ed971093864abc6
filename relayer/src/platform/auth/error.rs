//! Why a request was refused by the auth checks, and how each refusal is answered.
//!
//! [`AuthError`] is transport-free; `From<AuthError> for ApiError` maps every variant to one of
//! the `AUTH_*` codes (or `RATE_LIMITED`, `NONCE_STORE_UNAVAILABLE`, `DATABASE_UNAVAILABLE`,
//! `PAYLOAD_TOO_LARGE`). Messages state the rule; they never echo a key, a secret or a
//! signature, and an invalid key is not told apart from an unknown or revoked one.

use serde_json::json;

use super::{nonce::NonceStoreError, scope::Scope};
use crate::platform::error::{ApiError, ErrorCode};

/// Why a presented API key was refused. Logged, never answered: the caller only learns that
/// the key is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidKeyReason {
    /// Not `cvk_<16 hex>_<43 base64url>`.
    Malformed,
    /// No key with this id.
    Unknown,
    /// The key id exists but the secret does not match.
    WrongSecret,
    /// The key was revoked.
    Revoked,
}

impl InvalidKeyReason {
    /// A short name for logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Unknown => "unknown",
            Self::WrongSecret => "wrong_secret",
            Self::Revoked => "revoked",
        }
    }
}

/// A refused request.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Neither `Authorization: Bearer` nor `X-Api-Key` was sent.
    #[error("no API key was presented")]
    MissingApiKey,
    /// The key is malformed, unknown, revoked or its secret is wrong.
    #[error("the API key is invalid ({})", .0.as_str())]
    InvalidApiKey(InvalidKeyReason),
    /// The session token is unknown, expired or revoked (or the refresh token was used).
    #[error("the session is invalid, expired or signed out; sign in again")]
    SessionInvalid,
    /// A session asked to act for another wallet than its own.
    #[error("this session acts for {session_wallet} only")]
    SessionWalletMismatch {
        /// The session's wallet (`<chain>:<address>`).
        session_wallet: String,
    },
    /// The key lacks the route's scope.
    #[error("the API key lacks scope `{required}`")]
    ScopeForbidden {
        /// The scope the route needs.
        required: Scope,
    },
    /// The key's rate limit is exceeded.
    #[error("rate limit exceeded; retry after {retry_after_secs} s")]
    RateLimited {
        /// Whole seconds until a request would be allowed (rounded up, at least 1).
        retry_after_secs: u64,
    },
    /// A mutating request lacks some of the signature headers.
    #[error("missing signature headers: {missing:?}")]
    MissingSignature {
        /// The missing headers.
        missing: Vec<&'static str>,
    },
    /// A signature header is present but not well-formed.
    #[error("malformed header {header}: {rule}")]
    MalformedSignatureHeader {
        /// The header.
        header: &'static str,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// `X-Signature` is not the HMAC of this request.
    #[error("the request signature does not verify")]
    InvalidSignature,
    /// `X-Timestamp` is outside the window around the server's clock.
    #[error("timestamp {timestamp} is more than {window_secs} s from server time {server_time}")]
    TimestampExpired {
        /// The presented timestamp.
        timestamp: u64,
        /// The server's time.
        server_time: u64,
        /// The accepted skew.
        window_secs: u64,
    },
    /// The nonce was already used by this key within the window.
    #[error("the nonce was already used")]
    NonceReplayed,
    /// The caller's address is not on the admin allowlist (or is unknown).
    #[error("the caller's address is not allowed on admin routes")]
    IpForbidden,
    /// The body exceeds the limit.
    #[error("the body exceeds {limit_bytes} bytes")]
    PayloadTooLarge {
        /// The limit.
        limit_bytes: usize,
    },
    /// The body could not be read (the client went away mid-body).
    #[error("the request body could not be read")]
    BodyUnreadable(#[source] axum::BoxError),
    /// Redis could not be asked about the nonce.
    #[error("the nonce store is unavailable")]
    NonceStoreUnavailable(#[source] NonceStoreError),
    /// PostgreSQL could not be asked about the key.
    #[error("the key store query failed")]
    Database(#[source] sqlx::Error),
    /// A stored key row breaks the schema's invariants (e.g. a non-positive quota).
    #[error("stored API key {key_id} is corrupt: {what}")]
    CorruptKeyRecord {
        /// The key.
        key_id: String,
        /// What is wrong.
        what: &'static str,
    },
}

impl AuthError {
    /// The wire code this refusal is answered with.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::MissingApiKey => ErrorCode::AuthMissingApiKey,
            Self::InvalidApiKey(_) => ErrorCode::AuthInvalidApiKey,
            Self::ScopeForbidden { .. } => ErrorCode::AuthScopeForbidden,
            Self::SessionInvalid => ErrorCode::AuthSessionInvalid,
            Self::SessionWalletMismatch { .. } => ErrorCode::AuthSessionWalletMismatch,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::MissingSignature { .. } => ErrorCode::AuthMissingSignature,
            Self::MalformedSignatureHeader { .. } | Self::InvalidSignature => {
                ErrorCode::AuthInvalidSignature
            }
            Self::TimestampExpired { .. } => ErrorCode::AuthTimestampExpired,
            Self::NonceReplayed => ErrorCode::AuthNonceReplayed,
            Self::IpForbidden => ErrorCode::AuthIpForbidden,
            Self::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            Self::BodyUnreadable(_) => ErrorCode::InvalidBody,
            Self::NonceStoreUnavailable(_) => ErrorCode::NonceStoreUnavailable,
            Self::Database(e) if is_unavailable(e) => ErrorCode::DatabaseUnavailable,
            Self::Database(_) | Self::CorruptKeyRecord { .. } => ErrorCode::Internal,
        }
    }
}

/// Whether a database error means "cannot reach PostgreSQL" rather than a bug.
pub(super) fn is_unavailable(e: &sqlx::Error) -> bool {
    matches!(
        e,
        sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Protocol(_)
    )
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let code = e.code();
        match e {
            AuthError::MissingApiKey => ApiError::new(
                code,
                "an API key is required: send `Authorization: Bearer <key>` or `X-Api-Key: <key>`",
            ),
            AuthError::InvalidApiKey(_) => {
                ApiError::new(code, "the API key is unknown, malformed or revoked")
            }
            AuthError::SessionWalletMismatch { session_wallet } => ApiError::new(
                code,
                format!("a session acts for its own wallet only ({session_wallet})"),
            )
            .with_details(json!({ "session_wallet": session_wallet })),
            AuthError::SessionInvalid => ApiError::new(
                code,
                "the session is unknown, expired or signed out: sign in again (or refresh)",
            ),
            AuthError::ScopeForbidden { required } => ApiError::new(
                code,
                format!("this route requires an API key with scope `{required}`"),
            )
            .with_details(json!({ "required_scope": required.as_str() })),
            AuthError::RateLimited { retry_after_secs } => ApiError::new(
                code,
                "this API key's rate limit is exceeded; retry after `Retry-After` seconds",
            )
            .with_details(json!({ "retry_after_secs": retry_after_secs }))
            .retry_after(retry_after_secs),
            AuthError::MissingSignature { missing } => ApiError::new(
                code,
                "a mutating request must carry X-Timestamp, X-Nonce and X-Signature",
            )
            .with_details(json!({ "missing": missing })),
            AuthError::MalformedSignatureHeader { header, rule } => {
                ApiError::new(code, format!("{header} is malformed: {rule}"))
                    .with_details(json!({ "header": header }))
            }
            AuthError::InvalidSignature => ApiError::new(
                code,
                "X-Signature is not the HMAC-SHA256 of this request under the key's signing secret",
            ),
            AuthError::TimestampExpired {
                server_time,
                window_secs,
                ..
            } => ApiError::new(
                code,
                format!("X-Timestamp must be within ±{window_secs} s of the server's clock"),
            )
            .with_details(json!({ "server_time": server_time, "window_secs": window_secs })),
            AuthError::NonceReplayed => ApiError::new(
                code,
                "X-Nonce was already used with this API key; use a fresh nonce per request",
            ),
            AuthError::IpForbidden => {
                ApiError::new(code, "the caller's address is not on the admin allowlist")
            }
            AuthError::PayloadTooLarge { limit_bytes } => ApiError::new(
                code,
                format!("the request body exceeds the limit of {limit_bytes} bytes"),
            )
            .with_details(json!({ "limit_bytes": limit_bytes })),
            AuthError::BodyUnreadable(_) => {
                ApiError::new(code, "the request body could not be read")
            }
            AuthError::NonceStoreUnavailable(cause) => {
                tracing::warn!(error = %cause, "nonce store unavailable; refusing signed request");
                ApiError::new(
                    code,
                    "the nonce store is unavailable, so signed requests cannot be checked for replay",
                )
                .retry_after(1)
            }
            AuthError::Database(cause) if code == ErrorCode::DatabaseUnavailable => {
                tracing::warn!(error = %cause, "key store unavailable");
                ApiError::new(code, "the database is unavailable").retry_after(1)
            }
            AuthError::Database(cause) => ApiError::internal("authenticate API key", cause),
            e @ AuthError::CorruptKeyRecord { .. } => ApiError::internal("authenticate API key", e),
        }
    }
}
