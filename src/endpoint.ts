/**
 * The public endpoint: peer discovery, unicast `send()`, multicast `broadcast()` (best effort or reliable),
 * inbound messages and status events as callbacks or bounded async iterators, counters, `flush()` and close.
 */
import { checkPeerFamily, parsePeers } from './discovery/peer-addresses'
import { explicit } from './option-checks'
import { PeerResolver, type PeerResolveCounts } from './discovery/peer-resolver'
import { AsyncQueue } from './util/async-queue'
import { BatchDecoder, Message } from './transport/batch-decoder'
import { ClosedError, fromNativeError, InvalidOptionError, MessageTooLargeError, UnknownPeerError } from './errors'
import { Listeners } from './util/listeners'
import { loadNative } from './transport/native'
import type { NativeBatch, NativeOpen, NativeStats, NativeTransport } from './transport/native-types'
import { type EndpointOptions, type ResolvedNativeConfig, type ResolvedOptions, resolveOptions } from './options'
import { type Peer, PeerTable } from './discovery/peer-table'
import type { StatusEvent } from './status'
import type { KeyInput } from './security/keys'
import { networkKeysHex, SEAL_OVERHEAD } from './security/options'
import type { AddressFamily } from './transport/options'
import { ReliableSender } from './transport/reliable-sender'
import { endpointTransport } from './topics/endpoint-transport'
import { escapeApplicationPayload, startsWithEnvelope, unescapeApplicationPayload } from './topics/envelope'
import type { TopicMessage } from './topics/message'
import type { PublishOptions, SubscribeOptions } from './topics/options'
import type { TopicStats } from './topics/stats'
import type { Subscription } from './topics/subscription'
import type { Replier, ReplyHandler } from './topics/repliers'
import type { ReplyOptions, RequestOptions } from './topics/reply-options'
import { TopicLayer } from './topics/topic-layer'
import {
  MatchedEndpoints,
  type MatchedReplier,
  type MatchedSubscriber,
  type RepliersOptions,
  type SubscribersOptions,
  type WaitForRepliersOptions,
  type WaitForSubscribersOptions,
} from './topics/matched-endpoints'
import { ModelLayer, type SetOptions } from './model/model-layer'
import { realClock } from './model/model-topics'
import type { MapOptions, ReplicaOptions } from './model/options'
import type { ReplicatedCounter } from './model/replicated-counter'
import type { ReplicatedMap } from './model/replicated-map'
import type { ReplicatedSet } from './model/replicated-set'
import type { ModelCounts } from './model/stats'
import { topicsAdapter } from './model/topics-adapter'
import { ConsensusLayer } from './consensus/consensus-layer'
import type { ConsensusGroup } from './consensus/consensus-group'
import type { ConsensusOptions } from './consensus/options'
import type { ConsensusCounts } from './consensus/stats'
import { MetricsLayer } from './metrics/metrics-layer'
import type { ResolvedMetricsOptions } from './metrics/options'
import { type PeerStats, toPeerStats } from './transport/peer-stats'
import type { Registry } from 'prom-client'
import {
  type BestEffortSendOptions,
  checkSendOptions,
  isReliable,
  type ReliableSendOptions,
  type SendOptions,
} from './transport/send-options'

/** Counters of the native core plus those of the TypeScript layer, the topic layer, the model layer and consensus. All only grow. */
export interface EndpointStats extends NativeStats, PeerResolveCounts, TopicStats, ModelCounts, ConsensusCounts {
  /** Messages and status events dropped because a `messages()` / `status()` iterator was full. */
  droppedQueueFull: number
  /** Messages dropped because the accept filter rejected their sender. */
  droppedByFilter: number
  /** Exceptions thrown by `onMessage` / `onStatus` callbacks or by the accept filter. */
  callbackErrors: number
  /** Reliable messages that waited in the JavaScript-side send queue because a native queue was full. */
  reliableMessagesDeferred: number
  /** Reliable messages rejected with BackpressureError: their deadline passed while they waited. */
  reliableMessagesExpiredWaiting: number
}

/** Options of `messages()` and `status()`. */
export interface IterateOptions {
  /** Aborting ends the iteration: the pending (or next) step rejects with `signal.reason`. */
  signal?: AbortSignal
}

/** Options of `flush()`. */
export interface FlushOptions {
  /** Aborting stops the wait: the promise rejects with `signal.reason` (the messages are not affected). */
  signal?: AbortSignal
}

/** A message payload: bytes, or a string sent as UTF-8. */
export type Payload = Uint8Array | string

/** The bytes to hand to the transport: UTF-8 for a string; escaped if they start like a topic message. */
function toBytes(data: Payload): Uint8Array {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`data must be a Uint8Array or a string, got ${typeof data}`)
  return escapeApplicationPayload(bytes)
}

/** Whether the transport may keep `bytes` (made by `toBytes` from `data`) instead of copying it. */
function owned(data: Payload, bytes: Uint8Array): boolean {
  return typeof data === 'string' || bytes !== data
}

