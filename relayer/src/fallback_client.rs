//! The relayer's client of the fallback minter (SPEC §5.5): it forwards mints there while
//! drand is unavailable, and pages through its signed records during reconciliation. The
//! fallback is a separate process; the only contract is its HTTP API and
//! `veil_chittyid::provisional::ProvisionalRecord`.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use veil_chittyid::provisional::ProvisionalRecord;

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

/// HTTP client of one fallback minter.
#[derive(Debug, Clone)]
pub struct FallbackClient {
    http: reqwest::Client,
    base: String,
    token: Option<String>,
}

impl FallbackClient {
    /// A client of `base` (e.g. `http://127.0.0.1:8090`).
    pub fn new(
        base: &str,
        token: Option<String>,
        timeout: Duration,
    ) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: reqwest::Client::builder().timeout(timeout).build()?,
            base: base.trim_end_matches('/').to_owned(),
            token,
        })
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
    }

    /// One page of records with `seq_no > after`.
    pub async fn records(
        &self,
        after: u64,
        limit: u32,
    ) -> Result<(Vec<ProvisionalRecord>, Option<u64>), FallbackError> {
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
    }
}
