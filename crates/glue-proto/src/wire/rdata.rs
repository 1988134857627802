//! RDATA: one fragment of a reliable message.

use super::{DecodeError, Reader};

/// RDATA flag: the fragment belongs to the sender's multicast channel (else its unicast channel to the receiver).
pub const RDATA_FLAG_MULTICAST: u8 = 0x01;
/// RDATA flag: the first fragment of a message.
pub const RDATA_FLAG_FIRST: u8 = 0x02;
/// RDATA flag: the last fragment of a message (FIRST|LAST = an unfragmented message).
pub const RDATA_FLAG_LAST: u8 = 0x04;

/// The body of an RDATA submessage (kind 0x11). Flags: bit 0 multicast channel, bit 1 FIRST, bit 2 LAST.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// +                 sequence number (u64 LE)                      +
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// +  message length, bytes (u64 LE) — only when FIRST and not LAST +
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   fragment payload (the rest of the body) ...                 |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// Every fragment has its own sequence number in the channel, so acknowledgements and repairs work on
/// fragments: only missing fragments are resent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RData<'a> {
    /// The fragment's sequence number in its channel.
    pub seq: u64,
    /// The whole message's length in bytes; `Some` exactly when the fragment is FIRST and not LAST.
    pub message_len: Option<u64>,
    /// The fragment's bytes.
    pub payload: &'a [u8],
}

impl<'a> RData<'a> {
    /// Body bytes before the payload of a fragment with the given flags.
    pub fn overhead(flags: u8) -> usize {
        if Self::carries_len(flags) {
            16
        } else {
            8
        }
    }

    fn carries_len(flags: u8) -> bool {
        flags & (RDATA_FLAG_FIRST | RDATA_FLAG_LAST) == RDATA_FLAG_FIRST
    }

    /// Appends the encoded body to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.seq.to_le_bytes());
        if let Some(len) = self.message_len {
            out.extend_from_slice(&len.to_le_bytes());
        }
        out.extend_from_slice(self.payload);
    }

    /// Decodes a body, given the submessage flags.
    pub fn decode(flags: u8, body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let seq = r.u64("rdata sequence number")?;
        let message_len = if Self::carries_len(flags) { Some(r.u64("rdata message length")?) } else { None };
        Ok(RData { seq, message_len, payload: r.rest() })
    }
}
