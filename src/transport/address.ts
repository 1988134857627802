/**
 * Socket address parsing ("ip:port", "[ipv6]:port", "[ipv6%scope]:port", "[ipv6]") and network interface resolution
 * (names → addresses via `os.networkInterfaces()`).
 */
import { isIPv6 } from 'node:net'
import { networkInterfaces } from 'node:os'

import { InterfaceNotFoundError } from '../errors'

/** A parsed socket address. */
export interface SocketAddress {
  /** Dotted-quad IPv4 address, or an IPv6 address without brackets or scope. */
  host: string
  /** UDP port, 0..65535. */
  port: number
  /** IPv6 scope ID as given: an interface index ("2") or name ("eth0"); undefined when there is none. */
  scope?: string
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/
const PORT = /^\d{1,5}$/
const SCOPE = /^[A-Za-z0-9_.:-]{1,15}$/

/** True when `text` is a dotted-quad IPv4 address like `127.0.0.1`. */
export function isIPv4(text: string): boolean {
  return IPV4.test(text)
}

/** True for an IPv6 address (no brackets, no scope). */
export function isIPv6Host(text: string): boolean {
  return isIPv6(text) && !text.includes('%')
}

/** True for 224.0.0.0/4 and ff00::/8. */
export function isMulticast(host: string): boolean {
  if (isIPv6Host(host)) return /^ff/i.test(host)
  const first = Number(host.split('.', 1)[0])
  return first >= 224 && first <= 239
}

/** True for 127.0.0.0/8 and ::1. */
export function isLoopback(host: string): boolean {
  return host.startsWith('127.') || (isIPv6Host(host) && isIPv6LoopbackText(host))
}

function isIPv6LoopbackText(host: string): boolean {
  // ::1 in any spelling (0:0:0:0:0:0:0:1, ::0:1...): every group 0 but the last, which is 1.
  const groups = expandIPv6(host)
  return groups !== undefined && groups.slice(0, 7).every((g) => g === 0) && groups[7] === 1
}

/** The eight 16-bit groups of an IPv6 address (an embedded IPv4 tail counts as two); undefined when malformed. */
function expandIPv6(host: string): number[] | undefined {
  if (!isIPv6Host(host)) return undefined
  let text = host
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text)
  if (v4) {
    const [a, b, c, d] = v4[1].split('.').map(Number)
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head, tail] = text.split('::')
  const part = (s: string | undefined): number[] => (s ? s.split(':').map((g) => Number.parseInt(g, 16)) : [])
  const start = part(head)
  const end = part(tail)
  const zeros = tail === undefined ? [] : new Array<number>(8 - start.length - end.length).fill(0)
  return [...start, ...zeros, ...end]
}

/** True for fe80::/10 (link-local unicast), which needs a scope ID. */
export function isLinkLocalIPv6(host: string): boolean {
  const groups = expandIPv6(host)
  return groups !== undefined && (groups[0] & 0xffc0) === 0xfe80
}

/** True for the address family's wildcard (0.0.0.0 or ::). */
export function isUnspecified(host: string): boolean {
  const groups = expandIPv6(host)
  return host === '0.0.0.0' || (groups !== undefined && groups.every((g) => g === 0))
}

/**
 * Parses "ip:port" (IPv4), "[ipv6]:port", "[ipv6%scope]:port", and "[ipv6]" / "[ipv6%scope]" when `defaultPort` is
 * given; undefined when malformed or the port is out of 0..65535.
 */
