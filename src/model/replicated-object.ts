/**
 * What every replicated object (map, counter, set) offers: change events as callbacks or an async iterator,
 * `synced()`, the members, a hash of the state, close. Subclasses add their data type's reads and writes.
 */
import { ClosedError } from '../errors'
import { AsyncQueue } from '../util/async-queue'
import { Listeners } from '../util/listeners'
import type { MapSync } from './map-sync'
import type { ModelCounts } from './stats'
import { resolveWriteOptions, type WriteOptions } from './options'
import type { RawChange, Replica } from './replica'
import { canonicalEncoding, stateHash } from './snapshot'
import { InvalidOptionError } from '../errors'

/** Who made a change. */
export interface ChangeOrigin {
  /** Endpoint ID, 16 hex digits. */
  readonly id: string
  /** Endpoint name ('' when unknown). */
  readonly name: string
}

/** A member of a replicated object. */
export interface ModelMember {
  readonly id: string
  readonly name: string
}

/** What the model layer hands a replicated object. */
export interface ObjectParts {
  readonly kind: 'map' | 'counter' | 'set'
  readonly name: string
  readonly replica: Replica
  readonly sync: MapSync
  readonly self: ChangeOrigin
  readonly nameOf: (id: string) => string
  readonly queueLimit: number
  readonly counts: ModelCounts
  readonly onError: (err: unknown) => void
  /** Resolves once every change so far reached the disk store (at once without `persist`). */
  readonly flushed: () => Promise<void>
  /** Closes what the layer opened for the object (sync, persistence) and forgets it. */
  readonly close: () => Promise<void>
}

/** Options of `changes()`. */
export interface ChangesOptions {
  /** Aborting ends the iteration. */
  signal?: AbortSignal
}

/** Options of `synced()`. */
export interface SyncedOptions {
  /** How long to wait, ms, 1..2147483647. Default 10000. */
  timeoutMs?: number
}

/** See the module doc. `E` is the type of change events. */
export abstract class ReplicatedObject<E> implements AsyncDisposable {
  /** The object's name, as given to `ep.map()` / `ep.counter()` / `ep.set()`. */
  readonly name: string
  protected readonly replica: Replica
  protected readonly sync: MapSync
  protected readonly parts: ObjectParts
  readonly #listeners: Listeners<E>
  #closing: Promise<void> | undefined

