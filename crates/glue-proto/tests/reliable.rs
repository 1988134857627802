#![allow(clippy::needless_range_loop)]
//! The reliable layer through the simulated network: seeded loss (up to 30 %), duplication,
//! reordering and delay, thousands of messages, many seeds. Every reliable message arrives exactly once
//! and in order per sender, or its sender is told; memory returns to zero when the traffic stops.

mod sim;

use std::time::Duration;

use glue_proto::wire::{DatagramBuilder, Header, RData, RDATA_FLAG_FIRST};
use glue_proto::{EndpointId, Event};
use sim::{Faults, Net};

fn lossy(loss: f64) -> Faults {
    Faults { delay: Duration::from_micros(200), jitter: Duration::from_micros(400), loss, duplicate: 0.2 }
}

fn delivered(net: &Net, i: usize) -> Vec<u64> {
    net.nodes[i]
        .events
        .iter()
        .filter_map(|e| if let Event::Delivered { token } = e { Some(*token) } else { None })
        .collect()
}

fn failed(net: &Net, i: usize) -> Vec<(u64, Vec<EndpointId>)> {
    net.nodes[i]
        .events
        .iter()
        .filter_map(|e| {
            if let Event::Failed { token, missing } = e {
                Some((*token, missing.clone()))
            } else {
                None
            }
        })
        .collect()
}

fn settle(net: &mut Net) {
    net.run_for(Duration::from_secs(5));
    for n in &net.nodes {
        if n.core.reliable_memory() != 0 {
            for m in &net.nodes {
                eprintln!("{:?}\n{}", m.core.stats(), m.core.debug_reliable());
            }
        }
        assert_eq!(n.core.reliable_memory(), 0, "memory returns to zero");
        let s = n.core.stats();
        assert_eq!((s.dropped_malformed, s.dropped_invalid_ack), (0, 0), "every ACK we make is valid: {s:?}");
    }
}

fn start(seed: u64, faults: Faults, n: usize) -> Net {
    let mut net = Net::new(seed, Faults::default());
    for i in 0..n {
        let mut c = net.config(i);
        c.expiry_multiplier = 50.0; // no flapping under heavy loss in these tests
        net.add(c);
    }
    net.run_for(Duration::from_millis(50));
    assert!(net.fully_discovered());
    net.faults = faults;
    net
}

#[test]
fn unicast_is_exactly_once_in_order_through_loss_duplication_and_reordering() {
    for seed in 0..24 {
        let loss = [0.0, 0.05, 0.3][seed as usize % 3];
        let mut net = start(seed, lossy(loss), 2);
        let b = net.nodes[1].core.id();
        let now = net.now;
        for k in 0..1000u32 {
            let len = 4 + (k as usize * 37) % 3000; // some messages need fragments at 1472 bytes
            let mut data = vec![k as u8; len];
            data[..4].copy_from_slice(&k.to_le_bytes());
            net.nodes[0].core.send_reliable(now, b, data, Some(k as u64), None).unwrap();
            if k % 100 == 99 {
                net.run_for(Duration::from_millis(2));
            }
        }
        settle(&mut net);
        assert_eq!(net.counters(1, 0), (0..1000).collect::<Vec<_>>(), "seed {seed} loss {loss}");
        assert_eq!(
            delivered(&net, 0),
            (0..1000).collect::<Vec<_>>(),
            "seed {seed}: every token acknowledged once"
        );
        assert!(failed(&net, 0).is_empty());
        for m in &net.nodes[1].messages {
            let k = u32::from_le_bytes(m.payload[..4].try_into().unwrap());
            assert_eq!(m.payload.len(), 4 + (k as usize * 37) % 3000, "intact length");
            assert!(m.payload[4..].iter().all(|&x| x == k as u8), "intact content");
        }
    }
}

#[test]
fn multicast_is_repaired_per_receiver() {
    for seed in 0..12 {
        let mut net = start(100 + seed, lossy(if seed % 2 == 0 { 0.3 } else { 0.1 }), 4);
        let now = net.now;
        for k in 0..1000u32 {
            net.nodes[0]
                .core
                .broadcast_reliable(now, k.to_le_bytes().to_vec(), Some(k as u64), None)
                .unwrap();
        }
        settle(&mut net);
        for i in 1..4 {
            assert_eq!(net.counters(i, 0), (0..1000).collect::<Vec<_>>(), "seed {seed} receiver {i}");
            assert!(net.nodes[i].messages.iter().all(|m| m.broadcast));
        }
        assert_eq!(delivered(&net, 0).len(), 1000, "seed {seed}");
        let s = net.nodes[0].core.stats();
        assert!(s.fragments_resent < s.fragments_sent * 3, "seed {seed}: {s:?}");
    }
}

