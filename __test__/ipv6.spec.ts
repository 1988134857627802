/**
 * IPv6 on loopback: the address forms and their errors, two endpoints on ::1, and a dual-stack endpoint beside an
 * IPv4-only one. (IPv6 multicast does not loop back through `lo` here — Linux has no IPv6 multicast route on `lo`
 * and a test must not add one to the host — so ::1 endpoints find each other through crossed unicast discovery
 * addresses; IPv6 multicast groups are tested between namespace hosts in ipv6-netns.spec.ts.)
 */
import { randomInt } from 'node:crypto'
import { networkInterfaces } from 'node:os'

import anyTest, { type ExecutionContext, type TestFn } from 'ava'

import {
  Endpoint,
  type EndpointOptions,
  InterfaceNotFoundError,
  InvalidOptionError,
  resolveOptions,
  type TopicMessage,
} from '../index'
import { isNativeAvailable } from '../src/transport/native'
import { isolatedOptions, until } from './helpers/loopback'

const test = (isNativeAvailable() ? anyTest : anyTest.skip) as TestFn
const resolve = (options: EndpointOptions = {}) => resolveOptions({ env: false, ...options }).native

anyTest('IPv6 addresses: brackets, a default port for groups, scope IDs by name or index', (t) => {
  const v6 = resolve({ group: '[FF12::1:3]' })
  t.like(v6, {
    discoveryTarget: '[ff12::1:3]:37320',
    discoveryListen: '[ff12::1:3]:37320',
    listenAddress: '[::1]:0',
    interfaceAddress: '::1',
    interfaceName: 'lo',
    maxDatagramSize: 65000,
  })
  t.is(v6.dualStackGroup, undefined)
  t.like(resolve({ group: '[ff02::1:3]:37320', listenAddress: '[fe80::1%lo]:37321', interface: 'lo' }), {
    listenAddress: '[fe80::1%lo]:37321',
    interfaceAddress: '::1',
    interfaceName: 'lo',
  })
  t.like(resolve({ group: '[ff02::1:3]:1', listenAddress: '[fe80::1%1]' }), { listenAddress: '[fe80::1%1]:0' })
  t.like(resolve({ group: '[ff02::1:3]:1', listenAddress: ':4000' }), { listenAddress: '[::1]:4000' })
  t.like(resolve({ group: '[ff02::1:3]:1', interface: 'fe80::2%lo' }), {
    interfaceAddress: 'fe80::2',
    interfaceName: 'lo',
    listenAddress: '[::]:0',
    maxDatagramSize: 1452,
  })
  // IPv4 stays as it was.
  t.like(resolve(), { listenAddress: '127.0.0.1:0', interfaceAddress: '127.0.0.1', discoveryTarget: '239.192.137.1:37320' })
})

anyTest('dual-stack: [::] sockets, the IPv4 group plus an IPv6 one on its port', (t) => {
  t.like(resolve({ dualStack: true, group: '239.1.2.3:4000' }), {
    listenAddress: '[::]:0',
    discoveryTarget: '239.1.2.3:4000',
    dualStackGroup: '[ff12::137:1]:4000',
    interfaceAddress: '127.0.0.1',
    interfaceName: 'lo',
  })
  t.like(resolve({ dualStack: true, group6: '[ff02::42]' }), { dualStackGroup: '[ff02::42]:37320' })
  t.like(resolveOptions({ env: { GLUE_DUAL_STACK: 'true' } }).native, { dualStackGroup: '[ff12::137:1]:37320' })
  t.is(resolveOptions({ env: { GLUE_DUAL_STACK: '0' } }).native.dualStackGroup, undefined)
})

const bad: Array<[string, EndpointOptions, RegExp]> = [
  ['listenAddress', { listenAddress: '[fe80::1]:1', group: '[ff02::1]:1' }, /scope ID on a link-local/],
  ['listenAddress', { listenAddress: '[fe80::1%nosuchif0]:1', group: '[ff02::1]:1' }, /names a network interface/],
  ['listenAddress', { listenAddress: '[::1', group: '[ff02::1]:1' }, /"\[ipv6\]:port"/],
  ['listenAddress', { listenAddress: '[::1]:65536', group: '[ff02::1]:1' }, /port 0\.\.65535/],
  ['listenAddress', { listenAddress: '[::1]:0' }, /an IPv4 address like the discovery addresses/],
  ['listenAddress', { listenAddress: '127.0.0.1:0', group: '[ff02::1]:1' }, /an IPv6 address like the discovery/],
  ['listenAddress', { listenAddress: '0.0.0.0:0', dualStack: true }, /an IPv6 address with dualStack/],
  ['group', { group: '[ff02::1]:0' }, /port 1\.\.65535/],
  ['group', { group: '[ff02::1]', dualStack: true }, /an IPv4 address with dualStack/],
  ['group6', { group6: '[ff02::1]' }, /dualStack: true beside it/],
  ['group6', { group6: '239.1.1.1:37320', dualStack: true }, /an IPv6 multicast group/],
  ['group6', { group6: '[fd00::1]', dualStack: true }, /an IPv6 multicast group/],
  ['group6', { group6: '[ff02::1]:1', dualStack: true }, /the port of the IPv4 discovery listen address, 37320/],
  ['discoveryListenAddress', { group: '239.1.1.1:5', discoveryListenAddress: '[::1]:5' }, /same address family/],
  ['dualStack', { dualStack: 'yes' as unknown as boolean }, /true or false/],
]

