//! The hex test vectors of docs/PROTOCOL.md: each one is built here from its fields and must match the
//! document byte for byte, and must decode back to the same fields. A second implementation can check
//! itself against the same blocks.

mod doc;
mod sim;

use std::collections::HashMap;
use std::time::Duration;

use doc::hex;

use glue_proto::wire::{
    Ack, Announce, Data, DatagramBuilder, Header, Heartbeat, PeerEntry, Peers, RData, Reader, SubmessageIter,
    SubmessageKind, ACK_FLAG_SYNC, ANNOUNCE_FLAG_UNICAST, EXTENSION_INTEREST, RDATA_FLAG_FIRST,
    RDATA_FLAG_LAST,
};
use glue_proto::EndpointId;

fn header() -> Header {
    Header { flags: 0, network_id: 1, source: EndpointId(0x0123_4567_89ab_cdef) }
}

fn announce() -> Announce<'static> {
    Announce {
        unicast_port: 37321,
        flags: 0,
        period_ms: 1000,
        incarnation: 0xdead_beef,
        name: "A",
        extensions: &[],
    }
}

/// An interest-summary extension record (type 0x10, 17 bytes): filters `a/+` and `b/#` in a 64-bit bloom filter
/// with 2 hashes, as `src/topics/interest-filter.ts` encodes them (checked there against the same document).
const INTEREST_RECORD: [u8; 20] = [
    0x10, 0x11, 0x00, 0x01, 0x00, 0x02, 0x06, 0x02, 0x02, 0x02, 0x81, 0x00, 0x00, 0x01, 0x00, 0x00, 0x03,
    0x00, 0x00, 0x08,
];

/// The entries of the PEERS vector: one IPv4 and one IPv6 peer.
fn peer_entries() -> Vec<PeerEntry> {
    vec![
        PeerEntry { id: EndpointId(0x1111_2222_3333_4444), address: "10.78.1.2:37321".parse().unwrap() },
        PeerEntry { id: EndpointId(0x5555_6666_7777_8888), address: "[2001:db8::5]:37321".parse().unwrap() },
    ]
}

fn rdata(flags: u8, r: RData<'_>) -> Vec<u8> {
    let mut body = Vec::new();
    r.encode(&mut body);
    DatagramBuilder::new(header()).raw(0x11, flags, &body).finish()
}

fn heartbeat() -> Heartbeat {
    Heartbeat { first: 5, next: 9 }
}

fn ack() -> Ack {
    Ack { next: 5, top: 9, window: 4096, delay_us: 120, ranges: vec![(6, 7), (8, 9)] }
}

/// What a receiver that does not know where a stream starts acknowledges: nothing (`next` and `top` 0, no ranges).
fn ack_sync() -> Ack {
    Ack { next: 0, top: 0, window: 4096, delay_us: 0, ranges: vec![] }
}

/// Every vector of the document, built from its fields.
fn built() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("header", DatagramBuilder::new(header()).finish()),
        ("announce", DatagramBuilder::new(header()).announce(&announce()).finish()),
        (
            "announce-extension",
            DatagramBuilder::new(header())
                .announce(&Announce {
                    name: "sensor-7",
                    extensions: &[0x7f, 0x02, 0x00, 0xca, 0xfe],
                    ..announce()
                })
                .finish(),
        ),
        (
            "announce-interest",
            DatagramBuilder::new(header())
                .announce(&Announce { extensions: &INTEREST_RECORD, ..announce() })
                .finish(),
        ),
        (
            "announce-unicast",
            DatagramBuilder::new(header())
                .announce(&Announce { flags: ANNOUNCE_FLAG_UNICAST, ..announce() })
                .finish(),
        ),
        ("peers", {
            let mut body = Vec::new();
            Peers::encode(&peer_entries(), &mut body);
            DatagramBuilder::new(header()).raw(0x05, 0, &body).finish()
        }),
        ("bye", DatagramBuilder::new(header()).bye().finish()),
        ("data", DatagramBuilder::new(header()).data(false, &Data { seq: 7, payload: b"hi" }).finish()),
        (
            "data-packed",
            DatagramBuilder::new(header())
                .data(true, &Data { seq: 8, payload: b"x" })
                .data(false, &Data { seq: 9, payload: b"" })
                .finish(),
        ),
        ("rdata", rdata(0x06, RData { seq: 5, message_len: None, payload: b"hi" })),
        ("rdata-first", rdata(0x03, RData { seq: 6, message_len: Some(3000), payload: b"ab" })),
        ("heartbeat", {
            let mut body = Vec::new();
            heartbeat().encode(&mut body);
            DatagramBuilder::new(header()).raw(0x12, 0x02, &body).finish()
        }),
        ("ack", {
            let mut body = Vec::new();
            ack().encode(&mut body);
            DatagramBuilder::new(header()).raw(0x13, 0x00, &body).finish()
        }),
        ("ack-sync", {
            let mut body = Vec::new();
            ack_sync().encode(&mut body);
            DatagramBuilder::new(header()).raw(0x13, ACK_FLAG_SYNC, &body).finish()
        }),
    ]
}

fn documented() -> HashMap<String, Vec<u8>> {
    doc::blocks("hex")
}

#[test]
fn document_matches_the_encoder() {
    let doc = documented();
    for (name, bytes) in built() {
        let expected = doc
            .get(name)
            .unwrap_or_else(|| panic!("vector {name} missing from PROTOCOL.md:\n{}", hex(&bytes)));
        assert_eq!(hex(expected), hex(&bytes), "vector {name}");
    }
    assert_eq!(doc.len(), built().len(), "PROTOCOL.md has vectors the test does not build");
}