#[test]
fn several_senders_unicast_and_multicast_at_once() {
    for seed in 0..8 {
        let mut net = start(200 + seed, lossy(0.2), 3);
        let ids: Vec<EndpointId> = net.nodes.iter().map(|n| n.core.id()).collect();
        for round in 0..300u32 {
            let now = net.now;
            for i in 0..3 {
                let to = ids[(i + 1) % 3];
                net.nodes[i].core.send_reliable(now, to, round.to_le_bytes().to_vec(), None, None).unwrap();
                net.nodes[i].core.broadcast_reliable(now, round.to_le_bytes().to_vec(), None, None).unwrap();
            }
            net.run_for(Duration::from_micros(300));
        }
        settle(&mut net);
        for i in 0..3 {
            for j in 0..3 {
                if i == j {
                    continue;
                }
                let got = net.counters(i, j);
                // From j: its broadcasts, plus its unicasts if i is its successor — each stream in order.
                let expect_unicast = (j + 1) % 3 == i;
                assert_eq!(got.len(), if expect_unicast { 600 } else { 300 }, "seed {seed} {j}->{i}");
                let mut bcast: Vec<u32> = vec![];
                let mut ucast: Vec<u32> = vec![];
                for m in net.nodes[i].messages.iter().filter(|m| m.from == ids[j]) {
                    let k = u32::from_le_bytes(m.payload[..4].try_into().unwrap());
                    if m.broadcast {
                        bcast.push(k)
                    } else {
                        ucast.push(k)
                    }
                }
                assert_eq!(bcast, (0..300).collect::<Vec<_>>());
                if expect_unicast {
                    assert_eq!(ucast, (0..300).collect::<Vec<_>>());
                }
            }
        }
    }
}

#[test]
fn large_messages_arrive_intact_and_only_missing_fragments_are_resent() {
    for (seed, loss) in [(1u64, 0.0), (2, 0.05), (3, 0.3)] {
        let mut net = start(300 + seed, lossy(loss), 2);
        let b = net.nodes[1].core.id();
        let big: Vec<u8> = (0..8u32 << 20).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
        let now = net.now;
        net.nodes[0].core.send_reliable(now, b, big.clone(), Some(1), None).unwrap();
        net.nodes[0].core.send_reliable(now, b, vec![7; 100_000], Some(2), None).unwrap();
        settle(&mut net);
        let got = &net.nodes[1].messages;
        assert_eq!(got.len(), 2, "seed {seed}");
        assert!(got[0].payload == big, "8 MiB (more fragments than the send window) intact");
        assert_eq!(got[1].payload, vec![7; 100_000]);
        assert_eq!(delivered(&net, 0), vec![1, 2]);
        let s = net.nodes[0].core.stats();
        let fragments = s.fragments_sent as f64;
        assert!(fragments > 5800.0, "{s:?}");
        // Only missing fragments are resent: about loss/(1-loss) of them, not whole messages (plus
        // some spurious repairs: the simulated link reorders every datagram by up to 400 µs).
        assert!(
            (s.fragments_resent as f64) < fragments * (loss / (1.0 - loss) * 2.0 + 0.3),
            "loss {loss}: {s:?}"
        );
    }
}

#[test]
fn a_silent_receiver_makes_the_sender_fail_at_the_deadline() {
    let mut net = start(400, Faults::default(), 3);
    net.nodes[2].up = false; // crashed, not yet expired (multiplier 50 × 100 ms)
    let c = net.nodes[2].core.id();
    let now = net.now;
    net.nodes[0]
        .core
        .broadcast_reliable(now, b"to all".to_vec(), Some(7), Some(Duration::from_millis(300)))
        .unwrap();
    net.nodes[0]
        .core
        .send_reliable(now, c, b"to c".to_vec(), Some(8), Some(Duration::from_millis(300)))
        .unwrap();
    net.run_for(Duration::from_millis(250));
    assert!(failed(&net, 0).is_empty(), "not before the deadline");
    net.run_for(Duration::from_millis(100));
    let mut f = failed(&net, 0);
    f.sort();
    assert_eq!(f, vec![(7, vec![c]), (8, vec![c])]);
    assert_eq!(net.nodes[1].messages.len(), 1, "b got the broadcast");
    // The stream goes on after an abandoned message.
    net.nodes[2].up = true;
    let now = net.now;
    net.nodes[0].core.broadcast_reliable(now, b"next".to_vec(), Some(9), None).unwrap();
    net.run_for(Duration::from_secs(1));
    assert_eq!(delivered(&net, 0), vec![9]);
    assert_eq!(net.nodes[2].messages.last().unwrap().payload, b"next");
    assert!(
        net.nodes[2].messages.iter().all(|m| m.payload != b"to all"),
        "abandoned message skipped, not delivered late"
    );
    settle(&mut net);
}

