//! `NativeConfig` (see `src/transport/native-types.ts`) and its conversion into [`glue_io::IoConfig`].
//! Every value is checked here or in glue-io; errors name the JavaScript option and the value.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use glue_io::{EndpointId, IoConfig, NameClashRule};
use glue_proto::seal::{NetworkKey, SealConfig, Suite};
use napi_derive::napi;

use crate::error::{invalid_option, Converted};

/// Options of the native core, already validated and defaulted by TypeScript (`options.ts`).
#[napi(object)]
pub struct NativeConfig {
    /// Network ID (u32); datagrams of other networks are dropped and counted.
    pub network_id: f64,
    /// Endpoint ID as 16 lowercase hex digits (u64), or undefined for a random one.
    pub endpoint_id: Option<String>,
    /// Endpoint name, 1..=255 UTF-8 bytes.
    pub name: String,
    /// Unicast bind address "ip:port" or "[ipv6%scope]:port"; port 0 = ephemeral.
    pub listen_address: String,
    /// An address of the interface for multicast (IPv4 join and IP_MULTICAST_IF; the interface of an IPv6 one).
    pub interface_address: String,
    /// The multicast interface's name, when known (its index is used for IPv6 multicast).
    pub interface_name: Option<String>,
    /// Dual-stack: the IPv6 group "[ipv6]:port" joined and announced to beside the IPv4 one; undefined = one
    /// family.
    pub dual_stack_group: Option<String>,
    /// Where announcements are sent, "ip:port" (a multicast group, or a unicast address).
    pub discovery_target: String,
    /// Group and port to listen on for announcements and broadcasts, "ip:port".
    pub discovery_listen: String,
    /// Announce period in milliseconds.
    pub announce_period_ms: f64,
    /// A peer expires after its announced period × this multiplier of silence.
    pub expiry_multiplier: f64,
    /// 'report' (keep both) or 'reject' the newcomer when a name is taken.
    #[napi(ts_type = "'report' | 'reject'")]
    pub name_clash: String,
    /// Multicast TTL (hops).
    pub multicast_ttl: f64,
    /// Largest datagram the core sends, bytes (UDP payload).
    pub max_datagram_size: f64,
    /// At most this many peers are tracked (bounded memory).
    pub max_peers: f64,
    /// Socket receive and send buffer size in bytes (SO_RCVBUF / SO_SNDBUF).
    pub socket_buffer_size: f64,
    /// Largest reliable message, bytes. Default 256 MiB.
    pub max_message_size: Option<f64>,
    /// Deadline of a reliable message when the send gives none, ms. Default 30 000.
    pub delivery_deadline_ms: Option<f64>,
    /// An incomplete message that makes no progress for this long is dropped, ms. Default 10 000.
    pub reassembly_timeout_ms: Option<f64>,
    /// Bytes of reassembly and reorder buffers across all peers. Default 1 GiB.
    pub max_receive_memory: Option<f64>,
    /// Bytes queued per reliable channel before sends are refused. Default 64 MiB.
    pub send_queue_bytes: Option<f64>,
    /// Busy polling after activity, µs (trades CPU for latency). Default 0 (off).
    pub busy_poll_us: Option<f64>,
    /// How long an ACK may wait to ride on a reply, µs. Default 0 (off).
    pub ack_hold_us: Option<f64>,
    /// Which thread reads the sockets: 'io' (the I/O thread, default) or 'js' (the JavaScript thread, through
    /// libuv poll handles; the I/O thread when libuv is not available to the addon).
    #[napi(ts_type = "'io' | 'js'")]
    pub receive_on: Option<String>,
    /// Network keys, each 64 hex digits (32 bytes): the first seals every datagram, all are accepted. Undefined or
    /// empty: no sealing (plain datagrams).
    pub network_keys: Option<Vec<String>>,
    /// The AEAD to seal with: 'aes-256-gcm' (default) or 'chacha20-poly1305'.
    #[napi(ts_type = "'aes-256-gcm' | 'chacha20-poly1305'")]
    pub network_cipher: Option<String>,
    /// Unicast peer addresses "ip:port", resolved by TypeScript (host names are looked up there). Default none.
    pub peers: Option<Vec<String>>,
    /// Whether the multicast group is joined and used. Default true.
    pub multicast: Option<bool>,
}

impl NativeConfig {
    /// True for `receiveOn: 'js'`; an error naming the field for anything but 'io', 'js' or undefined.
    pub fn receive_on_js(&self) -> Converted<bool> {
        match self.receive_on.as_deref() {
            None | Some("io") => Ok(false),
            Some("js") => Ok(true),
            Some(other) => Err(invalid_option("receiveOn", &quote(other), "'io' or 'js'")),
        }
    }

