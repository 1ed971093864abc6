//! The auth checks as tower layers for axum routers: [`require`] (key, scope, rate limit,
//! signature) and [`admin_only`] (IP allowlist).
//!
//! Both return an [`AuthLayer`], meant for `Router::route_layer` so that unmatched paths still
//! answer 404 rather than 401. A refused request is answered with the [`ApiError`] of its
//! [`AuthError`] and never reaches the handler; an accepted one carries its [`Principal`] in
//! the request extensions and, if it was signed, its original body bytes.

use std::{
    convert::Infallible,
    future::Future,
    net::SocketAddr,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use axum::{
    body::{Body, Bytes},
    extract::{ConnectInfo, OriginalUri, Request},
    http::{header, HeaderMap, Method},
    response::{IntoResponse, Response},
};
use http_body_util::{BodyExt, LengthLimitError, Limited};
use tower::{Layer, Service};

use veil_http_layers::gcra::Quota;

use super::{
    api_keys::{Principal, Scope},
    error::{AuthError, InvalidKeyReason},
    nonce::NonceOutcome,
    service::AuthService,
    sessions::{bearer, is_session_token, SESSION_SCOPES},
    signature::{
        is_valid_nonce, parse_timestamp, verify_signature, HEADER_API_KEY, HEADER_NONCE,
        HEADER_SIGNATURE, HEADER_TIMESTAMP, NONCE_RULE,
    },
};
use crate::platform::error::ApiError;

/// Requires an API key with `scope`, within its rate limit, and a valid signature on mutating
/// methods. `router.route_layer(auth::require(auth.clone(), Scope::ChittyIdMint))`.
pub fn require(auth: Arc<AuthService>, scope: Scope) -> AuthLayer {
    AuthLayer {
        auth,
        guard: Guard::Require(scope),
    }
}

/// Requires the peer address (`ConnectInfo<SocketAddr>`) to be on the admin allowlist; a
/// request without a known peer is refused. Use it together with `require(auth, Scope::Admin)`,
/// added *after* it so that it runs first:
/// `.route_layer(auth::require(auth.clone(), Scope::Admin)).route_layer(auth::admin_only(auth))`.
///
/// The server must be started with
/// `axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())`.
pub fn admin_only(auth: Arc<AuthService>) -> AuthLayer {
    AuthLayer {
        auth,
        guard: Guard::AdminIp,
    }
}

/// Like [`require`], and also accepts a session token (`Authorization: Bearer vs_…`) for
/// the [`SESSION_SCOPES`](super::sessions::SESSION_SCOPES): the request then carries a
/// [`SessionPrincipal`] instead of a [`Principal`], and needs no signature (a page cannot keep
/// a signing secret; a bearer header is not sent by browsers on their own, so there is no
/// cross-site forgery). Each session has its own rate limit.
pub fn require_key_or_session(auth: Arc<AuthService>, scope: Scope) -> AuthLayer {
    AuthLayer {
        auth,
        guard: Guard::KeyOrSession(scope),
    }
}

/// Which check a layer applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Guard {
    Require(Scope),
    KeyOrSession(Scope),
    AdminIp,
}

/// A layer built by [`require`] or [`admin_only`].
#[derive(Debug, Clone)]
pub struct AuthLayer {
    auth: Arc<AuthService>,
    guard: Guard,
}

impl<S> Layer<S> for AuthLayer {
    type Service = AuthMiddleware<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AuthMiddleware {
            inner,
            auth: self.auth.clone(),
            guard: self.guard,
        }
    }
}

/// The service an [`AuthLayer`] wraps around a route.
#[derive(Debug, Clone)]
pub struct AuthMiddleware<S> {
    inner: S,
    auth: Arc<AuthService>,
    guard: Guard,
}

impl<S> Service<Request> for AuthMiddleware<S>
where
    S: Service<Request, Error = Infallible> + Clone + Send + 'static,
    S::Response: IntoResponse,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // The clone that was polled ready is the one that serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let auth = self.auth.clone();
        let guard = self.guard;
        Box::pin(async move {
            let checked = match guard {
                Guard::Require(scope) => auth.authorize(scope, req).await,
                Guard::KeyOrSession(scope) => match bearer(req.headers()) {
                    Some(token) if is_session_token(token) => {
                        let token = token.to_owned();
                        auth.authorize_session(scope, &token, req).await
                    }
                    _ => auth.authorize(scope, req).await,
                },
                Guard::AdminIp => auth.check_admin_ip(&req).map(|()| req),
            };
            match checked {
                Ok(req) => inner.call(req).await.map(IntoResponse::into_response),
                Err(refused) => Ok(ApiError::from(refused).into_response()),
            }
        })
    }
}

