//! Opens and configures the two UDP sockets of an endpoint with precise errors. Nothing is left open on
//! failure: every socket is owned and closed when dropped.

use std::net::{IpAddr, Ipv6Addr, SocketAddr, SocketAddrV6};

use socket2::{Domain, Protocol, Socket, Type};

use crate::interface::{self, Interface};
use crate::{Error, IoConfig};

/// The sockets of one endpoint, nonblocking and configured.
#[derive(Debug)]
pub(crate) struct Sockets {
    /// Bound to the listen address; every datagram is sent from it.
    pub(crate) unicast: std::net::UdpSocket,
    /// Bound to the discovery address (and joined to the group when it is multicast and multicast is on; to both
    /// groups when dual-stack).
    pub(crate) discovery: std::net::UdpSocket,
    /// The unicast socket's actual address (the real port when 0 was asked for).
    pub(crate) local: SocketAddr,
}

/// Opens both sockets for `config` (which must be valid). The discovery socket is bound first: a unicast socket
/// bound to the wildcard address with port 0 then never gets the discovery port from the kernel (it would, about
/// once in 28 000 opens, and the discovery bind would fail with `EADDRINUSE`).
pub(crate) fn open(config: &IoConfig) -> Result<Sockets, Error> {
    let iface = interface::resolve(config.interface, config.interface_index);
    let discovery = open_discovery(config, iface)?;
    let (unicast, local) = open_unicast(config, iface)?;
    Ok(Sockets { unicast: unicast.into(), discovery: discovery.into(), local })
}

/// A nonblocking UDP socket of `addr`'s family; an IPv6 one is IPv6-only unless `dual_stack`.
fn new_udp(what: &str, addr: SocketAddr, dual_stack: bool) -> Result<Socket, Error> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))
        .map_err(|e| Error::socket(e, format!("create {what} socket")))?;
    socket.set_nonblocking(true).map_err(|e| Error::socket(e, format!("set O_NONBLOCK on {what} socket")))?;
    if addr.is_ipv6() {
        socket
            .set_only_v6(!dual_stack)
            .map_err(|e| Error::socket(e, format!("set IPV6_V6ONLY={} on {what} socket", !dual_stack)))?;
    }
    Ok(socket)
}

/// The IPv6 multicast group this endpoint sends to, if any: the discovery target, or the dual-stack group.
fn ipv6_group(config: &IoConfig) -> Option<Ipv6Addr> {
    match (config.dual_stack, config.discovery_target) {
        (Some(group6), _) => Some(*group6.ip()),
        (None, SocketAddr::V6(target)) if target.ip().is_multicast() => Some(*target.ip()),
        _ => None,
    }
}

/// Whether IPv4 multicast is sent or joined (the IPv4 discovery addresses are multicast).
fn uses_ipv4_multicast(config: &IoConfig) -> bool {
    [config.discovery_target, config.discovery_listen]
        .iter()
        .any(|a| matches!(a, SocketAddr::V4(v4) if v4.ip().is_multicast()))
}

/// InterfaceNotFound for a family the configured interface cannot serve.
fn no_interface(config: &IoConfig, what: &str) -> Error {
    let source = std::io::Error::from(std::io::ErrorKind::AddrNotAvailable);
    let context = format!("{what}: give interface as an address of the interface or its name");
    Error::InterfaceNotFound { address: config.interface, context, source }
}

fn open_unicast(config: &IoConfig, iface: Interface) -> Result<(Socket, SocketAddr), Error> {
    let listen = config.listen;
    let dual = config.dual_stack.is_some();
    let socket = new_udp("unicast", listen, dual)?;
    set_buffer_sizes(&socket, config.socket_buffer_size);
    socket
        .bind(&listen.into())
        .map_err(|e| Error::classify(e, format!("bind unicast {listen}"), listen, listen.ip()))?;
    let ctx = |what: &str| format!("set {what} on unicast {listen}");
    if listen.is_ipv4() || dual {
        // On a dual-stack IPv6 socket these IPv4 options govern the IPv4(-mapped) traffic.
        match iface.v4 {
            Some(v4) => {
                socket
                    .set_multicast_if_v4(&v4)
                    .map_err(|e| Error::classify(e, ctx(&format!("IP_MULTICAST_IF {v4}")), listen, v4))?;
                socket.set_multicast_loop_v4(true).map_err(|e| Error::socket(e, ctx("IP_MULTICAST_LOOP")))?;
                socket
                    .set_multicast_ttl_v4(config.multicast_ttl)
                    .map_err(|e| Error::socket(e, ctx("IP_MULTICAST_TTL")))?;
            }
            None if uses_ipv4_multicast(config) => {
                return Err(no_interface(
                    config,
                    "the multicast interface has no IPv4 address for the IPv4 group",
                ))
            }
            None => {}
        }
        #[cfg(target_os = "linux")]
        socket.set_multicast_all_v4(false).map_err(|e| Error::socket(e, ctx("IP_MULTICAST_ALL")))?;
    }
    if listen.is_ipv6() {
        if iface.index != 0 {
            socket.set_multicast_if_v6(iface.index).map_err(|e| {
                Error::classify(
                    e,
                    ctx(&format!("IPV6_MULTICAST_IF {}", iface.index)),
                    listen,
                    config.interface,
                )
            })?;
        } else if let Some(group) = ipv6_group(config) {
            return Err(no_interface(config, &format!("no interface index for the IPv6 group {group}")));
        }
        socket.set_multicast_loop_v6(true).map_err(|e| Error::socket(e, ctx("IPV6_MULTICAST_LOOP")))?;
        socket
            .set_multicast_hops_v6(config.multicast_ttl)
            .map_err(|e| Error::socket(e, ctx("IPV6_MULTICAST_HOPS")))?;
        #[cfg(target_os = "linux")]
        socket.set_multicast_all_v6(false).map_err(|e| Error::socket(e, ctx("IPV6_MULTICAST_ALL")))?;
    }
    let local = socket
        .local_addr()
        .map_err(|e| Error::socket(e, format!("get the address of unicast {listen}")))?
        .as_socket()
        .unwrap_or(listen);
    Ok((socket, local))
}

