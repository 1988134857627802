/**
 * A replicated set (`ep.set(name)`), observed-remove: an add that a concurrent delete did not see survives it (add
 * wins), so every replica ends with the same elements. Elements are values of the set's codec and are compared by
 * their encoding (with msgpack: equal strings and numbers are equal; objects with their keys in the same order).
 */
import type { Codec } from '../topics/codec'
import { ModelNameError } from './errors'
import { MAX_KEY_BYTES } from './wire-parts'
import type { WriteOptions } from './options'
import type { QuorumWriteOptions } from './replicated-map'
import type { RawChange } from './replica'
import { type ChangeOrigin, type ObjectParts, ReplicatedObject } from './replicated-object'
import { encodeFor } from './values'
import { decodeValue } from '../topics/codec'

/** One change of a set, local or remote. */
export interface SetChange<T> {
  /** The element. */
  readonly value: T
  /** True when it was added, false when removed. */
  readonly added: boolean
  /** Who added or removed it. */
  readonly origin: ChangeOrigin
  /** Changed by this endpoint. */
  readonly local: boolean
}

const EMPTY = new Uint8Array(0)

/** See the module doc. */
export class ReplicatedSet<T = unknown> extends ReplicatedObject<SetChange<T>> {
  readonly #codec: Codec<never, unknown>
  readonly #label: string

  constructor(parts: ObjectParts, codec: Codec<never, unknown>) {
    super(parts)
    this.#codec = codec
    this.#label = `set ${parts.name}`
  }

  /** The key an element is stored under: its encoding, one character per byte. */
  #key(value: T): string {
    const key = Buffer.from(encodeFor(this.#codec, this.#label, value)).toString('latin1')
    if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
      throw new ModelNameError(`invalid element of ${this.#label}: its encoding is too long for a key`, value)
    }
    return key
  }

  #element(key: string): T {
    return decodeValue(this.#codec, this.#label, Buffer.from(key, 'latin1')) as T
  }

  /** True when `value` is in the set. */
  has(value: T): boolean {
    return this.replica.store.at(this.#key(value)).length > 0
  }

  /** Number of elements. */
  get size(): number {
    return this.replica.store.liveKeys
  }

  /** The elements, in no particular order. */
  *values(): IterableIterator<T> {
    for (const key of this.replica.store.keys()) yield this.#element(key)
  }

  /** Same as `values()`. */
  [Symbol.iterator](): IterableIterator<T> {
    return this.values()
  }

  /** The elements as an array, by encoding. */
  toJSON(): T[] {
    return [...this.replica.store.keys()].sort().map((key) => this.#element(key))
  }

  /** Adds `value`; with `{ quorum }`, returns a Promise settled as for a map's `set()`. */
  add(value: T): this
  add(value: T, options: QuorumWriteOptions): Promise<void>
  add(value: T, options?: WriteOptions): this | Promise<void>
  add(value: T, options?: WriteOptions): this | Promise<void> {
    this.checkOpen()
    const result = this.write(this.#key(value), this.#codec.id, EMPTY, options)
    return typeof result === 'boolean' ? this : result
  }

  /** Removes `value`; false when it was not in the set. With `{ quorum }`, a Promise of that boolean. */
  delete(value: T): boolean
  delete(value: T, options: QuorumWriteOptions): Promise<boolean>
  delete(value: T, options?: WriteOptions): boolean | Promise<boolean>
  delete(value: T, options?: WriteOptions): boolean | Promise<boolean> {
    this.checkOpen()
    const key = this.#key(value)
    const had = this.replica.store.at(key).length > 0
    const result = this.write(key, 0, undefined, options)
    return typeof result === 'boolean' ? result : result.then(() => had)
  }

  /** Same as `delete()`. */
  remove(value: T): boolean
  remove(value: T, options: QuorumWriteOptions): Promise<boolean>
  remove(value: T, options?: WriteOptions): boolean | Promise<boolean>
  remove(value: T, options?: WriteOptions): boolean | Promise<boolean> {
    return this.delete(value, options)
  }

  protected toEvent(raw: RawChange): SetChange<T> | undefined {
    const added = raw.after !== undefined
    const wasThere = raw.before !== undefined
    if (added === wasThere) return undefined // another concurrent add of an element already there
    return { value: this.#element(raw.key), added, origin: this.originOf(raw), local: raw.local }
  }
}
