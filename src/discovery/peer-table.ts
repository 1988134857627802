/**
 * The TypeScript view of the peer table: applies the native core's peer events, runs the accept filter, keeps
 * rejected peers hidden, and resolves `send()` targets by ID or name.
 */
import type { NativePeerEvent } from '../transport/native-types'

/** Another endpoint of the same network, as discovered. Immutable: a change produces a new object. */
export interface Peer {
  /** Endpoint ID, 16 lowercase hex digits. */
  readonly id: string
  /** Endpoint name (1..255 UTF-8 bytes); not necessarily unique, see the 'name-clash' status event. */
  readonly name: string
  /** Unicast address "ip:port". */
  readonly address: string
  /** The peer's announce period, milliseconds. */
  readonly announcePeriodMs: number
  /** When this endpoint first saw the peer (a change keeps it). */
  readonly since: Date
  /**
   * The extensions of the peer's latest announcement by type (0x10: its topic interest summary). A change is a
   * 'peer-changed' event.
   */
  readonly extensions: ReadonlyMap<number, Buffer>
}

/**
 * Why a peer went down: silent for too long, said goodbye, came back with a new incarnation, or lost its slot in a
 * full peer table to a newcomer (it had sent nothing but announcements).
 */
export type PeerDownReason = 'expired' | 'left' | 'restarted' | 'evicted' | (string & {})

/** A change in the peer table, or a name clash (part of the endpoint's status events, `StatusEvent` in src/status.ts). */
export type PeerEvent =
  | { type: 'peer-up'; peer: Peer }
  | { type: 'peer-down'; peer: Peer; reason: PeerDownReason }
  | { type: 'peer-changed'; peer: Peer; previous: Peer }
  | {
      type: 'name-clash'
      /** The newcomer that announced a name already taken. */
      peer: Peer
      /** ID of the endpoint that held the name first (may be this endpoint's own ID). */
      existingId: string
      /** True when the newcomer is ignored (option `nameClash: 'reject'`). */
      rejected: boolean
    }

/** The accept filter's hooks: the user's predicate and how to tell the core to ignore a peer. */
export interface AcceptHooks {
  accept: ((peer: Peer) => boolean) | undefined
  reject: (peerId: string) => void
  /** Receives an exception thrown by `accept` (the peer is then rejected). */
  onError: (err: unknown) => void
}

const HEX_ID = /^[0-9a-fA-F]{16}$/
/** How many departed peers' names are remembered (to name them in errors that arrive after they left). */
const DEPARTED_NAMES = 1024

const NO_EXTENSIONS: ReadonlyMap<number, Buffer> = new Map()

function toPeer(event: NativePeerEvent, since: Date): Peer {
  const list = event.extensions ?? []
  const extensions = list.length === 0 ? NO_EXTENSIONS : new Map(list.map((e) => [e.type, e.value] as const))
  const { id, name, address, announcePeriodMs } = event
  return { id, name, address, announcePeriodMs, since, extensions }
}

/** True when both peers announced the same extensions. */
function sameExtensions(a: Peer, b: Peer): boolean {
  if (a.extensions.size !== b.extensions.size) return false
  for (const [type, value] of a.extensions) if (!b.extensions.get(type)?.equals(value)) return false
  return true
}

/** Peers by ID and by name, plus the IDs that the accept filter rejected. */
export class PeerTable {
  readonly #byId = new Map<string, Peer>()
  /** The oldest peer holding each name. */
  readonly #byName = new Map<string, Peer>()
  readonly #rejected = new Set<string>()
  /** Names of the most recently departed peers, oldest first (bounded). */
  readonly #departed = new Map<string, string>()
  readonly #hooks: AcceptHooks

  constructor(hooks: AcceptHooks) {
    this.#hooks = hooks
  }

  /** Number of visible peers. */
  get size(): number {
    return this.#byId.size
  }

  /** The visible peer with this ID. */
  get(id: string): Peer | undefined {
    return this.#byId.get(id)
  }

