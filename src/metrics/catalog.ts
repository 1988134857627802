/**
 * The metric of every `ep.stats()` counter and of every `ep.peerStats()` field: its Prometheus name, help text and
 * label. Drops of one kind share a metric with a `cause` label (`glue_datagrams_dropped_total{cause="replay"}`).
 *
 * The tables are typed as complete: a new field of `EndpointStats` or `PeerStats` does not compile until it has a
 * metric here (and `__test__/metrics.spec.ts` checks the same against a real endpoint).
 */
import type { EndpointStats } from '../endpoint'
import type { PeerStats } from '../transport/peer-stats'

/** A counter of `stats()`: `[metric name, help]`, or `[metric name, help, cause]` for one cause of a shared metric. */
export type CounterSpec = readonly [name: string, help: string, cause?: string]

const DATAGRAMS_DROPPED = 'glue_datagrams_dropped_total'
const DATAGRAMS_DROPPED_HELP = 'Datagrams (or their rest) dropped on receipt, by cause.'
const FRAGMENTS_DROPPED = 'glue_reliable_fragments_dropped_total'
const FRAGMENTS_DROPPED_HELP = 'Reliable fragments dropped on receipt (the sender resends them), by cause.'
const RELIABLE_DROPPED = 'glue_reliable_messages_dropped_total'
const RELIABLE_DROPPED_HELP = 'Reliable messages dropped on receipt, by cause.'
const SUBMESSAGES_DROPPED = 'glue_submessages_dropped_total'
const SUBMESSAGES_DROPPED_HELP = 'Control submessages ignored, by cause.'
const SENDS_DROPPED = 'glue_sends_dropped_total'
const SENDS_DROPPED_HELP = 'Messages this endpoint was asked to send and dropped, by cause.'
const INBOUND_DROPPED = 'glue_messages_dropped_total'
const INBOUND_DROPPED_HELP = 'Inbound messages and events dropped before the application saw them, by cause.'
const TOPIC_DROPPED = 'glue_topic_publications_dropped_total'
const TOPIC_DROPPED_HELP = 'Publications received and not delivered, by cause.'

const dd = (cause: string): CounterSpec => [DATAGRAMS_DROPPED, DATAGRAMS_DROPPED_HELP, cause]
const fd = (cause: string): CounterSpec => [FRAGMENTS_DROPPED, FRAGMENTS_DROPPED_HELP, cause]
const rd = (cause: string): CounterSpec => [RELIABLE_DROPPED, RELIABLE_DROPPED_HELP, cause]
const sd = (cause: string): CounterSpec => [SUBMESSAGES_DROPPED, SUBMESSAGES_DROPPED_HELP, cause]
const td = (cause: string): CounterSpec => [TOPIC_DROPPED, TOPIC_DROPPED_HELP, cause]

