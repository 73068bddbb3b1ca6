//! The client's address, for limits per address: the TCP peer, or, when the peer is a trusted
//! reverse proxy, the `X-Forwarded-For` entry that proxy added. A header from anyone else is
//! ignored, since any client can send one.

use crate::app::AppState;
use crate::error::ApiError;
use actix_web::dev::Payload;
use actix_web::{web, FromRequest, HttpRequest};
use ipnet::IpNet;
use std::future::{ready, Ready};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The client address of a request (see the module doc).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl FromRequest for ClientAddr {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let peer = req
            .peer_addr()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |a| a.ip());
        let trusted = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.settings.trusted_proxies.as_slice())
            .unwrap_or_default();
        let forwarded: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .filter_map(|v| v.to_str().ok())
            .collect();
        ready(Ok(ClientAddr(client_address(peer, &forwarded, trusted))))
    }
}

/// Walks `X-Forwarded-For` (all its header lines, in order) from the right: each trusted
/// proxy vouches for the entry to its left. The first entry that is not a trusted proxy is the
/// client. An entry that is not an address stops the walk at the last proxy that was trusted;
/// if every entry is a trusted proxy, the leftmost is the client.
pub fn client_address(peer: IpAddr, forwarded_for: &[&str], trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(&canonical(*ip)));
    if !is_trusted(&peer) {
        return peer;
    }
    let mut client = peer;
    let entries = forwarded_for.iter().flat_map(|line| line.split(','));
    for entry in entries.collect::<Vec<_>>().into_iter().rev() {
        let Some(ip) = parse_entry(entry) else {
            return client;
        };
        client = ip;
        if !is_trusted(&ip) {
            return ip;
        }
    }
    client
}

/// One `X-Forwarded-For` entry: an address, possibly with a port (`1.2.3.4:5`, `[::1]:5`).
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
}

/// IPv4-mapped IPv6 (`::ffff:1.2.3.4`) as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// The key an address is limited under: an IPv4 address itself; an IPv6 address by its /64,
/// which one subscriber usually holds whole (else one client could use 2^64 keys).
pub fn address_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(Ipv6Addr::from(prefix))
        }
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|n| n.parse().unwrap()).collect()
    }

    #[test]
    fn an_untrusted_peers_header_is_ignored() {
        let trusted = nets(&["10.0.0.0/8"]);
        let got = client_address(ip("203.0.113.9"), &["1.1.1.1"], &trusted);
        assert_eq!(got, ip("203.0.113.9"));
        assert_eq!(
            client_address(ip("203.0.113.9"), &[], &[]),
            ip("203.0.113.9")
        );
    }

    #[test]
    fn a_trusted_proxy_names_the_client_and_forged_entries_to_its_left_do_not_count() {
        let trusted = nets(&["10.0.0.0/8", "192.168.1.1/32"]);
        // The client forged "6.6.6.6"; the proxy appended the address it saw.
        let got = client_address(ip("10.0.0.2"), &["6.6.6.6, 198.51.100.7"], &trusted);
        assert_eq!(got, ip("198.51.100.7"));
        // Two proxies in a row, the header split over two lines.
        let got = client_address(
            ip("10.0.0.2"),
            &["6.6.6.6, 198.51.100.7", "192.168.1.1"],
            &trusted,
        );
        assert_eq!(got, ip("198.51.100.7"));
        // Ports and IPv6 brackets are allowed.
        let got = client_address(ip("10.0.0.2"), &["[2001:db8::1]:443"], &trusted);
        assert_eq!(got, ip("2001:db8::1"));
    }

    #[test]
    fn garbage_or_all_proxies_stop_at_the_last_address_vouched_for() {
        let trusted = nets(&["10.0.0.0/8"]);
        let got = client_address(ip("10.0.0.2"), &["1.2.3.4, nonsense, 10.0.0.3"], &trusted);
        assert_eq!(got, ip("10.0.0.3"));
        let got = client_address(ip("10.0.0.2"), &["10.0.0.9, 10.0.0.3"], &trusted);
        assert_eq!(got, ip("10.0.0.9"));
        // A trusted proxy that sent no header is itself the client.
        assert_eq!(
            client_address(ip("10.0.0.2"), &[], &trusted),
            ip("10.0.0.2")
        );
        // A mapped IPv4 peer is matched against IPv4 blocks.
        let got = client_address(ip("::ffff:10.0.0.2"), &["198.51.100.7"], &trusted);
        assert_eq!(got, ip("198.51.100.7"));
    }

    #[test]
    fn ipv6_is_limited_by_its_64_and_mapped_ipv4_as_ipv4() {
        assert_eq!(
            address_key(ip("2001:db8:1:2:aaaa::1")),
            ip("2001:db8:1:2::")
        );
        assert_eq!(
            address_key(ip("2001:db8:1:2:ffff::9")),
            address_key(ip("2001:db8:1:2::1"))
        );
        assert_eq!(address_key(ip("::ffff:198.51.100.7")), ip("198.51.100.7"));
        assert_eq!(address_key(ip("198.51.100.7")), ip("198.51.100.7"));
    }
}