  constructor(parts: ObjectParts) {
    this.parts = parts
    this.name = parts.name
    this.replica = parts.replica
    this.sync = parts.sync
    this.#listeners = new Listeners(parts.onError)
    this.replica.onChange = (raw) => {
      this.observe(raw)
      if (this.#listeners.size === 0) return
      const event = this.toEvent(raw)
      if (event !== undefined) this.#listeners.emit(event)
    }
  }

  /** Sees every change of the replica, listeners or not (a counter keeps its total). */
  protected observe(_raw: RawChange): void {}

  /** Turns a change of the replica into this object's event (undefined: none). */
  protected abstract toEvent(raw: RawChange): E | undefined

  /** Who made the write or removal behind a change. */
  protected originOf(raw: RawChange): ChangeOrigin {
    const { id } = raw.cause.origin
    return { id, name: id === this.parts.self.id ? this.parts.self.name : this.parts.nameOf(id) }
  }

  /**
   * Calls `callback` when the disk store (`persist`) fails, e.g. the disk is full: the object goes on in memory only
   * (a restart comes back with what was written before). Without a callback such a failure is an uncaught exception,
   * as an unhandled 'error' event is in Node. Returns the function that removes it.
   */
  onError(callback: (error: unknown) => void): () => void {
    return this.#errorListeners.add(callback)
  }

  readonly #errorListeners = new Listeners<unknown>((err) => this.parts.onError(err))

  /** @internal Hands a failure to the `onError` callbacks; false when there are none. */
  reportError(error: unknown): boolean {
    if (this.#errorListeners.size === 0) return false
    this.#errorListeners.emit(error)
    return true
  }

  /** Calls `callback` for every change, local and remote, once each. Returns the function that removes it. */
  onChange(callback: (event: E) => void): () => void {
    return this.#listeners.add(callback)
  }

  /**
   * Every change from now on, local and remote, once each, as an async iterator; ends when the object closes.
   * Holds at most `queueLimit` unread events (the oldest are dropped and counted in `modelChangeDrops`).
   */
  changes(options: ChangesOptions = {}): AsyncIterableIterator<E, undefined> {
    let remove = (): void => {}
    const queue = new AsyncQueue<E>({
      limit: this.parts.queueLimit,
      signal: options.signal,
      onDrop: () => this.parts.counts.modelChangeDrops++,
      onFinish: () => remove(),
    })
    if (this.#closing !== undefined) queue.end()
    else remove = this.#listeners.add((event) => queue.push(event))
    this.#queues.add(queue)
    return queue
  }

  readonly #queues = new Set<AsyncQueue<E>>()

  /**
   * Resolves once this replica holds everything that every reachable member reported (a late joiner, or one back
   * from a partition, has caught up). Rejects with TimeoutError naming the members it is behind.
   */
  synced(options: SyncedOptions = {}): Promise<void> {
    const timeoutMs = options.timeoutMs ?? 10_000
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1 || timeoutMs > 2 ** 31 - 1) {
      throw new InvalidOptionError(`Invalid option timeoutMs: ${String(timeoutMs)} (expected an integer 1..2147483647, ms)`, {
        option: 'timeoutMs',
        value: timeoutMs,
      })
    }
    if (this.#closing !== undefined) return Promise.reject(new ClosedError(`${this.parts.kind} ${this.name} is closed`))
    return this.sync.waits.synced(timeoutMs)
  }

  /**
   * With `persist`: resolves once every change applied so far (local and remote) was handed to the disk store and
   * written (and fsynced as the `fsync` policy says). At once without `persist`.
   */
  flushed(): Promise<void> {
    return this.parts.flushed()
  }

  /** The other members up (endpoints that have this object open and are peers now). */
  members(): ModelMember[] {
    return this.sync.waits.othersUp()
  }

  /** SHA-256 (hex) of the canonical encoding of what this replica shows: equal on replicas that converged. */
  stateHash(): string {
    return stateHash(this.replica)
  }

  /** The canonical encoding of what this replica shows (see `docs/PROTOCOL.md`); equal on converged replicas. */
  canonical(): Buffer {
    return canonicalEncoding(this.replica)
  }

  /** True once `close()` was called. */
  get isClosed(): boolean {
    return this.#closing !== undefined
  }

  /**
   * Tells the members this replica leaves, flushes what is written (and, with `persist`, writes it to disk), ends
   * the iterators and rejects what waits. The endpoint's close closes every object.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close(): Promise<void> {
    await this.parts.close()
    this.#listeners.clear()
    for (const q of this.#queues) q.end()
    this.#queues.clear()
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  /** Throws ClosedError once closed. */
  protected checkOpen(): void {
    if (this.#closing !== undefined) throw new ClosedError(`${this.parts.kind} ${this.name} is closed`)
  }

  /**
   * Writes through the replica (`value` undefined: delete) and sends it; with a quorum, returns the Promise of
   * the quorum (the quorum is checked before anything is written). Returns false when nothing changed.
   */
  protected write(key: string, codec: number, value: Uint8Array | undefined, options?: WriteOptions): boolean | Promise<void> {
    this.checkOpen()
    const q = resolveWriteOptions(options)
    const required = q === undefined ? 0 : this.sync.waits.required(q.quorum)
    const changed = this.replica.write(key, codec, value)
    if (changed) this.sync.wrote()
    if (q === undefined) return changed
    return this.sync.waits.quorum(this.replica.counter, required, q.deadlineMs)
  }
}