  /** True when the accept filter rejected this peer ID (its messages are dropped). */
  isRejected(id: string): boolean {
    return this.#rejected.has(id)
  }

  /** A visible peer by ID (16 hex digits, any case) or else by name (the oldest holder of the name). */
  resolve(target: string): Peer | undefined {
    const byId = HEX_ID.test(target) ? this.#byId.get(target.toLowerCase()) : undefined
    return byId ?? this.#byName.get(target)
  }

  /** The name of a visible or recently departed peer by ID; '' if unknown. */
  nameOf(id: string): string {
    return this.#byId.get(id)?.name ?? this.#departed.get(id) ?? ''
  }

  /** Snapshot of the visible peers, oldest first. */
  list(): Peer[] {
    return [...this.#byId.values()]
  }

  /** Forgets everything (on close). */
  clear(): void {
    this.#byId.clear()
    this.#byName.clear()
    this.#rejected.clear()
    this.#departed.clear()
  }

  /** Applies one native peer event; returns the status event to emit, or undefined when it is hidden. */
  apply(event: NativePeerEvent): PeerEvent | undefined {
    const { id } = event
    if (event.type === 'name-clash') {
      if (this.#rejected.has(id)) return undefined
      const peer = this.#byId.get(id) ?? toPeer(event, new Date())
      return { type: 'name-clash', peer, existingId: event.existingId ?? '', rejected: event.rejected === true }
    }
    if (event.type === 'peer-down') {
      if (this.#rejected.delete(id)) return undefined
      const peer = this.#remove(id)
      return peer === undefined ? undefined : { type: 'peer-down', peer, reason: event.reason ?? 'expired' }
    }
    if (this.#rejected.has(id) && event.type === 'peer-changed') return undefined
    const previous = this.#byId.get(id)
    if (previous === undefined) return this.#admit(toPeer(event, new Date()))
    const peer = toPeer(event, previous.since)
    if (
      peer.name === previous.name &&
      peer.address === previous.address &&
      peer.announcePeriodMs === previous.announcePeriodMs &&
      sameExtensions(peer, previous)
    ) {
      return undefined
    }
    this.#byId.set(id, peer) // keeps the peer's place in the (oldest first) order
    if (this.#byName.get(previous.name) === previous && previous.name === peer.name) this.#byName.set(peer.name, peer)
    else {
      this.#unindexName(previous)
      this.#indexName(peer)
    }
    return { type: 'peer-changed', peer, previous }
  }

  #admit(peer: Peer): PeerEvent | undefined {
    this.#rejected.delete(peer.id)
    if (!this.#accepts(peer)) {
      this.#rejected.add(peer.id)
      this.#hooks.reject(peer.id)
      return undefined
    }
    this.#add(peer)
    return { type: 'peer-up', peer }
  }

  #accepts(peer: Peer): boolean {
    const { accept } = this.#hooks
    if (accept === undefined) return true
    try {
      return accept(peer) === true
    } catch (err) {
      this.#hooks.onError(err)
      return false
    }
  }

  #add(peer: Peer): void {
    this.#byId.set(peer.id, peer)
    this.#indexName(peer)
  }

  #remove(id: string): Peer | undefined {
    const peer = this.#byId.get(id)
    if (peer === undefined) return undefined
    this.#byId.delete(id)
    this.#unindexName(peer)
    this.#departed.delete(id)
    this.#departed.set(id, peer.name)
    if (this.#departed.size > DEPARTED_NAMES) this.#departed.delete(this.#departed.keys().next().value as string)
    return peer
  }

  #indexName(peer: Peer): void {
    if (!this.#byName.has(peer.name)) this.#byName.set(peer.name, peer)
  }

  /** Drops `peer` as holder of its name and hands the name to the oldest other peer that has it. */
  #unindexName(peer: Peer): void {
    if (this.#byName.get(peer.name) !== peer) return
    this.#byName.delete(peer.name)
    for (const other of this.#byId.values()) {
      if (other.name === peer.name && other.id !== peer.id) {
        this.#byName.set(other.name, other)
        return
      }
    }
  }
}
