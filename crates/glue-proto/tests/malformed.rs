//! Malformed input for every message: dropped and counted, never a panic, never a delivery.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Instant;

use glue_proto::wire::{Announce, Data, DatagramBuilder, DecodeError, Header};
use glue_proto::{Core, CoreConfig, EndpointId, Event, Stats};

const FROM: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 40001);
const PEER: EndpointId = EndpointId(0xbeef);

fn core() -> Core {
    let group = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(239, 192, 137, 1)), 37320);
    Core::new(CoreConfig::new(EndpointId(1), "me", 40000, group), Instant::now()).unwrap()
}

fn header() -> Header {
    Header { flags: 0, network_id: 0, source: PEER }
}

fn announce(name: &str) -> Announce<'_> {
    Announce { unicast_port: 40001, flags: 0, period_ms: 1000, incarnation: 1, name, extensions: &[] }
}

/// A core that knows PEER (heard twice: past its probation), with its events drained.
fn core_knowing_peer() -> Core {
    let mut c = core();
    for _ in 0..2 {
        c.handle_datagram(
            Instant::now(),
            FROM,
            &DatagramBuilder::new(header()).announce(&announce("p")).finish(),
        );
    }
    while c.poll_event().is_some() {}
    c
}

fn feed(c: &mut Core, bytes: &[u8]) -> (Stats, Vec<Event>) {
    c.handle_datagram(Instant::now(), FROM, bytes);
    let mut events = vec![];
    while let Some(e) = c.poll_event() {
        events.push(e);
    }
    (*c.stats(), events)
}

#[test]
fn every_truncation_of_every_message_is_dropped_without_panic() {
    let valid = [
        DatagramBuilder::new(header()).announce(&announce("peer")).finish(),
        DatagramBuilder::new(header()).bye().finish(),
        DatagramBuilder::new(header()).data(false, &Data { seq: 1, payload: b"payload" }).finish(),
        DatagramBuilder::new(header()).data(true, &Data { seq: 1, payload: b"x" }).finish(),
        DatagramBuilder::new(header())
            .raw(0x11, 0x03, &[1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1])
            .finish(),
        DatagramBuilder::new(header()).raw(0x11, 0x06, &[1, 0, 0, 0, 0, 0, 0, 0, 1]).finish(),
        DatagramBuilder::new(header()).raw(0x12, 0x02, &[0; 16]).finish(),
        DatagramBuilder::new(header()).raw(0x13, 0x00, &[0; 28]).finish(),
    ];
    for datagram in &valid {
        for cut in 0..datagram.len() {
            let mut c = core_knowing_peer();
            let before = *c.stats();
            let (after, events) = feed(&mut c, &datagram[..cut]);
            let malformed = after.dropped_malformed - before.dropped_malformed;
            // A cut at a submessage boundary (exactly the header) is a valid empty datagram.
            assert_eq!(malformed, u64::from(cut != 16), "cut at {cut} of {datagram:02x?}");
            assert!(events.is_empty(), "nothing delivered from a truncated datagram");
        }
    }
}

#[test]
fn bad_header_fields_are_counted_by_kind() {
    let good = DatagramBuilder::new(header()).data(false, &Data { seq: 1, payload: b"x" }).finish();
    let mut bad_magic = good.clone();
    bad_magic[0] = b'X';
    let mut bad_version = good.clone();
    bad_version[2] = 2;
    let mut other_net = good.clone();
    other_net[4] = 5;
    let mut c = core_knowing_peer();
    feed(&mut c, &bad_magic);
    feed(&mut c, &bad_version);
    let (s, events) = feed(&mut c, &other_net);
    assert_eq!((s.dropped_malformed, s.dropped_version, s.dropped_foreign_network), (1, 1, 1));
    assert!(events.is_empty());
}

#[test]
fn invalid_announcement_fields_are_rejected_by_the_decoder() {
    let base = announce("x");
    let mut body = Vec::new();
    base.encode(&mut body);
    let with = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut b = body.clone();
        f(&mut b);
        Announce::decode(&b).map(|_| ())
    };
    let invalid = |field| Err(DecodeError::Invalid { field, reason: "must not be 0" });
    assert_eq!(with(&|b| b[0..2].copy_from_slice(&[0, 0])), invalid("unicast port"));
    assert_eq!(with(&|b| b[4..8].copy_from_slice(&[0; 4])), invalid("announce period"));
    assert_eq!(with(&|b| b[2] = 0), invalid("name length"));
    assert_eq!(with(&|b| b[12] = 0xff), Err(DecodeError::Invalid { field: "name", reason: "not UTF-8" }));
    assert!(matches!(with(&|b| b[2] = 9), Err(DecodeError::Truncated { field: "name", .. })));
    assert!(matches!(with(&|b| b.extend_from_slice(&[1, 9, 0, 1])), Err(DecodeError::Truncated { .. })));
    assert!(matches!(with(&|b| b.extend_from_slice(&[1, 9])), Err(DecodeError::Truncated { .. })));
}

