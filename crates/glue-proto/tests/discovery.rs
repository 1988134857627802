//! Discovery driven through the simulated network with a virtual clock: add, expire, goodbye,
//! restart, name clashes, network IDs, the bounded table, and loss.

mod sim;

use std::time::Duration;

use glue_proto::{DownReason, EndpointId, Event, NameClashRule};
use sim::{Faults, Net};

fn downs(net: &Net, i: usize) -> Vec<(EndpointId, DownReason)> {
    net.nodes[i]
        .events
        .iter()
        .filter_map(
            |e| if let Event::PeerDown { peer, reason } = e { Some((peer.id, *reason)) } else { None },
        )
        .collect()
}

#[test]
fn four_endpoints_find_each_other_within_milliseconds() {
    let mut net = Net::new(1, Faults::default());
    net.add_default(4);
    net.run_for(Duration::from_millis(5));
    assert!(net.fully_discovered(), "4 endpoints must know each other after the first announce round");
    for i in 0..4 {
        assert_eq!(net.ups(i).len(), 3, "node {i} reports each peer up exactly once");
    }
    net.run_for(Duration::from_secs(5));
    for i in 0..4 {
        assert_eq!(net.ups(i).len(), 3, "no repeated peer-up on periodic announcements");
        assert!(downs(&net, i).is_empty());
    }
}

#[test]
fn a_late_joiner_learns_everyone_at_once_from_their_replies() {
    let mut net = Net::new(2, Faults::default());
    net.add_default(3);
    net.run_for(Duration::from_secs(3));
    let c = net.config(3);
    net.add(c);
    // Well under the 100 ms period: the existing endpoints answer the newcomer's first announcement.
    net.run_for(Duration::from_millis(2));
    assert!(net.fully_discovered());
}

#[test]
fn a_silent_peer_expires_after_period_times_multiplier() {
    let mut net = Net::new(3, Faults::default());
    net.add_default(2);
    net.run_for(Duration::from_secs(1));
    net.nodes[1].up = false; // crash: no goodbye
    net.run_for(Duration::from_millis(180));
    assert!(downs(&net, 0).is_empty(), "not expired before 3 × 100 ms of silence");
    net.run_for(Duration::from_millis(250));
    assert_eq!(downs(&net, 0), vec![(net.nodes[1].core.id(), DownReason::Expired)]);
    assert_eq!(net.nodes[0].core.peers().count(), 0);
}

#[test]
fn goodbye_reports_the_peer_down_at_once() {
    let mut net = Net::new(4, Faults::default());
    net.add_default(3);
    net.run_for(Duration::from_millis(500));
    net.nodes[2].core.close();
    net.run_for(Duration::from_millis(1));
    let id = net.nodes[2].core.id();
    assert_eq!(downs(&net, 0), vec![(id, DownReason::Left)]);
    assert_eq!(downs(&net, 1), vec![(id, DownReason::Left)]);
    assert!(net.nodes[2].core.poll_timeout().is_none(), "a closed core has no timers");
    let a = net.nodes[0].core.id();
    assert!(net.nodes[2].core.send(a, b"x").is_err());
}

#[test]
fn a_restart_under_the_same_id_is_reported_as_down_then_up() {
    let mut net = Net::new(5, Faults::default());
    net.add_default(2);
    net.run_for(Duration::from_millis(500));
    let mut c = net.config(1);
    c.incarnation = 42;
    net.nodes[1].core = glue_proto::Core::new(c, net.now).unwrap();
    net.run_for(Duration::from_millis(5));
    let id = net.nodes[1].core.id();
    assert_eq!(downs(&net, 0), vec![(id, DownReason::Restarted)]);
    assert_eq!(net.ups(0), vec![id, id]);
}

#[test]
fn a_name_clash_is_reported_and_the_first_holder_keeps_the_name() {
    let mut net = Net::new(6, Faults::default());
    net.add_default(2);
    net.run_for(Duration::from_millis(50));
    let mut c = net.config(2);
    c.name = "n1".into();
    net.add(c);
    net.run_for(Duration::from_millis(50));
    let clash = net.nodes[0].events.iter().find_map(|e| match e {
        Event::NameClash { newcomer, existing, rejected } => Some((newcomer.id, *existing, *rejected)),
        _ => None,
    });
    assert_eq!(clash, Some((net.nodes[2].core.id(), net.nodes[1].core.id(), false)));
    assert_eq!(net.nodes[0].core.peer_by_name("n1").unwrap().id, net.nodes[1].core.id());
    assert_eq!(net.nodes[0].core.peers().count(), 2, "report keeps both");
    // Node 1 sees the newcomer clash with its own name.
    assert!(net.nodes[1]
        .events
        .iter()
        .any(|e| matches!(e, Event::NameClash { existing, .. } if *existing == net.nodes[1].core.id())));
}

