/**
 * The model layer of one endpoint: opens replicated maps, counters and sets by name (each object once per endpoint),
 * hands them the peer events, sums their counters and closes them with the endpoint.
 */
import { randomBytes } from 'node:crypto'

import { ClosedError } from '../errors'
import type { PeerEvent } from '../discovery/peer-table'
import { ModelNameError } from './errors'
import { HybridClock } from './hlc'
import { MapSync } from './map-sync'
import type { ModelClock, ModelTopics } from './model-topics'
import { validateObjectName } from './names'
import {
  type MapOptions,
  type ReplicaOptions,
  resolveMapOptions,
  resolveObjectCodec,
  resolveReplicaOptions,
  type ResolvedReplicaOptions,
} from './options'
import { type OpenStore, openSnapshotLog, Persistence, storeName } from './persistence'
import { Replica } from './replica'
import { ReplicatedCounter } from './replicated-counter'
import { ReplicatedMap } from './replicated-map'
import type { ObjectParts } from './replicated-object'
import { ReplicatedSet } from './replicated-set'
import { type ModelCounts, zeroModelCounts } from './stats'
import type { StoreMode } from './dot-store'
import type { CodecOption } from '../topics/codec'

/** Options of `ep.set()`. */
export interface SetOptions extends ReplicaOptions {
  /** How elements become bytes (and are compared): 'msgpack', 'json', 'raw' or a codec object. Default 'msgpack'. */
  codec?: CodecOption
}

interface Open {
  readonly sync: MapSync
  readonly replica: Replica
  readonly object: { close(): Promise<void> }
}

/** See the module doc. */
export class ModelLayer {
  readonly #t: ModelTopics
  readonly #clock: ModelClock
  readonly #onError: (err: unknown) => void
  readonly #counts = zeroModelCounts()
  readonly #open = new Map<string, Open | 'opening'>()
  /** Counters of objects closed already. */
  readonly #closedCounts = { held: 0, collected: 0 }
  #closed = false

  readonly #openStore: OpenStore

  /**
   * `onError` gets what nobody else can be told (an object's disk store failed and it has no `onError` listener: the
   * endpoint makes it an uncaught exception, as Node does with an unhandled 'error' event); `openStore` opens the disk
   * store of a `persist` object (default: a `SnapshotLog`; tests: one in memory).
   */
  constructor(t: ModelTopics, clock: ModelClock, onError: (err: unknown) => void, openStore: OpenStore = openSnapshotLog) {
    this.#t = t
    this.#clock = clock
    this.#onError = onError
    this.#openStore = openStore
  }

  /** See `Endpoint.map`. */
  map<V>(name: string, options?: MapOptions): Promise<ReplicatedMap<V>> {
    validateObjectName(name, 'map')
    const o = resolveMapOptions(options)
    return this.#openObject('map', name, o.mode, o, (parts) => new ReplicatedMap<V>(parts, o.codec))
  }

  /** See `Endpoint.counter`. */
  counter(name: string, options?: ReplicaOptions): Promise<ReplicatedCounter> {
    validateObjectName(name, 'counter')
    const o = resolveReplicaOptions(options, 'counter()')
    return this.#openObject('counter', name, 'lww', o, (parts) => new ReplicatedCounter(parts))
  }

  /** See `Endpoint.set`. */
  set<T>(name: string, options?: SetOptions): Promise<ReplicatedSet<T>> {
    validateObjectName(name, 'set')
    const o = resolveReplicaOptions(options, 'set()', ['codec'])
    const codec = resolveObjectCodec((options as SetOptions | undefined)?.codec)
    return this.#openObject('set', name, 'mv', o, (parts) => new ReplicatedSet<T>(parts, codec))
  }

  async #openObject<T extends { close(): Promise<void> }>(
    kind: ObjectParts['kind'],
    name: string,
    mode: StoreMode,
    o: ResolvedReplicaOptions,
    make: (parts: ObjectParts) => T,
  ): Promise<T> {
    if (this.#closed) throw new ClosedError()
    const key = `${kind}/${name}`
    if (this.#open.has(key)) {
      throw new ModelNameError(`${kind} ${JSON.stringify(name)} is already open on this endpoint: use that one, or close it first`, name)
    }
    this.#open.set(key, 'opening')
    try {
      const clock = new HybridClock(this.#clock.wall, o.maxSkewMs)
      const replica = new Replica(mode, clock, this.#t.id, randomBytes(4).readUInt32LE(0))
      let object: (T & { reportError?: (err: unknown) => boolean }) | undefined
      const report = (error: unknown): void => {
        if (object?.reportError?.(error) !== true) this.#onError(error)
      }
      const where = o.persist && { dir: o.persist.dir, name: storeName(kind, name), fsync: o.persist.fsync }
      const persistence = where && (await Persistence.open(this.#openStore, replica, where, report, this.#clock.soon))
      if (this.#closed) {
        await persistence?.close()
        throw new ClosedError()
      }
      const sync = new MapSync(this.#t, this.#clock, replica, kind, name, o, this.#counts)
      if (persistence !== undefined) sync.onApplied = () => persistence.changed()
      const parts: ObjectParts = {
        kind,
        name,
        replica,
        sync,
        self: { id: this.#t.id, name: this.#t.name },
        nameOf: (id) => this.#t.nameOf(id),
        queueLimit: o.queueLimit,
        counts: this.#counts,
        onError: this.#onError,
        flushed: () => persistence?.flushed() ?? Promise.resolve(),
        close: async () => {
          sync.close()
          this.#closedCounts.held += replica.counts.heldAhead
          this.#closedCounts.collected += replica.counts.collected
          this.#open.delete(key)
          await persistence?.close()
        },
      }
      object = make(parts)
      this.#open.set(key, { sync, replica, object })
      sync.start()
      return object
    } catch (err) {
      if (this.#open.get(key) === 'opening') this.#open.delete(key)
      throw err
    }
  }

  /** Follows the peer table. */
  peerEvent(event: PeerEvent): void {
    const type = event.type === 'peer-up' ? 'up' : event.type === 'peer-down' ? 'down' : event.type === 'peer-changed' ? 'changed' : undefined
    if (type === undefined) return
    const reason = event.type === 'peer-down' ? event.reason : undefined
    for (const open of this.#open.values()) if (open !== 'opening') open.sync.peerEvent(type, event.peer.id, reason)
  }

  /** The counters, summed over every object. */
  stats(): ModelCounts {
    const counts = { ...this.#counts }
    counts.modelHeldAhead += this.#closedCounts.held
    counts.modelTombstonesCollected += this.#closedCounts.collected
    for (const open of this.#open.values()) {
      if (open === 'opening') continue
      counts.modelHeldAhead += open.replica.counts.heldAhead
      counts.modelTombstonesCollected += open.replica.counts.collected
    }
    return counts
  }

  /** Closes every object. */
  async close(): Promise<void> {
    this.#closed = true
    const objects = [...this.#open.values()].filter((o): o is Open => o !== 'opening')
    await Promise.allSettled(objects.map((o) => o.object.close()))
  }
}
