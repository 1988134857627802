/**
 * Interest summaries: a compact, lossy summary of an endpoint's subscription filters that it carries in its
 * announcements, so that publishers send a topic only to endpoints that may want it (after Intel DPS's bloom
 * filters). No false negatives: if any of the summarised filters matches a topic, {@link InterestFilter.mayMatch}
 * says true. False positives only cost a datagram that the receiver drops.
 *
 * **Why shapes.** A wildcard filter cannot be tested by hashing the topic: `sensors/+/temp` is not `sensors/a/temp`.
 * So each filter is reduced to a *shape* (its number of levels, which of them are `+`, and whether it ends in `#`) and
 * a *key*: a hash of its levels with `+` and `#` as tokens. The summary lists the distinct shapes (few in practice)
 * beside a bloom filter of the keys. A publisher tests a topic by building, for each listed shape that can apply, the
 * key that a matching filter of that shape would have (`sensors/a/temp` under the shape "3 levels, middle one `+`"
 * gives the key of `sensors/+/temp`) and probing the bloom filter. Work per test: one pass over the topic, then for
 * each applicable shape at most 9 integer mixes and `hashes` bit probes; nothing is allocated when the topic is
 * given as a {@link TopicProbe}.
 *
 * **Bounds.** Only the first {@link SHAPE_LEVELS} (8) levels are hashed: a deeper filter is summarised as its first 8
 * levels followed by `#`, which matches a superset. At most {@link MAX_SHAPES} (32) distinct shapes are listed; when a
 * summary would need more, every filter with a `+` is coarsened to its literal levels before the first `+` followed
 * by `#` (again a superset), which needs at most 17 shapes (8 exact lengths, 9 `#` prefixes).
 *
 * **False positives.** With `n` keys in `m` bits and `k` hashes, one probe is a false positive with probability
 * about `f = (1 - e^(-k·n/m))^k`; a topic for which `A` shapes apply is a false positive with probability at most
 * `1 - (1 - f)^A ≈ A·f`. {@link InterestFilter.from} sizes the filter for `f` = 1 % (about 9.6 bits per filter):
 * 4096 bits, the largest size, hold about 425 filters at 1 %; beyond that `f` grows.
 *
 * The hashing is specified in `interest-keys.ts`.
 */
import { TopicWireError } from './errors'
import { probeStep, type ShapeCode, SHAPE_LEVELS, summarise, TopicProbe } from './interest-keys'
import { validateTopicFilter } from './topic-name'

export { SHAPE_LEVELS, TopicProbe } from './interest-keys'

/** Format version of {@link InterestFilter.encode}. */
export const INTEREST_FILTER_VERSION = 1
/** Smallest bloom filter, bits. */
export const MIN_BITS = 64
/** Largest bloom filter, bits (512 bytes in an announcement). */
export const MAX_BITS = 4096
/** Most hash functions. */
export const MAX_HASHES = 16
/** Most distinct shapes a summary lists before it coarsens the filters that hold `+`. */
export const MAX_SHAPES = 32

/** Flag bits of the encoded form. */
const Flag = { ALL: 0x01, COARSE: 0x02 } as const
const HEADER_BYTES = 5

/** Options of {@link InterestFilter}. */
export interface InterestFilterOptions {
  /** Bloom filter size, bits: a power of two from 64 to 4096. Default: 1024 (about 100 filters at 1 %). */
  readonly bits?: number
  /** Hash functions (bit probes per key), 1..16. Default: 7, optimal at 1 % false positives per probe. */
  readonly hashes?: number
}

/** Options of {@link InterestFilter.from}. */
export interface InterestFilterSizing {
  /** Target false-positive rate per probe, 0 < rate < 1. Default: 0.01. Capped by {@link MAX_BITS}. */
  readonly falsePositiveRate?: number
}

const isPowerOfTwo = (n: number): boolean => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0

/** A summary of subscription filters; see the module doc. Built locally with `add()`, or decoded from a peer. */
export class InterestFilter {
  /** Bloom filter size, bits. */
  readonly bits: number
  /** Bit probes per key. */
  readonly hashes: number
  #bytes: Uint8Array
  #shapes: ShapeCode[] = []
  #flags = 0
  /** The filters added locally, for rebuilding in coarse mode; null for a decoded summary. */
  #filters: Set<string> | null = new Set()
  /** Reused by `mayMatch(string)`. */
  readonly #scratch = new TopicProbe()

