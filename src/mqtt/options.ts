/**
 * Options of `bridgeMqtt()` and their validation: every bad value throws `InvalidOptionError` naming the option
 * (`url`, `topics[1]`, `direction`...) and the value.
 */
import { readFileSync } from 'node:fs'

import { InvalidOptionError } from '../errors'
import { mqttFilter } from './topic-map'

/** Which way messages go: both ways, only glue → MQTT, or only MQTT → glue. */
export type BridgeDirection = 'both' | 'to-mqtt' | 'from-mqtt'

/** The directions, as accepted by `direction` and `--direction`. */
export const DIRECTIONS: readonly BridgeDirection[] = ['both', 'to-mqtt', 'from-mqtt']

/** A PEM file's contents, or its path. */
export type PemInput = string | Buffer

/** Options of `bridgeMqtt()`. */
export interface MqttBridgeOptions {
  /**
   * The broker: `mqtt://host:1883` (TCP), `mqtts://host:8883` (TLS), `ws://` or `wss://`. Required. Credentials in
   * the URL (`mqtt://user:pass@host`) are used unless `username` / `password` are given.
   */
  url: string
  /**
   * glue topic filters to bridge (MQTT syntax, which glue shares: `+` one level, `#` the rest), at least one. A filter
   * starting with `$` (glue's reserved topics, or the broker's `$SYS`) is refused.
   */
  topics: readonly string[]
  /** Which way messages go. Default 'both'. */
  direction?: BridgeDirection
  /**
   * Prefix added to topic names on the MQTT side (`site1/` makes glue `sensors/a` MQTT `site1/sensors/a`), and removed
   * from what comes from MQTT. Must be a valid topic name start (no `+`, `#`, leading `$`). Default '' (none).
   */
  prefix?: string
  /** MQTT user name. Default: from the URL, else none. */
  username?: string
  /** MQTT password. Default: from the URL, else none. */
  password?: string
  /** TLS: the CA certificate(s) to trust, PEM (contents or a file path). Default: the system's CAs. */
  ca?: PemInput
  /** TLS: the client certificate, PEM (contents or a file path). Default none. */
  cert?: PemInput
  /** TLS: the client private key, PEM (contents or a file path). Default none. */
  key?: PemInput
  /**
   * Reliable glue publications held while the broker is unreachable (or while `maxInFlight` are unacknowledged);
   * beyond it the oldest is dropped and counted (`dropped.queueFull`), 1..10_000_000. Default 10_000.
   */
  queueLimit?: number
  /**
   * QoS 1 publications to the broker awaiting PUBACK at most, 1..65535 (also capped by the broker's receive maximum);
   * Default 1000.
   */
  maxInFlight?: number
  /** MQTT protocol: 5, 4 (3.1.1), or 'auto' (try 5, fall back to 3.1.1 when the broker refuses 5). Default 'auto'. */
  protocolVersion?: 5 | 4 | 'auto'
  /** MQTT client ID. Default `glue-<endpoint id>-<random>`. Give a stable one with `cleanSession: false`. */
  clientId?: string
  /**
   * Start with a clean session (true), or resume the broker's session of `clientId` (false: the broker keeps the
   * bridge's subscriptions and QoS 1 messages for it while it is away). Default true.
   */
  cleanSession?: boolean
  /** MQTT 5 session expiry, s, when `cleanSession` is false (0..4294967295). Default 3600. */
  sessionExpirySeconds?: number
  /** MQTT keep-alive, s, 0..65535. Default 30. */
  keepaliveSeconds?: number
  /** Time to wait for the first connection (TCP + CONNACK), ms, 100..600_000. Default 10_000. */
  connectTimeoutMs?: number
  /** First reconnect delay, ms, 10..600_000; doubled per failed attempt up to `reconnectMaxMs`. Default 250. */
  reconnectMinMs?: number
  /** Longest reconnect delay, ms, >= reconnectMinMs, ..600_000. Default 10_000. */
  reconnectMaxMs?: number
  /**
   * Names this glue network in the `glue-network` MQTT 5 user property of what the bridge publishes, so that bridges
   * of the same network skip what another bridge of it published. Default: from the endpoint's networkId, group and
   * port (equal for all endpoints of one network).
   */
  network?: string
}

/** {@link MqttBridgeOptions} validated, with defaults. */
export interface ResolvedBridgeOptions {
  url: string
  /** `protocol//host:port` + prefix: what bridges that must share the work have in common. */
  brokerKey: string
  topics: readonly string[]
  direction: BridgeDirection
  prefix: string
  username: string | undefined
  password: string | undefined
  ca: Buffer | undefined
  cert: Buffer | undefined
  key: Buffer | undefined
  queueLimit: number
  maxInFlight: number
  protocolVersion: 5 | 4 | 'auto'
  clientId: string | undefined
  cleanSession: boolean
  sessionExpirySeconds: number
  keepaliveSeconds: number
  connectTimeoutMs: number
  reconnectMinMs: number
  reconnectMaxMs: number
  network: string | undefined
}

function bad(option: string, value: unknown, expected: string): InvalidOptionError {
  const shown = typeof value === 'string' ? JSON.stringify(value) : String(value)
  return new InvalidOptionError(`Invalid option ${option}: ${shown} (expected ${expected})`, { option, value })
}

function integer(option: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw bad(option, value, `an integer ${min}..${max}`)
  }
  return value
}

