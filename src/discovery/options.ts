/**
 * The discovery options (network, identity, discovery addresses and timing, the peer policy, the peer table's
 * bound, unicast peers and multicast on or off): their documentation, ranges and defaults, and the resolution of the
 * identity, the discovery addresses, the peer policy and the unicast side (`peers` entries are parsed here and
 * resolved when the endpoint opens, see peer-resolver.ts). `src/options.ts` composes them with the other layers' options.
 */
import { hostname } from 'node:os'

import { checkBoolean, checkString, explicit, invalid, type Range, type ReadOption } from '../option-checks'
import { isMulticast, parseSocketAddress } from '../transport/address'
import { type AddressFamily, checkAddress, isIPv6Address } from '../transport/options'
import { checkPeerFamily, DEFAULT_PEER_PORT, defaultPeerLookupFor, type PeerLookup, type PeerSpec, parsePeers } from './peer-addresses'
import type { Peer } from './peer-table'

/** The default discovery group: announcements and broadcasts go to this multicast group and port. */
export const DEFAULT_GROUP = '239.192.137.1:37320'

/** The discovery port a group given without one ("[ff12::137:1]") gets. */
export const DEFAULT_DISCOVERY_PORT = 37320

/**
 * The default IPv6 group of a dual-stack endpoint (`group6`), with the IPv4 group's port: a transient (ff1x),
 * link-local (ffx2) group, not an IANA-assigned one.
 */
export const DEFAULT_GROUP6_ADDRESS = 'ff12::137:1'

/** Discovery's part of `EndpointOptions` (src/options.ts). */
export interface DiscoveryOptions {
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
   * Shorthand that sets both discovery addresses to one multicast "ip:port" or "[ipv6]:port" ("[ipv6]" takes port
   * 37320; a link- or interface-scope IPv6 group is joined on the `interface`). An IPv6 group makes the sockets IPv6.
   * With `dualStack` it is the IPv4 group. Default "239.192.137.1:37320".
   */
  group?: string
  /**
   * The IPv6 group of a dual-stack endpoint (`dualStack: true`), "[ipv6]:port" or "[ipv6]", on the port of the
   * IPv4 discovery listen address (a different port is an error). Default "[ff12::137:1]" with that port.
   */
  group6?: string
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
   * How often this endpoint announces itself, milliseconds, 10..60_000 (peers count a longer period as 60 s, so
   * that one announcement cannot hold a peer-table slot for long).
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
  /** At most this many peers are tracked, 1..1_000_000. Default 1024. */
  maxPeers?: number
  /**
   * Unicast peer addresses, for networks without multicast (Docker bridges, WSL2, Wi-Fi that drops it, routed
   * subnets, cloud VPCs): "ip:port", "[ipv6]:port" or "host:port" (port 1..65535, default 37321; host names resolved
   * with `dns.lookup` at open — an error if one does not resolve — and again every `peerResolveIntervalMs`).
   * Announcements also go to each by unicast, and the endpoint there answers with the peers it knows (gossip), so
   * one reachable address is enough to find everyone. At most 1024 entries.
   * Env `GLUE_PEERS` (comma-separated). Default none.
   */
  peers?: string[]
  /**
   * Whether the multicast group is joined and used. false: no multicast at all — discovery by `peers` and gossip
   * only, broadcasts and multicast publications as unicast copies to the peers. Env `GLUE_MULTICAST`
   * (`true`/`false`/`1`/`0`). Default true.
   */
  multicast?: boolean
  /**
   * How often host names in `peers` are looked up again, milliseconds, 1000..86_400_000 (a failed lookup keeps the
   * last addresses and is retried after 1 s, doubling up to this). Default 30_000.
   */
  peerResolveIntervalMs?: number
  /**
   * Looks a host name of `peers` up: its IP addresses. Default `dns.lookup` in the sockets' family (IPv4, IPv6, or
   * both with `dualStack`). For a service
   * registry, or tests that must not query DNS.
   */
  lookupPeer?: PeerLookup
}

/** Defaults of the discovery's number options. */
export const DISCOVERY_DEFAULTS = {
  networkId: 0,
  announcePeriodMs: 1000,
  expiryMultiplier: 3,
  maxPeers: 1024,
  peerResolveIntervalMs: 30_000,
  peerPort: DEFAULT_PEER_PORT,
} as const

/** Limits of the discovery's number options. */
export const DISCOVERY_RANGES = {
  networkId: { min: 0, max: 0xffff_ffff, integer: true, unit: '(u32)' },
  announcePeriodMs: { min: 10, max: 60_000, integer: true, unit: 'ms' },
  expiryMultiplier: { min: 1.5, max: 100, integer: false, unit: '× the announce period' },
  maxPeers: { min: 1, max: 1_000_000, integer: true, unit: 'peers' },
  peerResolveIntervalMs: { min: 1000, max: 86_400_000, integer: true, unit: 'ms' },
} satisfies Record<string, Range>

const ENDPOINT_ID = /^[0-9a-fA-F]{16}$/
let endpointCounter = 0

function defaultName(): string {
  endpointCounter += 1
  const suffix = `-${process.pid}-${endpointCounter}`
  return `${hostname().slice(0, 255 - suffix.length)}${suffix}`
}

/** This endpoint's ID (undefined: the core picks one at random) and name (a default one counts endpoints). */
export function resolveIdentity(source: ReadOption<'id' | 'name'>): {
  endpointId: string | undefined
  name: string
} {
  const idSource = source('id')
  const endpointId = idSource && checkString(idSource, (id) => ENDPOINT_ID.test(id), '16 hex digits').toLowerCase()

  const nameSource = source('name')
  const validName = (text: string): boolean => text.length > 0 && Buffer.byteLength(text) <= 255
  const name = nameSource === undefined ? defaultName() : checkString(nameSource, validName, '1..255 UTF-8 bytes')
  return { endpointId, name }
}

