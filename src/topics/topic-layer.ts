/**
 * The topic layer of one endpoint: `publish()` and `subscribe()`, interest-aware routing (a publication goes only to
 * peers whose interest summary may match its topic: multicast when many are interested, unicast when few), history
 * and opt-in caching, per-publisher ordering and de-duplication (live, history and repair paths deliver each
 * publication once), late joiners and gap repair after partitions (see `repair.ts`).
 */
import { ClosedError, MessageTooLargeError } from '../errors'
import { TopicKeyError, type TopicKeyReason } from './errors'
import type { PeerEvent } from '../discovery/peer-table'
import { encodeValue } from './codec'
import { deliver, type Pending, pending } from './deliver'
import { type DirectHandler, DirectChannels } from './direct-channels'
import { TOPIC_ENVELOPE, unwrapTopicMessage } from './envelope'
import { HistoryCache, type HistoryRecord } from './history'
import { InterestFilter } from './interest-filter'
import { type KnownTopic, KnownTopics } from './known-topics'
import { LocalStreams } from './local-streams'
import type { PublishOptions, ResolvedTopicOptions, SubscribeOptions } from './options'
import { PeerInterests } from './peer-interest'
import { decodePublishFast } from './publish-decode'
import { PublishHeader } from './publish-header'
import { PublishOptionsCache } from './publish-options-cache'
import { answerRepair, chunks, digestFor, type StoredMeta } from './repair'
import { SequenceTracker, type StreamHandle } from './sequence-tracker'
import { REQUEST_REPLY_COUNTERS, type TopicStats, zeroCounters } from './stats'
import { Subscription } from './subscription'
import { SubscriptionSet } from './subscription-set'
import { compileFilter, type TopicMatcher, validateTopicName } from './topic-name'
import { TickClock } from '../util/tick-clock'
import type { Replier, ReplyHandler } from './repliers'
import type { ReplyOptions, RequestOptions } from './reply-options'
import { RequestReply } from './request-reply'
import type { TopicMessage } from './message'
import type { TopicTransport } from './transport'
import {
  decodeTopicMessage,
  encodeDigest,
  encodeHistory,
  encodePublish,
  encodeRepair,
  type HistoryMessage,
  parsePublisherKey,
  type PublicationFields,
  publisherKey,
  type PublishMessage,
  type TopicWireMessage,
} from './wire'



/** How `publishReserved` publishes. */
const RESERVED_PUBLISH: PublishOptions = { reliable: true, codec: 'raw' }
const RESERVED_NAME = { reserved: true }

/** The empty interest summary (no subscriptions). */
const EMPTY = new Uint8Array(0)
/** Streams whose last repair request time is remembered at most (then forgotten all at once). */
const MAX_REPAIR_TIMES = 10_000
/** Topic-key problems reported at most (then only counted). */
const MAX_KEY_PROBLEMS = 1024

const asBuffer = (data: Uint8Array): Buffer =>
  Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength)

function zeroStats(): TopicStats {
  return {
    topicPublished: 0,
    topicDelivered: 0,
    topicMalformed: 0,
    topicUnwanted: 0,
    topicTypeMismatch: 0,
    topicQosMismatch: 0,
    topicCodecMismatch: 0,
    topicExpired: 0,
    topicDecodeErrors: 0,
    topicDuplicates: 0,
    topicSkipped: 0,
    topicQueueDrops: 0,
    topicRepairRequests: 0,
    topicReplayed: 0,
    topicDigestsSent: 0,
    topicSendFailures: 0,
    topicCacheEvicted: 0,
    topicKeyMissing: 0,
    topicUnauthenticated: 0,
    topicUnsealed: 0,
    topicDirectSent: 0,
    topicDirectReceived: 0,
    topicDirectUnclaimed: 0,
    // Request/reply's counters live in `request-reply.ts`; `stats()` overwrites these.
    ...zeroCounters(REQUEST_REPLY_COUNTERS),
  }
}

