//! Where a webhook may go. An endpoint's URL must be `https`, or `http` to loopback when the
//! operator allows loopback (tests, the local stack). Its host must not be, or resolve to, an
//! address of the operator's own network (loopback, private, link-local, shared, unique-local)
//! unless allowed, and never to an unspecified, broadcast or multicast address: no SSRF.
//!
//! The rule is checked when the URL is registered, and again on every connection:
//! [`GuardedResolver`] is the delivery client's DNS resolver and drops forbidden addresses, so
//! a name that later re-resolves elsewhere (DNS rebinding) still cannot reach them; a URL with
//! an IP literal, which no resolver sees, is checked before each request.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use ipnet::Ipv4Net;
use reqwest::Url;

/// What the operator allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetPolicy {
    /// Loopback addresses (and `http` to them).
    pub allow_loopback: bool,
    /// Private, link-local and shared addresses.
    pub allow_private: bool,
}

/// Why a URL or an address is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Not an absolute URL with a host.
    #[error("`url` must be an absolute https URL with a host")]
    Malformed,
    /// Not https (or http to an allowed loopback).
    #[error("`url` must use https (http only to loopback, when the relayer allows loopback)")]
    Scheme,
    /// The host is, or resolves to, an address the relayer may not call.
    #[error("`url` reaches {address}, a {class} address webhooks may not call")]
    Forbidden {
        /// The address.
        address: IpAddr,
        /// Its class.
        class: &'static str,
    },
    /// The host does not resolve.
    #[error("`url`'s host `{0}` does not resolve")]
    Unresolvable(String),
}

/// Shared address space (carrier-grade NAT, RFC 6598), which std has no predicate for.
const SHARED: Ipv4Net = Ipv4Net::new_assert(Ipv4Addr::new(100, 64, 0, 0), 10);
/// "This network" (RFC 791), beyond 0.0.0.0 itself.
const THIS_NETWORK: Ipv4Net = Ipv4Net::new_assert(Ipv4Addr::new(0, 0, 0, 0), 8);
/// Benchmarking (RFC 2544).
const BENCHMARKING: Ipv4Net = Ipv4Net::new_assert(Ipv4Addr::new(198, 18, 0, 0), 15);

/// The class of `ip` the policy has a rule for, if any: (class, whether a switch may allow it).
fn class(ip: IpAddr) -> Option<(&'static str, bool)> {
    match ip {
        IpAddr::V4(v4) => {
            if v4.is_loopback() {
                Some(("loopback", true))
            } else if v4.is_unspecified() || THIS_NETWORK.contains(&v4) {
                Some(("unspecified", false))
            } else if v4.is_broadcast() || v4.is_multicast() {
                Some(("broadcast or multicast", false))
            } else if v4.is_private() || SHARED.contains(&v4) || BENCHMARKING.contains(&v4) {
                Some(("private", true))
            } else if v4.is_link_local() {
                Some(("link-local", true))
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return class(IpAddr::V4(v4));
            }
            if v6.is_loopback() {
                Some(("loopback", true))
            } else if v6.is_unspecified() {
                Some(("unspecified", false))
            } else if v6.is_multicast() {
                Some(("broadcast or multicast", false))
            } else if v6.is_unique_local() {
                Some(("private", true))
            } else if v6.is_unicast_link_local() {
                Some(("link-local", true))
            } else {
                None
            }
        }
    }
}