  /** An empty summary (matches nothing until filters are added). Throws RangeError on bad options. */
  constructor(options: InterestFilterOptions = {}) {
    const bits = options.bits ?? 1024
    const hashes = options.hashes ?? 7
    if (!isPowerOfTwo(bits) || bits < MIN_BITS || bits > MAX_BITS) {
      throw new RangeError(`bits must be a power of two from ${MIN_BITS} to ${MAX_BITS}, not ${bits}`)
    }
    if (!Number.isInteger(hashes) || hashes < 1 || hashes > MAX_HASHES) {
      throw new RangeError(`hashes must be an integer from 1 to ${MAX_HASHES}, not ${hashes}`)
    }
    this.bits = bits
    this.hashes = hashes
    this.#bytes = new Uint8Array(bits >> 3)
  }

  /**
   * A summary of `filters`, sized for the target false-positive rate: bits = the power of two at or above
   * `-n·ln(rate)/ln(2)²` (64..4096), hashes = `round(bits/n · ln 2)` (1..16). Throws TopicError on an invalid
   * filter.
   */
  static from(filters: Iterable<string>, sizing: InterestFilterSizing = {}): InterestFilter {
    const rate = sizing.falsePositiveRate ?? 0.01
    if (!(rate > 0 && rate < 1)) throw new RangeError(`falsePositiveRate must be between 0 and 1, not ${rate}`)
    const unique = new Set(filters)
    const n = Math.max(1, unique.size)
    const wanted = Math.ceil((-n * Math.log(rate)) / (Math.LN2 * Math.LN2))
    const bits = Math.min(MAX_BITS, Math.max(MIN_BITS, 2 ** Math.ceil(Math.log2(wanted))))
    const hashes = Math.min(MAX_HASHES, Math.max(1, Math.round((bits / n) * Math.LN2)))
    const summary = new InterestFilter({ bits, hashes })
    for (const filter of unique) summary.add(filter)
    return summary
  }

  /** A summary that matches every topic (for an endpoint that wants everything, e.g. a recorder or bridge). */
  static all(): InterestFilter {
    const summary = new InterestFilter({ bits: MIN_BITS, hashes: 1 })
    summary.#flags = Flag.ALL
    return summary
  }

