//! Opening fails with precise errors, and leaves nothing open or sent.

mod common;

use std::net::{Ipv4Addr, SocketAddrV4, UdpSocket};
use std::time::Duration;

use common::{config, group_listener, unique_group};
use glue_io::{Endpoint, Error};

const NOT_LOCAL: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1); // TEST-NET-1, never a local address

fn open_err(config: glue_io::IoConfig) -> Error {
    match Endpoint::open(config, |_| true) {
        Ok(_) => panic!("open should fail"),
        Err(e) => e,
    }
}

#[test]
fn unicast_port_in_use() {
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let mut c = config("in-use", unique_group());
    c.listen = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port).into();
    match open_err(c) {
        Error::AddressInUse { address, context, .. } => {
            assert_eq!(address, SocketAddrV4::new(Ipv4Addr::LOCALHOST, port).into());
            assert_eq!(context, format!("bind unicast 127.0.0.1:{port}"));
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn discovery_port_held_without_reuse() {
    let group = unique_group();
    // A socket without SO_REUSEADDR/SO_REUSEPORT on the group's port keeps everyone else out.
    let _taken = UdpSocket::bind(SocketAddrV4::new(*group.ip(), group.port())).unwrap();
    assert!(
        matches!(open_err(config("in-use-2", group)), Error::AddressInUse { address, .. } if address == group.into())
    );
}

#[test]
fn interface_not_local_fails_before_sending() {
    let group = unique_group();
    let listener = group_listener(group);
    listener.set_read_timeout(Some(Duration::from_millis(300))).unwrap();

    let mut c = config("bad-if", group);
    c.interface = NOT_LOCAL.into();
    match open_err(c) {
        Error::InterfaceNotFound { address, .. } => assert_eq!(address, NOT_LOCAL),
        e => panic!("{e:?}"),
    }
    let mut buf = [0u8; 2048];
    assert!(listener.recv_from(&mut buf).is_err(), "nothing may be sent");
}

#[test]
fn listen_address_not_local() {
    let mut c = config("bad-listen", unique_group());
    c.listen = SocketAddrV4::new(NOT_LOCAL, 0).into();
    let e = open_err(c);
    assert!(matches!(e, Error::InterfaceNotFound { address, .. } if address == NOT_LOCAL), "{e:?}");
    assert!(e.to_string().contains("192.0.2.1"), "{e}");
}

#[test]
fn invalid_config_names_the_field() {
    let mut c = config("x", unique_group());
    c.name = "n".repeat(256);
    match open_err(c) {
        Error::InvalidConfig(e) => assert_eq!(e.field, "name"),
        e => panic!("{e:?}"),
    }
    let mut c = config("x", unique_group());
    c.multicast_ttl = 300;
    assert!(matches!(open_err(c), Error::InvalidConfig(e) if e.field == "multicast_ttl"));
}

#[test]
fn failed_open_releases_the_unicast_port() {
    let group = unique_group();
    let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let mut c = config("release", group);
    c.listen = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port).into();
    c.interface = NOT_LOCAL.into(); // the unicast socket is bound, then setting IP_MULTICAST_IF fails
    assert!(matches!(open_err(c), Error::InterfaceNotFound { .. }));
    UdpSocket::bind(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port)).expect("port released");
}

#[test]
fn unicast_discovery_address_is_bound_with_reuse() {
    let probe = UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
    let mut c = config("uni-disc", addr);
    c.discovery_listen = addr.into();
    let (a, _) = common::open(c.clone());
    let mut c2 = c;
    c2.name = "uni-disc-2".into();
    let (b, _) = common::open(c2);
    a.close();
    b.close();
}
