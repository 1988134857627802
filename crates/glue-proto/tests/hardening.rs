//! Hardening without a key: one forged or buggy datagram must not break an endpoint. Heartbeats and ACKs naming
//! numbers far off are refused or heal the channel by themselves; counters stay exact; a flood of fake announcements
//! cannot lock real newcomers out of a full peer table, and an announced period is capped.

mod sim;

use std::time::Duration;

use glue_proto::discovery::{MAX_ANNOUNCE_PERIOD, PROBATION};
use glue_proto::wire::{
    Ack, Announce, DatagramBuilder, Header, Heartbeat, SubmessageKind, ACK_FLAG_MULTICAST, ACK_FLAG_SYNC,
    HEARTBEAT_FLAG_DIRECT, HEARTBEAT_FLAG_MULTICAST,
};
use glue_proto::{EndpointId, Event};
use sim::{Faults, Net};

fn net(n: usize) -> Net {
    let mut net = Net::new(1, Faults::default());
    net.add_default(n);
    net.run_for(Duration::from_millis(50));
    assert!(net.fully_discovered());
    net
}

/// A datagram from node `from`'s ID with one submessage.
fn forged(net: &Net, from: usize, kind: SubmessageKind, flags: u8, body: &[u8]) -> Vec<u8> {
    let source = net.nodes[from].core.id();
    DatagramBuilder::new(Header { flags: 0, network_id: 0, source }).raw(kind as u8, flags, body).finish()
}

fn heartbeat(first: u64, next: u64) -> Vec<u8> {
    let mut b = Vec::new();
    Heartbeat { first, next }.encode(&mut b);
    b
}

fn received(net: &Net, i: usize) -> Vec<u32> {
    net.nodes[i]
        .messages
        .iter()
        .filter(|m| m.reliable)
        .map(|m| u32::from_le_bytes(m.payload[..4].try_into().unwrap()))
        .collect()
}

fn send(net: &mut Net, range: std::ops::Range<u32>, broadcast: bool) {
    let b = net.nodes[1].core.id();
    for k in range {
        let now = net.now;
        let data = k.to_le_bytes().to_vec();
        if broadcast {
            net.nodes[0].core.broadcast_reliable(now, data, Some(k as u64), None).unwrap();
        } else {
            net.nodes[0].core.send_reliable(now, b, data, Some(k as u64), None).unwrap();
        }
    }
}

fn failed_tokens(net: &Net, i: usize) -> Vec<u64> {
    net.nodes[i]
        .events
        .iter()
        .filter_map(|e| if let Event::Failed { token, .. } = e { Some(*token) } else { None })
        .collect()
}

#[test]
fn a_heartbeat_skipping_far_beyond_the_window_is_refused_and_counters_stay_exact() {
    for broadcast in [false, true] {
        let mut net = net(2);
        send(&mut net, 0..100, broadcast);
        net.run_for(Duration::from_millis(50));
        let flags = if broadcast { HEARTBEAT_FLAG_MULTICAST } else { 0 };
        for first in [1u64 << 62, u64::MAX - 1, 1 << 20] {
            for direct in [0, HEARTBEAT_FLAG_DIRECT] {
                let d = forged(&net, 0, SubmessageKind::Heartbeat, flags | direct, &heartbeat(first, first));
                net.inject(1, Net::addr_of(0), &d);
            }
        }
        send(&mut net, 100..200, broadcast);
        net.run_for(Duration::from_millis(500));
        assert_eq!(received(&net, 1), (0..200).collect::<Vec<_>>(), "broadcast {broadcast}: nothing lost");
        let s = net.nodes[1].core.stats();
        assert_eq!(s.skipped_fragments, 0, "no 2^62 jump in the counters");
        assert!(s.dropped_invalid_heartbeat >= 6, "{s:?}");
        assert!(failed_tokens(&net, 0).is_empty());
    }
}

#[test]
fn a_forged_start_before_any_data_is_corrected_by_the_senders_next_heartbeat() {
    let mut net = net(2);
    // Node 1 has no unicast stream from node 0 yet: a forged direct heartbeat would set where it starts.
    let d = forged(&net, 0, SubmessageKind::Heartbeat, HEARTBEAT_FLAG_DIRECT, &heartbeat(1 << 62, 1 << 62));
    net.inject(1, Net::addr_of(0), &d);
    send(&mut net, 0..100, false);
    net.run_for(Duration::from_secs(1));
    assert_eq!(received(&net, 1), (0..100).collect::<Vec<_>>());
    assert!(net.nodes[1].core.stats().stream_resyncs >= 1);
    assert!(failed_tokens(&net, 0).is_empty());
}