/** Limits the topic layer needs besides its options. */
export interface TopicLayerLimits {
  /** Capacity of a subscription's iterator when its options give none. */
  queueLimit: number
  /** Largest best-effort payload (one datagram), bytes. */
  maxDatagramPayload: number
  /** Largest reliable payload, bytes. */
  maxMessageSize: number
}

/** See the module doc. */
export class TopicLayer {
  readonly #t: TopicTransport
  readonly #o: ResolvedTopicOptions
  readonly #limits: TopicLayerLimits
  readonly #onError: (err: unknown) => void
  readonly #local = new LocalStreams()
  readonly #ownKey: string
  readonly #tracker: SequenceTracker<Pending>
  readonly #history: HistoryCache
  readonly #interests = new PeerInterests()
  readonly #subs = new SubscriptionSet()
  readonly #cache: readonly TopicMatcher[]
  readonly #topics: KnownTopics
  readonly #publishOptions = new PublishOptionsCache()
  readonly #clock = new TickClock()
  readonly #nameOf = (id: string): string => (id === this.#t.id ? this.#t.name : this.#t.nameOf(id))
  readonly #repairTimes = new Map<string, number>()
  /** Topic-key problems reported so far (reason and topic): each once. */
  readonly #keyProblems = new Set<string>()
  /** Reports a topic-key problem; false when it could not be reported (then it is reported the next time). */
  readonly #onKeyProblem: (error: TopicKeyError, sender: string) => boolean
  readonly #counts = zeroStats()
  #summary: Uint8Array = EMPTY
  #summaryQueued = false
  #timer: NodeJS.Timeout | undefined
  #timerAt = Infinity
  /** The periodic digests (undefined when off). */
  #digestTimer: NodeJS.Timeout | undefined
  #closed = false
  readonly #direct: DirectChannels
  /** Told when this endpoint's own subscriptions change (see {@link TopicLayer.onLocalInterest}). */
  #localInterest: () => void = () => {}
  readonly #rr: RequestReply

