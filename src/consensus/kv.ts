/**
 * The linearizable key-value store of a consensus group (`g.kv`): every operation is a committed log entry (writes)
 * or a ReadIndex barrier followed by a local read (reads), so each appears to take effect at one instant between
 * its call and its result, on every member alike. Values go through the group's codec; `cas` compares encodings.
 */
import { AsyncQueue } from '../util/async-queue'
import { Listeners } from '../util/listeners'
import { decodeValue, encodeValue, type Codec } from '../topics/codec'
import { validateKey } from '../model/names'
import type { GroupCore } from './group'
import type { ConsensusCounts } from './stats'
import { Op } from './commands'
import { type OperationOptions, resolveDeadline } from './options'

/**
 * A committed change of a key, as `watch()` reports it (on every member, in log order). A member that catches up by
 * a snapshot (it was far behind) reports each key's net change at the snapshot's index, in key order: the values in
 * between are not in the snapshot.
 */
export interface KvChange<V> {
  readonly key: string
  /** The value now (undefined when deleted). */
  readonly value: V | undefined
  /** The value before (undefined when there was none). */
  readonly previous: V | undefined
  readonly deleted: boolean
  /** Log index of the entry that made the change. */
  readonly index: number
}

/** Options of `watch()`. */
export interface WatchOptions {
  /** Aborting ends the iteration. */
  signal?: AbortSignal
}

/** See the module doc. */
export class ConsensusKv<V = unknown> {
  readonly #core: GroupCore
  readonly #codec: Codec<never, unknown>
  readonly #deadlineMs: number
  readonly #label: string
  readonly #queueLimit: number
  readonly #counts: ConsensusCounts
  readonly #listeners: Listeners<KvChange<V>>

  constructor(core: GroupCore, codec: Codec<never, unknown>, deadlineMs: number, queueLimit: number, counts: ConsensusCounts, onError: (err: unknown) => void) {
    this.#core = core
    this.#codec = codec
    this.#deadlineMs = deadlineMs
    this.#label = `consensus ${core.name}`
    this.#queueLimit = queueLimit
    this.#counts = counts
    this.#listeners = new Listeners(onError)
    core.onOutcome((o, index) => {
      if (this.#listeners.size === 0) return
      if (o.op === 'put') this.#changed(o.key, o.value, o.previous, index)
      else if (o.op === 'delete' && o.previous !== undefined) this.#changed(o.key, undefined, o.previous, index)
      else if (o.op === 'cas' && o.ok) this.#changed(o.key, o.value, o.previous, index)
    })
    let before: Map<string, Buffer> | undefined
    core.onRestore({
      before: () => {
        before = this.#listeners.size === 0 ? undefined : new Map(core.state.kv)
      },
      after: (index) => {
        if (before === undefined) return
        const old = before
        before = undefined
        this.#reportSnapshot(old, core.state.kv, index)
      },
    })
  }

  /** The net change of every key between the state before a snapshot and the snapshot's, in key order. */
  #reportSnapshot(old: ReadonlyMap<string, Buffer>, now: ReadonlyMap<string, Buffer>, index: number): void {
    const keys = new Set([...old.keys(), ...now.keys()])
    for (const key of [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
      const previous = old.get(key)
      const value = now.get(key)
      if (previous !== undefined && value !== undefined && previous.equals(value)) continue
      this.#changed(key, value, previous, index)
    }
  }

  #changed(key: string, value: Buffer | undefined, previous: Buffer | undefined, index: number): void {
    this.#listeners.emit({
      key,
      value: value === undefined ? undefined : this.#decode(value),
      previous: previous === undefined ? undefined : this.#decode(previous),
      deleted: value === undefined,
      index,
    })
  }

  #decode(data: Buffer): V {
    return decodeValue(this.#codec, this.#label, data) as V
  }

  #encode(value: V): Buffer {
    const bytes = encodeValue(this.#codec as Codec<V, unknown>, this.#label, value)
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  /** Sets `key` to `value`; resolves once committed and applied here. Throws at the call for a bad key or value. */
  async put(key: string, value: V, options?: OperationOptions): Promise<void> {
    validateKey(key)
    const deadline = resolveDeadline(options, this.#deadlineMs)
    await this.#core.submit({ op: Op.PUT, key, value: this.#encode(value) }, deadline)
  }

  /** The value at `key` (linearizable: it reflects every write that completed before the call). */
  async get(key: string, options?: OperationOptions): Promise<V | undefined> {
    validateKey(key)
    await this.#core.readBarrier(resolveDeadline(options, this.#deadlineMs))
    const data = this.#core.state.kv.get(key)
    return data === undefined ? undefined : this.#decode(data)
  }

  /** The value at `key` as this member applied it so far: no round trip, possibly stale. */
  getLocal(key: string): V | undefined {
    const data = this.#core.state.kv.get(key)
    return data === undefined ? undefined : this.#decode(data)
  }

  /** Every `[key, value]` whose key starts with `prefix`, sorted by key (linearizable). */
  async list(prefix = '', options?: OperationOptions): Promise<[string, V][]> {
    await this.#core.readBarrier(resolveDeadline(options, this.#deadlineMs))
    const out: [string, V][] = []
    for (const [key, data] of this.#core.state.kv) if (key.startsWith(prefix)) out.push([key, this.#decode(data)])
    return out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  }

  /**
   * Sets `key` to `next` if its value is `expected` now (undefined: absent; `next` undefined: delete); resolves to
   * whether it did. Values compare by their encoding.
   */
  async cas(key: string, expected: V | undefined, next: V | undefined, options?: OperationOptions): Promise<boolean> {
    validateKey(key)
    const deadline = resolveDeadline(options, this.#deadlineMs)
    const e = expected === undefined ? null : this.#encode(expected)
    const n = next === undefined ? null : this.#encode(next)
    return (await this.#core.submit({ op: Op.CAS, key, expected: e, next: n }, deadline)).ok
  }

  /** Deletes `key`; resolves to whether it had a value. */
  async delete(key: string, options?: OperationOptions): Promise<boolean> {
    validateKey(key)
    const deadline = resolveDeadline(options, this.#deadlineMs)
    return (await this.#core.submit({ op: Op.DELETE, key }, deadline)).ok
  }

  /** Calls `cb` for every committed change of a key starting with `prefix`, in log order; returns the unsubscribe. */
  onChange(cb: (change: KvChange<V>) => void, prefix = ''): () => void {
    return this.#listeners.add((c) => {
      if (c.key.startsWith(prefix)) cb(c)
    })
  }

  /** Committed changes of keys starting with `prefix`, from now on, as an async iterator (bounded: `queueLimit`). */
  watch(prefix = '', options: WatchOptions = {}): AsyncIterableIterator<KvChange<V>, undefined> {
    let remove = (): void => {}
    const queue = new AsyncQueue<KvChange<V>>({
      limit: this.#queueLimit,
      signal: options.signal,
      onDrop: () => this.#counts.consensusEventDrops++,
      onFinish: () => remove(),
    })
    if (this.#core.isClosed) queue.end()
    else {
      remove = this.onChange((c) => queue.push(c), prefix)
      this.#queues.add(queue)
    }
    return queue
  }

  readonly #queues = new Set<AsyncQueue<KvChange<V>>>()

  /** Ends every watch (the group closes). */
  close(): void {
    for (const q of this.#queues) q.end()
    this.#listeners.clear()
  }
}
