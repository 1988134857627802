/**
 * Options of request/reply: per replier ({@link ReplyOptions}, `ep.reply()`) and per request
 * ({@link RequestOptions}, `ep.request()` / `ep.requestAll()`), with their validation. Bad values throw
 * `InvalidOptionError` naming the option and the value.
 */
import { InvalidOptionError } from '../errors'
import { type Codec, type CodecOption, resolveCodec } from './codec'
import { numberOption } from './options'

/** Options of `ep.reply()`. */
export interface ReplyOptions {
  /**
   * How the handler's return value becomes bytes: 'raw', 'json', 'msgpack' or a codec object (as `publish`). A
   * custom codec also decodes requests that carry its id. Default: the codec of each request when it is a built-in
   * one ('raw' otherwise), so a JSON request gets a JSON reply.
   */
  codec?: CodecOption
  /** Handler calls running at once, 1..65536. Default 64. */
  concurrency?: number
  /**
   * Requests waiting for a free slot beyond `concurrency`, 0..65536 (oldest first); a request beyond both is refused
   * at once with a busy reply (the requester tries another replier, else rejects with `ReplyError`, `busy: true`).
   * Default 256.
   */
  queueLimit?: number
  /** Aborting closes the replier, like `close()`. */
  signal?: AbortSignal
}

/** Options of `ep.request()` and `ep.requestAll()`. */
export interface RequestOptions {
  /** How long to wait for the reply (or, for `requestAll`, for every reply), ms, 1..2^31-1. Default 5000. */
  timeoutMs?: number
  /**
   * How the request value becomes bytes: 'raw', 'json', 'msgpack' or a codec object (as `publish`). A custom codec
   * also decodes replies that carry its id. Default 'raw'.
   */
  codec?: CodecOption
  /** Aborting rejects the request (or ends `requestAll`'s iteration) with `signal.reason`. */
  signal?: AbortSignal
}

/** Largest `timeoutMs` (what a Node.js timer can wait; about 24.8 days). */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1
/** Default `timeoutMs` of a request. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 5000
/** Default `concurrency` of a replier. */
export const DEFAULT_REPLY_CONCURRENCY = 64
/** Default `queueLimit` of a replier. */
export const DEFAULT_REPLY_QUEUE_LIMIT = 256

/** {@link ReplyOptions}, checked. `codec` undefined: the request's. */
export interface ResolvedReplyOptions {
  readonly codec: Codec<never, unknown> | undefined
  readonly concurrency: number
  readonly queueLimit: number
  readonly signal: AbortSignal | undefined
}

/** {@link RequestOptions}, checked. */
export interface ResolvedRequestOptions {
  readonly timeoutMs: number
  readonly codec: Codec<never, unknown>
  readonly signal: AbortSignal | undefined
}

function codecOption(value: unknown): Codec<never, unknown> {
  try {
    return resolveCodec(value as CodecOption | undefined)
  } catch (err) {
    throw new InvalidOptionError(`Invalid option codec: ${(err as Error).message}`, { option: 'codec', value })
  }
}

function integer(option: string, value: unknown, fallback: number, min: number, max: number): number {
  const n = numberOption(option, value, fallback, min, max)
  if (!Number.isInteger(n)) {
    throw new InvalidOptionError(`Invalid option ${option}: ${String(value)} (expected an integer ${min}..${max})`, { option, value })
  }
  return n
}

function signalOption(value: unknown): AbortSignal | undefined {
  if (value === undefined || value instanceof AbortSignal) return value
  throw new InvalidOptionError(`Invalid option signal: ${String(value)} (expected an AbortSignal)`, { option: 'signal', value })
}

function objectOption(options: unknown): Record<string, unknown> {
  if (options === undefined) return {}
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(`Invalid options: ${String(options)} (expected an object)`, { value: options })
  }
  return options as Record<string, unknown>
}

/** Validates `ep.reply()`'s options. */
export function resolveReplyOptions(options: ReplyOptions | undefined): ResolvedReplyOptions {
  const o = objectOption(options)
  return {
    codec: o.codec === undefined ? undefined : codecOption(o.codec),
    concurrency: integer('concurrency', o.concurrency, DEFAULT_REPLY_CONCURRENCY, 1, 65536),
    queueLimit: integer('queueLimit', o.queueLimit, DEFAULT_REPLY_QUEUE_LIMIT, 0, 65536),
    signal: signalOption(o.signal),
  }
}

/** Validates `ep.request()`'s options. */
export function resolveRequestOptions(options: RequestOptions | undefined): ResolvedRequestOptions {
  const o = objectOption(options)
  return {
    timeoutMs: integer('timeoutMs', o.timeoutMs, DEFAULT_REQUEST_TIMEOUT_MS, 1, MAX_TIMEOUT_MS),
    codec: codecOption(o.codec),
    signal: signalOption(o.signal),
  }
}
