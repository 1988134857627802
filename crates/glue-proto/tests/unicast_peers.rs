//! Unicast peers and gossip through the simulated network: with the group unusable (`multicast: false`, or a switch
//! that drops multicast), 8 endpoints given one peer address each (a chain, a star) find each other; learned peers
//! expire as usual; discovery survives loss; broadcasts and reliable broadcasts reach everyone as unicast copies;
//! sealed networks gossip too; forged PEERS (floods, huge lists, victims' addresses) cause bounded probes only.

mod sim;

use std::net::SocketAddr;
use std::time::Duration;

use glue_proto::seal::{NetworkKey, SealConfig};
use glue_proto::wire::{DatagramBuilder, Header, PeerEntry, Peers, SubmessageKind, ANNOUNCE_FLAG_UNICAST};
use glue_proto::{CoreConfig, DownReason, EndpointId, Event};
use sim::{Faults, Net, GROUP};

/// The config of node `i` with multicast off (or on) and the given peer addresses.
fn unicast_config(net: &Net, i: usize, multicast: bool, peers: &[usize]) -> CoreConfig {
    let mut c = net.config(i);
    c.multicast = multicast;
    c.peers = peers.iter().map(|&p| Net::addr_of(p)).collect();
    c
}

/// A net of `n` nodes where node `i` is given the one peer `peer_of(i)`.
fn net_with(seed: u64, faults: Faults, n: usize, multicast: bool, peer_of: impl Fn(usize) -> usize) -> Net {
    let mut net = Net::new(seed, faults);
    net.drop_multicast = true;
    for i in 0..n {
        let c = unicast_config(&net, i, multicast, &[peer_of(i)]);
        net.add(c);
    }
    net
}

/// Runs until every node sees every other one; returns the virtual time it took (panics after `limit`).
fn discover(net: &mut Net, limit: Duration) -> Duration {
    let start = net.now;
    while !net.fully_discovered() {
        assert!(net.now - start < limit, "not discovered within {limit:?}: {}", table(net));
        net.run_for(Duration::from_millis(10));
    }
    net.now - start
}

fn table(net: &Net) -> String {
    (0..net.nodes.len())
        .map(|i| format!("n{i}: {} peers", net.nodes[i].core.peers().count()))
        .collect::<Vec<_>>()
        .join(", ")
}

fn chain(i: usize) -> usize {
    if i == 0 {
        1
    } else {
        i - 1
    }
}

#[test]
fn a_chain_of_eight_without_multicast_finds_everyone_and_sends_nothing_to_the_group() {
    let mut net = net_with(1, Faults::default(), 8, false, chain);
    let took = discover(&mut net, Duration::from_secs(5));
    assert!(took < Duration::from_secs(2), "a chain of 8 took {took:?} (100 ms announce period)");
    net.run_for(Duration::from_secs(3));
    assert!(net.fully_discovered(), "stays discovered: learned peers keep announcing to each other");
    assert!(net.group_sent.iter().all(|&n| n == 0), "nothing went to the group: {:?}", net.group_sent);
    let s = net.nodes[0].core.stats();
    assert!(s.gossip_sent > 0 && s.gossip_received > 0, "{s:?}");
    let probes: u64 = net.nodes.iter().map(|n| n.core.stats().probes_sent).sum();
    assert!(probes > 0, "the chain was closed by probing gossiped addresses");
}

#[test]
fn a_star_of_eight_behind_a_switch_that_drops_multicast_finds_everyone() {
    // Multicast stays on (the endpoints do send to the group) but the switch drops it: the peer address suffices.
    let mut net = net_with(2, Faults::default(), 8, true, |i| if i == 0 { 1 } else { 0 });
    discover(&mut net, Duration::from_secs(3));
    assert!(net.group_sent.iter().all(|&n| n > 0), "multicast on: the group was tried");
    net.run_for(Duration::from_secs(3));
    assert!(net.fully_discovered(), "learned peers are announced to by unicast, so they do not expire");
}

#[test]
fn a_chain_finds_everyone_through_twenty_percent_loss() {
    let faults = Faults { loss: 0.2, jitter: Duration::from_millis(2), ..Faults::default() };
    for seed in 10..14 {
        let mut net = net_with(seed, faults, 8, false, chain);
        discover(&mut net, Duration::from_secs(10));
    }
}

