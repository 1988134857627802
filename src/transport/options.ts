/**
 * The transport's options (sockets, datagrams, the reliable limits): their documentation, ranges and defaults, and
 * the resolution of the interface, the listen address and the message size limits. `src/options.ts` composes them
 * with the other layers' options.
 */
import {
  checkBoolean,
  checkString,
  explicit,
  invalid,
  type Range,
  type ReadNumber,
  type ReadOption,
  type Source,
} from '../option-checks'
import {
  formatSocketAddress,
  interfaceNames,
  isIPv6Host,
  isKnownScope,
  isLinkLocalIPv6,
  parseSocketAddress,
  type ResolvedInterface,
  resolveInterface,
} from './address'

/** The transport's part of `EndpointOptions` (src/options.ts). */
export interface TransportOptions {
  /**
   * Unicast address to bind: "ip:port", "[ipv6]:port", "[fe80::1%eth0]:port" (a link-local address needs its scope:
   * an interface name or index), "[ipv6]" (port 0); port 0 picks a free port, ":port" keeps the default IP.
   * Its family must match the discovery addresses' unless `dualStack`. Env `GLUE_LISTEN_ADDRESS`. Default
   * "127.0.0.1:0" when the interface is loopback, else "0.0.0.0:0"; "[::1]:0" / "[::]:0" when the group is IPv6;
   * "[::]:0" with `dualStack`.
   */
  listenAddress?: string
  /**
   * Network interface for multicast: a name like "lo" or "eth0" (resolved to its first IPv4 address, or its first
   * IPv6 one when the group is IPv6 or it has no IPv4 address), an IPv4 address, or an IPv6 address ("::1",
   * "fe80::1%eth0"). IPv4 multicast uses the interface's IPv4 address, IPv6 multicast its index.
   * Env `GLUE_LISTEN_INTERFACE`. Default: loopback, 127.0.0.1 (::1 when the group is IPv6).
   */
  interface?: string
  /**
   * Dual-stack: the sockets are IPv6 with IPV6_V6ONLY off, so that IPv4 peers reach this endpoint too (their
   * addresses arrive IPv4-mapped and are shown as IPv4), and discovery joins both `group` (IPv4) and `group6`
   * (IPv6), announcing and broadcasting to both: IPv4-only and IPv6-only endpoints on one network then see and
   * reach this one. Env `GLUE_DUAL_STACK` ("1"/"true" or "0"/"false"). Default false (one family, as `group`
   * says), so that nothing binds the IPv6 wildcard or sends IPv6 multicast unasked.
   */
  dualStack?: boolean
  /** Multicast TTL in hops, 0..255. Default 1 (stay on the local network). */
  multicastTtl?: number
  /**
   * Largest datagram sent, bytes of UDP payload, 512..65507. Default 65000 on loopback, 1472 otherwise
   * (an Ethernet MTU of 1500 less IP and UDP headers), 1452 with IPv6 sockets (IPv6 or dual-stack).
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

/**
 * The default `maxDatagramSize`: 65000 on loopback, else an Ethernet MTU of 1500 less the IP and UDP headers: 1472
 * over IPv4, 1452 when the sockets are IPv6 (a 40-byte header; IPv6 routers never fragment).
 */
export function defaultDatagramSize(loopback: boolean, ipv6 = false): number {
  return loopback ? 65_000 : ipv6 ? 1452 : 1472
}

/**
 * Checks an "ip:port" / "[ipv6%scope]:port" value (and "[ipv6]" when `defaultPort` is given); `text` is what to
 * parse when it differs from the value given (":port" form). A scope must name an interface of this host (or be an
 * index); a link-local IPv6 unicast address needs one.
 */
export function checkAddress(
  source: Source,
  minPort: number,
  text = checkString(source),
  defaultPort?: number,
): string {
  const address = parseSocketAddress(text, defaultPort)
  const ports = `port ${minPort}..65535`
  if (address === undefined || address.port < minPort) {
    throw invalid(source, `"ip:port" or "[ipv6]:port" (${ports}; an IPv6 scope as %interface or %index)`)
  }
  if (address.scope !== undefined && !isKnownScope(address.scope)) {
    throw invalid(source, `a scope ID that names a network interface of this host (known: ${interfaceNames().join(', ')})`)
  }
  if (address.scope === undefined && isLinkLocalIPv6(address.host)) {
    throw invalid(source, 'a scope ID on a link-local IPv6 address, like "[fe80::1%eth0]:37321"')
  }
  return formatSocketAddress(address)
}

/**
 * The multicast interface (an interface name is resolved to an address; the name is kept for IPv6 multicast).
 * `ipv6`: the group is IPv6 (the default is then ::1, and a name resolves to its IPv6 address first).
 * @throws InterfaceNotFoundError when the interface name (or scope) is unknown
 */
export function resolveInterfaceAddress(source: ReadOption<'interface'>, ipv6 = false): ResolvedInterface {
  const interfaceSource = source('interface')
  if (interfaceSource === undefined) return resolveInterface(ipv6 ? '::1' : '127.0.0.1', 'interface')
  return resolveInterface(checkString(interfaceSource), interfaceSource.label, ipv6)
}

/** Which sockets an endpoint opens: IPv4, IPv6, or IPv6 carrying IPv4 too. */
export type AddressFamily = 'ipv4' | 'ipv6' | 'dual'

/** `dualStack` (option or `GLUE_DUAL_STACK`). */
export function resolveDualStack(source: ReadOption<'dualStack'>): boolean {
  const found = source('dualStack')
  return found === undefined ? false : checkBoolean(found)
}

/**
 * The unicast address to bind; the default IP is loopback's when the interface is loopback, the wildcard otherwise,
 * of the socket family (`[::]` with dual-stack). Its family must be the discovery addresses' (IPv6 with dual-stack).
 */
export function resolveListenAddress(
  source: ReadOption<'listenAddress'>,
  loopback: boolean,
  family: AddressFamily = 'ipv4',
): string {
  const listenSource = source('listenAddress')
  const defaultHost = family === 'dual' ? '[::]' : family === 'ipv6' ? (loopback ? '[::1]' : '[::]') : loopback ? '127.0.0.1' : '0.0.0.0'
  let listenAddress = `${defaultHost}:0`
  if (listenSource !== undefined) {
    const text = checkString(listenSource)
    listenAddress = checkAddress(listenSource, 0, text.startsWith(':') ? defaultHost + text : text, 0)
    const v6 = listenAddress.startsWith('[')
    if (family === 'dual' && !v6) throw invalid(listenSource, 'an IPv6 address with dualStack, like "[::]:0"')
    if (family === 'ipv4' && v6) {
      throw invalid(listenSource, 'an IPv4 address like the discovery addresses (or an IPv6 group, or dualStack: true)')
    }
    if (family === 'ipv6' && !v6) throw invalid(listenSource, 'an IPv6 address like the discovery addresses')
  }
  return listenAddress
}

/** True when a checked address (as {@link checkAddress} formats it) is IPv6. */
export function isIPv6Address(address: string): boolean {
  return address.startsWith('[') && isIPv6Host(address.slice(1, address.search(/[%\]]/)))
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
