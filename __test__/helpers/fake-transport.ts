/**
 * In-memory stand-ins for the native addon, for unit tests of the TypeScript layers:
 * - {@link BatchBuilder} builds a {@link NativeBatch} entry by entry;
 * - {@link FakeTransport} is one {@link NativeTransport} that records what is sent and lets a test deliver batches;
 *   reliable sends are reported on a later macrotask as `reliableOutcome` says (delivered by default);
 * - {@link FakeNetwork} connects fake transports so they discover each other and exchange messages (no sockets),
 *   reliable ones included (large ones handed over whole, as kind-9 entries).
 */
import { randomBytes } from 'node:crypto'

import type {
  NativeBatch,
  NativeConfig,
  NativeOpen,
  NativePeerEvent,
  NativePeerStats,
  NativeStats,
  NativeTransport,
} from '../../src/transport/native-types'
import { decodeSlab } from '../../src/transport/send-slab'

/** A random endpoint ID, 16 lowercase hex digits. */
export function randomId(): string {
  return randomBytes(8).toString('hex')
}

/** All counters zero. */
export function zeroStats(): NativeStats {
  return {
    datagramsSent: 0,
    datagramsReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    messagesSent: 0,
    messagesReceived: 0,
    announcementsSent: 0,
    announcementsReceived: 0,
    droppedMalformed: 0,
    droppedVersion: 0,
    droppedForeignNetwork: 0,
    droppedUnknownPeer: 0,
    droppedRejected: 0,
    droppedUnknownKind: 0,
    ownDatagramsIgnored: 0,
    droppedPeerTableFull: 0,
    reliableMessagesSent: 0,
    reliableMessagesAcked: 0,
    reliableMessagesFailed: 0,
    reliableMessagesReceived: 0,
    fragmentsSent: 0,
    fragmentsResent: 0,
    retransmitTimeouts: 0,
    heartbeatsSent: 0,
    acksSent: 0,
    acksReceived: 0,
    droppedInvalidAck: 0,
    duplicatesDropped: 0,
    droppedBeyondWindow: 0,
    droppedNoMemory: 0,
    reassemblyStalls: 0,
    reassemblyTimeouts: 0,
    droppedTooLarge: 0,
    droppedMalformedMessage: 0,
    droppedIncomplete: 0,
    skippedFragments: 0,
    windowStalls: 0,
    droppedUnsealed: 0,
    droppedNoKey: 0,
    droppedUnknownKey: 0,
    droppedUnauthenticated: 0,
    droppedReplay: 0,
    droppedUnverified: 0,
    challengesSent: 0,
    responsesSent: 0,
    sendersVerified: 0,
    droppedInvalidHeartbeat: 0,
    streamResyncs: 0,
    channelResyncs: 0,
    peersEvicted: 0,
    gossipSent: 0,
    gossipReceived: 0,
    probesSent: 0,
    probesSuppressed: 0,
    unicastFanoutCopies: 0,
    droppedSendQueueFull: 0,
    sendErrors: 0,
    droppedBatches: 0,
    droppedSendUnknownPeer: 0,
    recvErrors: 0,
    readingToIoThread: 0,
    readingToCaller: 0,
  }
}

/** What a peer event needs at least; the rest gets plausible defaults. */
export interface PeerInfo {
  id: string
  name: string
  address?: string
  announcePeriodMs?: number
  /** Announcement extensions. Default: none. */
  extensions?: { type: number; value: Buffer }[]
}

/** Builds a NativeBatch in the layout the native core produces. */
export class BatchBuilder {
  readonly #chunks: Buffer[] = []
  #offset = 0
  readonly #entries: number[] = []
  readonly #peerIds: string[] = []
  readonly #events: NativePeerEvent[] = []
  readonly #failures: string[][] = []
  readonly #buffers: Buffer[] = []

  /** A unicast (or broadcast) message from `from`, best effort or reliable. */
  message(from: string, data: string | Uint8Array, broadcast = false, reliable = false): this {
    const bytes = Buffer.from(data)
    const kind = (broadcast ? 2 : 1) + (reliable ? 5 : 0)
    this.#entries.push(kind, this.#peerIndex(from), this.#offset, bytes.length)
    this.#chunks.push(bytes)
    this.#offset += bytes.length
    return this
  }

  /** A large message handed over whole (kind 9): `data` becomes the message's own Buffer. */
  owned(from: string, data: Buffer, broadcast = false, reliable = true): this {
    const flags = (broadcast ? 1 : 0) | (reliable ? 2 : 0)
    this.#entries.push(9, this.#peerIndex(from), this.#buffers.push(data) - 1, flags)
    return this
  }

  /** Every receiver acknowledged the reliable send with `token`. */
  delivered(token: number): this {
    this.#entries.push(4, token, 0, 0)
    return this
  }

