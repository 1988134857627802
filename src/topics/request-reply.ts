/**
 * Request/reply (NATS request, Zenoh queryable, DDS RPC) on the topic layer: `reply(filter, handler)` answers the
 * requests on matching topics, `request(topic, value)` asks one replier and settles with its reply,
 * `requestAll(topic, value)` asks every known replier and streams their replies.
 *
 * Routing is by interest, like publications: each endpoint announces the filters of its repliers as a summary in
 * announcement extension 0x11 (the format of the interest summary 0x10; old endpoints skip the unknown extension and
 * are never asked). A requester asks only this endpoint's own repliers and peers whose replier summary may match the
 * topic, by REQUEST (topic wire kind 6) over reliable unicast; the replier answers by REPLY (kind 7) to the requester
 * alone. A summary's false positive costs one round trip: that peer answers "none" and the next one is asked.
 */
import { ClosedError, MessageTooLargeError } from '../errors'
import { encodeValue } from './codec'
import { TOPIC_ENVELOPE } from './envelope'
import type { TopicMessage } from './message'
import { PeerInterests } from './peer-interest'
import { type IncomingRequest, REPLIER_EXTENSION, type Replier, type ReplyHandler, ReplierSet } from './repliers'
import { resolveReplyOptions, resolveRequestOptions, type ReplyOptions, type RequestOptions } from './reply-options'
import { Requester } from './requests'
import type { REQUEST_REPLY_COUNTERS, TopicStats } from './stats'
import { validateTopicFilter, validateTopicName } from './topic-name'
import type { TopicTransport } from './transport'
import { encodeReply, encodeRequest, ReplyFlag, type ReplyMessage, type RequestMessage } from './wire-reqrep'
import type { Peer, PeerEvent } from '../discovery/peer-table'

/** The counters of request/reply (part of `stats()`). */
export type RequestReplyStats = Pick<TopicStats, (typeof REQUEST_REPLY_COUNTERS)[number]>

/** Limits of request/reply. */
export interface RequestReplyLimits {
  /** Largest reliable payload, bytes (a request or reply beyond it fails with MessageTooLargeError). */
  maxMessageSize: number
}

/** See the module doc. */
export class RequestReply {
  readonly #t: TopicTransport
  readonly #limits: RequestReplyLimits
  readonly #peers = new PeerInterests(REPLIER_EXTENSION)
  readonly #repliers: ReplierSet
  readonly #requester: Requester
  readonly #onError: (err: unknown) => void
  #replySendFailures = 0
  #closed = false
  /** Told when a replier of this endpoint opens or closes (see {@link RequestReply.onLocalRepliers}). */
  #localRepliers: () => void = () => {}

