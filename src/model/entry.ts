/**
 * One write as a replica stores it: key, dot (origin and counter), timestamp and the encoded value, or no value for
 * a delete (a tombstone). Entries never change once made; a newer write makes a new entry.
 */
import { hashText, mix32, mixNumber, SEED_1, SEED_2 } from './hash'
import { compareOrigins, type Origin } from './origins'

/** Marks an entry whose value was not decoded yet. */
export const NOT_DECODED: unique symbol = Symbol('not decoded')

/** See the module doc. */
export class Entry {
  /** First hash word of the key (its low byte is the entry's bucket). */
  readonly keyHash: number
  /** The entry's 64-bit hash, two words (see `hash.ts`). */
  readonly h1: number
  readonly h2: number
  /** The decoded value, once someone asked for it. */
  decoded: unknown = NOT_DECODED

  constructor(
    /** The key. */
    readonly key: string,
    /** Who wrote it. */
    readonly origin: Origin,
    /** The origin's write counter, from 1. */
    readonly counter: number,
    /** The hybrid logical clock timestamp (see `hlc.ts`). */
    readonly hlc: number,
    /** The value's codec id (see the topic codecs); 0 for a tombstone. */
    readonly codec: number,
    /** The encoded value; undefined for a delete. */
    readonly value: Uint8Array | undefined,
    /** The key's first hash word when the caller has it already. */
    keyHash?: number,
  ) {
    this.keyHash = keyHash ?? hashText(key, SEED_1)
    const tomb = value === undefined ? 1 : 0
    this.h1 = mixNumber(mixNumber(mix32(mix32(this.keyHash, origin.h1), tomb), counter), hlc)
    this.h2 = mixNumber(mixNumber(mix32(mix32(hashText(key, SEED_2), origin.h2), tomb), counter), hlc)
  }

  /** True for a delete. */
  get deleted(): boolean {
    return this.value === undefined
  }

  /** The bucket of the store summary, 0..255. */
  get bucket(): number {
    return this.keyHash & 0xff
  }
}

/**
 * The order of writes to one key (last writer wins): by timestamp, then origin (endpoint ID, incarnation), then
 * counter. Every replica orders any two entries the same way.
 */
export function compareEntries(a: Entry, b: Entry): number {
  if (a.hlc !== b.hlc) return a.hlc < b.hlc ? -1 : 1
  const byOrigin = compareOrigins(a.origin, b.origin)
  return byOrigin !== 0 ? byOrigin : a.counter - b.counter
}
