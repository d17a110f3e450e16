//! Which callback addresses the hub refuses to contact (loopback,
//! private, link-local, unspecified, multicast), and a resolver for the
//! HTTP client that refuses them at connect time too, so a name that
//! resolved to a public address when subscribing cannot be pointed at an
//! internal one later (DNS rebinding).
//!
//! The client consults the resolver only for names: a callback whose host
//! is an IP literal is checked by [`refused_literal`] before each request.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use url::{Host, Url};

/// Whether the hub refuses to send to `ip`.
pub fn is_refused(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => refused_v6(v6),
    }
}

fn refused_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        // "This network" (0.0.0.0/8) reaches the host itself on Linux.
        || a == 0
        // Shared address space (RFC 6598): a carrier's private network.
        || (a == 100 && (64..128).contains(&b))
}

fn refused_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(ip) {
        return refused_v4(v4);
    }
    let first = ip.segments()[0];
    ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        // Unique local, fc00::/7.
        || (first & 0xfe00) == 0xfc00
        // Link-local, fe80::/10.
        || (first & 0xffc0) == 0xfe80
}

/// The IPv4 address inside an IPv4-mapped (`::ffff:a.b.c.d`),
/// IPv4-compatible (`::a.b.c.d`) or NAT64 (`64:ff9b::a.b.c.d`) address.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let s = ip.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[..6] == [0, 0, 0, 0, 0, 0] && !ip.is_loopback() && !ip.is_unspecified() {
        return Some(low);
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(low);
    }
    None
}

/// `Some(reason)` when the callback's host is an IP literal the hub refuses.
pub fn refused_literal(url: &Url) -> Option<String> {
    let ip = match url.host()? {
        Host::Ipv4(v4) => IpAddr::V4(v4),
        Host::Ipv6(v6) => IpAddr::V6(v6),
        Host::Domain(_) => return None,
    };
    is_refused(ip).then(|| format!("callback address {ip} is private, loopback or link-local"))
}

/// Resolves the callback's host when subscribing: `Err(reason)` when it
/// does not resolve or any of its addresses is refused.
pub async fn check_callback(url: &Url) -> Result<(), String> {
    if let Some(reason) = refused_literal(url) {
        return Err(reason);
    }
    let Some(Host::Domain(name)) = url.host() else {
        return Ok(());
    };
    let port = url.port_or_known_default().unwrap_or(80);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
        .await
        .map_err(|e| format!("callback host {name} does not resolve: {e}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("callback host {name} does not resolve"));
    }
    match addrs.iter().find(|a| is_refused(a.ip())) {
        Some(a) => Err(format!(
            "callback host {name} resolves to {}, a private, loopback or link-local address",
            a.ip()
        )),
        None => Ok(()),
    }
}

/// The HTTP client's resolver: the system's, with refused addresses
/// removed unless private callbacks are allowed.
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    /// `websub.allow_private_callbacks`, as the config says now.
    pub allow_private: Arc<AtomicBool>,
}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow = self.allow_private.load(Ordering::Relaxed);
        Box::pin(async move {
            let host = name.as_str().to_string();
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| allow || !is_refused(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host}: no address the hub may contact").into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(s: &str) -> bool {
        is_refused(s.parse().unwrap())
    }

    #[test]
    fn internal_addresses_are_refused_in_every_spelling() {
        for ip in [
            "127.0.0.1",
            "127.8.9.10",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "0.1.2.3",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "ff02::1",
        ] {
            assert!(refused(ip), "{ip} should be refused");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "2606:2800:220:1::1",
            "::ffff:93.184.216.34",
        ] {
            assert!(!refused(ip), "{ip} should be allowed");
        }
    }

    #[test]
    fn literal_hosts_are_checked_without_a_resolver() {
        let url = |s: &str| Url::parse(s).unwrap();
        assert!(refused_literal(&url("http://127.0.0.1:9/cb")).is_some());
        assert!(refused_literal(&url("http://[::ffff:127.0.0.1]/cb")).is_some());
        assert!(refused_literal(&url("http://[::1]/cb")).is_some());
        assert!(refused_literal(&url("http://2130706433/cb")).is_some());
        assert!(refused_literal(&url("http://example.com/cb")).is_none());
        assert!(refused_literal(&url("http://93.184.216.34/cb")).is_none());
    }
}
