//! Send slabs: many messages handed to the I/O thread in one command (one copy, one queue slot, one
//! wake-up), for callers that batch their sends, e.g. the JavaScript thread once per tick. Records are
//! reliable sends (reported under their token) or best-effort ones (token and deadline unused).
//!
//! A slab is a sequence of records, each a 24-byte header followed by the payload, all little-endian, with
//! no padding:
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +---------------------------------------------------------------+
//! |                     payload length (u32)                      |
//! +---------------------------------------------------------------+
//! |                    token (u32), reported back                 |
//! +---------------------------------------------------------------+
//! |                                                               |
//! +            peer ID (u64), ignored for a broadcast             +
//! |                                                               |
//! +---------------------------------------------------------------+
//! |        deadline, ms (u32); 0xffff_ffff = the configured one   |
//! +---------------------------------------------------------------+
//! |  flags (u32): bit 0 = broadcast, bit 1 = best effort, others 0 |
//! +---------------------------------------------------------------+
//! |                payload (payload length bytes) ...             |
//! +---------------------------------------------------------------+
//! ```
//!
//! Each record is then exactly a [`crate::Endpoint::send_reliable`] (or `broadcast_reliable`, `send`,
//! `broadcast`) call, in order: same checks, same Delivered / Failed / Refused reports under its token.

use std::time::Duration;

use glue_proto::EndpointId;

/// Bytes of a record header.
pub const SLAB_HEADER_LEN: usize = 24;
/// `flags` bit: the record is a reliable broadcast (its peer ID is ignored).
pub const SLAB_BROADCAST: u32 = 1;
/// `flags` bit: the record is a best-effort message (one datagram, no report; token and deadline unused).
pub const SLAB_BEST_EFFORT: u32 = 2;
/// `deadline` value meaning "the configured delivery deadline".
pub const SLAB_DEFAULT_DEADLINE: u32 = u32::MAX;

/// One record of a slab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlabRecord<'a> {
    /// Reported back in the Delivered, Failed or Refused entry.
    pub token: u32,
    /// The peer, or None for a broadcast.
    pub to: Option<EndpointId>,
    /// The deadline, or None for the configured one.
    pub deadline: Option<Duration>,
    /// Sent best effort (one datagram, nothing reported) instead of reliably.
    pub best_effort: bool,
    /// The message.
    pub payload: &'a [u8],
}

/// Why a slab was refused (nothing of it was queued).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlabError {
    /// The bytes do not split into whole records.
    #[error("record {index} at byte {offset}: {what}")]
    Malformed {
        /// The record's index.
        index: usize,
        /// Its first byte.
        offset: usize,
        /// What is wrong.
        what: &'static str,
    },
    /// A payload is larger than the endpoint's `max_message_size` (best effort: than one datagram holds).
    #[error("record {index}: message of {size} bytes exceeds the largest message of {max} bytes")]
    TooLarge {
        /// The record's index.
        index: usize,
        /// The payload's size, bytes.
        size: usize,
        /// The limit, bytes.
        max: usize,
    },
}

/// How many records of each kind a slab holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlabCounts {
    /// Reliable records.
    pub reliable: usize,
    /// Best-effort records.
    pub best_effort: usize,
}

impl SlabCounts {
    /// All records.
    pub fn total(&self) -> usize {
        self.reliable + self.best_effort
    }
}

/// Checks that `slab` splits into whole, well-formed records, reliable ones of at most
/// `max_message_size` bytes and best-effort ones of at most `max_payload` (one datagram); counts them.
pub fn validate_slab(
    slab: &[u8],
    max_message_size: usize,
    max_payload: usize,
) -> Result<SlabCounts, SlabError> {
    let mut records = SlabReader::new(slab);
    let mut counts = SlabCounts::default();
    while let Some(record) = records.next_record() {
        let record = record?;
        let max = if record.best_effort { max_payload } else { max_message_size };
        if record.payload.len() > max {
            return Err(SlabError::TooLarge { index: counts.total(), size: record.payload.len(), max });
        }
        if record.best_effort {
            counts.best_effort += 1;
        } else {
            counts.reliable += 1;
        }
    }
    Ok(counts)
}

/// Iterates the records of a slab.
#[derive(Debug)]
pub struct SlabReader<'a> {
    rest: &'a [u8],
    offset: usize,
    index: usize,
}

impl<'a> SlabReader<'a> {
    /// A reader at the first record.
    pub fn new(slab: &'a [u8]) -> Self {
        SlabReader { rest: slab, offset: 0, index: 0 }
    }

