//! Unicast peers on loopback through real sockets: endpoints with `multicast: false`, each given one peer address,
//! find each other, exchange broadcasts as unicast copies, and send nothing to the group (a listener on the group
//! hears nothing); `set_peers` joins an endpoint that started with none.

mod common;

use std::time::Duration;

use glue_io::Event;

use common::Item;

#[test]
fn four_endpoints_without_multicast_find_each_other_through_one_peer_each() {
    let group = common::unique_group();
    let listener = common::group_listener(group);
    listener.set_nonblocking(true).unwrap();
    let mut eps: Vec<(common::Ep, common::Log)> = Vec::new();
    for i in 0..4 {
        let mut c = common::config(&format!("uni-{i}"), group);
        c.multicast = false;
        if let Some((prev, _)) = eps.last() {
            c.peers = vec![prev.local_addr()];
        }
        eps.push(common::open(c));
    }
    let ids: Vec<_> = eps.iter().map(|(e, _)| e.id()).collect();
    for (ep, log) in &mut eps {
        for id in ids.iter().filter(|id| **id != ep.id()) {
            log.wait_peer_up(*id);
        }
    }
    eps[3].0.broadcast(b"to all by unicast").unwrap();
    for (_, log) in &mut eps[..3] {
        log.wait_message(ids[3], true, b"to all by unicast");
    }
    // The counters are published by the I/O thread's loop: wait for them.
    common::eventually("three unicast copies counted", || eps[3].0.stats().core.unicast_fanout_copies >= 3);
    common::eventually("gossip counted", || eps.iter().map(|(e, _)| e.stats().core.gossip_sent).sum::<u64>() > 0);
    let mut buf = [0u8; 2048];
    assert!(listener.recv_from(&mut buf).is_err(), "something was sent to the group");
}

#[test]
fn set_peers_joins_an_endpoint_that_had_none() {
    let group = common::unique_group();
    let mut a = common::config("late-a", group);
    a.multicast = false;
    let mut b = a.clone();
    b.name = "late-b".into();
    b.id = glue_io::EndpointId(glue_io::random_u64());
    let (a, mut a_log) = common::open(a);
    let (b, mut b_log) = common::open(b);
    std::thread::sleep(Duration::from_millis(200));
    assert!(!a_log.items.iter().any(|i| matches!(i, Item::Event(Event::PeerUp(_)))));
    let err = b.set_peers(vec!["127.0.0.1:0".parse().unwrap()]).unwrap_err();
    assert!(err.to_string().contains("peers"), "{err}");
    b.set_peers(vec![a.local_addr()]).unwrap();
    a_log.wait_peer_up(b.id());
    b_log.wait_peer_up(a.id());
}
