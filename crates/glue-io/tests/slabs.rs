//! Reliable send slabs on real loopback sockets: many messages per call, sent directly by the calling thread
//! or through the I/O thread, in order with single sends, each reported under its token.

mod common;

use std::sync::mpsc::{self, Receiver};
use std::time::Instant;

use glue_io::slab::{push_record, SlabRecord};
use glue_io::{EndpointId, EntryKind, Error, InboundBatch};

/// What a reliable endpoint reported: messages (sender, payload) and the tokens of its reports.
#[derive(Default)]
struct Reports {
    messages: Vec<(EndpointId, Vec<u8>)>,
    delivered: Vec<u32>,
    refused: Vec<(u32, u32)>,
    /// The payloads handed back with refusals for a full send queue, by token.
    handed_back: Vec<(u32, Vec<u8>)>,
    peers_up: usize,
}

struct Recorder {
    rx: Receiver<InboundBatch>,
    got: Reports,
}

impl Recorder {
    fn open(name: &str, group: std::net::SocketAddrV4) -> (common::Ep, Recorder) {
        let (tx, rx) = mpsc::channel();
        let ep = common::open_sink(common::config(name, group), move |b| tx.send(b).is_ok());
        (ep, Recorder { rx, got: Reports::default() })
    }

    fn wait(&mut self, what: &str, mut done: impl FnMut(&Reports) -> bool) {
        let deadline = Instant::now() + common::WAIT;
        while !done(&self.got) {
            let left = deadline.saturating_duration_since(Instant::now());
            let batch = self.rx.recv_timeout(left).unwrap_or_else(|_| panic!("timed out waiting for {what}"));
            for (from, _, data) in batch.messages() {
                self.got.messages.push((from, data.to_vec()));
            }
            for e in &batch.entries {
                match e.kind {
                    k if k == EntryKind::Delivered as u32 => self.got.delivered.push(e.a),
                    k if k == EntryKind::Refused as u32 => {
                        self.got.refused.push((e.a, e.b));
                        if e.c > 0 {
                            self.got.handed_back.push((e.a, batch.buffers[e.c as usize - 1].clone()));
                        }
                    }
                    k if k == EntryKind::PeerEvent as u32 => self.got.peers_up += 1,
                    _ => {}
                }
            }
        }
    }
}

fn record(token: u32, to: Option<EndpointId>, payload: &[u8]) -> SlabRecord<'_> {
    SlabRecord { token, to, deadline: None, best_effort: false, payload }
}

fn best_effort(to: Option<EndpointId>, payload: &[u8]) -> SlabRecord<'_> {
    SlabRecord { token: 0, to, deadline: None, best_effort: true, payload }
}

#[test]
fn slabs_and_single_sends_arrive_in_order_and_are_each_reported() {
    let group = common::unique_group();
    let (a, mut a_rec) = Recorder::open("slab-a", group);
    let (b, mut b_rec) = Recorder::open("slab-b", group);
    a_rec.wait("a sees b", |r| r.peers_up >= 1);
    b_rec.wait("b sees a", |r| r.peers_up >= 1);

    // Best-effort records arrive too (on loopback: all, and in order per destination).
    let mut slab = Vec::new();
    let notes: Vec<Vec<u8>> = (0..30u32).map(|i| format!("be/{i}").into_bytes()).collect();
    for (i, p) in notes.iter().enumerate() {
        push_record(&mut slab, &best_effort(if i % 10 == 9 { None } else { Some(b.id()) }, p));
    }
    assert!(a.send_slab(&slab).unwrap());
    b_rec.wait("30 best-effort messages", |r| r.messages.len() == 30);
    let got: Vec<Vec<u8>> = b_rec.got.messages.drain(..).map(|(_, d)| d).collect();
    let (broadcasts, unicasts): (Vec<_>, Vec<_>) = notes.iter().cloned().partition(|p| p.ends_with(b"9"));
    let (got_broadcasts, got_unicasts): (Vec<_>, Vec<_>) = got.into_iter().partition(|p| p.ends_with(b"9"));
    assert_eq!((got_unicasts, got_broadcasts), (unicasts, broadcasts));

    // 50 rounds of: a slab of small messages — 20 (one of them a broadcast: it goes through the I/O thread) or 3
    // (sent directly by this thread when the I/O thread is idle) — then a large single send.
    let mut token = 0u32;
    let mut expected = Vec::new();
    for round in 0..50u32 {
        let mut slab = Vec::new();
        let count = if round % 2 == 0 { 20u32 } else { 3 };
        let payloads: Vec<Vec<u8>> = (0..count).map(|i| format!("{round}/{i}").into_bytes()).collect();
        for (i, p) in payloads.iter().enumerate() {
            let to = if i == 7 { None } else { Some(b.id()) };
            push_record(&mut slab, &record(token, to, p));
            token += 1;
            expected.push(p.clone());
        }
        assert!(a.send_slab(&slab).unwrap());
        let large = vec![round as u8; 100_000];
        assert!(a.send_reliable(b.id(), large.clone(), token, None).unwrap());
        token += 1;
        expected.push(large);
    }
    b_rec.wait("every message", |r| r.messages.len() == expected.len());
    let got: Vec<_> = b_rec.got.messages.iter().map(|(from, data)| (*from, data.clone())).collect();
    assert!(got.iter().all(|(from, _)| *from == a.id()));
    // Broadcasts are a channel of their own, so they are ordered among themselves only.
    let unicast =
        |v: &[Vec<u8>]| -> Vec<Vec<u8>> { v.iter().filter(|p| !p.ends_with(b"/7")).cloned().collect() };
    let got_data: Vec<Vec<u8>> = got.into_iter().map(|(_, d)| d).collect();
    assert_eq!(unicast(&got_data), unicast(&expected), "unicasts in order");
    a_rec.wait("every delivery report", |r| r.delivered.len() == token as usize);
    let mut delivered = a_rec.got.delivered.clone();
    delivered.sort_unstable();
    assert_eq!(delivered, (0..token).collect::<Vec<_>>(), "each token reported once");
    assert!(a_rec.got.refused.is_empty());
    let stats = a.stats();
    assert_eq!(stats.core.reliable_messages_sent, token as u64);
    assert_eq!(stats.core.reliable_messages_acked, token as u64);
}