for (const [option, options, expected] of bad) {
  anyTest(`invalid ${option}: ${JSON.stringify(options).slice(0, 60)}`, (t) => {
    const err = t.throws(() => resolve(options), { instanceOf: InvalidOptionError })
    t.is(err?.option, option)
    t.regex(err?.message ?? '', expected)
  })
}

anyTest('a bad GLUE_DUAL_STACK and an unknown scope of the interface are named', (t) => {
  const env = t.throws(() => resolveOptions({ env: { GLUE_DUAL_STACK: 'maybe' } }), { instanceOf: InvalidOptionError })
  t.is(env?.option, 'GLUE_DUAL_STACK')
  const scope = t.throws(() => resolve({ interface: 'fe80::1%nosuchif0' }), { instanceOf: InterfaceNotFoundError })
  t.regex(scope?.message ?? '', /interface: "fe80::1%nosuchif0": the scope ID names no network interface/)
})

/** Two free-looking ports for the crossed discovery addresses on ::1 (random, as isolatedOptions does). */
function twoPorts(): [number, number] {
  const a = randomInt(20000, 60000)
  let b = randomInt(20000, 60000)
  while (b === a) b = randomInt(20000, 60000)
  return [a, b]
}

/** Options of an endpoint on ::1 that listens for discovery on `[::1]:listen` and announces to `[::1]:target`. */
function onV6Loopback(name: string, listen: number, target: number, networkId: number): EndpointOptions {
  return isolatedOptions({
    name,
    networkId,
    interface: '::1',
    listenAddress: '[::1]:0',
    group: undefined,
    discoveryListenAddress: `[::1]:${listen}`,
    discoveryTargetAddress: `[::1]:${target}`,
  })
}

/** Opens both, closing them in the teardown, and waits (with a deadline) until each sees the other. */
async function pair(t: ExecutionContext, a: EndpointOptions, b: EndpointOptions): Promise<[Endpoint, Endpoint]> {
  const first = await Endpoint.open(a)
  t.teardown(() => first.close())
  const second = await Endpoint.open(b)
  t.teardown(() => second.close())
  t.true(await until(() => first.peers().length === 1 && second.peers().length === 1, 10_000), 'discovery')
  return [first, second]
}

/** Reliable messages both ways, a reliable broadcast, and a topic publication each way. */
async function exchange(t: ExecutionContext, a: Endpoint, b: Endpoint): Promise<void> {
  const atA: string[] = []
  const atB: string[] = []
  a.onMessage((m) => atA.push(m.text()))
  b.onMessage((m) => atB.push(m.text()))
  await a.send(b.name, 'a to b', { reliable: true, deadlineMs: 10_000 })
  await b.send(a.name, 'b to a', { reliable: true, deadlineMs: 10_000 })
  await a.broadcast('a to all', { reliable: true, deadlineMs: 10_000 })
  t.true(await until(() => atB.includes('a to b') && atB.includes('a to all') && atA.includes('b to a'), 10_000))
  const topicAtA: TopicMessage[] = []
  const topicAtB: TopicMessage[] = []
  a.subscribe('v6/b', { callback: (m) => topicAtA.push(m) })
  b.subscribe('v6/a', { callback: (m) => topicAtB.push(m) })
  // Reliable publications wait for the subscriber's interest; keep publishing until each side has one.
  t.true(
    await until(
      () => {
        if (topicAtB.length === 0) void a.publish('v6/a', { from: 'a' }, { codec: 'msgpack', reliable: true }).catch(() => {})
        if (topicAtA.length === 0) void b.publish('v6/b', { from: 'b' }, { codec: 'msgpack', reliable: true }).catch(() => {})
        return topicAtA.length > 0 && topicAtB.length > 0
      },
      10_000,
      200,
    ),
    'topic publications both ways',
  )
  t.like(topicAtB[0], { topic: 'v6/a', value: { from: 'a' }, fromName: a.name })
  t.like(topicAtA[0], { topic: 'v6/b', value: { from: 'b' }, fromName: b.name })
}

