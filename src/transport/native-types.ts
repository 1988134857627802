/**
 * The contract between the TypeScript layers and the native addon (crates/glue-node).
 *
 * The generated loader (`binding.js` / `binding.d.ts`, written by `napi build`) exports `NativeEndpoint`;
 * everything above it depends on the {@link NativeTransport} interface only, so the TypeScript layers can be
 * unit-tested with an in-memory fake as well.
 */

/** Options handed to the native core, already validated and defaulted by TypeScript (see src/options.ts). */
export interface NativeConfig {
  /** Network ID (u32); datagrams of other networks are dropped and counted. */
  networkId: number
  /** Endpoint ID as 16 lowercase hex digits (u64), or undefined for a random one. */
  endpointId?: string
  /** Endpoint name, 1..=255 UTF-8 bytes. */
  name: string
  /** Unicast bind address "ip:port" or "[ipv6%scope]:port"; port 0 = ephemeral. */
  listenAddress: string
  /** An address of the interface for multicast (IPv4 join and IP_MULTICAST_IF; the interface of an IPv6 one). */
  interfaceAddress: string
  /** The multicast interface's name or index, when known (its index is used for IPv6 multicast). */
  interfaceName?: string
  /** Dual-stack: the IPv6 group "[ipv6]:port" joined and announced to beside the IPv4 one; undefined = one family. */
  dualStackGroup?: string
  /** Where announcements are sent, "ip:port" (a multicast group, or a unicast address). */
  discoveryTarget: string
  /** Group and port to listen on for announcements and broadcasts, "ip:port". */
  discoveryListen: string
  /** Announce period in milliseconds. */
  announcePeriodMs: number
  /** A peer expires after its announced period × this multiplier of silence. */
  expiryMultiplier: number
  /** What to do when a second endpoint announces a name already taken: 'report' (keep both) or 'reject' the newcomer. */
  nameClash: 'report' | 'reject'
  /** Multicast TTL (hops). */
  multicastTtl: number
  /** Largest datagram the core sends, bytes (UDP payload). */
  maxDatagramSize: number
  /** At most this many peers are tracked (bounded memory). */
  maxPeers: number
  /** Socket receive and send buffer size in bytes (SO_RCVBUF / SO_SNDBUF). */
  socketBufferSize: number
  /** Largest reliable message, bytes. Default 256 MiB. */
  maxMessageSize?: number
  /** Deadline of a reliable message when the send gives none, ms. Default 30 000. */
  deliveryDeadlineMs?: number
  /** An incomplete message that makes no progress for this long is dropped, ms. Default 10 000. */
  reassemblyTimeoutMs?: number
  /** Bytes of reassembly and reorder buffers across all peers. Default 1 GiB. */
  maxReceiveMemory?: number
  /** Bytes queued per reliable channel before sends are refused. Default 64 MiB. */
  sendQueueBytes?: number
  /** Busy polling after activity, µs (trades CPU for latency). Default 0 (off). */
  busyPollUs?: number
  /** Which thread reads the sockets (see `TransportOptions.receiveOn`); 'io' when absent (TypeScript always sets it). */
  receiveOn?: 'io' | 'js'
  /** How long an ACK may wait to ride on a reply, µs. Default 0 (off). */
  ackHoldUs?: number
  /**
   * Network keys, each 64 hex digits (32 bytes): the first seals every datagram, all are accepted. Undefined or
   * empty: no sealing (plain datagrams).
   */
  networkKeys?: Array<string>
  /** The AEAD to seal with: 'aes-256-gcm' (default) or 'chacha20-poly1305'. */
  networkCipher?: 'aes-256-gcm' | 'chacha20-poly1305'
  /** Unicast peer addresses "ip:port" (resolved by TypeScript). Default none. */
  peers?: Array<string>
  /** Whether the multicast group is joined and used. Default true. */
  multicast?: boolean
}

/** A peer as the native core reports it. */
export interface NativePeerEvent {
  /** What happened. */
  type: 'peer-up' | 'peer-down' | 'peer-changed' | 'name-clash'
  /** The peer's ID (16 hex digits). For 'name-clash': the newcomer. */
  id: string
  /** The peer's name. */
  name: string
  /** The peer's unicast address "ip:port". */
  address: string
  /** The peer's announce period in ms. */
  announcePeriodMs: number
  /** For 'peer-down': 'expired' | 'left' | 'restarted' | 'evicted'. */
  reason?: string
  /** For 'name-clash': the ID that held the name first (may be our own ID). */
  existingId?: string
  /** For 'name-clash': true when the newcomer was rejected (nameClash: 'reject'). */
  rejected?: boolean
  /**
   * The extensions of the peer's latest announcement, in the order announced (type 0x10: its interest
   * summary, see docs/PROTOCOL.md). A change of any of them is a 'peer-changed' event.
   */
  extensions: NativeAnnounceExtension[]
}

