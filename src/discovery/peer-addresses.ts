/**
 * Unicast peer addresses (`peers`, `GLUE_PEERS`): parsing "host:port" entries (IPv4, "[IPv6]" or a host name; the
 * port defaults to {@link DEFAULT_PEER_PORT}) and resolving host names to the "ip:port" strings the core takes.
 */
import { lookup as dnsLookup } from 'node:dns/promises'

import { InvalidOptionError, PeerResolveError } from '../errors'
import { invalid, type Source } from '../option-checks'
import { isIPv6Host, isMulticast, isUnspecified, parseSocketAddress } from '../transport/address'

/** The port of a peer entry that gives none: the conventional fixed unicast port of glue endpoints. */
export const DEFAULT_PEER_PORT = 37321

/** Peer entries at most (the core's bound). */
export const MAX_PEER_ENTRIES = 1024

/** One parsed entry of `peers`. */
export interface PeerSpec {
  /** The entry as given, e.g. "gateway.local:37321". */
  text: string
  /** Where it came from, for errors: `peers[1]` or `GLUE_PEERS[1]`. */
  label: string
  /** An IP address (IPv6 without brackets) or a host name. */
  host: string
  /** UDP port, 1..65535. */
  port: number
  /** True when `host` is a name to look up (not an IP address). */
  isName: boolean
}

/** Looks a host name up: its addresses (IPv4 dotted quads or IPv6), or throws. */
export type PeerLookup = (host: string) => Promise<string[]>

/** The default lookup: `dns.lookup` (the OS resolver: /etc/hosts, DNS, mDNS where configured), every IPv4 address. */
export const defaultPeerLookup: PeerLookup = async (host) =>
  (await dnsLookup(host, { all: true, family: 4 })).map((a) => a.address)

/**
 * The default lookup for sockets of `family`: IPv4 addresses for IPv4 sockets, IPv6 ones for IPv6 sockets, both
 * for dual-stack sockets.
 */
export function defaultPeerLookupFor(family: 'ipv4' | 'ipv6' | 'dual'): PeerLookup {
  if (family === 'ipv4') return defaultPeerLookup
  const wanted = family === 'ipv6' ? 6 : 0
  return async (host) => (await dnsLookup(host, { all: true, family: wanted })).map((a) => a.address)
}

const HOST_LABEL = /^[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/

function isHostName(text: string): boolean {
  return text.length <= 253 && text.split('.').every((label) => HOST_LABEL.test(label))
}

/** Parses one entry; `source.label` is the entry's label (`peers[1]`). */
export function parsePeerSpec(source: Source): PeerSpec {
  const expected = `"host:port", "ip:port" or "[ipv6]:port" (port 1..65535, default ${DEFAULT_PEER_PORT})`
  if (typeof source.value !== 'string') throw invalid(source, expected)
  const text = source.value.trim()
  const spec = (host: string, port: number, isName: boolean): PeerSpec => {
    if (port < 1) throw invalid(source, expected)
    return { text, label: source.label, host, port, isName }
  }
  // An IP address: the address options' parser (the port defaults to DEFAULT_PEER_PORT).
  const literal = parseSocketAddress(text, DEFAULT_PEER_PORT) ?? parseSocketAddress(`${text}:${DEFAULT_PEER_PORT}`)
  if (literal !== undefined) {
    if (!isIPv6Host(literal.host) && (isUnspecified(literal.host) || isMulticast(literal.host) || literal.host === '255.255.255.255')) {
      throw invalid(source, 'a unicast address (not 0.0.0.0, a multicast group or the broadcast address)')
    }
    return spec(literal.scope === undefined ? literal.host : `${literal.host}%${literal.scope}`, literal.port, false)
  }
  if (text.startsWith('[')) throw invalid(source, expected)
  // A host name, with an optional port.
  const colon = text.lastIndexOf(':')
  if (colon >= 0 && text.indexOf(':') !== colon) throw invalid(source, `${expected}; IPv6 addresses in brackets`)
  const host = colon < 0 ? text : text.slice(0, colon)
  const portText = colon < 0 ? String(DEFAULT_PEER_PORT) : text.slice(colon + 1)
  if (!isHostName(host) || /^[\d.]+$/.test(host) || !/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw invalid(source, expected)
  }
  return spec(host, Number(portText), true)
}

/**
 * The `peers` option (an array of strings) or `GLUE_PEERS` (comma-separated), parsed; [] when unset.
 * @throws InvalidOptionError naming the entry (`peers[1]`)
 */
export function parsePeers(source: Source | undefined): PeerSpec[] {
  if (source === undefined) return []
  let entries: unknown[]
  if (source.fromEnv) {
    entries = String(source.value)
      .split(',')
      .map((e) => e.trim())
      .filter((e) => e !== '')
  } else {
    if (!Array.isArray(source.value)) throw invalid(source, 'an array of "host:port" strings')
    entries = source.value
  }
  if (entries.length > MAX_PEER_ENTRIES) throw invalid(source, `at most ${MAX_PEER_ENTRIES} entries`)
  return entries.map((value, i) => parsePeerSpec({ ...source, value, label: `${source.label}[${i}]` }))
}

/**
 * Checks that literal addresses match the family of the endpoint's sockets (names are looked up in that family).
 * @throws InvalidOptionError naming the entry
 */
export function checkPeerFamily(specs: readonly PeerSpec[], family: 'ipv4' | 'ipv6' | 'dual'): void {
  if (family === 'dual') return
  for (const p of specs) {
    if (p.isName || p.host.includes(':') === (family === 'ipv6')) continue
    throw new InvalidOptionError(
      `Invalid option ${p.label}: ${JSON.stringify(p.text)} (expected ` +
        (family === 'ipv6'
          ? "an IPv6 address: this endpoint's sockets are IPv6; dualStack: true takes both)"
          : "an IPv4 address: this endpoint's sockets are IPv4; dualStack: true or an IPv6 listenAddress takes IPv6 peers)"),
      { option: p.label, value: p.text },
    )
  }
}

/** An address as the core takes it: "ip:port", "[ipv6]:port". */
export function formatPeerAddress(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`
}

/**
 * Resolves one entry: an IP address as is, a host name through `lookup`.
 * @throws PeerResolveError naming the entry when the name does not resolve (or resolves to nothing)
 */
export async function resolvePeerSpec(spec: PeerSpec, lookup: PeerLookup): Promise<string[]> {
  if (!spec.isName) return [formatPeerAddress(spec.host, spec.port)]
  let ips: string[]
  try {
    ips = await lookup(spec.host)
  } catch (err) {
    const why = (err as { code?: string }).code ?? (err as Error).message
    throw new PeerResolveError(`${spec.label}: ${JSON.stringify(spec.text)}: cannot resolve ${spec.host} (${why})`, {
      option: spec.label,
      value: spec.text,
      cause: err,
    })
  }
  if (!Array.isArray(ips) || ips.length === 0) {
    throw new PeerResolveError(`${spec.label}: ${JSON.stringify(spec.text)}: ${spec.host} has no address`, {
      option: spec.label,
      value: spec.text,
    })
  }
  return ips.map((ip) => formatPeerAddress(ip, spec.port))
}