#[test]
fn learned_peers_expire_as_usual_and_gossip_does_not_bring_them_back() {
    let mut net = net_with(3, Faults::default(), 8, false, chain);
    discover(&mut net, Duration::from_secs(5));
    let gone = net.nodes[4].core.id();
    net.nodes[4].up = false;
    // Lease: 3 × 100 ms; a little more for the last announcement in flight.
    net.run_for(Duration::from_millis(600));
    for i in (0..8).filter(|&i| i != 4) {
        assert!(!net.nodes[i].core.peers().any(|p| p.id == gone), "n{i} still has n4");
        let expired = net.nodes[i]
            .events
            .iter()
            .any(|e| matches!(e, Event::PeerDown { peer, reason: DownReason::Expired } if peer.id == gone));
        assert!(expired, "n{i} saw n4 expire");
    }
    net.run_for(Duration::from_secs(2));
    for i in (0..8).filter(|&i| i != 4) {
        assert!(!net.nodes[i].core.peers().any(|p| p.id == gone), "n{i} got n4 back from gossip");
    }
    // The chain is cut at n4, but the others know each other directly: still one network.
    for i in (0..8).filter(|&i| i != 4) {
        assert_eq!(net.nodes[i].core.peers().count(), 6, "n{i}: {}", table(&net));
    }
    // n4 comes back (a new start): found again through its one peer address.
    let c = unicast_config(&net, 4, false, &[3]);
    let mut c = c;
    c.incarnation ^= 1;
    net.restart(4, c);
    discover(&mut net, Duration::from_secs(3));
}

#[test]
fn without_multicast_broadcasts_and_reliable_broadcasts_reach_everyone_as_unicast_copies() {
    let mut net = net_with(4, Faults { loss: 0.05, ..Faults::default() }, 8, false, chain);
    discover(&mut net, Duration::from_secs(5));
    let now = net.now;
    net.nodes[2].core.broadcast(b"best effort").unwrap();
    for k in 0u32..20 {
        net.nodes[2].core.broadcast_reliable(now, k.to_le_bytes().to_vec(), Some(k as u64), None).unwrap();
    }
    net.run_for(Duration::from_secs(3));
    for i in (0..8).filter(|&i| i != 2) {
        assert_eq!(
            net.counters(i, 2),
            (0..20).collect::<Vec<_>>(),
            "n{i} got every reliable broadcast in order"
        );
    }
    let delivered = net.nodes[2].events.iter().filter(|e| matches!(e, Event::Delivered { .. })).count();
    assert_eq!(delivered, 20, "every reliable broadcast was acknowledged by all 7");
    let best_effort = (0..8)
        .filter(|&i| i != 2)
        .filter(|&i| net.nodes[i].messages.iter().any(|m| m.broadcast && !m.reliable))
        .count();
    assert!(
        best_effort >= 5,
        "the best-effort broadcast reached most peers through 5 % loss ({best_effort}/7)"
    );
    assert!(net.nodes[2].core.stats().unicast_fanout_copies >= 7);
    assert!(net.group_sent.iter().all(|&n| n == 0));
    // Goodbyes go by unicast too (once each: no loss for this part).
    net.faults.loss = 0.0;
    net.nodes[2].core.close();
    net.run_for(Duration::from_millis(5));
    for i in (0..8).filter(|&i| i != 2) {
        let left =
            net.nodes[i].events.iter().any(|e| matches!(e, Event::PeerDown { reason: DownReason::Left, .. }));
        assert!(left, "n{i} heard n2's goodbye");
    }
}

#[test]
fn sealed_networks_gossip_too() {
    let keys = vec![NetworkKey::new(&[7; 32]).unwrap()];
    let mut net = Net::new(5, Faults::default());
    net.drop_multicast = true;
    for i in 0..6 {
        let mut c = unicast_config(&net, i, false, &[chain(i)]);
        let mut seal = SealConfig::new(keys.clone());
        seal.boot_id = 0xb007 + i as u64;
        c.seal = Some(seal);
        net.add(c);
    }
    discover(&mut net, Duration::from_secs(5));
    // Reliable broadcasts as sealed unicast copies (one sealed datagram copied to every peer).
    let now = net.now;
    for k in 0u32..10 {
        net.nodes[3].core.broadcast_reliable(now, k.to_le_bytes().to_vec(), Some(k as u64), None).unwrap();
    }
    net.run_for(Duration::from_secs(2));
    for i in (0..6).filter(|&i| i != 3) {
        assert_eq!(net.counters(i, 3), (0..10).collect::<Vec<_>>(), "n{i} opened every sealed copy");
    }
    let gossip: u64 = net.nodes.iter().map(|n| n.core.stats().gossip_received).sum();
    assert!(gossip > 0, "sealed PEERS were opened and applied");
    // A plain PEERS (forged by someone without the key) is dropped before anything is looked at.
    let before = net.nodes[0].core.stats().dropped_unsealed;
    let forged = peers_datagram(net.nodes[1].core.id(), &victims(50));
    net.inject(0, Net::addr_of(1), &forged);
    assert_eq!(net.nodes[0].core.stats().dropped_unsealed, before + 1);
}

