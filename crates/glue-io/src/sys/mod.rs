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

/// Whether a datagram waits on one of `sockets` (`poll(2)` without waiting). True when that cannot be told
/// (an error, or a system without `poll`): the caller of this errs on the side of "not silence".
#[cfg(unix)]
pub(crate) fn readable_now(sockets: [&mio::net::UdpSocket; 2]) -> bool {
    use std::os::fd::AsRawFd;
    let mut fds = sockets.map(|s| libc::pollfd { fd: s.as_raw_fd(), events: libc::POLLIN, revents: 0 });
    // SAFETY: `fds` is a live array of `fds.len()` pollfd structures for the duration of the call, and the
    // descriptors stay open (borrowed) meanwhile.
    let rc = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, 0) };
    rc != 0
}

/// See the Unix version; without `poll`, always true.
#[cfg(not(unix))]
pub(crate) fn readable_now(_: [&mio::net::UdpSocket; 2]) -> bool {
    true
}

#[cfg(all(test, unix))]
mod tests {
    #[test]
    fn readable_now_sees_a_waiting_datagram_without_taking_it() {
        let bind = || mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let (a, b) = (bind(), bind());
        assert!(!super::readable_now([&a, &b]));
        let to = b.local_addr().unwrap();
        std::net::UdpSocket::bind("127.0.0.1:0").unwrap().send_to(b"x", to).unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !super::readable_now([&a, &b]) {
            assert!(std::time::Instant::now() < deadline, "never readable");
            std::thread::yield_now();
        }
        assert!(super::readable_now([&a, &b]), "still there");
        let mut buf = [0u8; 4];
        assert_eq!(b.recv(&mut buf).unwrap(), 1);
        assert!(!super::readable_now([&a, &b]));
    }
}