#[test]
fn a_bad_announcement_adds_no_peer() {
    let mut c = core();
    let datagram =
        DatagramBuilder::new(header()).raw(0x01, 0, &[0x41, 0x9c, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]).finish();
    let (s, events) = feed(&mut c, &datagram);
    assert_eq!(s.dropped_malformed, 1);
    assert!(events.is_empty());
    assert_eq!(c.peers().count(), 0);
}

#[test]
fn unknown_kinds_are_skipped_and_the_rest_is_processed() {
    let mut c = core_knowing_peer();
    let datagram = DatagramBuilder::new(header())
        .raw(0x7e, 0, b"from the future")
        .data(false, &Data { seq: 1, payload: b"still here" })
        .finish();
    let (s, events) = feed(&mut c, &datagram);
    assert_eq!(s.dropped_unknown_kind, 1);
    assert_eq!(events.len(), 1);
}

#[test]
fn a_body_length_past_the_end_stops_the_datagram() {
    let mut c = core_knowing_peer();
    let mut datagram = DatagramBuilder::new(header()).data(false, &Data { seq: 1, payload: b"ok" }).finish();
    datagram.extend_from_slice(&[0x10, 0, 0xff, 0xff, 1, 2, 3]);
    let (s, events) = feed(&mut c, &datagram);
    assert_eq!(s.dropped_malformed, 1);
    assert_eq!(events.len(), 1, "the complete message before the bad one is delivered");
}

#[test]
fn data_from_an_unknown_endpoint_is_counted() {
    let mut c = core();
    let (s, events) =
        feed(&mut c, &DatagramBuilder::new(header()).data(true, &Data { seq: 1, payload: b"x" }).finish());
    assert_eq!(s.dropped_unknown_peer, 1);
    assert!(events.is_empty());
}

/// A small deterministic fuzz: random datagrams and random mutations of valid ones never panic, and
/// every datagram is accounted for.
#[test]
fn random_and_mutated_datagrams_never_panic() {
    let mut state = 0x1234_5678_9abc_def0u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let seeds = [
        DatagramBuilder::new(header())
            .announce(&announce("peer"))
            .data(true, &Data { seq: 3, payload: b"abc" })
            .finish(),
        DatagramBuilder::new(header()).bye().finish(),
        DatagramBuilder::new(header())
            .raw(0x12, 0x02, &[0; 16])
            .raw(0x11, 0x03, &[0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 1])
            .raw(0x11, 0x04, &[1, 0, 0, 0, 0, 0, 0, 0, 2, 3])
            .finish(),
        DatagramBuilder::new(header()).raw(0x13, 0x01, &[0; 28]).raw(0x13, 0x00, &[0; 28]).finish(),
    ];
    let mut c = core_knowing_peer();
    for round in 0..40_000 {
        let mut d = if round % 2 == 0 {
            seeds[(round / 2) % seeds.len()].clone()
        } else {
            let len = (next() % 80) as usize;
            let mut d: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            if len >= 4 && round % 3 == 0 {
                d[..4].copy_from_slice(&[b'G', b'L', 1, 0]);
            }
            d
        };
        if round % 2 == 0 {
            for _ in 0..1 + next() % 4 {
                let i = (next() as usize) % d.len();
                d[i] = next() as u8;
            }
        }
        c.handle_datagram(Instant::now(), FROM, &d);
        let mut buf = Vec::new();
        while c.poll_transmit(Instant::now(), &mut buf).is_some() {}
        while c.poll_event().is_some() {}
        c.take_inbox(Vec::new());
    }
    assert_eq!(c.stats().datagrams_received, 40_002);
    assert!(c.reliable_memory() <= c.config().reliable.max_receive_memory);
}

#[test]
fn invalid_reliable_fields_are_rejected_by_the_decoder() {
    use glue_proto::wire::{Ack, Heartbeat};
    let mut hb = Vec::new();
    Heartbeat { first: 9, next: 5 }.encode(&mut hb);
    assert!(matches!(Heartbeat::decode(&hb), Err(DecodeError::Invalid { field: "heartbeat first", .. })));
    let decode = |a: Ack| {
        let mut body = Vec::new();
        a.encode(&mut body);
        Ack::default().decode_into(&body)
    };
    let ok = Ack { next: 10, top: 20, window: 1, delay_us: 0, ranges: vec![(12, 14), (16, 20)] };
    assert_eq!(decode(ok.clone()), Ok(()));
    let bad = [
        Ack { top: 9, ranges: vec![], ..ok.clone() }, // top below next
        Ack { ranges: vec![(10, 12)], ..ok.clone() }, // a range starting at next
        Ack { ranges: vec![(12, 14), (14, 16)], ..ok.clone() }, // touching ranges
        Ack { ranges: vec![(16, 18), (12, 14)], ..ok.clone() }, // not ascending
        Ack { ranges: vec![(12, 21)], ..ok.clone() }, // beyond top
    ];
    for a in bad {
        assert!(matches!(decode(a.clone()), Err(DecodeError::Invalid { .. })), "{a:?}");
    }
    // More than 32 ranges in the count field.
    let mut body = Vec::new();
    Ack { ranges: vec![], ..ok }.encode(&mut body);
    body[24] = 33;
    assert!(matches!(
        Ack::default().decode_into(&body),
        Err(DecodeError::Invalid { field: "ack range count", .. })
    ));
}