#[test]
fn vectors_decode_back_to_their_fields() {
    for (name, bytes) in built() {
        let mut r = Reader::new(&bytes);
        assert_eq!(Header::decode(&mut r).unwrap(), header(), "{name}");
        let subs: Vec<_> = SubmessageIter::new(r).collect::<Result<_, _>>().unwrap();
        match name {
            "header" => assert!(subs.is_empty()),
            "announce" => assert_eq!(Announce::decode(subs[0].1).unwrap(), announce()),
            "announce-extension" => {
                let a = Announce::decode(subs[0].1).unwrap();
                assert_eq!(a.name, "sensor-7");
                let ext: Vec<_> = a.extensions().collect::<Result<_, _>>().unwrap();
                assert_eq!((ext[0].kind, ext[0].value), (0x7f, &[0xca, 0xfe][..]));
            }
            "announce-interest" => {
                let a = Announce::decode(subs[0].1).unwrap();
                let ext: Vec<_> = a.extensions().collect::<Result<_, _>>().unwrap();
                assert_eq!(
                    (ext.len(), ext[0].kind, ext[0].value),
                    (1, EXTENSION_INTEREST, &INTEREST_RECORD[3..])
                );
            }
            "announce-unicast" => {
                assert_eq!(Announce::decode(subs[0].1).unwrap().flags, ANNOUNCE_FLAG_UNICAST)
            }
            "peers" => {
                let p = Peers::decode(subs[0].1).unwrap();
                let entries: Vec<_> = p.entries().collect::<Result<_, _>>().unwrap();
                assert_eq!((subs[0].0.kind, entries), (0x05, peer_entries()));
            }
            "bye" => assert_eq!((subs[0].0.kind, subs[0].1.len()), (0x02, 0)),
            "data" => assert_eq!(Data::decode(subs[0].1).unwrap(), Data { seq: 7, payload: b"hi" }),
            "data-packed" => {
                assert_eq!(subs.len(), 2);
                assert_eq!(subs[0].0.flags, 1);
                assert_eq!(Data::decode(subs[1].1).unwrap(), Data { seq: 9, payload: b"" });
            }
            "rdata" => {
                assert_eq!(subs[0].0.flags, 0x06);
                assert_eq!(
                    RData::decode(0x06, subs[0].1).unwrap(),
                    RData { seq: 5, message_len: None, payload: b"hi" }
                );
            }
            "rdata-first" => {
                let r = RData::decode(0x03, subs[0].1).unwrap();
                assert_eq!(r, RData { seq: 6, message_len: Some(3000), payload: b"ab" });
            }
            "heartbeat" => assert_eq!(Heartbeat::decode(subs[0].1).unwrap(), heartbeat()),
            "ack" => {
                let mut a = Ack::default();
                a.decode_into(subs[0].1).unwrap();
                assert_eq!(a, ack());
            }
            "ack-sync" => {
                let mut a = Ack::default();
                a.decode_into(subs[0].1).unwrap();
                assert_eq!((subs[0].0.flags, a), (ACK_FLAG_SYNC, ack_sync()));
            }
            other => panic!("unchecked vector {other}"),
        }
    }
}

#[test]
#[ignore = "prints the vectors for the document"]
fn print_vectors() {
    for (name, bytes) in built() {
        println!("```hex {name}\n{}\n```", hex(&bytes));
    }
}

/// The `ack-sync` vector is what a real receiver sends: node 1 gets a fragment of node 0's unicast channel before any
/// direct heartbeat said where that stream starts, buffers it, and acknowledges with SYNC, `next` = `top` = 0 and no
/// ranges (it does not know which numbers are meant for it), whatever the fragment's number.
#[test]
fn an_unsynced_receiver_sends_the_documented_sync_ack() {
    let documented = documented()["ack-sync"].clone();
    for seq in [0u64, 3, 1 << 40] {
        let mut net = sim::Net::new(1, sim::Faults::default());
        net.add_default(2);
        net.run_for(Duration::from_millis(50));
        assert!(net.fully_discovered());
        let mut body = Vec::new();
        RData { seq, message_len: None, payload: b"x" }.encode(&mut body);
        let source = net.nodes[0].core.id();
        let forged = DatagramBuilder::new(Header { flags: 0, network_id: 0, source })
            .raw(SubmessageKind::RData as u8, RDATA_FLAG_FIRST | RDATA_FLAG_LAST, &body)
            .finish();
        net.capture = Some(Vec::new());
        net.inject(1, sim::Net::addr_of(0), &forged);
        let captured = net.capture.take().unwrap();
        let acks: Vec<Vec<u8>> = captured
            .iter()
            .filter(|(to, src, _)| *to == 0 && *src == sim::Net::addr_of(1))
            .flat_map(|(_, _, bytes)| {
                let mut r = Reader::new(bytes);
                Header::decode(&mut r).unwrap();
                SubmessageIter::new(r)
                    .map(Result::unwrap)
                    .filter(|(sub, _)| sub.kind == SubmessageKind::Ack as u8)
                    .map(|(sub, body)| {
                        [&[sub.kind, sub.flags][..], &(body.len() as u16).to_le_bytes(), body].concat()
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        assert_eq!(acks.len(), 1, "seq {seq}: one ACK");
        assert_eq!(hex(&acks[0]), hex(&documented[16..]), "seq {seq}: the ack-sync vector's submessage");
        assert!(net.nodes[1].messages.is_empty(), "nothing delivered before the start is known");
    }
}
