//! [`Error`]: everything that can go wrong when opening or using an endpoint.

use std::io;
use std::net::{IpAddr, SocketAddr};

use glue_proto::ConfigError;

/// Why opening an endpoint or queueing a message failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A configuration field has a value the endpoint cannot work with (nothing was opened).
    #[error(transparent)]
    InvalidConfig(#[from] ConfigError),
    /// Binding failed because the address is taken (`EADDRINUSE`).
    #[error("address {address} is already in use ({context})")]
    AddressInUse {
        /// What was being done, e.g. "bind unicast 127.0.0.1:37321".
        context: String,
        /// The address that is taken.
        address: SocketAddr,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// An address that must belong to a local interface does not (`EADDRNOTAVAIL`/`ENODEV` on bind, join
    /// or `IP_MULTICAST_IF`), or the interface an IPv6 group or scope ID needs is not there.
    #[error("no local interface has the address {address} ({context})")]
    InterfaceNotFound {
        /// The address that is not local (for IPv6 multicast: the configured interface address).
        address: IpAddr,
        /// What was being done, e.g. "join 239.192.137.1 on 192.0.2.1".
        context: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Any other socket or system failure; `context` names what failed.
    #[error("{context}: {source}")]
    Socket {
        /// What was being done, e.g. "set SO_REUSEPORT on discovery 239.192.137.1:37320".
        context: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The payload does not fit into one datagram.
    #[error("message of {size} bytes exceeds the largest payload of {max} bytes")]
    MessageTooLarge {
        /// The payload's size, bytes.
        size: usize,
        /// The largest payload under the configured `max_datagram_size`, bytes.
        max: usize,
    },
    /// A reliable send slab is malformed or holds a message that is too large (nothing of it was queued).
    #[error("invalid reliable send slab: {0}")]
    InvalidSlab(#[from] crate::slab::SlabError),
    /// The endpoint is closed (or closing).
    #[error("the endpoint is closed")]
    Closed,
}

impl Error {
    /// Classifies an OS error that happened while doing `context` on an address.
    ///
    /// `local` is the local address involved (the bind address, or the interface of a join or
    /// `IP_MULTICAST_IF`): `EADDRNOTAVAIL`/`ENODEV` mean it is not an address of this host.
    pub(crate) fn classify(
        source: io::Error,
        context: String,
        bound: SocketAddr,
        local: impl Into<IpAddr>,
    ) -> Error {
        let local = local.into();
        if source.kind() == io::ErrorKind::AddrInUse {
            return Error::AddressInUse { context, address: bound, source };
        }
        if source.kind() == io::ErrorKind::AddrNotAvailable || is_no_device(&source) {
            return Error::InterfaceNotFound { address: local, context, source };
        }
        Error::Socket { context, source }
    }

    /// A failure with no address to blame.
    pub(crate) fn socket(source: io::Error, context: impl Into<String>) -> Error {
        Error::Socket { context: context.into(), source }
    }
}

#[cfg(unix)]
fn is_no_device(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ENODEV)
}

#[cfg(not(unix))]
fn is_no_device(_: &io::Error) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    use std::net::{Ipv4Addr, SocketAddrV4};

    const BOUND: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 1));

    #[test]
    fn classifies_os_errors() {
        let e = Error::classify(io::ErrorKind::AddrInUse.into(), "bind".into(), BOUND, Ipv4Addr::LOCALHOST);
        assert!(matches!(e, Error::AddressInUse { address: BOUND, .. }), "{e:?}");
        let e = Error::classify(
            io::ErrorKind::AddrNotAvailable.into(),
            "join".into(),
            BOUND,
            Ipv4Addr::new(192, 0, 2, 1),
        );
        assert!(matches!(e, Error::InterfaceNotFound { .. }), "{e:?}");
        assert!(e.to_string().contains("192.0.2.1"), "{e}");
        let e = Error::classify(
            io::ErrorKind::PermissionDenied.into(),
            "bind x".into(),
            BOUND,
            Ipv4Addr::LOCALHOST,
        );
        assert!(e.to_string().starts_with("bind x: "), "{e}");
    }
}