#[test]
fn an_expired_receiver_is_no_longer_waited_for() {
    let mut net = Net::new(500, Faults::default());
    net.add_default(3); // multiplier 3 × 100 ms
    net.run_for(Duration::from_millis(50));
    net.nodes[2].up = false;
    let c = net.nodes[2].core.id();
    let now = net.now;
    net.nodes[0].core.broadcast_reliable(now, b"x".to_vec(), Some(1), None).unwrap();
    net.run_for(Duration::from_millis(500));
    assert_eq!(failed(&net, 0), vec![(1, vec![c])], "reported at expiry, long before the 30 s deadline");
    let now = net.now;
    net.nodes[0].core.broadcast_reliable(now, b"y".to_vec(), Some(2), None).unwrap();
    net.run_for(Duration::from_millis(50));
    assert_eq!(delivered(&net, 0), vec![2]);
    assert_eq!(net.nodes[0].core.reliable_memory(), 0);
}

#[test]
fn the_send_window_bounds_what_is_in_flight() {
    let mut net = Net::new(600, Faults::default());
    for i in 0..2 {
        let mut c = net.config(i);
        c.reliable.send_window = 8;
        net.add(c);
    }
    net.run_for(Duration::from_millis(50));
    let b = net.nodes[1].core.id();
    let now = net.now;
    for k in 0..500u32 {
        net.nodes[0].core.send_reliable(now, b, vec![0; 3000 + k as usize], None, None).unwrap();
    }
    let mut buf = Vec::new();
    let mut sent = 0;
    while net.nodes[0].core.poll_transmit(now, &mut buf).is_some() {
        sent += 1;
    }
    assert!(sent <= 8 + 2, "at most the window of fragments before any ACK, got {sent} datagrams");
    net.run_for(Duration::from_secs(3));
    assert_eq!(net.nodes[1].messages.iter().filter(|m| m.reliable).count(), 500);
    assert!(net.nodes[0].core.stats().window_stalls > 0);
    assert_eq!(net.nodes[0].core.reliable_memory(), 0);
}

#[test]
fn the_send_queue_is_bounded() {
    let mut net = start(700, Faults::default(), 2);
    let b = net.nodes[1].core.id();
    let now = net.now;
    let limit = net.nodes[0].core.config().reliable.send_queue_bytes;
    net.nodes[0].core.send_reliable(now, b, vec![0; limit - 10], None, None).unwrap();
    let err = net.nodes[0].core.send_reliable(now, b, vec![0; 20], None, None).unwrap_err();
    assert!(matches!(err, glue_proto::SendError::QueueFull { .. }), "{err:?}");
    let max = net.nodes[0].core.config().reliable.max_message_size;
    let err = net.nodes[0].core.broadcast_reliable(now, vec![0; max + 1], None, None).unwrap_err();
    assert_eq!(err, glue_proto::SendError::TooLarge { size: max + 1, max });
}

#[test]
fn a_refused_reliable_message_is_handed_back_unchanged() {
    let mut net = start(701, Faults::default(), 2);
    let b = net.nodes[1].core.id();
    let now = net.now;
    let limit = net.nodes[0].core.config().reliable.send_queue_bytes;
    let core = &mut net.nodes[0].core;
    core.try_send_reliable(now, b, vec![0; limit - 10], Some(1), None).unwrap();
    let refusal = core.try_send_reliable(now, b, b"unicast bytes".to_vec(), Some(2), None).unwrap_err();
    assert!(matches!(refusal.error, glue_proto::SendError::QueueFull { .. }), "{refusal:?}");
    assert_eq!(refusal.data, b"unicast bytes");
    core.try_broadcast_reliable(now, vec![0; limit - 10], Some(3), None).unwrap();
    let refusal = core.try_broadcast_reliable(now, b"broadcast bytes".to_vec(), Some(4), None).unwrap_err();
    assert!(matches!(refusal.error, glue_proto::SendError::QueueFull { .. }), "{refusal:?}");
    assert_eq!(refusal.data, b"broadcast bytes");
    let stranger = glue_proto::EndpointId(0x1234);
    let refusal = core.try_send_reliable(now, stranger, b"to nobody".to_vec(), Some(5), None).unwrap_err();
    assert_eq!(refusal.error, glue_proto::SendError::UnknownPeer(stranger));
    assert_eq!(refusal.data, b"to nobody");
}