#[test]
fn a_receiver_pushed_ahead_by_a_forged_skip_heals_within_a_second() {
    for broadcast in [false, true] {
        let mut net = net(3);
        send(&mut net, 0..50, broadcast);
        net.run_for(Duration::from_millis(50));
        // A skip of 1000 (within the window, so the receiver cannot tell it from a real one).
        let flags = if broadcast { HEARTBEAT_FLAG_MULTICAST } else { 0 };
        let d = forged(&net, 0, SubmessageKind::Heartbeat, flags, &heartbeat(1050, 1050));
        net.inject(1, Net::addr_of(0), &d);
        send(&mut net, 50..100, broadcast);
        net.run_for(Duration::from_secs(1));
        let lost = failed_tokens(&net, 0);
        assert!(!lost.is_empty(), "what the receiver skipped failed for it (not silently acknowledged)");
        // After it healed, everything arrives again, once and in order.
        send(&mut net, 100..150, broadcast);
        net.run_for(Duration::from_millis(500));
        let got = received(&net, 1);
        assert!(got.ends_with(&(100..150).collect::<Vec<_>>()), "broadcast {broadcast}: {got:?}");
        assert!(got.windows(2).all(|w| w[0] < w[1]), "in order, once");
        for k in 0..100u64 {
            assert!(
                got.contains(&(k as u32)) != lost.contains(&k) || broadcast,
                "each one delivered or failed"
            );
        }
        assert_eq!(net.nodes[0].core.stats().channel_resyncs, 1);
        if broadcast {
            assert_eq!(received(&net, 2), (0..150).collect::<Vec<_>>(), "the other receiver lost nothing");
        }
    }
}

#[test]
fn an_ack_acknowledging_far_more_than_was_sent_is_refused() {
    let mut net = net(2);
    send(&mut net, 0..10, false);
    net.run_for(Duration::from_millis(50));
    for (next, top, flags) in [(0, 1u64 << 62, 0), (1 << 62, 1 << 62, 0), (5, u64::MAX, ACK_FLAG_MULTICAST)] {
        let mut body = Vec::new();
        Ack { next, top, window: 4096, delay_us: 0, ranges: vec![] }.encode(&mut body);
        let d = forged(&net, 1, SubmessageKind::Ack, flags, &body);
        net.inject(0, Net::addr_of(1), &d);
    }
    assert!(net.nodes[0].core.stats().dropped_invalid_ack >= 3);
    send(&mut net, 10..20, false);
    net.run_for(Duration::from_millis(500));
    assert_eq!(received(&net, 1), (0..20).collect::<Vec<_>>());
    assert!(failed_tokens(&net, 0).is_empty());
}

fn fake_announcement(id: u64, period_ms: u32) -> Vec<u8> {
    let a = Announce { unicast_port: 9, flags: 0, period_ms, incarnation: 1, name: "fake", extensions: &[] };
    DatagramBuilder::new(Header { flags: 0, network_id: 0, source: EndpointId(id) }).announce(&a).finish()
}

#[test]
fn a_flood_of_fake_announcements_does_not_lock_real_newcomers_out() {
    let mut net = Net::new(2, Faults::default());
    for i in 0..2 {
        let mut c = net.config(i);
        c.max_peers = 64;
        net.add(c);
    }
    net.run_for(Duration::from_millis(50));
    assert!(net.fully_discovered());
    // 5000 IDs, one announcement each, with the longest period there is.
    for k in 0..5000u64 {
        net.inject(0, Net::addr_of(9), &fake_announcement(0xf000_0000 + k, u32::MAX));
    }
    let s = net.nodes[0].core.stats();
    assert!(s.peers_evicted > 4000, "{s:?}");
    assert!(net.nodes[0].core.peers().any(|p| p.id == net.nodes[1].core.id()), "the real peer kept its slot");
    // A real newcomer still gets in.
    let c = net.config(2);
    net.add(c);
    net.run_for(Duration::from_millis(100));
    assert!(net.fully_discovered(), "the newcomer was admitted");
    // The fakes that are left expire after their probation, not after their announced hour.
    net.run_for(PROBATION + Duration::from_millis(200));
    assert_eq!(net.nodes[0].core.peers().count(), 2);
    // The made-up peers were never reported: no event at all for them.
    let fake = |id: EndpointId| (0xf000_0000..0xf000_0000 + 5000).contains(&id.0);
    let reported = net.nodes[0].events.iter().any(|e| match e {
        Event::PeerUp(p) | Event::PeerChanged(p) | Event::PeerDown { peer: p, .. } => fake(p.id),
        _ => false,
    });
    assert!(!reported, "peers on probation are not reported");
}