/** Every counter of `ep.stats()` (all only grow, so all are Prometheus counters). */
export const STATS_METRICS: { readonly [K in keyof EndpointStats]-?: CounterSpec } = {
  // The native core and its I/O thread.
  datagramsSent: ['glue_datagrams_sent_total', 'Datagrams sent.'],
  datagramsReceived: ['glue_datagrams_received_total', 'Datagrams received.'],
  bytesSent: ['glue_sent_bytes_total', 'Bytes sent (UDP payload).'],
  bytesReceived: ['glue_received_bytes_total', 'Bytes received (UDP payload).'],
  messagesSent: ['glue_messages_sent_total', 'Best-effort messages queued by send and broadcast.'],
  messagesReceived: ['glue_messages_received_total', 'Messages delivered by the core (best-effort and reliable).'],
  announcementsSent: ['glue_announcements_sent_total', 'Announcements sent.'],
  announcementsReceived: ['glue_announcements_received_total', 'Announcements received from other endpoints.'],
  droppedMalformed: dd('malformed'),
  droppedVersion: dd('version'),
  droppedForeignNetwork: dd('foreign_network'),
  droppedUnknownPeer: dd('unknown_peer'),
  droppedRejected: dd('rejected'),
  droppedUnsealed: dd('unsealed'),
  droppedNoKey: dd('no_key'),
  droppedUnknownKey: dd('unknown_key'),
  droppedUnauthenticated: dd('bad_mac'),
  droppedReplay: dd('replay'),
  droppedUnverified: dd('unverified'),
  droppedUnknownKind: sd('unknown_kind'),
  droppedInvalidAck: sd('invalid_ack'),
  droppedInvalidHeartbeat: sd('invalid_heartbeat'),
  ownDatagramsIgnored: ['glue_own_datagrams_ignored_total', 'Own datagrams heard back through multicast loopback.'],
  droppedPeerTableFull: ['glue_announcements_ignored_table_full_total', 'New peers ignored: the peer table was full.'],
  reliableMessagesSent: ['glue_reliable_messages_sent_total', 'Reliable messages queued.'],
  reliableMessagesAcked: ['glue_reliable_messages_acked_total', 'Reliable messages acknowledged by every receiver.'],
  reliableMessagesFailed: ['glue_reliable_messages_failed_total', 'Reliable messages that failed (deadline, receivers gone).'],
  reliableMessagesReceived: ['glue_reliable_messages_received_total', 'Reliable messages delivered to this endpoint.'],
  fragmentsSent: ['glue_fragments_sent_total', 'Reliable fragments sent for the first time.'],
  fragmentsResent: ['glue_fragments_resent_total', 'Reliable fragments sent again (repairs and timeouts).'],
  retransmitTimeouts: ['glue_retransmit_timeouts_total', 'Retransmission timeouts that fired.'],
  heartbeatsSent: ['glue_heartbeats_sent_total', 'Heartbeats sent.'],
  acksSent: ['glue_acks_sent_total', 'ACKs sent.'],
  acksReceived: ['glue_acks_received_total', 'ACKs received and applied.'],
  duplicatesDropped: fd('duplicate'),
  droppedBeyondWindow: fd('beyond_window'),
  droppedNoMemory: fd('no_memory'),
  skippedFragments: fd('abandoned'),
  reassemblyStalls: ['glue_reassembly_stalls_total', 'Times a large message waited for reassembly memory.'],
  reassemblyTimeouts: rd('reassembly_timeout'),
  droppedTooLarge: rd('too_large'),
  droppedMalformedMessage: rd('malformed'),
  droppedIncomplete: rd('incomplete'),
  windowStalls: ['glue_window_stalls_total', 'Times a reliable channel had data waiting for its window.'],
  challengesSent: ['glue_challenges_sent_total', 'Boot handshake challenges sent.'],
  responsesSent: ['glue_challenge_responses_sent_total', 'Responses sent to boot handshake challenges.'],
  sendersVerified: ['glue_senders_verified_total', 'Sender starts verified by the boot handshake.'],
  streamResyncs: ['glue_stream_resyncs_total', 'Receive streams synchronised again by a direct heartbeat.'],
  channelResyncs: ['glue_channel_resyncs_total', 'Receivers brought back in step after ACKs ahead of what was sent.'],
  peersEvicted: ['glue_peers_evicted_total', 'Peers evicted from a full table to admit a newcomer.'],
  gossipSent: ['glue_gossip_sent_total', 'PEERS (gossip) answers sent to unicast announcements.'],
  gossipReceived: ['glue_gossip_received_total', 'PEERS (gossip) received from accepted peers.'],
  probesSent: ['glue_probes_sent_total', 'Gossiped addresses probed with a unicast announcement.'],
  probesSuppressed: ['glue_probes_suppressed_total', 'Gossiped addresses not probed (probe bounds).'],
  unicastFanoutCopies: ['glue_unicast_fanout_copies_total', 'Unicast copies of group datagrams (multicast: false).'],
  droppedSendQueueFull: [SENDS_DROPPED, SENDS_DROPPED_HELP, 'native_queue_full'],
  droppedSendUnknownPeer: [SENDS_DROPPED, SENDS_DROPPED_HELP, 'unknown_peer'],
  sendErrors: ['glue_socket_send_errors_total', 'Socket send errors (the datagram is dropped).'],
  recvErrors: ['glue_socket_receive_errors_total', 'Failed socket receive calls.'],
  droppedBatches: [INBOUND_DROPPED, INBOUND_DROPPED_HELP, 'consumer_gone'],
  readingToIoThread: ['glue_reading_to_io_thread_total', 'Times reading moved to the I/O thread (heavy traffic).'],
  readingToCaller: ['glue_reading_to_caller_total', 'Times reading moved back to the JavaScript thread.'],
  // The endpoint's TypeScript layer.
  droppedQueueFull: [INBOUND_DROPPED, INBOUND_DROPPED_HELP, 'iterator_full'],
  droppedByFilter: [INBOUND_DROPPED, INBOUND_DROPPED_HELP, 'accept_filter'],
  callbackErrors: ['glue_callback_errors_total', 'Exceptions thrown by callbacks and the accept filter.'],
  reliableMessagesDeferred: ['glue_reliable_messages_deferred_total', 'Reliable messages that waited for a full native queue.'],
  reliableMessagesExpiredWaiting: [SENDS_DROPPED, SENDS_DROPPED_HELP, 'expired_waiting'],
  peerResolveFailures: ['glue_peer_resolve_failures_total', 'Host-name lookups of peers that failed after open.'],
  peerResolveRetries: ['glue_peer_resolve_retries_total', 'Peer re-resolution rounds started early after a failure.'],
  peerAddressChanges: ['glue_peer_address_changes_total', 'Times the resolved peer addresses changed.'],
  // The topic layer.
  topicPublished: ['glue_topic_published_total', 'Publications made by this endpoint.'],
  topicDelivered: ['glue_topic_delivered_total', 'Messages handed to subscriptions (one per matching subscription).'],
  topicMalformed: ['glue_topic_malformed_total', 'Topic messages and interest summaries that could not be decoded.'],
  topicUnwanted: td('unwanted'),
  topicTypeMismatch: td('type_mismatch'),
  topicCodecMismatch: td('codec_mismatch'),
  topicQosMismatch: td('qos_mismatch'),
  topicExpired: td('expired'),
  topicDecodeErrors: td('decode_error'),
  topicDuplicates: td('duplicate'),
  topicQueueDrops: td('queue_full'),
  topicKeyMissing: td('key_missing'),
  topicUnauthenticated: td('bad_mac'),
  topicUnsealed: td('unsealed'),
  topicSkipped: ['glue_topic_sequence_skipped_total', 'Publication sequence numbers given up (never received in time).'],
  topicRepairRequests: ['glue_topic_repair_requests_total', 'REPAIR requests sent.'],
  topicReplayed: ['glue_topic_replayed_total', 'Publications sent again from history or cache.'],
  topicDigestsSent: ['glue_topic_digests_sent_total', 'DIGEST messages sent to peers.'],
  topicSendFailures: ['glue_topic_send_failures_total', 'Topic-layer sends that failed.'],
  topicCacheEvicted: ['glue_topic_cache_evicted_total', 'Publications dropped from the history cache (bounds).'],
  topicDirectSent: ['glue_topic_direct_sent_total', 'DIRECT messages sent.'],
  topicDirectReceived: ['glue_topic_direct_received_total', 'DIRECT messages received.'],
  topicDirectUnclaimed: ['glue_topic_direct_unclaimed_total', 'DIRECT messages on a channel nothing claims (dropped).'],
  // Request/reply.
  requestsReceived: ['glue_requests_received_total', "Requests this endpoint's repliers received."],
  requestsAnswered: ['glue_requests_answered_total', 'Requests answered with a value.'],
  requestErrors: ['glue_request_error_replies_total', 'Requests answered with an error reply (the handler threw).'],
  requestsRefused: ['glue_requests_refused_total', 'Requests refused with a busy reply (concurrency and queue full).'],
  requestsUnmatched: ['glue_requests_unmatched_total', 'Requests no replier of this endpoint matched.'],
  requestsExpired: ['glue_requests_expired_total', 'Queued requests dropped because their requester stopped waiting.'],
  requestsSent: ['glue_requests_sent_total', 'REQUEST messages sent (one per replier asked).'],
  requestReplies: ['glue_request_replies_total', 'Replies with a value handed to request() / requestAll().'],
  requestTimeouts: ['glue_request_timeouts_total', 'request() calls that timed out.'],
  requestFailovers: ['glue_request_failovers_total', 'Times request() asked another replier.'],
  replyDropUnknown: ['glue_replies_dropped_total', 'REPLY messages dropped, by cause.', 'unknown_request'],
  replyDropUnasked: ['glue_replies_dropped_total', 'REPLY messages dropped, by cause.', 'unasked_peer'],
  replySendFailures: ['glue_reply_send_failures_total', 'REPLY messages this endpoint could not send back.'],
  // The model layer.
  modelDeltasSent: ['glue_model_deltas_sent_total', 'Model DELTA messages published.'],
  modelDeltasReceived: ['glue_model_deltas_received_total', 'Model DELTA messages received and applied.'],
  modelDigestsSent: ['glue_model_digests_sent_total', 'Model DIGEST messages published.'],
  modelWantsSent: ['glue_model_wants_sent_total', 'Model WANT (catch-up) requests sent.'],
  modelPushesSent: ['glue_model_pushes_sent_total', 'Model WANT requests answered.'],
  modelEntriesPulled: ['glue_model_entries_pulled_total', 'Entries received in answers to WANTs.'],
  modelBucketExchanges: ['glue_model_bucket_exchanges_total', 'Model bucket comparisons started.'],
  modelMalformed: ['glue_model_malformed_total', 'Model messages dropped as malformed or inconsistent.'],
  modelSendFailures: ['glue_model_send_failures_total', 'Model publications that failed (repaired by digests).'],
  modelHeldAhead: ['glue_model_held_ahead_total', 'Entries held back: timestamp too far ahead of this clock.'],
  modelTombstonesCollected: ['glue_model_tombstones_collected_total', 'Tombstones collected.'],
  modelDecodeErrors: ['glue_model_decode_errors_total', 'Model values that could not be decoded for a change event.'],
  modelChangeDrops: ['glue_model_change_drops_total', 'Change events dropped: a changes() iterator was full.'],
  // Consensus.
  consensusMessagesSent: ['glue_consensus_messages_sent_total', 'Raft messages sent to members.'],
  consensusMessagesReceived: ['glue_consensus_messages_received_total', 'Raft messages from members handed to the core.'],
  consensusUnroutable: ['glue_consensus_unroutable_total', 'Raft messages for a member that is not a peer now.'],
  consensusForwardedOut: ['glue_consensus_forwarded_out_total', 'Command batches forwarded to the leader.'],
  consensusForwardedIn: ['glue_consensus_forwarded_in_total', 'Command batches proposed for another member.'],
  consensusEntriesApplied: ['glue_consensus_entries_applied_total', 'Consensus commands (and conf changes) applied.'],
  consensusSnapshots: ['glue_consensus_snapshots_total', 'Consensus snapshots taken (log compactions).'],
  consensusMalformed: ['glue_consensus_malformed_total', 'Malformed consensus messages or commands dropped.'],
  consensusForeign: ['glue_consensus_foreign_total', 'Consensus messages from non-members dropped.'],
  consensusMismatched: ['glue_consensus_mismatched_total', 'Consensus messages of a same-named group with other members.'],
  consensusSendFailures: ['glue_consensus_send_failures_total', 'Consensus publications that failed (Raft sends again).'],
  consensusEventDrops: ['glue_consensus_event_drops_total', 'Consensus events dropped: an iterator was not read.'],
}