test('two endpoints on ::1 discover each other and exchange reliable messages and topics', async (t) => {
  const [pa, pb] = twoPorts()
  const networkId = randomInt(1, 0xffff_ffff)
  const [a, b] = await pair(t, onV6Loopback('v6-a', pa, pb, networkId), onV6Loopback('v6-b', pb, pa, networkId))
  t.regex(a.address, /^\[::1\]:\d+$/)
  t.is(b.peers()[0]?.address, a.address)
  t.is(a.peers()[0]?.address, b.address)
  await exchange(t, a, b)
})

test('a dual-stack endpoint and an IPv4-only endpoint see one another once and exchange everything', async (t) => {
  const base = isolatedOptions()
  const [dual, v4] = await pair(t, { ...base, name: 'dual', dualStack: true }, { ...base, name: 'v4' })
  t.regex(dual.address, /^\[::\]:\d+$/)
  const port = dual.address.slice(dual.address.lastIndexOf(':') + 1)
  // The IPv4 peer is seen at its IPv4 address (not ::ffff:127.0.0.1), and the dual-stack one at the IPv4 source
  // of its announcements.
  t.is(dual.peers()[0]?.address, v4.address)
  t.is(v4.peers()[0]?.address, `127.0.0.1:${port}`)
  await exchange(t, dual, v4)
  t.is(dual.peers().length, 1, 'one peer, not two')
})

test('bad IPv6 interfaces fail at open with InterfaceNotFoundError', async (t) => {
  const base = isolatedOptions({ group: `[ff12::137:1]:${randomInt(20000, 60000)}` })
  const notLocal = await t.throwsAsync(Endpoint.open({ ...base, interface: '2001:db8::1' }), {
    instanceOf: InterfaceNotFoundError,
  })
  t.regex(notLocal?.message ?? '', /2001:db8::1/)
  t.is(Object.keys(networkInterfaces()).includes('nosuchif0'), false)
  await t.throwsAsync(Endpoint.open({ ...base, listenAddress: '[2001:db8::1]:0' }), {
    instanceOf: InterfaceNotFoundError,
  })
})

/** Options of an endpoint on ::1 with no multicast at all: discovery through `peers` only. */
function v6Unicast(name: string, networkId: number, groupPort: number, extra: EndpointOptions): EndpointOptions {
  return isolatedOptions({
    name,
    networkId,
    interface: '::1',
    group: `[ff12::137:1]:${groupPort}`,
    multicast: false,
    announcePeriodMs: 100,
    ...extra,
  })
}

test('unicast peers over IPv6: three endpoints on ::1 without multicast, one peer address each, find everyone', async (t) => {
  const networkId = randomInt(1, 0xffff_ffff)
  const groupPort = randomInt(20000, 60000)
  const hub = await Endpoint.open(v6Unicast('v6-hub', networkId, groupPort, { listenAddress: '[::1]:0' }))
  t.teardown(() => hub.close())
  const a = await Endpoint.open(v6Unicast('v6-a', networkId, groupPort, { peers: [hub.address] }))
  t.teardown(() => a.close())
  // b knows only a; it learns of the hub through a's gossip.
  const b = await Endpoint.open(v6Unicast('v6-b', networkId, groupPort, { peers: [a.address] }))
  t.teardown(() => b.close())
  const all = [hub, a, b]
  t.true(await until(() => all.every((ep) => ep.peers().length === 2), 10_000), JSON.stringify(all.map((ep) => ep.peers().length)))
  t.true(await until(() => b.stats().gossipReceived >= 1, 10_000), 'b heard gossip')
  t.true(b.peers().some((p) => p.address === hub.address), 'the hub at its IPv6 address')
  await exchange(t, hub, b)
})

anyTest('peers: IPv6 entries with a scope, and the family of the sockets', (t) => {
  const v6 = resolveOptions({ env: false, group: '[ff12::1:3]', peers: ['[fe80::1%lo]:37321', '[::1]'] })
  t.deepEqual(v6.unicast.peers.map((p) => [p.host, p.port]), [['fe80::1%lo', 37321], ['::1', 37321]])
  const v4 = t.throws(() => resolveOptions({ env: false, peers: ['10.0.0.1:5', '[::1]:5'] }), { instanceOf: InvalidOptionError })
  t.is(v4?.option, 'peers[1]')
  t.regex(v4?.message ?? '', /an IPv4 address: this endpoint's sockets are IPv4/)
  const onV6 = t.throws(() => resolveOptions({ env: false, group: '[ff12::1:3]', peers: ['10.0.0.1:5'] }), { instanceOf: InvalidOptionError })
  t.is(onV6?.option, 'peers[0]')
  t.notThrows(() => resolveOptions({ env: false, dualStack: true, peers: ['10.0.0.1:5', '[::1]:5'] }))
})