    /// The runtime configuration; glue-io checks the rest when opening.
    pub fn to_io(&self) -> Converted<IoConfig> {
        let discovery_target = socket_addr("discoveryTarget", &self.discovery_target)?;
        let mut c = IoConfig::new(self.name.clone(), discovery_target);
        c.discovery_listen = socket_addr("discoveryListen", &self.discovery_listen)?;
        c.listen = socket_addr("listenAddress", &self.listen_address)?;
        c.interface = self.interface_address.parse::<IpAddr>().map_err(|_| {
            invalid_option("interfaceAddress", &quote(&self.interface_address), "an IPv4 or IPv6 address")
        })?;
        if let Some(name) = &self.interface_name {
            c.interface_index = crate::address::scope_index(name)
                .map_err(|why| invalid_option("interfaceName", &quote(name), &why))?;
        }
        if let Some(group) = &self.dual_stack_group {
            c.dual_stack = match socket_addr("dualStackGroup", group)? {
                SocketAddr::V6(group) => Some(group),
                SocketAddr::V4(_) => {
                    return Err(invalid_option(
                        "dualStackGroup",
                        &quote(group),
                        "an IPv6 group \"[ipv6]:port\"",
                    ))
                }
            };
        }
        c.network_id = integer("networkId", self.network_id, 0, u32::MAX as u64)? as u32;
        if let Some(id) = &self.endpoint_id {
            c.id = id
                .parse::<EndpointId>()
                .map_err(|_| invalid_option("endpointId", &quote(id), "16 hex digits"))?;
        }
        let period = integer("announcePeriodMs", self.announce_period_ms, 1, u32::MAX as u64)?;
        c.announce_period = Duration::from_millis(period);
        c.expiry_multiplier = self.expiry_multiplier;
        c.name_clash = match self.name_clash.as_str() {
            "report" => NameClashRule::Report,
            "reject" => NameClashRule::Reject,
            other => return Err(invalid_option("nameClash", &quote(other), "'report' or 'reject'")),
        };
        c.multicast_ttl = integer("multicastTtl", self.multicast_ttl, 0, 255)? as u32;
        c.max_datagram_size = integer("maxDatagramSize", self.max_datagram_size, 512, 65_507)? as usize;
        c.max_peers = integer("maxPeers", self.max_peers, 1, u32::MAX as u64)? as usize;
        c.socket_buffer_size = integer("socketBufferSize", self.socket_buffer_size, 0, 1 << 30)? as usize;
        let r = &mut c.reliable;
        let opt = |field, value: Option<f64>, min, max, default: u64| match value {
            Some(v) => integer(field, v, min, max),
            None => Ok(default),
        };
        r.max_receive_memory =
            opt("maxReceiveMemory", self.max_receive_memory, 1 << 20, 1 << 40, r.max_receive_memory as u64)?
                as usize;
        r.max_message_size = opt(
            "maxMessageSize",
            self.max_message_size,
            1,
            r.max_receive_memory as u64,
            r.max_message_size.min(r.max_receive_memory) as u64,
        )? as usize;
        r.send_queue_bytes =
            opt("sendQueueBytes", self.send_queue_bytes, 1 << 16, 1 << 40, r.send_queue_bytes as u64)?
                as usize;
        let ms = |d: Duration| d.as_millis() as u64;
        r.default_deadline = Duration::from_millis(opt(
            "deliveryDeadlineMs",
            self.delivery_deadline_ms,
            1,
            1 << 40,
            ms(r.default_deadline),
        )?);
        r.reassembly_timeout = Duration::from_millis(opt(
            "reassemblyTimeoutMs",
            self.reassembly_timeout_ms,
            1,
            1 << 40,
            ms(r.reassembly_timeout),
        )?);
        c.busy_poll = Duration::from_micros(opt("busyPollUs", self.busy_poll_us, 0, 1_000_000, 0)?);
        c.reliable.ack_hold = Duration::from_micros(opt("ackHoldUs", self.ack_hold_us, 0, 100_000, 0)?);
        self.receive_on_js()?;
        c.peers = peer_addresses(self.peers.as_deref().unwrap_or_default())?;
        c.multicast = self.multicast.unwrap_or(true);
        if let Some(keys) = self.network_keys.as_deref().filter(|k| !k.is_empty()) {
            let mut seal = SealConfig::new(network_keys(keys)?);
            seal.suite = match self.network_cipher.as_deref() {
                None | Some("aes-256-gcm") => Suite::Aes256Gcm,
                Some("chacha20-poly1305") => Suite::ChaCha20Poly1305,
                Some(other) => {
                    return Err(invalid_option(
                        "networkCipher",
                        &quote(other),
                        "'aes-256-gcm' or 'chacha20-poly1305'",
                    ))
                }
            };
            c.seal = Some(seal);
        }
        Ok(c)
    }
}