  /** The reliable send with `token` failed; `missing` did not acknowledge. */
  failed(token: number, missing: string[]): this {
    this.#entries.push(5, token, this.#failures.push(missing) - 1, 0)
    return this
  }

  /**
   * The core refused the reliable send with `token` (1 unknown peer, 2 queue full, 3 too large, 4 closed), handing
   * `data` back (as the core does for 2).
   */
  refused(token: number, reason: number, data?: Buffer): this {
    this.#entries.push(8, token, reason, data === undefined ? 0 : this.#buffers.push(data))
    return this
  }

  /** Any peer event. */
  event(event: NativePeerEvent): this {
    this.#entries.push(3, this.#events.push(event) - 1, 0, 0)
    return this
  }

  peerUp(peer: PeerInfo): this {
    return this.event({ type: 'peer-up', ...withDefaults(peer) })
  }

  peerChanged(peer: PeerInfo): this {
    return this.event({ type: 'peer-changed', ...withDefaults(peer) })
  }

  peerDown(peer: PeerInfo, reason = 'left'): this {
    return this.event({ type: 'peer-down', ...withDefaults(peer), reason })
  }

  /** An entry of a kind the decoder does not know (must be skipped). */
  unknownKind(kind = 99): this {
    this.#entries.push(kind, 0, 0, 0)
    return this
  }

