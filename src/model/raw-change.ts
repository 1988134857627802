/**
 * Change events of map entries held with the raw codec: their values are Buffers of the stored bytes, made when the
 * listener first reads `value` or `previous` (then kept), not for every event — decoding raw bytes cannot fail, so
 * nothing is left to count, and a listener that only counts changes costs no Buffers. `value` and `previous` are
 * getters (`toJSON()` gives a plain object with them).
 */
import { CodecId } from '../topics/codec'
import type { Entry } from './entry'
import type { MapChange } from './replicated-map'
import type { ChangeOrigin } from './replicated-object'
import type { RawChange } from './replica'

/** True when `e` is absent, a tombstone, or holds raw-codec bytes. */
export const isRaw = (e: Entry | undefined): boolean => e === undefined || e.deleted || e.codec === CodecId.RAW

/** The event of a change whose entries are all {@link isRaw}. */
export class RawMapChange<V> implements MapChange<V> {
  /** The key. */
  readonly key: string
  /** The key is gone. */
  readonly deleted: boolean
  /** Who wrote (or deleted) it. */
  readonly origin: ChangeOrigin
  /** Written by this endpoint. */
  readonly local: boolean
  #after: Entry | undefined
  #before: Entry | undefined
  #value: Buffer | undefined
  #previous: Buffer | undefined

  constructor(raw: RawChange, deleted: boolean, origin: ChangeOrigin) {
    this.key = raw.key
    this.deleted = deleted
    this.origin = origin
    this.local = raw.local
    this.#after = raw.after
    this.#before = raw.before
  }

  /** What `get(key)` returns now (undefined when deleted). */
  get value(): V | undefined {
    if (this.#after !== undefined) {
      this.#value = this.#after.value
      this.#after = undefined
    }
    return this.#value as V | undefined
  }

  /** What it returned before (undefined when the key was absent). */
  get previous(): V | undefined {
    if (this.#before !== undefined) {
      this.#previous = this.#before.value
      this.#before = undefined
    }
    return this.#previous as V | undefined
  }

  /** The event as a plain object. */
  toJSON(): MapChange<V> {
    const { key, value, previous, deleted, origin, local } = this
    return { key, value, previous, deleted, origin, local }
  }
}
