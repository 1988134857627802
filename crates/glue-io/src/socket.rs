//! Opens and configures the two UDP sockets of an endpoint with precise errors. Nothing is left open on
//! failure: every socket is owned and closed when dropped.

use std::net::{Ipv4Addr, SocketAddrV4};

use socket2::{Domain, Protocol, Socket, Type};

use crate::{Error, IoConfig};

/// The sockets of one endpoint, nonblocking and configured.
#[derive(Debug)]
pub(crate) struct Sockets {
    /// Bound to the listen address; every datagram is sent from it.
    pub(crate) unicast: std::net::UdpSocket,
    /// Bound to the discovery address (and joined to the group when it is multicast and multicast is on).
    pub(crate) discovery: std::net::UdpSocket,
    /// The unicast socket's actual address (the real port when 0 was asked for).
    pub(crate) local: SocketAddrV4,
}

/// Opens both sockets for `config` (which must be valid). The discovery socket is bound first: a unicast socket
/// bound to the wildcard address with port 0 then never gets the discovery port from the kernel (it would, about
/// once in 28 000 opens, and the discovery bind would fail with `EADDRINUSE`).
pub(crate) fn open(config: &IoConfig) -> Result<Sockets, Error> {
    let discovery = open_discovery(config)?;
    let (unicast, local) = open_unicast(config)?;
    Ok(Sockets { unicast: unicast.into(), discovery: discovery.into(), local })
}

fn new_udp(what: &str) -> Result<Socket, Error> {
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))
        .map_err(|e| Error::socket(e, format!("create {what} socket")))?;
    socket.set_nonblocking(true).map_err(|e| Error::socket(e, format!("set O_NONBLOCK on {what} socket")))?;
    Ok(socket)
}

fn open_unicast(config: &IoConfig) -> Result<(Socket, SocketAddrV4), Error> {
    let listen = config.listen;
    let iface = config.interface;
    let socket = new_udp("unicast")?;
    set_buffer_sizes(&socket, config.socket_buffer_size);
    socket
        .bind(&listen.into())
        .map_err(|e| Error::classify(e, format!("bind unicast {listen}"), listen, *listen.ip()))?;
    let ctx = |what: &str| format!("set {what} on unicast {listen}");
    socket
        .set_multicast_if_v4(&iface)
        .map_err(|e| Error::classify(e, ctx(&format!("IP_MULTICAST_IF {iface}")), listen, iface))?;
    socket.set_multicast_loop_v4(true).map_err(|e| Error::socket(e, ctx("IP_MULTICAST_LOOP")))?;
    socket
        .set_multicast_ttl_v4(config.multicast_ttl)
        .map_err(|e| Error::socket(e, ctx("IP_MULTICAST_TTL")))?;
    #[cfg(target_os = "linux")]
    socket.set_multicast_all_v4(false).map_err(|e| Error::socket(e, ctx("IP_MULTICAST_ALL")))?;
    let local = socket
        .local_addr()
        .map_err(|e| Error::socket(e, format!("get the address of unicast {listen}")))?
        .as_socket_ipv4()
        .unwrap_or(listen);
    Ok((socket, local))
}

fn open_discovery(config: &IoConfig) -> Result<Socket, Error> {
    let addr = config.discovery_listen;
    let group = *addr.ip();
    let iface = config.interface;
    let socket = new_udp("discovery")?;
    let ctx = |what: &str| format!("set {what} on discovery {addr}");
    socket.set_reuse_address(true).map_err(|e| Error::socket(e, ctx("SO_REUSEADDR")))?;
    #[cfg(unix)]
    socket.set_reuse_port(true).map_err(|e| Error::socket(e, ctx("SO_REUSEPORT")))?;
    set_buffer_sizes(&socket, config.socket_buffer_size);
    socket
        .bind(&bind_address(addr).into())
        .map_err(|e| Error::classify(e, format!("bind discovery {addr}"), addr, group))?;
    if group.is_multicast() && config.multicast {
        #[cfg(target_os = "linux")]
        socket.set_multicast_all_v4(false).map_err(|e| Error::socket(e, ctx("IP_MULTICAST_ALL")))?;
        socket
            .join_multicast_v4(&group, &iface)
            .map_err(|e| Error::classify(e, format!("join {group} on {iface}"), addr, iface))?;
        // Windows applies multicast loopback on the receiving side.
        socket.set_multicast_loop_v4(true).map_err(|e| Error::socket(e, ctx("IP_MULTICAST_LOOP")))?;
    }
    Ok(socket)
}

/// Binding to the group address keeps other groups' traffic on the same port out; Windows cannot bind a
/// multicast address, so it binds the wildcard address there.
fn bind_address(addr: SocketAddrV4) -> SocketAddrV4 {
    if cfg!(windows) && addr.ip().is_multicast() {
        SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, addr.port())
    } else {
        addr
    }
}

/// Sets `SO_RCVBUF`/`SO_SNDBUF` to `size` (0: leave them). Tries the `*FORCE` variants first (they pass
/// `net.core.rmem_max` but need `CAP_NET_ADMIN`), then the plain ones, halving on refusal (macOS refuses
/// sizes above `kern.ipc.maxsockbuf`). Never fails: the OS default is a working fallback.
fn set_buffer_sizes(socket: &Socket, size: usize) {
    if size == 0 {
        return;
    }
    if !force_buffer_sizes(socket, size) {
        set_halving(size, |s| socket.set_recv_buffer_size(s));
        set_halving(size, |s| socket.set_send_buffer_size(s));
    }
}

fn set_halving(mut size: usize, mut set: impl FnMut(usize) -> std::io::Result<()>) {
    while size >= 64 << 10 && set(size).is_err() {
        size /= 2;
    }
}

#[cfg(target_os = "linux")]
fn force_buffer_sizes(socket: &Socket, size: usize) -> bool {
    use std::os::fd::AsRawFd;
    let value = size.min(i32::MAX as usize) as libc::c_int;
    let fd = socket.as_raw_fd();
    [libc::SO_RCVBUFFORCE, libc::SO_SNDBUFFORCE].iter().all(|&option| {
        // SAFETY: fd is a valid socket for the duration of the call; the option value is a c_int whose
        // size is passed along.
        let rc = unsafe {
            libc::setsockopt(
                fd,
                libc::SOL_SOCKET,
                option,
                (&value as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        };
        rc == 0
    })
}

#[cfg(not(target_os = "linux"))]
fn force_buffer_sizes(_: &Socket, _: usize) -> bool {
    false
}
