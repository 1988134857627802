/**
 * The MQTT bridge: forwards glue publications on chosen topics to an MQTT broker and the broker's messages on them
 * into glue, one to one (see `topic-map.ts`), without loops (`loop-marker.ts`) or duplicates between bridges
 * (`work-split.ts`, `bridge-registry.ts`).
 *
 * | glue                             | MQTT                                             |
 * |----------------------------------|--------------------------------------------------|
 * | reliable publication             | QoS 1 (QoS 1 and 2 from MQTT → reliable)         |
 * | best-effort publication          | QoS 0                                            |
 * | `retain: true`                   | retain flag (MQTT 5: Retain As Published)        |
 * | payload                          | payload, unchanged                               |
 * | codec, type                      | MQTT 5 user properties `glue-codec`, `glue-type` |
 *
 * Guarantees. glue → MQTT: a reliable publication the bridge received is held (queue, then in flight) until the
 * broker's PUBACK; a connection lost before it is resent after the reconnection (at least once: a PUBACK lost with
 * the connection gives a duplicate). Only `queueLimit` wait; beyond, the oldest is dropped and counted. Best-effort
 * ones are sent while connected and dropped (counted) otherwise. MQTT → glue: QoS 1/2 messages are published
 * reliably; what the broker sends while the bridge is away is the broker's to keep (`cleanSession: false` with a
 * stable `clientId`, and broker persistence across broker restarts).
 */
import { randomBytes } from 'node:crypto'
import type { IConnackPacket, IPublishPacket, MqttClient } from 'mqtt'

import type { Endpoint } from '../endpoint'
import { MessageTooLargeError } from '../errors'
import { TopicTypeError } from '../topics/errors'
import { AsyncQueue } from '../util/async-queue'
import type { TopicMessage } from '../topics/message'
import type { Subscription } from '../topics/subscription'
import { compileFilter, type TopicMatcher } from '../topics/topic-name'
import { BridgeRegistry } from './bridge-registry'
import { BrokerConnection, type MqttModule } from './connection'
import { CODEC_PROPERTY, codecOf, defaultNetworkMarker, EchoFilter, NETWORK_PROPERTY, TYPE_PROPERTY, userProperty } from './loop-marker'
import { passThroughCodec, PublishProperties } from './properties'
import { PublishBatch } from './publish-batch'
import { type MqttBridgeOptions, resolveBridgeOptions, type ResolvedBridgeOptions } from './options'
import { type Outbound, OutboundQueue } from './outbound-queue'
import { type BridgeDrops, type MqttBridgeStats, type MqttBridgeStatus, zeroDrops } from './stats'
import { mqttFilter, toGlueTopic, toMqttTopic } from './topic-map'
import { WorkSplit } from './work-split'

/** Bytes waiting in the broker connection's socket buffer beyond which QoS 0 publications are dropped (counted). */
const MAX_UNWRITTEN_BYTES = 4 << 20

/** Loads mqtt.js (an optional peer dependency) with a clear error when it is missing. */
function loadMqtt(): MqttModule {
  try {
    return require('mqtt') as MqttModule
  } catch (err) {
    throw new Error('glue-pubsub/mqtt needs the npm package `mqtt` (an optional peer dependency): npm install mqtt', { cause: err })
  }
}

/**
 * Bridges `endpoint` to an MQTT broker. Resolves once connected and subscribed on both sides.
 * @throws InvalidOptionError (naming the option), MqttConnectError (the first connection failed: refused,
 *   unreachable, timed out, bad credentials), ClosedError (the endpoint is closed)
 */
export async function bridgeMqtt(endpoint: Endpoint, options: MqttBridgeOptions): Promise<MqttBridge> {
  const resolved = resolveBridgeOptions(options)
  const bridge = new MqttBridge(endpoint, resolved, loadMqtt())
  await bridge.start()
  return bridge
}