impl AuthService {
    /// Runs the [`require`] checks on `req`: key → scope → rate limit → (mutating methods)
    /// timestamp, body, signature, nonce. Returns the request with its [`Principal`] inserted
    /// and, if the body was read, the same bytes put back.
    pub async fn authorize(&self, scope: Scope, req: Request) -> Result<Request, AuthError> {
        // An IP that keeps presenting bad keys is refused before any lookup. (Requests served
        // in-process, with no peer address, are not limited here.)
        let peer = peer_ip(&req).map(|ip| ip.to_string());
        if let Some(ip) = &peer {
            self.failures
                .peek(ip, self.settings.failed_auth_quota)
                .map_err(|limited| AuthError::RateLimited {
                    retry_after_secs: limited.retry_after_secs(),
                })
                .inspect_err(|e| log_refusal(None, e))?;
        }
        let principal = match presented_key(req.headers()) {
            Ok(presented) => self.keys.authenticate(presented).await,
            Err(e) => Err(e),
        }
        .inspect_err(|e| {
            if let (Some(ip), AuthError::InvalidApiKey(_) | AuthError::MissingApiKey) = (&peer, e) {
                let _ = self.failures.check(ip, self.settings.failed_auth_quota);
            }
            log_refusal(None, e)
        })?;
        let key_id = principal.key_id.clone();
        self.authorize_principal(scope, principal, req)
            .await
            .inspect_err(|e| log_refusal(Some(&key_id), e))
    }

    /// A request carrying a session token: live session, a session scope, the session's
    /// rate limit.
    pub async fn authorize_session(
        &self,
        scope: Scope,
        token: &str,
        mut req: Request,
    ) -> Result<Request, AuthError> {
        let session = self.sessions.authenticate(token).await?;
        if !SESSION_SCOPES.contains(&scope) {
            return Err(AuthError::ScopeForbidden { required: scope });
        }
        self.limiter
            .check(&format!("session:{}", session.session_id), SESSION_QUOTA)
            .map_err(|limited| AuthError::RateLimited {
                retry_after_secs: limited.retry_after_secs(),
            })?;
        req.extensions_mut().insert(session);
        Ok(req)
    }

    async fn authorize_principal(
        &self,
        scope: Scope,
        principal: Principal,
        req: Request,
    ) -> Result<Request, AuthError> {
        // A key may only use routes its scopes cover.
        if !principal.has_scope(scope) {
            return Err(AuthError::ScopeForbidden { required: scope });
        }
        // Every authenticated request counts against the key's quota, signed or not.
        self.limiter
            .check(&principal.key_id, principal.quota)
            .map_err(|limited| AuthError::RateLimited {
                retry_after_secs: limited.retry_after_secs(),
            })?;
        let mut req = if is_mutating(req.method()) {
            self.verify_signed(&principal.key_id, req).await?
        } else {
            req
        };
        tracing::debug!(key_id = %principal.key_id, %scope, "request authorized");
        req.extensions_mut().insert(principal);
        Ok(req)
    }

    /// Timestamp window, then body hash and HMAC, then (only for a valid signature) the nonce.
    async fn verify_signed(&self, key_id: &str, req: Request) -> Result<Request, AuthError> {
        let headers = req.headers();
        let timestamp = header_text(headers, HEADER_TIMESTAMP, "X-Timestamp")?;
        let nonce = header_text(headers, HEADER_NONCE, "X-Nonce")?;
        let signature = header_text(headers, HEADER_SIGNATURE, "X-Signature")?;
        let (Some(timestamp), Some(nonce), Some(signature)) = (timestamp, nonce, signature) else {
            let missing = [
                ("X-Timestamp", timestamp.is_none()),
                ("X-Nonce", nonce.is_none()),
                ("X-Signature", signature.is_none()),
            ]
            .into_iter()
            .filter_map(|(name, absent)| absent.then_some(name))
            .collect();
            return Err(AuthError::MissingSignature { missing });
        };
        let timestamp = parse_timestamp(timestamp).ok_or(AuthError::MalformedSignatureHeader {
            header: "X-Timestamp",
            rule: "unix seconds in decimal, without sign or leading zeros",
        })?;
        if !is_valid_nonce(nonce) {
            return Err(AuthError::MalformedSignatureHeader {
                header: "X-Nonce",
                rule: NONCE_RULE,
            });
        }
        // The timestamp must be within the window either way of the server's clock.
        let window_secs = self.settings.signature_window_secs;
        let server_time = self.clock.now_unix();
        if server_time.abs_diff(timestamp) > window_secs {
            return Err(AuthError::TimestampExpired {
                timestamp,
                server_time,
                window_secs,
            });
        }
        let nonce = nonce.to_owned();
        let signature = signature.to_owned();
        let method = req.method().as_str().to_owned();
        // The client signs the target it sent, before any `Router::nest` stripped a prefix.
        let path_and_query = {
            let uri = req
                .extensions()
                .get::<OriginalUri>()
                .map_or(req.uri(), |original| &original.0);
            uri.path_and_query()
                .map_or("/", |pq| pq.as_str())
                .to_owned()
        };

        let (parts, body) = req.into_parts();
        let body = self.read_body(&parts.headers, body).await?;
        let secret = self.keys.signing_master().derive(key_id);
        if !verify_signature(
            &secret,
            &method,
            &path_and_query,
            timestamp,
            &nonce,
            &body,
            &signature,
        ) {
            return Err(AuthError::InvalidSignature);
        }
        // Only now, with the signature proven, is the nonce spent.
        match self
            .nonces
            .check_and_store(key_id, &nonce, self.settings.nonce_ttl())
            .await
        {
            Ok(NonceOutcome::Fresh) => {}
            Ok(NonceOutcome::Replayed) => return Err(AuthError::NonceReplayed),
            Err(e) => return Err(AuthError::NonceStoreUnavailable(e)),
        }
        Ok(Request::from_parts(parts, Body::from(body)))
    }

