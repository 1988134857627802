//! Endpoints on loopback find each other and exchange unicast and broadcast messages.

mod common;

use common::{open_mesh, Item};
use glue_io::slab::{push_record, SlabRecord};
use glue_io::Event;

#[test]
fn two_endpoints_exchange_unicast_and_broadcast() {
    let mut mesh = open_mesh(&["ex-a", "ex-b"]);
    let (b, mut b_log) = mesh.pop().unwrap();
    let (a, mut a_log) = mesh.pop().unwrap();

    assert!(a.send(b.id(), b"hello b").unwrap());
    b_log.wait_message(a.id(), false, b"hello b");
    assert!(b.broadcast(b"hello all").unwrap());
    a_log.wait_message(b.id(), true, b"hello all");

    // The peer-up carries the sender's name and unicast address.
    let up = b_log.items.iter().find_map(|i| match i {
        Item::Event(Event::PeerUp(p)) if p.id == a.id() => Some(p.clone()),
        _ => None,
    });
    let up = up.expect("peer up of a");
    assert_eq!(up.name, "ex-a");
    assert_eq!(up.address, a.local_addr());

    // An endpoint does not hear its own broadcast.
    std::thread::sleep(std::time::Duration::from_millis(100));
    b_log.wait_until("nothing", |_| true);
    assert!(!b_log.items.iter().any(|i| matches!(i, Item::Message { from, .. } if *from == b.id())));
    let stats = b.stats();
    assert!(stats.core.own_datagrams_ignored > 0, "{stats:?}");
    assert_eq!(stats.core.messages_sent, 1);
}

#[test]
fn broadcast_reaches_every_peer_and_batches_share_one_buffer() {
    let mut mesh = open_mesh(&["bc-a", "bc-b", "bc-c"]);
    let a_id = mesh[0].0.id();
    // One slab of 100 small best-effort broadcasts is applied in one go, so its messages leave packed into
    // one datagram (whatever the scheduling), and that datagram reaches each peer as one batch: 100 messages
    // in one buffer.
    let mut slab = vec![];
    for i in 0..100u32 {
        let payload = i.to_le_bytes();
        let record = SlabRecord { token: 0, to: None, deadline: None, best_effort: true, payload: &payload };
        push_record(&mut slab, &record);
    }
    assert!(mesh[0].0.send_slab(&slab).unwrap());
    for (_, log) in &mut mesh[1..] {
        log.wait_until("100 broadcasts", |items| {
            items
                .iter()
                .filter(|i| matches!(i, Item::Message { from, broadcast: true, .. } if *from == a_id))
                .count()
                == 100
        });
        let got: Vec<u32> = log
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Message { data, .. } => Some(u32::from_le_bytes(data[..].try_into().unwrap())),
                _ => None,
            })
            .collect();
        assert_eq!(got, (0..100).collect::<Vec<_>>(), "in order on loopback");
        assert_eq!(log.message_batches, 1, "the 100 messages came in one batch");
    }
}

#[test]
fn sends_to_unknown_peers_are_counted_not_thrown() {
    let mut mesh = open_mesh(&["up-a"]);
    let (a, _log) = mesh.pop().unwrap();
    assert!(a.send(glue_io::EndpointId(0xdead), b"x").unwrap());
    common::eventually("unknown-peer count", || a.stats().dropped_send_unknown_peer == 1);
}

#[test]
fn too_large_messages_are_refused_at_once() {
    let mut mesh = open_mesh(&["tl-a"]);
    let (a, _log) = mesh.pop().unwrap();
    let max = a.max_payload();
    assert_eq!(max, 1472 - 16 - 4 - 4);
    assert!(a.broadcast(&vec![0; max]).unwrap());
    match a.broadcast(&vec![0; max + 1]) {
        Err(glue_io::Error::MessageTooLarge { size, max: m }) => assert_eq!((size, m), (max + 1, max)),
        other => panic!("{other:?}"),
    }
    assert!(matches!(a.send(a.id(), &vec![0; max + 1]), Err(glue_io::Error::MessageTooLarge { .. })));
}

#[test]
fn large_datagrams_pass_whole() {
    let group = common::unique_group();
    let mut configs: Vec<_> = ["lg-a", "lg-b"].iter().map(|n| common::config(n, group)).collect();
    for c in &mut configs {
        c.max_datagram_size = 65_507;
    }
    let mut eps: Vec<_> = configs.into_iter().map(common::open).collect();
    let (_b, mut b_log) = eps.pop().unwrap();
    let (a, _a_log) = eps.pop().unwrap();
    b_log.wait_peer_up(a.id());
    let big: Vec<u8> = (0..a.max_payload()).map(|i| i as u8).collect();
    assert_eq!(big.len(), 65_507 - 24);
    assert!(a.broadcast(&big).unwrap());
    b_log.wait_message(a.id(), true, &big);
}

#[test]
fn a_flood_of_large_datagrams_with_small_buffers() {
    let group = common::unique_group();
    let mut tx_config = common::config("fl-a", group);
    tx_config.max_datagram_size = 65_507;
    tx_config.socket_buffer_size = 4096;
    let (a, _a_log) = common::open(tx_config);
    let mut rx_config = common::config("fl-b", group);
    rx_config.max_datagram_size = 65_507;
    let (b, mut b_log) = common::open(rx_config);
    b_log.wait_peer_up(a.id());
    let payload = vec![5u8; a.max_payload()];
    let (mut queued, mut full) = (0, 0);
    for _ in 0..5000 {
        if a.send(b.id(), &payload).unwrap() {
            queued += 1;
        } else {
            full += 1;
        }
    }
    common::eventually("all sent", || {
        a.stats().core.messages_sent + a.stats().dropped_send_queue_full == 5000
    });
    let stats = a.stats();
    assert_eq!(stats.send_errors, 0, "{stats:?}");
    assert_eq!(stats.dropped_send_queue_full, full);
    // Loopback may drop some when the receiver's buffer overflows; most arrive whole.
    b_log.wait_until("most messages", |items| {
        items
            .iter()
            .filter(|i| matches!(i, Item::Message { data, .. } if data.len() == payload.len()))
            .count()
            > 100
    });
    let started = std::time::Instant::now();
    a.close();
    b.close();
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "closing is prompt under load");
    assert!(queued > 0);
}