/// Two nodes 100 µs apart whose first message measured the round trip (node 0's timeout is then its floor, 20 ms),
/// and node 1's ID.
fn measured_pair(seed: u64) -> (Net, EndpointId) {
    let mut net = start(seed, Faults { delay: Duration::from_micros(100), ..Faults::default() }, 2);
    let b = net.nodes[1].core.id();
    let now = net.now;
    net.nodes[0].core.send_reliable(now, b, vec![1; 100], None, None).unwrap();
    net.run_for(Duration::from_millis(10));
    (net, b)
}

#[test]
fn a_receiver_slow_to_answer_costs_probes_not_the_window() {
    let (mut net, b) = measured_pair(702);
    let before = *net.nodes[0].core.stats();
    // A message of many fragments, and the receiver busy for 50 ms (more than two timeouts' worth of silence from it
    // would be 60 ms): every fragment arrives, but no ACK comes back until it reads again.
    let now = net.now;
    net.nodes[1].busy_until = Some(now + Duration::from_millis(50));
    net.nodes[0].core.send_reliable(now, b, vec![2; 300_000], None, None).unwrap();
    net.run_for(Duration::from_millis(300));
    assert_eq!(net.nodes[1].messages.iter().filter(|m| m.reliable).count(), 2, "both delivered");
    let after = net.nodes[0].core.stats();
    let fragments = after.fragments_sent - before.fragments_sent;
    let resent = after.fragments_resent - before.fragments_resent;
    assert!(fragments >= 5, "the message took {fragments} fragments");
    assert!(
        after.retransmit_timeouts > before.retransmit_timeouts,
        "the timer fired while the receiver was silent"
    );
    assert!(resent <= 2, "{resent} of {fragments} fragments resent for a receiver that only answered late");
    assert_eq!(net.nodes[0].core.reliable_memory(), 0);
}

#[test]
fn a_lost_tail_is_repaired_after_one_probe() {
    let (mut net, b) = measured_pair(703);
    // The receiver takes the first fragments of a message, then loses the rest of the burst: nothing it gets says
    // that more was sent, so only the sender's timer finds the tail.
    let now = net.now;
    // 150 of its 210 fragments go through, the rest of the burst (sent within a few round trips) is lost.
    net.burst_loss = Some((0, 150, now + Duration::from_millis(5)));
    net.nodes[0].core.send_reliable(now, b, vec![2; 300_000], None, None).unwrap();
    let lost_at = net.now;
    while net.nodes[1].messages.len() < 2 && net.now < lost_at + Duration::from_secs(2) {
        net.run_for(Duration::from_millis(1));
    }
    assert_eq!(net.nodes[1].messages.len(), 2, "the tail was repaired");
    let stats = net.nodes[0].core.stats();
    assert!(stats.retransmit_timeouts >= 1 && stats.fragments_resent >= 2, "a tail was lost: {stats:?}");
    let took = net.now - lost_at;
    // The first timeout (20 ms) sends the probe; its ACK shows every gap below it, repaired in a round trip or two.
    assert!(took < Duration::from_millis(60), "repaired after {took:?}");
}

fn rdata_datagram(
    source: EndpointId,
    flags: u8,
    seq: u64,
    message_len: Option<u64>,
    payload: &[u8],
) -> Vec<u8> {
    let mut body = Vec::new();
    RData { seq, message_len, payload }.encode(&mut body);
    DatagramBuilder::new(Header { flags: 0, network_id: 0, source }).raw(0x11, flags, &body).finish()
}

