//! ACK: a receiver's cumulative and selective acknowledgement, with its window.

use super::{DecodeError, Reader};

/// ACK flag: acknowledges the destination's multicast channel (else its unicast channel to the sender).
pub const ACK_FLAG_MULTICAST: u8 = 0x01;
/// ACK flag: the receiver does not know where its stream starts; please send a direct HEARTBEAT.
pub const ACK_FLAG_SYNC: u8 = 0x02;
/// At most this many ranges in one ACK.
pub const MAX_ACK_RANGES: usize = 32;

/// The body of an ACK submessage (kind 0x13), sent by unicast to the data's sender.
/// Flags: bit 0 multicast channel, bit 1 sync request.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// +      next expected sequence (u64 LE): all before it received  +
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                                                               |
/// +      top (u64 LE): one past the highest sequence received     +
/// |                                                               |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |      window (u32 LE): sequences beyond it the receiver takes  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |      ACK delay, µs (u32 LE): time since `top - 1` arrived      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   range count (u16 LE, ≤ 32)  |        reserved = 0           |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   range start, offset from next expected (u32 LE)             |  repeated
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+  range count
/// |   range length (u32 LE, ≥ 1)                                  |  times
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
/// Ranges list sequence numbers received beyond `next`, ascending and not overlapping; the gaps between
/// them are the gap report: what the sender should repair.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Ack {
    /// All sequence numbers below this were received.
    pub next: u64,
    /// One past the highest sequence number received (≥ `next`); exact even when ranges are cut short.
    pub top: u64,
    /// How many sequence numbers at and beyond `next` the receiver will accept.
    pub window: u32,
    /// Time since `top - 1` was received, µs (subtracted from the sender's RTT sample).
    pub delay_us: u32,
    /// Received runs beyond `next`, as absolute half-open ranges `[start, end)`.
    pub ranges: Vec<(u64, u64)>,
}

impl Ack {
    /// Encoded body length with `n` ranges.
    pub fn encoded_len(n: usize) -> usize {
        28 + 8 * n
    }

    /// Appends the encoded body to `out` (ranges beyond [`MAX_ACK_RANGES`] are left out).
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.next.to_le_bytes());
        out.extend_from_slice(&self.top.to_le_bytes());
        out.extend_from_slice(&self.window.to_le_bytes());
        out.extend_from_slice(&self.delay_us.to_le_bytes());
        let n = self.ranges.len().min(MAX_ACK_RANGES);
        out.extend_from_slice(&(n as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        for &(start, end) in &self.ranges[..n] {
            out.extend_from_slice(&((start - self.next) as u32).to_le_bytes());
            out.extend_from_slice(&((end - start) as u32).to_le_bytes());
        }
    }

    /// Decodes a body into `self` (reusing its range buffer); checks counts, order and overlap.
    pub fn decode_into(&mut self, body: &[u8]) -> Result<(), DecodeError> {
        let mut r = Reader::new(body);
        self.next = r.u64("ack next")?;
        self.top = r.u64("ack top")?;
        if self.top < self.next {
            return Err(DecodeError::Invalid { field: "ack top", reason: "below next" });
        }
        self.window = r.u32("ack window")?;
        self.delay_us = r.u32("ack delay")?;
        let n = r.u16("ack range count")? as usize;
        r.u16("ack reserved")?;
        if n > MAX_ACK_RANGES {
            return Err(DecodeError::Invalid { field: "ack range count", reason: "more than 32" });
        }
        self.ranges.clear();
        let mut floor = self.next;
        for _ in 0..n {
            let start = self.next.checked_add(r.u32("ack range start")? as u64);
            let len = r.u32("ack range length")? as u64;
            let (Some(start), true) = (start, len > 0) else {
                return Err(DecodeError::Invalid { field: "ack range", reason: "empty or out of range" });
            };
            if start <= floor {
                return Err(DecodeError::Invalid {
                    field: "ack range",
                    reason: "not ascending or overlapping",
                });
            }
            let end = start
                .checked_add(len)
                .ok_or(DecodeError::Invalid { field: "ack range", reason: "overflow" })?;
            if end > self.top {
                return Err(DecodeError::Invalid { field: "ack range", reason: "beyond top" });
            }
            self.ranges.push((start, end));
            floor = end;
        }
        Ok(())
    }
}
