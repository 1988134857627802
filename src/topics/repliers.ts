/**
 * The replier side of request/reply: {@link Replier} handles (`ep.reply()`), each with a bound on concurrent handler
 * calls and a bounded queue behind it, and the {@link ReplierSet} that hands each incoming request (from a peer, or
 * from this endpoint itself) to one matching replier and announces the filters of the open ones (announcement
 * extension 0x11, the same format as the interest summary 0x10) so that requesters know where to ask.
 */
import { builtInCodec, type Codec, decodeValue, encodeValue, rawCodec } from './codec'
import { InterestFilter } from './interest-filter'
import { TopicMessage } from './message'
import type { ResolvedReplyOptions } from './reply-options'
import { TopicMatcher } from './topic-name'
import { REPLIER_COUNTERS, type TopicStats, zeroCounters } from './stats'
import { ReplyFlag } from './wire-reqrep'

/** Announcement extension type of the replier summary. */
export const REPLIER_EXTENSION = 0x11

/**
 * Called for each request; its return value (or the value it resolves to) is the reply, encoded with the replier's
 * codec; `undefined` is an empty `raw` reply (an acknowledgement). Throwing (or rejecting) sends an error reply.
 */
export type ReplyHandler<T = unknown> = (request: TopicMessage<T>) => unknown

/** A request as the replier side sees it, with the way to answer it (exactly once). */
export interface IncomingRequest {
  /** The requester's endpoint ID. */
  readonly from: string
  readonly fromName: string
  readonly topic: string
  readonly codec: number
  readonly payload: Buffer
  /** When the requester stops waiting (performance.now() time base). */
  readonly deadline: number
  /** Sends the REPLY: flags (see ReplyFlag), codec id, payload. */
  readonly respond: (flags: number, codec: number, payload: Uint8Array) => void
}

/** The replier side's counters (part of `stats()`). */
export type ReplierCounts = Pick<TopicStats, (typeof REPLIER_COUNTERS)[number]>

const EMPTY = Buffer.alloc(0)
const text = (message: string): Buffer => Buffer.from(message.length > 1000 ? `${message.slice(0, 1000)}…` : message)
const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err))

/**
 * A replier made by `ep.reply(filter, handler)`: answers the requests on topics matching `filter` until closed
 * (`close()`, its `signal`, `using` / `await using`, or closing the endpoint). At most `concurrency` handler calls run
 * at once; up to `queueLimit` requests wait behind them; more are refused with a busy reply.
 */
export class Replier<T = unknown> implements Disposable, AsyncDisposable {
  /** The topic filter (MQTT wildcards). */
  readonly filter: string
  /** @internal */
  readonly matcher: TopicMatcher
  readonly #handler: ReplyHandler<T>
  readonly #o: ResolvedReplyOptions
  readonly #counts: ReplierCounts
  readonly #onClose: (r: Replier<T>) => void
  readonly #queue: IncomingRequest[] = []
  readonly #onAbort = (): void => void this.close()
  #running = 0
  #closed = false
  #idle: (() => void) | undefined

  /** @internal Made by `ep.reply()`. */
  constructor(
    filter: string,
    handler: ReplyHandler<T>,
    options: ResolvedReplyOptions,
    counts: ReplierCounts,
    onClose: (r: Replier<T>) => void,
  ) {
    if (typeof handler !== 'function') throw new TypeError('reply() needs a handler function')
    this.matcher = new TopicMatcher(filter)
    this.filter = filter
    this.#handler = handler
    this.#o = options
    this.#counts = counts
    this.#onClose = onClose
    options.signal?.addEventListener('abort', this.#onAbort, { once: true })
    if (options.signal?.aborted === true) this.#closed = true
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#closed
  }

  /** Handler calls running now. */
  get running(): number {
    return this.#running
  }

  /** @internal True when a request can start at once or wait in the queue. */
  get accepting(): number {
    if (this.#closed) return 0
    if (this.#running < this.#o.concurrency) return 2
    return this.#queue.length < this.#o.queueLimit ? 1 : 0
  }

  /**
   * Stops answering: the replier is no longer advertised, queued requests are answered "no replier here" (their
   * requesters try another replier); handler calls running finish and send their replies. Resolves once they did.
   */
  close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true
      this.#o.signal?.removeEventListener('abort', this.#onAbort)
      for (const request of this.#queue.splice(0)) request.respond(ReplyFlag.NONE, 0, Buffer.alloc(0))
      this.#onClose(this)
    }
    if (this.#running === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const previous = this.#idle
      this.#idle = () => {
        previous?.()
        resolve()
      }
    })
  }

  /** Same as `close()` (without waiting), for `using`. */
  [Symbol.dispose](): void {
    void this.close()
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  /** @internal Takes a request (check `accepting` first). */
  take(request: IncomingRequest): void {
    if (this.#running < this.#o.concurrency) void this.#run(request)
    else this.#queue.push(request)
  }

  async #run(request: IncomingRequest): Promise<void> {
    this.#running++
    try {
      await this.#answer(request)
    } finally {
      this.#running--
      this.#next()
    }
  }

  #next(): void {
    while (this.#running < this.#o.concurrency && this.#queue.length > 0) {
      const request = this.#queue.shift() as IncomingRequest
      if (request.deadline <= performance.now()) {
        this.#counts.requestsExpired++
        continue
      }
      void this.#run(request)
    }
    if (this.#running === 0 && this.#idle !== undefined) {
      const idle = this.#idle
      this.#idle = undefined
      idle()
    }
  }