#[test]
fn absurd_and_overlapping_fragments_are_dropped_within_bounds() {
    let mut net = start(800, Faults::default(), 2);
    let a = net.nodes[0].core.id();
    let from = Net::addr_of(0);
    let hb = |first: u64| {
        let mut body = Vec::new();
        glue_proto::wire::Heartbeat { first, next: first }.encode(&mut body);
        DatagramBuilder::new(Header { flags: 0, network_id: 0, source: a }).raw(0x12, 0x02, &body).finish()
    };
    let core = &mut net.nodes[1].core;
    let now = net.now;
    core.handle_datagram(now, from, &hb(1000));
    // A first fragment announcing an absurd length: refused without allocating it.
    core.handle_datagram(now, from, &rdata_datagram(a, RDATA_FLAG_FIRST, 1000, Some(1 << 60), b"x"));
    assert!(core.stats().dropped_too_large >= 1);
    assert_eq!(core.reliable_memory(), 0);
    // A message whose fragments add up to more than announced: dropped whole, memory released.
    core.handle_datagram(now, from, &hb(2000));
    core.handle_datagram(now, from, &rdata_datagram(a, RDATA_FLAG_FIRST, 2000, Some(6), b"abcd"));
    assert_eq!(core.reliable_memory(), 6);
    core.handle_datagram(now, from, &rdata_datagram(a, 0x04, 2001, None, b"efgh"));
    assert_eq!(core.stats().dropped_malformed_message, 1);
    assert_eq!(core.reliable_memory(), 0);
    // A forged ACK for data never sent changes nothing.
    let mut body = Vec::new();
    glue_proto::wire::Ack { next: 1 << 40, top: 1 << 40, window: 10, delay_us: 0, ranges: vec![] }
        .encode(&mut body);
    let forged =
        DatagramBuilder::new(Header { flags: 0, network_id: 0, source: a }).raw(0x13, 0x01, &body).finish();
    core.handle_datagram(now, from, &forged);
    assert_eq!(core.stats().dropped_invalid_ack, 1);
    while core.poll_event().is_some() {}
    assert!(net.nodes[1].messages.is_empty());
}

#[test]
fn an_incomplete_message_times_out_and_its_memory_is_freed() {
    let mut net = Net::new(900, Faults::default());
    for i in 0..2 {
        let mut c = net.config(i);
        c.expiry_multiplier = 1000.0;
        c.reliable.reassembly_timeout = Duration::from_millis(500);
        c.reliable.send_window = 16; // the message cannot go out in one burst
        net.add(c);
    }
    net.run_for(Duration::from_millis(50));
    let b = net.nodes[1].core.id();
    let now = net.now;
    net.nodes[0].core.send_reliable(now, b, vec![1; 1 << 20], None, None).unwrap();
    net.run_for(Duration::from_micros(50)); // the first fragments are on the wire
    net.nodes[0].up = false;
    net.run_for(Duration::from_millis(20));
    assert!(
        net.nodes[1].core.reliable_memory() >= 1 << 20,
        "reassembly reserved: {}",
        net.nodes[1].core.debug_reliable()
    );
    net.run_for(Duration::from_millis(600));
    assert_eq!(net.nodes[1].core.stats().reassembly_timeouts, 1);
    assert_eq!(net.nodes[1].core.reliable_memory(), 0);
}

/// Runs the network in 10 µs steps until `done` holds (at most `limit` of virtual time).
fn run_until_done(net: &mut Net, limit: Duration, mut done: impl FnMut(&Net) -> bool) {
    let until = net.now + limit;
    while !done(net) {
        assert!(net.now < until, "not done within {limit:?}");
        net.run_for(Duration::from_micros(10));
    }
}