#[test]
fn bad_slabs_are_refused_whole_and_unknown_peers_per_record() {
    let group = common::unique_group();
    let (a, mut a_rec) = Recorder::open("slab-bad", group);
    let max = a.max_message_size();
    let mut slab = Vec::new();
    push_record(&mut slab, &record(1, None, b"fine"));
    let too_large = vec![0; max + 1];
    push_record(&mut slab, &record(2, None, &too_large));
    assert!(matches!(a.send_slab(&slab), Err(Error::InvalidSlab(_))));
    assert!(matches!(a.send_slab(&slab[..10]), Err(Error::InvalidSlab(_))));
    assert!(a.send_slab(&[]).unwrap(), "an empty slab is nothing to do");
    // A best-effort record must fit one datagram.
    let mut slab = Vec::new();
    let datagram_plus_one = vec![0; a.max_payload() + 1];
    push_record(&mut slab, &best_effort(None, &datagram_plus_one));
    assert!(matches!(a.send_slab(&slab), Err(Error::InvalidSlab(_))));

    // A record for an unknown peer is refused on its own; the broadcast beside it (no peers) is delivered.
    let mut slab = Vec::new();
    push_record(&mut slab, &record(3, Some(EndpointId(0xdead)), b"nobody"));
    push_record(&mut slab, &record(4, None, b"everyone"));
    assert!(a.send_slab(&slab).unwrap());
    a_rec.wait("the refusal and the delivery", |r| !r.refused.is_empty() && !r.delivered.is_empty());
    assert_eq!(a_rec.got.refused, vec![(3, 1)], "refused: unknown peer");
    assert_eq!(a_rec.got.delivered, vec![4]);
    // Best effort to an unknown peer: counted, like `send`.
    let mut slab = Vec::new();
    push_record(&mut slab, &best_effort(Some(EndpointId(0xdead)), b"nobody"));
    assert!(a.send_slab(&slab).unwrap());
    common::eventually("the unknown-peer count", || a.stats().dropped_send_unknown_peer == 1);

    a.close();
    assert!(matches!(a.send_slab(&slab), Err(Error::Closed)));
}

#[test]
fn a_record_refused_for_a_full_send_queue_comes_back_with_its_payload() {
    let group = common::unique_group();
    let (tx, rx) = mpsc::channel();
    let mut config = common::config("slab-full-a", group);
    config.reliable.send_queue_bytes = 1000;
    let a = common::open_sink(config, move |b| tx.send(b).is_ok());
    let mut a_rec = Recorder { rx, got: Reports::default() };
    let (b, mut b_rec) = Recorder::open("slab-full-b", group);
    a_rec.wait("a sees b", |r| r.peers_up >= 1);
    b_rec.wait("b sees a", |r| r.peers_up >= 1);
    // One slab is applied in one go, before any ACK can come back: the second record of each channel finds
    // 990 bytes queued and is refused (reason 2), its payload handed back; an unknown peer's is not.
    let filler = vec![7; 990];
    let mut slab = Vec::new();
    push_record(&mut slab, &record(1, Some(b.id()), &filler));
    push_record(&mut slab, &record(2, Some(b.id()), b"unicast, refused"));
    push_record(&mut slab, &record(3, None, &filler));
    push_record(&mut slab, &record(4, None, b"broadcast, refused"));
    push_record(&mut slab, &record(5, Some(EndpointId(0xdead)), b"nobody"));
    assert!(a.send_slab(&slab).unwrap());
    a_rec.wait("three refusals", |r| r.refused.len() == 3);
    assert_eq!(a_rec.got.refused, vec![(2, 2), (4, 2), (5, 1)]);
    assert_eq!(
        a_rec.got.handed_back,
        vec![(2, b"unicast, refused".to_vec()), (4, b"broadcast, refused".to_vec())]
    );
    a_rec.wait("the two accepted records delivered", |r| r.delivered.len() == 2);
    b_rec.wait("both accepted records", |r| r.messages.len() == 2);
}
