//! Configuration of a [`crate::Core`], validated once at construction.

use std::net::SocketAddr;
use std::time::Duration;

use crate::wire::{HEADER_LEN, MAX_NAME_LEN};
use crate::EndpointId;

/// Smallest allowed `max_datagram_size`, bytes.
pub const MIN_DATAGRAM_SIZE: usize = 512;
/// Largest allowed `max_datagram_size`, bytes (the largest IPv4 UDP payload).
pub const MAX_DATAGRAM_SIZE: usize = 65_507;

/// What the core does when a second endpoint announces a name that is already taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NameClashRule {
    /// Keep both endpoints; the name keeps resolving to the first holder. A clash event is emitted.
    #[default]
    Report,
    /// Ignore the newcomer (as if rejected by the accept filter). A clash event is emitted.
    Reject,
}

/// Everything a core needs to know; see each field for units and defaults.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CoreConfig {
    /// Network ID: datagrams of other networks are dropped and counted. Default 0.
    pub network_id: u32,
    /// This endpoint's ID (random unless configured).
    pub id: EndpointId,
    /// This endpoint's name, 1..=255 UTF-8 bytes.
    pub name: String,
    /// The port of this endpoint's unicast socket (announced to peers). Must not be 0.
    pub unicast_port: u16,
    /// Where announcements and goodbyes go: normally the multicast group, e.g. 239.192.137.1:37320.
    pub discovery_target: SocketAddr,
    /// Where broadcasts go: the multicast group every endpoint listens on.
    pub broadcast_target: SocketAddr,
    /// How often to announce. Default 1 s; 1 ms..=60 s ([`crate::discovery::MAX_ANNOUNCE_PERIOD`]).
    pub announce_period: Duration,
    /// A peer expires after its own announce period × this multiplier of silence. Default 3; ≥ 1.
    pub expiry_multiplier: f64,
    /// What to do on a name clash. Default [`NameClashRule::Report`].
    pub name_clash: NameClashRule,
    /// Largest datagram the core emits (UDP payload bytes). Default 1472; 512..=65507.
    pub max_datagram_size: usize,
    /// At most this many peers (accepted or rejected) are tracked. Default 1024; ≥ 1.
    pub max_peers: usize,
    /// Random per start, announced so that peers can tell a restart under the same ID.
    pub incarnation: u32,
    /// Seed of the jitter PRNG (deterministic tests).
    pub seed: u64,
    /// Windows, queue and memory bounds, timeouts of the reliable layer.
    pub reliable: crate::ReliableLimits,
    /// Sealing with the network key: None (the default) sends and accepts plain datagrams only; with keys every
    /// datagram is sealed and only sealed ones from verified senders are accepted (see [`crate::seal`]).
    pub seal: Option<crate::seal::SealConfig>,
    /// Unicast peer addresses: every announcement also goes to each of them by unicast, and the endpoints there
    /// answer with the peers they know (gossip), so one reachable address finds the whole network. Replaceable
    /// later ([`crate::Core::set_peers`]). Default empty; at most [`MAX_CONFIGURED_PEERS`]; no port 0, no
    /// unspecified, multicast or broadcast address.
    pub peers: Vec<SocketAddr>,
    /// Whether the multicast group is used. Default true. When false nothing goes to the group: announcements go
    /// by unicast to the configured and known peers, broadcasts and the reliable multicast channel as unicast
    /// copies to every accepted peer.
    pub multicast: bool,
}

/// Configured unicast peer addresses at most.
pub const MAX_CONFIGURED_PEERS: usize = 1024;

impl CoreConfig {
    /// A configuration with the defaults above for the given identity, port and group.
    pub fn new(id: EndpointId, name: impl Into<String>, unicast_port: u16, group: SocketAddr) -> Self {
        CoreConfig {
            network_id: 0,
            id,
            name: name.into(),
            unicast_port,
            discovery_target: group,
            broadcast_target: group,
            announce_period: Duration::from_secs(1),
            expiry_multiplier: 3.0,
            name_clash: NameClashRule::Report,
            max_datagram_size: 1472,
            max_peers: 1024,
            incarnation: (id.0 as u32) ^ 0x5eed,
            seed: id.0,
            reliable: crate::ReliableLimits::default(),
            seal: None,
            peers: Vec::new(),
            multicast: true,
        }
    }