  /** The codec that decodes a request with codec id `id` (a custom one only when it is this replier's). */
  #decoder(id: number): Codec<never, unknown> | undefined {
    return builtInCodec(id) ?? (this.#o.codec?.id === id ? this.#o.codec : undefined)
  }

  async #answer(request: IncomingRequest): Promise<void> {
    let reply: Uint8Array
    let codec: Codec<never, unknown>
    try {
      const decoder = this.#decoder(request.codec)
      if (decoder === undefined) throw new Error(`request codec id ${request.codec} is unknown to this replier`)
      const value = decodeValue(decoder, request.topic, request.payload) as T
      const message = new TopicMessage<T>({
        topic: request.topic,
        value,
        payload: request.payload,
        type: '',
        codec: request.codec,
        from: request.from,
        fromName: request.fromName,
        seq: 0,
        timestamp: Date.now(),
        retained: false,
        replayed: false,
        reliable: true,
      })
      const result = await this.#handler(message)
      if (result === undefined) {
        // A handler that returns nothing acknowledges: an empty raw reply.
        codec = rawCodec
        reply = EMPTY
      } else {
        codec = this.#o.codec ?? builtInCodec(request.codec) ?? rawCodec
        reply = encodeValue(codec as Codec<unknown, unknown>, request.topic, result)
      }
    } catch (err) {
      this.#counts.requestErrors++
      request.respond(ReplyFlag.ERROR, 0, text(messageOf(err)))
      return
    }
    this.#counts.requestsAnswered++
    request.respond(0, codec.id, reply)
  }
}

/** The repliers of one endpoint. */
export class ReplierSet {
  readonly counts: ReplierCounts = zeroCounters(REPLIER_COUNTERS)
  readonly #repliers: Replier<never>[] = []
  readonly #announce: (summary: Uint8Array) => void
  readonly #changed: () => void
  #turn = 0
  #queued = false
  #announced = ''

  /**
   * `announce`: sets the replier summary (empty: none). `changed`: told at once when a replier opens or closes (the
   * matched repliers settle their `local` waits).
   */
  constructor(announce: (summary: Uint8Array) => void, changed: () => void = () => {}) {
    this.#announce = announce
    this.#changed = changed
  }

  /** Adds a replier (see `Endpoint.reply`). */
  add<T>(filter: string, handler: ReplyHandler<T>, options: ResolvedReplyOptions): Replier<T> {
    const replier = new Replier<T>(filter, handler, options, this.counts, (r) => this.#remove(r as unknown as Replier<never>))
    if (!replier.closed) {
      this.#repliers.push(replier as unknown as Replier<never>)
      this.#queueSummary()
      this.#changed()
    }
    return replier
  }

  #remove(replier: Replier<never>): void {
    const i = this.#repliers.indexOf(replier)
    if (i < 0) return
    this.#repliers.splice(i, 1)
    this.#queueSummary()
    this.#changed()
  }

  /** True when an open replier of this endpoint matches `topic`. */
  matches(topic: string): boolean {
    return this.#repliers.some((r) => r.matcher.matches(topic))
  }

  /**
   * Hands a request to one matching replier, round robin, preferring one with a free slot: "none" when none matches,
   * "busy" when every matching one is full.
   */
  handle(request: IncomingRequest): void {
    this.counts.requestsReceived++
    const matching = this.#repliers.filter((r) => r.matcher.matches(request.topic))
    if (matching.length === 0) {
      this.counts.requestsUnmatched++
      request.respond(ReplyFlag.NONE, 0, Buffer.alloc(0))
      return
    }
    const start = this.#turn++ % matching.length
    let queued: Replier<never> | undefined
    for (let i = 0; i < matching.length; i++) {
      const r = matching[(start + i) % matching.length]
      const accepting = r.accepting
      if (accepting === 2) return r.take(request)
      if (accepting === 1) queued ??= r
    }
    if (queued !== undefined) return queued.take(request)
    this.counts.requestsRefused++
    const running = matching.reduce((n, r) => n + r.running, 0)
    request.respond(ReplyFlag.BUSY, 0, text(`busy: ${running} requests running and the queue is full`))
  }

  /** Closes every replier (the endpoint closes). */
  close(): void {
    for (const r of [...this.#repliers]) void r.close()
  }

  /** Announces the summary of the open repliers' filters once the current task is done. */
  #queueSummary(): void {
    if (this.#queued) return
    this.#queued = true
    queueMicrotask(() => {
      this.#queued = false
      const filters = [...new Set(this.#repliers.map((r) => r.filter))]
      const summary = filters.length === 0 ? new Uint8Array(0) : InterestFilter.from(filters).encode()
      const key = Buffer.from(summary).toString('hex')
      if (key === this.#announced) return
      this.#announced = key
      this.#announce(summary)
    })
  }
}
