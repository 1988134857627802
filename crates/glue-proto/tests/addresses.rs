//! Peer addresses from datagram sources: an IPv4-mapped IPv6 source (a dual-stack socket's view of an IPv4 sender) is
//! the same peer as the IPv4 source, and an IPv6 link-local source keeps its scope ID.

use std::net::SocketAddr;
use std::time::Instant;

use glue_proto::{Core, CoreConfig, EndpointId, Event};

const GROUP: &str = "239.192.137.1:37320";

fn core(id: u64, port: u16) -> Core {
    let config = CoreConfig::new(EndpointId(id), format!("n{id}"), port, GROUP.parse().unwrap());
    Core::new(config, Instant::now()).unwrap()
}

/// The first announcement `core` sends (to the group), running its timers until it does.
fn announcement(core: &mut Core, mut now: Instant) -> Vec<u8> {
    let mut buf = Vec::new();
    for _ in 0..100 {
        if let Some(t) = core.poll_transmit(now, &mut buf) {
            assert_eq!(t.destination, GROUP.parse::<SocketAddr>().unwrap());
            buf.truncate(t.size);
            return buf;
        }
        now = core.poll_timeout().expect("a timer").max(now);
        core.handle_timeout(now);
    }
    panic!("no announcement");
}

fn events(core: &mut Core) -> Vec<Event> {
    std::iter::from_fn(|| core.poll_event()).collect()
}

#[test]
fn a_mapped_source_is_the_ipv4_peer_seen_once() {
    let now = Instant::now();
    let mut a = core(1, 40001);
    let mut b = core(2, 40002);
    let hello = announcement(&mut a, now);
    // A newcomer leaves probation with its second announcement: here once in each form.
    b.handle_datagram(now, "[::ffff:10.0.0.1]:40001".parse().unwrap(), &hello);
    b.handle_datagram(now, "10.0.0.1:40001".parse().unwrap(), &hello);
    b.handle_datagram(now, "[::ffff:10.0.0.1]:40001".parse().unwrap(), &hello);
    let peers: Vec<_> = b.peers().map(|p| p.address).collect();
    assert_eq!(peers, vec!["10.0.0.1:40001".parse::<SocketAddr>().unwrap()]);
    let evs = events(&mut b);
    assert_eq!(evs.iter().filter(|e| matches!(e, Event::PeerUp(_))).count(), 1, "{evs:?}");
    assert!(
        !evs.iter().any(|e| matches!(e, Event::PeerChanged(_))),
        "no move between the two forms: {evs:?}"
    );
}

#[test]
fn a_link_local_source_keeps_its_scope_id() {
    let now = Instant::now();
    let mut a = core(3, 37321);
    let mut b = core(4, 37322);
    let hello = announcement(&mut a, now);
    // Twice: a newcomer is on probation until its second announcement.
    for _ in 0..2 {
        b.handle_datagram(now, "[fe80::78:1%7]:37321".parse().unwrap(), &hello);
    }
    let peer = b.peers().next().unwrap_or_else(|| panic!("no peer: {:?}", b.stats())).address;
    assert_eq!(peer, "[fe80::78:1%7]:37321".parse::<SocketAddr>().unwrap());
    let SocketAddr::V6(v6) = peer else { panic!("{peer}") };
    assert_eq!(v6.scope_id(), 7);
}
