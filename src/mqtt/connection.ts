/**
 * The bridge's connection to the broker, through mqtt.js: the first connection (with the MQTT 5 → 3.1.1 fallback),
 * then, when it is lost, reconnection with exponential backoff and jitter (from `reconnectMinMs`, doubling, capped
 * at `reconnectMaxMs`). Each attempt is a fresh mqtt.js client with its own reconnection off, so that the bridge —
 * not mqtt.js — owns what was in flight and resends it (see `bridge.ts`); a lost client's late callbacks are ignored.
 */
import type { IClientOptions, IConnackPacket, IPublishPacket, MqttClient } from 'mqtt'

import { MqttConnectError } from './errors'
import type { ResolvedBridgeOptions } from './options'

/** What the connection reports to the bridge. */
export interface ConnectionHandlers {
  /** A connection is up (the first one, or a reconnection). */
  onConnect(client: MqttClient, connack: IConnackPacket, protocolVersion: 5 | 4, reconnect: boolean): void
  /** The connection is lost; the next attempt starts in `retryInMs`. */
  onClose(error: Error | undefined, retryInMs: number): void
  /** A message arrived on the current client. */
  onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void
}

/** The mqtt.js module (loaded only by the `glue-pubsub/mqtt` entry). */
export type MqttModule = typeof import('mqtt')

/** CONNACK reason codes that mean "this protocol version is not supported" (MQTT 5: 0x84; 3.1.1: 1). */
const UNSUPPORTED_PROTOCOL = new Set([0x84, 1])

function describe(err: Error | undefined): string {
  if (err === undefined) return 'the connection closed before the broker accepted it'
  const code = (err as { code?: unknown }).code
  return code === undefined ? err.message : `${err.message} (${String(code)})`
}

/** See the module doc. */
export class BrokerConnection {
  readonly #mqtt: MqttModule
  readonly #o: ResolvedBridgeOptions
  readonly #clientId: string
  readonly #handlers: ConnectionHandlers
  #version: 5 | 4 = 5
  #client: MqttClient | undefined
  #delay: number
  #timer: NodeJS.Timeout | undefined
  #closed = false
  /** Connections made after the first one. */
  reconnects = 0

  constructor(mqtt: MqttModule, options: ResolvedBridgeOptions, clientId: string, handlers: ConnectionHandlers) {
    this.#mqtt = mqtt
    this.#o = options
    this.#clientId = clientId
    this.#handlers = handlers
    this.#delay = options.reconnectMinMs
  }

  /** The connected client, or undefined while there is none. */
  get client(): MqttClient | undefined {
    return this.#client?.connected === true ? this.#client : undefined
  }

  /** The protocol version in use (5 or 4). */
  get protocolVersion(): 5 | 4 {
    return this.#version
  }

  /** Connects for the first time; rejects with MqttConnectError (no retries: a bad URL should fail fast). */
  async open(): Promise<void> {
    const first = this.#o.protocolVersion === 4 ? 4 : 5
    try {
      await this.#attempt(first, false)
    } catch (err) {
      const code = (err as { code?: unknown }).code
      if (this.#o.protocolVersion !== 'auto' || typeof code !== 'number' || !UNSUPPORTED_PROTOCOL.has(code)) {
        throw this.#connectError(err as Error)
      }
      try {
        await this.#attempt(4, false)
      } catch (err2) {
        throw this.#connectError(err2 as Error)
      }
    }
  }

  #connectError(err: Error): MqttConnectError {
    const code = (err as { code?: unknown }).code
    const reason = typeof code === 'string' || typeof code === 'number' ? code : undefined
    return new MqttConnectError(this.#o.url, describe(err), reason, { cause: err })
  }

  #clientOptions(version: 5 | 4): IClientOptions {
    const o = this.#o
    const options: IClientOptions = {
      protocolVersion: version,
      clientId: this.#clientId,
      clean: o.cleanSession,
      keepalive: o.keepaliveSeconds,
      connectTimeout: o.connectTimeoutMs,
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
      username: o.username,
      password: o.password,
      ca: o.ca,
      cert: o.cert,
      key: o.key,
    }
    if (version === 5 && !o.cleanSession) options.properties = { sessionExpiryInterval: o.sessionExpirySeconds }
    return options
  }

  /** One connection attempt; resolves once the broker accepted it. */
  #attempt(version: 5 | 4, reconnect: boolean): Promise<void> {
    return new Promise((resolve, reject) => {
      const client = this.#mqtt.connect(this.#o.url, this.#clientOptions(version))
      let lastError: Error | undefined
      let up = false
      client.on('error', (err) => {
        lastError = err
      })
      client.on('message', (topic, payload, packet) => {
        if (this.#client === client) this.#handlers.onMessage(topic, payload, packet)
      })
      client.once('connect', (connack) => {
        if (this.#closed) {
          client.end(true)
          reject(new Error('closed'))
          return
        }
        up = true
        this.#version = version
        this.#client = client
        this.#delay = this.#o.reconnectMinMs
        if (reconnect) this.reconnects++
        this.#handlers.onConnect(client, connack, version, reconnect)
        resolve()
      })
      client.once('close', () => {
        if (!up) {
          client.end(true)
          reject(lastError ?? new Error('the connection closed before the broker accepted it'))
          return
        }
        if (this.#client === client) this.#client = undefined
        client.end(true)
        if (this.#closed) return
        const retryInMs = this.#nextDelay()
        this.#handlers.onClose(lastError, retryInMs)
        this.#schedule(retryInMs)
      })
    })
  }

  /** The next backoff delay, ms: the current one with ±25 % jitter; the one after is doubled (capped). */
  #nextDelay(): number {
    const delay = Math.round(this.#delay * (0.75 + Math.random() * 0.5))
    this.#delay = Math.min(this.#delay * 2, this.#o.reconnectMaxMs)
    return Math.min(delay, this.#o.reconnectMaxMs)
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      if (this.#closed) return
      this.#attempt(this.#version, true).catch((err: Error) => {
        if (this.#closed) return
        const retryInMs = this.#nextDelay()
        this.#handlers.onClose(err, retryInMs)
        this.#schedule(retryInMs)
      })
    }, ms)
  }

  /** Disconnects (a DISCONNECT when connected) and stops reconnecting. */
  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#timer)
    const client = this.#client
    this.#client = undefined
    if (client === undefined) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        client.end(true)
        resolve()
      }, 2000)
      client.end(false, {}, () => {
        clearTimeout(timer)
        resolve()
      })
    })
  }
}