/** One announcement extension of a peer. */
export interface NativeAnnounceExtension {
  /** Extension type, 0..255 (0x10: interest summary). */
  type: number
  /** Extension value (a copy). */
  value: Buffer
}

/**
 * One batch of inbound events, in arrival order. `entries` holds 4 u32 per entry, `[kind, a, b, c]` (the kinds
 * are `EntryKind` in batch-decoder.ts):
 * - 1 unicast / 2 broadcast message (best effort), 6 unicast / 7 broadcast message (reliable): a = index into
 *   `peerIds` (the sender), b = byte offset into `data`, c = byte length;
 * - 3 peer event: a = index into `events`;
 * - 4 delivered: a = token of a reliable send that every intended receiver acknowledged;
 * - 5 failed: a = token, b = index into `failures` (the receivers that did not acknowledge before the deadline,
 *   or went away first);
 * - 8 refused: a = token, b = reason (1 unknown peer, 2 channel send queue full, 3 too large, 4 closed), c = 1 +
 *   index into `buffers` of the refused payload, handed back for reason 2 (to offer it again), else 0;
 * - 9 a large (reassembled) message handed over whole: a = index into `peerIds`, b = index into `buffers`,
 *   c = flags (bit 0 broadcast, bit 1 reliable).
 */
export interface NativeBatch {
  /** All payloads back to back. */
  data: Buffer
  /** `[kind, a, b, c]` per entry. */
  entries: Uint32Array
  /** The senders, indexed by message entries. */
  peerIds: string[]
  /** The peer events, indexed by peer-event entries. */
  events: NativePeerEvent[]
  /** For failed reliable sends: the IDs of the receivers that did not acknowledge. */
  failures: string[][]
  /** Large messages, each its own Buffer (handed over without copying), and payloads handed back by refusals. */
  buffers: Buffer[]
}

