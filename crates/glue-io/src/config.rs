//! [`IoConfig`]: the sockets' addresses and options plus the protocol core's settings.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::Duration;

use glue_proto::wire::{Data, HEADER_LEN, SUBMESSAGE_HEADER_LEN};
use glue_proto::{ConfigError, CoreConfig, EndpointId, NameClashRule};

use crate::random::random_u64;

/// Largest socket buffer size accepted, bytes (1 GiB).
pub(crate) const MAX_SOCKET_BUFFER: usize = 1 << 30;

/// Which thread reads the sockets and hands batches to the application.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ReceiveMode {
    /// The I/O thread reads and hands every batch to a [`crate::Sink`] ([`crate::Endpoint::open`]).
    #[default]
    IoThread,
    /// The application's thread reads when the sockets are readable, with
    /// [`crate::Endpoint::receive_here`]; the I/O thread keeps timers, commands and close, and queues its own
    /// batches for that thread ([`crate::Endpoint::open_caller`]).
    Caller,
}

/// Everything needed to open an endpoint; see each field for units and defaults.
///
/// Build with [`IoConfig::new`] and change fields as needed; [`crate::Endpoint::open`] validates it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IoConfig {
    /// Unicast bind address, IPv4 or IPv6 (a link-local IPv6 address needs its scope ID); port 0 picks a free
    /// (ephemeral) port. With [`IoConfig::dual_stack`] it must be IPv6 (`[::]:port` to be reachable over both
    /// families). Default `127.0.0.1:0`.
    pub listen: SocketAddr,
    /// An address of this host on the interface used for multicast: IPv4 multicast joins and sends
    /// (`IP_MULTICAST_IF`) with the interface's IPv4 address, IPv6 multicast with its index (found from this
    /// address unless [`IoConfig::interface_index`] is set). Default `127.0.0.1`.
    pub interface: IpAddr,
    /// Index of the multicast interface (e.g. from [`crate::interface_index`]`("eth0")`); 0 looks it up from
    /// [`IoConfig::interface`]. When set and `interface` is not IPv4, the interface's first IPv4 address is
    /// used for IPv4 multicast. Default 0.
    pub interface_index: u32,
    /// Group and port to bind and join for announcements and broadcasts, IPv4 or IPv6 (of the listen address's
    /// family; IPv4 with [`IoConfig::dual_stack`]). When it is a unicast address it is only bound (with address
    /// reuse). Default: the `group` given to [`IoConfig::new`].
    pub discovery_listen: SocketAddr,
    /// Where announcements, goodbyes and broadcasts are sent (same family rules as `discovery_listen`).
    /// Default: the `group` given to [`IoConfig::new`].
    pub discovery_target: SocketAddr,
    /// Dual-stack: the IPv6 multicast group (on the port of `discovery_listen`) that is joined beside the IPv4
    /// group, and to which every announcement and broadcast sent to `discovery_target` is sent as well. Both
    /// sockets are then IPv6 with `IPV6_V6ONLY` off, so that IPv4-only and IPv6-only endpoints see this one and
    /// it sees them. Default None (one family).
    pub dual_stack: Option<SocketAddrV6>,
    /// Multicast TTL (IPv4) and hop limit (IPv6), hops, 0..=255. Default 1 (the local network).
    pub multicast_ttl: u32,
    /// `SO_RCVBUF` and `SO_SNDBUF` of both sockets, bytes, at most 1 GiB; 0 keeps the OS default.
    /// Default 16 MiB (large messages at full speed need it). Set with `SO_RCVBUFFORCE`/`SO_SNDBUFFORCE` when permitted (root), otherwise the
    /// kernel may cap it (`net.core.rmem_max`).
    pub socket_buffer_size: usize,
    /// Network ID; datagrams of other networks are dropped and counted. Default 0.
    pub network_id: u32,
    /// This endpoint's ID. Default: random.
    pub id: EndpointId,
    /// This endpoint's name, 1..=255 UTF-8 bytes.
    pub name: String,
    /// How often to announce. Default 1 s; 1 ms..=2^32-1 ms.
    pub announce_period: Duration,
    /// A peer expires after its announce period × this multiplier of silence. Default 3; ≥ 1.
    pub expiry_multiplier: f64,
    /// What to do on a name clash. Default [`NameClashRule::Report`].
    pub name_clash: NameClashRule,
    /// Largest datagram sent, bytes of UDP payload, 512..=65507. Default 1472.
    pub max_datagram_size: usize,
    /// At most this many peers are tracked. Default 1024; ≥ 1.
    pub max_peers: usize,
    /// Changes on every start so that peers can tell a restart under the same ID. Default: random.
    pub incarnation: u32,
    /// Seed of the announcement jitter. Default: random.
    pub seed: u64,
    /// Windows, queue and memory bounds and timeouts of the reliable layer (see [`glue_proto::ReliableLimits`]).
    pub reliable: glue_proto::ReliableLimits,
    /// After any activity the I/O thread keeps polling without sleeping for this long, trading CPU for
    /// latency (like `SO_BUSY_POLL`). Default 0 (off).
    pub busy_poll: Duration,
    /// Sealing with network keys (see [`glue_proto::seal`]); its boot ID is drawn afresh at every open. Default None:
    /// plain datagrams.
    pub seal: Option<glue_proto::seal::SealConfig>,
    /// Who reads the sockets. Default [`ReceiveMode::IoThread`]; [`ReceiveMode::Caller`] endpoints are opened
    /// with [`crate::Endpoint::open_caller`] (which sets it).
    pub receive: ReceiveMode,
    /// Unicast peer addresses: announcements also go to each by unicast and the endpoints there answer with the
    /// peers they know (see [`glue_proto::CoreConfig::peers`]). Replace with [`crate::Endpoint::set_peers`].
    /// Default empty.
    pub peers: Vec<SocketAddr>,
    /// Whether the multicast group is joined and used. Default true; false: no group joined or sent to, discovery
    /// by unicast peers only, broadcasts as unicast copies.
    pub multicast: bool,
}