/// Network keys from 64 hex digits each.
pub fn network_keys(keys: &[String]) -> Converted<Vec<NetworkKey>> {
    keys.iter()
        .enumerate()
        .map(|(i, hex)| {
            let bad =
                || invalid_option(&format!("networkKeys[{i}]"), "(not shown)", "64 hex digits (32 bytes)");
            if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(bad());
            }
            let bytes: Vec<u8> = (0..32)
                .map(|j| u8::from_str_radix(&hex[2 * j..2 * j + 2], 16))
                .collect::<Result<_, _>>()
                .map_err(|_| bad())?;
            NetworkKey::new(&bytes).map_err(|_| bad())
        })
        .collect()
}

/// Unicast peer addresses, "ip:port" each (IPv6 as "[ip]:port" or "[ip%scope]:port", the scope an interface name or
/// index); the error names `peers[i]`.
pub fn peer_addresses(peers: &[String]) -> Converted<Vec<std::net::SocketAddr>> {
    peers.iter().enumerate().map(|(i, p)| socket_addr(&format!("peers[{i}]"), p)).collect()
}

/// A whole number in `min..=max`.
pub(crate) fn integer(field: &str, value: f64, min: u64, max: u64) -> Converted<u64> {
    if value.is_finite() && value.fract() == 0.0 && value >= min as f64 && value <= max as f64 {
        Ok(value as u64)
    } else {
        Err(invalid_option(field, &value.to_string(), &format!("an integer from {min} to {max}")))
    }
}

fn socket_addr(field: &str, value: &str) -> Converted<SocketAddr> {
    crate::address::parse_socket_addr(value).map_err(|why| invalid_option(field, &quote(value), &why))
}

