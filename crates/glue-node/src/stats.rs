//! `NativeStats`: the counters as JavaScript numbers (exact up to 2^53).

use glue_io::EndpointStats;
use napi_derive::napi;

/// Counters of one endpoint, all monotonically increasing (see `src/native-types.ts`), plus
/// `droppedSendUnknownPeer` and `recvErrors`.
#[napi(object, object_from_js = false)]
pub struct NativeStats {
    /// Datagrams sent.
    pub datagrams_sent: f64,
    /// Datagrams received.
    pub datagrams_received: f64,
    /// Bytes sent (UDP payload).
    pub bytes_sent: f64,
    /// Bytes received (UDP payload).
    pub bytes_received: f64,
    /// Messages queued by send and broadcast.
    pub messages_sent: f64,
    /// Messages delivered.
    pub messages_received: f64,
    /// Announcements sent.
    pub announcements_sent: f64,
    /// Announcements received from other endpoints.
    pub announcements_received: f64,
    /// Datagrams that failed to decode (bad magic, truncated, bad lengths).
    pub dropped_malformed: f64,
    /// Datagrams with an unsupported protocol version.
    pub dropped_version: f64,
    /// Datagrams from another network ID.
    pub dropped_foreign_network: f64,
    /// Data from endpoints that are not (yet) in the peer table.
    pub dropped_unknown_peer: f64,
    /// Data from rejected peers.
    pub dropped_rejected: f64,
    /// Submessages of an unknown kind, skipped.
    pub dropped_unknown_kind: f64,
    /// Own datagrams heard back through multicast loopback.
    pub own_datagrams_ignored: f64,
    /// Announcements ignored because the peer table was full.
    pub dropped_peer_table_full: f64,
    /// Sends dropped because the native send queue was full.
    pub dropped_send_queue_full: f64,
    /// Socket send errors.
    pub send_errors: f64,
    /// Inbound batches dropped because JavaScript was gone.
    pub dropped_batches: f64,
    /// Sends to an ID that was not (or no longer) a peer when the I/O thread got to them.
    pub dropped_send_unknown_peer: f64,
    /// Failed socket receive calls.
    pub recv_errors: f64,
}

impl From<EndpointStats> for NativeStats {
    fn from(s: EndpointStats) -> Self {
        let c = s.core;
        NativeStats {
            datagrams_sent: c.datagrams_sent as f64,
            datagrams_received: c.datagrams_received as f64,
            bytes_sent: c.bytes_sent as f64,
            bytes_received: c.bytes_received as f64,
            messages_sent: c.messages_sent as f64,
            messages_received: c.messages_received as f64,
            announcements_sent: c.announcements_sent as f64,
            announcements_received: c.announcements_received as f64,
            dropped_malformed: c.dropped_malformed as f64,
            dropped_version: c.dropped_version as f64,
            dropped_foreign_network: c.dropped_foreign_network as f64,
            dropped_unknown_peer: c.dropped_unknown_peer as f64,
            dropped_rejected: c.dropped_rejected as f64,
            dropped_unknown_kind: c.dropped_unknown_kind as f64,
            own_datagrams_ignored: c.own_datagrams_ignored as f64,
            dropped_peer_table_full: c.dropped_peer_table_full as f64,
            dropped_send_queue_full: s.dropped_send_queue_full as f64,
            send_errors: s.send_errors as f64,
            dropped_batches: s.dropped_batches as f64,
            dropped_send_unknown_peer: s.dropped_send_unknown_peer as f64,
            recv_errors: s.recv_errors as f64,
        }
    }
}
