//! Batched I/O for systems without `recvmmsg`/`sendmmsg`: one `recv_from`/`send_to` per datagram.

use std::io;
use std::net::SocketAddr;

use mio::net::UdpSocket;

use super::{Received, RX_BATCH, RX_BUFFER, TX_BATCH};

/// Receive buffers for [`RX_BATCH`] datagrams of up to [`RX_BUFFER`] bytes each, reused for every call.
pub(crate) struct RecvBatch {
    bufs: Box<[u8]>,
    meta: [Received; RX_BATCH],
}

impl std::fmt::Debug for RecvBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvBatch").finish_non_exhaustive()
    }
}

impl RecvBatch {
    /// Allocates the buffers (once per endpoint).
    pub(crate) fn new() -> Self {
        RecvBatch {
            bufs: vec![0u8; RX_BATCH * RX_BUFFER].into_boxed_slice(),
            meta: [Received::default(); RX_BATCH],
        }
    }

    /// Receives up to [`RX_BATCH`] datagrams without blocking; `Err(WouldBlock)` when there are none.
    pub(crate) fn recv(&mut self, socket: &UdpSocket) -> io::Result<usize> {
        let mut n = 0;
        while n < RX_BATCH {
            let buf = &mut self.bufs[n * RX_BUFFER..(n + 1) * RX_BUFFER];
            match socket.recv_from(buf) {
                Ok((len, from)) => {
                    self.meta[n] = Received { from: Some(from), len, truncated: false };
                    n += 1;
                }
                Err(e) if is_truncated(&e) => {
                    self.meta[n] = Received { from: None, len: 0, truncated: true };
                    n += 1;
                }
                Err(e) if n == 0 || e.kind() != io::ErrorKind::WouldBlock => return Err(e),
                Err(_) => break,
            }
        }
        Ok(n)
    }

    /// Datagram `i` of the last `recv`, writable (sealed datagrams are opened in place).
    pub(crate) fn get_mut(&mut self, i: usize) -> (Received, &mut [u8]) {
        let meta = self.meta[i];
        let start = i * RX_BUFFER;
        (meta, &mut self.bufs[start..start + meta.len])
    }
}

#[cfg(windows)]
fn is_truncated(e: &io::Error) -> bool {
    const WSAEMSGSIZE: i32 = 10040;
    e.raw_os_error() == Some(WSAEMSGSIZE)
}

#[cfg(not(windows))]
fn is_truncated(_: &io::Error) -> bool {
    false
}

/// Sends up to [`TX_BATCH`] datagrams; returns how many were sent (the first failing one stops the
/// batch: its error is returned when it is the first).
pub(crate) fn send_batch(socket: &UdpSocket, datagrams: &[(SocketAddr, Vec<u8>)]) -> io::Result<usize> {
    let mut sent = 0;
    for (dest, bytes) in datagrams.iter().take(TX_BATCH) {
        match socket.send_to(bytes, *dest) {
            Ok(_) => sent += 1,
            Err(e) if sent == 0 => return Err(e),
            Err(_) => break,
        }
    }
    Ok(sent)
}
