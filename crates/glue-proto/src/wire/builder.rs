//! Builds whole datagrams from messages: used by tests, tools and test vectors (the core packs its own).

use super::{Announce, Data, Header, SubmessageHeader, SubmessageKind, DATA_FLAG_BROADCAST};

/// Appends submessages after a header; `finish` returns the datagram bytes.
#[derive(Debug, Clone)]
pub struct DatagramBuilder {
    buf: Vec<u8>,
}

impl DatagramBuilder {
    /// A datagram that starts with `header`.
    pub fn new(header: Header) -> Self {
        let mut buf = Vec::new();
        header.encode(&mut buf);
        DatagramBuilder { buf }
    }

    /// Appends a submessage with a raw body (any kind byte, for tests of unknown kinds).
    pub fn raw(mut self, kind: u8, flags: u8, body: &[u8]) -> Self {
        SubmessageHeader { kind, flags, length: body.len() as u16 }.encode(&mut self.buf);
        self.buf.extend_from_slice(body);
        self
    }

    /// Appends an ANNOUNCE.
    pub fn announce(self, a: &Announce<'_>) -> Self {
        let mut body = Vec::new();
        a.encode(&mut body);
        self.raw(SubmessageKind::Announce as u8, 0, &body)
    }

    /// Appends a BYE.
    pub fn bye(self) -> Self {
        self.raw(SubmessageKind::Bye as u8, 0, &[])
    }

    /// Appends a DATA, flagged broadcast or not.
    pub fn data(self, broadcast: bool, d: &Data<'_>) -> Self {
        let mut body = Vec::new();
        d.encode(&mut body);
        self.raw(SubmessageKind::Data as u8, if broadcast { DATA_FLAG_BROADCAST } else { 0 }, &body)
    }

    /// The datagram's bytes.
    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}
