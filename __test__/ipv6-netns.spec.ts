/**
 * IPv6 between namespace hosts (see helpers/netns.ts; IPv6 addresses from addIPv6): endpoints on fd00:78::/64 find
 * each other through an IPv6 multicast group and exchange reliable unicast and broadcast messages; link-local
 * endpoints (`[fe80::78:<i>%eth0]`) do the same with the scope ID; and a dual-stack host connects an IPv4-only host
 * and an IPv6-only host, which cannot hear each other but both see it and receive its reliable broadcasts.
 *
 * Needs root, iproute2 and nftables; otherwise every test is skipped with the reason in its title (and printed).
 * Serial: each test runs several Node processes.
 */
import type { ExecutionContext } from 'ava'

import type { EndpointOptions } from '../index'
import {
  addIPv6,
  eth0Index,
  type Host,
  type NsProcess,
  type NsRecord,
  netnsTests,
  spawnIn,
  type TestNet,
  useNet,
} from './helpers/netns'

const { test, title } = netnsTests('ipv6-netns.spec.ts')

const TEST_TIMEOUT_MS = 120_000
/** Reliable messages per transfer. */
const COUNT = 200

/** Options of host `h<i>` (each namespace has its own stack, so the fixed groups never meet other runs). */
function hostOptions(net: TestNet, host: Host, overrides: EndpointOptions): EndpointOptions {
  return {
    name: `h${host.index}`,
    networkId: net.networkId,
    announcePeriodMs: 100,
    expiryMultiplier: 10,
    maxDatagramSize: 1232, // the IPv6 minimum MTU less IPv6 and UDP headers
    env: false,
    ...overrides,
  }
}

const peerUp = (name: string) => (r: NsRecord) => r.event === 'peer-up' && r.name === name

/** A receiver on `host` expecting COUNT reliable messages from `from`. */
function receiver(net: TestNet, host: Host, options: EndpointOptions, from: string, broadcast: boolean): NsProcess {
  return spawnIn(net, host, 'netns-receiver.ts', {
    options: hostOptions(net, host, options),
    from,
    count: COUNT,
    size: 64,
    large: 0,
    broadcast,
    reliable: true,
  })
}

/** Lets `sender` go, then checks that it settled every send and that every receiver got all, once, in order. */
async function transfer(t: ExecutionContext, sender: NsProcess, receivers: NsProcess[]): Promise<void> {
  await sender.waitFor((r) => r.event === 'peers-up', 30_000)
  sender.command({ cmd: 'go' })
  const sent = await sender.waitFor((r) => r.event === 'sent', 60_000)
  t.like(sent, { resolved: COUNT, rejected: 0 }, JSON.stringify(sent))
  for (const r of receivers) {
    const complete = await r.waitFor((x) => x.event === 'complete', 30_000)
    t.like(complete, { distinct: COUNT, duplicates: 0, outOfOrder: 0, damaged: 0, missing: 0 }, JSON.stringify(complete))
  }
}

test(title('fd00:78::/64 hosts discover each other by IPv6 multicast and exchange reliable messages'), async (t) => {
  t.timeout(TEST_TIMEOUT_MS)
  const net = useNet(t, 3)
  const v6 = addIPv6(net)
  const [h1, h2, h3] = net.hosts
  const options = (host: Host): EndpointOptions => ({
    interface: v6.get(host)?.ula,
    group: '[ff12::137:1]:37320',
    listenAddress: `[${v6.get(host)?.ula}]:37321`,
  })
  const receivers = [h2, h3].map((h) => receiver(net, h, options(h), 'h1', true))
  const sender = spawnIn(net, h1, 'netns-sender.ts', {
    options: hostOptions(net, h1, options(h1)),
    waitFor: ['h2', 'h3'],
    count: COUNT,
    size: 64,
    large: 0,
    reliable: true,
  })
  for (const r of receivers) {
    const up = await r.waitFor(peerUp('h1'), 30_000)
    t.is(up.address, '[fd00:78::1]:37321', 'seen at its IPv6 address')
  }
  const upAtSender = await sender.waitFor(peerUp('h2'), 30_000)
  t.is(upAtSender.address, '[fd00:78::2]:37321')
  await transfer(t, sender, receivers)
})

test(title('link-local hosts: [fe80::78:<i>%eth0] with a scope ID, reliable unicast'), async (t) => {
  t.timeout(TEST_TIMEOUT_MS)
  const net = useNet(t, 2)
  const v6 = addIPv6(net)
  const [h1, h2] = net.hosts
  const options = (host: Host): EndpointOptions => ({
    interface: 'eth0',
    group: '[ff02::137:1]:37320',
    listenAddress: `[${v6.get(host)?.linkLocal}%eth0]:37321`,
  })
  const r = receiver(net, h2, options(h2), 'h1', false)
  const sender = spawnIn(net, h1, 'netns-sender.ts', {
    options: hostOptions(net, h1, options(h1)),
    to: 'h2',
    waitFor: ['h2'],
    count: COUNT,
    size: 64,
    large: 0,
    reliable: true,
  })
  const ready = await r.waitFor((x) => x.event === 'ready', 30_000)
  t.is(ready.address, `[fe80::78:2%${eth0Index(h2)}]:37321`, 'the scope is the interface index')
  const up = await sender.waitFor(peerUp('h2'), 30_000)
  t.is(up.address, `[fe80::78:2%${eth0Index(h1)}]:37321`, 'a link-local peer keeps the scope of the receiving link')
  await transfer(t, sender, [r])
})

