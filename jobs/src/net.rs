//! Outbound HTTP: one client shared by the kinds that call out, with an SSRF guard.
//!
//! Unless private networks are allowed, a request may reach only public addresses: host names
//! are checked after DNS resolution (in the client's resolver, so the checked address is the one
//! connected to), literal IPs before the request and at every redirect.
//!
//! The guarded client never goes through a proxy, whatever `HTTP_PROXY`, `HTTPS_PROXY` or
//! `ALL_PROXY` say: a proxy resolves the target itself, so the guard would check nothing (and a
//! proxy inside the network would hand tenants its private addresses).

use std::{
    error::Error as StdError,
    fmt,
    net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr},
    sync::Arc,
    time::Duration,
};

use reqwest::{
    Url,
    dns::{Addrs, Name, Resolve, Resolving},
};

/// The limit on redirects followed by one request.
pub const MAX_REDIRECTS: usize = 5;

/// A request refused because its target is on a private, loopback or link-local network.
#[derive(Debug, Clone)]
pub struct BlockedAddress {
    /// The host as written.
    pub host: String,
    /// The address it resolved to.
    pub addr: IpAddr,
}

impl fmt::Display for BlockedAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "refused: {} is on a private, loopback or link-local network ({}); set ALLOW_PRIVATE_NETWORKS=true (or, for the LLM alone, LLM_ALLOW_PRIVATE=true) to allow it",
            self.host, self.addr
        )
    }
}

impl StdError for BlockedAddress {}

/// Whether `ip` is a public unicast address.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_unspecified()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)) // documentation
}

/// Checks a URL before it is requested: http or https, a host, and (unless allowed) no
/// literal private address.
pub fn check_url(url: &Url, allow_private: bool) -> Result<(), String> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!(
            "unsupported scheme {}: expected http or https",
            url.scheme()
        ));
    }
    let host = url.host().ok_or("the URL has no host")?;
    if allow_private {
        return Ok(());
    }
    let literal = match host {
        url::Host::Ipv4(v4) => Some(IpAddr::V4(v4)),
        url::Host::Ipv6(v6) => Some(IpAddr::V6(v6)),
        url::Host::Domain(_) => None,
    };
    match literal {
        Some(addr) if !is_public(addr) => Err(BlockedAddress {
            host: host.to_string(),
            addr,
        }
        .to_string()),
        _ => Ok(()),
    }
}

/// Whether `error` (or anything in its source chain) is an SSRF refusal.
pub fn is_blocked(error: &(dyn StdError + 'static)) -> bool {
    let mut current = Some(error);
    while let Some(e) = current {
        if e.downcast_ref::<BlockedAddress>().is_some() {
            return true;
        }
        if e.to_string().starts_with("refused: ") {
            return true;
        }
        current = e.source();
    }
    false
}

/// DNS resolution that refuses private addresses unless they are allowed.
#[derive(Debug, Clone, Copy)]
struct GuardedResolver {
    allow_private: bool,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow_private = self.allow_private;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private && let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
                return Err(Box::new(BlockedAddress {
                    host,
                    addr: bad.ip(),
                }) as Box<dyn StdError + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The shared outbound client: gzip, a bounded redirect chain that re-checks every hop, the
/// guarded resolver, no proxy (the environment's proxy settings are ignored), and a user agent
/// naming demandflow.
pub fn client(allow_private: bool) -> reqwest::Client {
    let redirect = reqwest::redirect::Policy::custom(move |attempt| {
        if attempt.previous().len() >= MAX_REDIRECTS {
            attempt.error(format!("stopped after {MAX_REDIRECTS} redirects"))
        } else if let Err(refusal) = check_url(attempt.url(), allow_private) {
            attempt.error(refusal)
        } else {
            attempt.follow()
        }
    });
    reqwest::Client::builder()
        .user_agent(concat!("demandflow/", env!("CARGO_PKG_VERSION")))
        .redirect(redirect)
        // A proxy would resolve (and reach) the target for us, past the guarded resolver.
        .no_proxy()
        .dns_resolver(Arc::new(GuardedResolver { allow_private }))
        .connect_timeout(Duration::from_secs(10))
        .build()
        .expect("the HTTP client's settings are static and valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip} must be refused");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[test]
    fn literal_private_urls_are_refused_unless_allowed() {
        let url = Url::parse("http://169.254.169.254/latest/meta-data").unwrap();
        let refusal = check_url(&url, false).unwrap_err();
        assert!(refusal.starts_with("refused: "), "{refusal}");
        assert!(check_url(&url, true).is_ok());
        assert!(check_url(&Url::parse("ftp://example.com/").unwrap(), true).is_err());
        assert!(check_url(&Url::parse("https://example.com/").unwrap(), false).is_ok());
    }

    #[tokio::test]
    async fn host_names_resolving_to_loopback_are_refused() {
        let client = client(false);
        let err = client.get("http://localhost:9/").send().await.unwrap_err();
        assert!(is_blocked(&err), "{err:?}");
    }
}
