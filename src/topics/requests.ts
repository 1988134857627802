/**
 * The requester side of request/reply: pending requests (bounded), which replier is asked (round robin per topic
 * over this endpoint's own repliers and the peers that advertise a matching one), failing over to another replier
 * when the one asked goes down, has none after all (a false positive of its summary), or is busy, and the timeouts.
 * `request()` settles with the first reply; `requestAll()` asks every known replier at once and streams the replies.
 * A reply is accepted only from a peer that was asked under that request id and has not answered yet: anything else
 * is dropped and counted.
 */
import { randomFillSync } from 'node:crypto'
import { BackpressureError, ClosedError, ErrorCode, GlueError } from '../errors'
import { TimeoutError } from '../errors'
import { builtInCodec, type Codec, decodeValue } from './codec'
import { TopicMessage } from './message'
import { NoResponderError, ReplyError } from './reply-errors'
import type { ResolvedRequestOptions } from './reply-options'
import { ReplyStream } from './reply-stream'
import { REQUESTER_COUNTERS, type TopicStats, zeroCounters } from './stats'
import { ReplyFlag, type ReplyMessage } from './wire-reqrep'

/** Requests pending at most per endpoint; more reject with `BackpressureError`. */
export const MAX_PENDING_REQUESTS = 65536
/** Topics whose round-robin position is remembered at most (then forgotten all at once). */
const MAX_TURNS = 4096

/** What the requester needs from the layer. */
export interface RequesterContext {
  /** Own endpoint ID. */
  readonly id: string
  /** An endpoint's name, own one included ('' unknown). */
  nameOf(id: string): string
  /** The endpoints that may have a replier for `topic`: own ID first when a local replier matches, then peers. */
  candidates(topic: string): readonly string[]
  /** Sends a REQUEST to `peer` (own ID: to the local repliers); rejects when it cannot be delivered. */
  ask(peer: string, id: string, topic: string, codec: number, payload: Uint8Array, timeoutMs: number): Promise<void>
}

/** The requester side's counters (part of `stats()`). */
export type RequesterCounts = Pick<TopicStats, (typeof REQUESTER_COUNTERS)[number]>

type AskState = 'waiting' | 'done'

interface Pending {
  readonly id: string
  readonly topic: string
  readonly all: boolean
  readonly codec: Codec<never, unknown>
  readonly payload: Uint8Array
  readonly deadline: number
  readonly timeoutMs: number
  readonly asked: Map<string, AskState>
  /** A busy refusal seen (request(): the error when no replier is left). */
  busy: ReplyError | undefined
  /** requestAll(): the first error reply. */
  error: Error | undefined
  replies: number
  readonly settle: (result: TopicMessage | Error) => void
  readonly finish: (error?: Error) => void
  readonly cleanup: () => void
}

const ID_POOL = 8 * 512

/** See the module doc. */
export class Requester {
  readonly counts: RequesterCounts = zeroCounters(REQUESTER_COUNTERS)
  readonly #ctx: RequesterContext
  readonly #pending = new Map<string, Pending>()
  readonly #turns = new Map<string, number>()
  readonly #ids = Buffer.alloc(ID_POOL)
  #idAt = ID_POOL
  #closed = false

  constructor(context: RequesterContext) {
    this.#ctx = context
  }

  /** Requests pending now. */
  get pending(): number {
    return this.#pending.size
  }

  /** See `Endpoint.request`. */
  request(topic: string, payload: Uint8Array, o: ResolvedRequestOptions): Promise<TopicMessage> {
    return new Promise((resolve, reject) => {
      const settle = (result: TopicMessage | Error): void => (result instanceof Error ? reject(result) : resolve(result))
      const p = this.#start(topic, payload, o, false, settle, (error) => error !== undefined && reject(error))
      if (p !== undefined) this.#askNext(p)
    })
  }