  constructor(transport: TopicTransport, limits: RequestReplyLimits, onError: (err: unknown) => void) {
    this.#t = transport
    this.#limits = limits
    this.#onError = onError
    this.#repliers = new ReplierSet(
      (summary) => this.#announce(summary),
      () => this.#localRepliers(),
    )
    this.#requester = new Requester({
      id: transport.id,
      nameOf: (id) => (id === transport.id ? transport.name : transport.nameOf(id)),
      candidates: (topic) => this.#candidates(topic),
      ask: (peer, id, topic, codec, payload, timeoutMs) => this.#ask(peer, id, topic, codec, payload, timeoutMs),
    })
  }

  /** See `Endpoint.reply`. */
  reply<T = unknown>(filter: string, handler: ReplyHandler<T>, options?: ReplyOptions): Replier<T> {
    if (this.#closed) throw new ClosedError()
    validateTopicFilter(filter)
    if (filter.charCodeAt(0) === 0x24) throw new TypeError(`a replier's filter cannot be a reserved ($) name: ${filter}`)
    return this.#repliers.add(filter, handler, resolveReplyOptions(options))
  }

  /** See `Endpoint.request`. */
  request<T = unknown>(topic: string, value: unknown, options?: RequestOptions): Promise<TopicMessage<T>> {
    try {
      const { o, payload } = this.#prepare(topic, value, options)
      return this.#requester.request(topic, payload, o) as Promise<TopicMessage<T>>
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** See `Endpoint.requestAll`. */
  requestAll<T = unknown>(topic: string, value: unknown, options?: RequestOptions): AsyncIterableIterator<TopicMessage<T>, undefined> {
    const { o, payload } = this.#prepare(topic, value, options)
    return this.#requester.requestAll(topic, payload, o) as AsyncIterableIterator<TopicMessage<T>, undefined>
  }

  #prepare(topic: string, value: unknown, options: RequestOptions | undefined) {
    if (this.#closed) throw new ClosedError()
    validateTopicName(topic)
    const o = resolveRequestOptions(options)
    const payload = encodeValue(o.codec as never, topic, value as never)
    // 18 bytes of REQUEST header and the envelope, plus the topic.
    const size = payload.length + 20 + Buffer.byteLength(topic)
    if (size > this.#limits.maxMessageSize) {
      throw new MessageTooLargeError(`request of ${size} bytes on topic ${JSON.stringify(topic)} is larger than maxMessageSize: ${this.#limits.maxMessageSize} bytes`)
    }
    return { o, payload }
  }

  /** Own ID first when a local replier matches, then the peers whose replier summary may match. */
  #candidates(topic: string): readonly string[] {
    const remote = this.#peers.interested(topic)
    return this.#repliers.matches(topic) ? [this.#t.id, ...remote] : remote
  }

  #ask(peer: string, id: string, topic: string, codec: number, payload: Uint8Array, timeoutMs: number): Promise<void> {
    if (peer === this.#t.id) {
      const data = Buffer.from(payload)
      queueMicrotask(() => this.#handleRequest(peer, { kind: 'request', id, codec, timeoutMs, topic, payload: data }))
      return Promise.resolve()
    }
    const message = encodeRequest({ id, codec, timeoutMs, topic, payload }, TOPIC_ENVELOPE)
    return this.#t.send(peer, message, true, timeoutMs) as Promise<void>
  }

  /** A REQUEST arrived (or came from this endpoint's own requester). */
  #handleRequest(from: string, m: RequestMessage): void {
    if (this.#closed) return
    let answered = false
    const request: IncomingRequest = {
      from,
      fromName: from === this.#t.id ? this.#t.name : this.#t.nameOf(from),
      topic: m.topic,
      codec: m.codec,
      payload: Buffer.isBuffer(m.payload) ? m.payload : Buffer.from(m.payload),
      deadline: performance.now() + m.timeoutMs,
      respond: (flags, codec, payload) => {
        if (answered) return
        answered = true
        this.#respond(from, { kind: 'reply', id: m.id, flags, codec, payload })
      },
    }
    this.#repliers.handle(request)
  }

  #respond(to: string, reply: ReplyMessage): void {
    if (this.#closed) return
    if (to === this.#t.id) {
      queueMicrotask(() => this.#closed || this.#requester.onReply(to, reply))
      return
    }
    let message: Buffer
    try {
      if (reply.payload.length + 14 > this.#limits.maxMessageSize) {
        throw new MessageTooLargeError(`reply of ${reply.payload.length} bytes is larger than maxMessageSize: ${this.#limits.maxMessageSize} bytes`)
      }
      message = encodeReply(reply, TOPIC_ENVELOPE)
    } catch (err) {
      if (reply.flags !== 0) return void this.#replySendFailures++
      const text = Buffer.from(`the reply could not be sent: ${(err as Error).message}`)
      return this.#respond(to, { kind: 'reply', id: reply.id, flags: ReplyFlag.ERROR, codec: 0, payload: text })
    }
    try {
      ;(this.#t.send(to, message, true) as Promise<void>).catch(() => this.#replySendFailures++)
    } catch {
      this.#replySendFailures++
    }
  }

  /** Handles a received REQUEST or REPLY. */
  receive(from: string, m: RequestMessage | ReplyMessage): void {
    if (this.#closed) return
    if (m.kind === 'request') this.#handleRequest(from, m)
    else this.#requester.onReply(from, m)
  }

  /** Follows the peer table: replier summaries, and peers that went down (their pending requests move on). */
  peerEvent(event: PeerEvent): void {
    if (this.#closed) return
    if (event.type === 'peer-down') {
      this.#peers.remove(event.peer.id)
      this.#requester.peerDown(event.peer.id)
    } else if (event.type === 'peer-up' || event.type === 'peer-changed') this.#peers.update(event.peer as Peer)
  }

  /** The IDs of the peers whose replier summary may match `topic`. */
  repliersFor(topic: string): readonly string[] {
    return this.#peers.interested(topic)
  }

  /** True when peer `id`'s replier summary may match `topic`. */
  peerReplies(id: string, topic: string): boolean {
    return this.#peers.mayWant(id, topic)
  }

  /** True when an open replier of this endpoint matches `topic`. */
  repliesLocally(topic: string): boolean {
    return this.#repliers.matches(topic)
  }

  /** Calls `listener` whenever a replier of this endpoint opens or closes (one listener: the matched repliers). */
  onLocalRepliers(listener: () => void): void {
    this.#localRepliers = listener
  }

  #announce(summary: Uint8Array): void {
    if (this.#closed) return
    try {
      this.#t.setReplierSummary(summary)
    } catch (err) {
      this.#onError(err)
    }
  }

  /** The counters. */
  stats(): RequestReplyStats {
    return {
      ...this.#repliers.counts,
      ...this.#requester.counts,
      replySendFailures: this.#replySendFailures,
    }
  }

  /** Replier summaries from peers that could not be decoded (counted in `topicMalformed`). */
  get malformedSummaries(): number {
    return this.#peers.malformed
  }

  /** Rejects pending requests with ClosedError and closes every replier. */
  close(): void {
    if (this.#closed) return
    this.#requester.close()
    this.#repliers.close()
    this.#closed = true
  }
}
