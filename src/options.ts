/**
 * Endpoint options: their documentation, defaults and validation, and the resolution
 * `explicit option > GLUE_* environment variable > default` into the {@link NativeConfig} for the core.
 */
import { hostname } from 'node:os'

import { formatSocketAddress, isLoopback, parseSocketAddress, resolveInterface } from './address'
import { ENV_VARS, type EnvOption, type Environment, readEnv } from './env'
import { InvalidOptionError } from './errors'
import type { NativeConfig } from './native-types'
import type { Peer } from './peer-table'
import { resolveTopicOptions, type ResolvedTopicOptions, type TopicOptions } from './topics/options'

/** The default discovery group: announcements and broadcasts go to this multicast group and port. */
export const DEFAULT_GROUP = '239.192.137.1:37320'

/** Options of {@link Endpoint.open}. Every one is optional; unset ones come from `GLUE_*` variables or defaults. */
export interface EndpointOptions {
  /**
   * Network ID, a u32. Endpoints only see endpoints of the same network ID.
   * Env `GLUE_NETWORK_ID`. Default 0.
   */
  networkId?: number
  /** This endpoint's ID, 16 hex digits (a u64). Env `GLUE_ENDPOINT_ID`. Default: random. */
  id?: string
  /**
   * This endpoint's name, 1..255 UTF-8 bytes; peers can `send()` to it by name.
   * Env `GLUE_ENDPOINT_NAME`. Default `${hostname}-${pid}-${n}` (n counts endpoints of this process from 1).
   */
  name?: string
  /**
   * Unicast address to bind, "ip:port"; port 0 picks a free port, ":port" keeps the default IP.
   * Env `GLUE_LISTEN_ADDRESS`. Default "127.0.0.1:0" when the interface is loopback, else "0.0.0.0:0".
   */
  listenAddress?: string
  /**
   * Network interface for multicast: a name like "lo" or "eth0" (resolved to its first IPv4 address), or an IPv4
   * address. Env `GLUE_LISTEN_INTERFACE`. Default: loopback, 127.0.0.1.
   */
  interface?: string
  /**
   * Shorthand that sets both discovery addresses to one multicast "ip:port".
   * Default "239.192.137.1:37320".
   */
  group?: string
  /**
   * Where announcements (and broadcasts) are sent, "ip:port": a multicast group or a unicast address.
   * Env `GLUE_DISCOVERY_TARGET_ADDRESS`. Default: `group`.
   */
  discoveryTargetAddress?: string
  /**
   * Group and port on which announcements and broadcasts are received, "ip:port".
   * Env `GLUE_DISCOVERY_LISTEN_ADDRESS`. Default: `group`, else the discovery target address.
   */
  discoveryListenAddress?: string
  /**
   * How often this endpoint announces itself, milliseconds, 10..3_600_000.
   * Env `GLUE_DISCOVERY_RATE_MILLISECONDS`. Default 1000.
   */
  announcePeriodMs?: number
  /**
   * A peer is dropped after its announce period × this many of silence, 1.5..100.
   * Env `GLUE_DISCOVERY_RATE_TIMEOUT_MULTIPLIER`. Default 3.
   */
  expiryMultiplier?: number
  /**
   * When a second endpoint announces a name that is taken: 'report' keeps both and emits a 'name-clash' status
   * event; 'reject' ignores the newcomer (and still reports it). Default 'report'.
   */
  nameClash?: 'report' | 'reject'
  /**
   * Accept filter, called once per new peer. Returning false hides the peer (not in `peers()`, no status events)
   * and drops its messages, counted in `stats().droppedByFilter`. Default: accept everyone.
   */
  acceptPeer?: (peer: Peer) => boolean
  /** Multicast TTL in hops, 0..255. Default 1 (stay on the local network). */
  multicastTtl?: number
  /**
   * Largest datagram sent, bytes of UDP payload, 512..65507. Default 65000 on loopback, 1472 otherwise
   * (an Ethernet MTU of 1500 less IP and UDP headers).
   */
  maxDatagramSize?: number
  /** At most this many peers are tracked, 1..1_000_000. Default 1024. */
  maxPeers?: number
  /** Socket receive and send buffer size, bytes, 4096..1 GiB (set with the FORCE variants as root). Default 16 MiB. */
  socketBufferSize?: number
  /**
   * Largest reliable message this endpoint sends or accepts, bytes, 1..4 GiB and at most `maxReceiveMemory`.
   * Larger sends reject with MessageTooLargeError; larger inbound messages are dropped (`droppedTooLarge`).
   * Default 256 MiB (or `maxReceiveMemory` if that is smaller).
   */
  maxMessageSize?: number
  /**
   * Deadline of a reliable send that gives no `deadlineMs`, milliseconds, 1..2_147_483_647, counted from the
   * `send()` / `broadcast()` call: a message not acknowledged by every receiver by then rejects with
   * DeliveryError (or BackpressureError if it never left the send queue). Default 30_000.
   */
  deliveryDeadlineMs?: number
  /**
   * An incoming reliable message that is incomplete and makes no progress for this long is dropped and counted
   * (`reassemblyTimeouts`), milliseconds, 1..2_147_483_647. Default 10_000.
   */
  reassemblyTimeoutMs?: number
  /**
   * Memory for reassembling and reordering incoming reliable messages, across all senders, bytes,
   * 1 MiB..1 TiB. Fragments beyond it are not acknowledged (the sender resends them later). Default 1 GiB.
   */
  maxReceiveMemory?: number
  /**
   * Bytes of reliable messages not yet acknowledged per channel (one per peer for `send()`, one for
   * `broadcast()`), 64 KiB..1 TiB. Beyond it further reliable sends wait in a JavaScript-side queue until earlier
   * ones complete (a message larger than this is sent alone). Default 64 MiB.
   */
  sendQueueBytes?: number
  /**
   * After any activity the native I/O thread keeps polling without sleeping for this long, microseconds,
   * 0..1_000_000: lower round-trip latency for one busy CPU core's worth of spinning (like `SO_BUSY_POLL`).
   * Env `GLUE_BUSY_POLL_US`. Default 0 (off).
   */
  busyPollUs?: number
  /**
   * How long an acknowledgement may wait to ride on a reply to its sender, microseconds, 0..100_000. For
   * request/response traffic: one datagram and one wake-up less per message on each side (less CPU); held only
   * while this endpoint sent the peer reliable data in the last 10 ms, never when data is missing. Env
   * `GLUE_ACK_HOLD_US`. Default 0 (off: on virtualised hosts with idle vCPUs round trips are shorter without it).
   */
  ackHoldUs?: number
  /**
   * Capacity of each `messages()` / `status()` iterator, items, 1..16_777_216. When one is full the oldest item is
   * dropped and counted in `stats().droppedQueueFull`. Default 65536.
   */
  messageQueueLimit?: number
  /** The topic layer: caching, ordering hold time, multicast ratio, history bounds (see {@link TopicOptions}). */
  topics?: TopicOptions
  /**
   * Where `GLUE_*` variables are read from; false ignores the environment. Default `process.env`.
   */
  env?: Environment | false
}