/** A running bridge (see {@link bridgeMqtt}). */
export class MqttBridge implements AsyncDisposable {
  /** This bridge's ID (random hex), as other bridges of the network see it. */
  readonly id = randomBytes(8).toString('hex')
  /** The broker URL (credentials removed). */
  readonly url: string
  /** The glue topic filters bridged. */
  readonly topics: readonly string[]
  readonly #endpoint: Endpoint
  readonly #o: ResolvedBridgeOptions
  readonly #connection: BrokerConnection
  readonly #marker: string
  readonly #split: WorkSplit
  readonly #filters: readonly TopicMatcher[]
  readonly #queue: OutboundQueue
  readonly #inFlight = new Set<Outbound>()
  readonly #subs: Subscription[] = []
  readonly #listeners = new Set<(event: MqttBridgeStatus) => void>()
  readonly #queues = new Set<AsyncQueue<MqttBridgeStatus>>()
  readonly #properties: PublishProperties
  readonly #dropped: BridgeDrops = zeroDrops()
  #registry: BridgeRegistry | undefined
  #echo: EchoFilter | undefined
  #receiveMaximum = Infinity
  /** The broker's Maximum Packet Size (MQTT 5 CONNACK), bytes. */
  #maximumPacketSize = Infinity
  /** QoS 0 publications of the current glue batch, written at its end in one write. */
  readonly #batch = new PublishBatch()
  #publishing = false
  #corked = false
  #closing: Promise<void> | undefined
  #counts = { toMqtt: 0, fromMqtt: 0, resent: 0, skippedLoop: 0, skippedOtherBridge: 0, bridges: 1, subscribeFailures: 0 }

