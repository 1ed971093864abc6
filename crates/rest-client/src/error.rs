//! What a call can fail with.

use std::time::Duration;

use serde_json::Value;

/// Why a call did not give its answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The relayer answered with its error envelope (`{"error": {code, message, details}}`).
    #[error("{status} {code}: {message}")]
    Api {
        /// HTTP status.
        status: u16,
        /// The typed code, such as `AUTH_SIGNATURE_INVALID`.
        code: String,
        /// The relayer's message.
        message: String,
        /// `details`, when given.
        details: Value,
        /// `Retry-After`, in seconds, when given.
        retry_after: Option<u64>,
    },
    /// No answer: connection refused, reset or timed out.
    #[error("{url} did not answer: {source}")]
    Unreachable {
        /// Where.
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
    /// The breaker is open: the relayer failed repeatedly and is not called until `retry_after`
    /// has passed and `GET /health` answers.
    #[error("the relayer is failing; not calling it for {retry_after:?}")]
    BreakerOpen {
        /// Until the next probe.
        retry_after: Duration,
    },
    /// An answer that is not the relayer's JSON.
    #[error("unexpected answer {status}: {body}")]
    Unexpected {
        /// HTTP status.
        status: u16,
        /// The first bytes of the body.
        body: String,
    },
    /// The client is not set up for this call (no credentials, a malformed secret, …).
    #[error("client configuration: {0}")]
    Config(&'static str),
}

impl ClientError {
    /// The typed code of an [`Api`](Self::Api) error.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether the relayer itself is the trouble (no answer, breaker open, 5xx): what fail-over
    /// and the breaker count.
    pub fn is_outage(&self) -> bool {
        match self {
            Self::Unreachable { .. } | Self::BreakerOpen { .. } => true,
            Self::Api { status, .. } | Self::Unexpected { status, .. } => *status >= 500,
            Self::Config(_) => false,
        }
    }
}