test(title('dual-stack: an IPv4-only and an IPv6-only host both reach a dual-stack host'), async (t) => {
  t.timeout(TEST_TIMEOUT_MS)
  const net = useNet(t, 3)
  const v6 = addIPv6(net)
  const [h1, h2, h3] = net.hosts
  const v4Only = receiver(net, h1, { interface: h1.ip, group: '239.192.137.1:37320' }, 'h3', true)
  const v6Only = receiver(
    net,
    h2,
    { interface: v6.get(h2)?.ula, group: '[ff12::137:1]:37320', listenAddress: '[::]:37321' },
    'h3',
    true,
  )
  const dual = spawnIn(net, h3, 'netns-sender.ts', {
    options: hostOptions(net, h3, {
      interface: 'eth0',
      dualStack: true,
      group: '239.192.137.1:37320',
      group6: '[ff12::137:1]',
      listenAddress: '[::]:37321',
    }),
    waitFor: ['h1', 'h2'],
    count: COUNT,
    size: 64,
    large: 0,
    reliable: true,
  })
  const upV4 = await dual.waitFor(peerUp('h1'), 30_000)
  t.regex(String(upV4.address), /^10\.77\.0\.1:\d+$/, 'the IPv4 peer is seen at its IPv4 address, not ::ffff:')
  // Bound to [::], a host announces to a link-scope group from its link-local address (the kernel's source choice).
  const upV6 = await dual.waitFor(peerUp('h2'), 30_000)
  t.is(upV6.address, `[fe80::78:2%${eth0Index(h3)}]:37321`)
  t.is((await v4Only.waitFor(peerUp('h3'), 30_000)).address, '10.77.0.3:37321')
  t.is((await v6Only.waitFor(peerUp('h3'), 30_000)).address, `[fe80::78:3%${eth0Index(h2)}]:37321`)
  await transfer(t, dual, [v4Only, v6Only])
  t.false(
    [v4Only, v6Only].some((p) => p.records.some((r) => r.event === 'peer-up' && r.name !== 'h3')),
    'the single-family hosts never saw each other',
  )
})

test(title('dual-stack: topic publications flow between the dual-stack host and each single-family host'), async (t) => {
  t.timeout(TEST_TIMEOUT_MS)
  const net = useNet(t, 3)
  const v6 = addIPv6(net)
  const [h1, h2, h3] = net.hosts
  const topics = (host: Host, options: EndpointOptions) =>
    spawnIn(net, host, 'netns-topics.ts', { options: hostOptions(net, host, options) })
  const v4Only = topics(h1, { interface: h1.ip, group: '239.192.137.1:37320' })
  const v6Only = topics(h2, { interface: v6.get(h2)?.ula, group: '[ff12::137:1]:37320' })
  const dual = topics(h3, { interface: 'eth0', dualStack: true, group: '239.192.137.1:37320' })
  await dual.waitFor(peerUp('h1'), 30_000)
  await dual.waitFor(peerUp('h2'), 30_000)
  await v4Only.waitFor(peerUp('h3'), 30_000)
  await v6Only.waitFor(peerUp('h3'), 30_000)
  for (const p of [v4Only, v6Only]) p.command({ op: 'subscribe', filter: 'd/dual' })
  dual.command({ op: 'subscribe', filter: 'd/from/#' })
  for (const p of [v4Only, v6Only, dual]) await p.waitFor((r) => r.event === 'subscribed', 10_000)
  // With history (depth 100), a publication that left before a subscriber's interest arrived is replayed to it.
  v4Only.command({ op: 'publish', topic: 'd/from/v4', from: 1, to: 20, depth: 100 })
  v6Only.command({ op: 'publish', topic: 'd/from/v6', from: 1, to: 20, depth: 100 })
  dual.command({ op: 'publish', topic: 'd/dual', from: 1, to: 20, depth: 100 })
  const texts = (p: NsProcess, topic: string) =>
    p.records.filter((r) => r.event === 'message' && r.topic === topic).map((r) => String(r.text))
  const all = Array.from({ length: 20 }, (_, i) => `${i + 1}`)
  const complete = (p: NsProcess, topic: string) => (r: NsRecord) =>
    r.event === 'message' && r.topic === topic && new Set(texts(p, topic)).size === 20
  await dual.waitFor(complete(dual, 'd/from/v4'), 30_000)
  await dual.waitFor(complete(dual, 'd/from/v6'), 30_000)
  await v4Only.waitFor(complete(v4Only, 'd/dual'), 30_000)
  await v6Only.waitFor(complete(v6Only, 'd/dual'), 30_000)
  for (const [p, topic] of [
    [dual, 'd/from/v4'],
    [dual, 'd/from/v6'],
    [v4Only, 'd/dual'],
    [v6Only, 'd/dual'],
  ] as const) {
    t.deepEqual([...texts(p, topic)].sort((a, b) => Number(a) - Number(b)), all, `${topic} at ${p.host.ns}, once each`)
  }
})