#[test]
fn in_request_response_traffic_acks_ride_on_the_replies() {
    let faults =
        Faults { delay: Duration::from_micros(50), jitter: Duration::ZERO, loss: 0.0, duplicate: 0.0 };
    let mut net = Net::new(7, Faults::default());
    for i in 0..2 {
        let mut c = net.config(i);
        c.reliable.ack_hold = Duration::from_micros(300);
        net.add(c);
    }
    net.run_for(Duration::from_millis(50));
    net.faults = faults;
    let (a, b) = (net.nodes[0].core.id(), net.nodes[1].core.id());
    let before = [0, 1].map(|i| *net.nodes[i].core.stats());
    let rounds = 200u32;
    for k in 0..rounds {
        let now = net.now;
        net.nodes[0].core.send_reliable(now, b, k.to_le_bytes().to_vec(), Some(k as u64), None).unwrap();
        run_until_done(&mut net, Duration::from_millis(5), |n| n.counters(1, 0).len() == k as usize + 1);
        // The reply goes out 20 µs after the request arrived (an application's reaction time).
        net.run_for(Duration::from_micros(20));
        let now = net.now;
        net.nodes[1].core.send_reliable(now, a, k.to_le_bytes().to_vec(), Some(k as u64), None).unwrap();
        run_until_done(&mut net, Duration::from_millis(5), |n| n.counters(0, 1).len() == k as usize + 1);
    }
    // The last reply is acknowledged on its own once the hold time is up.
    net.run_for(Duration::from_millis(2));
    assert_eq!(delivered(&net, 0), (0..rounds as u64).collect::<Vec<_>>());
    assert_eq!(delivered(&net, 1), (0..rounds as u64).collect::<Vec<_>>());
    let after = [0, 1].map(|i| *net.nodes[i].core.stats());
    for i in 0..2 {
        let data_datagrams = after[i].datagrams_sent
            - before[i].datagrams_sent
            - (after[i].announcements_sent - before[i].announcements_sent);
        // One datagram per request or reply (its ACK of the previous message inside), plus a few
        // stand-alone ACKs: the first ones (no reply seen yet) and the last one. Not two per message.
        assert!(
            data_datagrams <= rounds as u64 + 3,
            "node {i}: {data_datagrams} datagrams for {rounds} messages: {:?}",
            (after[i].acks_sent - before[i].acks_sent, after[i].heartbeats_sent - before[i].heartbeats_sent)
        );
    }
}

#[test]
fn one_way_traffic_is_acknowledged_at_once() {
    let faults =
        Faults { delay: Duration::from_micros(50), jitter: Duration::ZERO, loss: 0.0, duplicate: 0.0 };
    let mut net = start(8, faults, 2);
    let b = net.nodes[1].core.id();
    for k in 0..20u64 {
        let now = net.now;
        net.nodes[0].core.send_reliable(now, b, vec![1; 8], Some(k), None).unwrap();
        // Out and back (100 µs) with no hold: the receiver never sent anything to the sender.
        run_until_done(&mut net, Duration::from_micros(150), |n| delivered(n, 0).len() == k as usize + 1);
    }
}

#[test]
fn after_a_one_sided_expiry_both_directions_work_again() {
    // A (node 0) expires B after 300 ms of silence; B would wait 10 s, so it never forgets A.
    let mut net = Net::new(11, Faults::default());
    for (i, multiplier) in [(0, 3.0), (1, 100.0)] {
        let mut c = net.config(i);
        c.expiry_multiplier = multiplier;
        net.add(c);
    }
    net.run_for(Duration::from_millis(50));
    assert!(net.fully_discovered());
    let (a, b) = (net.nodes[0].core.id(), net.nodes[1].core.id());
    let send = |net: &mut Net, from: usize, to: EndpointId, range: std::ops::Range<u32>| {
        let now = net.now;
        for k in range {
            net.nodes[from]
                .core
                .send_reliable(now, to, k.to_le_bytes().to_vec(), Some(k as u64), None)
                .unwrap();
        }
    };
    send(&mut net, 0, b, 0..10);
    send(&mut net, 1, a, 0..10);
    net.run_for(Duration::from_millis(20));
    // The link goes down for a second, then comes back.
    net.faults = Faults { loss: 1.0, ..Faults::default() };
    net.run_for(Duration::from_secs(1));
    assert!(!net.nodes[0].core.peers().any(|p| p.id == b), "A expired B");
    assert!(net.nodes[1].core.peers().any(|p| p.id == a), "B still has A");
    net.faults = Faults::default();
    net.run_for(Duration::from_millis(300));
    assert!(net.nodes[0].core.peers().any(|p| p.id == b), "A found B again");
    send(&mut net, 0, b, 10..60);
    send(&mut net, 1, a, 10..60);
    net.run_for(Duration::from_secs(2));
    assert_eq!(
        net.counters(1, 0),
        (0..60).collect::<Vec<_>>(),
        "A → B: the new channel is not taken for duplicates"
    );
    assert_eq!(net.counters(0, 1), (0..60).collect::<Vec<_>>(), "B → A: A's new stream syncs");
    assert_eq!(delivered(&net, 0), (0..60).collect::<Vec<_>>());
    assert_eq!(delivered(&net, 1), (0..60).collect::<Vec<_>>());
}
