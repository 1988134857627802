//! [`IoConfig`]: the sockets' addresses and options plus the protocol core's settings.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
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
    /// Unicast bind address; port 0 picks a free (ephemeral) port. Default `127.0.0.1:0`.
    pub listen: SocketAddrV4,
    /// IPv4 address of the interface used for multicast (group join and `IP_MULTICAST_IF`); must be an
    /// address of this host. Default `127.0.0.1`.
    pub interface: Ipv4Addr,
    /// Group and port to bind and join for announcements and broadcasts. When it is a unicast address it is
    /// only bound (with address reuse). Default: the `group` given to [`IoConfig::new`].
    pub discovery_listen: SocketAddrV4,
    /// Where announcements, goodbyes and broadcasts are sent. Default: the `group` given to
    /// [`IoConfig::new`].
    pub discovery_target: SocketAddrV4,
    /// Multicast TTL, hops, 0..=255. Default 1 (the local network).
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
    /// A configuration with the defaults above, named `name`, using `group` (e.g. 239.192.137.1:37320) for
    /// discovery and broadcasts, with a random ID, incarnation and seed.
    pub fn new(name: impl Into<String>, group: SocketAddrV4) -> Self {
        IoConfig {
            listen: SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0),
            interface: Ipv4Addr::LOCALHOST,
            discovery_listen: group,
            discovery_target: group,
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
        let target = SocketAddr::V4(self.discovery_target);
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
        if self.interface.is_multicast() || self.interface.is_broadcast() {
            return Err(ConfigError {
                field: "interface",
                value: self.interface.to_string(),
                reason: "must be a unicast IPv4 address of this host",
            });
        }
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
        c.max_datagram_size = 100;
        assert_eq!(c.validate().unwrap_err().field, "max_datagram_size");
    }
}
