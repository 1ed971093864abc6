//! The operational layers the relayer, the indexer's API and the fallback minter all wear, so
//! each service has the same surface: every answer carries an `x-request-id` (the caller's, or
//! a new UUID), each request runs in a `request` tracing span carrying that id, and a panic in a
//! handler becomes the service's own typed 500 instead of a dropped connection. Beside them:
//! [`cors`], the client address behind trusted proxies and a limit per client ([`client`]),
//! and the GCRA they count with ([`gcra`]).

pub mod client;
pub mod cors;
pub mod gcra;

use axum::{
    http::{HeaderName, Request},
    response::Response,
    Router,
};
use tower_http::{
    catch_panic::CatchPanicLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::TraceLayer,
};

/// The request id header.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// `router` with the panic guard (answering `on_panic()`, after logging), the request span and
/// the request id, outermost last: the id is set before the span opens, and echoed on every
/// answer, the panic's included.
pub fn observe<S>(router: Router<S>, on_panic: fn() -> Response) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router
        .layer(CatchPanicLayer::custom(
            move |_: Box<dyn std::any::Any + Send + 'static>| {
                tracing::error!("handler panicked");
                on_panic()
            },
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let id = request
                    .headers()
                    .get(&REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", method = %request.method(), uri = %request.uri(), request_id = %id)
            }),
        )
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}
