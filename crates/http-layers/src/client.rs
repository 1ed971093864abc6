//! Who the client is, and how many requests one client address may make.
//!
//! **The client address.** It is the TCP peer, unless the peer is one of the operator's
//! trusted proxies (`trusted`, CIDRs). Then `X-Forwarded-For` is read from the right: each hop
//! a trusted proxy appended is skipped, and the first address no trusted proxy vouches for is
//! the client. A client cannot pick its own address by sending the header: from an untrusted
//! peer the header is ignored, and entries it wrote itself sit left of the first untrusted hop.
//! A malformed entry ends the walk at the last trusted hop.
//!
//! **The limit.** [`PerClientLimit`] keeps one GCRA bucket per client address
//! ([`crate::gcra`]). Past it, the service's own refusal is answered, carrying `Retry-After`.

use std::{net::IpAddr, net::SocketAddr, sync::Arc};

use axum::{
    extract::{ConnectInfo, Request, State},
    http::HeaderMap,
    middleware::Next,
    response::Response,
};
use ipnet::IpNet;

use crate::gcra::{Quota, RateLimiter};

/// The client address of a request from `peer` carrying `headers`.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    let hops = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect::<Vec<_>>();
    for hop in hops.into_iter().rev() {
        match hop.parse::<IpAddr>() {
            Ok(ip) => {
                client = ip;
                if !is_trusted(&ip) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

/// Parses `RELAYER_TRUSTED_PROXIES`-style entries: CIDRs or single addresses.
pub fn parse_trusted(entries: &[String]) -> Result<Vec<IpNet>, String> {
    entries
        .iter()
        .map(|e| e.trim())
        .filter(|e| !e.is_empty())
        .map(|e| {
            e.parse::<IpNet>()
                .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                .map_err(|_| format!("`{e}` is not an address or a CIDR"))
        })
        .collect()
}

/// The client address a [`PerClientLimit`] resolved, for the handlers after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

/// One GCRA bucket per client address.
#[derive(Clone)]
pub struct PerClientLimit {
    limiter: Arc<RateLimiter>,
    quota: Quota,
    trusted: Arc<[IpNet]>,
    refuse: fn(u64) -> Response,
    applies: fn(&HeaderMap) -> bool,
}

impl PerClientLimit {
    /// `quota` per client address, behind `trusted` proxies; past it, `refuse(retry after
    /// seconds)` is the answer.
    pub fn new(quota: Quota, trusted: Vec<IpNet>, refuse: fn(u64) -> Response) -> Self {
        Self {
            limiter: Arc::new(RateLimiter::new()),
            quota,
            trusted: trusted.into(),
            refuse,
            applies: |_| true,
        }
    }

    /// The same limit (sharing its buckets), counting only requests for which `applies`
    /// holds (for example those that carry a session token); the others pass untouched.
    pub fn only_when(&self, applies: fn(&HeaderMap) -> bool) -> Self {
        Self {
            applies,
            ..self.clone()
        }
    }

    /// The middleware (`axum::middleware::from_fn_with_state(limit, PerClientLimit::layer)`).
    pub async fn layer(State(limit): State<Self>, mut request: Request, next: Next) -> Response {
        if !(limit.applies)(request.headers()) {
            return next.run(request).await;
        }
        let peer = request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip());
        // Without the peer (a server built without connect info) every request shares one
        // bucket: stricter, never looser.
        let client = peer.map(|peer| client_ip(peer, request.headers(), &limit.trusted));
        let key = client.map_or_else(|| "unknown".to_owned(), |ip| ip.to_string());
        if let Err(limited) = limit.limiter.check(&key, limit.quota) {
            let mut response = (limit.refuse)(limited.retry_after_secs());
            if let Ok(value) = limited.retry_after_secs().to_string().parse() {
                response.headers_mut().insert("retry-after", value);
            }
            return response;
        }
        if let Some(ip) = client {
            request.extensions_mut().insert(ClientAddr(ip));
        }
        next.run(request).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn forwarded_for_counts_only_behind_trusted_proxies() {
        let trusted = parse_trusted(&["10.0.0.0/8".into(), "192.0.2.1".into()]).unwrap();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        // An untrusted peer's header is ignored.
        assert_eq!(
            client_ip(ip("203.0.113.9"), &headers(&["1.2.3.4"]), &trusted),
            ip("203.0.113.9")
        );
        // Behind one trusted proxy: the hop it appended.
        assert_eq!(
            client_ip(ip("10.1.1.1"), &headers(&["1.2.3.4"]), &trusted),
            ip("1.2.3.4")
        );
        // A spoofed left entry is not taken: the first untrusted from the right is.
        assert_eq!(
            client_ip(
                ip("10.1.1.1"),
                &headers(&["6.6.6.6, 1.2.3.4, 10.2.2.2"]),
                &trusted
            ),
            ip("1.2.3.4")
        );
        // Split across header lines, as proxies may send it.
        assert_eq!(
            client_ip(ip("192.0.2.1"), &headers(&["6.6.6.6", "1.2.3.4"]), &trusted),
            ip("1.2.3.4")
        );
        // A malformed entry ends the walk at the last trusted hop.
        assert_eq!(
            client_ip(ip("10.1.1.1"), &headers(&["1.2.3.4, junk"]), &trusted),
            ip("10.1.1.1")
        );
        assert_eq!(
            parse_trusted(&["nope".into()]),
            Err("`nope` is not an address or a CIDR".into())
        );
    }
}
