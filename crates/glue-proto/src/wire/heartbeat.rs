//! HEARTBEAT: a reliable sender states what it has sent and asks for an acknowledgement.

use super::{DecodeError, Reader};

/// HEARTBEAT flag: about the sender's multicast channel (else its unicast channel to the receiver).
pub const HEARTBEAT_FLAG_MULTICAST: u8 = 0x01;
/// HEARTBEAT flag: sent by unicast to one receiver; `first` is where that receiver's stream starts.
pub const HEARTBEAT_FLAG_DIRECT: u8 = 0x02;

/// The body of a HEARTBEAT submessage (kind 0x12). Flags: bit 0 multicast channel, bit 1 direct.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// +                   first sequence (u64 LE)                     +
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// +                   next sequence (u64 LE)                      +
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// `first`: the lowest sequence number the receiver must still receive (earlier ones are delivered or
/// abandoned: skip them). `next`: the sequence number the sender will use next (so `next - 1` is the
/// last one sent). Every heartbeat asks the receiver for an ACK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    /// Lowest sequence number still to be received.
    pub first: u64,
    /// One past the highest sequence number sent.
    pub next: u64,
}

impl Heartbeat {
    /// Encoded body length.
    pub const LEN: usize = 16;

    /// Appends the encoded body to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.first.to_le_bytes());
        out.extend_from_slice(&self.next.to_le_bytes());
    }

    /// Decodes a body; `first` must not exceed `next`.
    pub fn decode(body: &[u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let hb = Heartbeat { first: r.u64("heartbeat first")?, next: r.u64("heartbeat next")? };
        if hb.first > hb.next {
            return Err(DecodeError::Invalid { field: "heartbeat first", reason: "greater than next" });
        }
        Ok(hb)
    }
}
