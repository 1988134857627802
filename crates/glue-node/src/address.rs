//! Socket addresses as the JavaScript options give them: "ip:port", "[ipv6]:port", "[ipv6%scope]:port", where the
//! scope ID is an interface index or name (resolved with `if_nametoindex`).

use std::net::{Ipv6Addr, SocketAddr, SocketAddrV6};

/// What a malformed address is reported with.
pub const EXPECTED: &str = "\"ip:port\" or \"[ipv6]:port\", an IPv6 scope as %index or %interface";

/// Parses `text`; the error says what is wrong (for an InvalidOptionError naming the field).
pub fn parse_socket_addr(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let scoped = text.strip_prefix('[').and_then(|rest| rest.split_once("]:"));
    let Some((inner, port)) = scoped else { return Err(EXPECTED.into()) };
    let Some((ip, scope)) = inner.split_once('%') else { return Err(EXPECTED.into()) };
    let ip: Ipv6Addr = ip.parse().map_err(|_| EXPECTED.to_string())?;
    let port: u16 = port.parse().map_err(|_| EXPECTED.to_string())?;
    let scope_id = scope_index(scope)?;
    Ok(SocketAddr::V6(SocketAddrV6::new(ip, port, 0, scope_id)))
}

/// An interface index from a scope ID: a number, or the name of an interface of this host.
pub fn scope_index(scope: &str) -> Result<u32, String> {
    if let Ok(index) = scope.parse::<u32>() {
        return Ok(index);
    }
    glue_io::interface_index(scope)
        .ok_or_else(|| format!("the scope ID names no network interface: {scope:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_parses() {
        assert_eq!(parse_socket_addr("10.0.0.5:37321"), Ok("10.0.0.5:37321".parse().unwrap()));
        assert_eq!(parse_socket_addr("[::1]:0"), Ok("[::1]:0".parse().unwrap()));
        assert_eq!(parse_socket_addr("[fe80::1%3]:7"), Ok("[fe80::1%3]:7".parse().unwrap()));
        #[cfg(target_os = "linux")]
        {
            let lo = glue_io::interface_index("lo").unwrap();
            let SocketAddr::V6(a) = parse_socket_addr("[fe80::1%lo]:37321").unwrap() else { panic!() };
            assert_eq!((a.scope_id(), a.port()), (lo, 37321));
        }
        for bad in
            ["", "::1:5", "[::1]", "[fe80::1%]:1", "[fe80::1%no-such-if9]:1", "[zz::1%lo]:1", "1.2.3.4"]
        {
            assert!(parse_socket_addr(bad).is_err(), "{bad}");
        }
        assert!(parse_socket_addr("[fe80::1%no-such-if9]:1").unwrap_err().contains("no-such-if9"));
    }
}