fn victims(n: usize) -> Vec<PeerEntry> {
    (0..n)
        .map(|k| PeerEntry {
            id: EndpointId(0xbad0_0000 + k as u64),
            address: SocketAddr::from(([192, 0, 2, 9], 1000 + (k % 60000) as u16)),
        })
        .collect()
}

fn peers_datagram(source: EndpointId, entries: &[PeerEntry]) -> Vec<u8> {
    let mut body = Vec::new();
    Peers::encode(entries, &mut body);
    DatagramBuilder::new(Header { flags: 0, network_id: 0, source })
        .raw(SubmessageKind::Peers as u8, 0, &body)
        .finish()
}

/// Two discovered nodes, multicast off, n1 configured with n0.
fn pair() -> Net {
    let mut net = net_with(6, Faults::default(), 2, false, |i| 1 - i);
    discover(&mut net, Duration::from_secs(1));
    net
}

#[test]
fn forged_peers_floods_and_huge_lists_cause_bounded_probes_only() {
    let mut net = pair();
    let peer = net.nodes[1].core.id();
    let s0 = *net.nodes[0].core.stats();
    // One PEERS with 64 victims: at most 8 probes.
    net.inject(0, Net::addr_of(1), &peers_datagram(peer, &victims(64)));
    let s1 = *net.nodes[0].core.stats();
    assert_eq!(s1.probes_sent - s0.probes_sent, 8);
    assert_eq!(s1.probes_suppressed - s0.probes_suppressed, 56);
    // A flood of 1000 PEERS naming 3000 victims within one announce period: at most 32 probes in all.
    for k in 0..1000 {
        let list: Vec<PeerEntry> = victims(3000).into_iter().skip(k * 3).take(60).collect();
        net.inject(0, Net::addr_of(1), &peers_datagram(peer, &list));
    }
    let s2 = *net.nodes[0].core.stats();
    assert!(
        s2.probes_sent - s0.probes_sent <= 32,
        "probes within one period: {}",
        s2.probes_sent - s0.probes_sent
    );
    // A huge list (4000 entries in one 64 KB datagram): entries past 64 are not even looked at.
    let huge = peers_datagram(peer, &victims(4000));
    assert!(huge.len() > 60_000);
    net.inject(0, Net::addr_of(1), &huge);
    let s3 = *net.nodes[0].core.stats();
    assert!(s3.probes_suppressed - s2.probes_suppressed >= 4000 - 64);
    // The same victim address is probed at most once per two announce periods however often it is named.
    let one = victims(1);
    net.run_for(Duration::from_secs(1));
    let before = net.nodes[0].core.stats().probes_sent;
    for _ in 0..100 {
        let mut e = one[0];
        e.id.0 += 1;
        net.inject(0, Net::addr_of(1), &peers_datagram(peer, &[e]));
    }
    assert_eq!(net.nodes[0].core.stats().probes_sent - before, 1);
    // Over a long flood the probe rate stays at 32 per announce period (100 ms).
    let before = net.nodes[0].core.stats().probes_sent;
    for round in 0..20u64 {
        let list: Vec<PeerEntry> = (0..60)
            .map(|k| PeerEntry {
                id: EndpointId(0xf00d_0000 + round * 100 + k),
                address: SocketAddr::from(([192, 0, 2, (round % 200) as u8 + 1], 2000 + k as u16)),
            })
            .collect();
        for chunk in list.chunks(8) {
            net.inject(0, Net::addr_of(1), &peers_datagram(peer, chunk));
        }
        net.run_for(Duration::from_millis(100));
    }
    let probes = net.nodes[0].core.stats().probes_sent - before;
    assert!(probes <= 32 * 21, "{probes} probes in 2 s");
    // The endpoint is fine: the real peer is still there.
    assert!(net.nodes[0].core.peers().any(|p| p.id == peer));
    assert!(net.nodes[0].core.peers().count() == 1, "no probed victim became a peer");
}

