//! Peer addresses: an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, how a dual-stack IPv6 socket reports an IPv4
//! sender) is the IPv4 address it maps, so that one peer is never seen at two addresses; an IPv6 address keeps its
//! scope ID (a link-local `fe80::…%eth0` peer is only reachable through that interface).

use std::net::{SocketAddr, SocketAddrV4};

/// `addr` with an IPv4-mapped IPv6 address replaced by the IPv4 address (same port); any other address as is.
pub fn normalize(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::V4(SocketAddrV4::new(v4, v6.port())),
            None => addr,
        },
        v4 => v4,
    }
}

/// The unicast address of a peer that sent from `source` and announced `port`: the source IP (normalised, with
/// its IPv6 scope ID and flow info) and `port`.
pub fn with_port(source: SocketAddr, port: u16) -> SocketAddr {
    let mut addr = normalize(source);
    addr.set_port(port);
    addr
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_addresses_become_ipv4() {
        let mapped: SocketAddr = "[::ffff:10.0.0.5]:37321".parse().unwrap();
        assert_eq!(normalize(mapped), "10.0.0.5:37321".parse::<SocketAddr>().unwrap());
        for same in ["10.0.0.5:1", "[::1]:2", "[fe80::1%7]:3", "[::]:4", "[64:ff9b::a00:5]:5"] {
            let a: SocketAddr = same.parse().unwrap();
            assert_eq!(normalize(a), a);
        }
    }

    #[test]
    fn the_port_is_replaced_and_the_scope_kept() {
        let from: SocketAddr = "[fe80::1%7]:40000".parse().unwrap();
        let SocketAddr::V6(a) = with_port(from, 37321) else { panic!() };
        assert_eq!((a.port(), a.scope_id()), (37321, 7));
        assert_eq!(with_port("[::ffff:127.0.0.1]:9".parse().unwrap(), 8), "127.0.0.1:8".parse().unwrap());
    }
}
