/**
 * The hashing behind interest summaries (`interest-filter.ts`): how a subscription filter becomes a *shape* and a
 * *key*, how a topic name yields the key a matching filter of a given shape would have, and which bits a key sets.
 *
 * **Hashing** (all arithmetic on unsigned 32-bit integers, `fmix32` is MurmurHash3's finaliser):
 * - a literal level hashes to `fmix32(FNV-1a-32(its UTF-8 bytes))`; `+` is the token `0x2b2b2b2b`, `#` `0x23232323`;
 * - a key starts at `0x9e3779b9`; each token `t` of the (cut) filter, left to right, gives
 *   `state = fmix32(rotl(state, 13) ^ t)`; the key is `fmix32(state ^ tokenCount)` (`#` counts as a token);
 * - the key sets bits `(key + i·step) mod bits` for `i` in `0..hashes-1`, with `step = fmix32(key ^ 0x5bd1e995) | 1`.
 */
import { fmix32 } from '../util/fmix32'

/** Levels of a filter or topic that are hashed; deeper filters are summarised by their first 8 levels then `#`. */
export const SHAPE_LEVELS = 8

const SEED = 0x9e3779b9
const PLUS_TOKEN = 0x2b2b2b2b
const HASH_TOKEN = 0x23232323
const SLASH = 0x2f

/** Hash of one literal level: FNV-1a (32 bits) over its UTF-8 bytes, then MurmurHash3's fmix32. */
function levelHash(text: string, start: number, end: number): number {
  let h = 0x811c9dc5
  for (let i = start; i < end; i++) {
    let c = text.charCodeAt(i)
    if (c < 0x80) {
      h = Math.imul(h ^ c, 0x01000193)
      continue
    }
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < end) c = 0x10000 + ((c - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00)
    if (c < 0x800) {
      h = Math.imul(h ^ (0xc0 | (c >> 6)), 0x01000193)
    } else {
      if (c < 0x10000) h = Math.imul(h ^ (0xe0 | (c >> 12)), 0x01000193)
      else {
        h = Math.imul(h ^ (0xf0 | (c >> 18)), 0x01000193)
        h = Math.imul(h ^ (0x80 | ((c >> 12) & 0x3f)), 0x01000193)
      }
      h = Math.imul(h ^ (0x80 | ((c >> 6) & 0x3f)), 0x01000193)
    }
    h = Math.imul(h ^ (0x80 | (c & 0x3f)), 0x01000193)
  }
  return fmix32(h)
}

/** Appends a token (level hash, `+` or `#`) to a running key. */
function mix(state: number, token: number): number {
  return fmix32((((state << 13) | (state >>> 19)) ^ token) >>> 0)
}

/** A shape as a 16-bit number: (levels | 0x80 if it ends in `#`) << 8 | plus-mask (bit i: level i is `+`). */
export type ShapeCode = number
/** Levels of a shape (0..8). */
export const shapeLevels = (shape: ShapeCode): number => (shape >> 8) & 0x0f
/** True when the shape ends in `#`. */
export const shapeHash = (shape: ShapeCode): boolean => (shape & 0x8000) !== 0
/** Bit i set: level i of the shape is `+`. */
export const shapeMask = (shape: ShapeCode): number => shape & 0xff

/** A topic name prepared for testing against any number of summaries: its first 8 level hashes and level count. */
export class TopicProbe {
  /** The topic name. */
  topic = ''
  /** Its number of levels (all of them, not only the hashed ones). */
  levels = 0
  /** True when it starts with `$` (filters starting with a wildcard do not match it). */
  dollar = false
  /** Hashes of its first {@link SHAPE_LEVELS} levels. */
  readonly hashes = new Uint32Array(SHAPE_LEVELS)

  /** Prepares `topic` (a valid topic name) if given. */
  constructor(topic?: string) {
    if (topic !== undefined) this.reset(topic)
  }

  /** Re-targets this probe at another topic name, reusing its memory. Returns this. */
  reset(topic: string): this {
    this.topic = topic
    this.dollar = topic.charCodeAt(0) === 0x24
    let levels = 0
    let start = 0
    for (let i = 0; i <= topic.length; i++) {
      if (i < topic.length && topic.charCodeAt(i) !== SLASH) continue
      if (levels < SHAPE_LEVELS) this.hashes[levels] = levelHash(topic, start, i)
      levels++
      start = i + 1
    }
    this.levels = levels
    return this
  }

  /** The key a filter of this shape that matches the topic would have (the caller checked that it applies). */
  keyFor(shape: ShapeCode): number {
    const levels = shapeLevels(shape)
    const mask = shapeMask(shape)
    let state = SEED
    for (let i = 0; i < levels; i++) state = mix(state, mask & (1 << i) ? PLUS_TOKEN : this.hashes[i])
    if (shapeHash(shape)) return fmix32(mix(state, HASH_TOKEN) ^ (levels + 1))
    return fmix32(state ^ levels)
  }

  /** True when a filter of this shape can match the topic (level count and the `$` rule). */
  fits(shape: ShapeCode): boolean {
    const levels = shapeLevels(shape)
    if (this.dollar && (shapeMask(shape) & 1 || levels === 0)) return false
    return shapeHash(shape) ? this.levels >= levels : this.levels === levels
  }
}

/** Reduces a valid filter to its shape and key; `coarse` cuts it at its first `+` (see `interest-filter.ts`). */
export function summarise(filter: string, coarse: boolean): { shape: ShapeCode; key: number } {
  const parts = filter.split('/')
  let hash = parts[parts.length - 1] === '#'
  if (hash) parts.pop()
  if (coarse) {
    const plus = parts.indexOf('+')
    if (plus >= 0) {
      parts.length = plus
      hash = true
    }
  }
  if (parts.length > SHAPE_LEVELS) {
    parts.length = SHAPE_LEVELS
    hash = true
  }
  let state = SEED
  let mask = 0
  for (let i = 0; i < parts.length; i++) {
    const plus = parts[i] === '+'
    if (plus) mask |= 1 << i
    state = mix(state, plus ? PLUS_TOKEN : levelHash(parts[i], 0, parts[i].length))
  }
  const levels = parts.length
  const key = hash ? fmix32(mix(state, HASH_TOKEN) ^ (levels + 1)) : fmix32(state ^ levels)
  return { shape: ((levels | (hash ? 0x80 : 0)) << 8) | mask, key }
}

/** The bloom filter's probe step for a key (odd, so that the probes of one key never repeat). */
export function probeStep(key: number): number {
  return fmix32(key ^ 0x5bd1e995) | 1
}