/** A {@link NativeConfig} whose optional reliable limits are all set (the TypeScript layer uses them too). */
export type ResolvedNativeConfig = NativeConfig &
  Required<
    Pick<
      NativeConfig,
      'maxMessageSize' | 'deliveryDeadlineMs' | 'reassemblyTimeoutMs' | 'maxReceiveMemory' | 'sendQueueBytes'
    >
  >

/** The validated options: the native core's config plus what the TypeScript layer keeps for itself. */
export interface ResolvedOptions {
  /** The native core's configuration, with every reliable limit filled in. */
  native: ResolvedNativeConfig
  acceptPeer: ((peer: Peer) => boolean) | undefined
  messageQueueLimit: number
  /** The topic layer's options. */
  topics: ResolvedTopicOptions
}

/** The longest timeout, ms: the largest delay `setTimeout` takes (about 24.8 days). */
export const MAX_TIMEOUT_MS = 2_147_483_647

/** Defaults of the reliable transport (the native core's too). */
const RELIABLE_DEFAULTS = {
  maxMessageSize: 256 * 1024 * 1024,
  deliveryDeadlineMs: 30_000,
  reassemblyTimeoutMs: 10_000,
  maxReceiveMemory: 1024 * 1024 * 1024,
  sendQueueBytes: 64 * 1024 * 1024,
} as const

/** A number option's limits, as reported in errors. */
export interface Range {
  min: number
  max: number
  integer: boolean
  unit: string
}

