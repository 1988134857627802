//! Submessage framing: kind, flags and body length, then the body.

use super::{DecodeError, Reader};

/// Encoded length of [`SubmessageHeader`] in bytes.
pub const SUBMESSAGE_HEADER_LEN: usize = 4;

/// The kinds of submessage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum SubmessageKind {
    /// An endpoint's announcement (discovery).
    Announce = 0x01,
    /// An endpoint leaves.
    Bye = 0x02,
    /// Asks a sender to prove that its start is live (sealed datagrams only).
    Challenge = 0x03,
    /// Answers a challenge (sealed datagrams only).
    Response = 0x04,
    /// Gossip: peers the sender knows, the answer to a unicast announcement.
    Peers = 0x05,
    /// Application data, best-effort.
    Data = 0x10,
    /// One fragment of a reliable message.
    RData = 0x11,
    /// A reliable sender's state, asking for an ACK.
    Heartbeat = 0x12,
    /// A receiver's acknowledgement and gap report.
    Ack = 0x13,
}

impl SubmessageKind {
    /// The kind for a wire byte, or None if unknown (unknown submessages are skipped and counted).
    pub fn from_u8(b: u8) -> Option<Self> {
        match b {
            0x01 => Some(Self::Announce),
            0x02 => Some(Self::Bye),
            0x03 => Some(Self::Challenge),
            0x04 => Some(Self::Response),
            0x05 => Some(Self::Peers),
            0x10 => Some(Self::Data),
            0x11 => Some(Self::RData),
            0x12 => Some(Self::Heartbeat),
            0x13 => Some(Self::Ack),
            _ => None,
        }
    }
}

/// The 4-byte header in front of every submessage body.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     kind      |     flags     |     body length (u16 LE)      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   body (body length bytes) ...                                |
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SubmessageHeader {
    /// The raw kind byte (see [`SubmessageKind`]).
    pub kind: u8,
    /// Kind-specific flags.
    pub flags: u8,
    /// Length of the body in bytes.
    pub length: u16,
}

impl SubmessageHeader {
    /// Appends the encoded header to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.kind);
        out.push(self.flags);
        out.extend_from_slice(&self.length.to_le_bytes());
    }
}

/// Iterates over the submessages of a datagram (after its header): yields each header and body.
/// After the first error it yields nothing more.
#[derive(Debug, Clone)]
pub struct SubmessageIter<'a> {
    reader: Reader<'a>,
    failed: bool,
}

impl<'a> SubmessageIter<'a> {
    /// Iterates the submessages left in `reader`.
    pub fn new(reader: Reader<'a>) -> Self {
        SubmessageIter { reader, failed: false }
    }
}

impl<'a> Iterator for SubmessageIter<'a> {
    type Item = Result<(SubmessageHeader, &'a [u8]), DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.reader.remaining() == 0 {
            return None;
        }
        let item = (|| {
            let kind = self.reader.u8("submessage kind")?;
            let flags = self.reader.u8("submessage flags")?;
            let length = self.reader.u16("submessage length")?;
            let body = self.reader.bytes(length as usize, "submessage body")?;
            Ok((SubmessageHeader { kind, flags, length }, body))
        })();
        self.failed = item.is_err();
        Some(item)
    }
}