/**
 * One endpoint of a glue network. Open with {@link Endpoint.open}; close with `close()` or `await using`.
 *
 * ```ts
 * await using ep = await Endpoint.open({ name: 'A' })
 * ep.onMessage((m) => console.log(m.fromName, m.text()))
 * ep.broadcast('hello')
 * ```
 */
export class Endpoint implements AsyncDisposable {
  /** Own endpoint ID, 16 hex digits. */
  readonly id: string
  /** Own name. */
  readonly name: string
  /** Own unicast address "ip:port" (the actual port when 0 was asked for). */
  readonly address: string
  /** The resolved configuration handed to the native core (network keys shown as '(hidden)'). */
  readonly config: Readonly<ResolvedNativeConfig>
  /** Settles when the endpoint is closed (resolves even if closing the sockets failed). */
  readonly closed: Promise<void>

  readonly #native: NativeTransport
  readonly #peers: PeerTable
  readonly #decoder: BatchDecoder
  readonly #messages: Listeners<Message>
  readonly #status: Listeners<StatusEvent>
  readonly #reliable: ReliableSender
  readonly #topics: TopicLayer
  readonly #matched: MatchedEndpoints
  readonly #matchedRepliers: MatchedEndpoints
  readonly #model: ModelLayer
  readonly #consensus: ConsensusLayer
  readonly #metrics: MetricsLayer = new MetricsLayer(this)
  readonly #queues = new Set<{ end(): void }>()
  readonly #queueLimit: number
  /** Largest best-effort payload, bytes: the datagram less its header (16), the DATA submessage header (4) and
   * its sequence number (4). */
  readonly #maxDatagramPayload: number
  #closing: Promise<void> | undefined
  #resolveClosed!: () => void
  #finalStats: NativeStats | undefined
  #droppedQueueFull = 0
  #callbackErrors = 0
  /** Resolves the host names of `peers` again from time to time and hands changed addresses to the core. */
  readonly #peerResolver: PeerResolver
  /** The family of the sockets, which `setPeers()` addresses must match. */
  readonly #peerFamily: AddressFamily
  /** Keeps Node running while the endpoint is open, like a bound socket (the native core does not). */
  #keepAlive: NodeJS.Timeout | undefined

  /**
   * Opens an endpoint: validates the options (filling in `GLUE_*` variables and defaults), binds the sockets and
   * starts announcing.
   * @throws InvalidOptionError, InterfaceNotFoundError, AddressInUseError, SocketError
   */
  static async open(options?: EndpointOptions): Promise<Endpoint> {
    const resolved = resolveOptions(options) // option errors come first, even without the native addon
    const peers = await PeerResolver.open(resolved.unicast.peers, resolved.unicast.lookupPeer, resolved.unicast.peerResolveIntervalMs)
    return new Endpoint(loadNative(), resolved, peers).#serveMetrics(resolved.metrics)
  }

  /** Opens an endpoint on another transport implementation (an in-memory fake in tests). */
  static async openWith(open: NativeOpen, options?: EndpointOptions): Promise<Endpoint> {
    const resolved = resolveOptions(options)
    const peers = await PeerResolver.open(resolved.unicast.peers, resolved.unicast.lookupPeer, resolved.unicast.peerResolveIntervalMs)
    return new Endpoint(open, resolved, peers).#serveMetrics(resolved.metrics)
  }

