//! IPv6 on loopback: endpoints on `::1`, a dual-stack endpoint beside an IPv4 one, IPv6 groups joined on `lo`, and
//! precise errors for IPv6 interfaces and family mix-ups. (IPv6 multicast does not loop back through `lo` on Linux
//! without a multicast route, which a test must not add to the host: the namespace specs of the Node package test
//! IPv6 multicast between hosts.)

mod common;

use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};

use common::{config, open, unique_group, Item};
use glue_io::{Endpoint, Error, Event, IoConfig};

/// Two free ports on ::1 (bound and released: the endpoints bind them with address reuse right after).
fn two_v6_ports() -> (u16, u16) {
    let a = std::net::UdpSocket::bind("[::1]:0").unwrap();
    let b = std::net::UdpSocket::bind("[::1]:0").unwrap();
    (a.local_addr().unwrap().port(), b.local_addr().unwrap().port())
}

/// An endpoint on ::1 that listens for discovery on `[::1]:listen` and announces to `[::1]:target`.
fn v6_config(name: &str, listen: u16, target: u16) -> IoConfig {
    let mut c = config(name, unique_group());
    c.listen = "[::1]:0".parse().unwrap();
    c.interface = Ipv6Addr::LOCALHOST.into();
    c.discovery_listen = SocketAddr::new(Ipv6Addr::LOCALHOST.into(), listen);
    c.discovery_target = SocketAddr::new(Ipv6Addr::LOCALHOST.into(), target);
    c
}

fn peer_address(log: &common::Log, id: glue_io::EndpointId) -> SocketAddr {
    log.items
        .iter()
        .find_map(|i| match i {
            Item::Event(Event::PeerUp(p)) if p.id == id => Some(p.address),
            _ => None,
        })
        .expect("peer up")
}

#[test]
fn two_endpoints_on_ipv6_loopback_discover_each_other_and_exchange() {
    // Crossed unicast discovery addresses: a's announcements reach b's discovery socket and back.
    let (pa, pb) = two_v6_ports();
    let (a, mut a_log) = open(v6_config("v6-a", pa, pb));
    let (b, mut b_log) = open(v6_config("v6-b", pb, pa));
    assert!(a.local_addr().is_ipv6(), "{}", a.local_addr());
    a_log.wait_peer_up(b.id());
    b_log.wait_peer_up(a.id());
    assert_eq!(peer_address(&b_log, a.id()), a.local_addr());
    assert!(a.send(b.id(), b"over ::1").unwrap());
    b_log.wait_message(a.id(), false, b"over ::1");
    assert!(b.broadcast(b"to every v6 peer").unwrap());
    a_log.wait_message(b.id(), true, b"to every v6 peer");
}

#[test]
fn a_dual_stack_endpoint_and_an_ipv4_endpoint_see_each_other() {
    let group = unique_group();
    let mut dual = config("ds-dual", group);
    dual.listen = "[::]:0".parse().unwrap();
    dual.dual_stack = Some(SocketAddrV6::new(IoConfig::DEFAULT_GROUP_V6, group.port(), 0, 0));
    let (d, mut d_log) = open(dual);
    let (v4, mut v4_log) = open(config("ds-v4", group));
    d_log.wait_peer_up(v4.id());
    v4_log.wait_peer_up(d.id());
    // The IPv4 peer is seen at its IPv4 address (normalised from ::ffff:127.0.0.1), the dual-stack one at
    // 127.0.0.1 (the source of its IPv4 announcements) with its port.
    assert_eq!(peer_address(&d_log, v4.id()), v4.local_addr());
    assert_eq!(peer_address(&v4_log, d.id()), SocketAddr::new([127, 0, 0, 1].into(), d.local_addr().port()));
    assert!(d.send(v4.id(), b"dual to v4").unwrap());
    v4_log.wait_message(d.id(), false, b"dual to v4");
    assert!(v4.send(d.id(), b"v4 to dual").unwrap());
    d_log.wait_message(v4.id(), false, b"v4 to dual");
    assert!(d.broadcast(b"dual broadcast").unwrap());
    v4_log.wait_message(d.id(), true, b"dual broadcast");
    assert!(v4.broadcast(b"v4 broadcast").unwrap());
    d_log.wait_message(v4.id(), true, b"v4 broadcast");
    // One peer, not two: the dual-stack endpoint sees exactly one peer-up.
    let ups = d_log.items.iter().filter(|i| matches!(i, Item::Event(Event::PeerUp(_)))).count();
    assert_eq!(ups, 1);
}

