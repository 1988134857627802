//! Counters of one core. All only ever increase.

/// Counters of one endpoint; see each field. Dropped datagrams are counted here, never a panic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Datagrams handed out by `poll_transmit`.
    pub datagrams_sent: u64,
    /// Datagrams passed to `handle_datagram`.
    pub datagrams_received: u64,
    /// Bytes handed out by `poll_transmit`.
    pub bytes_sent: u64,
    /// Bytes passed to `handle_datagram`.
    pub bytes_received: u64,
    /// Application messages queued by `send` and `broadcast`.
    pub messages_sent: u64,
    /// Application messages delivered as events.
    pub messages_received: u64,
    /// Announcements queued (periodic, burst and replies).
    pub announcements_sent: u64,
    /// Valid announcements received from other endpoints.
    pub announcements_received: u64,
    /// Datagrams (or their rest) that failed to decode.
    pub dropped_malformed: u64,
    /// Datagrams of an unsupported protocol version.
    pub dropped_version: u64,
    /// Datagrams of another network ID.
    pub dropped_foreign_network: u64,
    /// Data from endpoints not in the peer table.
    pub dropped_unknown_peer: u64,
    /// Data from rejected endpoints.
    pub dropped_rejected: u64,
    /// Submessages of an unknown kind (skipped).
    pub dropped_unknown_kind: u64,
    /// Own datagrams heard back through multicast loopback.
    pub own_datagrams_ignored: u64,
    /// Announcements of new peers ignored because the table was full.
    pub dropped_peer_table_full: u64,
}
