/**
 * Integration tests against the real native addon, in one process, on loopback only. Skipped until binding.js
 * and the .node file are built (`npm run build:native`).
 */
import { createSocket } from 'node:dgram'

import anyTest, { type TestFn } from 'ava'

import {
  AddressInUseError,
  ClosedError,
  Endpoint,
  type EndpointOptions,
  InterfaceNotFoundError,
  MessageTooLargeError,
  UnknownPeerError,
} from '../index'
import { isNativeAvailable } from '../src/transport/native'
import { isolatedOptions, until } from './helpers/loopback'

const test = (isNativeAvailable() ? anyTest : anyTest.skip) as TestFn

async function openAll(names: string[], shared: EndpointOptions): Promise<Endpoint[]> {
  const endpoints: Endpoint[] = []
  for (const name of names) endpoints.push(await Endpoint.open({ ...shared, name }))
  return endpoints
}

const closeAll = (endpoints: Endpoint[]) => Promise.all(endpoints.map((ep) => ep.close()))

test('four endpoints in one process find each other and exchange unicast and broadcast', async (t) => {
  const names = ['A', 'B', 'C', 'D']
  const endpoints = await openAll(names, isolatedOptions())
  try {
    t.true(
      await until(() => endpoints.every((ep) => ep.peers().length === 3)),
      endpoints.map((ep) => `${ep.name}: ${ep.peers().map((p) => p.name)}`).join('; '),
    )
    for (const ep of endpoints) {
      t.deepEqual(
        ep
          .peers()
          .map((p) => p.name)
          .sort(),
        names.filter((n) => n !== ep.name),
      )
      t.regex(ep.address, /^127\.0\.0\.1:\d+$/)
    }
    const received = new Set<string>()
    for (const ep of endpoints) {
      ep.onMessage((m) => received.add(`${ep.name}<-${m.fromName}:${m.broadcast ? 'b' : 'u'}:${m.text()}`))
    }
    const expected = new Set<string>()
    endpoints.forEach((ep, i) => {
      const next = names[(i + 1) % 4]
      expected.add(`${next}<-${ep.name}:u:hello from ${ep.name}`)
      for (const other of names) if (other !== ep.name) expected.add(`${other}<-${ep.name}:b:all from ${ep.name}`)
    })
    // Best effort over UDP: resend until everything arrived (on loopback the first round practically always does).
    const everything = () => [...expected].every((line) => received.has(line))
    for (let round = 0; round < 20 && !everything(); round++) {
      endpoints.forEach((ep, i) => {
        ep.send(names[(i + 1) % 4], `hello from ${ep.name}`)
        ep.broadcast(`all from ${ep.name}`)
      })
      await until(everything, 250)
    }
    t.deepEqual(
      [...expected].filter((line) => !received.has(line)),
      [],
    )
    t.true(endpoints[0].stats().messagesSent >= 2)
  } finally {
    await closeAll(endpoints)
  }
})

test('status iterator reports peer-up and peer-down (left) and ends on close', async (t) => {
  const shared = isolatedOptions()
  const a = await Endpoint.open({ ...shared, name: 'A' })
  t.teardown(() => a.close())
  const events: string[] = []
  const iterating = (async () => {
    for await (const event of a.status()) events.push(`${event.type} ${event.peer.name}`)
  })()
  const b = await Endpoint.open({ ...shared, name: 'B' })
  t.teardown(() => b.close())
  t.true(await until(() => events.includes('peer-up B')))
  await b.close()
  t.true(await until(() => events.includes('peer-down B')), events.join(', '))
  await a.close()
  await iterating
  t.pass()
})

