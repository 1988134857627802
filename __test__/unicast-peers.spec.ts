/**
 * Unicast peers on loopback (the native addon): 8 endpoints with `multicast: false`, each given one peer address,
 * find each other through gossip; reliable sends, best-effort and reliable broadcasts (as unicast copies) and topics
 * flow; nothing reaches the multicast group. GLUE_PEERS / GLUE_MULTICAST and host names (`localhost`), re-resolution
 * of changed and failing names (counted), and bad peer entries: clear errors naming the entry.
 */
import { randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'

import anyTest, { type TestFn } from 'ava'
import { Command } from 'commander'

import { Endpoint, type EndpointOptions, type TopicMessage } from '../index'
import { addCommonOptions, commonEndpointOptions } from '../src/cli/common'
import { InvalidOptionError, PeerResolveError } from '../src/errors'
import { resolveOptions } from '../src/options'
import { isNativeAvailable } from '../src/transport/native'
import { isolatedOptions, until } from './helpers/loopback'

const test = (isNativeAvailable() ? anyTest : anyTest.skip) as TestFn

/** Opens `n` endpoints without multicast: endpoint i > 0 is given the address of endpoint i - 1 only. */
async function chain(n: number, base: EndpointOptions): Promise<Endpoint[]> {
  const eps: Endpoint[] = []
  for (let i = 0; i < n; i++) {
    const peers = i === 0 ? [] : [eps[i - 1]!.address]
    eps.push(await Endpoint.open({ ...base, name: `u${i}`, multicast: false, peers }))
  }
  return eps
}

const allSeeAll = (eps: Endpoint[]): boolean => eps.every((e) => e.peers().length === eps.length - 1)

test('8 endpoints without multicast, one peer address each: discovery, reliable sends, broadcasts, topics', async (t) => {
  const base = isolatedOptions()
  const group = String(base.group)
  const [groupHost, groupPort] = [group.split(':')[0]!, Number(group.split(':')[1])]
  // A listener on the group: with multicast off nothing may arrive there.
  const listener = createSocket({ type: 'udp4', reuseAddr: true })
  let heardOnGroup = 0
  listener.on('message', () => (heardOnGroup += 1))
  await new Promise<void>((resolve) => listener.bind(groupPort, groupHost, resolve))
  listener.addMembership(groupHost, '127.0.0.1')
  const eps = await chain(8, base)
  t.teardown(async () => {
    listener.close()
    await Promise.all(eps.map((e) => e.close()))
  })
  t.true(await until(() => allSeeAll(eps), 15_000), eps.map((e) => `${e.name}: ${e.peers().length}`).join(', '))

  // Reliable unicast between the chain's ends (they were never given each other's address).
  const got: string[] = []
  eps[0]!.onMessage((m) => got.push(`${m.fromName}:${Buffer.from(m.data).toString()}`))
  await eps[7]!.send('u0', 'end to end', { reliable: true })
  t.true(await until(() => got.includes('u7:end to end')))

  // Broadcasts reach every peer as unicast copies; a reliable one is acknowledged by all 7.
  const heard = eps.map(() => new Set<string>())
  eps.forEach((e, i) => e.onMessage((m) => m.broadcast && heard[i]!.add(Buffer.from(m.data).toString())))
  await eps[3]!.broadcast('reliable to all', { reliable: true })
  t.true(await until(() => heard.every((h, i) => i === 3 || h.has('reliable to all'))))
  eps[3]!.broadcast('best effort to all')
  t.true(await until(() => heard.filter((h) => h.has('best effort to all')).length === 7))
  t.true(await until(() => eps[3]!.stats().unicastFanoutCopies >= 14), 'counted (the I/O thread publishes counters)')

  // Topics: publications go to the interested peers only.
  const received: TopicMessage[][] = eps.map(() => [])
  for (const i of [1, 5]) eps[i]!.subscribe('u/#', { callback: (m) => received[i]!.push(m) })
  // Interest summaries travel in announcements: wait until the publisher's view has them.
  for (let k = 0; k < 5 && !(received[1]!.length && received[5]!.length); k++) {
    await eps[6]!.publish('u/x', `k${k}`, { reliable: true })
    await until(() => received[1]!.length > 0 && received[5]!.length > 0, 1000)
  }
  t.true(received[1]!.length > 0 && received[5]!.length > 0, 'both subscribers got the publication')
  t.is(received[2]!.length, 0)
  t.is(heardOnGroup, 0, 'nothing was sent to the multicast group')
  t.true(await until(() => eps.reduce((n, e) => n + e.stats().gossipSent, 0) > 0))
})

test('a sealed network (network key) without multicast: gossip and broadcast copies are sealed and opened', async (t) => {
  const base = isolatedOptions({ networkKey: randomBytes(32).toString('hex') })
  const eps = await chain(4, base)
  t.teardown(() => Promise.all(eps.map((e) => e.close())))
  t.true(await until(() => allSeeAll(eps), 15_000))
  const heard = eps.map(() => 0)
  eps.forEach((e, i) => e.onMessage((m) => m.broadcast && (heard[i] += 1)))
  await eps[0]!.broadcast('sealed copies', { reliable: true })
  t.true(await until(() => heard.every((n, i) => i === 0 || n === 1)))
  t.true(await until(() => eps.reduce((n, e) => n + e.stats().gossipReceived, 0) > 0))
  t.is(eps.reduce((n, e) => n + e.stats().droppedUnauthenticated, 0), 0)
})

test('GLUE_PEERS and GLUE_MULTICAST=false, with a host name (localhost) resolved by dns.lookup', async (t) => {
  const base = isolatedOptions()
  const a = await Endpoint.open({ ...base, name: 'env-a', multicast: false })
  const port = a.address.split(':')[1]
  const b = await Endpoint.open({
    ...base,
    name: 'env-b',
    env: { GLUE_PEERS: ` localhost:${port} , 127.0.0.1:${port}`, GLUE_MULTICAST: 'false' },
  })
  t.teardown(() => Promise.all([a.close(), b.close()]))
  t.true(await until(() => a.peers().length === 1 && b.peers().length === 1, 10_000))
  t.deepEqual(b.config.peers, [`127.0.0.1:${port}`], 'both entries resolved to one address')
  t.false(b.config.multicast)
  t.true(b.stats().gossipReceived + a.stats().gossipReceived > 0 || b.peers().length === 1)
})

test('a changed host name is picked up; a failing one keeps the last addresses and is retried, counted', async (t) => {
  const base = isolatedOptions()
  const a = await Endpoint.open({ ...base, name: 'dns-a', multicast: false })
  let answer: string[] | Error = ['127.0.0.1']
  let lookups = 0
  const lookupPeer = async (host: string): Promise<string[]> => {
    lookups += 1
    t.is(host, 'a.glue.test')
    if (answer instanceof Error) throw answer
    return answer
  }
  const b = await Endpoint.open({
    ...base,
    name: 'dns-b',
    multicast: false,
    peers: [`a.glue.test:${a.address.split(':')[1]}`],
    lookupPeer,
    peerResolveIntervalMs: 1000,
  })
  t.teardown(() => Promise.all([a.close(), b.close()]))
  t.true(await until(() => a.peers().length === 1, 10_000), 'found through the resolved name')
  // The name now fails: the last address is kept (still connected), failures and retries are counted.
  answer = Object.assign(new Error('temporary failure'), { code: 'EAI_AGAIN' })
  t.true(await until(() => b.stats().peerResolveFailures >= 2 && b.stats().peerResolveRetries >= 2, 10_000))
  t.is(b.peers().length, 1)
  // It resolves to another address: handed to the core.
  answer = ['127.0.0.1', '127.0.0.2']
  t.true(await until(() => b.stats().peerAddressChanges >= 1, 10_000))
  t.true(lookups >= 4)
})

test('an unresolvable host name at open is a PeerResolveError naming the entry', async (t) => {
  const base = isolatedOptions({ multicast: false })
  const err = await t.throwsAsync(
    Endpoint.open({
      ...base,
      peers: ['127.0.0.1:5000', 'nowhere.glue.test:37321'],
      lookupPeer: async (host) => {
        if (host === 'nowhere.glue.test') throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' })
        return ['127.0.0.1']
      },
    }),
    { instanceOf: PeerResolveError },
  )
  t.is(err?.code, 'ERR_GLUE_PEER_RESOLVE')
  t.is(err?.option, 'peers[1]')
  t.regex(err?.message ?? '', /peers\[1\].*nowhere\.glue\.test.*ENOTFOUND/)
  const empty = await t.throwsAsync(
    Endpoint.open({ ...base, peers: ['empty.glue.test'], lookupPeer: async () => [] }),
    { instanceOf: PeerResolveError },
  )
  t.is(empty?.option, 'peers[0]')
})

anyTest('malformed peer entries and multicast values are InvalidOptionErrors naming the entry', (t) => {
  const bad = (options: EndpointOptions, option: string): void => {
    const err = t.throws(() => resolveOptions({ env: false, ...options }), { instanceOf: InvalidOptionError })
    t.is(err?.option, option, JSON.stringify(options))
    t.is(err?.code, 'ERR_GLUE_INVALID_OPTION')
  }
  bad({ peers: ['10.0.0.5:37321', '10.0.0.5:99999'] }, 'peers[1]')
  bad({ peers: ['10.0.0.5:0'] }, 'peers[0]')
  bad({ peers: ['10.0.0.5:'] }, 'peers[0]')
  bad({ peers: ['239.1.2.3:5'] }, 'peers[0]')
  bad({ peers: ['0.0.0.0:5'] }, 'peers[0]')
  bad({ peers: ['::1:5'] }, 'peers[0]')
  bad({ peers: ['[nonsense]:5'] }, 'peers[0]')
  bad({ peers: ['bad host:5'] }, 'peers[0]')
  bad({ peers: ['-leading.dash'] }, 'peers[0]')
  bad({ peers: ['1.2.3:5'] }, 'peers[0]')
  bad({ peers: [42 as unknown as string] }, 'peers[0]')
  bad({ peers: '10.0.0.5:1' as unknown as string[] }, 'peers')
  bad({ peers: Array.from({ length: 1025 }, () => '10.0.0.1') }, 'peers')
  bad({ multicast: 'no' as unknown as boolean }, 'multicast')
  bad({ peerResolveIntervalMs: 10 }, 'peerResolveIntervalMs')
  bad({ lookupPeer: 'dns' as unknown as () => Promise<string[]> }, 'lookupPeer')
  const env = (vars: Record<string, string>, option: string): void => {
    const err = t.throws(() => resolveOptions({ env: vars }), { instanceOf: InvalidOptionError })
    t.is(err?.option, option)
  }
  env({ GLUE_PEERS: '10.0.0.1:1,10.0.0.2:x' }, 'GLUE_PEERS[1]')
  env({ GLUE_MULTICAST: 'maybe' }, 'GLUE_MULTICAST')
  // An IPv6 peer needs IPv6 sockets (dual-stack here); see ipv6.spec.ts for the family checks.
  env({ GLUE_PEERS: '10.0.0.1:1,[::1]:7' }, 'GLUE_PEERS[1]')
  // Good ones: the default port, names, IPv6 in brackets, whitespace in the variable.
  const ok = resolveOptions({
    env: { GLUE_PEERS: ' gateway.local , 10.0.0.5:4000,[::1]:7 ', GLUE_MULTICAST: '0', GLUE_DUAL_STACK: '1' },
  })
  t.deepEqual(
    ok.unicast.peers.map((p) => [p.host, p.port, p.isName, p.label]),
    [
      ['gateway.local', 37321, true, 'GLUE_PEERS[0]'],
      ['10.0.0.5', 4000, false, 'GLUE_PEERS[1]'],
      ['::1', 7, false, 'GLUE_PEERS[2]'],
    ],
  )
  t.false(ok.native.multicast)
  t.is(ok.topics.multicastRatio, Number.POSITIVE_INFINITY, 'without multicast topics go to the interested peers')
  t.true(resolveOptions({ env: false }).native.multicast)
})

test('setPeers() replaces the addresses at runtime; a bad or unresolvable entry changes nothing', async (t) => {
  const base = isolatedOptions({ multicast: false })
  const a = await Endpoint.open({ ...base, name: 'set-a' })
  const b = await Endpoint.open({
    ...base,
    name: 'set-b',
    lookupPeer: async (host) => {
      if (host === 'a.glue.test') return ['127.0.0.1']
      throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' })
    },
  })
  t.teardown(() => Promise.all([a.close(), b.close()]))
  const bad = await t.throwsAsync(b.setPeers(['127.0.0.1:0']), { instanceOf: InvalidOptionError })
  t.is(bad?.option, 'peers[0]')
  const unresolvable = await t.throwsAsync(b.setPeers([a.address, 'nowhere.glue.test']), {
    instanceOf: PeerResolveError,
  })
  t.is(unresolvable?.option, 'peers[1]')
  t.is(a.peers().length, 0, 'still alone: nothing was applied')
  await b.setPeers([`a.glue.test:${a.address.split(':')[1]}`])
  t.true(await until(() => a.peers().length === 1 && b.peers().length === 1, 10_000))
  await b.close()
  await t.throwsAsync(b.setPeers([a.address]), { code: 'ERR_GLUE_CLOSED' })
})

anyTest('the CLI: --peer (repeatable) and --no-multicast', (t) => {
  const parse = (args: string[]): EndpointOptions => {
    const command = addCommonOptions(new Command()).exitOverride()
    command.parse(args, { from: 'user' })
    return commonEndpointOptions(command.opts())
  }
  const o = parse(['--peer', '10.0.0.5:37321', '--peer', 'gateway.local', '--no-multicast'])
  t.deepEqual(o.peers, ['10.0.0.5:37321', 'gateway.local'])
  t.false(o.multicast)
  const d = parse([])
  t.is(d.peers, undefined)
  t.is(d.multicast, undefined, 'unset: GLUE_MULTICAST and the default apply')
  t.deepEqual(resolveOptions({ ...o, env: false }).unicast.peers.map((p) => p.port), [37321, 37321])
})