  /** True for a summary that matches every topic (see {@link InterestFilter.all}). */
  get all(): boolean {
    return (this.#flags & Flag.ALL) !== 0
  }

  /** True once filters with `+` were coarsened because they needed more than {@link MAX_SHAPES} shapes. */
  get coarse(): boolean {
    return (this.#flags & Flag.COARSE) !== 0
  }

  /** Number of distinct shapes listed (probes per topic test are at most this many). */
  get shapeCount(): number {
    return this.#shapes.length
  }

  /** Size of {@link InterestFilter.encode}'s output, bytes: 5 + 2 per shape + bits / 8. */
  get encodedLength(): number {
    return HEADER_BYTES + 2 * this.#shapes.length + this.#bytes.length
  }

  /**
   * Adds a subscription filter (validated; throws TopicError). Adding the same filter twice changes nothing. Filters
   * cannot be removed: build a new summary when subscriptions end. Throws TypeError on a decoded summary.
   */
  add(filter: string): this {
    const filters = this.#filters
    if (filters === null) throw new TypeError('a decoded interest summary cannot be changed')
    validateTopicFilter(filter)
    if (filters.has(filter) || this.all) return this
    filters.add(filter)
    const { shape, key } = summarise(filter, this.coarse)
    if (!this.#shapes.includes(shape)) {
      if (this.#shapes.length === MAX_SHAPES) {
        this.#rebuildCoarse()
        return this
      }
      this.#shapes.push(shape)
    }
    this.#insert(key)
    return this
  }

  /** Re-adds every filter, cut at its first `+`: at most 17 shapes remain. */
  #rebuildCoarse(): void {
    this.#flags |= Flag.COARSE
    this.#bytes.fill(0)
    this.#shapes = []
    for (const filter of this.#filters ?? []) {
      const { shape, key } = summarise(filter, true)
      if (!this.#shapes.includes(shape)) this.#shapes.push(shape)
      this.#insert(key)
    }
  }

  #insert(key: number): void {
    const step = probeStep(key)
    const mask = this.bits - 1
    for (let i = 0; i < this.hashes; i++) {
      const bit = (key + Math.imul(i, step)) & mask
      this.#bytes[bit >>> 3] |= 1 << (bit & 7)
    }
  }

  #contains(key: number): boolean {
    const step = probeStep(key)
    const mask = this.bits - 1
    for (let i = 0; i < this.hashes; i++) {
      const bit = (key + Math.imul(i, step)) & mask
      if ((this.#bytes[bit >>> 3] & (1 << (bit & 7))) === 0) return false
    }
    return true
  }

  /**
   * False when no summarised filter matches the topic name; true when one does, or by a false positive. Pass a
   * {@link TopicProbe} to test one topic against many summaries without re-hashing it or allocating.
   */
  mayMatch(topic: string | TopicProbe): boolean {
    if (this.#flags & Flag.ALL) return true
    const shapes = this.#shapes
    if (shapes.length === 0) return false
    const probe = typeof topic === 'string' ? this.#scratch.reset(topic) : topic
    for (let i = 0; i < shapes.length; i++) {
      if (probe.fits(shapes[i]) && this.#contains(probe.keyFor(shapes[i]))) return true
    }
    return false
  }

  /** Share of bits set, 0..1. */
  fillRatio(): number {
    let set = 0
    for (const byte of this.#bytes) {
      for (let b = byte; b !== 0; b &= b - 1) set++
    }
    return set / this.bits
  }

  /**
   * Estimated false-positive rate, from the bits actually set: per probe (`fillRatio^hashes`) without a topic, or for
   * one topic name, `1 - (1 - f)^A` with `A` the shapes that apply to it. 0 for an empty summary, 1 for `all()`.
   */
  falsePositiveRate(topic?: string): number {
    if (this.all) return 1
    const perProbe = this.fillRatio() ** this.hashes
    if (topic === undefined) return perProbe
    const probe = new TopicProbe(topic)
    const applicable = this.#shapes.filter((shape) => probe.fits(shape)).length
    return 1 - (1 - perProbe) ** applicable
  }

  /**
   * The wire form, for an announcement extension. Version 1, all integers unsigned:
   *
   * ```text
   *  0       1       2       3       4       5
   * +-------+-------+-------+-------+-------+---------------+--------------------+
   * |version| flags |hashes |log2   |shapes | shapes × 2 B  | bits / 8 B of bits |
   * |  = 1  |       | 1..16 |bits   | 0..32 | levels|#, mask| bit i: byte i>>3,  |
   * |       |       |       | 6..12 |       |               | bit (i & 7)        |
   * +-------+-------+-------+-------+-------+---------------+--------------------+
   * ```
   *
   * Flags: 0x01 = matches every topic, 0x02 = filters were coarsened (informative); other bits are 0. A shape is two
   * bytes: `levels (0..8) | 0x80 if it ends in #`, then the `+` mask (bit i = level i is `+`, only bits below levels);
   * an exact shape has at least one level.
   */
  encode(): Uint8Array {
    const out = new Uint8Array(this.encodedLength)
    out[0] = INTEREST_FILTER_VERSION
    out[1] = this.#flags
    out[2] = this.hashes
    out[3] = Math.log2(this.bits)
    out[4] = this.#shapes.length
    let at = HEADER_BYTES
    for (const shape of this.#shapes) {
      out[at++] = shape >> 8
      out[at++] = shape & 0xff
    }
    out.set(this.#bytes, at)
    return out
  }

  /**
   * Decodes {@link InterestFilter.encode}'s output strictly: throws {@link TopicWireError} on any other version, a
   * wrong length, unknown flags or an impossible shape. A receiver that cannot decode a peer's summary should treat
   * the peer as interested in everything (safe: that only costs bandwidth).
   */
  static decode(data: Uint8Array): InterestFilter {
    if (data.length < HEADER_BYTES) throw new TopicWireError('interest summary shorter than its header', data.length)
    if (data[0] !== INTEREST_FILTER_VERSION) throw new TopicWireError(`interest summary version ${data[0]}`, 0)
    const flags = data[1]
    if (flags & ~(Flag.ALL | Flag.COARSE)) throw new TopicWireError(`unknown interest summary flags ${flags}`, 1)
    const hashes = data[2]
    if (hashes < 1 || hashes > MAX_HASHES) throw new TopicWireError(`interest summary with ${hashes} hashes`, 2)
    const log2 = data[3]
    if (log2 < 6 || log2 > 12) throw new TopicWireError(`interest summary of 2^${log2} bits`, 3)
    const count = data[4]
    if (count > MAX_SHAPES) throw new TopicWireError(`interest summary with ${count} shapes`, 4)
    const bits = 1 << log2
    const expected = HEADER_BYTES + 2 * count + bits / 8
    if (data.length !== expected) {
      throw new TopicWireError(`interest summary of ${data.length} bytes, expected ${expected}`, data.length)
    }
    const summary = new InterestFilter({ bits, hashes })
    summary.#filters = null
    summary.#flags = flags
    for (let i = 0; i < count; i++) {
      const at = HEADER_BYTES + 2 * i
      const head = data[at]
      const mask = data[at + 1]
      const levels = head & 0x7f
      const shape = (head << 8) | mask
      if (levels > SHAPE_LEVELS || mask >> levels !== 0 || (levels === 0 && !(head & 0x80))) {
        throw new TopicWireError(`impossible interest shape ${head}/${mask}`, at)
      }
      if (summary.#shapes.includes(shape)) throw new TopicWireError('duplicate interest shape', at)
      summary.#shapes.push(shape)
    }
    summary.#bytes = data.slice(HEADER_BYTES + 2 * count)
    return summary
  }
}