    /// The next record, None at the end, or the first framing error.
    pub fn next_record(&mut self) -> Option<Result<SlabRecord<'a>, SlabError>> {
        if self.rest.is_empty() {
            return None;
        }
        let malformed = |what| SlabError::Malformed { index: self.index, offset: self.offset, what };
        if self.rest.len() < SLAB_HEADER_LEN {
            self.rest = &[];
            return Some(Err(malformed("truncated header")));
        }
        let u32_at = |i: usize| u32::from_le_bytes(self.rest[i..i + 4].try_into().expect("4 bytes"));
        let len = u32_at(0) as usize;
        let token = u32_at(4);
        let peer = u64::from_le_bytes(self.rest[8..16].try_into().expect("8 bytes"));
        let deadline = u32_at(16);
        let flags = u32_at(20);
        if flags & !(SLAB_BROADCAST | SLAB_BEST_EFFORT) != 0 {
            self.rest = &[];
            return Some(Err(malformed("unknown flags")));
        }
        let end = SLAB_HEADER_LEN.checked_add(len);
        let Some(payload) = end.and_then(|end| self.rest.get(SLAB_HEADER_LEN..end)) else {
            self.rest = &[];
            return Some(Err(malformed("payload runs past the end")));
        };
        let record = SlabRecord {
            token,
            to: (flags & SLAB_BROADCAST == 0).then_some(EndpointId(peer)),
            deadline: (deadline != SLAB_DEFAULT_DEADLINE).then(|| Duration::from_millis(deadline.into())),
            best_effort: flags & SLAB_BEST_EFFORT != 0,
            payload,
        };
        self.rest = &self.rest[SLAB_HEADER_LEN + len..];
        self.offset += SLAB_HEADER_LEN + len;
        self.index += 1;
        Some(Ok(record))
    }
}

/// Appends one record to `slab` (`to` None: broadcast; `deadline` None: the configured one, else whole ms,
/// rounded up, at most `u32::MAX - 1`).
pub fn push_record(slab: &mut Vec<u8>, record: &SlabRecord<'_>) {
    let len = u32::try_from(record.payload.len()).expect("a record payload is below 4 GiB");
    let deadline = record.deadline.map_or(SLAB_DEFAULT_DEADLINE, |d| {
        let ms = d.as_nanos().div_ceil(1_000_000);
        u32::try_from(ms).unwrap_or(u32::MAX - 1).min(u32::MAX - 1)
    });
    slab.extend_from_slice(&len.to_le_bytes());
    slab.extend_from_slice(&record.token.to_le_bytes());
    slab.extend_from_slice(&record.to.map_or(0, |id| id.0).to_le_bytes());
    slab.extend_from_slice(&deadline.to_le_bytes());
    let flags = if record.to.is_none() { SLAB_BROADCAST } else { 0 }
        | if record.best_effort { SLAB_BEST_EFFORT } else { 0 };
    slab.extend_from_slice(&flags.to_le_bytes());
    slab.extend_from_slice(record.payload);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(slab: &[u8]) -> Vec<Result<SlabRecord<'_>, SlabError>> {
        let mut reader = SlabReader::new(slab);
        std::iter::from_fn(|| reader.next_record()).collect()
    }

    #[test]
    fn round_trip() {
        let a = SlabRecord {
            token: 7,
            to: Some(EndpointId(0x0102_0304_0506_0708)),
            deadline: None,
            best_effort: false,
            payload: b"hi",
        };
        let b = SlabRecord {
            token: 8,
            to: None,
            deadline: Some(Duration::from_micros(1500)),
            best_effort: false,
            payload: b"",
        };
        let c = SlabRecord { token: 0, to: None, deadline: None, best_effort: true, payload: b"abc" };
        let mut slab = Vec::new();
        push_record(&mut slab, &a);
        push_record(&mut slab, &b);
        assert_eq!(slab.len(), 2 * SLAB_HEADER_LEN + 2);
        push_record(&mut slab, &c);
        assert_eq!(slab[slab.len() - 7], 3, "flags of c: broadcast, best effort");
        assert_eq!(
            &slab[..SLAB_HEADER_LEN],
            &hex("02000000 07000000 0807060504030201 ffffffff 00000000")[..]
        );
        let expected_b = SlabRecord { deadline: Some(Duration::from_millis(2)), ..b };
        assert_eq!(records(&slab), vec![Ok(a), Ok(expected_b), Ok(c)]);
        assert_eq!(validate_slab(&slab, 2, 3), Ok(SlabCounts { reliable: 2, best_effort: 1 }));
        assert_eq!(validate_slab(&slab, 1, 3), Err(SlabError::TooLarge { index: 0, size: 2, max: 1 }));
        assert_eq!(validate_slab(&slab, 2, 2), Err(SlabError::TooLarge { index: 2, size: 3, max: 2 }));
        assert_eq!(validate_slab(&[], 0, 0), Ok(SlabCounts::default()));
    }

    #[test]
    fn framing_errors_name_the_record() {
        let mut slab = Vec::new();
        push_record(
            &mut slab,
            &SlabRecord { token: 1, to: None, deadline: None, best_effort: false, payload: b"abc" },
        );
        let whole = slab.len();
        let err = |index, offset, what| Err(SlabError::Malformed { index, offset, what });
        assert_eq!(
            validate_slab(&slab[..whole - 1], 10, 10).map(|c| c.total()),
            err(0, 0, "payload runs past the end")
        );
        assert_eq!(validate_slab(&slab[..10], 10, 10).map(|c| c.total()), err(0, 0, "truncated header"));
        slab.extend_from_slice(&[0; 5]);
        assert_eq!(validate_slab(&slab, 10, 10).map(|c| c.total()), err(1, whole, "truncated header"));
        slab.truncate(whole);
        slab[20] = 4;
        assert_eq!(validate_slab(&slab, 10, 10).map(|c| c.total()), err(0, 0, "unknown flags"));
        // A length near 4 GiB cannot overflow the bounds check.
        slab[20] = 0;
        slab[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(
            validate_slab(&slab, usize::MAX, usize::MAX).map(|c| c.total()),
            err(0, 0, "payload runs past the end")
        );
    }

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }
}
