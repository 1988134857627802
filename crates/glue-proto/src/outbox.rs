//! Packs outgoing submessages into datagrams, one open datagram per destination, as RTPS packs
//! submessages: many small messages share one datagram (and one syscall).

use std::collections::VecDeque;
use std::net::SocketAddr;

use crate::wire::{SubmessageHeader, SUBMESSAGE_HEADER_LEN};

/// Open datagrams at most; beyond that the oldest is closed early.
const MAX_OPEN: usize = 16;

#[derive(Debug)]
pub(crate) struct Outbox {
    max_datagram: usize,
    /// The bytes every datagram starts with (the plain header, or the sealed header's template).
    prefix: Vec<u8>,
    /// Bytes kept free at the end of every datagram (the sealing tag).
    trailer: usize,
    open: Vec<(SocketAddr, Vec<u8>)>,
    ready: VecDeque<(SocketAddr, Vec<u8>)>,
    spare: Vec<Vec<u8>>,
}

impl Outbox {
    /// Datagrams of at most `max_datagram` bytes that start with `prefix` and keep `trailer` bytes free at the end.
    pub(crate) fn new(prefix: Vec<u8>, trailer: usize, max_datagram: usize) -> Self {
        Outbox { max_datagram, prefix, trailer, open: Vec::new(), ready: VecDeque::new(), spare: Vec::new() }
    }

    /// Largest body a single submessage can have.
    pub(crate) fn max_body(&self) -> usize {
        (self.max_datagram - self.prefix.len() - self.trailer - SUBMESSAGE_HEADER_LEN).min(u16::MAX as usize)
    }

    /// Appends a submessage for `dest`; `body_len` must be exact and at most [`Outbox::max_body`].
    pub(crate) fn push(
        &mut self,
        dest: SocketAddr,
        kind: u8,
        flags: u8,
        body_len: usize,
        write_body: impl FnOnce(&mut Vec<u8>),
    ) {
        debug_assert!(body_len <= self.max_body());
        let need = SUBMESSAGE_HEADER_LEN + body_len;
        let idx = match self.open.iter().position(|(d, _)| *d == dest) {
            Some(i) if self.open[i].1.len() + need + self.trailer <= self.max_datagram => i,
            Some(i) => {
                let full = self.open.swap_remove(i);
                self.ready.push_back(full);
                self.open_new(dest)
            }
            None => self.open_new(dest),
        };
        let buf = &mut self.open[idx].1;
        let start = buf.len();
        SubmessageHeader { kind, flags, length: body_len as u16 }.encode(buf);
        write_body(buf);
        debug_assert_eq!(buf.len() - start, need, "body length mismatch");
    }

    fn open_new(&mut self, dest: SocketAddr) -> usize {
        if self.open.len() >= MAX_OPEN {
            let oldest = self.open.remove(0);
            self.ready.push_back(oldest);
        }
        let mut buf = self.spare.pop().unwrap_or_else(|| Vec::with_capacity(self.max_datagram));
        buf.clear();
        buf.extend_from_slice(&self.prefix);
        self.open.push((dest, buf));
        self.open.len() - 1
    }

    /// The next datagram to send: full ones first, then the open ones (the sender is idle).
    pub(crate) fn pop(&mut self) -> Option<(SocketAddr, Vec<u8>)> {
        if let Some(d) = self.ready.pop_front() {
            return Some(d);
        }
        if self.open.is_empty() {
            return None;
        }
        Some(self.open.remove(0))
    }

    /// Returns a buffer for reuse.
    pub(crate) fn recycle(&mut self, buf: Vec<u8>) {
        if self.spare.len() < 64 && buf.capacity() >= self.max_datagram {
            self.spare.push(buf);
        }
    }

    /// Whether a datagram to `dest` is queued (something sent to it now would share a datagram or follow one).
    pub(crate) fn has_datagram_for(&self, dest: SocketAddr) -> bool {
        self.open.iter().chain(&self.ready).any(|(d, _)| *d == dest)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.ready.is_empty() && self.open.is_empty()
    }
}