const RANGES = {
  networkId: { min: 0, max: 0xffff_ffff, integer: true, unit: '(u32)' },
  announcePeriodMs: { min: 10, max: 3_600_000, integer: true, unit: 'ms' },
  expiryMultiplier: { min: 1.5, max: 100, integer: false, unit: '× the announce period' },
  multicastTtl: { min: 0, max: 255, integer: true, unit: 'hops' },
  maxDatagramSize: { min: 512, max: 65_507, integer: true, unit: 'bytes' },
  maxPeers: { min: 1, max: 1_000_000, integer: true, unit: 'peers' },
  socketBufferSize: { min: 4096, max: 1 << 30, integer: true, unit: 'bytes' },
  messageQueueLimit: { min: 1, max: 16_777_216, integer: true, unit: 'items' },
  maxMessageSize: { min: 1, max: 2 ** 32, integer: true, unit: 'bytes' },
  deliveryDeadlineMs: { min: 1, max: MAX_TIMEOUT_MS, integer: true, unit: 'ms' },
  reassemblyTimeoutMs: { min: 1, max: MAX_TIMEOUT_MS, integer: true, unit: 'ms' },
  maxReceiveMemory: { min: 1 << 20, max: 2 ** 40, integer: true, unit: 'bytes' },
  sendQueueBytes: { min: 1 << 16, max: 2 ** 40, integer: true, unit: 'bytes' },
  busyPollUs: { min: 0, max: 1_000_000, integer: true, unit: 'µs' },
  ackHoldUs: { min: 0, max: 100_000, integer: true, unit: 'µs' },
} satisfies Record<string, Range>

const KNOWN_OPTIONS: ReadonlySet<string> = new Set<keyof EndpointOptions>([
  'networkId',
  'id',
  'name',
  'listenAddress',
  'interface',
  'group',
  'discoveryTargetAddress',
  'discoveryListenAddress',
  'announcePeriodMs',
  'expiryMultiplier',
  'nameClash',
  'acceptPeer',
  'multicastTtl',
  'maxDatagramSize',
  'maxPeers',
  'socketBufferSize',
  'messageQueueLimit',
  'maxMessageSize',
  'deliveryDeadlineMs',
  'reassemblyTimeoutMs',
  'maxReceiveMemory',
  'sendQueueBytes',
  'busyPollUs',
  'ackHoldUs',
  'topics',
  'env',
])

const ENDPOINT_ID = /^[0-9a-fA-F]{16}$/
let endpointCounter = 0

/** Where a value came from: the option itself, or the environment variable that filled it in. */
export interface Source {
  value: unknown
  /** Option name or environment variable, as reported in errors. */
  label: string
  fromEnv: boolean
}

/** An InvalidOptionError naming the option (or variable), its value and what was expected. */
export function invalid(source: Source, expected: string): InvalidOptionError {
  const what = source.fromEnv ? 'environment variable' : 'option'
  return new InvalidOptionError(`Invalid ${what} ${source.label}: ${describe(source.value)} (expected ${expected})`, {
    option: source.label,
    value: source.value,
  })
}

function describe(value: unknown): string {
  if (typeof value === 'function') return 'a function'
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value)
  return JSON.stringify(value) ?? String(value)
}

/** Checks a number (env values are parsed first) against `range`; returns it. */
export function checkNumber(source: Source, range: Range): number {
  const value = source.fromEnv ? Number(source.value) : source.value
  const ok = typeof value === 'number' && Number.isFinite(value) && (!range.integer || Number.isInteger(value))
  if (!ok || value < range.min || value > range.max) {
    const kind = range.integer ? 'an integer' : 'a number'
    throw invalid(source, `${kind} in ${range.min}..${range.max}, ${range.unit}`)
  }
  return value
}

/** An explicitly given option as a {@link Source}. */
export function explicit(label: string, value: unknown): Source {
  return { value, label, fromEnv: false }
}

/** Checks that the value is a string and, if `valid` is given, that it passes (else `expected` is reported). */
function checkString(source: Source, valid?: (text: string) => boolean, expected = ''): string {
  if (typeof source.value !== 'string') throw invalid(source, expected || 'a string')
  if (valid !== undefined && !valid(source.value)) throw invalid(source, expected)
  return source.value
}

/** Checks an "ip:port" value; `text` is what to parse when it differs from the value given (":port" form). */
function checkAddress(source: Source, minPort: number, text = checkString(source)): string {
  const address = parseSocketAddress(text)
  if (address === undefined || address.port < minPort) throw invalid(source, `"ip:port" (IPv4, port ${minPort}..65535)`)
  return formatSocketAddress(address)
}

function defaultName(): string {
  endpointCounter += 1
  const suffix = `-${process.pid}-${endpointCounter}`
  return `${hostname().slice(0, 255 - suffix.length)}${suffix}`
}

/**
 * Validates the options, fills in `GLUE_*` variables and defaults, and resolves the interface name.
 * @throws InvalidOptionError naming the option or variable and the bad value
 * @throws InterfaceNotFoundError when the interface name is unknown
 */