fn open_discovery(config: &IoConfig, iface: Interface) -> Result<Socket, Error> {
    let addr = config.discovery_listen;
    // The IPv6 group to join, if any; it needs the interface's index (before binding: a link-scope group is bound
    // with it as its scope).
    let group6 = match (config.dual_stack, addr) {
        (Some(group6), _) => Some(*group6.ip()),
        (None, SocketAddr::V6(a)) if a.ip().is_multicast() => Some(*a.ip()),
        _ => None,
    }
    .filter(|_| config.multicast);
    if let Some(group) = group6.filter(|_| iface.index == 0) {
        return Err(no_interface(config, &format!("no interface index to join {group}")));
    }
    // Dual-stack: one IPv6 socket on the wildcard address takes both groups (IPv4 ones arrive IPv4-mapped).
    let bind = match config.dual_stack {
        Some(_) => SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), addr.port()),
        None => bind_address(addr, iface.index),
    };
    let socket = new_udp("discovery", bind, config.dual_stack.is_some())?;
    let ctx = |what: &str| format!("set {what} on discovery {addr}");
    socket.set_reuse_address(true).map_err(|e| Error::socket(e, ctx("SO_REUSEADDR")))?;
    #[cfg(unix)]
    socket.set_reuse_port(true).map_err(|e| Error::socket(e, ctx("SO_REUSEPORT")))?;
    set_buffer_sizes(&socket, config.socket_buffer_size);
    socket
        .bind(&bind.into())
        .map_err(|e| Error::classify(e, format!("bind discovery {bind}"), addr, bind.ip()))?;
    if let IpAddr::V4(group) = addr.ip() {
        if group.is_multicast() && config.multicast {
            let v4 = iface.v4.ok_or_else(|| no_interface(config, &format!("join {group}")))?;
            #[cfg(target_os = "linux")]
            socket.set_multicast_all_v4(false).map_err(|e| Error::socket(e, ctx("IP_MULTICAST_ALL")))?;
            socket
                .join_multicast_v4(&group, &v4)
                .map_err(|e| Error::classify(e, format!("join {group} on {v4}"), addr, v4))?;
            // Windows applies multicast loopback on the receiving side.
            socket.set_multicast_loop_v4(true).map_err(|e| Error::socket(e, ctx("IP_MULTICAST_LOOP")))?;
        }
    }
    if let Some(group) = group6 {
        #[cfg(target_os = "linux")]
        socket.set_multicast_all_v6(false).map_err(|e| Error::socket(e, ctx("IPV6_MULTICAST_ALL")))?;
        socket.join_multicast_v6(&group, iface.index).map_err(|e| {
            Error::classify(e, format!("join {group} on interface {}", iface.index), addr, config.interface)
        })?;
        socket.set_multicast_loop_v6(true).map_err(|e| Error::socket(e, ctx("IPV6_MULTICAST_LOOP")))?;
    }
    Ok(socket)
}

/// Binding to the group address keeps other groups' traffic on the same port out (an IPv6 group of link or
/// interface scope is bound with the interface as its scope, as Linux requires); Windows cannot bind a
/// multicast address, so it binds the wildcard address there.
fn bind_address(addr: SocketAddr, index: u32) -> SocketAddr {
    match addr {
        SocketAddr::V4(v4) if cfg!(windows) && v4.ip().is_multicast() => {
            SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), v4.port())
        }
        SocketAddr::V6(v6) if cfg!(windows) && v6.ip().is_multicast() => {
            SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), v6.port())
        }
        SocketAddr::V6(v6)
            if v6.ip().is_multicast() && v6.scope_id() == 0 && multicast_scope(v6.ip()) <= 2 =>
        {
            SocketAddr::V6(SocketAddrV6::new(*v6.ip(), v6.port(), 0, index))
        }
        other => other,
    }
}

/// The scope nibble of an IPv6 multicast address (1 interface-local, 2 link-local, 5 site-local, 8 org, e global).
fn multicast_scope(group: &Ipv6Addr) -> u8 {
    group.octets()[1] & 0x0f
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