impl TargetPolicy {
    /// Whether a connection to `ip` is allowed.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), TargetError> {
        match class(ip) {
            None => Ok(()),
            Some(("loopback", _)) if self.allow_loopback => Ok(()),
            Some((name, true)) if name != "loopback" && self.allow_private => Ok(()),
            Some((class, _)) => Err(TargetError::Forbidden { address: ip, class }),
        }
    }

    /// Checks a URL's form and, when its host is an IP literal, the address.
    pub fn check_url(&self, text: &str) -> Result<Url, TargetError> {
        let url = Url::parse(text).map_err(|_| TargetError::Malformed)?;
        let literal = literal_ip(&url)?;
        let loopback_host = match literal {
            Some(ip) => class(ip).is_some_and(|(c, _)| c == "loopback"),
            None => url.host_str() == Some("localhost"),
        };
        match url.scheme() {
            "https" => {}
            "http" if self.allow_loopback && loopback_host => {}
            _ => return Err(TargetError::Scheme),
        }
        if let Some(ip) = literal {
            self.check_ip(ip)?;
        } else if loopback_host && !self.allow_loopback {
            return Err(TargetError::Forbidden {
                address: IpAddr::from([127, 0, 0, 1]),
                class: "loopback",
            });
        }
        Ok(url)
    }

    /// [`check_url`](Self::check_url), then every address the host resolves to now.
    pub async fn check_resolved(&self, text: &str) -> Result<Url, TargetError> {
        let url = self.check_url(text)?;
        if let (None, Some(host)) = (literal_ip(&url)?, url.host_str()) {
            let port = url.port_or_known_default().unwrap_or(443);
            let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
                .await
                .map_err(|_| TargetError::Unresolvable(host.to_owned()))?
                .collect();
            if addresses.is_empty() {
                return Err(TargetError::Unresolvable(host.to_owned()));
            }
            for address in addresses {
                self.check_ip(address.ip())?;
            }
        }
        Ok(url)
    }
}

/// The host of `url` when it is an IP literal (`[…]` for IPv6).
fn literal_ip(url: &Url) -> Result<Option<IpAddr>, TargetError> {
    let host = url.host_str().ok_or(TargetError::Malformed)?;
    Ok(host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .ok())
}

/// The delivery client's resolver: the system's answers, less the addresses the policy
/// forbids (a name left with none fails to connect).
#[derive(Debug, Clone)]
pub struct GuardedResolver(pub TargetPolicy);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| policy.check_ip(a.ip()).is_ok())
                .collect();
            if found.is_empty() {
                return Err(Box::new(TargetError::Unresolvable(host))
                    as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(found.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: TargetPolicy = TargetPolicy {
        allow_loopback: false,
        allow_private: false,
    };

    #[test]
    fn forbidden_targets_are_refused_by_class() {
        for (url, class) in [
            ("https://127.0.0.1/hook", "loopback"),
            ("https://[::1]/hook", "loopback"),
            ("https://localhost/hook", "loopback"),
            ("https://10.1.2.3/hook", "private"),
            ("https://172.16.0.1/hook", "private"),
            ("https://192.168.1.1/hook", "private"),
            ("https://100.64.0.1/hook", "private"),
            ("https://[fd00::1]/hook", "private"),
            ("https://169.254.169.254/latest/meta-data", "link-local"),
            ("https://[fe80::1]/hook", "link-local"),
            ("https://[::ffff:10.0.0.1]/hook", "private"),
            ("https://0.0.0.0/hook", "unspecified"),
            ("https://224.0.0.1/hook", "broadcast or multicast"),
        ] {
            match STRICT.check_url(url) {
                Err(TargetError::Forbidden { class: c, .. }) => assert_eq!(c, class, "{url}"),
                other => panic!("{url}: {other:?}"),
            }
        }
        assert_eq!(
            STRICT.check_url("http://example.com/hook"),
            Err(TargetError::Scheme)
        );
        assert_eq!(
            STRICT.check_url("ftp://example.com/"),
            Err(TargetError::Scheme)
        );
        assert_eq!(STRICT.check_url("not a url"), Err(TargetError::Malformed));
        assert!(STRICT.check_url("https://example.com/hook").is_ok());
        assert!(STRICT.check_url("https://8.8.8.8/hook").is_ok());
    }

    #[test]
    fn the_switches_allow_what_they_name_and_no_more() {
        let loopback = TargetPolicy {
            allow_loopback: true,
            allow_private: false,
        };
        assert!(loopback.check_url("http://127.0.0.1:9000/hook").is_ok());
        assert!(loopback.check_url("http://localhost:9000/hook").is_ok());
        assert!(loopback.check_url("https://10.0.0.1/").is_err());
        assert_eq!(
            loopback.check_url("http://10.0.0.1/"),
            Err(TargetError::Scheme)
        );
        let private = TargetPolicy {
            allow_loopback: false,
            allow_private: true,
        };
        assert!(private.check_url("https://10.0.0.1/").is_ok());
        assert!(private.check_url("https://127.0.0.1/").is_err());
        // Never: unspecified, multicast.
        let all = TargetPolicy {
            allow_loopback: true,
            allow_private: true,
        };
        assert!(all.check_url("https://0.0.0.0/").is_err());
        assert!(all.check_url("https://[ff02::1]/").is_err());
    }
}