    /// Checks every field; the error names the field and the value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field: &'static str, value: String, reason: &'static str| {
            Err(ConfigError { field, value, reason })
        };
        if self.name.is_empty() || self.name.len() > MAX_NAME_LEN {
            return bad("name", self.name.clone(), "must be 1 to 255 UTF-8 bytes");
        }
        if self.unicast_port == 0 {
            return bad("unicast_port", "0".into(), "must not be 0");
        }
        let ms = self.announce_period.as_millis();
        if ms < 1 || self.announce_period > crate::discovery::MAX_ANNOUNCE_PERIOD {
            return bad(
                "announce_period",
                format!("{ms} ms"),
                "must be 1 ms to 60 s (peers count longer periods as 60 s)",
            );
        }
        if !(self.expiry_multiplier.is_finite() && self.expiry_multiplier >= 1.0) {
            return bad(
                "expiry_multiplier",
                self.expiry_multiplier.to_string(),
                "must be a finite number ≥ 1",
            );
        }
        if !(MIN_DATAGRAM_SIZE..=MAX_DATAGRAM_SIZE).contains(&self.max_datagram_size) {
            return bad(
                "max_datagram_size",
                self.max_datagram_size.to_string(),
                "must be 512 to 65507 bytes",
            );
        }
        if self.max_peers == 0 {
            return bad("max_peers", "0".into(), "must be at least 1");
        }
        debug_assert!(self.max_datagram_size > HEADER_LEN);
        if let Some(seal) = &self.seal {
            check_keys(&seal.keys)?;
        }
        check_peers(&self.peers)?;
        let r = &self.reliable;
        if r.send_window == 0 || r.recv_window == 0 {
            return bad(
                "send_window/recv_window",
                format!("{}/{}", r.send_window, r.recv_window),
                "must be at least 1",
            );
        }
        if r.max_message_size > r.max_receive_memory {
            return bad(
                "max_message_size",
                r.max_message_size.to_string(),
                "must not exceed max_receive_memory",
            );
        }
        Ok(())
    }
}

/// Checks a list of network keys: at least one, no two with the same key ID (they could not be told apart).
pub(crate) fn check_keys(keys: &[crate::seal::NetworkKey]) -> Result<(), ConfigError> {
    if keys.is_empty() {
        return Err(ConfigError {
            field: "network_keys",
            value: "[]".into(),
            reason: "must hold at least one key",
        });
    }
    for (i, k) in keys.iter().enumerate() {
        if keys[..i].iter().any(|o| o.id() == k.id()) {
            return Err(ConfigError {
                field: "network_keys",
                value: format!("key {i} (ID {:08x})", k.id()),
                reason: "repeats a key (or one with the same key ID)",
            });
        }
    }
    Ok(())
}

/// Checks a list of unicast peer addresses: at most [`MAX_CONFIGURED_PEERS`], each one a unicast address
/// (not unspecified, multicast or broadcast) with a port.
pub(crate) fn check_peers(peers: &[SocketAddr]) -> Result<(), ConfigError> {
    if peers.len() > MAX_CONFIGURED_PEERS {
        return Err(ConfigError {
            field: "peers",
            value: format!("{} addresses", peers.len()),
            reason: "must hold at most 1024 addresses",
        });
    }
    for (i, p) in peers.iter().enumerate() {
        if let Some(reason) = unicast_address_problem(p) {
            return Err(ConfigError { field: "peers", value: format!("peers[{i}] = {p}"), reason });
        }
    }
    Ok(())
}

/// Why `address` cannot be a peer's unicast address, if it cannot.
pub(crate) fn unicast_address_problem(address: &SocketAddr) -> Option<&'static str> {
    let ip = address.ip();
    if address.port() == 0 {
        Some("needs a port other than 0")
    } else if ip.is_unspecified() {
        Some("must not be the unspecified address")
    } else if ip.is_multicast() {
        Some("must be a unicast address, not a multicast group")
    } else if matches!(ip, std::net::IpAddr::V4(v4) if v4.is_broadcast()) {
        Some("must not be the broadcast address")
    } else {
        None
    }
}

/// A configuration field holds a value the core cannot work with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid option {field} = {value}: {reason}")]
pub struct ConfigError {
    /// The offending field.
    pub field: &'static str,
    /// The value given, as text.
    pub value: String,
    /// What is required.
    pub reason: &'static str,
}
