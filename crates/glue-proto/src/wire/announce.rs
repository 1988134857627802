//! ANNOUNCE: an endpoint tells the network who it is and where to reach it.

use super::{DecodeError, Reader};

/// Longest endpoint name, in UTF-8 bytes.
pub const MAX_NAME_LEN: usize = 255;

/// Announcement flag: it was sent by unicast (to a configured peer, a peer whose announcements come by
/// unicast, or a gossiped address being probed). The receiver keeps announcing to the sender by unicast and may
/// answer with PEERS (docs/PROTOCOL.md, "Unicast peers and gossip").
pub const ANNOUNCE_FLAG_UNICAST: u8 = 0x01;

/// Extension type of an interest summary: the topic filters the endpoint subscribes to (docs/PROTOCOL.md).
pub const EXTENSION_INTEREST: u8 = 0x10;

/// An extension carried at the end of an announcement (type, value); unknown types are skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension<'a> {
    /// Extension type: 0x10 is an interest summary (see docs/PROTOCOL.md); others are skipped.
    pub kind: u8,
    /// Extension value, at most 65535 bytes.
    pub value: &'a [u8],
}

/// The body of an ANNOUNCE submessage (kind 0x01, submessage flags 0; body flags: [`ANNOUNCE_FLAG_UNICAST`]).
/// The source endpoint ID is in the datagram header; the peer's unicast address is the datagram's source IP with `unicast_port`.
///
/// ```text
///  0                   1                   2                   3
///  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |     unicast port (u16 LE)     |   name length |     flags     |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                 announce period, ms (u32 LE)                  |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |                     incarnation (u32 LE)                      |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |   name (UTF-8, name length bytes, 1..=255) ...                |
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// |  ext type     |  ext length (u16 LE)          | ext value ... | (zero or more, to the end)
/// +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announce<'a> {
    /// The UDP port of the endpoint's unicast socket.
    pub unicast_port: u16,
    /// Announcement flags: [`ANNOUNCE_FLAG_UNICAST`] (0x01); other bits are 0 and ignored by receivers.
    pub flags: u8,
    /// How often the endpoint announces, in milliseconds (≥ 1); peers expire it after a multiple of this.
    pub period_ms: u32,
    /// Random per start of the endpoint: a new value under a known ID means the endpoint restarted.
    pub incarnation: u32,
    /// The endpoint's name, valid UTF-8, 1..=255 bytes.
    pub name: &'a str,
    /// The raw extension area (type-length-value records), see [`Announce::extensions`].
    pub extensions: &'a [u8],
}

impl<'a> Announce<'a> {
    /// Appends the encoded body to `out`. The name must be 1..=255 bytes (checked by the config).
    pub fn encode(&self, out: &mut Vec<u8>) {
        debug_assert!(!self.name.is_empty() && self.name.len() <= MAX_NAME_LEN);
        out.extend_from_slice(&self.unicast_port.to_le_bytes());
        out.push(self.name.len() as u8);
        out.push(self.flags);
        out.extend_from_slice(&self.period_ms.to_le_bytes());
        out.extend_from_slice(&self.incarnation.to_le_bytes());
        out.extend_from_slice(self.name.as_bytes());
        out.extend_from_slice(self.extensions);
    }

    /// Decodes a body; checks the name's length and UTF-8, the period and the extension framing.
    pub fn decode(body: &'a [u8]) -> Result<Self, DecodeError> {
        let mut r = Reader::new(body);
        let unicast_port = r.u16("unicast port")?;
        let name_len = r.u8("name length")? as usize;
        let flags = r.u8("announce flags")?;
        let period_ms = r.u32("announce period")?;
        let incarnation = r.u32("incarnation")?;
        if unicast_port == 0 {
            return Err(DecodeError::Invalid { field: "unicast port", reason: "must not be 0" });
        }
        if period_ms == 0 {
            return Err(DecodeError::Invalid { field: "announce period", reason: "must not be 0" });
        }
        if name_len == 0 {
            return Err(DecodeError::Invalid { field: "name length", reason: "must not be 0" });
        }
        let name = std::str::from_utf8(r.bytes(name_len, "name")?)
            .map_err(|_| DecodeError::Invalid { field: "name", reason: "not UTF-8" })?;
        let extensions = r.rest();
        let announce = Announce { unicast_port, flags, period_ms, incarnation, name, extensions };
        for ext in announce.extensions() {
            ext?;
        }
        Ok(announce)
    }

    /// Iterates the extension records.
    pub fn extensions(&self) -> impl Iterator<Item = Result<Extension<'a>, DecodeError>> {
        extension_records(self.extensions)
    }
}

/// Iterates the type-length-value records of an extension area (ends after the first malformed one).
pub fn extension_records(area: &[u8]) -> impl Iterator<Item = Result<Extension<'_>, DecodeError>> {
    let mut r = Reader::new(area);
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed || r.remaining() == 0 {
            return None;
        }
        let ext = (|| {
            let kind = r.u8("extension type")?;
            let len = r.u16("extension length")?;
            let value = r.bytes(len as usize, "extension value")?;
            Ok(Extension { kind, value })
        })();
        failed = ext.is_err();
        Some(ext)
    })
}

/// Replaces the record of type `kind` in an extension area (`area` holds well-formed records): removes it,
/// then appends `value` as a new record unless it is empty. Records keep ascending type order.
pub fn set_extension_record(area: &mut Vec<u8>, kind: u8, value: &[u8]) {
    debug_assert!(value.len() <= u16::MAX as usize);
    let mut records: Vec<(u8, Vec<u8>)> =
        extension_records(area).filter_map(Result::ok).map(|e| (e.kind, e.value.to_vec())).collect();
    records.retain(|(k, _)| *k != kind);
    if !value.is_empty() {
        records.push((kind, value.to_vec()));
    }
    records.sort_by_key(|(k, _)| *k);
    area.clear();
    for (k, v) in records {
        area.push(k);
        area.extend_from_slice(&(v.len() as u16).to_le_bytes());
        area.extend_from_slice(&v);
    }
}
