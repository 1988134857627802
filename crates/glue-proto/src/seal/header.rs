//! The header of a sealed datagram.

use crate::wire::{DecodeError, Reader, VERSION};
use crate::EndpointId;

use super::Suite;

/// "GS", the first two bytes of a sealed datagram (a plain one starts with "GL").
pub const SEALED_MAGIC: [u8; 2] = *b"GS";
/// Encoded length of [`SealHeader`], bytes.
pub const SEALED_HEADER_LEN: usize = 36;
/// Length of the AEAD tag at the end of a sealed datagram, bytes.
pub const TAG_LEN: usize = 16;
/// Bytes a sealed datagram has more than the plain one with the same submessages (header 36 instead of 16, tag).
pub const SEAL_OVERHEAD: usize = SEALED_HEADER_LEN - crate::wire::HEADER_LEN + TAG_LEN;
/// Bit 63 of the counter: the datagram went to the discovery/broadcast target (else to one endpoint's unicast
/// address). Receivers keep one replay window for each, so that the two paths may reorder against each other.
pub const COUNTER_MULTICAST: u64 = 1 << 63;

/// The 36-byte header of a sealed datagram, all of it authenticated (the AEAD's associated data); the submessages
/// follow encrypted, then the 16-byte tag.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   'G' (0x47)  |   'S' (0x53)  |  version = 1  |     suite     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     network ID (u32 LE)                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// +               source endpoint ID (u64 LE)                     +
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                       key ID (u32 LE)                         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// +                      boot ID (u64 LE)                         +
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// +         counter (u64 LE; bit 63: sent to the group)           +
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   submessages, encrypted ...                                  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   tag (16 bytes)                                              |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealHeader {
    /// The AEAD.
    pub suite: Suite,
    /// Endpoints only talk to endpoints of the same network ID.
    pub network_id: u32,
    /// The sending endpoint.
    pub source: EndpointId,
    /// Which network key sealed it ([`super::NetworkKey::id`]).
    pub key_id: u32,
    /// Random per start of the sender.
    pub boot_id: u64,
    /// Counts the sender's datagrams of this start from 1; bit 63 set for datagrams to the group. The nonce.
    pub counter: u64,
}

impl SealHeader {
    /// Whether a datagram starts like a sealed one.
    pub fn is_sealed(datagram: &[u8]) -> bool {
        datagram.starts_with(&SEALED_MAGIC)
    }

    /// Appends the encoded header to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&SEALED_MAGIC);
        out.push(VERSION);
        out.push(self.suite as u8);
        out.extend_from_slice(&self.network_id.to_le_bytes());
        out.extend_from_slice(&self.source.0.to_le_bytes());
        out.extend_from_slice(&self.key_id.to_le_bytes());
        out.extend_from_slice(&self.boot_id.to_le_bytes());
        out.extend_from_slice(&self.counter.to_le_bytes());
    }

    /// Decodes the header of a sealed datagram (which must be long enough to hold a tag as well).
    pub fn decode(datagram: &[u8]) -> Result<SealHeader, DecodeError> {
        let mut r = Reader::new(datagram);
        let magic = r.bytes(2, "magic")?;
        if magic != SEALED_MAGIC {
            return Err(DecodeError::BadMagic(u16::from_be_bytes([magic[0], magic[1]])));
        }
        let version = r.u8("version")?;
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let suite = r.u8("suite")?;
        let suite =
            Suite::from_u8(suite).ok_or(DecodeError::Invalid { field: "suite", reason: "unknown" })?;
        let header = SealHeader {
            suite,
            network_id: r.u32("network ID")?,
            source: EndpointId(r.u64("source endpoint ID")?),
            key_id: r.u32("key ID")?,
            boot_id: r.u64("boot ID")?,
            counter: r.u64("counter")?,
        };
        r.bytes(TAG_LEN, "tag")?;
        Ok(header)
    }

    /// Whether the counter says the datagram went to the group.
    pub fn multicast(&self) -> bool {
        self.counter & COUNTER_MULTICAST != 0
    }

    /// The 12-byte AEAD nonce: the counter (LE, bit 63 included), then four zero bytes.
    pub fn nonce(&self) -> [u8; 12] {
        nonce(self.counter)
    }
}

/// The nonce of a counter.
pub(crate) fn nonce(counter: u64) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..8].copy_from_slice(&counter.to_le_bytes());
    n
}