impl IoConfig {
    /// The IPv6 group a dual-stack endpoint uses by default (with the IPv4 group's port): a transient (`ff1x`),
    /// link-local (`ffx2`) group, not an IANA-assigned one.
    pub const DEFAULT_GROUP_V6: Ipv6Addr = Ipv6Addr::new(0xff12, 0, 0, 0, 0, 0, 0x137, 1);

    /// A configuration with the defaults above, named `name`, using `group` (e.g. 239.192.137.1:37320) for
    /// discovery and broadcasts, with a random ID, incarnation and seed.
    pub fn new(name: impl Into<String>, group: impl Into<SocketAddr>) -> Self {
        let group = group.into();
        IoConfig {
            listen: SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0),
            interface: Ipv4Addr::LOCALHOST.into(),
            interface_index: 0,
            discovery_listen: group,
            discovery_target: group,
            dual_stack: None,
            multicast_ttl: 1,
            socket_buffer_size: 16 << 20,
            network_id: 0,
            id: EndpointId(random_u64()),
            name: name.into(),
            announce_period: Duration::from_secs(1),
            expiry_multiplier: 3.0,
            name_clash: NameClashRule::Report,
            max_datagram_size: 1472,
            max_peers: 1024,
            incarnation: random_u64() as u32,
            seed: random_u64(),
            reliable: glue_proto::ReliableLimits::default(),
            busy_poll: Duration::ZERO,
            seal: None,
            receive: ReceiveMode::IoThread,
            peers: Vec::new(),
            multicast: true,
        }
    }

    /// The protocol core's configuration for the given bound unicast port.
    pub(crate) fn core_config(&self, unicast_port: u16) -> CoreConfig {
        let target = self.discovery_target;
        let mut core = CoreConfig::new(self.id, self.name.clone(), unicast_port, target);
        core.network_id = self.network_id;
        core.broadcast_target = target;
        core.announce_period = self.announce_period;
        core.expiry_multiplier = self.expiry_multiplier;
        core.name_clash = self.name_clash;
        core.max_datagram_size = self.max_datagram_size;
        core.max_peers = self.max_peers;
        core.incarnation = self.incarnation;
        core.seed = self.seed;
        core.reliable = self.reliable;
        core.peers = self.peers.clone();
        core.multicast = self.multicast;
        // A fresh boot ID for every core, whatever the configuration says: reusing a configuration must never reuse
        // (key, sender, boot), whose counter starts at 1 again (nonce reuse).
        core.seal = self.seal.clone().map(|mut seal| {
            seal.boot_id = glue_proto::seal::random_boot_id();
            seal
        });
        core
    }

    /// Checks every field before any socket is opened; the error names the field and the value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.multicast_ttl > 255 {
            return Err(ConfigError {
                field: "multicast_ttl",
                value: self.multicast_ttl.to_string(),
                reason: "must be 0 to 255",
            });
        }
        if self.socket_buffer_size > MAX_SOCKET_BUFFER {
            return Err(ConfigError {
                field: "socket_buffer_size",
                value: self.socket_buffer_size.to_string(),
                reason: "must be at most 1 GiB",
            });
        }
        let not_unicast = match self.interface {
            IpAddr::V4(v4) => v4.is_multicast() || v4.is_broadcast(),
            IpAddr::V6(v6) => v6.is_multicast(),
        };
        if not_unicast {
            return Err(ConfigError {
                field: "interface",
                value: self.interface.to_string(),
                reason: "must be a unicast address of this host",
            });
        }
        self.validate_families()?;
        if self.discovery_target.port() == 0 {
            return Err(ConfigError {
                field: "discovery_target",
                value: self.discovery_target.to_string(),
                reason: "port must not be 0",
            });
        }
        if self.discovery_listen.port() == 0 {
            return Err(ConfigError {
                field: "discovery_listen",
                value: self.discovery_listen.to_string(),
                reason: "port must not be 0",
            });
        }
        // The core checks the rest; any port but 0 stands in for the one not bound yet.
        self.core_config(1).validate()
    }

    /// The socket family rules: one family throughout, or dual-stack (IPv6 sockets, IPv4 discovery addresses
    /// and an IPv6 group on the same port).
    fn validate_families(&self) -> Result<(), ConfigError> {
        let bad = |field, value: String, reason| Err(ConfigError { field, value, reason });
        let Some(group6) = self.dual_stack else {
            let v6 = self.listen.is_ipv6();
            for (field, addr) in
                [("discovery_listen", self.discovery_listen), ("discovery_target", self.discovery_target)]
            {
                if addr.is_ipv6() != v6 {
                    let reason = if v6 {
                        "must be IPv6 like the listen address (or turn dual-stack on)"
                    } else {
                        "must be IPv4 like the listen address (or turn dual-stack on)"
                    };
                    return bad(field, addr.to_string(), reason);
                }
            }
            return Ok(());
        };
        if !self.listen.is_ipv6() {
            return bad("listen", self.listen.to_string(), "must be IPv6 with dual-stack (e.g. [::]:0)");
        }
        for (field, addr) in
            [("discovery_listen", self.discovery_listen), ("discovery_target", self.discovery_target)]
        {
            if !addr.is_ipv4() {
                return bad(
                    field,
                    addr.to_string(),
                    "must be IPv4 with dual-stack (the IPv6 group is dual_stack)",
                );
            }
        }
        if !group6.ip().is_multicast() || group6.port() != self.discovery_listen.port() {
            return bad(
                "dual_stack",
                group6.to_string(),
                "must be an IPv6 multicast group on the port of discovery_listen",
            );
        }
        Ok(())
    }

    /// Largest payload of one message under this configuration, bytes: the datagram less the 16-byte
    /// header, the 4-byte submessage header and the 4-byte data header (and 36 bytes more when sealed).
    pub fn max_payload(&self) -> usize {
        let sealing = if self.seal.is_some() { glue_proto::seal::SEAL_OVERHEAD } else { 0 };
        let body = self.max_datagram_size.saturating_sub(HEADER_LEN + SUBMESSAGE_HEADER_LEN + sealing);
        body.min(u16::MAX as usize).saturating_sub(Data::OVERHEAD)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::SocketAddrV4;

    #[test]
    fn families_must_agree() {
        let mut c = config();
        c.listen = "[::1]:0".parse().unwrap();
        let e = c.validate().unwrap_err();
        assert_eq!(
            (e.field, e.reason),
            ("discovery_listen", "must be IPv6 like the listen address (or turn dual-stack on)")
        );
        let group6: SocketAddr = "[ff12::137:1]:37320".parse().unwrap();
        c.discovery_listen = group6;
        c.discovery_target = group6;
        assert_eq!(c.validate(), Ok(()));
        c.listen = "127.0.0.1:0".parse().unwrap();
        assert_eq!(c.validate().unwrap_err().field, "discovery_listen");
    }

    #[test]
    fn dual_stack_needs_ipv6_sockets_and_an_ipv6_group_on_the_same_port() {
        let mut c = config();
        c.dual_stack = Some(SocketAddrV6::new(IoConfig::DEFAULT_GROUP_V6, 37320, 0, 0));
        assert_eq!(c.validate().unwrap_err().field, "listen");
        c.listen = "[::]:0".parse().unwrap();
        assert_eq!(c.validate(), Ok(()));
        c.dual_stack = Some("[ff12::137:1]:1".parse().unwrap());
        assert_eq!(c.validate().unwrap_err().field, "dual_stack");
        c.dual_stack = Some("[fd00::1]:37320".parse().unwrap());
        assert_eq!(c.validate().unwrap_err().field, "dual_stack");
        c.dual_stack = Some("[ff12::137:1]:37320".parse().unwrap());
        c.discovery_target = "[ff12::1]:37320".parse().unwrap();
        assert_eq!(c.validate().unwrap_err().field, "discovery_target");
    }

    fn config() -> IoConfig {
        IoConfig::new("a", SocketAddrV4::new(Ipv4Addr::new(239, 192, 137, 1), 37320))
    }

    #[test]
    fn defaults_are_valid() {
        assert_eq!(config().validate(), Ok(()));
        assert_eq!(config().max_payload(), 1472 - 16 - 4 - 4);
    }

    #[test]
    fn bad_fields_are_named() {
        let mut c = config();
        c.multicast_ttl = 256;
        assert_eq!(c.validate().unwrap_err().field, "multicast_ttl");
        let mut c = config();
        c.name = String::new();
        assert_eq!(c.validate().unwrap_err().field, "name");
        let mut c = config();
        c.discovery_target.set_port(0);
        assert_eq!(c.validate().unwrap_err().field, "discovery_target");
        let mut c = config();
        c.interface = "ff02::1".parse().unwrap();
        assert_eq!(c.validate().unwrap_err().field, "interface");
        let mut c = config();
        c.max_datagram_size = 100;
        assert_eq!(c.validate().unwrap_err().field, "max_datagram_size");
    }
}