#[test]
fn an_announced_period_counts_as_at_most_a_minute() {
    let mut net = net(1);
    let fake = fake_announcement(0xabc, u32::MAX);
    net.inject(0, Net::addr_of(9), &fake);
    net.inject(0, Net::addr_of(9), &fake); // a second datagram: past probation
    assert_eq!(net.nodes[0].core.peers().count(), 1);
    let multiplier = net.nodes[0].core.config().expiry_multiplier;
    net.run_for(MAX_ANNOUNCE_PERIOD.mul_f64(multiplier) + Duration::from_secs(1));
    assert_eq!(net.nodes[0].core.peers().count(), 0, "expired after the capped lease");
}

#[test]
fn a_receiver_more_than_a_window_behind_where_its_channel_resumes_is_stepped_forward() {
    // A expires B after 300 ms of silence; B would wait 10 s. Meanwhile A queued far more than a window (4096
    // fragments) for B: when B is back, A's new channel continues after all of them, more than a window beyond B.
    let mut net = Net::new(12, Faults::default());
    for (i, multiplier) in [(0, 3.0), (1, 100.0)] {
        let mut c = net.config(i);
        c.expiry_multiplier = multiplier;
        net.add(c);
    }
    net.run_for(Duration::from_millis(50));
    let b = net.nodes[1].core.id();
    send(&mut net, 0..10, false);
    net.run_for(Duration::from_millis(20));
    net.faults = Faults { loss: 1.0, ..Faults::default() };
    let now = net.now;
    for k in 10..6010u32 {
        let deadline = Some(Duration::from_millis(200));
        net.nodes[0].core.send_reliable(now, b, k.to_le_bytes().to_vec(), Some(k as u64), deadline).unwrap();
    }
    net.run_for(Duration::from_secs(1));
    assert!(!net.nodes[0].core.peers().any(|p| p.id == b), "A expired B");
    net.faults = Faults::default();
    net.run_for(Duration::from_millis(300));
    assert!(net.nodes[0].core.peers().any(|p| p.id == b), "A found B again");
    send(&mut net, 10_000..10_050, false);
    net.run_for(Duration::from_secs(2));
    let got = received(&net, 1);
    assert!(got.starts_with(&(0..10).collect::<Vec<_>>()));
    assert!(
        got.ends_with(&(10_000..10_050).collect::<Vec<_>>()),
        "the new messages arrive: {:?}",
        &got[got.len().saturating_sub(5)..]
    );
    assert_eq!(
        failed_tokens(&net, 0).len(),
        6000,
        "those queued while B was away failed, none was lost silently"
    );
}

/// An unsynced receiver's ACK (SYNC, `next` 0: its stream does not know where it starts; see PROTOCOL.md `ack-sync`)
/// says nothing about where it is, so the sender's answer tells it its real start at once, however far the channel
/// has come. (It once took that `next` for the receiver's position and moved it back to one window, then stepped it
/// forward a window per round trip, re-synchronising its stream each time.) This happens for real when the direct
/// heartbeat of an admission is lost, or overtaken by the group's traffic (which comes in on the other socket), so
/// that the receiver's first fragment or heartbeat of the channel is one sent to the group.
#[test]
fn a_sync_ack_is_answered_with_the_receivers_real_start_however_far_the_channel_is() {
    let mut net = net(2);
    let now = net.now;
    // Push the multicast channel far beyond one window (4096) ahead of where it started.
    for k in 0..30_000u32 {
        net.nodes[0].core.broadcast_reliable(now, k.to_le_bytes().to_vec(), None, None).unwrap();
    }
    net.run_for(Duration::from_secs(2));
    assert_eq!(received(&net, 1).len(), 30_000);
    // A newcomer joins the channel at 30 000; it has taken nothing from the channel yet.
    net.add_default(1);
    net.run_for(Duration::from_millis(100));
    assert!(net.fully_discovered());
    // It asks where its stream of node 0's multicast channel starts, as an unsynced receiver does.
    let mut body = Vec::new();
    Ack { next: 0, top: 0, window: 4096, delay_us: 0, ranges: vec![] }.encode(&mut body);
    let ack = forged(&net, 2, SubmessageKind::Ack, ACK_FLAG_MULTICAST | ACK_FLAG_SYNC, &body);
    net.inject(0, Net::addr_of(2), &ack);
    net.run_for(Duration::from_millis(1));
    let now = net.now;
    net.nodes[0].core.broadcast_reliable(now, 30_000u32.to_le_bytes().to_vec(), Some(1), None).unwrap();
    net.run_for(Duration::from_millis(20));
    assert_eq!(received(&net, 2), vec![30_000], "delivered within a round trip, not a window per round trip");
    let s = net.nodes[2].core.stats();
    assert_eq!((s.stream_resyncs, s.dropped_beyond_window), (0, 0), "its stream was not moved back: {s:?}");
    net.run_for(Duration::from_secs(1));
    assert!(failed_tokens(&net, 0).is_empty());
}
