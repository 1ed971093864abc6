//! A client of a relayer that signs every request with an API key's HMAC secret
//! (`X-Timestamp`, `X-Nonce`, `X-Signature`; docs/api-auth.md).

use serde_json::Value;
use veil_relayer::platform::auth::{signature::sign_request, SigningSecret};

/// Why a request was not sent.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The signing secret is not hex.
    #[error("the signing secret is malformed")]
    Secret,
    /// Not an HTTP method.
    #[error("`{0}` is not an HTTP method")]
    Method(String),
    /// The relayer did not answer.
    #[error("the relayer at {url} did not answer: {source}")]
    Unreachable {
        /// Its URL.
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
}

/// A signed client.
#[derive(Debug, Clone)]
pub struct SignedClient {
    base: String,
    api_key: String,
    secret: String,
    http: reqwest::Client,
}

impl SignedClient {
    /// A client of the relayer at `base` with this key and its signing secret (hex).
    pub fn new(base: &str, api_key: &str, signing_secret: &str) -> Self {
        Self {
            base: base.to_owned(),
            api_key: api_key.to_owned(),
            secret: signing_secret.to_owned(),
            http: reqwest::Client::new(),
        }
    }

    /// Sends a signed request; the status and the body (JSON, or the text as a string).
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), ClientError> {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let secret = SigningSecret::from_hex(&self.secret).map_err(|_| ClientError::Secret)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let nonce = hex::encode(rand::random::<[u8; 16]>());
        let headers = sign_request(method, path, &bytes, &secret, now, &nonce);
        let method_value = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| ClientError::Method(method.to_owned()))?;
        let response = self
            .http
            .request(method_value, format!("{}{path}", self.base))
            .header("x-api-key", &self.api_key)
            .header("x-timestamp", &headers.timestamp)
            .header("x-nonce", &headers.nonce)
            .header("x-signature", &headers.signature)
            .header("content-type", "application/json")
            .body(bytes)
            .send()
            .await
            .map_err(|source| ClientError::Unreachable {
                url: self.base.clone(),
                source,
            })?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }
}
