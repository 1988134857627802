/**
 * Topic names, topic filters and type names: validation, and matching a topic name against a filter.
 *
 * The rules are MQTT 5.0's (section 4.7):
 * - Names and filters are UTF-8 strings of 1 to 65535 bytes without U+0000. A JavaScript string with a lone
 *   surrogate has no UTF-8 form and is rejected too.
 * - `/` separates levels. Levels may be empty: `/finance` has two levels, `''` and `finance`; `a//b` has three.
 * - Filters may hold the wildcards `+` (exactly one level, which may be empty) and `#` (any number of levels,
 *   including none, so `sport/#` matches `sport` too). Each must fill a whole level, and `#` must be the last level:
 *   `sport/+/player1`, `+`, `#` and `sport/#` are valid; `sport+`, `sport/#/ranking` and `sport/tennis#` are not.
 * - Topic names never hold wildcards.
 * - Matching is case-sensitive and compares levels exactly, with no normalisation.
 * - **The `$` rule.** A filter whose first level is a wildcard (`#`, `+`, `+/...`) does not match a topic name that
 *   starts with `$`: `#` does not match `$SYS/monitor`, `$SYS/#` does. Glue reserves topic names that start with `$`
 *   for its own use: {@link validateTopicName} rejects them unless `{ reserved: true }` is passed. Filters may start
 *   with `$`, so applications can subscribe to glue's own topics explicitly (`$glue/#`).
 */
import { TopicError } from './errors'

/** The longest topic name or filter, in UTF-8 bytes (MQTT's limit). */
export const MAX_TOPIC_BYTES = 65535

/** The longest type name, in UTF-8 bytes (it travels with a one-byte length). */
export const MAX_TYPE_BYTES = 255

/** Options of {@link validateTopicName}. */
export interface TopicNameOptions {
  /** Accept names that start with `$` (glue's own topics). Default: false. */
  readonly reserved?: boolean
  /** The field name used in error messages. Default: `'topic'`. */
  readonly field?: string
}

const SLASH = 0x2f
const PLUS = 0x2b
const HASH = 0x23
const DOLLAR = 0x24

/**
 * Checks a name or filter in one pass over its UTF-16 code units (no allocation); returns the reason it is
 * invalid, or undefined when it is valid. `wildcards` allows `+` and `#` (filters).
 */
function problem(text: unknown, wildcards: boolean): string | undefined {
  if (typeof text !== 'string') return `must be a string, not ${text === null ? 'null' : typeof text}`
  const length = text.length
  if (length === 0) return 'must not be empty'
  if (length > MAX_TOPIC_BYTES) return `must be at most ${MAX_TOPIC_BYTES} UTF-8 bytes`
  let bytes = 0
  let levelStart = 0
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) {
      bytes += 1
      if (c === SLASH) levelStart = i + 1
      else if (c === 0) return 'must not contain U+0000 (NUL)'
      else if (c === PLUS || c === HASH) {
        const wildcard = c === PLUS ? '+' : '#'
        if (!wildcards) return `must not contain the wildcard "${wildcard}" (wildcards are only allowed in filters)`
        const next = i + 1 < length ? text.charCodeAt(i + 1) : -1
        if (i !== levelStart || (next !== -1 && next !== SLASH)) return `"${wildcard}" must fill a whole level`
        if (c === HASH && next !== -1) return '"#" must be the last level'
      }
    } else if (c < 0x800) {
      bytes += 2
    } else if (c >= 0xd800 && c <= 0xdbff) {
      const low = i + 1 < length ? text.charCodeAt(i + 1) : 0
      if (low < 0xdc00 || low > 0xdfff) return 'contains a lone surrogate (no UTF-8 form)'
      bytes += 4
      i++
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      return 'contains a lone surrogate (no UTF-8 form)'
    } else {
      bytes += 3
    }
  }
  if (bytes > MAX_TOPIC_BYTES) return `must be at most ${MAX_TOPIC_BYTES} UTF-8 bytes, not ${bytes}`
  return undefined
}

/**
 * Throws a {@link TopicError} unless `topic` is a valid topic name: 1..65535 UTF-8 bytes, no U+0000, no wildcards,
 * and no leading `$` unless `options.reserved`.
 */
export function validateTopicName(topic: string, options: TopicNameOptions = {}): void {
  const valid = options.reserved ? VALID_RESERVED : VALID
  if (valid.has(topic)) return
  const field = options.field ?? 'topic'
  const reason = problem(topic, false)
  if (reason !== undefined) throw new TopicError(field, topic, reason)
  if (!options.reserved && topic.charCodeAt(0) === DOLLAR) {
    throw new TopicError(field, topic, 'names starting with "$" are reserved for glue')
  }
  if (valid.size >= MAX_VALID) valid.clear()
  valid.add(topic)
}

/** Names found valid lately (without and with reserved `$` names), so that a topic is checked once, not per use. */
const VALID = new Set<string>()
const VALID_RESERVED = new Set<string>()
const MAX_VALID = 1024

/** Throws a {@link TopicError} unless `filter` is a valid topic filter (see the module doc for the rules). */
export function validateTopicFilter(filter: string, field = 'filter'): void {
  const reason = problem(filter, true)
  if (reason !== undefined) throw new TopicError(field, filter, reason)
}

/** True when `topic` is a valid topic name (reserved `$` names included when `reserved` is true). */
export function isTopicName(topic: unknown, reserved = false): topic is string {
  return problem(topic, false) === undefined && (reserved || (topic as string).charCodeAt(0) !== DOLLAR)
}

