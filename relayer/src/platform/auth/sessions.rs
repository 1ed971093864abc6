//! Sessions for people: a wallet that signed in (the sign-in domain checks the signature) gets
//! a short-lived token (`vs_…`, [`SESSION_TTL`]) and a refresh token (`vr_…`,
//! [`REFRESH_TTL`]), each 256 random bits. Only their SHA-256 is stored (migration 0021).
//! A refresh replaces both tokens, so a refresh token works once. Sign-out revokes the
//! session. Expiry is judged on PostgreSQL's clock.
//!
//! A session is accepted only on routes that [`require_key_or_session`](super::require_key_or_session)
//! guards, and only for the [`SESSION_SCOPES`]. Everything operators do stays behind API keys.

use std::time::Duration;

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use super::{error::AuthError, scope::Scope};

/// How long a session token is accepted.
pub const SESSION_TTL: Duration = Duration::from_secs(15 * 60);

/// How long a refresh token may be used (once).
pub const REFRESH_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// What a session may do: the end-user actions for its own wallet.
pub const SESSION_SCOPES: [Scope; 4] = [
    Scope::ChittyIdMint,
    Scope::ChittyIdVerify,
    Scope::Registry,
    Scope::Challenges,
];

const TOKEN_PREFIX: &str = "vs_";
const REFRESH_PREFIX: &str = "vr_";

/// The caller of a request authenticated by a session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionPrincipal {
    /// The session.
    pub session_id: Uuid,
    /// CAIP-2.
    pub chain_id: String,
    /// The wallet.
    pub address: String,
    /// The gatekeeper's verification of the sign-in that started the session: the proof that
    /// this wallet signed.
    pub verification_id: String,
}

impl SessionPrincipal {
    /// Whether this session acts for `address` on a chain of the CAIP-2 namespace `namespace`
    /// (`solana`, `eip155`): a session acts only for its own wallet.
    pub fn require_wallet(&self, namespace: &str, address: &str) -> Result<(), AuthError> {
        let same_chain = self
            .chain_id
            .split_once(':')
            .is_some_and(|(ns, _)| ns == namespace);
        if same_chain && self.address == address {
            Ok(())
        } else {
            Err(AuthError::SessionWalletMismatch {
                session_wallet: format!("{}:{}", self.chain_id, self.address),
            })
        }
    }
}

/// A new session's tokens, shown once.
#[derive(Debug, Clone)]
pub struct IssuedSession {
    /// The session.
    pub session_id: Uuid,
    /// `vs_…`.
    pub token: String,
    /// `vr_…`.
    pub refresh_token: String,
    /// When the token stops working.
    pub expires_at: DateTime<Utc>,
    /// When the refresh token stops working.
    pub refresh_expires_at: DateTime<Utc>,
    /// CAIP-2.
    pub chain_id: String,
    /// The wallet.
    pub address: String,
}

/// Whether a bearer credential is a session token (rather than an API key).
pub fn is_session_token(presented: &str) -> bool {
    presented.starts_with(TOKEN_PREFIX)
}

/// The `Authorization: Bearer` credential, if any.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.get(..7)
                .filter(|scheme| scheme.eq_ignore_ascii_case("bearer "))
                .map(|_| v[7..].trim())
        })
}

/// Whether a request carries a session token (`Authorization: Bearer vs_…`).
pub fn carries_session_token(headers: &axum::http::HeaderMap) -> bool {
    bearer(headers).is_some_and(is_session_token)
}

fn fresh(prefix: &str) -> (String, [u8; 32]) {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let text = format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes));
    let digest = Sha256::digest(text.as_bytes()).into();
    (text, digest)
}

fn digest(text: &str) -> [u8; 32] {
    Sha256::digest(text.as_bytes()).into()
}