  constructor(
    transport: TopicTransport,
    options: ResolvedTopicOptions,
    limits: TopicLayerLimits,
    onError: (err: unknown) => void,
    onKeyProblem: (error: TopicKeyError, sender: string) => boolean = () => true,
  ) {
    this.#onKeyProblem = onKeyProblem
    this.#direct = new DirectChannels(onError)
    this.#rr = new RequestReply(transport, limits, onError)
    this.#t = transport
    this.#o = options
    this.#limits = limits
    this.#onError = onError
    this.#ownKey = publisherKey(transport.id, this.#local.epoch)
    this.#tracker = new SequenceTracker<Pending>({ holdMs: options.holdMs })
    this.#history = new HistoryCache({ maxRecords: options.maxHistoryRecords, maxBytes: options.maxHistoryBytes })
    this.#cache = options.cacheFilters.map(compileFilter)
    this.#topics = new KnownTopics(options.keys, this.#cache)
    if (this.#cache.length > 0) this.#queueSummary()
    if (options.digestIntervalMs > 0) {
      this.#digestTimer = setInterval(() => this.#digestRound(), options.digestIntervalMs)
      this.#digestTimer.unref()
    }
  }

  /** See `Endpoint.publish`. */
  publish(topic: string, value: unknown, options?: PublishOptions): boolean | Promise<void> {
    return this.#publish(topic, value, options, false)
  }

  /**
   * Publishes raw bytes reliably on a reserved (`$glue/...`) topic, without history: how the layers above (the model
   * layer) use topics. Throws as `publish()` does.
   */
  publishReserved(topic: string, payload: Uint8Array): Promise<void> {
    return this.#publish(topic, payload, RESERVED_PUBLISH, true) as Promise<void>
  }

  /**
   * Sends `payload` reliably to peer `peerId` as a DIRECT message on `channel` (a reserved `$glue/...` name; see
   * `direct-channels.ts`); settles when the peer acknowledged it. Throws TopicError for a bad channel name.
   */
  sendDirect(peerId: string, channel: string, payload: Uint8Array): Promise<void> {
    if (this.#closed) throw new ClosedError()
    const message = this.#direct.encode(channel, payload)
    this.#counts.topicDirectSent++
    return this.#t.send(peerId, message, true, undefined) as Promise<void>
  }

  /** Receives the DIRECT messages on `channel` (one handler per channel); returns the function that stops it. */
  onDirect(channel: string, handler: DirectHandler): () => void {
    if (this.#closed) throw new ClosedError()
    return this.#direct.claim(channel, handler)
  }

  /** See `Endpoint.reply` (request/reply lives in `request-reply.ts`). */
  reply<T>(filter: string, handler: ReplyHandler<T>, options?: ReplyOptions): Replier<T> {
    return this.#rr.reply(filter, handler, options)
  }

  /** See `Endpoint.request`. */
  request<T>(topic: string, value: unknown, options?: RequestOptions): Promise<TopicMessage<T>> {
    return this.#rr.request<T>(topic, value, options)
  }

  /** See `Endpoint.requestAll`. */
  requestAll<T>(topic: string, value: unknown, options?: RequestOptions): AsyncIterableIterator<TopicMessage<T>, undefined> {
    if (this.#closed) throw new ClosedError()
    return this.#rr.requestAll<T>(topic, value, options)
  }

  /** The IDs of the peers whose replier summaries may match `topic` (a valid topic name; do not modify the array). */
  repliers(topic: string): readonly string[] {
    validateTopicName(topic)
    return this.#rr.repliersFor(topic)
  }

  /** True when peer `id`'s replier summary may match `topic`. */
  peerReplies(id: string, topic: string): boolean {
    return this.#rr.peerReplies(id, topic)
  }

  /** True when an open replier of this endpoint matches `topic`. */
  repliesLocally(topic: string): boolean {
    return this.#rr.repliesLocally(topic)
  }

  /** Calls `listener` whenever a replier of this endpoint opens or closes (one listener: the matched repliers). */
  onLocalRepliers(listener: () => void): void {
    this.#rr.onLocalRepliers(listener)
  }

  /** The IDs of the peers whose interest summaries may match `topic` (do not modify the array). */
  interestedPeers(topic: string): readonly string[] {
    return this.#interests.interested(topic)
  }

  /** True when peer `id`'s interest summary may match `topic`. */
  peerWants(id: string, topic: string): boolean {
    return this.#interests.mayWant(id, topic)
  }

  /** True when one of this endpoint's own subscriptions (or a cache filter) matches the valid topic name `topic`. */
  wantsLocally(topic: string): boolean {
    return this.#wants(topic)
  }

  /** Calls `listener` whenever a subscription of this endpoint starts or ends (one listener: the matched subscribers). */
  onLocalInterest(listener: () => void): void {
    this.#localInterest = listener
  }

  #publish(topic: string, value: unknown, options: PublishOptions | undefined, reserved: boolean): boolean | Promise<void> {
    if (this.#closed) throw new ClosedError()
    const known = this.#publishTopic(topic, reserved)
    const o = this.#publishOptions.resolve(options)
    const own = (known.own ??= this.#local.get(topic))
    this.#local.check(topic, o.type, own)
    const payload = encodeValue(o.codec, topic, value as never)
    const seq = (own?.seq ?? 0) + 1
    const { lifespanMs, retain } = o
    const timestamp = this.#clock.wall()
    const sealed = known.sealed
    const codec = o.codec.id
    const wire = sealed
      ? this.#o.keys.seal(
          { publisherId: this.#t.id, epoch: this.#local.epoch, seq, timestamp, codec, retain, topic, type: o.type },
          payload,
        )
      : payload
    let header = known.header
    if (header === undefined || !header.fits(o.type, codec, retain, sealed, lifespanMs, o.depth)) {
      header = known.header = new PublishHeader(topic, this.#local.epoch, { type: o.type, codec, retain, sealed, lifespanMs, depth: o.depth })
    }
    const size = header.size(wire.length)
    const max = o.reliable ? this.#limits.maxMessageSize : this.#limits.maxDatagramPayload
    if (size > max) {
      const what = o.reliable ? 'maxMessageSize' : 'one datagram (maxDatagramSize less headers)'
      throw new MessageTooLargeError(
        `publication of ${size} bytes on topic ${JSON.stringify(topic)} is larger than ${what}: ${max} bytes`,
      )
    }
    const message = header.encode(seq, timestamp, wire)
    known.own = this.#local.take(topic, o.type, o.depth, own)
    this.#counts.topicPublished++
    const now = this.#clock.now()
    if (o.depth > 0 || retain || this.#subs.size > 0) {
      this.#keepOwn(known, o.type, o.depth, { seq, timestamp, lifespanMs, retain, sealed: false, codec, payload }, wire, now)
    } else this.#acceptOwn(known, seq, now)
    return this.#route(topic, message, o.reliable, o.deadlineMs)
  }

  /** Takes an own publication's number in the sequence tracker (for digests). */
  #acceptOwn(known: KnownTopic, seq: number, now: number): void {
    let stream = known.tracked
    if (stream === undefined || stream.forgotten) stream = known.tracked = this.#tracker.handle(this.#ownKey, known.name)
    this.#tracker.acceptIn(stream, seq, undefined as never, now)
  }

  /** The tracker's stream of `publisher` on a received topic (made if new, starting at `first`). */
  #received(known: KnownTopic, publisher: string, first: number): StreamHandle {
    let stream = known.lastTracked
    if (stream === undefined || stream.forgotten || known.lastPublisher !== publisher) {
      stream = known.lastTracked = this.#tracker.handle(publisher, known.name, first)
      known.lastPublisher = publisher
    }
    return stream
  }

  /** The topic of a publication, its name validated (`reserved`: names starting with `$` allowed). */
  #publishTopic(topic: string, reserved: boolean): KnownTopic {
    const known = this.#topics.find(topic)
    if (known !== undefined && (reserved || !known.reserved)) return known
    validateTopicName(topic, reserved ? RESERVED_NAME : undefined)
    return known ?? this.#topics.get(topic)
  }

  /**
   * Keeps an own publication (`record`: its plain form; `wire`: its payload as sent) in history as it went on the
   * wire, takes its number in the tracker and hands it to this endpoint's own subscriptions.
   */
  #keepOwn(known: KnownTopic, type: string, depth: number, record: PublicationFields, wire: Uint8Array, now: number): void {
    const { seq, timestamp, lifespanMs, retain, codec } = record
    const topic = known.name
    // One literal (no spreads): objects of one shape keep the hot path free of hidden-class churn.
    const fields = { seq, timestamp, lifespanMs, retain, sealed: known.sealed, codec, payload: wire }
    // History keeps what goes on the wire: sealed records stay sealed for late joiners and caches (a cleared retained
    // value is kept as cleared, so that it clears).
    const kept = known.sealed && record.payload.length === 0 && retain ? record : fields
    if (depth > 0 || retain) this.#store(this.#ownKey, topic, type, depth, kept, depth)
    this.#acceptOwn(known, seq, now)
    if (this.#subs.size > 0) {
      this.#dispatch(pending(this.#ownKey, this.#t.id, topic, type, record, now + lifespanMs, true, false), now, known)
    }
  }

  /** See `Endpoint.subscribe`. */
  subscribe<T>(filter: string, options: SubscribeOptions<T> = {}): Subscription<T> {
    if (this.#closed) throw new ClosedError()
    const sub = new Subscription<T>(filter, options, {
      queueLimit: this.#limits.queueLimit,
      onDrop: () => this.#counts.topicQueueDrops++,
      onError: this.#onError,
      onEnd: (s) => {
        if (!this.#subs.delete(s)) return
        this.#queueSummary()
        this.#localInterest()
      },
    })
    if (!sub.ended) {
      const replays = this.#kept(sub as Subscription<unknown>)
      this.#subs.add(sub as Subscription<unknown>)
      this.#queueSummary()
      this.#localInterest()
      // Replays go first, on a microtask (the caller has its Subscription by then); live ones wait behind them.
      sub.hold()
      queueMicrotask(() => sub.release(() => this.#replay(sub as Subscription<unknown>, replays)))
    }
    return sub
  }

  /**
   * What this endpoint keeps of the streams a new subscription matches (its own history and retained values, and
   * its cache), per publisher in sequence order: a late joiner on this endpoint gets them as one elsewhere would.
   */
  #kept(sub: Subscription<unknown>): HistoryRecord[] {
    const match = (topic: string): boolean => sub.matcher.matches(topic)
    const records = this.#history.select(match).flatMap((stream) => stream.records)
    for (const retained of this.#history.selectRetained(match)) {
      if (!records.includes(retained)) records.push(retained)
    }
    return records.sort((a, b) => (a.publisher === b.publisher ? a.seq - b.seq : a.publisher < b.publisher ? -1 : 1))
  }

  /** Hands kept records to one subscription. */
  #replay(sub: Subscription<unknown>, records: readonly HistoryRecord[]): void {
    if (this.#closed) return
    const now = performance.now()
    for (const r of records) {
      const { codec, type, sealed } = r.meta as StoredMeta
      const lifespanMs = r.expiresAt - now
      const record = { seq: r.seq, timestamp: r.timestamp, lifespanMs, retain: r.retain, sealed, codec }
      const from = parsePublisherKey(r.publisher).id
      const fields = { ...record, payload: r.data }
      this.#dispatch(pending(r.publisher, from, r.topic, type, fields, r.expiresAt, true, true), now, undefined, sub)
    }
  }

  /** Handles a received topic message (`data` starts with the envelope). */
  receive(from: string, data: Uint8Array, reliable: boolean): void {
    if (this.#closed) return
    const now = this.#clock.now()
    try {
      const message = decodePublishFast(data, TOPIC_ENVELOPE.length) ?? decodeTopicMessage(unwrapTopicMessage(data))
      this.#handle(from, message, reliable, now)
    } catch {
      // Malformed, or valid on the wire but unusable (e.g. ranges no answer can be built from): dropped, counted.
      this.#counts.topicMalformed++
    }
    this.#after(now)
  }

  #handle(from: string, message: TopicWireMessage, reliable: boolean, now: number): void {
    if (message.kind === 'publish') this.#onPublish(from, message, reliable, now)
    else if (message.kind === 'request' || message.kind === 'reply') {
      // They travel reliably only: a best-effort one is malformed (and could be spoofed more cheaply).
      if (reliable) this.#rr.receive(from, message)
      else this.#counts.topicMalformed++
    }
    else if (message.kind === 'direct') {
      this.#counts.topicDirectReceived++
      this.#direct.deliver(from, message.channel, message.payload)
    } else if (message.kind === 'history') this.#onHistory(from, message, now)
    else if (message.kind === 'digest') {
      const include = (publisher: string, topic: string): boolean =>
        !publisher.startsWith(this.#t.id) && this.#wants(topic)
      const missing = this.#tracker.missing(message.streams, { include })
      for (const chunk of chunks(missing)) {
        this.#counts.topicRepairRequests++
        this.#sendControl(from, encodeRepair(chunk, TOPIC_ENVELOPE))
      }
    } else {
      for (const answer of answerRepair(message.streams, this.#history, this.#local, this.#ownKey, now)) {
        this.#counts.topicReplayed += answer.records.length
        this.#sendControl(from, encodeHistory(answer, TOPIC_ENVELOPE))
      }
    }
  }

  /** Follows the peer table: interest summaries, and digests for peers that came up or want more. */
  peerEvent(event: PeerEvent): void {
    if (this.#closed) return
    this.#rr.peerEvent(event)
    if (event.type === 'peer-down') {
      this.#interests.remove(event.peer.id)
      return
    }
    if (event.type !== 'peer-up' && event.type !== 'peer-changed') return
    const changed = this.#interests.update(event.peer)
    if (!changed && event.type !== 'peer-up') return
    this.#sendDigest(event.peer.id)
  }

  /** Sends `peerId` the digest of the streams it may want (nothing when there are none). */
  #sendDigest(peerId: string): void {
    const streams = digestFor(this.#tracker, peerId, (topic) => this.#interests.mayWant(peerId, topic))
    for (const chunk of chunks(streams)) {
      this.#counts.topicDigestsSent++
      this.#sendControl(peerId, encodeDigest(chunk, TOPIC_ENVELOPE))
    }
  }

  /** The periodic digests (anti-entropy), every `digestIntervalMs`. */
  #digestRound(): void {
    if (this.#closed) return
    for (const peer of this.#t.peers()) this.#sendDigest(peer.id)
  }

  /** The counters. */
  stats(): TopicStats {
    return {
      ...this.#counts,
      ...this.#rr.stats(),
      topicMalformed: this.#counts.topicMalformed + this.#interests.malformed + this.#rr.malformedSummaries,
      topicDuplicates: this.#tracker.duplicates,
      topicSkipped: this.#tracker.skipped,
      topicCacheEvicted: this.#history.evicted,
      topicDirectUnclaimed: this.#direct.unclaimed,
    }
  }

  /** Ends every subscription and stops the timer. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#rr.close()
    clearTimeout(this.#timer)
    clearInterval(this.#digestTimer)
    for (const sub of [...this.#subs.all]) sub.unsubscribe()
  }

  #onPublish(from: string, m: PublishMessage, reliable: boolean, now: number): void {
    const known = this.#topics.get(m.topic)
    if (!known.wanted(this.#subs.all, this.#subs.version)) {
      this.#counts.topicUnwanted++
      return
    }
    const publisher = publisherKey(from, m.epoch)
    const item = pending(publisher, from, m.topic, m.type, m, now + m.lifespanMs, reliable, false)
    // A stream seen for the first time starts at the publisher's history window: older numbers are gone anyway.
    this.#take(known, item, m.depth, now, m.seq - m.depth)
  }

  #onHistory(from: string, m: HistoryMessage, now: number): void {
    const known = this.#topics.get(m.topic)
    if (!known.wanted(this.#subs.all, this.#subs.version)) {
      this.#counts.topicUnwanted++
      return
    }
    const { id } = parsePublisherKey(m.publisher)
    if (m.publisher === this.#ownKey) return
    // The publisher itself holds nothing older: give those numbers up at once instead of waiting. Never beyond what
    // this endpoint has seen of the stream or this message holds (a bad number must not end the stream).
    const first = m.records[0]?.seq
    if (first !== undefined) this.#tracker.start(m.publisher, m.topic, Math.min(first, m.firstAvailable))
    if (id === from && m.firstAvailable > 1) {
      const seen = Math.max(this.#tracker.highest(m.publisher, m.topic), m.records.at(-1)?.seq ?? 0)
      this.#tracker.skipTo(m.publisher, m.topic, Math.min(m.firstAvailable, seen + 1), now)
    }
    for (const record of m.records) {
      const item = pending(m.publisher, id, m.topic, m.type, record, now + record.lifespanMs, true, true, from)
      this.#take(known, item, m.depth, now, 1)
    }
  }

  /**
   * Caches (if asked to), orders and de-duplicates a received publication (`first`: where its stream starts if it
   * is new, see `SequenceTracker.accept`).
   */
  #take(known: KnownTopic, received: Pending, depth: number, now: number, first: number): void {
    let item = received
    let stored = received.record
    // From here on the stream is known, even if what arrived is dropped below.
    const stream = this.#received(known, item.publisher, first)
    if (known.sealed) {
      // This endpoint has the topic's key: what does not open is dropped before it is kept or takes its number.
      const plain = this.#open(item)
      if (plain === undefined) return
      const r = item.record
      const { seq, timestamp, lifespanMs, retain, codec } = r
      const record = { seq, timestamp, lifespanMs, retain, sealed: false, codec, payload: plain }
      const { publisher, from, topic, type, expiresAt, reliable, replayed, sender } = item
      item = pending(publisher, from, topic, type, record, expiresAt, reliable, replayed, sender)
      if (plain.length === 0 && r.retain) stored = record // a cleared retained value is kept as cleared
    }
    if (known.cached) this.#store(item.publisher, item.topic, item.type, depth, stored, this.#o.cacheDepth)
    const verdict = this.#tracker.acceptIn(stream, item.record.seq, item, now)
    if (verdict === 'deliver') this.#dispatch(item, now, known)
    else if (verdict === 'gap') this.#requestRepair(item, now)
  }

  #store(publisher: string, topic: string, type: string, depth: number, r: PublicationFields, keep: number): void {
    const meta: StoredMeta = { codec: r.codec, type, depth, sealed: r.sealed === true }
    const { seq, timestamp, lifespanMs, retain } = r
    const data = Buffer.from(r.payload)
    this.#history.put({ topic, publisher, seq, timestamp, lifespanMs, retain, data, meta }, keep)
  }

  /** Asks the publisher for the numbers missing below this one (at most once per stream per quarter hold time). */
  #requestRepair(item: Pending, now: number): void {
    const key = `${item.publisher}\n${item.topic}`
    const last = this.#repairTimes.get(key)
    if (last !== undefined && now - last < Math.max(20, this.#o.holdMs / 4)) return
    if (this.#repairTimes.size >= MAX_REPAIR_TIMES) this.#repairTimes.clear()
    this.#repairTimes.set(key, now)
    if (!this.#t.peers().some((p) => p.id === item.from)) return
    const asked = [{ publisher: item.publisher, topic: item.topic, contiguous: item.record.seq - 1, ranges: [] }]
    const missing = this.#tracker.missing(asked)
    if (missing.length === 0) return
    this.#counts.topicRepairRequests++
    this.#sendControl(item.from, encodeRepair(missing, TOPIC_ENVELOPE))
  }

  /**
   * Hands a publication to every matching subscription (or to `only`), unless its lifespan is over (`known`: its
   * topic, if at hand).
   */
  #dispatch(item: Pending, now: number, known?: KnownTopic, only?: Subscription<unknown>): void {
    if (item.expiresAt <= now) {
      this.#counts.topicExpired++
      return
    }
    // Sealed ones (kept sealed in history and cache) are opened for the subscriptions; what came from the network on a
    // topic this endpoint has a key for was checked when it arrived (`#take`).
    const open = item.record.sealed === true ? (p: Pending) => this.#open(p) : undefined
    const subs = this.#subs
    if (only !== undefined) deliver(item, [only], false, undefined, 0, this.#counts, this.#nameOf, open)
    else {
      const matching = (known ?? this.#topics.get(item.topic)).matching(subs.all, subs.version)
      deliver(item, matching, true, subs, subs.version, this.#counts, this.#nameOf, open)
    }
  }

  /** The plain payload of a publication under topic keys, or undefined (dropped, counted, reported once). */
  #open(item: Pending): Buffer | undefined {
    const r = item.record
    const publisher = item.from
    const { epoch } = parsePublisherKey(item.publisher)
    let result: Buffer | TopicKeyReason
    if (r.sealed === true) {
      const { seq, timestamp, codec, retain } = r
      const context = { publisherId: publisher, epoch, seq, timestamp, codec, retain, topic: item.topic, type: item.type }
      result = this.#o.keys.open(context, r.payload)
    } else {
      if (!this.#o.keys.covers(item.topic)) return asBuffer(r.payload)
      result = 'unsealed'
    }
    if (typeof result !== 'string') return result
    if (result === 'no-key') this.#counts.topicKeyMissing++
    else if (result === 'unauthenticated') this.#counts.topicUnauthenticated++
    else this.#counts.topicUnsealed++
    const once = `${result}\n${item.topic}`
    if (!this.#keyProblems.has(once) && this.#keyProblems.size < MAX_KEY_PROBLEMS) {
      if (this.#onKeyProblem(new TopicKeyError(item.topic, publisher, result), item.sender)) this.#keyProblems.add(once)
    }
    return undefined
  }

  /** Delivers what the tracker released and re-arms the hold timer. */
  #after(now: number): void {
    for (let item = this.#tracker.poll(); item !== undefined; item = this.#tracker.poll()) this.#dispatch(item, now)
    if (this.#timer === undefined && !this.#tracker.holding) return
    const due = this.#tracker.pollTimeout()
    if (due === undefined || this.#closed) {
      clearTimeout(this.#timer)
      this.#timer = undefined
      this.#timerAt = Infinity
      return
    }
    if (this.#timer !== undefined && this.#timerAt <= due) return
    clearTimeout(this.#timer)
    this.#timerAt = due
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#timerAt = Infinity
      const at = performance.now()
      this.#tracker.handleTimeout(at)
      this.#after(at)
    }, Math.max(0, due - now) + 1)
    this.#timer.unref()
  }

  /** Sends a DIGEST, REPAIR or HISTORY (in its envelope) reliably; failures are counted. */
  #sendControl(peerId: string, message: Uint8Array): void {
    const fail = (): void => {
      this.#counts.topicSendFailures++
    }
    try {
      const sent = this.#t.send(peerId, message, true)
      if (typeof sent === 'boolean') {
        if (!sent) fail()
      } else sent.catch(fail)
    } catch {
      fail()
    }
  }

  /** Sends a publication to the interested peers: multicast when many are, unicast when few, nothing when none. */
  #route(topic: string, message: Buffer, reliable: boolean, deadlineMs: number | undefined): boolean | Promise<void> {
    const peers = this.#interests.interested(topic)
    if (peers.length === 0) return reliable ? Promise.resolve() : true
    if (peers.length >= 2 && peers.length >= this.#o.multicastRatio * this.#t.peers().length) {
      return this.#t.broadcast(message, reliable, deadlineMs)
    }
    if (reliable) {
      if (peers.length === 1) return this.#t.send(peers[0], message, true, deadlineMs)
      const sends = peers.map((id) => this.#t.send(id, message, true, deadlineMs) as Promise<void>)
      return Promise.all(sends).then(() => undefined)
    }
    let queued = true
    for (const id of peers) queued = (this.#t.send(id, message, false) as boolean) && queued
    return queued
  }

  #wants(topic: string): boolean {
    return this.#topics.get(topic).wanted(this.#subs.all, this.#subs.version)
  }

  /** Announces the new interest summary once the current task is done (coalesces many subscribes). */
  #queueSummary(): void {
    if (this.#summaryQueued) return
    this.#summaryQueued = true
    queueMicrotask(() => {
      this.#summaryQueued = false
      if (this.#closed) return
      const filters = [...[...this.#subs.all].map((s) => s.filter), ...this.#o.cacheFilters]
      const summary = filters.length === 0 ? EMPTY : InterestFilter.from(filters).encode()
      if (Buffer.from(summary).equals(this.#summary)) return
      try {
        this.#t.setInterest(summary)
        this.#summary = summary
      } catch (err) {
        this.#onError(err)
      }
    })
  }
}
