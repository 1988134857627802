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
    /// Reliable messages queued by `send_reliable` / `broadcast_reliable`.
    pub reliable_messages_sent: u64,
    /// Reliable messages acknowledged by every intended receiver.
    pub reliable_messages_acked: u64,
    /// Reliable messages that failed (deadline, or receivers gone before acknowledging).
    pub reliable_messages_failed: u64,
    /// Reliable messages delivered to this endpoint.
    pub reliable_messages_received: u64,
    /// Reliable fragments sent for the first time.
    pub fragments_sent: u64,
    /// Reliable fragments sent again (repairs and timeouts).
    pub fragments_resent: u64,
    /// Retransmission timeouts that fired.
    pub retransmit_timeouts: u64,
    /// Heartbeats sent.
    pub heartbeats_sent: u64,
    /// ACKs sent.
    pub acks_sent: u64,
    /// ACKs received and applied.
    pub acks_received: u64,
    /// ACKs ignored, wholly or the part beyond what was sent: from a non-receiver, or acknowledging data never
    /// sent (forged).
    pub dropped_invalid_ack: u64,
    /// Reliable fragments received again (already delivered or buffered).
    pub duplicates_dropped: u64,
    /// Fragments beyond the receive window (the sender will resend them).
    pub dropped_beyond_window: u64,
    /// Out-of-order fragments not buffered for lack of memory (the sender will resend them).
    pub dropped_no_memory: u64,
    /// Times a large message waited for reassembly memory (the sender will resend).
    pub reassembly_stalls: u64,
    /// Incomplete messages dropped after the reassembly timeout.
    pub reassembly_timeouts: u64,
    /// Messages announced larger than the maximum message size (dropped).
    pub dropped_too_large: u64,
    /// Messages whose fragments did not add up to the announced length (dropped).
    pub dropped_malformed_message: u64,
    /// Messages dropped incomplete (the sender abandoned them, or the stream began mid-message).
    pub dropped_incomplete: u64,
    /// Fragments skipped because the sender abandoned them (past their deadline).
    pub skipped_fragments: u64,
    /// Times a reliable channel had data waiting for its window.
    pub window_stalls: u64,
    /// Plain datagrams dropped by an endpoint that has network keys (it accepts sealed ones only).
    pub dropped_unsealed: u64,
    /// Sealed datagrams dropped by an endpoint without network keys.
    pub dropped_no_key: u64,
    /// Sealed datagrams whose key ID is not one of this endpoint's keys.
    pub dropped_unknown_key: u64,
    /// Sealed datagrams that failed authentication (forged, corrupted, wrong sender or network).
    pub dropped_unauthenticated: u64,
    /// Sealed datagrams whose counter was seen already or is older than the replay window.
    pub dropped_replay: u64,
    /// Authentic sealed datagrams from a sender start not verified yet (the boot handshake was started instead).
    pub dropped_unverified: u64,
    /// Challenges sent (boot handshake).
    pub challenges_sent: u64,
    /// Responses sent to challenges.
    pub responses_sent: u64,
    /// Sender starts verified by the boot handshake.
    pub senders_verified: u64,
    /// Heartbeats refused: they would skip a receive stream further than its window.
    pub dropped_invalid_heartbeat: u64,
    /// Receive streams synchronised again by a direct heartbeat before they had taken anything.
    pub stream_resyncs: u64,
    /// Receivers brought back in step after their ACKs showed them ahead of what was sent (a forged heartbeat or
    /// fragment had pushed them); what they skipped failed for them.
    pub channel_resyncs: u64,
    /// Peers removed from a full table to admit a newcomer (peers that had sent nothing but announcements).
    pub peers_evicted: u64,
    /// PEERS (gossip) submessages sent, answering unicast announcements.
    pub gossip_sent: u64,
    /// PEERS submessages received from accepted peers and applied.
    pub gossip_received: u64,
    /// Announcements sent by unicast to gossiped addresses not known yet (probes).
    pub probes_sent: u64,
    /// Gossiped addresses not probed for the probe bound (8 per PEERS, 32 per announce period), or entries beyond the
    /// 64 a PEERS may carry: a forged PEERS cannot make this endpoint flood an address.
    pub probes_suppressed: u64,
    /// Datagrams for the multicast group sent as unicast copies instead (`multicast: false`), one per copy.
    pub unicast_fanout_copies: u64,
}
