/**
 * One write as a replica stores it: key, dot (origin and counter), timestamp and the encoded value, or no value for
 * a delete (a tombstone). Entries never change once made; a newer write makes a new entry.
 *
 * The value's bytes are kept as a Latin-1 string (one char per byte): a single heap object without a backing store,
 * which costs the garbage collector far less than a typed array per value in a store of many small values that are
 * overwritten all the time. `value` makes a Buffer of them when asked.
 */
import { hashText, SEED_1, SEED_2 } from './hash'
import { latin1Of } from './latin1'
import { compareOrigins, type Origin } from './origins'

// The hashes of `hash.ts` in signed 32-bit arithmetic (the same bits; small integers, no heap numbers on the way).
const TWO_32 = 2 ** 32

function fmix(x: number): number {
  let h = x ^ (x >>> 16)
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  return h ^ (h >>> 16)
}

/** `mix32` of `hash.ts`. */
function mix(h: number, word: number): number {
  return fmix((Math.imul(h ^ word, 0x01000193) + 0x7f4a7c15) | 0)
}

/** `mixNumber` of `hash.ts`. */
function mixSafe(h: number, value: number): number {
  return mix(mix(h, value % TWO_32), Math.floor(value / TWO_32))
}

/** The two key hashes of the last {@link hashAscii} call that returned true. */
let keyHash1 = 0
let keyHash2 = 0

/** `hashText(text, SEED_1)` and `hashText(text, SEED_2)` in one pass, if the text is ASCII (else false). */
function hashAscii(text: string): boolean {
  let a = SEED_1
  let b = SEED_2
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c >= 0x80) return false
    a = Math.imul(a ^ c, 0x01000193)
    b = Math.imul(b ^ c, 0x01000193)
  }
  keyHash1 = fmix(a ^ text.length)
  keyHash2 = fmix(b ^ text.length)
  return true
}

/** Marks an entry whose value was not decoded yet. */
export const NOT_DECODED: unique symbol = Symbol('not decoded')

/** Timestamps are kept in two parts below 2^31 each (small integers, stored in the entry itself). */
const HLC_SPLIT = 2 ** 26

/** `mixSafe(h, counter)` without floating point for the usual counters (below 2^31). */
function mixCounter(h: number, counter: number): number {
  return counter <= 0x7fffffff ? mix(mix(h, counter), 0) : mixSafe(h, counter)
}

/** `mixSafe(h, high * HLC_SPLIT + low)` from the two parts (low < 2^26, high < 2^27): the same two words. */
function mixHlc(h: number, high: number, low: number): number {
  return mix(mix(h, ((high & 0x3f) << 26) | low), high >>> 6)
}


/**
 * See the module doc. Numbers that would each need a heap box of their own are kept as small integers: the hashes
 * as signed 32-bit words, the timestamp in two parts.
 */
export class Entry {
  /** The bucket of the store summary, 0..255: the low byte of the key's first hash word. */
  readonly bucket: number
  /** The entry's 64-bit hash, two words as signed 32-bit integers (see `hash.ts`; `>>> 0` for the unsigned ones). */
  readonly h1: number
  readonly h2: number
  /** The decoded value, once someone asked for it. */
  decoded: unknown = NOT_DECODED
  /** The encoded value's bytes, one Latin-1 char each; undefined for a delete. */
  readonly latin1: string | undefined
  /** Bytes of the encoded value (0 for a delete). */
  readonly size: number
  readonly #hlcHigh: number
  readonly #hlcLow: number

  constructor(
    /** The key. */
    readonly key: string,
    /** Who wrote it. */
    readonly origin: Origin,
    /** The origin's write counter, from 1. */
    readonly counter: number,
    /** The hybrid logical clock timestamp (see `hlc.ts`). */
    hlc: number,
    /** The value's codec id (see the topic codecs); 0 for a tombstone. */
    readonly codec: number,
    /** The encoded value (copied; a string: its bytes as Latin-1 chars, see {@link latin1Of}); undefined for a delete. */
    value: Uint8Array | string | undefined,
  ) {
    const ascii = hashAscii(key)
    const k1 = ascii ? keyHash1 : hashText(key, SEED_1)
    const k2 = ascii ? keyHash2 : hashText(key, SEED_2)
    this.bucket = k1 & 0xff
    const bytes = latin1Of(value)
    this.latin1 = bytes
    this.size = bytes === undefined ? 0 : bytes.length
    const tomb = bytes === undefined ? 1 : 0
    const high = Math.floor(hlc / HLC_SPLIT)
    const low = hlc - high * HLC_SPLIT
    this.#hlcHigh = high
    this.#hlcLow = low
    this.h1 = mixHlc(mixCounter(mix(mix(k1, origin.h1), tomb), counter), high, low)
    this.h2 = mixHlc(mixCounter(mix(mix(k2, origin.h2), tomb), counter), high, low)
  }

  /** The encoded value, in a Buffer of its own (made at each call); undefined for a delete. */
  get value(): Buffer | undefined {
    return this.latin1 === undefined ? undefined : Buffer.from(this.latin1, 'latin1')
  }

  /** The hybrid logical clock timestamp (see `hlc.ts`). */
  get hlc(): number {
    return this.#hlcHigh * HLC_SPLIT + this.#hlcLow
  }

  /** True for a delete. */
  get deleted(): boolean {
    return this.latin1 === undefined
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
