/**
 * Options of the topic layer: per publication ({@link PublishOptions}), per subscription ({@link SubscribeOptions})
 * and per endpoint ({@link TopicOptions}, the `topics` option of `Endpoint.open`), with their validation. Bad values
 * throw `InvalidOptionError` naming the option and the value.
 */
import { InvalidOptionError } from '../errors'
import { type Codec, type CodecName, type CodecOption, resolveCodec } from './codec'
import type { TopicMessage } from './message'
import type { KeyInput } from '../security/keys'
import { TopicKeys } from './topic-keys'
import { validateTopicFilter, validateTypeName } from './topic-name'

/** Options of `publish()`. */
export interface PublishOptions {
  /**
   * The topic's type name (1..255 UTF-8 bytes); subscribers that ask for another type drop the publication. An
   * endpoint publishes one type per topic: another one throws `TopicTypeError`. Default '' (untyped).
   */
  type?: string
  /** How the value becomes bytes: 'raw' (bytes or text), 'json', 'msgpack', or a codec object. Default 'raw'. */
  codec?: CodecOption
  /**
   * Reliable: acknowledged and repaired by every interested endpoint (the call returns a Promise). Best effort:
   * one datagram per receiver or one multicast, no acknowledgement (the call returns a boolean). Default false.
   */
  reliable?: boolean
  /**
   * History depth: how many of this topic's latest publications this endpoint keeps, 0..65535, to send to late
   * joiners and to fill gaps after a partition. Default 0 (none).
   */
  depth?: number
  /** Keep this publication as the topic's retained last value (sent to late joiners even with depth 0). Default false.
   */
  retain?: boolean
  /** Lifespan, ms (> 0): older publications are neither delivered nor kept. Default Infinity. */
  lifespanMs?: number
  /** Reliable only: the delivery deadline, ms. Default the endpoint's `deliveryDeadlineMs`. */
  deadlineMs?: number
}

/** Options of `subscribe()`. */
export interface SubscribeOptions<T = unknown> {
  /** Receive only publications of this type name; others are dropped and counted (`topicTypeMismatch`). Default any. */
  type?: string
  /**
   * Receive only reliable publications (and replays); best-effort ones are dropped and counted (`topicQosMismatch`),
   * as a reliable DDS reader does not match a best-effort writer. Default false (both).
   */
  reliable?: boolean
  /**
   * Receive only publications encoded with this codec, decoded by it: `'raw'`, `'json'`, `'msgpack'` (the names
   * `publish` takes) or a codec object (a custom codec from `customCodec`, the same the publisher uses). Publications
   * with another codec are dropped and counted (`topicCodecMismatch`), as with `type`, so `value` is always what this
   * codec decodes. Default: any built-in codec, each decoded by the id the publication carries (publications with a
   * custom codec id are then dropped and counted in `topicDecodeErrors`).
   */
  codec?: CodecName | Codec<never, T>
  /** Called for each message instead of iterating (the faster way); exceptions become uncaught exceptions. */
  callback?: (message: TopicMessage<T>) => void
  /** Aborting ends the subscription, like `unsubscribe()`. */
  signal?: AbortSignal
  /**
   * Capacity of the iterator, messages: beyond it the oldest is dropped (counted in `topicQueueDrops`). Default the
   * endpoint's `messageQueueLimit`.
   */
  queueLimit?: number
}

/** Opt-in caching of other endpoints' publications, to fill gaps for peers after a partition. */
export interface CacheOptions {
  /** Topic filters whose publications this endpoint keeps (it also announces interest in them). */
  filters: readonly string[]
  /** Publications kept per publisher and topic, 1..65535. Default 100. */
  depth?: number
}

/** The `topics` option of `Endpoint.open`. */
export interface TopicOptions {
  /** Cache other endpoints' publications (bounded by `maxHistoryRecords` / `maxHistoryBytes`). Default: none. */
  cache?: CacheOptions
  /**
   * How long a publication that arrived early (a number is missing) waits for the gap to fill, ms, 0..600000;
   * then the missing numbers are given up. Default 1000.
   */
  holdMs?: number
  /**
   * Multicast a publication (one datagram for all) when at least this share of the peers (0..1) is interested, and at
   * least two are; else unicast to each interested peer. Default 0.75.
   */
  multicastRatio?: number
  /**
   * Every this many ms each endpoint also sends each peer a digest of the streams that peer may want (anti-entropy:
   * a partition too short for the peers to expire each other, or losses no later publication reveals, are repaired
   * too), 0 (off) or 100..3_600_000. Digests also go out at once when a peer comes up or its interests change.
   * Default 5000.
   */
  digestIntervalMs?: number
  /** Most publications kept (own history and cache together). Default 10000. */
  maxHistoryRecords?: number
  /** Most payload bytes kept (own history and cache together). Default 16 MiB. */
  maxHistoryBytes?: number
  /**
   * Topic keys, by topic filter: `{ 'plant/secret/#': key }` (32 bytes as a Uint8Array, 64 hex digits or base64).
   * Publications on a matching topic are sealed end to end with the key (the first filter in this object that
   * matches picks it): endpoints without the key, even with the network key, can neither read nor forge them, while
   * caching endpoints still keep and repair the sealed records. This endpoint drops publications on those topics
   * that arrive unsealed, and reports publications it cannot open (no key, forged) once per topic as a
   * `topic-key-error` status event. Default: none.
   */
  keys?: Readonly<Record<string, KeyInput>>
}

