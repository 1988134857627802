//! CHALLENGE and RESPONSE: the boot handshake of sealed datagrams (see `crate::seal`).

use super::{DecodeError, Reader};

/// The body of a CHALLENGE (kind 0x03, flags 0) or a RESPONSE (kind 0x04, flags 0): one cookie. Only meaningful inside
/// sealed datagrams (in a plain one they are skipped as unknown kinds).
///
/// A receiver that authenticates a datagram from a start (boot ID) of its sender that it has not verified yet
/// answers with a CHALLENGE carrying a fresh random cookie, by unicast to the datagram's source; the sender answers
/// with a RESPONSE carrying the same cookie (and its announcement), sealed under its current start. A RESPONSE that
/// answers an outstanding challenge (within 2 s, once) verifies that start.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// | kind 03 or 04 |   flags = 0   |     body length = 8           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// +                       cookie (u64 LE)                         +
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cookie(pub u64);

impl Cookie {
    /// Encoded body length.
    pub const LEN: usize = 8;

    /// Appends the encoded body to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0.to_le_bytes());
    }

    /// Decodes a body (exactly 8 bytes).
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let cookie = Cookie(r.u64("cookie")?);
        if r.remaining() != 0 {
            return Err(DecodeError::Invalid { field: "cookie", reason: "trailing bytes" });
        }
        Ok(cookie)
    }
}