function optionalString(option: string, value: unknown): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string') throw bad(option, value, 'a string')
  return value
}

/** A PEM given as its text (it holds `-----BEGIN`) or a Buffer, or else read from the file it names. */
function pem(option: string, value: unknown): Buffer | undefined {
  if (value === undefined) return undefined
  if (Buffer.isBuffer(value)) return value
  if (typeof value !== 'string' || value === '') throw bad(option, value, 'PEM text, a Buffer or a file path')
  if (value.includes('-----BEGIN')) return Buffer.from(value)
  try {
    return readFileSync(value)
  } catch (err) {
    throw new InvalidOptionError(`Invalid option ${option}: cannot read ${value}: ${(err as Error).message}`, {
      option,
      value,
      cause: err,
    })
  }
}

const PROTOCOLS = new Set(['mqtt:', 'mqtts:', 'ws:', 'wss:', 'tcp:', 'ssl:', 'tls:'])

/** Checks the broker URL; returns it parsed. */
function parseUrl(value: unknown): URL {
  if (typeof value !== 'string' || value === '') throw bad('url', value, 'a broker URL such as mqtt://127.0.0.1:1883')
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw bad('url', value, 'a broker URL such as mqtt://127.0.0.1:1883')
  }
  if (!PROTOCOLS.has(url.protocol)) throw bad('url', value, 'an mqtt://, mqtts://, ws:// or wss:// URL')
  if (url.hostname === '') throw bad('url', value, 'a URL with a host name')
  return url
}

const DEFAULT_PORTS: Record<string, string> = { 'mqtt:': '1883', 'tcp:': '1883', 'mqtts:': '8883', 'ssl:': '8883', 'tls:': '8883', 'ws:': '80', 'wss:': '443' }

/** Validates the options of `bridgeMqtt()` (throws InvalidOptionError naming the option). */
export function resolveBridgeOptions(options: MqttBridgeOptions): ResolvedBridgeOptions {
  if (typeof options !== 'object' || options === null) throw bad('options', options, 'an object')
  const url = parseUrl(options.url)
  const topics = options.topics
  if (!Array.isArray(topics) || topics.length === 0) throw bad('topics', topics, 'a non-empty array of topic filters')
  const prefix = options.prefix ?? ''
  if (typeof prefix !== 'string') throw bad('prefix', prefix, 'a string')
  if (/[+#\0]/.test(prefix) || prefix.startsWith('$')) {
    throw bad('prefix', prefix, 'topic levels without "+", "#", U+0000 or a leading "$", such as "site1/"')
  }
  // Each filter must map to an MQTT filter: this throws naming `topics[i]`.
  topics.forEach((filter, i) => mqttFilter(filter, prefix, `topics[${i}]`))
  const direction = options.direction ?? 'both'
  if (!DIRECTIONS.includes(direction)) throw bad('direction', direction, DIRECTIONS.join(', '))
  const protocolVersion = options.protocolVersion ?? 'auto'
  if (protocolVersion !== 5 && protocolVersion !== 4 && protocolVersion !== 'auto') {
    throw bad('protocolVersion', protocolVersion, "5, 4 or 'auto'")
  }
  if (options.cleanSession !== undefined && typeof options.cleanSession !== 'boolean') {
    throw bad('cleanSession', options.cleanSession, 'a boolean')
  }
  const reconnectMinMs = integer('reconnectMinMs', options.reconnectMinMs, 250, 10, 600_000)
  const reconnectMaxMs = integer('reconnectMaxMs', options.reconnectMaxMs, Math.max(10_000, reconnectMinMs), reconnectMinMs, 600_000)
  const clientId = optionalString('clientId', options.clientId)
  if (clientId === '') throw bad('clientId', clientId, 'a non-empty string')
  const network = optionalString('network', options.network)
  if (network === '') throw bad('network', network, 'a non-empty string')
  const port = url.port === '' ? DEFAULT_PORTS[url.protocol] : url.port
  const username = optionalString('username', options.username) ?? (url.username === '' ? undefined : decodeURIComponent(url.username))
  const password = optionalString('password', options.password) ?? (url.password === '' ? undefined : decodeURIComponent(url.password))
  // Credentials travel in the options, never in the URL (which appears in status lines and errors).
  url.username = ''
  url.password = ''
  return {
    url: url.href,
    brokerKey: `${url.protocol}//${url.hostname.toLowerCase()}:${port}\n${prefix}`,
    topics: [...topics],
    direction,
    prefix,
    username,
    password,
    ca: pem('ca', options.ca),
    cert: pem('cert', options.cert),
    key: pem('key', options.key),
    queueLimit: integer('queueLimit', options.queueLimit, 10_000, 1, 10_000_000),
    maxInFlight: integer('maxInFlight', options.maxInFlight, 1000, 1, 65535),
    protocolVersion,
    clientId,
    cleanSession: options.cleanSession ?? true,
    sessionExpirySeconds: integer('sessionExpirySeconds', options.sessionExpirySeconds, 3600, 0, 2 ** 32 - 1),
    keepaliveSeconds: integer('keepaliveSeconds', options.keepaliveSeconds, 30, 0, 65535),
    connectTimeoutMs: integer('connectTimeoutMs', options.connectTimeoutMs, 10_000, 100, 600_000),
    reconnectMinMs,
    reconnectMaxMs,
    network,
  }
}