/** {@link TopicOptions} validated, with defaults. */
export interface ResolvedTopicOptions {
  cacheFilters: readonly string[]
  cacheDepth: number
  holdMs: number
  multicastRatio: number
  digestIntervalMs: number
  maxHistoryRecords: number
  maxHistoryBytes: number
  /** The topic keys (possibly none). */
  keys: TopicKeys
}

function bad(option: string, value: unknown, expected: string): InvalidOptionError {
  return new InvalidOptionError(`Invalid option ${option}: ${String(value)} (expected ${expected})`, { option, value })
}

/** Checks a number option; returns it or the default. */
export function numberOption(option: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !(value >= min && value <= max)) throw bad(option, value, `a number ${min}..${max}`)
  return value
}

function integerOption(option: string, value: unknown, fallback: number, min: number, max: number): number {
  const n = numberOption(option, value, fallback, min, max)
  if (!Number.isInteger(n)) throw bad(option, value, `an integer ${min}..${max}`)
  return n
}

/** Validates the endpoint's `topics` option. */
export function resolveTopicOptions(options: TopicOptions | undefined): ResolvedTopicOptions {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw bad('topics', options, 'an object')
  }
  const cache = options?.cache
  const filters = cache?.filters ?? []
  if (!Array.isArray(filters)) throw bad('topics.cache.filters', filters, 'an array of topic filters')
  for (const filter of filters) validateTopicFilter(filter, 'topics.cache.filters')
  return {
    cacheFilters: [...filters],
    cacheDepth: integerOption('topics.cache.depth', cache?.depth, 100, 1, 65535),
    holdMs: numberOption('topics.holdMs', options?.holdMs, 1000, 0, 600_000),
    multicastRatio: numberOption('topics.multicastRatio', options?.multicastRatio, 0.75, 0, 1),
    digestIntervalMs: digestInterval(options?.digestIntervalMs),
    maxHistoryRecords: integerOption('topics.maxHistoryRecords', options?.maxHistoryRecords, 10_000, 1, 2 ** 31),
    maxHistoryBytes: integerOption('topics.maxHistoryBytes', options?.maxHistoryBytes, 16 << 20, 1, 2 ** 40),
    keys: topicKeys(options?.keys),
  }
}

function topicKeys(value: unknown): TopicKeys {
  if (value !== undefined && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw bad('topics.keys', value, "an object of topic filter → key, e.g. { 'plant/secret/#': key }")
  }
  return new TopicKeys(value as Record<string, KeyInput> | undefined)
}

function digestInterval(value: unknown): number {
  const ms = integerOption('topics.digestIntervalMs', value, 5000, 0, 3_600_000)
  if (ms !== 0 && ms < 100) throw bad('topics.digestIntervalMs', value, '0 (off) or 100..3600000')
  return ms
}

/** {@link PublishOptions} validated, with defaults. */
export interface ResolvedPublishOptions {
  type: string
  codec: Codec<never, unknown>
  reliable: boolean
  depth: number
  retain: boolean
  lifespanMs: number
  deadlineMs: number | undefined
}

/** Validates the options of `publish()`. */
export function resolvePublishOptions(options: PublishOptions | undefined): ResolvedPublishOptions {
  const o = options ?? {}
  const type = o.type ?? ''
  if (typeof type !== 'string') throw bad('type', type, 'a type name')
  if (type !== '') validateTypeName(type)
  let codec: Codec<never, unknown>
  try {
    codec = resolveCodec(o.codec)
  } catch (err) {
    throw new InvalidOptionError(`Invalid option codec: ${(err as Error).message}`, { option: 'codec', value: o.codec })
  }
  if (o.reliable !== undefined && typeof o.reliable !== 'boolean') throw bad('reliable', o.reliable, 'a boolean')
  if (o.retain !== undefined && typeof o.retain !== 'boolean') throw bad('retain', o.retain, 'a boolean')
  const lifespanMs = numberOption('lifespanMs', o.lifespanMs, Infinity, Number.MIN_VALUE, Infinity)
  const deadlineMs =
    o.deadlineMs === undefined ? undefined : numberOption('deadlineMs', o.deadlineMs, 0, 1, 2 ** 31 - 1)
  return {
    type,
    codec,
    reliable: o.reliable === true,
    depth: integerOption('depth', o.depth, 0, 0, 65535),
    retain: o.retain === true,
    lifespanMs,
    deadlineMs,
  }
}
