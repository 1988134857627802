//! `NativeStats`: the counters as JavaScript numbers (exact up to 2^53).

use glue_io::EndpointStats;
use napi_derive::napi;

/// Declares `NativeStats` with one `f64` per counter and its conversion from [`EndpointStats`]: `core`
/// fields come from the protocol core's counters, `io` fields from the runtime's.
macro_rules! native_stats {
    ($( $(#[doc = $doc:literal])* $src:ident . $field:ident ),* $(,)?) => {
        /// Counters of one endpoint, all monotonically increasing (see `src/transport/native-types.ts`).
        #[napi(object, object_from_js = false)]
        pub struct NativeStats {
            $( $(#[doc = $doc])* pub $field: f64, )*
        }

        impl From<EndpointStats> for NativeStats {
            fn from(s: EndpointStats) -> Self {
                NativeStats { $( $field: native_stats!(@get s, $src, $field) as f64, )* }
            }
        }
    };
    (@get $s:ident, core, $field:ident) => { $s.core.$field };
    (@get $s:ident, io, $field:ident) => { $s.$field };
}

native_stats! {
    #[doc = "Datagrams sent."]
    core.datagrams_sent,
    #[doc = "Datagrams received."]
    core.datagrams_received,
    #[doc = "Bytes sent (UDP payload)."]
    core.bytes_sent,
    #[doc = "Bytes received (UDP payload)."]
    core.bytes_received,
    #[doc = "Messages queued by send and broadcast."]
    core.messages_sent,
    #[doc = "Messages delivered (best-effort and reliable)."]
    core.messages_received,
    #[doc = "Announcements sent."]
    core.announcements_sent,
    #[doc = "Announcements received from other endpoints."]
    core.announcements_received,
    #[doc = "Datagrams that failed to decode (bad magic, truncated, bad lengths)."]
    core.dropped_malformed,
    #[doc = "Datagrams with an unsupported protocol version."]
    core.dropped_version,
    #[doc = "Datagrams from another network ID."]
    core.dropped_foreign_network,
    #[doc = "Data from endpoints that are not (yet) in the peer table."]
    core.dropped_unknown_peer,
    #[doc = "Data from rejected peers."]
    core.dropped_rejected,
    #[doc = "Submessages of an unknown kind, skipped."]
    core.dropped_unknown_kind,
    #[doc = "Own datagrams heard back through multicast loopback."]
    core.own_datagrams_ignored,
    #[doc = "Announcements ignored because the peer table was full."]
    core.dropped_peer_table_full,
    #[doc = "Reliable messages queued."]
    core.reliable_messages_sent,
    #[doc = "Reliable messages acknowledged by every intended receiver."]
    core.reliable_messages_acked,
    #[doc = "Reliable messages that failed (deadline, or receivers gone before acknowledging)."]
    core.reliable_messages_failed,
    #[doc = "Reliable messages delivered to this endpoint."]
    core.reliable_messages_received,
    #[doc = "Reliable fragments sent for the first time."]
    core.fragments_sent,
    #[doc = "Reliable fragments sent again (repairs and timeouts)."]
    core.fragments_resent,
    #[doc = "Retransmission timeouts that fired."]
    core.retransmit_timeouts,
    #[doc = "Heartbeats sent."]
    core.heartbeats_sent,
    #[doc = "ACKs sent."]
    core.acks_sent,
    #[doc = "ACKs received and applied."]
    core.acks_received,
    #[doc = "ACKs ignored: from a non-receiver, or acknowledging data never sent."]
    core.dropped_invalid_ack,
    #[doc = "Reliable fragments received again (already delivered or buffered)."]
    core.duplicates_dropped,
    #[doc = "Fragments beyond the receive window (resent later)."]
    core.dropped_beyond_window,
    #[doc = "Out-of-order fragments not buffered for lack of memory (resent later)."]
    core.dropped_no_memory,
    #[doc = "Times a large message waited for reassembly memory."]
    core.reassembly_stalls,
    #[doc = "Incomplete messages dropped after the reassembly timeout."]
    core.reassembly_timeouts,
    #[doc = "Messages announced larger than the maximum message size."]
    core.dropped_too_large,
    #[doc = "Messages whose fragments did not add up to the announced length."]
    core.dropped_malformed_message,
    #[doc = "Messages dropped incomplete (abandoned by the sender)."]
    core.dropped_incomplete,
    #[doc = "Fragments skipped because the sender abandoned them."]
    core.skipped_fragments,
    #[doc = "Times a reliable channel had data waiting for its window."]
    core.window_stalls,
    #[doc = "Plain datagrams dropped because this endpoint has network keys (it accepts sealed ones only)."]
    core.dropped_unsealed,
    #[doc = "Sealed datagrams dropped because this endpoint has no network key."]
    core.dropped_no_key,
    #[doc = "Sealed datagrams whose key ID is not one of this endpoint's keys."]
    core.dropped_unknown_key,
    #[doc = "Sealed datagrams that failed authentication (forged, corrupted, or sealed for someone else)."]
    core.dropped_unauthenticated,
    #[doc = "Sealed datagrams replayed, or older than the replay window."]
    core.dropped_replay,
    #[doc = "Authentic sealed datagrams from a sender start not verified yet (a challenge was sent instead)."]
    core.dropped_unverified,
    #[doc = "Challenges sent (boot handshake of sealed endpoints)."]
    core.challenges_sent,
    #[doc = "Responses sent to challenges."]
    core.responses_sent,
    #[doc = "Sender starts verified by the boot handshake."]
    core.senders_verified,
    #[doc = "Heartbeats refused because they would skip a stream beyond its window."]
    core.dropped_invalid_heartbeat,
    #[doc = "Receive streams synchronised again before they had taken anything."]
    core.stream_resyncs,
    #[doc = "Receivers brought back in step after their ACKs showed them ahead of what was sent."]
    core.channel_resyncs,
    #[doc = "Peers evicted from a full table to admit a newcomer."]
    core.peers_evicted,
    #[doc = "PEERS (gossip) answers sent to unicast announcements."]
    core.gossip_sent,
    #[doc = "PEERS (gossip) received from accepted peers."]
    core.gossip_received,
    #[doc = "Gossiped addresses probed with a unicast announcement."]
    core.probes_sent,
    #[doc = "Gossiped addresses not probed (probe bounds: 8 per PEERS, 32 per announce period, 64 entries)."]
    core.probes_suppressed,
    #[doc = "Unicast copies of group datagrams sent (multicast: false)."]
    core.unicast_fanout_copies,
    #[doc = "Sends dropped because the native send queue was full."]
    io.dropped_send_queue_full,
    #[doc = "Socket send errors."]
    io.send_errors,
    #[doc = "Inbound batches dropped because JavaScript was gone."]
    io.dropped_batches,
    #[doc = "Sends to an ID that was not (or no longer) a peer when the I/O thread got to them."]
    io.dropped_send_unknown_peer,
    #[doc = "Failed socket receive calls."]
    io.recv_errors,
    #[doc = "Times reading moved from the JavaScript thread to the I/O thread because traffic was heavy (receiveOn 'js')."]
    io.reading_to_io_thread,
    #[doc = "Times reading moved back to the JavaScript thread once traffic was light again."]
    io.reading_to_caller,
}
