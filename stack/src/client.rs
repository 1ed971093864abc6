//! The stack's signed client: `veil-rest-client` with an API key, answering every status as a
//! `(status, body)` pair so that the demo can print refusals as they come. No retries and no
//! breaker here: the demo shows each request as sent, and the benchmarks measure each one.

use std::time::Duration;

use serde_json::{json, Value};
use veil_rest_client::{breaker::BreakerConfig, Client};

/// Why a request was not sent.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The client could not be set up (a malformed signing secret or URL).
    #[error("the client cannot be set up: {0}")]
    Config(String),
    /// Not an HTTP method.
    #[error("`{0}` is not an HTTP method")]
    Method(String),
    /// The relayer did not answer.
    #[error("the relayer did not answer: {0}")]
    Unreachable(String),
}

/// A client that signs every request with an API key's HMAC secret (`docs/api-auth.md`).
#[derive(Clone)]
pub struct SignedClient {
    inner: Result<Client, String>,
}

impl SignedClient {
    /// A client of the relayer at `base` with this key and its signing secret (hex).
    pub fn new(base: &str, api_key: &str, signing_secret: &str) -> Self {
        let inner = Client::builder(base)
            .api_key(api_key, signing_secret)
            .retry(veil_retry::Policy::new(Duration::ZERO, Duration::ZERO, 0))
            .breaker(BreakerConfig {
                failures: u32::MAX,
                open_for: Duration::ZERO,
            })
            .verify_cache_ttl(Duration::ZERO)
            .build()
            .map_err(|e| e.to_string());
        Self { inner }
    }

    /// Sends a signed request; the status and the body (JSON, or the text as a string).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), ClientError> {
        use veil_rest_client::ClientError as E;
        let client = self
            .inner
            .as_ref()
            .map_err(|e| ClientError::Config(e.clone()))?;
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| ClientError::Method(method.to_owned()))?;
        match client.call(method, path, body).await {
            Ok(response) => Ok((response.status, response.body)),
            Err(E::Api {
                status,
                code,
                message,
                details,
                ..
            }) => Ok((
                status,
                json!({ "error": { "code": code, "message": message, "details": details } }),
            )),
            Err(E::Unexpected { status, body }) => Ok((status, Value::String(body))),
            Err(error) => Err(ClientError::Unreachable(error.to_string())),
        }
    }
}