/** Counters of one endpoint, all monotonically increasing. */
export interface NativeStats {
  /** Datagrams sent. */
  datagramsSent: number
  /** Datagrams received. */
  datagramsReceived: number
  /** Bytes sent (UDP payload). */
  bytesSent: number
  /** Bytes received (UDP payload). */
  bytesReceived: number
  /** Messages queued by send and broadcast. */
  messagesSent: number
  /** Messages delivered (best-effort and reliable). */
  messagesReceived: number
  /** Announcements sent. */
  announcementsSent: number
  /** Announcements received from other endpoints. */
  announcementsReceived: number
  /** Datagrams that failed to decode (bad magic, truncated, bad lengths). */
  droppedMalformed: number
  /** Datagrams with an unsupported protocol version. */
  droppedVersion: number
  /** Datagrams from another network ID. */
  droppedForeignNetwork: number
  /** Data from endpoints that are not (yet) in the peer table. */
  droppedUnknownPeer: number
  /** Data from peers rejected by the accept filter or the name-clash rule. */
  droppedRejected: number
  /** Submessages of an unknown kind, skipped. */
  droppedUnknownKind: number
  /** Our own datagrams heard back through multicast loopback (not an error). */
  ownDatagramsIgnored: number
  /** Announcements ignored because the peer table was full. */
  droppedPeerTableFull: number
  /** Reliable messages queued. */
  reliableMessagesSent: number
  /** Reliable messages acknowledged by every intended receiver. */
  reliableMessagesAcked: number
  /** Reliable messages that failed (deadline, or receivers gone before acknowledging). */
  reliableMessagesFailed: number
  /** Reliable messages delivered to this endpoint. */
  reliableMessagesReceived: number
  /** Reliable fragments sent for the first time. */
  fragmentsSent: number
  /** Reliable fragments sent again (repairs and timeouts). */
  fragmentsResent: number
  /** Retransmission timeouts that fired. */
  retransmitTimeouts: number
  /** Heartbeats sent. */
  heartbeatsSent: number
  /** ACKs sent. */
  acksSent: number
  /** ACKs received and applied. */
  acksReceived: number
  /** ACKs ignored: from a non-receiver, or acknowledging data never sent. */
  droppedInvalidAck: number
  /** Reliable fragments received again (already delivered or buffered). */
  duplicatesDropped: number
  /** Fragments beyond the receive window (resent later). */
  droppedBeyondWindow: number
  /** Out-of-order fragments not buffered for lack of memory (resent later). */
  droppedNoMemory: number
  /** Times a large message waited for reassembly memory. */
  reassemblyStalls: number
  /** Incomplete messages dropped after the reassembly timeout. */
  reassemblyTimeouts: number
  /** Messages announced larger than the maximum message size. */
  droppedTooLarge: number
  /** Messages whose fragments did not add up to the announced length. */
  droppedMalformedMessage: number
  /** Messages dropped incomplete (abandoned by the sender). */
  droppedIncomplete: number
  /** Fragments skipped because the sender abandoned them. */
  skippedFragments: number
  /** Times a reliable channel had data waiting for its window. */
  windowStalls: number
  /** Plain datagrams dropped because this endpoint has network keys (it accepts sealed ones only). */
  droppedUnsealed: number
  /** Sealed datagrams dropped because this endpoint has no network key. */
  droppedNoKey: number
  /** Sealed datagrams whose key ID is not one of this endpoint's keys. */
  droppedUnknownKey: number
  /** Sealed datagrams that failed authentication (forged, corrupted, or sealed for someone else). */
  droppedUnauthenticated: number
  /** Sealed datagrams replayed, or older than the replay window. */
  droppedReplay: number
  /** Authentic sealed datagrams from a sender start not verified yet (a challenge was sent instead). */
  droppedUnverified: number
  /** Challenges sent (boot handshake of sealed endpoints). */
  challengesSent: number
  /** Responses sent to challenges. */
  responsesSent: number
  /** Sender starts verified by the boot handshake. */
  sendersVerified: number
  /** Heartbeats refused because they would skip a stream beyond its window. */
  droppedInvalidHeartbeat: number
  /** Receive streams synchronised again before they had taken anything. */
  streamResyncs: number
  /** Receivers brought back in step after their ACKs showed them ahead of what was sent. */
  channelResyncs: number
  /** Peers evicted from a full table to admit a newcomer. */
  peersEvicted: number
  /** PEERS (gossip) answers sent to unicast announcements. */
  gossipSent: number
  /** PEERS (gossip) received from accepted peers. */
  gossipReceived: number
  /** Gossiped addresses probed with a unicast announcement. */
  probesSent: number
  /** Gossiped addresses not probed (probe bounds: 8 per PEERS, 32 per announce period, 64 entries). */
  probesSuppressed: number
  /** Unicast copies of group datagrams sent (multicast: false). */
  unicastFanoutCopies: number
  /** Sends dropped because the native send queue was full. */
  droppedSendQueueFull: number
  /** Socket send errors. */
  sendErrors: number
  /** Inbound batches dropped because JavaScript was gone. */
  droppedBatches: number
  /** Sends to an ID that was not (or no longer) a peer when the I/O thread got to them. */
  droppedSendUnknownPeer: number
  /** Failed socket receive calls. */
  recvErrors: number
  /** Times reading moved from the JavaScript thread to the I/O thread because traffic was heavy (`receiveOn: 'js'`). */
  readingToIoThread: number
  /** Times reading moved back to the JavaScript thread once traffic was light again. */
  readingToCaller: number
}