    /// Buffers the body, refusing more than the limit (by `Content-Length` up front, and by
    /// counting while reading).
    async fn read_body(&self, headers: &HeaderMap, body: Body) -> Result<Bytes, AuthError> {
        let limit_bytes = self.settings.body_limit_bytes;
        let declared = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|len| len > limit_bytes as u64) {
            return Err(AuthError::PayloadTooLarge { limit_bytes });
        }
        match Limited::new(body, limit_bytes).collect().await {
            Ok(collected) => Ok(collected.to_bytes()),
            Err(e) if is_length_limit(&*e) => Err(AuthError::PayloadTooLarge { limit_bytes }),
            Err(e) => Err(AuthError::BodyUnreadable(e)),
        }
    }

    /// Runs the [`admin_only`] check: the peer address must be on the allowlist.
    pub fn check_admin_ip(&self, req: &Request) -> Result<(), AuthError> {
        match peer_ip(req) {
            Some(ip) if self.allowlist.contains(ip) => Ok(()),
            Some(ip) => {
                tracing::warn!(peer = %ip, "admin route refused: address not allowlisted");
                Err(AuthError::IpForbidden)
            }
            None => {
                tracing::warn!("admin route refused: peer address unknown (no ConnectInfo)");
                Err(AuthError::IpForbidden)
            }
        }
    }
}

/// The peer's address, when the server recorded it (`ConnectInfo`).
pub fn peer_ip(req: &Request) -> Option<std::net::IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
}

/// POST, PUT, PATCH and DELETE must be signed.
fn is_mutating(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

/// The presented key: `Authorization: Bearer <key>` (scheme case-insensitive), else
/// `X-Api-Key`.
/// A session's rate limit: a person's pace, well above it.
const SESSION_QUOTA: Quota = Quota::new(
    std::num::NonZeroU32::new(10).expect("non-zero"),
    std::num::NonZeroU32::new(30).expect("non-zero"),
);

fn presented_key(headers: &HeaderMap) -> Result<&str, AuthError> {
    if let Some(key) = bearer(headers) {
        return Ok(key);
    }
    match headers.get(HEADER_API_KEY) {
        Some(v) => v
            .to_str()
            .map(str::trim)
            .map_err(|_| AuthError::InvalidApiKey(InvalidKeyReason::Malformed)),
        None => Err(AuthError::MissingApiKey),
    }
}

/// A signature header as text: `Ok(None)` if absent, an error if not visible ASCII.
fn header_text<'h>(
    headers: &'h HeaderMap,
    name: &str,
    display: &'static str,
) -> Result<Option<&'h str>, AuthError> {
    headers
        .get(name)
        .map(|v| {
            v.to_str().map_err(|_| AuthError::MalformedSignatureHeader {
                header: display,
                rule: "not visible ASCII",
            })
        })
        .transpose()
}

/// Whether a body error (or any of its causes) is the length limit.
fn is_length_limit(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut current = Some(e);
    while let Some(err) = current {
        if err.is::<LengthLimitError>() {
            return true;
        }
        current = err.source();
    }
    false
}

/// Logs a refusal with the key id when known; never the key, a secret or a signature.
fn log_refusal(key_id: Option<&str>, e: &AuthError) {
    let code = e.code().as_str();
    let key_id = key_id.unwrap_or("-");
    match e {
        // Logged with their cause where they become an `ApiError`.
        AuthError::NonceStoreUnavailable(_)
        | AuthError::Database(_)
        | AuthError::CorruptKeyRecord { .. } => {}
        AuthError::RateLimited { .. } => tracing::debug!(key_id, code, "request refused"),
        _ => tracing::info!(key_id, code, reason = %e, "request refused"),
    }
}
