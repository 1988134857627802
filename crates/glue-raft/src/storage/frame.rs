//! Record framing shared by the log and the snapshot file: every record is
//!
//! ```text
//!  0               4               8   9
//! +---------------+---------------+---+-------------------+
//! | length (u32)  | CRC-32 (u32)  | k | payload ...       |
//! +---------------+---------------+---+-------------------+
//! ```
//!
//! little-endian; `length` counts the kind byte `k` and the payload; the CRC (IEEE 802.3, as zlib's) covers the
//! kind byte and the payload. A reader tells a record that was cut short by a crash (a torn tail) from one that is
//! damaged in the middle of a file.

/// Bytes before the kind byte.
pub(crate) const HEADER: usize = 8;

/// The largest record accepted when reading (a snapshot of 1 GiB plus its metadata): protects the reader from a
/// damaged length field.
pub(crate) const MAX_RECORD: usize = (1 << 30) + (1 << 20);

/// Appends one record of kind `kind`.
pub(crate) fn put(out: &mut Vec<u8>, kind: u8, payload: &[u8]) {
    let len = u32::try_from(payload.len() + 1).expect("records stay below 4 GiB");
    let crc = crc32_update(crc32_update(!0, &[kind]), payload) ^ !0;
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(&crc.to_le_bytes());
    out.push(kind);
    out.extend_from_slice(payload);
}

/// What [`next`] found at an offset.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Read<'a> {
    /// A complete, intact record and the offset after it.
    Record { kind: u8, payload: &'a [u8], end: usize },
    /// Nothing left.
    End,
    /// The rest of the input cannot be a complete record: cut short (it reaches past the end), or only zeros (space
    /// the file system allocated but a crash left unwritten). The writer died during this record.
    Torn,
    /// A complete record whose checksum or length is wrong, with more data after it: damage, not a crash.
    Corrupt,
}

/// Reads the record at `at`.
pub(crate) fn next(buf: &[u8], at: usize) -> Read<'_> {
    let rest = &buf[at.min(buf.len())..];
    if rest.is_empty() {
        return Read::End;
    }
    if rest.len() < HEADER + 1 || rest.iter().all(|&b| b == 0) {
        return Read::Torn;
    }
    let len = u32::from_le_bytes(rest[0..4].try_into().expect("4 bytes")) as usize;
    let crc = u32::from_le_bytes(rest[4..8].try_into().expect("4 bytes"));
    if len == 0 || len > MAX_RECORD {
        return Read::Corrupt;
    }
    if HEADER + len > rest.len() {
        return Read::Torn;
    }
    let body = &rest[HEADER..HEADER + len];
    if crc32_update(!0, body) ^ !0 != crc {
        // The last record of the file may be garbage from a write that did not finish.
        return if HEADER + len == rest.len() { Read::Torn } else { Read::Corrupt };
    }
    Read::Record { kind: body[0], payload: &body[1..], end: at + HEADER + len }
}

/// CRC-32 lookup table (reflected polynomial 0xEDB88320).
const TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

fn crc32_update(mut crc: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        crc = TABLE[((crc ^ b as u32) & 0xff) as usize] ^ (crc >> 8);
    }
    crc
}

/// A cursor over a payload: little-endian integers and length-prefixed byte strings; `None` when too short.
pub(crate) struct Cursor<'a>(pub(crate) &'a [u8]);

impl<'a> Cursor<'a> {
    pub(crate) fn u64(&mut self) -> Option<u64> {
        let (head, rest) = self.0.split_first_chunk::<8>()?;
        self.0 = rest;
        Some(u64::from_le_bytes(*head))
    }

    pub(crate) fn bytes(&mut self) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_first_chunk::<4>()?;
        let len = u32::from_le_bytes(*head) as usize;
        if rest.len() < len {
            return None;
        }
        let (bytes, rest) = rest.split_at(len);
        self.0 = rest;
        Some(bytes)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Appends a length-prefixed byte string (the format [`Cursor::bytes`] reads).
pub(crate) fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&u32::try_from(bytes.len()).expect("below 4 GiB").to_le_bytes());
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_matches_zlib() {
        // zlib.crc32(b"123456789") == 0xCBF43926, the standard check value.
        assert_eq!(crc32_update(!0, b"123456789") ^ !0, 0xCBF4_3926);
    }

    #[test]
    fn records_round_trip_and_damage_is_classified() {
        let mut buf = Vec::new();
        put(&mut buf, 1, b"first");
        let second = buf.len();
        put(&mut buf, 2, b"second");
        let Read::Record { kind, payload, end } = next(&buf, 0) else { panic!("a record") };
        assert_eq!((kind, payload, end), (1, &b"first"[..], second));
        assert!(matches!(next(&buf, second), Read::Record { kind: 2, .. }));
        assert_eq!(next(&buf, buf.len()), Read::End);
        for cut in second + 1..buf.len() {
            assert_eq!(next(&buf[..cut], second), Read::Torn, "cut at {cut}");
        }
        let mut zeros = buf[..second].to_vec();
        zeros.extend_from_slice(&[0; 32]);
        assert_eq!(next(&zeros, second), Read::Torn);
        let mut flipped = buf.clone();
        flipped[second + HEADER + 2] ^= 1;
        assert_eq!(next(&flipped, second), Read::Torn, "a damaged last record is a torn write");
        let mut middle = buf.clone();
        middle[HEADER + 1] ^= 1;
        assert_eq!(next(&middle, 0), Read::Corrupt, "damage before intact data is corruption");
    }

    #[test]
    fn cursor_reads_what_was_written() {
        let mut out = 7u64.to_le_bytes().to_vec();
        put_bytes(&mut out, b"abc");
        let mut c = Cursor(&out);
        assert_eq!((c.u64(), c.bytes(), c.is_empty()), (Some(7), Some(&b"abc"[..]), true));
        assert_eq!(Cursor(&out[..10]).bytes(), None);
    }
}
