//! `recvmmsg`/`sendmmsg` behind a safe interface. The message headers point into buffers owned here or
//! borrowed for the call, and are rebuilt on the stack for every call, so nothing self-referential is
//! stored.

use std::io;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;
use std::ptr;

use super::{Received, RX_BATCH, RX_BUFFER, TX_BATCH};

/// Receive buffers for [`RX_BATCH`] datagrams of up to [`RX_BUFFER`] bytes each, reused for every call
/// (the pages are only touched as datagrams land in them).
pub(crate) struct RecvBatch {
    bufs: Box<[u8]>,
    addrs: Box<[libc::sockaddr_storage]>,
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
        // SAFETY: sockaddr_storage is plain old data; all zeroes is a valid value.
        let zero: libc::sockaddr_storage = unsafe { mem::zeroed() };
        RecvBatch {
            bufs: vec![0u8; RX_BATCH * RX_BUFFER].into_boxed_slice(),
            addrs: vec![zero; RX_BATCH].into_boxed_slice(),
            meta: [Received::default(); RX_BATCH],
        }
    }

    /// Receives up to [`RX_BATCH`] datagrams without blocking; `Err(WouldBlock)` when there are none.
    pub(crate) fn recv(&mut self, socket: &impl AsRawFd) -> io::Result<usize> {
        // SAFETY: iovec and mmsghdr are plain old data; all zeroes (null pointers, 0 lengths) is valid.
        let mut iovecs: [libc::iovec; RX_BATCH] = unsafe { mem::zeroed() };
        let mut hdrs: [libc::mmsghdr; RX_BATCH] = unsafe { mem::zeroed() };
        let base = self.bufs.as_mut_ptr();
        let addrs = self.addrs.as_mut_ptr();
        for (i, (iov, hdr)) in iovecs.iter_mut().zip(hdrs.iter_mut()).enumerate() {
            // SAFETY: i < RX_BATCH, so the offsets stay inside `bufs` and `addrs`.
            iov.iov_base = unsafe { base.add(i * RX_BUFFER) }.cast();
            iov.iov_len = RX_BUFFER;
            hdr.msg_hdr.msg_name = unsafe { addrs.add(i) }.cast();
            hdr.msg_hdr.msg_namelen = mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            hdr.msg_hdr.msg_iov = iov;
            hdr.msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: every header points at a live iovec and address slot for the duration of the call, and
        // every iovec at RX_BUFFER writable bytes of `bufs`.
        let n = unsafe {
            libc::recvmmsg(
                socket.as_raw_fd(),
                hdrs.as_mut_ptr(),
                RX_BATCH as _,
                libc::MSG_DONTWAIT as _,
                ptr::null_mut(),
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        let n = n as usize;
        for (i, hdr) in hdrs.iter().take(n).enumerate() {
            self.meta[i] = Received {
                from: decode_addr(&self.addrs[i], hdr.msg_hdr.msg_namelen),
                len: (hdr.msg_len as usize).min(RX_BUFFER),
                truncated: hdr.msg_hdr.msg_flags & libc::MSG_TRUNC != 0,
            };
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

/// Sends up to [`TX_BATCH`] datagrams in one call; returns how many were sent (the first failing one
/// stops the batch: its error is returned when it is the first).
pub(crate) fn send_batch(socket: &impl AsRawFd, datagrams: &[(SocketAddr, Vec<u8>)]) -> io::Result<usize> {
    let n = datagrams.len().min(TX_BATCH);
    if n == 0 {
        return Ok(0);
    }
    // SAFETY: plain old data; all zeroes is valid.
    let mut addrs: [libc::sockaddr_storage; TX_BATCH] = unsafe { mem::zeroed() };
    let mut iovecs: [libc::iovec; TX_BATCH] = unsafe { mem::zeroed() };
    let mut hdrs: [libc::mmsghdr; TX_BATCH] = unsafe { mem::zeroed() };
    for (i, (dest, bytes)) in datagrams.iter().take(n).enumerate() {
        let len = encode_addr(dest, &mut addrs[i]);
        iovecs[i].iov_base = bytes.as_ptr() as *mut libc::c_void;
        iovecs[i].iov_len = bytes.len();
        hdrs[i].msg_hdr.msg_name = (&mut addrs[i] as *mut libc::sockaddr_storage).cast();
        hdrs[i].msg_hdr.msg_namelen = len;
        hdrs[i].msg_hdr.msg_iov = &mut iovecs[i];
        hdrs[i].msg_hdr.msg_iovlen = 1;
    }
    // SAFETY: the headers point at live addresses and iovecs, the iovecs at the borrowed datagrams, which
    // the kernel only reads.
    let rc = unsafe { libc::sendmmsg(socket.as_raw_fd(), hdrs.as_mut_ptr(), n as _, 0) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(rc as usize)
}

fn encode_addr(addr: &SocketAddr, storage: &mut libc::sockaddr_storage) -> libc::socklen_t {
    match addr {
        SocketAddr::V4(a) => {
            // SAFETY: sockaddr_storage is large and aligned enough for any sockaddr type.
            let sin = unsafe { &mut *(storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr = libc::in_addr { s_addr: u32::from(*a.ip()).to_be() };
            mem::size_of::<libc::sockaddr_in>() as libc::socklen_t
        }
        SocketAddr::V6(a) => {
            // SAFETY: as above.
            let sin6 = unsafe { &mut *(storage as *mut libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_flowinfo = a.flowinfo();
            sin6.sin6_addr = libc::in6_addr { s6_addr: a.ip().octets() };
            sin6.sin6_scope_id = a.scope_id();
            mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t
        }
    }
}

fn decode_addr(storage: &libc::sockaddr_storage, len: libc::socklen_t) -> Option<SocketAddr> {
    let len = len as usize;
    match storage.ss_family as libc::c_int {
        libc::AF_INET if len >= mem::size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family and length say the storage holds a sockaddr_in.
            let sin = unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in>() };
            let ip = Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr));
            Some(SocketAddr::V4(SocketAddrV4::new(ip, u16::from_be(sin.sin_port))))
        }
        libc::AF_INET6 if len >= mem::size_of::<libc::sockaddr_in6>() => {
            // SAFETY: the family and length say the storage holds a sockaddr_in6.
            let sin6 = unsafe { &*(storage as *const libc::sockaddr_storage).cast::<libc::sockaddr_in6>() };
            let ip = Ipv6Addr::from(sin6.sin6_addr.s6_addr);
            let port = u16::from_be(sin6.sin6_port);
            Some(SocketAddr::V6(SocketAddrV6::new(ip, port, sin6.sin6_flowinfo, sin6.sin6_scope_id)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip() {
        for addr in ["127.0.0.1:37320", "239.192.137.1:1", "[::1]:65535"] {
            let addr: SocketAddr = addr.parse().unwrap();
            // SAFETY: plain old data.
            let mut storage: libc::sockaddr_storage = unsafe { mem::zeroed() };
            let len = encode_addr(&addr, &mut storage);
            assert_eq!(decode_addr(&storage, len), Some(addr));
            assert_eq!(decode_addr(&storage, 2), None);
        }
    }

    #[test]
    fn batches_over_loopback() {
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = rx.local_addr().unwrap();
        let datagrams: Vec<_> = (0..3u8).map(|i| (to, vec![i; 10 + i as usize])).collect();
        assert_eq!(send_batch(&tx, &datagrams).unwrap(), 3);
        let mut batch = RecvBatch::new();
        let mut got = vec![];
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while got.len() < 3 && std::time::Instant::now() < deadline {
            match batch.recv(&rx) {
                Ok(n) => (0..n).for_each(|i| got.push(batch.get_mut(i).1.to_vec())),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(got, datagrams.iter().map(|d| d.1.clone()).collect::<Vec<_>>());
        let (meta, _) = batch.get_mut(0);
        assert_eq!(meta.from, Some(tx.local_addr().unwrap()));
        assert!(!meta.truncated);
        assert_eq!(batch.recv(&rx).unwrap_err().kind(), io::ErrorKind::WouldBlock);
    }
}
