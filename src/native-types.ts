/**
 * The contract between the TypeScript layers and the native addon (crates/glue-node).
 *
 * The generated loader (`binding.js` / `binding.d.ts`, written by `napi build`) exports `NativeEndpoint`;
 * everything above it depends on the {@link NativeTransport} interface only, so the TypeScript layers can be
 * unit-tested with an in-memory fake as well.
 */

/** Options handed to the native core, already validated and defaulted by TypeScript (see options.ts). */
export interface NativeConfig {
  /** Network ID (u32); datagrams of other networks are dropped and counted. */
  networkId: number
  /** Endpoint ID as 16 lowercase hex digits (u64), or undefined for a random one. */
  endpointId?: string
  /** Endpoint name, 1..=255 UTF-8 bytes. */
  name: string
  /** Unicast bind address "ip:port"; port 0 = ephemeral. */
  listenAddress: string
  /** IPv4 address of the interface for multicast (join, IP_MULTICAST_IF). */
  interfaceAddress: string
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
}

/** A peer as the native core reports it. */
export interface NativePeerEvent {
  type: 'peer-up' | 'peer-down' | 'peer-changed' | 'name-clash'
  /** The peer's ID (16 hex digits). For 'name-clash': the newcomer. */
  id: string
  name: string
  /** The peer's unicast address "ip:port". */
  address: string
  /** The peer's announce period in ms. */
  announcePeriodMs: number
  /** For 'peer-down': 'expired' | 'left' | 'restarted'. */
  reason?: string
  /** For 'name-clash': the ID that held the name first (may be our own ID). */
  existingId?: string
  /** For 'name-clash': true when the newcomer was rejected (nameClash: 'reject'). */
  rejected?: boolean
}

/**
 * One batch of inbound events, in arrival order. `entries` holds 4 u32 per entry:
 * `[kind, a, b, c]`:
 * - kind 1 (unicast message) / 2 (broadcast message): a = index into `peerIds`, b = byte offset into `data`,
 *   c = byte length;
 * - kind 3 (peer event): a = index into `events`.
 */
export interface NativeBatch {
  data: Buffer
  entries: Uint32Array
  peerIds: string[]
  events: NativePeerEvent[]
}

/** Counters of one endpoint (all monotonically increasing). */
export interface NativeStats {
  datagramsSent: number
  datagramsReceived: number
  bytesSent: number
  bytesReceived: number
  messagesSent: number
  messagesReceived: number
  announcementsSent: number
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
  /** Sends dropped because the native send queue was full. */
  droppedSendQueueFull: number
  /** Socket send errors. */
  sendErrors: number
  /** Inbound batches dropped because JS did not keep up. */
  droppedBatches: number
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
  /** Tell the core to ignore this peer from now on (accept filter said no). */
  rejectPeer(peerId: string): void
  stats(): NativeStats
  /** Send a goodbye, stop the I/O thread, close the sockets. Idempotent. */
  close(): Promise<void>
}

/** Opens a native endpoint; throws an Error with `code` (see errors.ts) on failure. */
export type NativeOpen = (config: NativeConfig, onBatch: (batch: NativeBatch) => void) => NativeTransport