  build(): NativeBatch {
    return {
      data: Buffer.concat(this.#chunks),
      entries: Uint32Array.from(this.#entries),
      peerIds: [...this.#peerIds],
      events: [...this.#events],
      failures: [...this.#failures],
      buffers: [...this.#buffers],
    }
  }

  #peerIndex(from: string): number {
    const index = this.#peerIds.indexOf(from)
    return index < 0 ? this.#peerIds.push(from) - 1 : index
  }
}

function withDefaults(peer: PeerInfo): Required<PeerInfo> {
  return { address: '127.0.0.1:40000', announcePeriodMs: 1000, extensions: [], ...peer }
}

/** An Error shaped like the native addon's: a message and a `code`. */
export function nativeError(code: string, message = code): Error {
  return Object.assign(new Error(message), { code })
}

/** A reliable send as the fake transport recorded it. */
export interface ReliableSend {
  /** The receiver; undefined for a broadcast. */
  peerId: string | undefined
  data: Buffer
  token: number
  deadlineMs: number | undefined
}

/**
 * What becomes of a reliable send: reported delivered, failed (naming the receivers that did not acknowledge),
 * refused (reason 1 unknown peer, 2 queue full, 3 too large, 4 closed), or 'hold' (no report: the test reports
 * it with `report()`).
 */
export type ReliableOutcome = 'delivered' | 'hold' | { failed: string[] } | { refused: number }

/** One fake native endpoint: records calls, and lets the test push batches with `deliver()`. */
export class FakeTransport implements NativeTransport {
  readonly id: string
  readonly address: string
  readonly sent: { peerId: string; data: Buffer }[] = []
  readonly broadcasts: Buffer[] = []
  /** Every reliable send accepted, in order. */
  readonly reliable: ReliableSend[] = []
  readonly rejected: string[] = []
  /** Slabs accepted by `sendSlab`. */
  slabs = 0
  readonly counters = zeroStats()
  closed = false
  /** What `send()` / `broadcast()` / the reliable sends return (false simulates a full send / command queue). */
  accepting = true
  /** When set, `send()` / `broadcast()` and the reliable sends throw it (simulates a native error). */
  failure: Error | undefined
  /** The outcome of each accepted reliable send, reported on a later macrotask; a function decides per send. */
  reliableOutcome: ReliableOutcome | ((send: ReliableSend) => ReliableOutcome) = 'delivered'
  /** Called on every send / broadcast that is accepted (reliable ones once delivered); used by FakeNetwork. */
  onTransmit: ((peerId: string | undefined, data: Buffer, reliable: boolean) => void) | undefined
  onClose: (() => void) | undefined
  /** The announcement extensions set, by type. */
  readonly extensions = new Map<number, Buffer>()
  /** Called when an announcement extension changes; used by FakeNetwork. */
  onExtensions: (() => void) | undefined

  constructor(
    readonly config: NativeConfig,
    readonly onBatch: (batch: NativeBatch) => void,
    port: number,
  ) {
    this.id = config.endpointId ?? randomId()
    this.address = `${config.listenAddress.split(':')[0]}:${port}`
  }

  /** Hands a batch to the TypeScript layer, as the native I/O thread would. */
  deliver(batch: NativeBatch): void {
    this.onBatch(batch)
  }

  send(peerId: string, data: Uint8Array): boolean {
    return this.#transmit(peerId, data)
  }

  broadcast(data: Uint8Array): boolean {
    return this.#transmit(undefined, data)
  }

  sendReliable(peerId: string, data: Uint8Array, token: number, deadlineMs?: number | null): boolean {
    return this.#transmitReliable(peerId, data, token, deadlineMs ?? undefined)
  }

  broadcastReliable(data: Uint8Array, token: number, deadlineMs?: number | null): boolean {
    return this.#transmitReliable(undefined, data, token, deadlineMs ?? undefined)
  }

  /** Every record as its own send, as the native core does; all or nothing for a full queue. */
  sendSlab(slab: Uint8Array): boolean {
    const records = decodeSlab(slab)
    const max = this.config.maxMessageSize ?? 256 << 20
    const maxDatagram = (this.config.maxDatagramSize ?? 65_000) - 24
    if (records.some((r) => r.data.length > (r.bestEffort ? maxDatagram : max))) {
      throw nativeError('ERR_GLUE_MESSAGE_TOO_LARGE')
    }
    if (!this.#accept()) {
      this.counters.droppedSendQueueFull += records.filter((r) => r.bestEffort).length - 1 // #accept counted one
      return false
    }
    this.slabs++
    for (const r of records) {
      if (r.bestEffort) this.#transmit(r.peerId, r.data)
      else this.#transmitReliable(r.peerId, r.data, r.token, r.deadlineMs)
    }
    return true
  }

  /**
   * Reports the outcome of the reliable send with `token` now, in a batch of its own. A refusal for a full queue
   * hands the payload back, as the core does (the copy taken when it was sent, unless `handBack` is false).
   */
  report(token: number, outcome: Exclude<ReliableOutcome, 'hold'>, handBack = true): void {
    const batch = new BatchBuilder()
    if (outcome === 'delivered') batch.delivered(token)
    else if ('failed' in outcome) batch.failed(token, outcome.failed)
    else {
      const sent = outcome.refused === 2 && handBack ? this.reliable.find((s) => s.token === token) : undefined
      batch.refused(token, outcome.refused, sent === undefined ? undefined : Buffer.from(sent.data))
    }
    this.deliver(batch.build())
  }

  rejectPeer(peerId: string): void {
    this.rejected.push(peerId)
  }

  setAnnounceExtension(kind: number, value: Uint8Array): void {
    if (this.closed) throw nativeError('ERR_GLUE_CLOSED')
    const before = this.extensions.get(kind)
    if (value.length === 0) this.extensions.delete(kind)
    else this.extensions.set(kind, Buffer.from(value))
    if (before?.equals(value) !== true && !(before === undefined && value.length === 0)) this.onExtensions?.()
  }

  /** The network keys last set (hex), for tests of `setNetworkKeys`. */
  networkKeys: string[] | undefined

  setNetworkKeys(keys: string[]): void {
    if (this.closed) throw nativeError('ERR_GLUE_CLOSED')
    this.networkKeys = [...keys]
  }

  /** The unicast peer addresses last set, for tests of peer re-resolution. */
  peerAddresses: string[] | undefined

  setPeers(peers: string[]): void {
    if (this.closed) throw nativeError('ERR_GLUE_CLOSED')
    this.peerAddresses = [...peers]
  }

  stats(): NativeStats {
    return { ...this.counters }
  }

  peerStats(): NativePeerStats[] {
    return []
  }

  probePeers(): number {
    if (this.closed) throw nativeError('ERR_GLUE_CLOSED')
    return 0
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.onClose?.()
  }

  #transmit(peerId: string | undefined, data: Uint8Array): boolean {
    if (!this.#accept()) return false
    const copy = Buffer.from(data)
    if (peerId === undefined) this.broadcasts.push(copy)
    else this.sent.push({ peerId, data: copy })
    this.counters.messagesSent++
    this.onTransmit?.(peerId, copy, false)
    return true
  }

  #transmitReliable(peerId: string | undefined, data: Uint8Array, token: number, deadlineMs?: number): boolean {
    if (data.length > (this.config.maxMessageSize ?? 256 << 20)) throw nativeError('ERR_GLUE_MESSAGE_TOO_LARGE')
    if (!this.#accept()) return false
    const send: ReliableSend = { peerId, data: Buffer.from(data), token, deadlineMs }
    this.reliable.push(send)
    this.counters.reliableMessagesSent++
    const outcome = typeof this.reliableOutcome === 'function' ? this.reliableOutcome(send) : this.reliableOutcome
    if (outcome === 'hold') return true
    setImmediate(() => {
      if (this.closed) return
      if (outcome === 'delivered') this.onTransmit?.(peerId, send.data, true)
      this.report(token, outcome)
    })
    return true
  }

  #accept(): boolean {
    if (this.closed) throw nativeError('ERR_GLUE_CLOSED')
    if (this.failure !== undefined) throw this.failure
    if (!this.accepting) this.counters.droppedSendQueueFull++
    return this.accepting
  }
}

/** A NativeOpen that creates FakeTransports and keeps them in `transports` (or throws `failWith`). */
export function fakeOpen(failWith?: Error): { open: NativeOpen; transports: FakeTransport[] } {
  const transports: FakeTransport[] = []
  let port = 40000
  const open: NativeOpen = (config, onBatch) => {
    if (failWith !== undefined) throw failWith
    const transport = new FakeTransport(config, onBatch, port++)
    transports.push(transport)
    return transport
  }
  return { open, transports }
}

/**
 * Fake transports that see each other: opening one announces it to the others (and them to it), send / broadcast
 * deliver a one-message batch to the receivers, closing sends 'peer-down' (reason 'left'). Deliveries happen on
 * a later macrotask, like the native I/O thread's. Only endpoints with the same networkId see each other.
 */
export class FakeNetwork {
  readonly transports: FakeTransport[] = []
  readonly #fake = fakeOpen()
  /** Transports cut off from the others (see `cut()`). */
  readonly #cut = new Set<FakeTransport>()
  /** Transports that lose every best-effort message sent to them, with nobody going down (see `mute()`). */
  readonly #muted = new Set<FakeTransport>()

  /** Best-effort messages to `transport` are lost (`on`), or arrive again; peers stay up either way. */
  mute(transport: FakeTransport, on = true): void {
    if (on) this.#muted.add(transport)
    else this.#muted.delete(transport)
  }

  /**
   * A partition: `transport` and the others see each other go down ('expired') and exchange nothing until `heal()`.
   */
  cut(transport: FakeTransport): void {
    const others = this.#peersOf(transport)
    this.#cut.add(transport)
    for (const other of others) {
      this.#later(other, new BatchBuilder().peerDown(infoOf(transport), 'expired').build())
      this.#later(transport, new BatchBuilder().peerDown(infoOf(other), 'expired').build())
    }
  }

  /** Ends a partition: `transport` and the others see each other come up again. */
  heal(transport: FakeTransport): void {
    this.#cut.delete(transport)
    for (const other of this.#peersOf(transport)) {
      this.#later(other, new BatchBuilder().peerUp(infoOf(transport)).build())
      this.#later(transport, new BatchBuilder().peerUp(infoOf(other)).build())
    }
  }

  /** The NativeOpen to pass to `Endpoint.openWith`. */
  readonly open: NativeOpen = (config, onBatch) => {
    const transport = this.#fake.open(config, onBatch) as FakeTransport
    const others = this.#peersOf(transport)
    this.transports.push(transport)
    for (const other of others) {
      this.#later(other, new BatchBuilder().peerUp(infoOf(transport)).build())
      this.#later(transport, new BatchBuilder().peerUp(infoOf(other)).build())
    }
    transport.onTransmit = (peerId, data, reliable) => {
      const receivers =
        peerId === undefined ? this.#peersOf(transport) : this.#peersOf(transport).filter((t) => t.id === peerId)
      const broadcast = peerId === undefined
      for (const receiver of receivers) {
        if (receiver.rejected.includes(transport.id) || (!reliable && this.#muted.has(receiver))) continue
        const batch = new BatchBuilder()
        if (reliable && data.length > LARGE) batch.owned(transport.id, Buffer.from(data), broadcast)
        else batch.message(transport.id, data, broadcast, reliable)
        if (reliable) receiver.deliver(batch.build())
        else this.#later(receiver, batch.build())
      }
    }
    transport.onExtensions = () => {
      for (const other of this.#peersOf(transport))
        this.#later(other, new BatchBuilder().peerChanged(infoOf(transport)).build())
    }
    transport.onClose = () => {
      for (const other of this.#peersOf(transport))
        this.#later(other, new BatchBuilder().peerDown(infoOf(transport)).build())
      this.transports.splice(this.transports.indexOf(transport), 1)
    }
    return transport
  }

  #peersOf(transport: FakeTransport): FakeTransport[] {
    if (this.#cut.has(transport)) return []
    return this.transports.filter(
      (t) => t !== transport && !t.closed && !this.#cut.has(t) && t.config.networkId === transport.config.networkId,
    )
  }

  #later(receiver: FakeTransport, batch: NativeBatch): void {
    setImmediate(() => {
      if (!receiver.closed) receiver.deliver(batch)
    })
  }
}

/** Reliable messages larger than this reach FakeNetwork receivers as kind-9 entries (their own Buffer). */
const LARGE = 64 * 1024

function infoOf(transport: FakeTransport): PeerInfo {
  return {
    id: transport.id,
    name: transport.config.name,
    address: transport.address,
    announcePeriodMs: transport.config.announcePeriodMs,
    extensions: [...transport.extensions].map(([type, value]) => ({ type, value })),
  }
}
