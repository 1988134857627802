//! The sealing vectors of docs/PROTOCOL.md ("```sealed-hex NAME" blocks): the key ID and sender key derived from a
//! network key, and sealed datagrams built here from their fields, which must match the document byte for byte and
//! open back to the plain submessages. A second implementation can check itself against the same blocks.

mod doc;

use std::collections::HashMap;

use doc::hex;

use glue_proto::seal::{open_datagram, seal_datagram, sender_key, NetworkKey, SealHeader, Suite};
use glue_proto::wire::{Announce, Cookie, DatagramBuilder, Header, SubmessageKind};
use glue_proto::EndpointId;

const SOURCE: EndpointId = EndpointId(0x0123_4567_89ab_cdef);
const BOOT: u64 = 0x0011_2233_4455_6677;

fn key() -> NetworkKey {
    NetworkKey::new(&(0u8..32).collect::<Vec<_>>()).unwrap()
}

/// The submessages of a plain datagram built with the documented header.
fn submessages(build: impl FnOnce(DatagramBuilder) -> DatagramBuilder) -> Vec<u8> {
    let plain = build(DatagramBuilder::new(Header { flags: 0, network_id: 1, source: SOURCE })).finish();
    plain[16..].to_vec()
}

fn sealed(suite: Suite, counter: u64, body: &[u8]) -> Vec<u8> {
    let h = SealHeader { suite, network_id: 1, source: SOURCE, key_id: 0, boot_id: BOOT, counter };
    seal_datagram(&key(), &h, body)
}

fn announce() -> Vec<u8> {
    let a = Announce {
        unicast_port: 37321,
        flags: 0,
        period_ms: 1000,
        incarnation: 0xdead_beef,
        name: "A",
        extensions: &[],
    };
    submessages(|b| b.announce(&a))
}

fn built() -> Vec<(&'static str, Vec<u8>)> {
    let mut cookie = Vec::new();
    Cookie(0x0807_0605_0403_0201).encode(&mut cookie);
    vec![
        ("network-key-id", key().id().to_le_bytes().to_vec()),
        ("sender-key", sender_key(&key(), Suite::Aes256Gcm, 1, SOURCE, BOOT).to_vec()),
        ("sealed-announce", sealed(Suite::Aes256Gcm, 1 | 1 << 63, &announce())),
        ("sealed-bye-chacha", sealed(Suite::ChaCha20Poly1305, 2, &submessages(|b| b.bye()))),
        (
            "sealed-challenge",
            sealed(Suite::Aes256Gcm, 3, &submessages(|b| b.raw(SubmessageKind::Challenge as u8, 0, &cookie))),
        ),
    ]
}

fn documented() -> HashMap<String, Vec<u8>> {
    doc::blocks("sealed-hex")
}

#[test]
fn document_matches_the_sealer() {
    let doc = documented();
    for (name, bytes) in built() {
        let expected = doc
            .get(name)
            .unwrap_or_else(|| panic!("vector {name} missing from PROTOCOL.md:\n{}", hex(&bytes)));
        assert_eq!(hex(expected), hex(&bytes), "vector {name}");
    }
    assert_eq!(doc.len(), built().len(), "PROTOCOL.md has sealed vectors the test does not build");
}

#[test]
fn sealed_vectors_open_to_their_submessages_and_only_with_the_key() {
    let doc = documented();
    let cases = [("sealed-announce", announce()), ("sealed-bye-chacha", submessages(|b| b.bye()))];
    for (name, plain) in cases {
        let datagram = &doc[name];
        let (h, body) = open_datagram(&key(), datagram).expect("opens");
        assert_eq!((h.source, h.boot_id, h.key_id), (SOURCE, BOOT, key().id()), "{name}");
        assert_eq!(body, plain, "{name}");
        let wrong = NetworkKey::new(&[7; 32]).unwrap();
        assert!(open_datagram(&wrong, datagram).is_none(), "{name}: not with another key");
        let mut tampered = datagram.clone();
        tampered[8] ^= 1; // the source ID is authenticated
        assert!(open_datagram(&key(), &tampered).is_none(), "{name}: not with another source");
    }
}

#[test]
#[ignore = "prints the vectors for the document"]
fn print_sealed_vectors() {
    for (name, bytes) in built() {
        println!("```sealed-hex {name}\n{}\n```", hex(&bytes));
    }
}
