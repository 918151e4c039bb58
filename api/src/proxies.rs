//! Which TCP peers are the operator's own proxies, and so who the client really is.
//!
//! `TRUSTED_PROXIES` lists the load balancers and routers in front of the api, as CIDRs or single
//! addresses (none by default). `X-Forwarded-For` is read only when the TCP peer is one of them:
//! each proxy appends the address it received the request from, so the client is the right-most
//! address of the header that is not itself a trusted proxy; everything left of it was written by
//! the client and may be forged. From any other peer the header is ignored and the peer is the
//! client. [`crate::auth::client_ip`] applies this to a request; the audit log, the bad-key
//! throttle and the request logs all ask it.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

/// Most `X-Forwarded-For` entries looked at, from the right: a bound on the work a long header
/// can cause (no real chain of proxies is this deep).
const MAX_HOPS: usize = 16;

/// The networks whose peers may say, in `X-Forwarded-For`, whom they forward for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    /// Parses a comma-separated list of CIDRs (`10.0.0.0/8`, `fd00::/8`) and addresses
    /// (`192.0.2.7`); blanks are skipped. The error names the entry that is neither.
    pub fn parse(list: &str) -> Result<Self, String> {
        list.split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .map(|e| {
                e.parse::<IpNet>()
                    .or_else(|_| e.parse::<IpAddr>().map(IpNet::from))
                    .map(|n| n.trunc())
                    .map_err(|_| e.to_owned())
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
    }

    /// Whether no proxy is trusted (the header is never read).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `ip` is one of the trusted proxies.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request that came from `peer` with these `X-Forwarded-For` values (every
    /// header's value, in the order received).
    ///
    /// When `peer` is not trusted: `peer`. Otherwise the right-most address that is not trusted;
    /// when every address is trusted, the left-most one looked at; when an entry that should have
    /// been written by a trusted proxy is not an address, the last address that was (the header
    /// was mangled on the client's side of that proxy).
    pub fn client<'a, I>(&self, peer: IpAddr, forwarded_for: I) -> IpAddr
    where
        I: IntoIterator<Item = &'a str>,
        I::IntoIter: DoubleEndedIterator,
    {
        let peer = peer.to_canonical();
        if !self.contains(peer) {
            return peer;
        }
        let right_to_left = forwarded_for.into_iter().rev().flat_map(|v| v.rsplit(','));
        let mut client = peer;
        for entry in right_to_left.take(MAX_HOPS) {
            let Some(ip) = parse_entry(entry) else {
                return client;
            };
            client = ip;
            if !self.contains(ip) {
                return ip;
            }
        }
        client
    }
}

/// One `X-Forwarded-For` entry: an address, with or without a port (`192.0.2.7:4711`,
/// `[2001:db8::1]:443`, `[2001:db8::1]`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| {
            entry
                .strip_prefix('[')
                .and_then(|e| e.strip_suffix(']'))
                .and_then(|e| e.parse::<IpAddr>().ok())
        })
        .map(|ip| ip.to_canonical())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_list_takes_cidrs_and_addresses_and_names_a_bad_entry() {
        let t = TrustedProxies::parse(" 10.0.0.0/8, 192.0.2.7 ,fd00::/8,").unwrap();
        assert!(t.contains(ip("10.1.2.3")));
        assert!(t.contains(ip("192.0.2.7")));
        assert!(!t.contains(ip("192.0.2.8")));
        assert!(t.contains(ip("fd00::1")));
        assert!(t.contains(ip("::ffff:10.9.9.9")), "an IPv4-mapped peer");
        assert!(TrustedProxies::parse("").unwrap().is_empty());
        assert_eq!(
            TrustedProxies::parse("10.0.0.0/8, proxy.local").unwrap_err(),
            "proxy.local"
        );
        assert_eq!(
            TrustedProxies::parse("10.0.0.0/33").unwrap_err(),
            "10.0.0.0/33"
        );
    }

    #[test]
    fn the_header_is_ignored_unless_the_peer_is_trusted() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client(ip("198.51.100.1"), ["203.0.113.9"]),
            ip("198.51.100.1")
        );
        let t = TrustedProxies::parse("10.0.0.0/8").unwrap();
        assert_eq!(
            t.client(ip("198.51.100.1"), ["203.0.113.9"]),
            ip("198.51.100.1"),
            "an untrusted peer cannot name another client"
        );
        assert_eq!(t.client(ip("10.0.0.2"), ["203.0.113.9"]), ip("203.0.113.9"));
        assert_eq!(t.client(ip("10.0.0.2"), []), ip("10.0.0.2"), "no header");
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_address() {
        let t = TrustedProxies::parse("10.0.0.0/8").unwrap();
        // The client forged the first entry; the two proxies appended the rest.
        assert_eq!(
            t.client(ip("10.0.0.1"), ["1.1.1.1, 203.0.113.9, 10.0.0.5"]),
            ip("203.0.113.9")
        );
        // Several headers are one list, in order.
        assert_eq!(
            t.client(ip("10.0.0.1"), ["1.1.1.1", "203.0.113.9:5555", "10.0.0.5"]),
            ip("203.0.113.9")
        );
        assert_eq!(
            t.client(ip("10.0.0.1"), ["[2001:db8::7]:443"]),
            ip("2001:db8::7")
        );
        // Only proxies: the furthest one.
        assert_eq!(
            t.client(ip("10.0.0.1"), ["10.0.0.9, 10.0.0.5"]),
            ip("10.0.0.9")
        );
        // Garbage where a proxy's entry should be: the last address a proxy vouched for.
        assert_eq!(
            t.client(ip("10.0.0.1"), ["203.0.113.9, unknown, 10.0.0.5"]),
            ip("10.0.0.5")
        );
        assert_eq!(t.client(ip("10.0.0.1"), ["not an address"]), ip("10.0.0.1"));
    }

    #[test]
    fn a_long_header_is_read_only_so_far() {
        let t = TrustedProxies::parse("10.0.0.0/8").unwrap();
        let long = vec!["10.0.0.3"; 10_000].join(",");
        assert_eq!(t.client(ip("10.0.0.1"), [long.as_str()]), ip("10.0.0.3"));
    }
}
