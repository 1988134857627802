//! The datagram header.

use super::{DecodeError, Reader};
use crate::EndpointId;

/// "GL", the first two bytes of every glue datagram.
pub const MAGIC: [u8; 2] = *b"GL";
/// The protocol version this implementation speaks.
pub const VERSION: u8 = 1;
/// Encoded length of [`Header`] in bytes.
pub const HEADER_LEN: usize = 16;

/// The 16-byte header that starts every datagram.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   'G' (0x47)  |   'L' (0x4c)  |  version = 1  |  flags = 0    |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     network ID (u32 LE)                       |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// +               source endpoint ID (u64 LE)                     +
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   submessages ... (to the end of the datagram)                |
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Header flags; none are defined in version 1 (sent as 0, ignored on receipt).
    pub flags: u8,
    /// Endpoints only talk to endpoints of the same network ID.
    pub network_id: u32,
    /// The sending endpoint.
    pub source: EndpointId,
}

impl Header {
    /// Appends the encoded header to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&MAGIC);
        out.push(VERSION);
        out.push(self.flags);
        out.extend_from_slice(&self.network_id.to_le_bytes());
        out.extend_from_slice(&self.source.0.to_le_bytes());
    }

    /// Decodes the header at the start of a datagram; the reader is left at the first submessage.
    pub fn decode(r: &mut Reader<'_>) -> Result<Header, DecodeError> {
        let magic = r.bytes(2, "magic")?;
        if magic != MAGIC {
            return Err(DecodeError::BadMagic(u16::from_be_bytes([magic[0], magic[1]])));
        }
        let version = r.u8("version")?;
        if version != VERSION {
            return Err(DecodeError::UnsupportedVersion(version));
        }
        let flags = r.u8("flags")?;
        let network_id = r.u32("network ID")?;
        let source = EndpointId(r.u64("source endpoint ID")?);
        Ok(Header { flags, network_id, source })
    }
}
