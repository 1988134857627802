/**
 * Two subnets joined by a router, in network namespaces (root only): a router namespace with one bridge per subnet
 * (`br1` = 10.78.1.254/24, `br2` = 10.78.2.254/24, `ip_forward=1`) and host namespaces `eth0` = 10.78.<s>.<i>/24
 * with a default route to the router. Multicast with TTL 1 does not cross the router, and `dropMulticast` makes each
 * host drop all multicast it receives (nftables, counted), as a switch that drops it would. The result is a
 * {@link TestNet} (its `bridgeNs` is the router), so `spawnIn` and `destroyNet` of helpers/netns.ts work on it;
 * `useRoutedNet` tears it down after the test, and netns.ts's exit handler does if the worker dies first; a
 * partition is netns.ts's `setLink` (the host's veth end in the router namespace).
 */
import { randomInt } from 'node:crypto'

import type { ExecutionContext } from 'ava'

import { destroyNet, destroyNetSync, freshPrefix, type Host, IP, inNs, NFT, nftDropped, run, type TestNet, trackNet } from './netns'

/** A host of a routed net: which subnet (1 or 2) it is on. */
export interface RoutedHost extends Host {
  subnet: 1 | 2
}

/** A routed test net. */
export interface RoutedNet extends TestNet {
  hosts: RoutedHost[]
}

/** Creates the router and `perSubnet[0]` hosts on 10.78.1.0/24, `perSubnet[1]` on 10.78.2.0/24. */
export function createRoutedNet(perSubnet: [number, number]): RoutedNet {
  const prefix = freshPrefix('r')
  const net: RoutedNet = { prefix, bridgeNs: `${prefix}-rt`, hosts: [], networkId: randomInt(1, 0xffff_ffff), procs: new Set() }
  trackNet(net)
  try {
    run(IP, ['netns', 'add', net.bridgeNs])
    inNs(net.bridgeNs, [IP, 'link', 'set', 'lo', 'up'])
    inNs(net.bridgeNs, ['sysctl', '-qw', 'net.ipv4.ip_forward=1'])
    for (const s of [1, 2] as const) {
      inNs(net.bridgeNs, [IP, 'link', 'add', `br${s}`, 'type', 'bridge', 'mcast_snooping', '0'])
      inNs(net.bridgeNs, [IP, 'addr', 'add', `10.78.${s}.254/24`, 'dev', `br${s}`])
      inNs(net.bridgeNs, [IP, 'link', 'set', `br${s}`, 'up'])
    }
    let index = 0
    for (const s of [1, 2] as const) {
      for (let i = 1; i <= perSubnet[s - 1]; i++) {
        index += 1
        const host: RoutedHost = {
          index,
          subnet: s,
          ns: `${prefix}-s${s}h${i}`,
          ip: `10.78.${s}.${i}`,
          veth: `${prefix}-v${s}${i}`,
        }
        run(IP, ['netns', 'add', host.ns])
        net.hosts.push(host)
        run(IP, ['link', 'add', host.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', host.ns])
        run(IP, ['link', 'set', host.veth, 'netns', net.bridgeNs])
        inNs(net.bridgeNs, [IP, 'link', 'set', host.veth, 'master', `br${s}`, 'up'])
        inNs(host.ns, [IP, 'addr', 'add', `${host.ip}/24`, 'dev', 'eth0'])
        inNs(host.ns, [IP, 'link', 'set', 'eth0', 'up'])
        inNs(host.ns, [IP, 'link', 'set', 'lo', 'up'])
        inNs(host.ns, [IP, 'route', 'add', 'default', 'via', `10.78.${s}.254`])
      }
    }
  } catch (err) {
    destroyNetSync(net)
    throw err
  }
  return net
}

/** A routed net torn down when the test ends (pass or fail). */
export function useRoutedNet(t: ExecutionContext, perSubnet: [number, number]): RoutedNet {
  const net = createRoutedNet(perSubnet)
  t.teardown(() => destroyNet(net))
  return net
}

const NOMC = 'glue_nomc'

/** Makes the host drop every multicast datagram it receives, counted (a switch that drops multicast). */
export function dropMulticast(host: Host): void {
  inNs(
    host.ns,
    [NFT, '-f', '-'],
    `table inet ${NOMC} {
      chain input {
        type filter hook input priority 0; policy accept;
        ip daddr 224.0.0.0/4 counter drop
        ip6 daddr ff00::/8 counter drop
      }
    }\n`,
  )
}

/** Multicast datagrams the host's drop rule has dropped so far. */
export function multicastDropped(host: Host): number {
  return nftDropped(host.ns, 'inet', NOMC)
}