  /** @internal Use {@link bridgeMqtt}. */
  constructor(endpoint: Endpoint, options: ResolvedBridgeOptions, mqtt: MqttModule) {
    this.#endpoint = endpoint
    this.#o = options
    this.url = options.url
    this.topics = options.topics
    this.#marker = options.network ?? defaultNetworkMarker(endpoint)
    this.#properties = new PublishProperties(this.#marker)
    this.#queue = new OutboundQueue(options.queueLimit)
    this.#filters = options.topics.map(compileFilter)
    this.#split = new WorkSplit(this.#entry())
    const clientId = options.clientId ?? `glue-${endpoint.id}-${this.id.slice(0, 8)}`
    this.#connection = new BrokerConnection(mqtt, options, clientId, {
      onConnect: (client, connack, version, reconnect) => this.#onConnect(client, connack, version, reconnect),
      onClose: (error, retryInMs) => this.#onClose(error, retryInMs),
      onMessage: (topic, payload, packet) => this.#fromMqtt(topic, payload, packet),
    })
  }

  #entry() {
    const { direction, topics, brokerKey } = this.#o
    return { bridge: this.id, endpoint: this.#endpoint.id, key: brokerKey, topics, direction }
  }

  get #toMqtt(): boolean {
    return this.#o.direction !== 'from-mqtt'
  }

  get #fromMqttOn(): boolean {
    return this.#o.direction !== 'to-mqtt'
  }

  /** @internal Joins the registry, connects, subscribes on both sides. */
  async start(): Promise<void> {
    const ep = this.#endpoint
    this.#registry = await BridgeRegistry.join(ep, this.#entry(), (live, othersInNetwork) => {
      this.#split.update(live)
      this.#counts.bridges = live.length
      this.#properties.marked = othersInNetwork > 0
    })
    try {
      await this.#connection.open()
    } catch (err) {
      this.#registry.leave()
      throw err
    }
    if (this.#toMqtt) {
      this.#o.topics.forEach((filter, i) => {
        this.#subs.push(ep.subscribe(filter, { callback: (m) => this.#fromGlue(m, i) }))
      })
    }
    const onClosed = (): void => void this.close()
    ep.closed.then(onClosed, onClosed)
  }

  /**
   * Calls `callback` on every status change (connected, disconnected, subscribe-failed); returns the function that
   * stops it. A callback that throws is reported as an uncaught exception.
   */
  onStatus(callback: (event: MqttBridgeStatus) => void): () => void {
    this.#listeners.add(callback)
    return () => this.#listeners.delete(callback)
  }

  /** The status changes as an async iterator, from now on (at most `limit`, default 1000, held: the oldest go); ends on close. */
  status(options: { limit?: number; signal?: AbortSignal } = {}): AsyncIterableIterator<MqttBridgeStatus, undefined> {
    const queue: AsyncQueue<MqttBridgeStatus> = new AsyncQueue<MqttBridgeStatus>({
      limit: options.limit ?? 1000,
      signal: options.signal,
      onFinish: () => {
        off()
        this.#queues.delete(queue)
      },
    })
    const off = this.onStatus((event) => queue.push(event))
    this.#queues.add(queue)
    if (this.#closing !== undefined) queue.end()
    return queue
  }

  /** The counters (see {@link MqttBridgeStats}). */
  stats(): MqttBridgeStats {
    return {
      connected: this.#connection.client !== undefined,
      protocolVersion: this.#connection.protocolVersion,
      ...this.#counts,
      queued: this.#queue.size,
      inFlight: this.#inFlight.size,
      reconnects: this.#connection.reconnects,
      dropped: { ...this.#dropped },
    }
  }

  /** The IDs of the other live bridges of this glue network and broker (they share the work with this one). */
  otherBridges(): string[] {
    return this.#split.others
  }

  #emit(event: MqttBridgeStatus): void {
    for (const listener of this.#listeners) {
      try {
        listener(event)
      } catch (err) {
        queueMicrotask(() => {
          throw err
        })
      }
    }
  }

  #onConnect(client: MqttClient, connack: IConnackPacket, version: 5 | 4, reconnect: boolean): void {
    this.#receiveMaximum = connack.properties?.receiveMaximum ?? Infinity
    this.#maximumPacketSize = connack.properties?.maximumPacketSize ?? Infinity
    this.#batch.clear() // what a lost connection did not write (QoS 0: dropped; its count went to toMqtt)
    this.#echo = version === 4 && this.#o.direction === 'both' ? (this.#echo ?? new EchoFilter()) : undefined
    if (this.#fromMqttOn && !connack.sessionPresent) {
      const subscriptions: Record<string, { qos: 1; nl?: boolean; rap?: boolean; rh?: number }> = {}
      for (const [i, filter] of this.#o.topics.entries()) {
        const mqtt = mqttFilter(filter, this.#o.prefix, `topics[${i}]`)
        subscriptions[mqtt] = version === 5 ? { qos: 1, nl: true, rap: true, rh: 0 } : { qos: 1 }
      }
      client.subscribe(subscriptions, (err, granted) => {
        if (err !== null && err !== undefined) {
          if (client.connected) client.end(true) // reconnect and try again
          return
        }
        // A refused filter (SUBACK reason code >= 0x80, e.g. not authorised) is reported, not retried.
        for (const grant of granted ?? []) {
          if (grant.qos < 0x80) continue
          this.#counts.subscribeFailures++
          this.#emit({ type: 'subscribe-failed', url: this.url, filter: grant.topic, reasonCode: grant.qos })
        }
      })
    }
    this.#emit({ type: 'connected', url: this.url, protocolVersion: version, sessionPresent: connack.sessionPresent, reconnect })
    this.#pump()
  }

  #onClose(error: Error | undefined, retryInMs: number): void {
    // What awaited its PUBACK goes back to the front of the queue, to be resent after the reconnection.
    if (this.#inFlight.size > 0) {
      const back = [...this.#inFlight]
      this.#inFlight.clear()
      this.#counts.resent += back.length
      this.#dropped.queueFull += this.#queue.unshift(back)
    }
    this.#emit({ type: 'disconnected', url: this.url, error, retryInMs })
  }

  /** A glue publication matched filter `index`. */
  #fromGlue(m: TopicMessage, index: number): void {
    if (this.#publishing) {
      this.#counts.skippedLoop++
      return
    }
    // Overlapping filters: the first one that matches forwards it.
    for (let i = 0; i < index; i++) if (this.#filters[i].matches(m.topic)) return
    if (!this.#split.forwardsToMqtt(m.from, m.topic)) {
      this.#counts.skippedOtherBridge++
      return
    }
    const topic = toMqttTopic(m.topic, this.#o.prefix)
    const client = this.#connection.client
    if (!m.reliable) {
      if (client === undefined) this.#dropped.offline++
      else if (client.stream.writableLength >= MAX_UNWRITTEN_BYTES) this.#dropped.backpressure++
      else this.#send(client, { topic, payload: m.payload, qos: 0, retain: m.retained, codec: m.codec, type: m.type })
      return
    }
    if (client !== undefined && this.#queue.size === 0 && this.#inFlight.size < this.#window()) {
      this.#send(client, { topic, payload: m.payload, qos: 1, retain: m.retained, codec: m.codec, type: m.type })
      return
    }
    // Queued: copied out of glue's receive buffer, which it would otherwise keep alive.
    const item = { topic, payload: Buffer.from(m.payload), qos: 1 as const, retain: m.retained, codec: m.codec, type: m.type }
    if (this.#queue.push(item)) this.#dropped.queueFull++
  }

  #window(): number {
    return Math.min(this.#o.maxInFlight, this.#receiveMaximum)
  }

  /** Sends what the queue holds while the window allows. */
  #pump(): void {
    const client = this.#connection.client
    if (client === undefined) return
    const window = this.#window()
    while (this.#inFlight.size < window) {
      const item = this.#queue.shift()
      if (item === undefined) return
      this.#send(client, item)
    }
  }

  /**
   * Corks the broker connection until the current task is done: the publications of one glue batch (delivered
   * synchronously, one after another) leave in one write instead of one syscall each; the QoS 0 ones of the batch
   * are written then, encoded in one buffer (`publish-batch.ts`).
   */
  #cork(client: MqttClient): void {
    if (this.#corked) return
    const stream = client.stream as { cork?: () => void; uncork?: () => void; write(chunk: Buffer): boolean }
    const corks = typeof stream.cork === 'function' && typeof stream.uncork === 'function'
    this.#corked = true
    if (corks) stream.cork?.()
    queueMicrotask(() => {
      this.#corked = false
      if (this.#connection.client === client) this.#batch.flush(stream)
      else this.#batch.clear()
      if (corks) stream.uncork?.()
    })
  }

  #send(client: MqttClient, item: Outbound): void {
    this.#cork(client)
    const v5 = this.#connection.protocolVersion === 5
    this.#echo?.add(item.topic, item.payload)
    if (item.qos === 0) {
      // Encoded here, not by mqtt.js (see publish-batch.ts): a QoS 0 packet keeps no state.
      const block = v5 ? this.#properties.block(item.codec, item.type) : undefined
      const size = 5 + 2 + Buffer.byteLength(item.topic) + (block?.length ?? 0) + item.payload.length
      if (size > this.#maximumPacketSize || !this.#batch.add(item.topic, item.payload, item.retain, block)) {
        this.#dropped.tooLarge++
        return
      }
      this.#counts.toMqtt++
      return
    }
    const properties = v5 ? this.#properties.get(item.codec, item.type) : undefined
    const options = properties === undefined ? { qos: item.qos, retain: item.retain } : { qos: item.qos, retain: item.retain, properties }
    this.#inFlight.add(item)
    client.publish(item.topic, item.payload, options, (err) => {
      // A lost connection's callbacks: #onClose put the item back in the queue already.
      if (!this.#inFlight.has(item) || this.#connection.client !== client) return
      if (err !== undefined && err !== null) {
        if (!client.connected) return // the connection is going: #onClose requeues it
        this.#dropped.brokerRefused++
      } else this.#counts.toMqtt++
      this.#inFlight.delete(item)
      this.#pump()
    })
  }

  #fromMqtt(topic: string, payload: Buffer, packet: IPublishPacket): void {
    if (!this.#fromMqttOn) return
    const properties = packet.properties
    const user = properties?.userProperties as Record<string, string | string[]> | undefined
    if (userProperty(user, NETWORK_PROPERTY) === this.#marker || this.#echo?.take(topic, payload) === true) {
      this.#counts.skippedLoop++
      return
    }
    const glueTopic = toGlueTopic(topic, this.#o.prefix)
    if (glueTopic === undefined) {
      this.#dropped.unmappable++
      return
    }
    if (!this.#split.forwardsFromMqtt(glueTopic)) {
      this.#counts.skippedOtherBridge++
      return
    }
    const codec = codecOf(userProperty(user, CODEC_PROPERTY), properties?.contentType)
    if (codec === undefined) {
      this.#dropped.codec++
      return
    }
    const type = userProperty(user, TYPE_PROPERTY) ?? ''
    const reliable = packet.qos > 0
    const options = { codec: passThroughCodec(codec), type, reliable, retain: packet.retain }
    this.#publishing = true
    try {
      const result = this.#endpoint.publish(glueTopic, payload, options)
      if (typeof result === 'boolean') {
        if (result) this.#counts.fromMqtt++
        else this.#dropped.glueUndelivered++
      } else {
        result.then(
          () => this.#counts.fromMqtt++,
          () => this.#dropped.glueUndelivered++,
        )
      }
    } catch (err) {
      if (err instanceof TopicTypeError) this.#dropped.typeConflict++
      else if (err instanceof MessageTooLargeError) this.#dropped.tooLarge++
      else this.#dropped.glueUndelivered++
    } finally {
      this.#publishing = false
    }
  }

  /**
   * Stops the bridge: ends the glue subscriptions, leaves the registry (the other bridges take over its share),
   * waits up to `drainMs` (default 2000) for queued and in-flight QoS 1 publications to be acknowledged, then
   * disconnects. What is still queued then is dropped (counted in `dropped.queueFull`). Idempotent.
   */
  close(options: { drainMs?: number } = {}): Promise<void> {
    this.#closing ??= this.#close(options.drainMs ?? 2000)
    return this.#closing
  }

  async #close(drainMs: number): Promise<void> {
    for (const sub of this.#subs) sub.unsubscribe()
    this.#registry?.leave()
    const deadline = Date.now() + drainMs
    while ((this.#queue.size > 0 || this.#inFlight.size > 0) && this.#connection.client !== undefined && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10))
    }
    await this.#connection.close()
    this.#dropped.queueFull += this.#queue.clear()
    this.#listeners.clear()
    for (const queue of this.#queues) queue.end()
  }

  /** Same as `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close()
  }
}