/** A per-peer metric: its name, help, Prometheus type, and the factor from the field's unit to the metric's. */
export interface PeerMetricSpec {
  readonly name: string
  readonly help: string
  readonly type: 'counter' | 'gauge'
  /** Multiplies the field (1e-6 turns µs into the seconds Prometheus expects). Default 1. */
  readonly scale?: number
}

const counter = (name: string, help: string): PeerMetricSpec => ({ name, help, type: 'counter' })
const gauge = (name: string, help: string, scale?: number): PeerMetricSpec => ({ name, help, type: 'gauge', scale })

/** Every numeric field of `ep.peerStats()`, labelled `peer` (ID) and `peer_name`. */
export const PEER_METRICS: { readonly [K in Exclude<keyof PeerStats, 'id' | 'name'>]-?: PeerMetricSpec } = {
  rttMicros: gauge('glue_peer_rtt_seconds', 'Smoothed round-trip time to the peer (absent until measured).', 1e-6),
  rttVarMicros: gauge('glue_peer_rtt_variance_seconds', 'Round-trip time variation to the peer (RFC 6298 RTTVAR).', 1e-6),
  reliableMessagesSent: counter('glue_peer_reliable_messages_sent_total', 'Reliable messages sent to the peer by unicast.'),
  reliableBytesSent: counter('glue_peer_reliable_sent_bytes_total', 'Payload bytes of reliable messages sent to the peer.'),
  reliableMessagesReceived: counter('glue_peer_reliable_messages_received_total', 'Reliable messages received from the peer.'),
  reliableBytesReceived: counter('glue_peer_reliable_received_bytes_total', 'Payload bytes of reliable messages from the peer.'),
  fragmentsResent: counter('glue_peer_fragments_resent_total', 'Fragments resent to the peer.'),
  sendQueueMessages: gauge('glue_peer_send_queue_messages', 'Reliable messages to the peer unacknowledged or waiting.'),
  sendQueueBytes: gauge('glue_peer_send_queue_bytes', 'Payload bytes of those messages.'),
  unackedFragments: gauge('glue_peer_unacked_fragments', 'Fragments sent and not acknowledged by the peer yet.'),
  unsentFragments: gauge('glue_peer_unsent_fragments', 'Fragments to the peer waiting for its window.'),
  recvBufferedFragments: gauge('glue_peer_receive_buffer_fragments', 'Out-of-order fragments from the peer buffered.'),
  recvBufferedBytes: gauge('glue_peer_receive_buffer_bytes', 'Bytes of out-of-order fragments from the peer buffered.'),
}

/** Gauges about the endpoint itself. */
export const ENDPOINT_METRICS = {
  info: { name: 'glue_endpoint_info', help: 'This endpoint: always 1, labelled with its ID and name.' },
  peers: { name: 'glue_peers', help: 'Accepted peers in the peer table.' },
} as const
