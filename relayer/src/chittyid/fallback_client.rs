//! The relayer's client of the fallback minter (SPEC §5.5): it forwards mints there while
//! drand is unavailable, and pages through its signed records during reconciliation. The
//! fallback is a separate process; the only contract is its HTTP API and
//! `veil_chittyid::provisional::ProvisionalRecord`.

use std::{future::Future, sync::Arc, time::Duration};

use serde::{Deserialize, Serialize};
use veil_chittyid::provisional::ProvisionalRecord;

use crate::{
    platform::breaker::{BreakerConfig, BreakerOpen, BreakerState, CircuitBreaker},
    platform::metrics::Metrics,
};

/// The breaker's dependency label (`circuit_breaker_state{dependency="fallback"}`).
pub const BREAKER_NAME: &str = "fallback";

/// Why the fallback minter could not serve.
#[derive(Debug, thiserror::Error)]
pub enum FallbackError {
    /// Connection refused, timeout, TLS.
    #[error("fallback minter unreachable: {0}")]
    Unreachable(#[source] reqwest::Error),
    /// It answered with an error status.
    #[error("fallback minter answered {status}: {code}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Its error code, if it sent one.
        code: String,
    },
    /// It answered something that is not its documented JSON.
    #[error("fallback minter answered an undecodable body: {0}")]
    Decode(#[source] reqwest::Error),
    /// Its circuit breaker is open after repeated failures; no request was sent.
    #[error(transparent)]
    BreakerOpen(#[from] BreakerOpen),
}

impl FallbackError {
    /// Whether this says the dependency is unhealthy (as opposed to refusing one request).
    fn is_outage(&self) -> bool {
        match self {
            Self::Unreachable(_) | Self::Decode(_) => true,
            Self::Refused { status, .. } => *status >= 500,
            Self::BreakerOpen(_) => false,
        }
    }
}

/// The body of a fallback mint.
#[derive(Debug, Clone, Serialize)]
pub struct FallbackMint<'a> {
    /// Namespace.
    pub namespace: &'a str,
    /// Entity type letter.
    pub entity_type: String,
    /// Trust level.
    pub trust_level: u8,
    /// SHA-256 of the content, hex.
    pub content_hash: String,
    /// Request nonce, hex.
    pub request_nonce: String,
}

#[derive(Debug, Deserialize)]
struct RecordsPage {
    records: Vec<ProvisionalRecord>,
    next_after: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ErrorObject,
}

#[derive(Debug, Deserialize)]
struct ErrorObject {
    code: String,
}

/// HTTP client of one fallback minter, behind a timeout and a circuit breaker.
#[derive(Debug, Clone)]
pub struct FallbackClient {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
    breaker: Arc<CircuitBreaker>,
}

impl FallbackClient {
    /// A client of `base` (e.g. `http://127.0.0.1:8070`).
    pub fn new(
        base: &str,
        token: Option<String>,
        timeout: Duration,
        breaker: BreakerConfig,
        metrics: &Metrics,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: reqwest::Client::builder().timeout(timeout).build()?,
            base: base.trim_end_matches('/').to_owned(),
            token,
            breaker: Arc::new(CircuitBreaker::new(BREAKER_NAME, breaker).with_metrics(metrics)),
        })
    }

    /// The breaker's state (for `/health`).
    pub fn breaker_state(&self) -> BreakerState {
        self.breaker.state()
    }

    /// Runs one call through the breaker. Outages (unreachable, 5xx, garbage) count against
    /// it; a 4xx refusal of one request does not.
    async fn guarded<T>(
        &self,
        call: impl Future<Output = Result<T, FallbackError>>,
    ) -> Result<T, FallbackError> {
        let permit = self.breaker.try_acquire()?;
        let result = call.await;
        match &result {
            Err(e) if e.is_outage() => permit.record_failure(),
            _ => permit.record_success(),
        }
        result
    }

    fn auth(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }

    async fn decode<T: serde::de::DeserializeOwned>(
        response: reqwest::Response,
    ) -> Result<T, FallbackError> {
        let status = response.status();
        if !status.is_success() {
            let code = response
                .json::<ErrorBody>()
                .await
                .map(|b| b.error.code)
                .unwrap_or_else(|_| "UNKNOWN".into());
            return Err(FallbackError::Refused {
                status: status.as_u16(),
                code,
            });
        }
        response.json().await.map_err(FallbackError::Decode)
    }

    /// Issues a provisional ID.
    pub async fn request(
        &self,
        body: &FallbackMint<'_>,
    ) -> Result<ProvisionalRecord, FallbackError> {
        self.guarded(async {
            let response = self
                .auth(
                    self.http
                        .post(format!("{}/api/v2/fallback/request", self.base)),
                )
                .json(body)
                .send()
                .await
                .map_err(FallbackError::Unreachable)?;
            Self::decode(response).await
        })
        .await
    }

    /// One page of records with `seq_no > after`.
    pub async fn records(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<(Vec<ProvisionalRecord>, Option<u64>), FallbackError> {
        self.guarded(async {
            let response = self
                .auth(self.http.get(format!(
                    "{}/api/v2/fallback/records?after={after}&limit={limit}",
                    self.base
                )))
                .send()
                .await
                .map_err(FallbackError::Unreachable)?;
            let page: RecordsPage = Self::decode(response).await?;
            Ok((page.records, page.next_after))
        })
        .await
    }
}