/** True when `filter` is a valid topic filter. */
export function isTopicFilter(filter: unknown): filter is string {
  return problem(filter, true) === undefined
}

/**
 * Throws a {@link TopicError} unless `type` is a valid type name: a string of 1..255 UTF-8 bytes without control
 * characters (U+0000..U+001F, U+007F) or lone surrogates. Any other text is allowed (`sensors.Temperature/v2`).
 */
export function validateTypeName(type: string, field = 'type'): void {
  if (typeof type !== 'string') throw new TopicError(field, type, 'must be a string')
  if (type.length === 0) throw new TopicError(field, type, 'must not be empty')
  let bytes = 0
  for (let i = 0; i < type.length; i++) {
    const c = type.charCodeAt(i)
    if (c < 0x20 || c === 0x7f) throw new TopicError(field, type, 'must not contain control characters')
    if (c >= 0xd800 && c <= 0xdbff) {
      const low = i + 1 < type.length ? type.charCodeAt(i + 1) : 0
      if (low < 0xdc00 || low > 0xdfff) throw new TopicError(field, type, 'contains a lone surrogate')
      bytes += 4
      i++
    } else if (c >= 0xdc00 && c <= 0xdfff) {
      throw new TopicError(field, type, 'contains a lone surrogate')
    } else {
      bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : 3
    }
  }
  if (bytes > MAX_TYPE_BYTES) throw new TopicError(field, type, `must be at most ${MAX_TYPE_BYTES} UTF-8 bytes`)
}

/**
 * Matches a valid topic name against a valid filter by walking both strings once, without allocating. The caller
 * guarantees validity (the compiled matcher validated the filter; topics are validated where they enter glue).
 */
function matchValid(filter: string, topic: string): boolean {
  const first = filter.charCodeAt(0)
  if ((first === PLUS || first === HASH) && topic.charCodeAt(0) === DOLLAR) return false
  const fl = filter.length
  const tl = topic.length
  let f = 0
  let t = 0
  for (;;) {
    // f and t are at the start of a level.
    const c = filter.charCodeAt(f)
    if (c === HASH) return true
    if (c === PLUS) {
      f++
      const slash = topic.indexOf('/', t)
      t = slash < 0 ? tl : slash
    } else {
      for (; f < fl; f++, t++) {
        const fc = filter.charCodeAt(f)
        if (fc === SLASH) break
        if (t >= tl || topic.charCodeAt(t) !== fc) return false
      }
      if (t < tl && topic.charCodeAt(t) !== SLASH) return false
    }
    // f and t are at a '/' or at the end.
    if (f >= fl) return t >= tl
    if (t >= tl) return f + 2 === fl && filter.charCodeAt(f + 1) === HASH // 'a/#' matches 'a'
    f++
    t++
  }
}

/**
 * True when the topic name matches the filter, MQTT's rules and its `$` rule included. Validates both (throws
 * {@link TopicError}); names starting with `$` are accepted here. To match many topics against one filter, use
 * {@link compileFilter}, which validates the filter once.
 */
export function matches(filter: string, topic: string): boolean {
  validateTopicFilter(filter)
  validateTopicName(topic, { reserved: true })
  return matchValid(filter, topic)
}

/** How a compiled filter matches. */
const Shape = {
  /** No wildcards: string equality. */
  Exact: 0,
  /** `#` alone: every name not starting with `$`. */
  All: 1,
  /** A wildcard-free prefix then `/#`. */
  Prefix: 2,
  /** Anything else: the level walk. */
  General: 3,
} as const
type Shape = (typeof Shape)[keyof typeof Shape]

/**
 * A filter validated and analysed once, for matching many topic names quickly. `matches()` allocates nothing; it
 * takes a shortcut for the common shapes (no wildcard, `#`, `literal/prefix/#`) and walks both strings otherwise.
 */
export class TopicMatcher {
  /** The filter as given. */
  readonly filter: string
  /** True when the filter holds `+` or `#` (it can match more than one topic name). */
  readonly wildcard: boolean
  readonly #shape: Shape
  /** For Shape.Prefix: the filter without its trailing `/#`. */
  readonly #prefix: string

  /** Validates the filter (throws {@link TopicError}). */
  constructor(filter: string) {
    validateTopicFilter(filter)
    this.filter = filter
    const plus = filter.indexOf('+')
    const hash = filter.indexOf('#')
    this.wildcard = plus >= 0 || hash >= 0
    this.#prefix = ''
    if (!this.wildcard) this.#shape = Shape.Exact
    else if (filter === '#') this.#shape = Shape.All
    else if (plus < 0 && hash === filter.length - 1 && filter.length >= 2) {
      this.#shape = Shape.Prefix
      this.#prefix = filter.slice(0, -2)
    } else this.#shape = Shape.General
  }

  /** True when `topic` (a valid topic name, which this does not check) matches the filter. */
  matches(topic: string): boolean {
    switch (this.#shape) {
      case Shape.Exact:
        return topic === this.filter
      case Shape.All:
        return topic.charCodeAt(0) !== DOLLAR
      case Shape.Prefix: {
        const prefix = this.#prefix
        return topic.startsWith(prefix) && (topic.length === prefix.length || topic.charCodeAt(prefix.length) === SLASH)
      }
      default:
        return matchValid(this.filter, topic)
    }
  }
}

/** Validates and compiles a filter for repeated matching (see {@link TopicMatcher}). Throws {@link TopicError}. */
export function compileFilter(filter: string): TopicMatcher {
  return new TopicMatcher(filter)
}
