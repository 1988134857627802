/**
 * The transport's options (sockets, datagrams, the reliable limits): their documentation, ranges and defaults, and
 * the resolution of the interface, the listen address and the message size limits. `src/options.ts` composes them
 * with the other layers' options.
 */
import {
  checkString,
  explicit,
  invalid,
  type Range,
  type ReadNumber,
  type ReadOption,
  type Source,
} from '../option-checks'
import { formatSocketAddress, parseSocketAddress, resolveInterface } from './address'

/** The transport's part of `EndpointOptions` (src/options.ts). */
export interface TransportOptions {
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
  /** Multicast TTL in hops, 0..255. Default 1 (stay on the local network). */
  multicastTtl?: number
  /**
   * Largest datagram sent, bytes of UDP payload, 512..65507. Default 65000 on loopback, 1472 otherwise
   * (an Ethernet MTU of 1500 less IP and UDP headers).
   */
  maxDatagramSize?: number
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
   * Which thread reads the sockets: `'js'` — the JavaScript thread, through libuv poll handles on Node's event
   * loop, so that a datagram wakes one thread (like `node:dgram`) and a round trip costs less; the I/O thread keeps
   * timers, announcements and queued sends, and reads while traffic is heavy (streams of large or of many small
   * messages, floods), so that those use two cores. `'io'` — the native I/O thread always reads and hands batches
   * to JavaScript (two wake-ups per message, but reading and acknowledging go on while JavaScript is busy). `'js'`
   * falls back to `'io'` where libuv is not available to the addon (off Unix, or a runtime without it). Env
   * `GLUE_RECEIVE_ON`. Default `'js'`.
   */
  receiveOn?: ReceiveOn
}

/** See `TransportOptions.receiveOn`. */
export type ReceiveOn = 'io' | 'js'

/** Resolves `receiveOn` (option or `GLUE_RECEIVE_ON`); throws InvalidOptionError naming it. */
export function resolveReceiveOn(source: ReadOption<'receiveOn'>): ReceiveOn {
  const found = source('receiveOn')
  if (found === undefined) return 'js'
  if (found.value === 'io' || found.value === 'js') return found.value
  throw invalid(found, "'io' or 'js'")
}

/** The longest timeout, ms: the largest delay `setTimeout` takes (about 24.8 days). */
export const MAX_TIMEOUT_MS = 2_147_483_647

/** Defaults of the reliable transport (the native core's too). */
export const RELIABLE_DEFAULTS = {
  maxMessageSize: 256 * 1024 * 1024,
  deliveryDeadlineMs: 30_000,
  reassemblyTimeoutMs: 10_000,
  maxReceiveMemory: 1024 * 1024 * 1024,
  sendQueueBytes: 64 * 1024 * 1024,
} as const

/** Defaults of the other number options of the transport (`maxDatagramSize`: {@link defaultDatagramSize}). */
export const TRANSPORT_DEFAULTS = {
  multicastTtl: 1,
  socketBufferSize: 16 * 1024 * 1024,
  busyPollUs: 0,
  ackHoldUs: 0,
} as const

/** Limits of the transport's number options. */
export const TRANSPORT_RANGES = {
  multicastTtl: { min: 0, max: 255, integer: true, unit: 'hops' },
  maxDatagramSize: { min: 512, max: 65_507, integer: true, unit: 'bytes' },
  socketBufferSize: { min: 4096, max: 1 << 30, integer: true, unit: 'bytes' },
  maxMessageSize: { min: 1, max: 2 ** 32, integer: true, unit: 'bytes' },
  deliveryDeadlineMs: { min: 1, max: MAX_TIMEOUT_MS, integer: true, unit: 'ms' },
  reassemblyTimeoutMs: { min: 1, max: MAX_TIMEOUT_MS, integer: true, unit: 'ms' },
  maxReceiveMemory: { min: 1 << 20, max: 2 ** 40, integer: true, unit: 'bytes' },
  sendQueueBytes: { min: 1 << 16, max: 2 ** 40, integer: true, unit: 'bytes' },
  busyPollUs: { min: 0, max: 1_000_000, integer: true, unit: 'µs' },
  ackHoldUs: { min: 0, max: 100_000, integer: true, unit: 'µs' },
} satisfies Record<string, Range>

/** The default `maxDatagramSize`: 65000 on loopback, else an Ethernet MTU less IP and UDP headers. */
export function defaultDatagramSize(loopback: boolean): number {
  return loopback ? 65_000 : 1472
}

/** Checks an "ip:port" value; `text` is what to parse when it differs from the value given (":port" form). */
export function checkAddress(source: Source, minPort: number, text = checkString(source)): string {
  const address = parseSocketAddress(text)
  if (address === undefined || address.port < minPort) throw invalid(source, `"ip:port" (IPv4, port ${minPort}..65535)`)
  return formatSocketAddress(address)
}

/**
 * The multicast interface's IPv4 address (an interface name is resolved).
 * @throws InterfaceNotFoundError when the interface name is unknown
 */
export function resolveInterfaceAddress(source: ReadOption<'interface'>): string {
  const interfaceSource = source('interface')
  return interfaceSource === undefined
    ? '127.0.0.1'
    : resolveInterface(checkString(interfaceSource), interfaceSource.label)
}

/** The unicast address to bind; the default IP is loopback's when the interface is loopback. */
export function resolveListenAddress(source: ReadOption<'listenAddress'>, loopback: boolean): string {
  const listenSource = source('listenAddress')
  const defaultHost = loopback ? '127.0.0.1' : '0.0.0.0'
  let listenAddress = `${defaultHost}:0`
  if (listenSource !== undefined) {
    const text = checkString(listenSource)
    listenAddress = checkAddress(listenSource, 0, text.startsWith(':') ? defaultHost + text : text)
  }
  return listenAddress
}

/** `maxReceiveMemory`, and `maxMessageSize`, which is at most that (and defaults to at most that). */
export function resolveMessageLimits(number: ReadNumber<'maxReceiveMemory' | 'maxMessageSize'>): {
  maxReceiveMemory: number
  maxMessageSize: number
} {
  const maxReceiveMemory = number('maxReceiveMemory', RELIABLE_DEFAULTS.maxReceiveMemory)
  const maxMessageSize = number('maxMessageSize', Math.min(RELIABLE_DEFAULTS.maxMessageSize, maxReceiveMemory))
  if (maxMessageSize > maxReceiveMemory) {
    throw invalid(explicit('maxMessageSize', maxMessageSize), `at most maxReceiveMemory (${maxReceiveMemory} bytes)`)
  }
  return { maxReceiveMemory, maxMessageSize }
}
