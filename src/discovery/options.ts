/**
 * The discovery options (network, identity, discovery addresses and timing, the peer policy, the peer table's
 * bound): their documentation, ranges and defaults, and the resolution of the identity, the discovery addresses and
 * the peer policy. `src/options.ts` composes them with the other layers' options.
 */
import { hostname } from 'node:os'

import { checkString, explicit, invalid, type Range, type ReadOption } from '../option-checks'
import { isMulticast, parseSocketAddress } from '../transport/address'
import { type AddressFamily, checkAddress, isIPv6Address } from '../transport/options'
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
}

/** Defaults of the discovery's number options. */
export const DISCOVERY_DEFAULTS = {
  networkId: 0,
  announcePeriodMs: 1000,
  expiryMultiplier: 3,
  maxPeers: 1024,
} as const

/** Limits of the discovery's number options. */
export const DISCOVERY_RANGES = {
  networkId: { min: 0, max: 0xffff_ffff, integer: true, unit: '(u32)' },
  announcePeriodMs: { min: 10, max: 60_000, integer: true, unit: 'ms' },
  expiryMultiplier: { min: 1.5, max: 100, integer: false, unit: '× the announce period' },
  maxPeers: { min: 1, max: 1_000_000, integer: true, unit: 'peers' },
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