#[test]
fn reject_rule_ignores_the_newcomer_and_its_data() {
    let mut net = Net::new(7, Faults::default());
    let mut c0 = net.config(0);
    c0.name_clash = NameClashRule::Reject;
    net.add(c0);
    net.add_default(1);
    net.run_for(Duration::from_millis(50));
    let mut c = net.config(2);
    c.name = "n1".into();
    net.add(c);
    net.run_for(Duration::from_millis(50));
    assert_eq!(net.nodes[0].core.peers().count(), 1);
    assert!(!net.ups(0).contains(&net.nodes[2].core.id()));
    let before = net.nodes[0].core.stats().dropped_rejected;
    net.nodes[2].core.broadcast(b"from the impostor").unwrap();
    net.run_for(Duration::from_millis(5));
    assert!(net.nodes[0].messages.is_empty());
    assert_eq!(net.nodes[0].core.stats().dropped_rejected, before + 1);
    assert_eq!(net.nodes[1].messages.len(), 1, "a report-rule node still hears it");
}

#[test]
fn other_networks_are_ignored_and_counted() {
    let mut net = Net::new(8, Faults::default());
    net.add_default(1);
    let mut c = net.config(1);
    c.network_id = 99;
    net.add(c);
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.nodes[0].core.peers().count(), 0);
    assert!(net.nodes[0].core.stats().dropped_foreign_network > 0);
    assert!(net.nodes[0].core.stats().own_datagrams_ignored > 0, "own multicast heard back is ignored");
}

#[test]
fn the_peer_table_is_bounded() {
    let mut net = Net::new(9, Faults::default());
    let mut c0 = net.config(0);
    c0.max_peers = 2;
    net.add(c0);
    net.add_default(4);
    net.run_for(Duration::from_millis(200));
    assert_eq!(net.nodes[0].core.peers().count(), 2);
    assert!(net.nodes[0].core.stats().dropped_peer_table_full > 0);
}

#[test]
fn discovery_completes_through_heavy_loss_duplication_and_reordering() {
    for seed in 0..20 {
        let faults = Faults {
            delay: Duration::from_millis(1),
            jitter: Duration::from_millis(5),
            loss: 0.3,
            duplicate: 0.2,
        };
        let mut net = Net::new(seed, faults);
        // With 30 % loss, three announcements in a row are lost 2.7 % of the time: a lease of ten
        // periods keeps peers from flapping (0.3^10 ≈ 6e-6).
        for i in 0..5 {
            let mut c = net.config(i);
            c.expiry_multiplier = 10.0;
            net.add(c);
        }
        net.run_for(Duration::from_secs(2));
        assert!(net.fully_discovered(), "seed {seed}");
        for i in 0..5 {
            let ups = net.ups(i);
            let downs = downs(&net, i);
            assert_eq!(ups.len(), 4 + downs.len(), "seed {seed}: every down is followed by an up again");
        }
    }
}

#[test]
fn messages_flow_unicast_and_broadcast() {
    let mut net = Net::new(10, Faults::default());
    net.add_default(3);
    net.run_for(Duration::from_millis(10));
    let (a, b) = (net.nodes[0].core.id(), net.nodes[1].core.id());
    net.nodes[0].core.send(b, b"to b").unwrap();
    net.nodes[0].core.broadcast(b"to all").unwrap();
    for k in 0..100u32 {
        net.nodes[0].core.send(b, &k.to_le_bytes()).unwrap();
    }
    net.run_for(Duration::from_millis(5));
    let got = &net.nodes[1].messages;
    assert_eq!(
        got[0],
        sim::Received { from: a, broadcast: false, reliable: false, payload: b"to b".to_vec() }
    );
    assert_eq!(got.len(), 102);
    assert_eq!(
        net.nodes[2].messages,
        vec![sim::Received { from: a, broadcast: true, reliable: false, payload: b"to all".to_vec() }]
    );
    assert!(net.nodes[0].messages.is_empty(), "a broadcast is not delivered to its sender");
    // 100 small messages to one peer were packed into very few datagrams.
    assert!(net.nodes[0].core.stats().datagrams_sent < 20, "{:?}", net.nodes[0].core.stats());
}

