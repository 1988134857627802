/**
 * Two subnets joined by a router, in network namespaces (root only): a router namespace with one bridge per subnet
 * (`br1` = 10.78.1.254/24, `br2` = 10.78.2.254/24, `ip_forward=1`) and host namespaces `eth0` = 10.78.<s>.<i>/24
 * with a default route to the router. Multicast with TTL 1 does not cross the router, and `dropMulticast` makes each
 * host drop all multicast it receives (nftables, counted), as a switch that drops it would. The result is a
 * {@link TestNet} (its `bridgeNs` is the router), so `spawnIn` and `destroyNet` of helpers/netns.ts work on it;
 * `useRoutedNet` tears it down after the test, and an exit handler does if the worker dies first.
 */
import { execFileSync } from 'node:child_process'
import { randomBytes, randomInt } from 'node:crypto'
import { existsSync } from 'node:fs'
import { join } from 'node:path'

import type { ExecutionContext } from 'ava'

import { destroyNet, type Host, type TestNet } from './netns'

const tool = (name: string): string =>
  ['/usr/sbin', '/sbin', '/usr/bin', '/bin'].map((d) => join(d, name)).find((p) => existsSync(p)) ?? name
const IP = tool('ip')
const NFT = tool('nft')

const run = (file: string, args: string[], input?: string): string =>
  execFileSync(file, args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] })
const inNs = (ns: string, args: string[], input?: string): string => run(IP, ['netns', 'exec', ns, ...args], input)

/** A host of a routed net: which subnet (1 or 2) it is on. */
export interface RoutedHost extends Host {
  subnet: 1 | 2
}

/** A routed test net. */
export interface RoutedNet extends TestNet {
  hosts: RoutedHost[]
}

const live = new Set<RoutedNet>()

function deleteSync(net: RoutedNet): void {
  for (const p of net.procs) if (p.proc.exitCode === null && p.proc.signalCode === null) p.proc.kill('SIGKILL')
  for (const ns of [...net.hosts.map((h) => h.ns), net.bridgeNs]) {
    try {
      run(IP, ['netns', 'del', ns])
    } catch {
      // gone already
    }
  }
  live.delete(net)
}
process.on('exit', () => {
  for (const net of live) deleteSync(net)
})

/** A prefix `r<4 hex>` that no existing namespace uses. */
function freshPrefix(): string {
  const taken = run(IP, ['netns', 'list'])
  for (;;) {
    const prefix = `r${randomBytes(2).toString('hex')}`
    if (!taken.includes(`${prefix}-`)) return prefix
  }
}

/** Creates the router and `perSubnet[0]` hosts on 10.78.1.0/24, `perSubnet[1]` on 10.78.2.0/24. */
export function createRoutedNet(perSubnet: [number, number]): RoutedNet {
  const prefix = freshPrefix()
  const net: RoutedNet = { prefix, bridgeNs: `${prefix}-rt`, hosts: [], networkId: randomInt(1, 0xffff_ffff), procs: new Set() }
  live.add(net)
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
    deleteSync(net)
    throw err
  }
  return net
}

/** A routed net torn down when the test ends (pass or fail). */
export function useRoutedNet(t: ExecutionContext, perSubnet: [number, number]): RoutedNet {
  const net = createRoutedNet(perSubnet)
  t.teardown(async () => {
    await destroyNet(net)
    deleteSync(net)
  })
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
  try {
    const listing = inNs(host.ns, [NFT, 'list', 'table', 'inet', NOMC])
    return [...listing.matchAll(/counter packets (\d+)/g)].reduce((sum, m) => sum + Number(m[1]), 0)
  } catch {
    return 0
  }
}

/** Partitions (`'down'`) or heals (`'up'`) a host: its veth end in the router namespace. */
export function setRoutedLink(net: RoutedNet, host: Host, state: 'up' | 'down'): void {
  inNs(net.bridgeNs, [IP, 'link', 'set', host.veth, state])
}