/** Where announcements are sent and received, and the socket family that follows from them. */
export function resolveDiscoveryAddresses(
  options: Pick<DiscoveryOptions, 'group' | 'group6' | 'discoveryTargetAddress' | 'discoveryListenAddress'>,
  source: ReadOption<'discoveryTargetAddress' | 'discoveryListenAddress'>,
  dualStack = false,
): { discoveryTarget: string; discoveryListen: string; dualStackGroup: string | undefined; family: AddressFamily } {
  // Explicit discovery addresses beat an explicit `group`, which beats the environment's discovery addresses.
  const groupSource = options.group === undefined ? undefined : explicit('group', options.group)
  const group = groupSource && checkAddress(groupSource, 1, checkString(groupSource), DEFAULT_DISCOVERY_PORT)
  const discovery = (key: 'discoveryTargetAddress' | 'discoveryListenAddress') => {
    const found = options[key] === undefined && group !== undefined ? undefined : source(key)
    if (found === undefined) return group === undefined ? undefined : { address: group, from: groupSource }
    return { address: checkAddress(found, 1, checkString(found), DEFAULT_DISCOVERY_PORT), from: found }
  }
  const target = discovery('discoveryTargetAddress') ?? { address: DEFAULT_GROUP, from: undefined }
  const listen = discovery('discoveryListenAddress') ?? target
  const v6 = (a: { address: string }) => isIPv6Address(a.address)
  if (dualStack) {
    for (const a of [target, listen]) {
      if (v6(a) && a.from) throw invalid(a.from, 'an IPv4 address with dualStack (the IPv6 group is group6)')
    }
    const port = parseSocketAddress(listen.address)?.port ?? DEFAULT_DISCOVERY_PORT
    const group6Source = options.group6 === undefined ? undefined : explicit('group6', options.group6)
    const dualStackGroup =
      group6Source === undefined
        ? `[${DEFAULT_GROUP6_ADDRESS}]:${port}`
        : checkAddress(group6Source, 1, checkString(group6Source), port)
    const parsed = parseSocketAddress(dualStackGroup)
    if (group6Source && (!v6({ address: dualStackGroup }) || parsed === undefined || !isMulticast(parsed.host))) {
      throw invalid(group6Source, 'an IPv6 multicast group "[ff12::137:1]:port"')
    }
    if (group6Source && parsed?.port !== port) {
      throw invalid(group6Source, `the port of the IPv4 discovery listen address, ${port} (one socket takes both groups)`)
    }
    return { discoveryTarget: target.address, discoveryListen: listen.address, dualStackGroup, family: 'dual' }
  }
  if (options.group6 !== undefined) throw invalid(explicit('group6', options.group6), 'dualStack: true beside it')
  if (v6(target) !== v6(listen)) {
    const blame = listen.from ?? target.from ?? explicit('discoveryListenAddress', listen.address)
    throw invalid(blame, 'the same address family as the other discovery address (or dualStack: true)')
  }
  const family = v6(target) ? 'ipv6' : 'ipv4'
  return { discoveryTarget: target.address, discoveryListen: listen.address, dualStackGroup: undefined, family }
}

/** What to do with a name clash, and the accept filter. */
export function resolvePeerPolicy(options: Pick<DiscoveryOptions, 'nameClash' | 'acceptPeer'>): {
  nameClash: 'report' | 'reject'
  acceptPeer: ((peer: Peer) => boolean) | undefined
} {
  const nameClash = options.nameClash ?? 'report'
  if (nameClash !== 'report' && nameClash !== 'reject')
    throw invalid(explicit('nameClash', nameClash), "'report' or 'reject'")
  const { acceptPeer } = options
  if (acceptPeer !== undefined && typeof acceptPeer !== 'function') {
    throw invalid(explicit('acceptPeer', acceptPeer), 'a function (peer) => boolean')
  }
  return { nameClash, acceptPeer }
}

/** The unicast side of discovery, resolved (host names are looked up when the endpoint opens). */
export interface ResolvedUnicast {
  /** The parsed `peers` entries. */
  peers: PeerSpec[]
  multicast: boolean
  peerResolveIntervalMs: number
  lookupPeer: PeerLookup
  /** The family of this endpoint's sockets, which peer addresses must match. */
  family: AddressFamily
}

/** `peers`, `multicast` and the lookup settings. */
export function resolveUnicast(
  options: Pick<DiscoveryOptions, 'lookupPeer'>,
  source: ReadOption<'peers' | 'multicast'>,
  number: (key: 'peerResolveIntervalMs', fallback: number) => number,
  family: AddressFamily = 'ipv4',
): ResolvedUnicast {
  const peers = parsePeers(source('peers'))
  checkPeerFamily(peers, family)
  const multicastSource = source('multicast')
  const multicast = multicastSource === undefined ? true : checkBoolean(multicastSource)
  const peerResolveIntervalMs = number('peerResolveIntervalMs', DISCOVERY_DEFAULTS.peerResolveIntervalMs)
  const { lookupPeer } = options
  if (lookupPeer !== undefined && typeof lookupPeer !== 'function') {
    throw invalid(explicit('lookupPeer', lookupPeer), 'a function (host) => Promise<string[]>')
  }
  return { peers, multicast, peerResolveIntervalMs, lookupPeer: lookupPeer ?? defaultPeerLookupFor(family), family }
}
