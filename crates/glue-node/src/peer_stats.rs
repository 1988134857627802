//! `NativePeerStats`: one peer's round trip, resends and queue depths as JavaScript numbers.

use glue_io::PeerStats;
use napi_derive::napi;

/// One accepted peer's reliable-transport state (see `src/transport/native-types.ts`).
#[napi(object, object_from_js = false)]
pub struct NativePeerStats {
    /// The peer's ID, 16 hex digits.
    pub id: String,
    /// Smoothed round-trip time of the reliable unicast channel to the peer, µs; absent until measured.
    pub srtt_micros: Option<f64>,
    /// Round-trip time variation (RFC 6298 RTTVAR), µs; absent until measured.
    pub rtt_var_micros: Option<f64>,
    /// Reliable messages queued to the peer by unicast.
    pub reliable_messages_sent: f64,
    /// Payload bytes of those messages.
    pub reliable_bytes_sent: f64,
    /// Reliable messages delivered from the peer (unicast and multicast).
    pub reliable_messages_received: f64,
    /// Payload bytes of those messages.
    pub reliable_bytes_received: f64,
    /// Fragments resent to the peer's own address.
    pub fragments_resent: f64,
    /// Reliable unicast messages to the peer not finished (unacknowledged or waiting for the window).
    pub send_queue_messages: f64,
    /// Payload bytes of those messages.
    pub send_queue_bytes: f64,
    /// Fragments sent and not acknowledged by the peer yet (unicast and multicast channels).
    pub unacked_fragments: f64,
    /// Fragments of unicast messages to the peer waiting for the window.
    pub unsent_fragments: f64,
    /// Out-of-order fragments from the peer buffered until a gap is repaired.
    pub recv_buffered_fragments: f64,
    /// Bytes of those fragments.
    pub recv_buffered_bytes: f64,
}

impl From<PeerStats> for NativePeerStats {
    fn from(s: PeerStats) -> Self {
        let micros = |d: Option<std::time::Duration>| d.map(|d| d.as_secs_f64() * 1e6);
        NativePeerStats {
            id: s.id.to_string(),
            srtt_micros: micros(s.srtt),
            rtt_var_micros: micros(s.rttvar),
            reliable_messages_sent: s.reliable_messages_sent as f64,
            reliable_bytes_sent: s.reliable_bytes_sent as f64,
            reliable_messages_received: s.reliable_messages_received as f64,
            reliable_bytes_received: s.reliable_bytes_received as f64,
            fragments_resent: s.fragments_resent as f64,
            send_queue_messages: s.send_queue_messages as f64,
            send_queue_bytes: s.send_queue_bytes as f64,
            unacked_fragments: s.unacked_fragments as f64,
            unsent_fragments: s.unsent_fragments as f64,
            recv_buffered_fragments: s.recv_buffered_fragments as f64,
            recv_buffered_bytes: s.recv_buffered_bytes as f64,
        }
    }
}
