//! CORS for a service's browser callers ([`tower_http::cors`]): the allowed origins come from
//! configuration; `*` allows any origin and then never credentials. Preflight requests are
//! answered by the layer. The headers a caller may send are the services' own (API key,
//! signature, session, idempotency); the ones a page may read include the request id and
//! `Retry-After`.

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// Why the configured origins cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("CORS origin `{0}` is not `*` or `scheme://host[:port]`")]
pub struct CorsError(pub String);

/// The request headers a browser may send.
const ALLOWED: [&str; 9] = [
    "content-type",
    "authorization",
    "x-api-key",
    "x-timestamp",
    "x-nonce",
    "x-signature",
    "idempotency-key",
    "x-request-id",
    "x-cursor",
];

/// The answer headers a page may read.
const EXPOSED: [&str; 2] = ["x-request-id", "retry-after"];

/// The layer for `origins` (`*`, or `scheme://host[:port]` each); `None` when the list is
/// empty (no cross-origin caller is allowed, as without the layer).
pub fn layer(origins: &[String]) -> Result<Option<CorsLayer>, CorsError> {
    let origins: Vec<&str> = origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .collect();
    if origins.is_empty() {
        return Ok(None);
    }
    let allow = if origins.contains(&"*") {
        AllowOrigin::any()
    } else {
        let mut values = Vec::with_capacity(origins.len());
        for origin in origins {
            let valid = (origin.starts_with("http://") || origin.starts_with("https://"))
                && !origin.trim_end_matches('/').contains(['?', '#'])
                && origin.split("://").nth(1).is_some_and(|rest| {
                    !rest.is_empty() && !rest.trim_end_matches('/').contains('/')
                });
            let value = HeaderValue::from_str(origin.trim_end_matches('/'))
                .ok()
                .filter(|_| valid)
                .ok_or_else(|| CorsError(origin.to_owned()))?;
            values.push(value);
        }
        AllowOrigin::list(values)
    };
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
            ])
            .allow_headers(ALLOWED.map(HeaderName::from_static))
            .expose_headers(EXPOSED.map(HeaderName::from_static))
            // Never credentials (cookies): the services authenticate by header.
            .allow_credentials(false)
            .max_age(Duration::from_secs(600)),
    ))
}