fn quote(s: &str) -> String {
    format!("{s:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> NativeConfig {
        NativeConfig {
            network_id: 7.0,
            endpoint_id: Some("00000000000000ff".into()),
            name: "a".into(),
            listen_address: "127.0.0.1:0".into(),
            interface_address: "127.0.0.1".into(),
            interface_name: None,
            dual_stack_group: None,
            discovery_target: "239.192.137.1:37320".into(),
            discovery_listen: "239.192.137.1:37321".into(),
            announce_period_ms: 250.0,
            expiry_multiplier: 2.5,
            name_clash: "reject".into(),
            multicast_ttl: 4.0,
            max_datagram_size: 65_000.0,
            max_peers: 10.0,
            socket_buffer_size: 4096.0,
            max_message_size: Some(1e6),
            delivery_deadline_ms: Some(500.0),
            reassembly_timeout_ms: None,
            max_receive_memory: None,
            send_queue_bytes: None,
            busy_poll_us: None,
            ack_hold_us: None,
            receive_on: None,
            network_keys: None,
            network_cipher: None,
            peers: None,
            multicast: None,
        }
    }

    #[test]
    fn network_keys_convert_and_bad_ones_are_named_without_their_value() {
        let key = "00".repeat(31) + "ff";
        let c = NativeConfig { network_keys: Some(vec![key.clone()]), ..config() }.to_io().unwrap();
        let seal = c.seal.expect("sealed");
        assert_eq!((seal.keys.len(), seal.suite), (1, Suite::Aes256Gcm));
        assert_eq!(seal.keys[0].bytes()[31], 0xff);
        let bad = NativeConfig { network_keys: Some(vec![key.clone(), "zz".repeat(32)]), ..config() };
        let m = message(bad);
        assert!(m.contains("networkKeys[1]") && !m.contains("zz"), "{m}");
        let cipher =
            NativeConfig { network_keys: Some(vec![key]), network_cipher: Some("rot13".into()), ..config() };
        assert!(message(cipher).contains("networkCipher"));
        assert!(NativeConfig { network_keys: Some(vec![]), ..config() }.to_io().unwrap().seal.is_none());
    }

    #[test]
    fn reliable_limits_convert_and_are_checked() {
        let io = config().to_io().unwrap();
        assert_eq!(io.reliable.max_message_size, 1_000_000);
        assert_eq!(io.reliable.default_deadline, Duration::from_millis(500));
        assert_eq!(io.reliable.reassembly_timeout, glue_io::ReliableLimits::default().reassembly_timeout);
        let too_big = NativeConfig { max_message_size: Some(2e12), ..config() };
        assert!(message(too_big).contains("maxMessageSize"));
        let bad = NativeConfig { delivery_deadline_ms: Some(-1.0), ..config() };
        assert!(message(bad).contains("deliveryDeadlineMs"));
    }

    fn message(c: NativeConfig) -> String {
        let e = c.to_io().expect_err("invalid");
        assert_eq!(e.code.as_ref(), "ERR_GLUE_INVALID_OPTION");
        e.message
    }

    #[test]
    fn converts_every_field() {
        let c = config().to_io().unwrap();
        assert_eq!((c.network_id, c.id, c.name.as_str()), (7, EndpointId(255), "a"));
        assert_eq!(c.discovery_listen.port(), 37321);
        assert_eq!(c.discovery_target.port(), 37320);
        assert_eq!(c.announce_period, Duration::from_millis(250));
        assert_eq!((c.expiry_multiplier, c.name_clash), (2.5, NameClashRule::Reject));
        assert_eq!(
            (c.multicast_ttl, c.max_datagram_size, c.max_peers, c.socket_buffer_size),
            (4, 65_000, 10, 4096)
        );
        assert!(c.validate().is_ok());
        let random = NativeConfig { endpoint_id: None, ..config() }.to_io().unwrap();
        assert_ne!(random.id, EndpointId(255));
    }

    #[test]
    fn errors_name_the_option_and_value() {
        let m = message(NativeConfig { listen_address: "localhost:1".into(), ..config() });
        assert!(m.starts_with("Invalid option listenAddress: \"localhost:1\""), "{m}");
        let m = message(NativeConfig { announce_period_ms: 1.5, ..config() });
        assert!(m.starts_with("Invalid option announcePeriodMs: 1.5"), "{m}");
        let m = message(NativeConfig { multicast_ttl: 256.0, ..config() });
        assert!(m.contains("multicastTtl: 256"), "{m}");
        let m = message(NativeConfig { network_id: -1.0, ..config() });
        assert!(m.contains("networkId: -1"), "{m}");
        let m = message(NativeConfig { name_clash: "ignore".into(), ..config() });
        assert!(m.contains("nameClash: \"ignore\""), "{m}");
        let m = message(NativeConfig { endpoint_id: Some("xyz".into()), ..config() });
        assert!(m.contains("endpointId: \"xyz\""), "{m}");
        let m = message(NativeConfig { interface_address: "eth0".into(), ..config() });
        assert!(m.contains("interfaceAddress: \"eth0\""), "{m}");
        let m = message(NativeConfig { interface_name: Some("no-such-if9".into()), ..config() });
        assert!(m.contains("interfaceName: \"no-such-if9\""), "{m}");
        let m = message(NativeConfig { listen_address: "[fe80::1%no-such-if9]:0".into(), ..config() });
        assert!(m.contains("listenAddress") && m.contains("scope ID names no network interface"), "{m}");
        let m = message(NativeConfig { dual_stack_group: Some("239.1.1.1:1".into()), ..config() });
        assert!(m.contains("dualStackGroup"), "{m}");
        let m = message(NativeConfig { max_datagram_size: f64::NAN, ..config() });
        assert!(m.contains("maxDatagramSize: NaN"), "{m}");
        let m =
            message(NativeConfig { peers: Some(vec!["10.0.0.1:5".into(), "gateway:5".into()]), ..config() });
        assert!(m.contains("peers[1]: \"gateway:5\""), "{m}");
    }

    #[test]
    fn peers_and_multicast_convert() {
        let c = NativeConfig {
            peers: Some(vec!["10.0.0.1:5".into(), "[::1]:7".into()]),
            multicast: Some(false),
            ..config()
        }
        .to_io()
        .unwrap();
        assert_eq!(c.peers, vec!["10.0.0.1:5".parse().unwrap(), "[::1]:7".parse().unwrap()]);
        assert!(!c.multicast);
        assert!(config().to_io().unwrap().multicast);
    }

    #[test]
    fn ipv6_and_dual_stack_convert() {
        let v6 = NativeConfig {
            listen_address: "[::1]:0".into(),
            interface_address: "::1".into(),
            discovery_target: "[ff12::137:1]:37320".into(),
            discovery_listen: "[ff12::137:1]:37320".into(),
            ..config()
        };
        let c = v6.to_io().unwrap();
        assert!(c.listen.is_ipv6() && c.interface.is_ipv6() && c.validate().is_ok());
        let dual = NativeConfig {
            listen_address: "[::]:0".into(),
            discovery_listen: "239.192.137.1:37320".into(),
            dual_stack_group: Some("[ff12::137:1]:37320".into()),
            ..config()
        };
        let c = dual.to_io().unwrap();
        let group: std::net::SocketAddrV6 = "[ff12::137:1]:37320".parse().unwrap();
        assert_eq!(c.dual_stack, Some(group));
        assert!(c.validate().is_ok());
    }

    #[test]
    fn runtime_config_errors_use_option_names() {
        let mut c = config().to_io().unwrap();
        c.expiry_multiplier = 0.5;
        let e = crate::error::from_io(c.validate().unwrap_err().into());
        assert_eq!(e.code.as_ref(), "ERR_GLUE_INVALID_OPTION");
        assert!(e.message.starts_with("Invalid option expiryMultiplier: 0.5"), "{}", e.message);
    }
}