#[test]
fn sends_are_checked() {
    let mut net = Net::new(11, Faults::default());
    net.add_default(2);
    net.run_for(Duration::from_millis(10));
    let core = &mut net.nodes[0].core;
    assert_eq!(core.send(EndpointId(7), b"x"), Err(glue_proto::SendError::UnknownPeer(EndpointId(7))));
    let max = core.max_payload();
    assert_eq!(max, 1472 - 16 - 4 - 4);
    assert!(core.broadcast(&vec![0; max]).is_ok());
    assert_eq!(
        core.broadcast(&vec![0; max + 1]),
        Err(glue_proto::SendError::TooLarge { size: max + 1, max })
    );
}

#[test]
fn a_rejected_peer_is_dropped_and_counted() {
    let mut net = Net::new(12, Faults::default());
    net.add_default(2);
    net.run_for(Duration::from_millis(10));
    let b = net.nodes[1].core.id();
    let now = net.now;
    net.nodes[0].core.reject_peer(now, b);
    assert_eq!(net.nodes[0].core.peers().count(), 0);
    net.nodes[1].core.broadcast(b"x").unwrap();
    net.run_for(Duration::from_secs(1));
    assert!(net.nodes[0].messages.is_empty());
    assert_eq!(net.nodes[0].core.stats().dropped_rejected, 1, "the broadcast, nothing else from it");
    assert_eq!(net.ups(0).len(), 1, "a rejected peer's announcements do not bring it back");
}

fn changes(net: &Net, i: usize) -> Vec<(EndpointId, Option<Vec<u8>>)> {
    net.nodes[i]
        .events
        .iter()
        .filter_map(|e| match e {
            Event::PeerChanged(p) => Some((p.id, p.extension(0x10).map(<[u8]>::to_vec))),
            _ => None,
        })
        .collect()
}

#[test]
fn an_announce_extension_reaches_peers_at_once_as_a_change() {
    let mut net = Net::new(41, Faults::default());
    net.add_default(3);
    net.run_for(Duration::from_secs(1));
    let a = net.nodes[0].core.id();
    let now = net.now;
    net.nodes[0].core.set_announce_extension(now, 0x10, &[1, 2, 3]).unwrap();
    // Well under the 100 ms period: the re-announce burst starts at once. Name and port are unchanged.
    net.run_for(Duration::from_millis(2));
    for i in 1..3 {
        assert_eq!(changes(&net, i), vec![(a, Some(vec![1, 2, 3]))], "node {i}");
        let peer = net.nodes[i].core.peers().find(|p| p.id == a).unwrap();
        assert_eq!(peer.extension(0x10), Some(&[1u8, 2, 3][..]));
    }
    assert_eq!(net.nodes[0].core.announce_extensions(), &[0x10, 3, 0, 1, 2, 3]);
    // Setting the same value again changes nothing; periodic announcements are no change either.
    let now = net.now;
    net.nodes[0].core.set_announce_extension(now, 0x10, &[1, 2, 3]).unwrap();
    net.run_for(Duration::from_secs(1));
    assert_eq!(changes(&net, 1).len(), 1);
    // A new value and then removal are changes too.
    let now = net.now;
    net.nodes[0].core.set_announce_extension(now, 0x10, &[9]).unwrap();
    net.run_for(Duration::from_millis(2));
    let now = net.now;
    net.nodes[0].core.set_announce_extension(now, 0x10, &[]).unwrap();
    net.run_for(Duration::from_millis(50));
    assert_eq!(changes(&net, 1), vec![(a, Some(vec![1, 2, 3])), (a, Some(vec![9])), (a, None)]);
    // A newcomer sees the extension in its peer-up.
    let now = net.now;
    net.nodes[0].core.set_announce_extension(now, 0x10, &[7]).unwrap();
    net.run_for(Duration::from_millis(2));
    let c = net.config(3);
    let d = net.add(c);
    net.run_for(Duration::from_millis(2));
    let up = net.nodes[d].events.iter().find_map(|e| match e {
        Event::PeerUp(p) if p.id == a => Some(p.extension(0x10).map(<[u8]>::to_vec)),
        _ => None,
    });
    assert_eq!(up, Some(Some(vec![7])));
}

#[test]
fn an_announce_extension_that_does_not_fit_is_refused() {
    let mut net = Net::new(42, Faults::default());
    net.add_default(1);
    let now = net.now;
    let err = net.nodes[0].core.set_announce_extension(now, 0x10, &vec![0; 70_000]).unwrap_err();
    assert!(matches!(err, glue_proto::SendError::TooLarge { .. }));
    assert!(net.nodes[0].core.announce_extensions().is_empty());
}