  /** Starts the metrics server when asked for; closes the endpoint again (and rethrows) when it cannot listen. */
  async #serveMetrics(options: ResolvedMetricsOptions | undefined): Promise<Endpoint> {
    if (options === undefined) return this
    try {
      await this.#metrics.serve(options)
    } catch (err) {
      await this.close()
      throw err
    }
    return this
  }

  private constructor(open: NativeOpen, resolved: ResolvedOptions, peerResolver: PeerResolver) {
    const onError = (err: unknown): void => this.#reportError(err)
    this.#queueLimit = resolved.messageQueueLimit
    // Sealed datagrams carry 36 bytes more (a longer header and the AEAD tag).
    this.#maxDatagramPayload = resolved.native.maxDatagramSize - 24 - (resolved.native.networkKeys ? SEAL_OVERHEAD : 0)
    this.#messages = new Listeners(onError)
    this.#status = new Listeners(onError)
    this.#peers = new PeerTable({
      accept: resolved.acceptPeer,
      reject: (peerId) => this.#native.rejectPeer(peerId),
      onError,
    })
    this.#decoder = new BatchDecoder(this.#peers, {
      message: (message) => {
        if (!startsWithEnvelope(message.data)) return this.#messages.emit(message)
        const data = unescapeApplicationPayload(message.data)
        if (data === undefined) this.#topics.receive(message.from, message.data, message.reliable)
        else this.#messages.emit(new Message(message.from, message.fromName, data, message.broadcast, message.reliable))
      },
      status: (event) => {
        this.#topics.peerEvent(event)
        this.#matched.peerEvent(event.type, event.peer)
        this.#matchedRepliers.peerEvent(event.type, event.peer)
        this.#model.peerEvent(event)
        this.#consensus.peerEvent()
        this.#status.emit(event)
      },
      delivered: (token) => this.#reliable.delivered(token),
      failed: (token, missing) => this.#reliable.failed(token, missing),
      refused: (token, reason, data) => this.#reliable.refused(token, reason, data),
    })
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve))
    this.#peerResolver = peerResolver
    this.#peerFamily = resolved.unicast.family
    const peerAddresses = peerResolver.addresses()
    const native = peerAddresses.length === 0 ? resolved.native : { ...resolved.native, peers: peerAddresses }
    try {
      this.#native = open(native, (batch) => this.#onBatch(batch))
    } catch (err) {
      throw fromNativeError(err)
    }
    try {
      peerResolver.start((addresses) => this.#native.setPeers(addresses), onError)
      const { sendQueueBytes, maxMessageSize, deliveryDeadlineMs } = resolved.native
      this.#reliable = new ReliableSender(this.#native, {
        sendQueueBytes,
        maxMessageSize,
        deliveryDeadlineMs,
        nameOf: (id) => this.#peers.nameOf(id),
      })
      this.#topics = new TopicLayer(
        endpointTransport({
          native: this.#native,
          reliable: this.#reliable,
          peers: this.#peers,
          name: resolved.native.name,
        }),
        resolved.topics,
        {
          queueLimit: resolved.messageQueueLimit,
          maxDatagramPayload: this.#maxDatagramPayload,
          maxMessageSize,
        },
        onError,
        (error, sender) => {
          const peer = this.#peers.get(sender)
          if (peer !== undefined) this.#status.emit({ type: 'topic-key-error', peer, topic: error.topic, error })
          return peer !== undefined
        },
      )
      const topicLayer = this.#topics
      const me = { id: this.#native.id, name: resolved.native.name, address: this.#native.address }
      this.#matched = new MatchedEndpoints({
        noun: 'subscriber',
        listName: 'subscribers()',
        waitName: 'waitForSubscribers()',
        interested: (topic) => topicLayer.interestedPeers(topic),
        peerWants: (id, topic) => topicLayer.peerWants(id, topic),
        peer: (id) => this.#peers.get(id),
        wantsLocally: (topic) => topicLayer.wantsLocally(topic),
        self: me,
        emit: (event) => this.#status.emit(event),
      })
      topicLayer.onLocalInterest(() => this.#matched.localChanged())
      this.#matchedRepliers = new MatchedEndpoints({
        noun: 'replier',
        listName: 'repliers()',
        waitName: 'waitForRepliers()',
        interested: (topic) => topicLayer.repliers(topic),
        peerWants: (id, topic) => topicLayer.peerReplies(id, topic),
        peer: (id) => this.#peers.get(id),
        wantsLocally: (topic) => topicLayer.repliesLocally(topic),
        self: me,
      })
      topicLayer.onLocalRepliers(() => this.#matchedRepliers.localChanged())
      const self = { id: this.#native.id, name: resolved.native.name, nameOf: (id: string) => this.#peers.nameOf(id) }
      const modelTopics = topicsAdapter(this.#topics, self)
      this.#model = new ModelLayer(modelTopics, realClock, onError)
      const topics = this.#topics
      this.#consensus = new ConsensusLayer(
        {
          ...modelTopics,
          peers: () => this.#peers.list(),
          sendDirect: (id, channel, payload) => topics.sendDirect(id, channel, payload),
          onDirect: (channel, handler) => topics.onDirect(channel, handler),
        },
        realClock,
        onError,
      )
      const hidden = resolved.native.networkKeys?.map(() => '(hidden)') // keys are not shown in the config
      this.config = Object.freeze({
        ...native, // with `peers` as resolved at open
        endpointId: this.#native.id,
        ...(hidden === undefined ? {} : { networkKeys: hidden }),
      })
      this.id = this.#native.id
      this.name = resolved.native.name
      this.address = this.#native.address
    } catch (err) {
      // Nothing may stay running after a failed open: batches already on their way are ignored.
      this.#closing = Promise.resolve()
      void this.#native.close().catch(() => {})
      void peerResolver.stop()
      throw err
    }
    this.#keepAlive = setInterval(() => {}, 0x7fff_ffff)
  }

  /** True once `close()` was called. */
  get isClosed(): boolean {
    return this.#closing !== undefined
  }

  /**
   * Lets Node exit while this endpoint is open, like `socket.unref()` (on exit the core still says goodbye).
   * By default an open endpoint keeps the process running until `close()`.
   */
  unref(): this {
    this.#keepAlive?.unref()
    return this
  }

  /** Undoes `unref()`: the open endpoint keeps the process running again. */
  ref(): this {
    this.#keepAlive?.ref()
    return this
  }

  /** The current peers (accepted ones only), oldest first. Empty after close. */
  peers(): Peer[] {
    return this.#peers.list()
  }

  /**
   * Round trip (µs), traffic, resends and queue depths of every accepted peer, computed by the native core when
   * called (cheap, but meant for monitoring, not for every message): see {@link PeerStats}. Empty after close.
   */
  peerStats(): PeerStats[] {
    if (this.#closing !== undefined) return []
    return toPeerStats(this.#native.peerStats(), (id) => this.#peers.nameOf(id))
  }

  /**
   * Measures the round trip to every peer without sending data: one heartbeat each (part of the reliable protocol,
   * answered by an ACK; nothing is delivered), timed until the answer. `peerStats()` shows the result (`rttMicros`)
   * once the answers are in, for peers this endpoint sends no reliable unicast to (whose round trip is otherwise not
   * measured). At most one probe per peer is outstanding. Returns how many probes went out; 0 after close.
   */
  probePeers(): number {
    if (this.#closing !== undefined) return 0
    try {
      return this.#native.probePeers()
    } catch (err) {
      throw fromNativeError(err)
    }
  }

  /**
   * This endpoint's prom-client Registry holding glue's metrics (every `stats()` counter, per-peer RTT, resends and
   * queue depths), read at scrape time: serve it yourself (`await registry.metrics()`), or merge it into yours. It is
   * what the `metrics` option serves; never the global registry. See also `registerGlueMetrics`.
   */
  metricsRegistry(): Registry {
    return this.#metrics.registry()
  }

  /** Where the `metrics` server listens, "host:port" (the actual port when 0 was asked for); undefined without one. */
  get metricsAddress(): string | undefined {
    return this.#metrics.address
  }

  /**
   * Calls `callback` for every status event (peer up / down / changed, name clash). Returns the unsubscribe
   * function. A callback that throws is reported as an uncaught exception (like an EventEmitter listener).
   */
  onStatus(callback: (event: StatusEvent) => void): () => void {
    return this.#status.add(callback)
  }

  /**
   * Status events as an async iterator, from now on (call `peers()` first for the current table). Holds at most
   * `messageQueueLimit` events, dropping the oldest; ends when the endpoint closes.
   */
  status(options: IterateOptions = {}): AsyncIterableIterator<StatusEvent, undefined> {
    return this.#iterate(this.#status, options)
  }

  /**
   * Calls `callback` for every received message, synchronously as the batch is decoded (the fastest way).
   * Returns the unsubscribe function. A callback that throws is reported as an uncaught exception.
   */
  onMessage(callback: (message: Message) => void): () => void {
    return this.#messages.add(callback)
  }

  /**
   * Received messages as an async iterator. Holds at most `messageQueueLimit` messages, dropping the oldest
   * (counted in `stats().droppedQueueFull`); ends when the endpoint closes.
   */
  messages(options: IterateOptions = {}): AsyncIterableIterator<Message, undefined> {
    return this.#iterate(this.#messages, options)
  }

  /**
   * Sends `data` to one peer.
   *
   * Best effort (the default): one datagram of at most `maxDatagramSize` bytes less 24, no acknowledgement, no
   * retry. Copied at once and handed to the native core with the tick's other sends (one call per tick). Returns
   * false, dropping it, while the native queue is full (it refused the previous batch) or this tick already queued
   * 16 MiB; a batch the native queue refuses is dropped and counted in `stats().droppedSendQueueFull`.
   *
   * Reliable (`{ reliable: true }`): up to `maxMessageSize` bytes, fragmented as needed, repaired when datagrams
   * are lost, and delivered exactly once and in order with this endpoint's other reliable sends to that peer.
   * Returns a Promise that resolves when the peer acknowledged the message. It never throws; it rejects with
   * - DeliveryError when the peer did not acknowledge before the deadline (`deadlineMs`, default
   *   `deliveryDeadlineMs`, counted from this call) or went away (expired, left, restarted) first;
   * - BackpressureError when the message could not even be handed to the native core before its deadline. While
   *   the native queues are full (`sendQueueBytes` unacknowledged per peer, or the command queue) messages wait
   *   in a JavaScript-side queue, in order, and go out as earlier ones complete: no error while there is time;
   * - UnknownPeerError, MessageTooLargeError, InvalidOptionError (a bad `deadlineMs`), or ClosedError (also when
   *   the endpoint is closed before the peer acknowledged).
   * The data may be reused once the call returns (it is copied). Handle every returned promise (or use `flush()`
   * and still attach a handler): an unhandled rejection ends the process by default.
   * @param to the peer, its ID (16 hex digits) or its name (the oldest peer of that name)
   * @throws (best effort) UnknownPeerError when no such peer is in the table; MessageTooLargeError; ClosedError;
   *   InvalidOptionError
   */
  send(to: string | Peer, data: Payload, options: ReliableSendOptions): Promise<void>
  send(to: string | Peer, data: Payload, options?: BestEffortSendOptions): boolean
  send(to: string | Peer, data: Payload, options?: SendOptions): boolean | Promise<void>
  send(to: string | Peer, data: Payload, options?: SendOptions): boolean | Promise<void> {
    if (isReliable(options)) return this.#sendReliably(to, data, options)
    checkSendOptions(options)
    this.#assertOpen()
    const peer = this.#resolvePeer(to)
    return this.#reliable.sendBestEffort(peer, this.#datagram(toBytes(data)))
  }

  /**
   * Sends `data` to every endpoint of the network via the multicast group.
   *
   * Best effort (the default): returns false when the message was dropped because the send queue was full (see
   * `send()`).
   *
   * Reliable (`{ reliable: true }`): sent once to the group and repaired per receiver; every current peer gets it
   * exactly once and in order with this endpoint's other reliable broadcasts. The Promise resolves when every
   * peer (as of when the native core takes the message) acknowledged it, at once if there are none; it rejects
   * as for `send()`, DeliveryError naming the peers that did not acknowledge (the others did get it).
   * @throws (best effort) MessageTooLargeError; ClosedError; InvalidOptionError
   */
  broadcast(data: Payload, options: ReliableSendOptions): Promise<void>
  broadcast(data: Payload, options?: BestEffortSendOptions): boolean
  broadcast(data: Payload, options?: SendOptions): boolean | Promise<void>
  broadcast(data: Payload, options?: SendOptions): boolean | Promise<void> {
    if (isReliable(options)) return this.#sendReliably(undefined, data, options)
    checkSendOptions(options)
    this.#assertOpen()
    return this.#reliable.sendBestEffort(undefined, this.#datagram(toBytes(data)))
  }

  /** `bytes` if they fit one datagram; else MessageTooLargeError. */
  #datagram(bytes: Uint8Array): Uint8Array {
    const max = this.#maxDatagramPayload
    if (bytes.length <= max) return bytes
    throw new MessageTooLargeError(`message of ${bytes.length} bytes exceeds the largest payload of ${max} bytes`)
  }

  /**
   * Sends several messages reliably to one peer, in order — the high-throughput form of
   * `send(to, data, { reliable: true })`: one Promise for the whole batch (no Promise per message), resolved
   * when every message is acknowledged, rejected with the first error (DeliveryError, …); the other messages
   * still go out. Flow control, deadlines and ordering are those of `send()`.
   */
  sendMany(to: string | Peer, messages: readonly Payload[], options: ReliableSendOptions): Promise<void> {
    return this.#sendManyReliably(to, messages, options)
  }

  /** Broadcasts several messages reliably, in order, with one Promise for all (see `sendMany()`). */
  broadcastMany(messages: readonly Payload[], options: ReliableSendOptions): Promise<void> {
    return this.#sendManyReliably(undefined, messages, options)
  }

  /**
   * Publishes `value` on `topic` (a topic name: levels separated by `/`, no wildcards, not starting with `$`) to every
   * endpoint that subscribes to it — and only to those: each endpoint announces a summary of its subscriptions, and
   * a publication goes by multicast when many peers are interested (`topics.multicastRatio`), else by unicast to
   * each interested one. Subscriptions of this endpoint receive it too.
   *
   * Options (see {@link PublishOptions}): `type`, `codec` ('raw' default, 'json', 'msgpack' or custom), `reliable`,
   * `depth` (history kept for late joiners and repair), `retain`, `lifespanMs`, `deadlineMs`.
   *
   * Best effort (the default) returns false when a send queue was full. Reliable returns a Promise that resolves when
   * every interested peer acknowledged it (at once when none is interested) and rejects like `send()`.
   *
   * A publication reaches the peers whose interest is known *now*: right after 'peer-up' (or after `open()`) a peer's
   * interest summary may not have arrived yet, and then `publish()` returns true (or resolves) having reached no one.
   * To publish only once someone listens, `await ep.waitForSubscribers(topic)` first (see {@link subscribers});
   * keep `depth` or `retain` for late joiners.
   * @throws TopicError (invalid topic or type name), TopicTypeError (another type than this endpoint publishes on the
   *   topic), CodecError (the value cannot be encoded), MessageTooLargeError, InvalidOptionError, ClosedError
   */
  publish(topic: string, value: unknown, options: PublishOptions & { reliable: true }): Promise<void>
  publish(topic: string, value: unknown, options?: PublishOptions & { reliable?: false }): boolean
  publish(topic: string, value: unknown, options?: PublishOptions): boolean | Promise<void>
  publish(topic: string, value: unknown, options?: PublishOptions): boolean | Promise<void> {
    const result = this.#topics.publish(topic, value, options)
    this.#matched.published(topic)
    return result
  }

  /**
   * The endpoints whose interest matches `topic` now (DDS "publication matched"): the remote peers a publication on
   * it goes to, as `{ id, name, address, local: false }`. This endpoint's own subscriptions count only with
   * `{ local: true }` (then it is listed first, `local: true`, when one of them matches).
   *
   * Remote matches come from the interest summaries the peers announce, a Bloom-like hashed summary: a listed peer may
   * be a false positive (it then drops the publication; about 1 % per filter shape with the default sizing), a peer
   * that subscribes is never missing once its announcement arrived. A peer whose summary cannot be decoded counts as
   * matching everything (publications go to it too).
   * @throws TopicError (invalid topic name, field `topic`), InvalidOptionError
   */
  subscribers(topic: string, options?: SubscribersOptions): MatchedSubscriber[] {
    return this.#matched.list(topic, options)
  }

  /**
   * Resolves with {@link subscribers}`(topic)` once at least `min` endpoints (default 1) match — at once when they
   * already do. Driven by the peers' announcements (no polling). Rejects with TimeoutError after `timeoutMs` (default
   * 10 000 ms; `Infinity` waits without a limit), with `signal.reason` when aborted, with ClosedError when the
   * endpoint closes, and with TopicError / InvalidOptionError for bad arguments. While it waits (and after, until
   * evicted: see 'subscribers-changed') the topic is tracked and 'subscribers-changed' events report its matches.
   *
   * ```ts
   * await ep.waitForSubscribers('sensors/temp', { min: 2, timeoutMs: 5000 })
   * ep.publish('sensors/temp', '21.5') // reaches at least those two
   * ```
   */
  waitForSubscribers(topic: string, options?: WaitForSubscribersOptions): Promise<MatchedSubscriber[]> {
    return this.#matched.wait(topic, options)
  }

  /**
   * Subscribes to a topic filter (MQTT syntax: `+` matches one level, `#` the rest, e.g. `sensors/+/temp`,
   * `sensors/#`). Returns a {@link Subscription}: iterate it (`for await (const m of sub)`) or pass `callback`; end
   * it with `unsubscribe()`, `signal`, or closing the endpoint. Publishers that keep history (`depth`, `retain`) send
   * theirs at once; per publisher and topic messages arrive in order and once (see {@link TopicMessage}).
   * @throws TopicError (invalid filter or type name), InvalidOptionError, ClosedError
   */
  subscribe<T = unknown>(filter: string, options?: SubscribeOptions<T>): Subscription<T> {
    return this.#topics.subscribe(filter, options)
  }

  /**
   * Answers requests (`request()`, `requestAll()`) on the topics matching `filter` (MQTT wildcards) with what
   * `handler` returns or resolves to; `handler` gets the request as a {@link TopicMessage}. A handler that throws
   * sends an error reply (the requester's promise rejects with `ReplyError`). Options (see {@link ReplyOptions}):
   * `codec` (default: the request's), `concurrency` (64 handler calls at once), `queueLimit` (256 waiting; beyond,
   * requests are refused as busy), `signal`. The replier is announced to the peers (announcement extension 0x11)
   * until its handle is closed (`close()`, `using`, `signal`, or closing the endpoint).
   * @throws TopicError (invalid filter), InvalidOptionError, ClosedError
   */
  reply<T = unknown>(filter: string, handler: ReplyHandler<T>, options?: ReplyOptions): Replier<T> {
    return this.#topics.reply(filter, handler, options)
  }

  /**
   * Sends `value` to one replier whose filter matches `topic` and resolves with its reply as a {@link TopicMessage}.
   * The replier is chosen round robin per topic among this endpoint's own repliers and the peers that advertise one;
   * if the one asked goes down, has none after all or is busy, the next is asked while time remains. Options (see
   * {@link RequestOptions}): `timeoutMs` (default 5000), `codec` (default 'raw'), `signal`.
   * Rejects with NoResponderError (no replier known: at once), TimeoutError (no reply in time), ReplyError (the
   * replier threw, or every replier was busy), ClosedError, TopicError, CodecError, InvalidOptionError,
   * MessageTooLargeError; `signal.reason` when aborted.
   */
  request<T = unknown>(topic: string, value: unknown, options?: RequestOptions): Promise<TopicMessage<T>> {
    return this.#topics.request<T>(topic, value, options)
  }

  /**
   * Sends `value` to every known replier whose filter matches `topic` (one per endpoint) and yields their replies as
   * they arrive; ends when each one asked answered or went down, or at `timeoutMs` (default 5000). Error replies are
   * skipped; when none answered with a value, the iteration ends by throwing the first `ReplyError`. Throws
   * NoResponderError from the first `next()` when no replier is known. Options as `request()`.
   * @throws TopicError, CodecError, InvalidOptionError, MessageTooLargeError, ClosedError
   */
  requestAll<T = unknown>(topic: string, value: unknown, options?: RequestOptions): AsyncIterableIterator<TopicMessage<T>, undefined> {
    return this.#topics.requestAll<T>(topic, value, options)
  }

  /**
   * The endpoints with a replier whose filter may match `topic`, as `{ id, name, address, local: false }`: the peers
   * `request()` chooses from. Remote ones come from the replier summaries the peers announce (a false positive is
   * possible, a miss is not once the announcement arrived). This endpoint's own open repliers count only with
   * `{ local: true }` (then it is listed first, `local: true`; `request()` asks those too).
   * @throws TopicError (invalid topic name, field `topic`), InvalidOptionError
   */
  repliers(topic: string, options?: RepliersOptions): MatchedReplier[] {
    return this.#matchedRepliers.list(topic, options)
  }

  /**
   * Resolves with {@link repliers}`(topic)` once at least `min` endpoints (default 1) have a matching replier — at
   * once when they already do; the way to wait for discovery before `request()` (NATS / Zenoh users expect it).
   * Driven by the peers' announcements and this endpoint's own `reply()` / `Replier.close()` (no polling). Rejects
   * with TimeoutError after `timeoutMs` (default 10 000 ms; `Infinity` waits without a limit), with `signal.reason`
   * when aborted, with ClosedError when the endpoint closes, and with TopicError / InvalidOptionError for bad
   * arguments. `local: true` counts this endpoint's own repliers.
   *
   * ```ts
   * await ep.waitForRepliers('calc/add', { timeoutMs: 5000 })
   * const sum = await ep.request('calc/add', { a: 1, b: 2 }, { codec: 'json' })
   * ```
   */
  waitForRepliers(topic: string, options?: WaitForRepliersOptions): Promise<MatchedReplier[]> {
    return this.#matchedRepliers.wait(topic, options)
  }

  /**
   * Opens the replicated map `name`: every endpoint that opens the same name holds a replica, writes anywhere reach
   * everyone as deltas, concurrent writes resolve the same way everywhere (last writer wins by hybrid logical clock,
   * or `conflict: 'keep-all'`), a late joiner or a member back from a partition catches up with a digest exchange,
   * and with `persist` the state survives restarts. See the README (Model) and {@link MapOptions}.
   * @throws ModelNameError (invalid name, or already open here), InvalidOptionError, PersistError, ClosedError
   */
  map<V = unknown>(name: string, options?: MapOptions): Promise<ReplicatedMap<V>> {
    this.#assertOpen()
    return this.#model.map<V>(name, options)
  }

  /** Opens the replicated counter `name` (increments from every endpoint add up). Throws as `map()`. */
  counter(name: string, options?: ReplicaOptions): Promise<ReplicatedCounter> {
    this.#assertOpen()
    return this.#model.counter(name, options)
  }

  /** Opens the replicated set `name` (observed-remove: concurrent add and delete, the add wins). Throws as `map()`. */
  set<T = unknown>(name: string, options?: SetOptions): Promise<ReplicatedSet<T>> {
    this.#assertOpen()
    return this.#model.set<T>(name, options)
  }

  /**
   * Opens the consensus group `name` of `members` (endpoint names or IDs, this one among them): a Raft group (tikv's
   * `raft` crate) over reliable publications, with a linearizable key-value store (`g.kv`), locks with fencing tokens,
   * a replicated log (`propose` / `onApply`), leader election and membership changes. Every member must open it with
   * the same `members`. See the README (Consensus) and {@link ConsensusOptions}.
   * @throws NotMemberError (this endpoint is not in `members`), ModelNameError (invalid name, or already open here),
   *   InvalidOptionError, ClosedError
   */
  consensus<V = unknown>(name: string, options: ConsensusOptions): Promise<ConsensusGroup<V>> {
    this.#assertOpen()
    return this.#consensus.consensus<V>(name, options)
  }

  /**
   * Resolves once every reliable message sent so far is settled (acknowledged, failed or rejected), whatever is
   * sent meanwhile; at once if none is pending. Never rejects, except with `signal.reason` when aborted. Use it
   * before `close()` to let reliable messages finish, or to time a burst of sends.
   */
  flush(options: FlushOptions = {}): Promise<void> {
    return this.#reliable.flush(options.signal)
  }

  /**
   * Replaces the network keys of a running endpoint, for rotation without downtime: the first key seals from now on,
   * every one is accepted. Rotate in three steps, each on every endpoint before the next: `[old, new]` (accept the
   * new key), `[new, old]` (seal with it), `[new]` (drop the old one). Keys as for the `networkKey` option.
   * @throws InvalidOptionError for a bad or repeated key, an empty list, or an endpoint opened without a network key
   *   (its datagrams have no room for sealing: reopen it with one); ClosedError
   */
  setNetworkKeys(keys: KeyInput | readonly KeyInput[]): void {
    this.#assertOpen()
    const hex = networkKeysHex(keys)
    if (this.config.networkKeys === undefined) {
      throw new InvalidOptionError(
        `Invalid networkKeys: endpoint ${this.name} was opened without a network key and cannot be given one later (open it with networkKey)`,
        { option: 'networkKeys', value: '(hidden)' },
      )
    }
    try {
      this.#native.setNetworkKeys(hex)
    } catch (err) {
      throw fromNativeError(err)
    }
  }

  /**
   * Replaces the unicast peer addresses (the forms of the `peers` option: "ip:port", "[ipv6]:port", "host:port",
   * port default 37321): host names are resolved first (nothing changes when one fails), then the core announces to
   * the new addresses at once. Host names keep being looked up again every `peerResolveIntervalMs`.
   * @throws InvalidOptionError naming the entry (`peers[1]`), PeerResolveError, ClosedError
   */
  async setPeers(peers: readonly string[]): Promise<void> {
    this.#assertOpen()
    const specs = parsePeers(explicit('peers', peers))
    checkPeerFamily(specs, this.#peerFamily)
    await this.#peerResolver.replace(specs)
  }

  /** Current counters; after close, the last ones. */
  stats(): EndpointStats {
    const native = this.#finalStats ?? this.#native.stats()
    return {
      ...native,
      droppedQueueFull: this.#droppedQueueFull,
      droppedByFilter: this.#decoder.droppedByFilter,
      callbackErrors: this.#callbackErrors,
      reliableMessagesDeferred: this.#reliable.deferred,
      reliableMessagesExpiredWaiting: this.#reliable.expiredWaiting,
      ...this.#peerResolver.counts,
      ...this.#topics.stats(),
      ...this.#model.stats(),
      ...this.#consensus.stats(),
    }
  }

  /**
   * Says goodbye to the peers, stops the I/O thread and closes the sockets; ends every iterator (after it
   * yields what it holds) and drops every callback. Reliable messages not yet acknowledged (or still waiting to be
   * sent) reject with ClosedError at once: `await flush()` first to let them finish. Idempotent: later calls
   * return the same promise.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }

  async #close(): Promise<void> {
    this.#matched.close() // pending waitForSubscribers() reject with ClosedError at once
    this.#matchedRepliers.close() // and waitForRepliers()
    await this.#metrics.close()
    await this.#peerResolver.stop()
    this.#consensus.close()
    await this.#model.close()
    this.#topics.close()
    this.#reliable.close()
    clearInterval(this.#keepAlive)
    this.#keepAlive = undefined
    let before: NativeStats | undefined
    try {
      before = this.#native.stats()
      await this.#native.close()
    } catch (err) {
      throw fromNativeError(err)
    } finally {
      try {
        this.#finalStats = this.#native.stats()
      } catch {
        this.#finalStats = before
      }
      this.#peers.clear()
      for (const queue of this.#queues) queue.end()
      this.#messages.clear()
      this.#status.clear()
      this.#resolveClosed()
    }
  }

  #onBatch(batch: NativeBatch): void {
    if (this.#closing !== undefined) return
    this.#decoder.decode(batch)
    this.#reliable.afterBatch()
  }

  #sendReliably(to: string | Peer | undefined, data: Payload, options: ReliableSendOptions): Promise<void> {
    try {
      const deadlineMs = checkSendOptions(options)
      this.#assertOpen()
      const peer = to === undefined ? undefined : this.#resolvePeer(to)
      const bytes = toBytes(data)
      return this.#reliable.send(peer, bytes, owned(data, bytes), deadlineMs)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  #sendManyReliably(
    to: string | Peer | undefined,
    messages: readonly Payload[],
    options: ReliableSendOptions,
  ): Promise<void> {
    try {
      if (!isReliable(options)) throw new InvalidOptionError('options.reliable must be true for sendMany/broadcastMany', { option: 'reliable', value: (options as { reliable?: unknown } | undefined)?.reliable })
      const deadlineMs = checkSendOptions(options)
      this.#assertOpen()
      const peer = to === undefined ? undefined : this.#resolvePeer(to)
      const bytes = messages.map(toBytes)
      const owns = messages.every((m, i) => owned(m, bytes[i] as Uint8Array))
      return this.#reliable.sendMany(peer, bytes, owns, deadlineMs)
    } catch (err) {
      return Promise.reject(err)
    }
  }

  /** The peer to send to, by ID, name or Peer object. */
  #resolvePeer(to: string | Peer): Peer {
    // An exact (lowercase) ID is a Map look-up; resolve() finds the same peer for it, after a pattern test.
    const peer = typeof to === 'string' ? (this.#peers.get(to) ?? this.#peers.resolve(to)) : this.#peers.get(to.id)
    if (peer === undefined) {
      const target = typeof to === 'string' ? to : to.id
      throw new UnknownPeerError(`no peer ${JSON.stringify(target)} (by ID or name) in the peer table of ${this.name}`)
    }
    return peer
  }

  #iterate<T>(listeners: Listeners<T>, options: IterateOptions): AsyncIterableIterator<T, undefined> {
    let unsubscribe = (): void => {}
    const queue: AsyncQueue<T> = new AsyncQueue<T>({
      limit: this.#queueLimit,
      signal: options.signal,
      onDrop: () => this.#droppedQueueFull++,
      onFinish: () => {
        unsubscribe()
        this.#queues.delete(queue)
      },
    })
    if (this.#closing !== undefined) queue.end()
    if (queue.finished) return queue
    this.#queues.add(queue)
    unsubscribe = listeners.add((value) => queue.push(value))
    return queue
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new ClosedError(`endpoint ${this.name} is closed`)
  }

  #reportError(err: unknown): void {
    this.#callbackErrors++
    process.nextTick(() => {
      throw err
    })
  }
}
