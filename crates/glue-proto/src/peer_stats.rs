//! [`PeerStats`]: one peer's reliable-transport state, computed on demand (never on the hot path).

use std::time::Duration;

use crate::EndpointId;

/// One accepted peer's round trip, resends and queue depths, as seen by this endpoint; see
/// [`crate::Core::peer_stats`]. Counters count since this endpoint's channel to (or stream from) the peer was
/// created: they start again from zero when the peer is forgotten (expired, gone, readdressed) and comes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerStats {
    /// The peer.
    pub id: EndpointId,
    /// Smoothed round-trip time to the peer (RFC 6298): of the reliable unicast channel to it once a reliable message
    /// to it was acknowledged, else of the probes of [`crate::Core::probe_peers`]; None before either.
    pub srtt: Option<Duration>,
    /// Variation of the round-trip time (RFC 6298 `RTTVAR`); None with `srtt`.
    pub rttvar: Option<Duration>,
    /// Reliable messages queued to the peer by unicast.
    pub reliable_messages_sent: u64,
    /// Payload bytes of those messages.
    pub reliable_bytes_sent: u64,
    /// Reliable messages delivered from the peer (its unicast and multicast streams).
    pub reliable_messages_received: u64,
    /// Payload bytes of those messages.
    pub reliable_bytes_received: u64,
    /// Fragments resent to the peer's own address (unicast channel, and unicast repairs of the multicast channel;
    /// repairs sent to the whole group are counted in [`crate::Stats::fragments_resent`] only).
    pub fragments_resent: u64,
    /// Reliable unicast messages to the peer not finished yet: sent and unacknowledged, or waiting for the window.
    pub send_queue_messages: u64,
    /// Payload bytes of those messages.
    pub send_queue_bytes: u64,
    /// Fragments sent and not acknowledged by the peer yet (unicast channel plus the multicast channel).
    pub unacked_fragments: u64,
    /// Fragments of unicast messages to the peer waiting for the window (not sent once yet).
    pub unsent_fragments: u64,
    /// Out-of-order fragments from the peer buffered until a gap is repaired (both of its streams).
    pub recv_buffered_fragments: u64,
    /// Bytes of those fragments.
    pub recv_buffered_bytes: u64,
}

impl PeerStats {
    /// Everything zero / unmeasured, for `id`.
    pub fn new(id: EndpointId) -> Self {
        PeerStats {
            id,
            srtt: None,
            rttvar: None,
            reliable_messages_sent: 0,
            reliable_bytes_sent: 0,
            reliable_messages_received: 0,
            reliable_bytes_received: 0,
            fragments_resent: 0,
            send_queue_messages: 0,
            send_queue_bytes: 0,
            unacked_fragments: 0,
            unsent_fragments: 0,
            recv_buffered_fragments: 0,
            recv_buffered_bytes: 0,
        }
    }
}