test('the accept filter hides a peer and drops its messages', async (t) => {
  const shared = isolatedOptions()
  const a = await Endpoint.open({ ...shared, name: 'A', acceptPeer: (peer) => peer.name !== 'Mallory' })
  const mallory = await Endpoint.open({ ...shared, name: 'Mallory' })
  const bob = await Endpoint.open({ ...shared, name: 'Bob' })
  try {
    t.true(await until(() => mallory.peers().some((p) => p.name === 'A') && a.peers().some((p) => p.name === 'Bob')))
    const got: string[] = []
    a.onMessage((m) => got.push(m.fromName))
    for (let i = 0; i < 10 && !got.includes('Bob'); i++) {
      mallory.broadcast('x')
      mallory.send('A', 'y')
      bob.broadcast('z')
      await until(() => got.includes('Bob'), 200)
    }
    t.false(got.includes('Mallory'))
    t.true(got.includes('Bob'))
    t.deepEqual(
      a.peers().map((p) => p.name),
      ['Bob'],
    )
  } finally {
    await closeAll([a, mallory, bob])
  }
})

test('send errors: unknown peer, message too large, closed', async (t) => {
  const shared = isolatedOptions({ maxDatagramSize: 1472 })
  const [a, b] = await openAll(['A', 'B'], shared)
  try {
    t.throws(() => a.send('nobody', 'x'), { instanceOf: UnknownPeerError })
    t.true(await until(() => a.peers().length === 1))
    t.throws(() => a.send('B', Buffer.alloc(70_000)), { instanceOf: MessageTooLargeError })
    t.throws(() => a.broadcast(Buffer.alloc(70_000)), { instanceOf: MessageTooLargeError })
  } finally {
    await closeAll([a, b])
  }
  t.throws(() => a.send('B', 'x'), { instanceOf: ClosedError })
  t.throws(() => a.broadcast('x'), { instanceOf: ClosedError })
  await a.close() // idempotent
})

test('an unknown interface name is InterfaceNotFoundError naming the option', async (t) => {
  const err = await t.throwsAsync(Endpoint.open(isolatedOptions({ interface: 'nosuchif0' })), {
    instanceOf: InterfaceNotFoundError,
  })
  t.regex(err?.message ?? '', /interface.*nosuchif0/)
})

test('a listen port in use is AddressInUseError', async (t) => {
  const socket = createSocket('udp4')
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
  const { port } = socket.address()
  try {
    const err = await t.throwsAsync(Endpoint.open(isolatedOptions({ listenAddress: `127.0.0.1:${port}` })), {
      instanceOf: AddressInUseError,
    })
    t.is(err?.code, 'ERR_GLUE_ADDRESS_IN_USE')
    t.truthy(err?.cause)
  } finally {
    socket.close()
  }
})

test('malformed datagrams to the group and to the unicast port are counted and harmless', async (t) => {
  const shared = isolatedOptions()
  const [a, b] = await openAll(['A', 'B'], shared)
  const socket = createSocket('udp4')
  try {
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve))
    socket.setMulticastInterface('127.0.0.1')
    socket.setMulticastTTL(1)
    const [groupHost, groupPort] = String(shared.group).split(':')
    const [aHost, aPort] = a.address.split(':')
    const junk = [
      Buffer.alloc(0),
      Buffer.from([0]),
      Buffer.alloc(64, 0xff),
      Buffer.from('hello, not glue'),
      Buffer.alloc(1000, 7),
    ]
    const send = (data: Buffer, port: string, host: string) =>
      new Promise<void>((resolve, reject) =>
        socket.send(data, Number(port), host, (err) => (err ? reject(err) : resolve())),
      )
    for (const data of junk) {
      await send(data, groupPort, groupHost)
      await send(data, aPort, aHost)
    }
    // Each endpoint hears the group copies, A also the unicast ones. Empty datagrams may be dropped by the OS
    // layer, so require most, not all.
    t.true(await until(() => a.stats().droppedMalformed >= 2 * junk.length - 2), JSON.stringify(a.stats()))
    t.true(await until(() => b.stats().droppedMalformed >= junk.length - 1), JSON.stringify(b.stats()))
    // Still working.
    t.true(await until(() => a.peers().length === 1 && b.peers().length === 1))
    const got: string[] = []
    b.onMessage((m) => got.push(m.text()))
    for (let i = 0; i < 10 && got.length === 0; i++) {
      a.send('B', 'still alive')
      await until(() => got.length > 0, 200)
    }
    t.deepEqual(got.slice(0, 1), ['still alive'])
  } finally {
    socket.close()
    await closeAll([a, b])
  }
})