  /** See `Endpoint.requestAll`. */
  requestAll(topic: string, payload: Uint8Array, o: ResolvedRequestOptions): AsyncIterableIterator<TopicMessage, undefined> {
    let p: Pending | undefined
    const stream = new ReplyStream(() => p?.cleanup())
    p = this.#start(
      topic,
      payload,
      o,
      true,
      (result) => (result instanceof Error ? undefined : stream.push(result)),
      (error) => stream.end(error),
    )
    if (p === undefined) return stream
    const candidates = this.#ctx.candidates(topic)
    if (candidates.length === 0) {
      p.finish(new NoResponderError(topic))
      return stream
    }
    for (const peer of candidates) this.#ask(p, peer)
    return stream
  }

  /** A fresh random request id (16 hex digits). */
  #newId(): string {
    if (this.#idAt >= ID_POOL) {
      randomFillSync(this.#ids)
      this.#idAt = 0
    }
    const id = this.#ids.toString('hex', this.#idAt, this.#idAt + 8)
    this.#idAt += 8
    return this.#pending.has(id) ? this.#newId() : id
  }

  /** Registers a pending request (timer, signal); undefined when it ended at once (closed, aborted, too many). */
  #start(
    topic: string,
    payload: Uint8Array,
    o: ResolvedRequestOptions,
    all: boolean,
    settle: (result: TopicMessage | Error) => void,
    end: (error?: Error) => void,
  ): Pending | undefined {
    if (this.#closed) return void end(new ClosedError())
    if (o.signal?.aborted === true) return void end(o.signal.reason as Error)
    if (this.#pending.size >= MAX_PENDING_REQUESTS) {
      return void end(new BackpressureError(`${MAX_PENDING_REQUESTS} requests are pending already`))
    }
    const id = this.#newId()
    let ended = false
    const timer = setTimeout(() => this.#timeout(p), o.timeoutMs)
    const onAbort = (): void => p.finish(o.signal?.reason as Error)
    const cleanup = (): void => {
      if (ended) return
      ended = true
      clearTimeout(timer)
      o.signal?.removeEventListener('abort', onAbort)
      this.#pending.delete(id)
    }
    const p: Pending = {
      id,
      topic,
      all,
      codec: o.codec,
      payload,
      deadline: performance.now() + o.timeoutMs,
      timeoutMs: o.timeoutMs,
      asked: new Map(),
      busy: undefined,
      error: undefined,
      replies: 0,
      settle: (result) => {
        if (ended) return
        if (!all) cleanup()
        settle(result)
      },
      finish: (error) => {
        if (ended) return
        cleanup()
        end(error)
      },
      cleanup,
    }
    o.signal?.addEventListener('abort', onAbort, { once: true })
    this.#pending.set(id, p)
    return p
  }

  #ask(p: Pending, peer: string): void {
    p.asked.set(peer, 'waiting')
    this.counts.requestsSent++
    const left = Math.max(1, Math.ceil(p.deadline - performance.now()))
    let sent: Promise<void>
    try {
      sent = this.#ctx.ask(peer, p.id, p.topic, p.codec.id, p.payload, left)
    } catch (err) {
      sent = Promise.reject(err)
    }
    sent.catch((err: unknown) => {
      // Too large, or not delivered (the peer went away): that replier is out; a too-large request fails at once.
      if (err instanceof GlueError && err.code === ErrorCode.MESSAGE_TOO_LARGE) return p.finish(err)
      this.#gone(p, peer)
    })
  }

  /** request(): asks the next replier not asked yet; when none is left and none is waiting, it fails. */
  #askNext(p: Pending): void {
    if (!this.#pending.has(p.id)) return
    const fresh = this.#ctx.candidates(p.topic).filter((peer) => !p.asked.has(peer))
    if (fresh.length > 0) {
      if (p.asked.size > 0) this.counts.requestFailovers++
      let turn = this.#turns.get(p.topic) ?? 0
      const peer = fresh[turn % fresh.length]
      if (this.#turns.size >= MAX_TURNS) this.#turns.clear()
      this.#turns.set(p.topic, ++turn)
      return this.#ask(p, peer)
    }
    for (const state of p.asked.values()) if (state === 'waiting') return
    if (p.busy !== undefined) return p.finish(p.busy)
    const asked = p.asked.size
    p.finish(new NoResponderError(p.topic, asked === 0 ? '' : `the ${asked} asked had none or went away`))
  }

  /** After one replier is out: request() tries another, requestAll() ends once nobody is waited for. */
  #after(p: Pending): void {
    if (!p.all) return this.#askNext(p)
    for (const state of p.asked.values()) if (state === 'waiting') return
    p.finish(p.replies === 0 ? p.error : undefined)
  }

  #gone(p: Pending, peer: string): void {
    if (p.asked.get(peer) !== 'waiting' || !this.#pending.has(p.id)) return
    p.asked.set(peer, 'done')
    this.#after(p)
  }

  #timeout(p: Pending): void {
    if (p.all) return p.finish()
    this.counts.requestTimeouts++
    const waiting = [...p.asked].filter(([, s]) => s === 'waiting').map(([id]) => ({ id, name: this.#name(id) }))
    p.finish(new TimeoutError(`no reply on topic ${JSON.stringify(p.topic)} within ${p.timeoutMs} ms from`, waiting))
  }

  #name(id: string): string {
    return this.#ctx.nameOf(id)
  }

  /** A peer went down: the requests waiting for it move on. */
  peerDown(peer: string): void {
    for (const p of [...this.#pending.values()]) this.#gone(p, peer)
  }

  /** A REPLY arrived from `from` (own ID: from a local replier). */
  onReply(from: string, m: ReplyMessage): void {
    const p = this.#pending.get(m.id)
    if (p === undefined) {
      this.counts.replyDropUnknown++
      return
    }
    if (p.asked.get(from) !== 'waiting') {
      this.counts.replyDropUnasked++
      return
    }
    p.asked.set(from, 'done')
    const peer = { id: from, name: this.#name(from) }
    if (m.flags === ReplyFlag.NONE) return this.#after(p)
    if (m.flags === ReplyFlag.BUSY) {
      p.busy ??= new ReplyError(p.topic, Buffer.from(m.payload).toString('utf8'), peer, true)
      p.error ??= p.busy
      return this.#after(p)
    }
    if (m.flags === ReplyFlag.ERROR) {
      const error = new ReplyError(p.topic, Buffer.from(m.payload).toString('utf8'), peer)
      if (!p.all) return p.finish(error)
      p.error ??= error
      return this.#after(p)
    }
    let message: TopicMessage
    try {
      const codec = builtInCodec(m.codec) ?? (p.codec.id === m.codec ? p.codec : undefined)
      if (codec === undefined) throw new ReplyError(p.topic, `reply codec id ${m.codec} is unknown to the requester`, peer)
      const payload = Buffer.isBuffer(m.payload) ? m.payload : Buffer.from(m.payload.buffer, m.payload.byteOffset, m.payload.byteLength)
      const value = decodeValue(codec, p.topic, payload)
      message = new TopicMessage({
        topic: p.topic,
        value,
        payload,
        type: '',
        codec: m.codec,
        from,
        fromName: this.#ctx.nameOf(from),
        seq: 0,
        timestamp: Date.now(),
        retained: false,
        replayed: false,
        reliable: true,
      })
    } catch (err) {
      if (!p.all) return p.finish(err as Error)
      p.error ??= err as Error
      return this.#after(p)
    }
    this.counts.requestReplies++
    p.replies++
    p.settle(message)
    if (p.all) this.#after(p)
  }

  /** Rejects every pending request with ClosedError. */
  close(): void {
    this.#closed = true
    for (const p of [...this.#pending.values()]) p.finish(new ClosedError())
  }
}
