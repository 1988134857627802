//! The multicast interface as both families need it: IPv4 multicast names an interface by an IPv4 address, IPv6
//! multicast by its index. [`resolve`] finds one from the other in the host's interface list (`getifaddrs`).

use std::net::{IpAddr, Ipv4Addr};

/// The multicast interface of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Interface {
    /// Its IPv4 address, for `IP_ADD_MEMBERSHIP`/`IP_MULTICAST_IF`; None when it has none.
    pub(crate) v4: Option<Ipv4Addr>,
    /// Its index, for `IPV6_JOIN_GROUP`/`IPV6_MULTICAST_IF`; 0 when unknown (the kernel's choice).
    pub(crate) index: u32,
}

/// The interface for `address` (an address of this host) and `index` (0: look it up from the address; else the
/// interface's index, whose IPv4 address is looked up when `address` is not IPv4).
pub(crate) fn resolve(address: IpAddr, index: u32) -> Interface {
    let v4 = match address {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(_) => None,
    };
    let index = if index != 0 { index } else { index_of(address).unwrap_or(0) };
    let v4 = v4.or_else(|| ipv4_of(index));
    Interface { v4, index }
}

/// The index of the interface named `name` (`if_nametoindex`), None when there is none.
pub fn index_by_name(name: &str) -> Option<u32> {
    #[cfg(unix)]
    {
        let name = std::ffi::CString::new(name).ok()?;
        // SAFETY: `name` is a NUL-terminated string that lives for the call.
        let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
        (index != 0).then_some(index)
    }
    #[cfg(not(unix))]
    {
        let _ = name;
        None
    }
}

/// The index of the interface that has `address`.
fn index_of(address: IpAddr) -> Option<u32> {
    addresses().into_iter().find(|(_, a)| *a == address).map(|(index, _)| index)
}

/// The first IPv4 address of the interface with `index` (0: none).
fn ipv4_of(index: u32) -> Option<Ipv4Addr> {
    if index == 0 {
        return None;
    }
    addresses().into_iter().find_map(|(i, a)| match a {
        IpAddr::V4(v4) if i == index => Some(v4),
        _ => None,
    })
}

/// Every (interface index, address) of this host; empty when it cannot be listed.
#[cfg(unix)]
fn addresses() -> Vec<(u32, IpAddr)> {
    use std::net::Ipv6Addr;
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list that we free below.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut cursor = list;
    while !cursor.is_null() {
        // SAFETY: `cursor` is a node of the list getifaddrs returned, not freed yet.
        let entry = unsafe { &*cursor };
        cursor = entry.ifa_next;
        if entry.ifa_addr.is_null() || entry.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string of the live list.
        let index = unsafe { libc::if_nametoindex(entry.ifa_name) };
        // SAFETY: ifa_addr points at a sockaddr whose family says what it is.
        let family = unsafe { (*entry.ifa_addr).sa_family } as libc::c_int;
        let address = match family {
            libc::AF_INET => {
                // SAFETY: the family says it is a sockaddr_in.
                let sin = unsafe { &*entry.ifa_addr.cast::<libc::sockaddr_in>() };
                IpAddr::V4(Ipv4Addr::from(u32::from_be(sin.sin_addr.s_addr)))
            }
            libc::AF_INET6 => {
                // SAFETY: the family says it is a sockaddr_in6.
                let sin6 = unsafe { &*entry.ifa_addr.cast::<libc::sockaddr_in6>() };
                IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr))
            }
            _ => continue,
        };
        if index != 0 {
            out.push((index, address));
        }
    }
    // SAFETY: `list` came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(list) };
    out
}

#[cfg(not(unix))]
fn addresses() -> Vec<(u32, IpAddr)> {
    Vec::new()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn loopback_resolves_both_ways() {
        let lo = index_by_name("lo").expect("lo");
        assert_eq!(
            resolve(Ipv4Addr::LOCALHOST.into(), 0),
            Interface { v4: Some(Ipv4Addr::LOCALHOST), index: lo }
        );
        assert_eq!(resolve(std::net::Ipv6Addr::LOCALHOST.into(), 0).index, lo);
        assert_eq!(resolve(std::net::Ipv6Addr::UNSPECIFIED.into(), lo).v4, Some(Ipv4Addr::LOCALHOST));
        assert_eq!(resolve([192, 0, 2, 1].into(), 0).index, 0);
        assert_eq!(index_by_name("no-such-if0"), None);
    }
}
