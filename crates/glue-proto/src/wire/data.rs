//! DATA: best-effort application data, unicast or multicast.

use super::{DecodeError, Reader};

/// Flag bit of DATA: the message went to every endpoint (multicast), not to one.
pub const DATA_FLAG_BROADCAST: u8 = 0x01;

/// The body of a DATA submessage (kind 0x10). Flags: bit 0 = broadcast.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |               message sequence number (u32 LE)                |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   payload (the rest of the body, 0..=65531 bytes) ...         |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// The sequence number counts the sender's best-effort messages (wrapping); it identifies a message
/// in traces and lets receivers count gaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Data<'a> {
    /// The sender's best-effort message counter (wrapping).
    pub seq: u32,
    /// The application payload.
    pub payload: &'a [u8],
}

impl<'a> Data<'a> {
    /// Bytes of the body before the payload.
    pub const OVERHEAD: usize = 4;

    /// Appends the encoded body to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(self.payload);
    }

    /// Decodes a body.
    pub fn decode(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let seq = r.u32("data sequence number")?;
        Ok(Data { seq, payload: r.rest() })
    }
}
