/**
 * A replicated key-value map (`ep.map(name)`): every endpoint that opens the same name holds a replica; writes
 * anywhere reach everyone, and concurrent ones resolve the same way everywhere (see `MapOptions.conflict`).
 */
import type { Codec } from '../topics/codec'
import type { WriteOptions } from './options'
import { type ChangeOrigin, type ObjectParts, ReplicatedObject } from './replicated-object'
import type { RawChange } from './replica'
import { compareEntries } from './entry'
import { validateKey } from './names'
import { decodeEntry, encodeFor } from './values'
import { isRaw, RawMapChange } from './raw-change'

/** One change of a map, local or remote. */
export interface MapChange<V> {
  /** The key. */
  readonly key: string
  /** What `get(key)` returns now (undefined when deleted). */
  readonly value: V | undefined
  /** What it returned before (undefined when the key was absent). */
  readonly previous: V | undefined
  /** The key is gone. */
  readonly deleted: boolean
  /** Who wrote (or deleted) it. */
  readonly origin: ChangeOrigin
  /** Written by this endpoint. */
  readonly local: boolean
}

/** A quorum write's options (the call then returns a Promise). */
export type QuorumWriteOptions = WriteOptions & { quorum: 'majority' | number }

/** See the module doc. */
export class ReplicatedMap<V = unknown> extends ReplicatedObject<MapChange<V>> {
  readonly #codec: Codec<never, unknown>
  readonly #label: string

  constructor(parts: ObjectParts, codec: Codec<never, unknown>) {
    super(parts)
    this.#codec = codec
    this.#label = `map ${parts.name}`
  }

  /** The value at `key` (the latest, with `keep-all`), or undefined. Throws CodecError if it cannot be decoded. */
  get(key: string): V | undefined {
    const e = this.replica.store.winner(key)
    return e === undefined ? undefined : decodeEntry<V>(this.#codec, this.#label, e)
  }

  /** Every concurrent value at `key`, latest first (one with `last-writer-wins`; none when absent). */
  getAll(key: string): V[] {
    const held = [...this.replica.store.at(key)].filter((e) => !e.deleted).sort((a, b) => compareEntries(b, a))
    return held.map((e) => decodeEntry<V>(this.#codec, this.#label, e) as V)
  }

  /** True when `key` has a value. */
  has(key: string): boolean {
    const e = this.replica.store.winner(key)
    return e !== undefined && !e.deleted
  }

  /** Number of keys with a value. */
  get size(): number {
    return this.replica.store.liveKeys
  }

  /** The keys with a value, in no particular order. */
  *keys(): IterableIterator<string> {
    for (const key of this.replica.store.keys()) if (this.has(key)) yield key
  }

  /** The values, in the order of `keys()`. */
  *values(): IterableIterator<V> {
    for (const [, value] of this.entries()) yield value
  }

  /** `[key, value]` pairs, in no particular order. */
  *entries(): IterableIterator<[string, V]> {
    for (const key of this.replica.store.keys()) {
      const e = this.replica.store.winner(key)
      if (e !== undefined && !e.deleted) yield [key, decodeEntry<V>(this.#codec, this.#label, e) as V]
    }
  }

  /** Same as `entries()`. */
  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries()
  }

  /** Calls `fn(value, key)` for every key with a value. */
  forEach(fn: (value: V, key: string) => void): void {
    for (const [key, value] of this.entries()) fn(value, key)
  }

  /**
   * The map as a plain object, keys inserted in sorted order (JavaScript still lists integer-like keys first). A key
   * such as `__proto__` becomes an ordinary property.
   */
  toJSON(): Record<string, V> {
    const out: Record<string, V> = {}
    for (const [key, value] of [...this.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
    }
    return out
  }

  /**
   * Sets `key` to `value` (encoded with the map's codec) here at once, and on the members as the delta arrives.
   * With `{ quorum }`, returns a Promise that resolves once that many endpoints hold the write, or rejects with
   * QuorumError. Throws ModelNameError (bad key), CodecError (value the codec cannot encode), QuorumError (quorum
   * larger than the membership), ClosedError.
   */
  set(key: string, value: V): this
  set(key: string, value: V, options: QuorumWriteOptions): Promise<void>
  set(key: string, value: V, options?: WriteOptions): this | Promise<void>
  set(key: string, value: V, options?: WriteOptions): this | Promise<void> {
    this.checkOpen()
    validateKey(key)
    const bytes = encodeFor(this.#codec, this.#label, value)
    const result = this.write(key, this.#codec.id, bytes, options)
    return typeof result === 'boolean' ? this : result
  }

  /**
   * Deletes `key`; returns false when it had no value (nothing is written then). With `{ quorum }`, returns a
   * Promise of that boolean, settled as for `set()`.
   */
  delete(key: string): boolean
  delete(key: string, options: QuorumWriteOptions): Promise<boolean>
  delete(key: string, options?: WriteOptions): boolean | Promise<boolean>
  delete(key: string, options?: WriteOptions): boolean | Promise<boolean> {
    this.checkOpen()
    validateKey(key)
    const had = this.has(key)
    const result = this.write(key, 0, undefined, options)
    return typeof result === 'boolean' ? result : result.then(() => had)
  }

  /** Deletes every key (one delete per key, sent as one delta). */
  clear(): void {
    for (const key of [...this.keys()]) this.delete(key)
  }

  protected toEvent(raw: RawChange): MapChange<V> | undefined {
    const deleted = raw.after === undefined || raw.after.deleted
    if (isRaw(raw.after) && isRaw(raw.before)) return new RawMapChange<V>(raw, deleted, this.originOf(raw))
    const show = (e: RawChange['before']): V | undefined =>
      e === undefined || e.deleted ? undefined : this.#decodeQuietly(e)
    const value = show(raw.after)
    return { key: raw.key, value, previous: show(raw.before), deleted, origin: this.originOf(raw), local: raw.local }
  }

  /** Decodes for an event; a value that cannot be decoded shows as undefined and is counted. */
  #decodeQuietly(e: NonNullable<RawChange['before']>): V | undefined {
    try {
      return decodeEntry<V>(this.#codec, this.#label, e)
    } catch {
      this.parts.counts.modelDecodeErrors++
      return undefined
    }
  }
}