export function parseSocketAddress(text: string, defaultPort?: number): SocketAddress | undefined {
  if (text.startsWith('[')) {
    const close = text.indexOf(']')
    if (close < 0) return undefined
    const inner = text.slice(1, close)
    const rest = text.slice(close + 1)
    const percent = inner.indexOf('%')
    const host = percent < 0 ? inner : inner.slice(0, percent)
    const scope = percent < 0 ? undefined : inner.slice(percent + 1)
    if (!isIPv6Host(host) || (scope !== undefined && !SCOPE.test(scope))) return undefined
    let port = defaultPort
    if (rest !== '' || defaultPort === undefined) {
      if (!rest.startsWith(':') || !PORT.test(rest.slice(1))) return undefined
      port = Number(rest.slice(1))
    }
    if (port === undefined || port > 65535) return undefined
    return scope === undefined ? { host: host.toLowerCase(), port } : { host: host.toLowerCase(), port, scope }
  }
  const colon = text.lastIndexOf(':')
  if (colon < 0) return undefined
  const host = text.slice(0, colon)
  const portText = text.slice(colon + 1)
  if (!isIPv4(host) || !PORT.test(portText)) return undefined
  const port = Number(portText)
  return port <= 65535 ? { host, port } : undefined
}

/** Formats a socket address as "ip:port" or "[ipv6%scope]:port". */
export function formatSocketAddress(address: SocketAddress): string {
  if (!isIPv6Host(address.host)) return `${address.host}:${address.port}`
  const scope = address.scope === undefined ? '' : `%${address.scope}`
  return `[${address.host}${scope}]:${address.port}`
}

/** The names of this host's network interfaces, for error messages. */
export function interfaceNames(): string[] {
  return Object.keys(networkInterfaces())
}

/** True when `scope` is an interface index (digits) or the name of an interface of this host. */
export function isKnownScope(scope: string): boolean {
  return /^\d+$/.test(scope) || networkInterfaces()[scope] !== undefined
}

/** The multicast interface: an address of it, and its name when known (the native side turns it into an index). */
export interface ResolvedInterface {
  /** IPv4 or IPv6 address (no scope). */
  address: string
  /** Interface name or index, when given or found. */
  name?: string
}

/**
 * Resolves an interface given by name (`lo`, `eth0`), IPv4 address, or IPv6 address (`::1`, `fe80::1%eth0`).
 * A name resolves to its first IPv4 address (its first IPv6 one when it has none, or when `preferIPv6`).
 * An address is returned as is (the native core checks it when binding), with the interface's name when some
 * interface has it.
 * @param option the option or environment variable the value came from, for the error message
 * @throws InterfaceNotFoundError when no interface has that name (or that scope), or it has no address
 */
export function resolveInterface(value: string, option: string, preferIPv6 = false): ResolvedInterface {
  const all = networkInterfaces()
  const notFound = (why: string): InterfaceNotFoundError =>
    new InterfaceNotFoundError(`${option}: ${JSON.stringify(value)}: ${why} (known: ${Object.keys(all).join(', ')})`, {
      option,
      value,
    })
  if (isIPv4(value)) return withName({ address: value }, all)
  const percent = value.indexOf('%')
  const host = (percent < 0 ? value : value.slice(0, percent)).toLowerCase()
  if (isIPv6Host(host)) {
    if (percent < 0) return withName({ address: host }, all)
    const scope = value.slice(percent + 1)
    if (!isKnownScope(scope)) throw notFound('the scope ID names no network interface')
    return { address: host, name: scope }
  }
  const entries = all[value]
  if (entries === undefined) throw notFound('no such network interface')
  const v4 = entries.find((entry) => entry.family === 'IPv4')
  const v6 = entries.find((entry) => entry.family === 'IPv6')
  const chosen = preferIPv6 ? (v6 ?? v4) : (v4 ?? v6)
  if (chosen === undefined) throw notFound('the interface has no IP address')
  return { address: chosen.address.toLowerCase(), name: value }
}

/** `resolved` with the name of the interface that has its address, when one has it. */
function withName(resolved: ResolvedInterface, all: ReturnType<typeof networkInterfaces>): ResolvedInterface {
  for (const [name, entries] of Object.entries(all)) {
    if (entries?.some((entry) => entry.address.toLowerCase() === resolved.address)) return { ...resolved, name }
  }
  return resolved
}
