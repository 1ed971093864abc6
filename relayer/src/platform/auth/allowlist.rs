//! The IP allowlist of admin routes: IPv4 and IPv6 CIDR blocks or bare addresses.
//!
//! An IPv4-mapped IPv6 address (`::ffff:10.1.2.3`, what a dual-stack socket reports for an IPv4
//! peer) is matched as the IPv4 address it carries, and an entry written in that form (with a
//! prefix of at least 96) is stored as the IPv4 block it denotes. An empty list allows nobody.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr},
};

/// Addresses allowed on admin routes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IpAllowlist {
    blocks: Vec<IpBlock>,
}

/// One CIDR block, its address already masked to the prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct IpBlock {
    network: IpAddr,
    prefix: u8,
}

/// Why an allowlist entry was refused; names the entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("admin allowlist entry `{entry}` is invalid: {reason}")]
pub struct AllowlistError {
    /// The entry as written.
    pub entry: String,
    /// What is wrong with it.
    pub reason: AllowlistErrorReason,
}

/// What is wrong with an allowlist entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AllowlistErrorReason {
    /// The part before `/` is not an IPv4 or IPv6 address.
    #[error("not an IPv4 or IPv6 address")]
    BadAddress,
    /// The part after `/` is not a number.
    #[error("the prefix length is not a number")]
    BadPrefix,
    /// The prefix is longer than the address.
    #[error("the prefix length exceeds {max} for this address family")]
    PrefixTooLong {
        /// 32 or 128.
        max: u8,
    },
}

impl IpAllowlist {
    /// Parses entries such as `"127.0.0.1/32"`, `"10.0.0.0/8"`, `"::1/128"` or `"192.168.1.5"`.
    /// Blank entries are skipped (so `RELAYER_ADMIN_ALLOWLIST=""` allows nobody); host bits
    /// below the prefix are ignored (`10.1.2.3/8` is `10.0.0.0/8`).
    pub fn parse(entries: &[String]) -> Result<IpAllowlist, AllowlistError> {
        let blocks = entries
            .iter()
            .map(|e| e.trim())
            .filter(|e| !e.is_empty())
            .map(|entry| {
                IpBlock::parse(entry).map_err(|reason| AllowlistError {
                    entry: entry.to_owned(),
                    reason,
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { blocks })
    }

    /// Whether `ip` is in one of the blocks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.blocks.iter().any(|block| block.contains(ip))
    }

    /// Whether the list allows nobody.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
    }
}

impl fmt::Display for IpAllowlist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, block) in self.blocks.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}/{}", block.network, block.prefix)?;
        }
        Ok(())
    }
}

impl IpBlock {
    fn parse(entry: &str) -> Result<Self, AllowlistErrorReason> {
        let (addr, prefix) = match entry.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (entry, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| AllowlistErrorReason::BadAddress)?;
        let max = match addr {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p
                .parse::<u8>()
                .map_err(|_| AllowlistErrorReason::PrefixTooLong { max })?,
            Some(_) => return Err(AllowlistErrorReason::BadPrefix),
        };
        if prefix > max {
            return Err(AllowlistErrorReason::PrefixTooLong { max });
        }
        // `::ffff:a.b.c.d/96+n` is the IPv4 block `a.b.c.d/n`.
        let (addr, prefix) = match addr {
            IpAddr::V6(v6) if prefix >= 96 => match v6.to_ipv4_mapped() {
                Some(v4) => (IpAddr::V4(v4), prefix - 96),
                None => (addr, prefix),
            },
            _ => (addr, prefix),
        };
        Ok(Self {
            network: mask(addr, prefix),
            prefix,
        })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(_), IpAddr::V4(_)) | (IpAddr::V6(_), IpAddr::V6(_)) => {
                mask(ip, self.prefix) == self.network
            }
            _ => false,
        }
    }
}

/// `addr` with every bit below `prefix` cleared.
fn mask(addr: IpAddr, prefix: u8) -> IpAddr {
    match addr {
        IpAddr::V4(v4) => {
            let bits = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(u32::from(v4) & bits))
        }
        IpAddr::V6(v6) => {
            let bits = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from(u128::from(v6) & bits))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> IpAllowlist {
        IpAllowlist::parse(&entries.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn allowlist_parses_cidr_and_bare_addresses() {
        let l = list(&["127.0.0.1/32", "10.0.0.0/8", "::1/128", "192.168.1.5"]);
        for allowed in [
            "127.0.0.1",
            "10.0.0.0",
            "10.255.255.255",
            "::1",
            "192.168.1.5",
        ] {
            assert!(l.contains(ip(allowed)), "{allowed}");
        }
        for denied in [
            "127.0.0.2",
            "11.0.0.1",
            "::2",
            "192.168.1.6",
            "9.255.255.255",
        ] {
            assert!(!l.contains(ip(denied)), "{denied}");
        }
        assert_eq!(
            l.to_string(),
            "127.0.0.1/32,10.0.0.0/8,::1/128,192.168.1.5/32"
        );
    }

    #[test]
    fn allowlist_matches_ipv4_mapped_ipv6_peers() {
        let l = list(&["10.0.0.0/8"]);
        assert!(l.contains(ip("::ffff:10.1.2.3")));
        assert!(!l.contains(ip("::ffff:11.1.2.3")));
        // A mapped entry is the IPv4 block it denotes.
        let mapped = list(&["::ffff:192.168.0.0/112"]);
        assert!(mapped.contains(ip("192.168.7.7")));
        assert!(mapped.contains(ip("::ffff:192.168.7.7")));
        assert!(!mapped.contains(ip("192.169.0.1")));
    }

    #[test]
    fn allowlist_masks_host_bits_and_handles_zero_prefixes() {
        let l = list(&["10.1.2.3/8"]);
        assert!(l.contains(ip("10.200.0.1")));
        let all_v4 = list(&["0.0.0.0/0"]);
        assert!(all_v4.contains(ip("203.0.113.9")));
        assert!(!all_v4.contains(ip("2001:db8::1")));
        let v6 = list(&["2001:db8::/32"]);
        assert!(v6.contains(ip("2001:db8:ffff::1")));
        assert!(!v6.contains(ip("2001:db9::1")));
        assert!(list(&["::/0"]).contains(ip("2001:db8::1")));
    }

    #[test]
    fn allowlist_empty_allows_nobody() {
        let l = list(&[]);
        assert!(l.is_empty());
        assert!(!l.contains(ip("127.0.0.1")));
        assert!(list(&["", "  "]).is_empty());
    }

    #[test]
    fn allowlist_rejects_malformed_entries_by_name() {
        let cases = [
            (
                "10.0.0.0/33",
                AllowlistErrorReason::PrefixTooLong { max: 32 },
            ),
            ("::1/129", AllowlistErrorReason::PrefixTooLong { max: 128 }),
            ("::1/999", AllowlistErrorReason::PrefixTooLong { max: 128 }),
            ("10.0.0/8", AllowlistErrorReason::BadAddress),
            ("localhost", AllowlistErrorReason::BadAddress),
            ("10.0.0.0/", AllowlistErrorReason::BadPrefix),
            ("10.0.0.0/-1", AllowlistErrorReason::BadPrefix),
            ("10.0.0.0/8/8", AllowlistErrorReason::BadPrefix),
        ];
        for (entry, reason) in cases {
            let err = IpAllowlist::parse(&["127.0.0.1".into(), entry.into()]).unwrap_err();
            assert_eq!(err.entry, entry);
            assert_eq!(err.reason, reason, "{entry}");
            assert!(err.to_string().contains(entry));
        }
    }
}