fn secs(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

/// The sessions, over PostgreSQL.
#[derive(Clone)]
pub struct SessionStore {
    pool: PgPool,
}

type Row = (String, String, String, DateTime<Utc>, DateTime<Utc>);

impl SessionStore {
    /// Sessions on `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    fn issued(row: Row, token: String, refresh_token: String) -> IssuedSession {
        let (session_id, chain_id, address, expires_at, refresh_expires_at) = row;
        IssuedSession {
            session_id: session_id.parse().unwrap_or_else(|_| Uuid::nil()),
            token,
            refresh_token,
            expires_at,
            refresh_expires_at,
            chain_id,
            address,
        }
    }

    /// Starts a session for the wallet a verification proved.
    pub async fn issue(
        &self,
        chain_id: &str,
        address: &str,
        verification_id: Uuid,
    ) -> Result<IssuedSession, AuthError> {
        let (token, token_sha) = fresh(TOKEN_PREFIX);
        let (refresh, refresh_sha) = fresh(REFRESH_PREFIX);
        let row: Row = sqlx::query_as(
            "INSERT INTO auth_sessions (id, token_sha256, refresh_sha256, chain_id, address,
                 verification_id, expires_at, refresh_expires_at)
             VALUES ($1::uuid, $2, $3, $4, $5, $6::uuid, now() + $7 * interval '1 second',
                     now() + $8 * interval '1 second')
             RETURNING id::text, chain_id, address, expires_at, refresh_expires_at",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(token_sha.as_slice())
        .bind(refresh_sha.as_slice())
        .bind(chain_id)
        .bind(address)
        .bind(verification_id.to_string())
        .bind(secs(SESSION_TTL))
        .bind(secs(REFRESH_TTL))
        .fetch_one(&self.pool)
        .await
        .map_err(AuthError::Database)?;
        Ok(Self::issued(row, token, refresh))
    }

    /// The session `token` belongs to, if it is live.
    pub async fn authenticate(&self, token: &str) -> Result<SessionPrincipal, AuthError> {
        let row: Option<(String, String, String, String)> = sqlx::query_as(
            "SELECT id::text, chain_id, address, verification_id::text FROM auth_sessions
             WHERE token_sha256 = $1 AND revoked_at IS NULL AND expires_at > now()",
        )
        .bind(digest(token).as_slice())
        .fetch_optional(&self.pool)
        .await
        .map_err(AuthError::Database)?;
        let (session_id, chain_id, address, verification_id) =
            row.ok_or(AuthError::SessionInvalid)?;
        Ok(SessionPrincipal {
            session_id: session_id.parse().unwrap_or_else(|_| Uuid::nil()),
            chain_id,
            address,
            verification_id,
        })
    }

    /// Replaces both tokens of the session `refresh_token` belongs to; the old ones stop
    /// working.
    pub async fn refresh(&self, refresh_token: &str) -> Result<IssuedSession, AuthError> {
        let (token, token_sha) = fresh(TOKEN_PREFIX);
        let (refresh, refresh_sha) = fresh(REFRESH_PREFIX);
        let row: Option<Row> = sqlx::query_as(
            "UPDATE auth_sessions SET token_sha256 = $2, refresh_sha256 = $3,
                 expires_at = now() + $4 * interval '1 second'
             WHERE refresh_sha256 = $1 AND revoked_at IS NULL AND refresh_expires_at > now()
             RETURNING id::text, chain_id, address, expires_at, refresh_expires_at",
        )
        .bind(digest(refresh_token).as_slice())
        .bind(token_sha.as_slice())
        .bind(refresh_sha.as_slice())
        .bind(secs(SESSION_TTL))
        .fetch_optional(&self.pool)
        .await
        .map_err(AuthError::Database)?;
        Ok(Self::issued(
            row.ok_or(AuthError::SessionInvalid)?,
            token,
            refresh,
        ))
    }

    /// Ends the session `token` belongs to.
    pub async fn revoke(&self, token: &str) -> Result<(), AuthError> {
        let revoked = sqlx::query(
            "UPDATE auth_sessions SET revoked_at = now()
             WHERE token_sha256 = $1 AND revoked_at IS NULL",
        )
        .bind(digest(token).as_slice())
        .execute(&self.pool)
        .await
        .map_err(AuthError::Database)?
        .rows_affected();
        if revoked == 1 {
            Ok(())
        } else {
            Err(AuthError::SessionInvalid)
        }
    }
}
