//! `Core::peer_stats`: round trip, message counts, resends and queue depths per peer, through the simulated network.

mod sim;

use std::time::Duration;

use glue_proto::PeerStats;
use sim::{Faults, Net};

fn two(seed: u64) -> Net {
    let mut net = Net::new(seed, Faults::default());
    for i in 0..2 {
        let mut c = net.config(i);
        c.expiry_multiplier = 50.0; // no expiry when the lossy test drops announcements
        net.add(c);
    }
    net.run_for(Duration::from_millis(50));
    assert!(net.fully_discovered());
    net
}

fn of(net: &Net, i: usize, peer: usize) -> PeerStats {
    let id = net.nodes[peer].core.id();
    let all = net.nodes[i].core.peer_stats();
    *all.iter().find(|s| s.id == id).expect("the peer is listed")
}

#[test]
fn lists_every_peer_unmeasured_before_traffic() {
    let net = two(1);
    let s = of(&net, 0, 1);
    assert_eq!(net.nodes[0].core.peer_stats().len(), 1);
    assert_eq!((s.srtt, s.rttvar), (None, None), "no round trip before reliable unicast traffic");
    assert_eq!((s.reliable_messages_sent, s.reliable_messages_received, s.fragments_resent), (0, 0, 0));
    assert_eq!((s.send_queue_messages, s.unacked_fragments, s.recv_buffered_fragments), (0, 0, 0));
}

#[test]
fn counts_messages_both_ways_and_measures_the_round_trip() {
    let mut net = two(2);
    let b = net.nodes[1].core.id();
    let now = net.now;
    let mut bytes = 0u64;
    for k in 0..100usize {
        let len = 10 + k * 40; // up to ~4 kB: several fragments each
        bytes += len as u64;
        net.nodes[0].core.send_reliable(now, b, vec![k as u8; len], Some(k as u64), None).unwrap();
    }
    net.nodes[0].core.broadcast_reliable(now, vec![7; 100], None, None).unwrap();
    let queued = of(&net, 0, 1);
    assert_eq!(queued.send_queue_messages, 100, "queued, nothing acknowledged yet");
    assert_eq!(queued.send_queue_bytes, bytes);
    assert!(queued.unsent_fragments > 0, "{queued:?}");
    net.run_for(Duration::from_secs(1));

    let sender = of(&net, 0, 1);
    assert_eq!((sender.reliable_messages_sent, sender.reliable_bytes_sent), (100, bytes));
    assert_eq!((sender.send_queue_messages, sender.send_queue_bytes), (0, 0), "all acknowledged");
    assert_eq!((sender.unacked_fragments, sender.unsent_fragments), (0, 0));
    assert_eq!(sender.fragments_resent, 0, "a clean network needs no resends");
    // The simulated network delays every datagram by 100 µs each way.
    let srtt = sender.srtt.expect("measured");
    assert!(srtt >= Duration::from_micros(200) && srtt < Duration::from_millis(5), "{srtt:?}");
    assert!(sender.rttvar.is_some());

    let receiver = of(&net, 1, 0);
    assert_eq!(receiver.reliable_messages_received, 101, "100 by unicast and one by multicast");
    assert_eq!(receiver.reliable_bytes_received, bytes + 100);
    assert_eq!(receiver.reliable_messages_sent, 0);
    assert_eq!(receiver.srtt, None, "the receiver sent nothing reliable, so it measured nothing");
}

#[test]
fn shows_queue_depth_resends_and_the_out_of_order_buffer_under_loss() {
    let mut net = two(3);
    let b = net.nodes[1].core.id();
    net.faults = Faults { loss: 0.3, jitter: Duration::from_micros(300), ..Faults::default() };
    let now = net.now;
    for k in 0..300u64 {
        net.nodes[0].core.send_reliable(now, b, vec![k as u8; 3000], Some(k), None).unwrap();
    }
    let (mut max_unacked, mut max_buffered) = (0, 0);
    for _ in 0..2000 {
        net.run_for(Duration::from_millis(1));
        max_unacked = max_unacked.max(of(&net, 0, 1).unacked_fragments);
        let r = of(&net, 1, 0);
        max_buffered = max_buffered.max(r.recv_buffered_fragments);
        assert!(r.recv_buffered_bytes >= r.recv_buffered_fragments, "bytes go with fragments: {r:?}");
    }
    assert!(max_unacked > 0, "fragments were in flight");
    assert!(max_buffered > 0, "losses left gaps: later fragments waited in the buffer");
    net.faults = Faults::default();
    net.run_for(Duration::from_secs(5));
    let s = of(&net, 0, 1);
    assert!(s.fragments_resent > 0, "30 % loss needs resends: {s:?}");
    assert_eq!(
        s.fragments_resent,
        net.nodes[0].core.stats().fragments_resent,
        "all of them went to this peer"
    );
    assert_eq!(
        (s.send_queue_messages, s.unacked_fragments),
        (0, 0),
        "everything acknowledged in the end: {s:?}"
    );
    let r = of(&net, 1, 0);
    assert_eq!((r.reliable_messages_received, r.recv_buffered_fragments), (300, 0));
}

#[test]
fn probes_measure_the_round_trip_without_data_and_change_nothing_else() {
    let mut net = two(4);
    let now = net.now;
    assert_eq!(net.nodes[0].core.probe_peers(now), 1, "one probe per peer");
    assert_eq!(net.nodes[0].core.probe_peers(now), 0, "at most one outstanding");
    net.run_for(Duration::from_millis(20));
    let s = of(&net, 0, 1);
    let srtt = s.srtt.expect("the probe was answered");
    // 100 µs each way in the simulated network.
    assert!(srtt >= Duration::from_micros(200) && srtt < Duration::from_millis(5), "{srtt:?}");
    assert_eq!((s.reliable_messages_sent, s.fragments_resent, s.unacked_fragments), (0, 0, 0));
    assert_eq!(of(&net, 1, 0).srtt, None, "only the prober measured");
    assert_eq!(net.nodes[1].core.stats().dropped_invalid_heartbeat, 0);
    assert_eq!(net.nodes[1].core.stats().stream_resyncs, 0, "the probe says nothing new");
    // Reliable traffic afterwards still arrives (the probe did not disturb the streams).
    let b = net.nodes[1].core.id();
    assert_eq!(net.nodes[0].core.probe_peers(net.now), 1, "answered: a new probe may go");
    net.nodes[0].core.broadcast_reliable(net.now, vec![1; 2000], Some(1), None).unwrap();
    net.nodes[0].core.send_reliable(net.now, b, vec![2; 10], Some(2), None).unwrap();
    net.run_for(Duration::from_millis(200));
    assert_eq!(of(&net, 1, 0).reliable_messages_received, 2);
}