/** The native endpoint (the class `NativeEndpoint` of binding.js implements this). */
export interface NativeTransport {
  /** Own endpoint ID, 16 hex digits. */
  readonly id: string
  /** Own unicast address "ip:port" after binding. */
  readonly address: string
  /** Queue a best-effort unicast to a peer; false when the send queue was full (dropped, counted). */
  send(peerId: string, data: Uint8Array): boolean
  /** Queue a best-effort multicast to every endpoint; false when the send queue was full. */
  broadcast(data: Uint8Array): boolean
  /**
   * Queue a reliable unicast (copied once, fragmented as needed); its outcome arrives in a later batch under
   * `token` (a u32): a Delivered, Failed or Refused entry. False when the command queue was full (nothing queued,
   * nothing will be reported). `deadlineMs` defaults to the configured delivery deadline.
   * Throws ERR_GLUE_MESSAGE_TOO_LARGE (beyond `maxMessageSize`) or ERR_GLUE_CLOSED.
   */
  sendReliable(peerId: string, data: Uint8Array, token: number, deadlineMs?: number | undefined | null): boolean
  /** Queue a reliable multicast to every peer; reported and thrown like `sendReliable`. */
  broadcastReliable(data: Uint8Array, token: number, deadlineMs?: number | undefined | null): boolean
  /**
   * Queue many messages at once: `slab` holds records (see `src/transport/send-slab.ts`), each then handled like one
   * `sendReliable` / `broadcastReliable` (reported under its token) or `send` / `broadcast` (best-effort records).
   * False when the command queue was full (nothing queued; best-effort records counted as dropped). Throws
   * ERR_GLUE_MESSAGE_TOO_LARGE, ERR_GLUE_CLOSED, or InvalidArg for a malformed slab.
   */
  sendSlab(slab: Uint8Array): boolean
  /** Tell the core to ignore this peer from now on (accept filter said no). */
  rejectPeer(peerId: string): void
  /**
   * Set (an empty value: remove) this endpoint's announcement extension of type `kind` (0..255): every later
   * announcement carries it, and a burst of announcements (at once, then after 20, 40, 80, 160 ms) spreads it.
   * Throws ERR_GLUE_MESSAGE_TOO_LARGE when the announcement would not fit into one datagram, ERR_GLUE_CLOSED.
   */
  setAnnounceExtension(kind: number, value: Uint8Array): void
  /**
   * Replace the network keys (64 hex digits each): the first seals from now on, all are accepted. Throws
   * ERR_GLUE_INVALID_OPTION for a bad, repeated or missing key or an endpoint opened without keys, ERR_GLUE_CLOSED.
   */
  setNetworkKeys(keys: Array<string>): void
  /**
   * Replace the unicast peer addresses ("ip:port" each): new ones get an announcement at once. Throws
   * ERR_GLUE_INVALID_OPTION for a bad address (nothing changes), ERR_GLUE_CLOSED.
   */
  setPeers(peers: Array<string>): void
  /** The counters (the last ones after close). */
  stats(): NativeStats
  /** Round trip, resends and queue depths of every accepted peer, computed on demand (see {@link NativePeerStats}). */
  peerStats(): NativePeerStats[]
  /**
   * Measure the round trip to every peer with one direct heartbeat each (answered by an ACK); `peerStats()` shows it
   * once answered. Returns how many probes went out. Throws ERR_GLUE_CLOSED.
   */
  probePeers(): number
  /** Send a goodbye, stop the I/O thread, close the sockets. Idempotent. */
  close(): Promise<void>
}

/** Opens a native endpoint; throws an Error with `code` (see errors.ts) on failure. */
export type NativeOpen = (config: NativeConfig, onBatch: (batch: NativeBatch) => void) => NativeTransport

/**
 * One accepted peer's reliable-transport state as the core sees it (computed when asked). Counters count since the
 * channel to (or stream from) the peer was created: they restart at zero when the peer is forgotten and comes back.
 */
export interface NativePeerStats {
  /** The peer's ID, 16 hex digits. */
  id: string
  /** Smoothed round-trip time of the reliable unicast channel to the peer, µs; absent until one was measured. */
  srttMicros?: number
  /** Round-trip time variation (RFC 6298 RTTVAR), µs; absent until measured. */
  rttVarMicros?: number
  /** Reliable messages queued to the peer by unicast. */
  reliableMessagesSent: number
  /** Payload bytes of those messages. */
  reliableBytesSent: number
  /** Reliable messages delivered from the peer (unicast and multicast). */
  reliableMessagesReceived: number
  /** Payload bytes of those messages. */
  reliableBytesReceived: number
  /** Fragments resent to the peer's own address. */
  fragmentsResent: number
  /** Reliable unicast messages to the peer not finished (unacknowledged or waiting for the window). */
  sendQueueMessages: number
  /** Payload bytes of those messages. */
  sendQueueBytes: number
  /** Fragments sent and not acknowledged by the peer yet (unicast and multicast channels). */
  unackedFragments: number
  /** Fragments of unicast messages to the peer waiting for the window. */
  unsentFragments: number
  /** Out-of-order fragments from the peer buffered until a gap is repaired. */
  recvBufferedFragments: number
  /** Bytes of those fragments. */
  recvBufferedBytes: number
}
