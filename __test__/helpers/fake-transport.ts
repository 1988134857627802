/**
 * In-memory stand-ins for the native addon, for unit tests of the TypeScript layers:
 * - {@link BatchBuilder} builds a {@link NativeBatch} entry by entry;
 * - {@link FakeTransport} is one {@link NativeTransport} that records what is sent and lets a test deliver batches;
 * - {@link FakeNetwork} connects fake transports so they discover each other and exchange messages (no sockets).
 */
import { randomBytes } from 'node:crypto'

import type {
  NativeBatch,
  NativeConfig,
  NativeOpen,
  NativePeerEvent,
  NativeStats,
  NativeTransport,
} from '../../src/native-types'

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
    droppedSendQueueFull: 0,
    sendErrors: 0,
    droppedBatches: 0,
  }
}

/** What a peer event needs at least; the rest gets plausible defaults. */
export interface PeerInfo {
  id: string
  name: string
  address?: string
  announcePeriodMs?: number
}

/** Builds a NativeBatch in the layout the native core produces. */
export class BatchBuilder {
  readonly #chunks: Buffer[] = []
  #offset = 0
  readonly #entries: number[] = []
  readonly #peerIds: string[] = []
  readonly #events: NativePeerEvent[] = []

  /** A unicast (or broadcast) message from `from`. */
  message(from: string, data: string | Uint8Array, broadcast = false): this {
    const bytes = Buffer.from(data)
    let index = this.#peerIds.indexOf(from)
    if (index < 0) index = this.#peerIds.push(from) - 1
    this.#entries.push(broadcast ? 2 : 1, index, this.#offset, bytes.length)
    this.#chunks.push(bytes)
    this.#offset += bytes.length
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
    }
  }
}

function withDefaults(peer: PeerInfo): Required<PeerInfo> {
  return { address: '127.0.0.1:40000', announcePeriodMs: 1000, ...peer }
}

/** An Error shaped like the native addon's: a message and a `code`. */
export function nativeError(code: string, message = code): Error {
  return Object.assign(new Error(message), { code })
}

/** One fake native endpoint: records calls, and lets the test push batches with `deliver()`. */
export class FakeTransport implements NativeTransport {
  readonly id: string
  readonly address: string
  readonly sent: { peerId: string; data: Buffer }[] = []
  readonly broadcasts: Buffer[] = []
  readonly rejected: string[] = []
  readonly counters = zeroStats()
  closed = false
  /** What `send()` / `broadcast()` return (false simulates a full send queue). */
  accepting = true
  /** When set, `send()` / `broadcast()` throw it (simulates a native error). */
  failure: Error | undefined
  /** Called on every send / broadcast that is accepted; used by FakeNetwork. */
  onTransmit: ((peerId: string | undefined, data: Buffer) => void) | undefined
  onClose: (() => void) | undefined

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

  rejectPeer(peerId: string): void {
    this.rejected.push(peerId)
  }

  stats(): NativeStats {
    return { ...this.counters }
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.onClose?.()
  }

  #transmit(peerId: string | undefined, data: Uint8Array): boolean {
    if (this.closed) throw nativeError('ERR_GLUE_CLOSED')
    if (this.failure !== undefined) throw this.failure
    if (!this.accepting) {
      this.counters.droppedSendQueueFull++
      return false
    }
    const copy = Buffer.from(data)
    if (peerId === undefined) this.broadcasts.push(copy)
    else this.sent.push({ peerId, data: copy })
    this.counters.messagesSent++
    this.onTransmit?.(peerId, copy)
    return true
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

  /** The NativeOpen to pass to `Endpoint.openWith`. */
  readonly open: NativeOpen = (config, onBatch) => {
    const transport = this.#fake.open(config, onBatch) as FakeTransport
    const others = this.#peersOf(transport)
    this.transports.push(transport)
    for (const other of others) {
      this.#later(other, new BatchBuilder().peerUp(infoOf(transport)).build())
      this.#later(transport, new BatchBuilder().peerUp(infoOf(other)).build())
    }
    transport.onTransmit = (peerId, data) => {
      const receivers =
        peerId === undefined ? this.#peersOf(transport) : this.#peersOf(transport).filter((t) => t.id === peerId)
      for (const receiver of receivers) {
        if (receiver.rejected.includes(transport.id)) continue
        this.#later(receiver, new BatchBuilder().message(transport.id, data, peerId === undefined).build())
      }
    }
    transport.onClose = () => {
      for (const other of this.#peersOf(transport))
        this.#later(other, new BatchBuilder().peerDown(infoOf(transport)).build())
      this.transports.splice(this.transports.indexOf(transport), 1)
    }
    return transport
  }

  #peersOf(transport: FakeTransport): FakeTransport[] {
    return this.transports.filter(
      (t) => t !== transport && !t.closed && t.config.networkId === transport.config.networkId,
    )
  }

  #later(receiver: FakeTransport, batch: NativeBatch): void {
    setImmediate(() => {
      if (!receiver.closed) receiver.deliver(batch)
    })
  }
}

function infoOf(transport: FakeTransport): PeerInfo {
  return {
    id: transport.id,
    name: transport.config.name,
    address: transport.address,
    announcePeriodMs: transport.config.announcePeriodMs,
  }
}