#[test]
fn peers_from_strangers_are_dropped_and_malformed_peers_are_counted() {
    let mut net = pair();
    let s0 = *net.nodes[0].core.stats();
    net.inject(0, Net::addr_of(5), &peers_datagram(EndpointId(0x5555), &victims(10)));
    let s1 = *net.nodes[0].core.stats();
    assert_eq!(s1.dropped_unknown_peer, s0.dropped_unknown_peer + 1);
    assert_eq!(s1.probes_sent, s0.probes_sent, "a stranger's PEERS is not believed");
    assert_eq!(s1.gossip_received, s0.gossip_received);
    let peer = net.nodes[1].core.id();
    let mut bad = peers_datagram(peer, &victims(2));
    let at = bad.len() - 32; // the first entry's family byte
    bad[at] = 9;
    net.inject(0, Net::addr_of(1), &bad);
    let mut truncated = peers_datagram(peer, &victims(2));
    truncated.truncate(truncated.len() - 3);
    net.inject(0, Net::addr_of(1), &truncated);
    let s2 = *net.nodes[0].core.stats();
    assert_eq!(s2.dropped_malformed, s1.dropped_malformed + 2);
    assert_eq!(s2.probes_sent, s1.probes_sent, "nothing probed from a malformed PEERS");
    // Entries with bad addresses (multicast, unspecified, broadcast) and our own ID are skipped.
    let own = net.nodes[0].core.id();
    let odd = [
        PeerEntry { id: EndpointId(1), address: "239.1.2.3:5".parse().unwrap() },
        PeerEntry { id: EndpointId(2), address: "0.0.0.0:5".parse().unwrap() },
        PeerEntry { id: EndpointId(3), address: "255.255.255.255:5".parse().unwrap() },
        PeerEntry { id: own, address: "10.9.9.9:5".parse().unwrap() },
    ];
    net.inject(0, Net::addr_of(1), &peers_datagram(peer, &odd));
    assert_eq!(net.nodes[0].core.stats().probes_sent, s2.probes_sent);
}

#[test]
fn unicast_announcements_carry_the_flag_and_multicast_ones_do_not() {
    // On a multicast segment without configured peers, nobody sends unicast announcements periodically (no N² traffic).
    let mut net = Net::new(7, Faults::default());
    net.add_default(4);
    net.run_for(Duration::from_secs(2));
    assert!(net.fully_discovered());
    for n in &net.nodes {
        assert_eq!(n.core.stats().gossip_sent, 0, "no gossip on a plain multicast network");
    }
    let before: u64 = net.nodes.iter().map(|n| n.core.stats().announcements_sent).sum();
    net.run_for(Duration::from_secs(1));
    let sent: u64 = net.nodes.iter().map(|n| n.core.stats().announcements_sent).sum::<u64>() - before;
    assert!(sent <= 4 * 12, "only the periodic multicast announcements: {sent}");
    let _ = (GROUP, ANNOUNCE_FLAG_UNICAST);
}

#[test]
fn set_peers_replaces_the_list_and_announces_to_new_addresses_at_once() {
    let mut net = Net::new(8, Faults::default());
    net.drop_multicast = true;
    for i in 0..3 {
        let c = unicast_config(&net, i, false, &[]);
        net.add(c);
    }
    net.run_for(Duration::from_secs(1));
    assert_eq!(net.nodes[0].core.peers().count(), 0, "no peer addresses, no multicast: alone");
    net.nodes[1].core.set_peers(vec![Net::addr_of(0)]).unwrap();
    net.nodes[2].core.set_peers(vec![Net::addr_of(1)]).unwrap();
    discover(&mut net, Duration::from_secs(2));
    let err = net.nodes[0].core.set_peers(vec![Net::addr_of(1), "239.1.1.1:5".parse().unwrap()]).unwrap_err();
    assert_eq!(err.field, "peers");
    assert!(err.value.starts_with("peers[1]"), "{err}");
    assert_eq!(net.nodes[0].core.configured_peers(), &[] as &[SocketAddr], "a refused list changes nothing");
    let mut c = net.config(0);
    c.peers = vec!["10.0.0.1:0".parse().unwrap()];
    assert_eq!(glue_proto::Core::new(c, net.now).unwrap_err().field, "peers");
}
