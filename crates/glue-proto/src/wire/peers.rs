//! PEERS: gossip of the peers an endpoint knows, the answer to an announcement that came by unicast.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::{DecodeError, Reader};
use crate::EndpointId;

/// Address family byte of an IPv4 entry.
pub const PEERS_FAMILY_V4: u8 = 4;
/// Address family byte of an IPv6 entry.
pub const PEERS_FAMILY_V6: u8 = 6;
/// Entries a sender puts into one PEERS submessage at most (receivers look at no more than this many).
pub const MAX_PEERS_ENTRIES: usize = 64;

/// One gossiped peer: its endpoint ID and the unicast address the gossiping endpoint reaches it at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerEntry {
    /// The peer's endpoint ID.
    pub id: EndpointId,
    /// The peer's unicast address (IPv6 scope IDs are not carried: 0 on decoding).
    pub address: SocketAddr,
}

impl PeerEntry {
    /// Encoded length of this entry, bytes: 16 for IPv4, 28 for IPv6.
    pub fn encoded_len(&self) -> usize {
        Self::len_of(&self.address)
    }

    /// Encoded length of an entry for `address`, bytes.
    pub fn len_of(address: &SocketAddr) -> usize {
        if address.is_ipv4() {
            16
        } else {
            28
        }
    }

    /// Appends the encoded entry to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let family = if self.address.is_ipv4() { PEERS_FAMILY_V4 } else { PEERS_FAMILY_V6 };
        out.push(family);
        out.push(0);
        out.extend_from_slice(&self.address.port().to_le_bytes());
        out.extend_from_slice(&self.id.0.to_le_bytes());
        match self.address.ip() {
            IpAddr::V4(ip) => out.extend_from_slice(&ip.octets()),
            IpAddr::V6(ip) => out.extend_from_slice(&ip.octets()),
        }
    }
}

/// The body of a PEERS submessage (kind 0x05, flags 0): a list of entries to the end of the body, each the
/// endpoint ID and unicast address of a peer the sender has accepted. A receiver does not add them to its peer
/// table: it sends each unknown one an announcement by unicast (a probe, bounded in number) and adds it when
/// it answers. IPv4 entries are 16 bytes, IPv6 entries 28:
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  family 4|6   | reserved = 0  |          port (u16 LE)        |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// +                    endpoint ID (u64 LE)                       +
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   IP address: 4 bytes (family 4) or 16 bytes (family 6),      |
/// |   network byte order ...                                      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   next entry ...                                              |
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peers<'a> {
    body: &'a [u8],
}

impl<'a> Peers<'a> {
    /// Appends the encoded body of `entries` to `out`.
    pub fn encode(entries: &[PeerEntry], out: &mut Vec<u8>) {
        for e in entries {
            e.encode(out);
        }
    }

    /// Checks a whole body: every entry of a known family, reserved byte 0, port not 0, no trailing bytes.
    pub fn decode(body: &'a [u8]) -> Result<Self, DecodeError> {
        let peers = Peers { body };
        for entry in peers.entries() {
            entry?;
        }
        Ok(peers)
    }

    /// Number of bytes of the body.
    pub fn body_len(&self) -> usize {
        self.body.len()
    }

    /// The entries, in order (of a body checked by [`Peers::decode`]: all `Ok`).
    pub fn entries(&self) -> impl Iterator<Item = Result<PeerEntry, DecodeError>> + 'a {
        let mut r = Reader::new(self.body);
        let mut failed = false;
        std::iter::from_fn(move || {
            if failed || r.remaining() == 0 {
                return None;
            }
            let entry = decode_entry(&mut r);
            failed = entry.is_err();
            Some(entry)
        })
    }
}

fn decode_entry(r: &mut Reader<'_>) -> Result<PeerEntry, DecodeError> {
    let family = r.u8("peer family")?;
    let reserved = r.u8("peer reserved")?;
    let port = r.u16("peer port")?;
    let id = EndpointId(r.u64("peer endpoint ID")?);
    let ip = match family {
        PEERS_FAMILY_V4 => {
            let b: [u8; 4] = r.bytes(4, "peer IPv4 address")?.try_into().expect("4 bytes");
            IpAddr::V4(Ipv4Addr::from(b))
        }
        PEERS_FAMILY_V6 => {
            let b: [u8; 16] = r.bytes(16, "peer IPv6 address")?.try_into().expect("16 bytes");
            IpAddr::V6(Ipv6Addr::from(b))
        }
        _ => return Err(DecodeError::Invalid { field: "peer family", reason: "must be 4 or 6" }),
    };
    if reserved != 0 {
        return Err(DecodeError::Invalid { field: "peer reserved", reason: "must be 0" });
    }
    if port == 0 {
        return Err(DecodeError::Invalid { field: "peer port", reason: "must not be 0" });
    }
    Ok(PeerEntry { id, address: SocketAddr::new(ip, port) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_both_families() {
        let entries = [
            PeerEntry { id: EndpointId(7), address: "10.0.0.5:37321".parse().unwrap() },
            PeerEntry { id: EndpointId(u64::MAX), address: "[2001:db8::1]:9".parse().unwrap() },
        ];
        let mut body = Vec::new();
        Peers::encode(&entries, &mut body);
        assert_eq!(body.len(), 16 + 28);
        let decoded: Vec<_> = Peers::decode(&body).unwrap().entries().map(Result::unwrap).collect();
        assert_eq!(decoded, entries);
    }

    #[test]
    fn rejects_bad_entries() {
        let mut body = Vec::new();
        PeerEntry { id: EndpointId(1), address: "10.0.0.5:1".parse().unwrap() }.encode(&mut body);
        for (at, value) in [(0, 5u8), (1, 1), (2, 0)] {
            let mut bad = body.clone();
            bad[at] = value;
            if at == 2 {
                bad[3] = 0;
            }
            assert!(Peers::decode(&bad).is_err(), "byte {at} = {value}");
        }
        assert!(Peers::decode(&body[..15]).is_err());
        assert!(Peers::decode(&[]).is_ok());
    }
}
