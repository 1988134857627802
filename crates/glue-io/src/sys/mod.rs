//! Batched datagram I/O: `recvmmsg`/`sendmmsg` on Linux, a loop of `recv_from`/`send_to` elsewhere.
//! The only `unsafe` code of the crate that touches sockets lives below this module.

#[cfg(target_os = "linux")]
mod linux;
#[cfg(not(target_os = "linux"))]
mod portable;

#[cfg(target_os = "linux")]
pub(crate) use linux::{send_batch, RecvBatch};
#[cfg(not(target_os = "linux"))]
pub(crate) use portable::{send_batch, RecvBatch};

/// Datagrams received per call at most.
pub(crate) const RX_BATCH: usize = 32;
/// Datagrams sent per call at most.
pub(crate) const TX_BATCH: usize = 64;
/// Size of each receive buffer: the largest UDP payload, so nothing is truncated.
pub(crate) const RX_BUFFER: usize = 65_535;

/// One received datagram's metadata; its bytes are in the [`RecvBatch`] buffer of the same index.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Received {
    /// The sender, or None when the OS reported an address family we do not handle.
    pub(crate) from: Option<std::net::SocketAddr>,
    /// Bytes received.
    pub(crate) len: usize,
    /// The datagram did not fit the buffer (`MSG_TRUNC`): count it, never deliver it.
    pub(crate) truncated: bool,
}