export function resolveOptions(options: EndpointOptions = {}): ResolvedOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidOptionError(`Invalid options: ${describe(options)} (expected an object)`, { value: options })
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key))
      throw invalid(explicit(key, options[key as keyof EndpointOptions]), 'a known option name')
  }
  if (options.env !== undefined && options.env !== false && (typeof options.env !== 'object' || options.env === null)) {
    throw invalid(explicit('env', options.env), 'an object of strings or false')
  }
  const env = options.env === false ? {} : readEnv(options.env ?? process.env)
  const source = (key: keyof EndpointOptions): Source | undefined => {
    if (options[key] !== undefined) return explicit(key, options[key])
    const raw = env[key as EnvOption]
    return raw === undefined ? undefined : { value: raw, label: ENV_VARS[key as EnvOption], fromEnv: true }
  }
  const number = (key: keyof typeof RANGES, fallback: number): number => {
    const found = source(key)
    return found === undefined ? fallback : checkNumber(found, RANGES[key])
  }

  const interfaceSource = source('interface')
  const interfaceAddress =
    interfaceSource === undefined ? '127.0.0.1' : resolveInterface(checkString(interfaceSource), interfaceSource.label)
  const loopback = isLoopback(interfaceAddress)

  const idSource = source('id')
  const endpointId = idSource && checkString(idSource, (id) => ENDPOINT_ID.test(id), '16 hex digits').toLowerCase()

  const nameSource = source('name')
  const validName = (text: string): boolean => text.length > 0 && Buffer.byteLength(text) <= 255
  const name = nameSource === undefined ? defaultName() : checkString(nameSource, validName, '1..255 UTF-8 bytes')

  const listenSource = source('listenAddress')
  const defaultHost = loopback ? '127.0.0.1' : '0.0.0.0'
  let listenAddress = `${defaultHost}:0`
  if (listenSource !== undefined) {
    const text = checkString(listenSource)
    listenAddress = checkAddress(listenSource, 0, text.startsWith(':') ? defaultHost + text : text)
  }

  // Explicit discovery addresses beat an explicit `group`, which beats the environment's discovery addresses.
  const group = options.group === undefined ? undefined : checkAddress(explicit('group', options.group), 1)
  const discovery = (key: 'discoveryTargetAddress' | 'discoveryListenAddress'): string | undefined => {
    const found = options[key] === undefined && group !== undefined ? undefined : source(key)
    return found === undefined ? group : checkAddress(found, 1)
  }
  const discoveryTarget = discovery('discoveryTargetAddress') ?? DEFAULT_GROUP
  const discoveryListen = discovery('discoveryListenAddress') ?? discoveryTarget

  const nameClash = options.nameClash ?? 'report'
  if (nameClash !== 'report' && nameClash !== 'reject')
    throw invalid(explicit('nameClash', nameClash), "'report' or 'reject'")
  const { acceptPeer } = options
  if (acceptPeer !== undefined && typeof acceptPeer !== 'function') {
    throw invalid(explicit('acceptPeer', acceptPeer), 'a function (peer) => boolean')
  }
  const maxReceiveMemory = number('maxReceiveMemory', RELIABLE_DEFAULTS.maxReceiveMemory)
  const maxMessageSize = number('maxMessageSize', Math.min(RELIABLE_DEFAULTS.maxMessageSize, maxReceiveMemory))
  if (maxMessageSize > maxReceiveMemory) {
    throw invalid(explicit('maxMessageSize', maxMessageSize), `at most maxReceiveMemory (${maxReceiveMemory} bytes)`)
  }
  return {
    native: {
      networkId: number('networkId', 0),
      endpointId,
      name,
      listenAddress,
      interfaceAddress,
      discoveryTarget,
      discoveryListen,
      announcePeriodMs: number('announcePeriodMs', 1000),
      expiryMultiplier: number('expiryMultiplier', 3),
      nameClash,
      multicastTtl: number('multicastTtl', 1),
      maxDatagramSize: number('maxDatagramSize', loopback ? 65_000 : 1472),
      maxPeers: number('maxPeers', 1024),
      socketBufferSize: number('socketBufferSize', 16 * 1024 * 1024),
      maxMessageSize,
      deliveryDeadlineMs: number('deliveryDeadlineMs', RELIABLE_DEFAULTS.deliveryDeadlineMs),
      reassemblyTimeoutMs: number('reassemblyTimeoutMs', RELIABLE_DEFAULTS.reassemblyTimeoutMs),
      maxReceiveMemory,
      sendQueueBytes: number('sendQueueBytes', RELIABLE_DEFAULTS.sendQueueBytes),
      busyPollUs: number('busyPollUs', 0),
      ackHoldUs: number('ackHoldUs', 0),
    },
    acceptPeer,
    messageQueueLimit: number('messageQueueLimit', 1 << 16),
    topics: resolveTopicOptions(options.topics),
  }
}
