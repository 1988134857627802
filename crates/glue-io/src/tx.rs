//! [`TxQueue`]: moves the core's datagrams to the socket in `sendmmsg` batches, holding them when the
//! socket is full instead of dropping or spinning.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV6};
use std::time::Instant;

use glue_proto::Core;

use crate::sys::{send_batch, TX_BATCH};

/// How a flush ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flush {
    /// Everything the core had is sent.
    Done,
    /// The socket buffer is full (`EAGAIN`): wait until the socket is writable.
    WouldBlock,
    /// The kernel is out of buffers (`ENOBUFS`): retry a little later.
    NoBuffers,
}

/// Up to [`TX_BATCH`] datagrams taken from the core and not yet sent. The buffers are swapped with the
/// core's (no copy) and reused.
#[derive(Debug)]
pub(crate) struct TxQueue {
    slots: Vec<(SocketAddr, Vec<u8>)>,
    len: usize,
    /// Datagrams the socket refused (other than for lack of space), each dropped.
    pub(crate) send_errors: u64,
    /// Dual-stack: (the IPv4 discovery target, the IPv6 group); what goes to the first also goes to the second,
    /// and IPv4 destinations are sent as IPv4-mapped IPv6 addresses (the socket is IPv6).
    dual: Option<(SocketAddr, SocketAddr)>,
}

impl TxQueue {
    pub(crate) fn new() -> Self {
        let nowhere = SocketAddr::from((Ipv4Addr::UNSPECIFIED, 0));
        TxQueue { slots: vec![(nowhere, Vec::new()); TX_BATCH], len: 0, send_errors: 0, dual: None }
    }

    /// Makes this a dual-stack queue: every datagram to `target` is also sent to `group6`, and IPv4 destinations
    /// are mapped (`::ffff:a.b.c.d`) for the IPv6 socket.
    pub(crate) fn dual_stack(&mut self, target: SocketAddr, group6: SocketAddr) {
        self.dual = Some((target, group6));
    }

    /// Whether every datagram taken from the core was sent (or dropped).
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Sends what the core has queued until it has no more or the socket is full.
    pub(crate) fn flush(&mut self, now: Instant, core: &mut Core, socket: &mio::net::UdpSocket) -> Flush {
        loop {
            // A dual-stack queue keeps room for the copy of a datagram to the IPv6 group.
            let room = if self.dual.is_some() { TX_BATCH - 1 } else { TX_BATCH };
            while self.len < room {
                let (dest, buf) = &mut self.slots[self.len];
                match core.poll_transmit(now, buf) {
                    Some(t) => *dest = t.destination,
                    None => break,
                }
                self.len += 1;
                if let Some((target, group6)) = self.dual {
                    self.add_dual_stack_copy(target, group6);
                }
            }
            if self.len == 0 {
                return Flush::Done;
            }
            match send_batch(socket, &self.slots[..self.len]) {
                Ok(0) => return Flush::WouldBlock,
                Ok(n) => self.consume(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Flush::WouldBlock,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if is_no_buffers(&e) => return Flush::NoBuffers,
                Err(_) => {
                    // This datagram cannot go (unreachable network, refused by a firewall...): drop it.
                    self.send_errors += 1;
                    self.consume(1);
                }
            }
        }
    }

    /// The datagram just taken goes to `group6` too when it is for `target` (into a reused buffer: no
    /// allocation once warm); an IPv4 destination becomes IPv4-mapped.
    fn add_dual_stack_copy(&mut self, target: SocketAddr, group6: SocketAddr) {
        let last = self.len - 1;
        let dest = self.slots[last].0;
        if dest == target {
            let (taken, rest) = self.slots.split_at_mut(self.len);
            let copy = &mut rest[0];
            copy.0 = group6;
            copy.1.clear();
            copy.1.extend_from_slice(&taken[last].1);
            self.len += 1;
        }
        if let SocketAddr::V4(v4) = dest {
            self.slots[last].0 = SocketAddr::V6(SocketAddrV6::new(v4.ip().to_ipv6_mapped(), v4.port(), 0, 0));
        }
    }

    /// Forgets the first `n` datagrams (sent or dropped), keeping their buffers for reuse.
    fn consume(&mut self, n: usize) {
        let n = n.min(self.len);
        self.slots[..self.len].rotate_left(n);
        self.len -= n;
    }
}

#[cfg(unix)]
fn is_no_buffers(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENOBUFS)
}

#[cfg(windows)]
fn is_no_buffers(e: &io::Error) -> bool {
    const WSAENOBUFS: i32 = 10055;
    e.raw_os_error() == Some(WSAENOBUFS)
}

#[cfg(not(any(unix, windows)))]
fn is_no_buffers(_: &io::Error) -> bool {
    false
}