#[test]
fn an_ipv6_group_is_joined_on_the_loopback_interface() {
    // Joining works on lo (sending to it there fails with ENETUNREACH, counted, as lo has no IPv6 multicast route).
    let port = unique_group().port();
    let group: SocketAddr = format!("[ff12::137:1]:{port}").parse().unwrap();
    let mut c = IoConfig::new("v6-group", group);
    c.listen = "[::1]:0".parse().unwrap();
    c.interface = Ipv6Addr::LOCALHOST.into();
    let e = Endpoint::open(c.clone(), |_| true).expect("open on an IPv6 group");
    e.close();
    // By index instead of address.
    c.interface = Ipv6Addr::UNSPECIFIED.into();
    c.interface_index = glue_io::interface_index("lo").expect("lo");
    let e = Endpoint::open(c, |_| true).expect("open with an interface index");
    e.close();
}

fn open_err(config: IoConfig) -> Error {
    match Endpoint::open(config, |_| true) {
        Ok(_) => panic!("open should fail"),
        Err(e) => e,
    }
}

#[test]
fn ipv6_errors_name_what_is_wrong() {
    let port = unique_group().port();
    let group: SocketAddr = format!("[ff12::137:1]:{port}").parse().unwrap();
    // An IPv6 interface address that is not local: no index to join the group on.
    let not_local: IpAddr = "2001:db8::1".parse().unwrap();
    let mut c = IoConfig::new("v6-bad-if", group);
    c.listen = "[::1]:0".parse().unwrap();
    c.interface = not_local;
    let e = open_err(c);
    assert!(matches!(e, Error::InterfaceNotFound { address, .. } if address == not_local), "{e:?}");
    assert!(e.to_string().contains("2001:db8::1"), "{e}");
    // An IPv6 listen address that is not local.
    let mut c = IoConfig::new("v6-bad-listen", group);
    c.listen = "[2001:db8::1]:0".parse().unwrap();
    c.interface = Ipv6Addr::LOCALHOST.into();
    assert!(matches!(open_err(c), Error::InterfaceNotFound { .. }));
    // A link-local listen address without a scope ID.
    let mut c = IoConfig::new("v6-no-scope", group);
    c.listen = "[fe80::1]:0".parse().unwrap();
    c.interface = Ipv6Addr::LOCALHOST.into();
    let e = open_err(c);
    assert!(e.to_string().contains("bind unicast [fe80::1]:0"), "{e}");
    // An IPv6 group with an IPv4 listen address.
    let mut c = IoConfig::new("v6-mixed", group);
    c.listen = "127.0.0.1:0".parse().unwrap();
    assert!(matches!(open_err(c), Error::InvalidConfig(e) if e.field == "discovery_listen"));
    // An IPv4 interface without IPv6: the IPv4 address is taken as the interface (lo here), so it works; but an
    // interface index that does not exist fails when joining.
    let mut c = IoConfig::new("v6-bad-index", group);
    c.listen = "[::1]:0".parse().unwrap();
    c.interface = Ipv6Addr::UNSPECIFIED.into();
    c.interface_index = 0x7fff_fff0;
    assert!(matches!(open_err(c), Error::InterfaceNotFound { .. } | Error::Socket { .. }));
}
