/**
 * Reliable sends against the real native addon, endpoints in one process, on loopback only (each test its own
 * multicast group and network ID). Skipped until the addon is built.
 */
import anyTest, { type TestFn } from 'ava'

import {
  ClosedError,
  Endpoint,
  type EndpointOptions,
  type Message,
  MessageTooLargeError,
  UnknownPeerError,
} from '../index'
import { isNativeAvailable } from '../src/transport/native'
import { isolatedOptions, until } from './helpers/loopback'

const test = (isNativeAvailable() ? anyTest : anyTest.skip) as TestFn
const reliable = { reliable: true } as const
const COUNT = 10_000

/** Opens endpoints with these names on one isolated group and waits until all see each other. */
async function openMesh(names: string[], overrides: EndpointOptions = {}): Promise<Endpoint[]> {
  const shared = isolatedOptions(overrides)
  const endpoints: Endpoint[] = []
  for (const name of names) endpoints.push(await Endpoint.open({ ...shared, name }))
  const meshed = await until(() => endpoints.every((ep) => ep.peers().length === names.length - 1), 10_000)
  if (!meshed) {
    await Promise.all(endpoints.map((ep) => ep.close()))
    throw new Error('the endpoints did not find each other')
  }
  return endpoints
}

/** Collects the reliable messages an endpoint receives, by kind. */
function collect(ep: Endpoint) {
  const got = { unicast: [] as string[], broadcast: [] as string[], other: [] as Message[] }
  ep.onMessage((m) => {
    if (!m.reliable) got.other.push(m)
    else if (m.broadcast) got.broadcast.push(m.text())
    else got.unicast.push(m.text())
  })
  return got
}

const sequence = Array.from({ length: COUNT }, (_, i) => String(i))

test('10 000 reliable unicasts and broadcasts arrive once, in order; flush and all promises resolve', async (t) => {
  t.timeout(60_000)
  const endpoints = await openMesh(['A', 'B', 'C'])
  const [a, b, c] = endpoints
  try {
    const atB = collect(b)
    const atC = collect(c)
    const unicasts = sequence.map((text) => a.send('B', text, reliable))
    await a.flush()
    await Promise.all(unicasts)
    t.true(await until(() => atB.unicast.length >= COUNT, 10_000), `B got ${atB.unicast.length}`)
    t.deepEqual(atB.unicast, sequence)

    const broadcasts = sequence.map((text) => a.broadcast(text, reliable))
    await a.flush()
    await Promise.all(broadcasts)
    t.true(await until(() => atB.broadcast.length >= COUNT && atC.broadcast.length >= COUNT, 10_000))
    t.deepEqual(atB.broadcast, sequence)
    t.deepEqual(atC.broadcast, sequence)
    t.deepEqual(atC.unicast, [])
    t.deepEqual([...atB.other, ...atC.other], [])

    await new Promise((resolve) => setTimeout(resolve, 50)) // nothing more (no duplicates) arrives later
    t.is(atB.unicast.length + atB.broadcast.length + atC.broadcast.length, 3 * COUNT)
    const stats = a.stats()
    t.is(stats.reliableMessagesSent, 2 * COUNT)
    t.is(stats.reliableMessagesAcked, 2 * COUNT)
    t.is(stats.reliableMessagesFailed, 0)
    t.true(b.stats().reliableMessagesReceived >= 2 * COUNT)
  } finally {
    await Promise.all(endpoints.map((ep) => ep.close()))
  }
})

test('flow control on the real core: 200 × 60 KiB through a 64 KiB send queue, no error', async (t) => {
  t.timeout(60_000)
  const endpoints = await openMesh(['A', 'B'], { sendQueueBytes: 65_536 })
  const [a, b] = endpoints
  try {
    const got: Buffer[] = []
    b.onMessage((m) => got.push(m.data))
    const sends = Array.from({ length: 200 }, (_, i) => a.send('B', Buffer.alloc(60 * 1024, i), reliable))
    await Promise.all(sends)
    t.true(await until(() => got.length >= 200, 10_000))
    t.deepEqual(
      got.map((data) => [data.length, data[0], data[data.length - 1]]),
      Array.from({ length: 200 }, (_, i) => [60 * 1024, i, i]),
    )
    const stats = a.stats()
    t.true(stats.reliableMessagesDeferred >= 150, `deferred ${stats.reliableMessagesDeferred}`)
    t.is(stats.reliableMessagesExpiredWaiting, 0)
    t.is(stats.reliableMessagesAcked, 200)
  } finally {
    await Promise.all(endpoints.map((ep) => ep.close()))
  }
})

test('errors on the real core: unknown peer, too large, closed; close rejects what is pending', async (t) => {
  const endpoints = await openMesh(['A', 'B'], { maxMessageSize: 1 << 20 })
  const [a, b] = endpoints
  try {
    await t.throwsAsync(a.send('nobody', 'x', reliable), { instanceOf: UnknownPeerError })
    await t.throwsAsync(a.send('B', Buffer.alloc((1 << 20) + 1), reliable), { instanceOf: MessageTooLargeError })
    await t.throwsAsync(a.broadcast(Buffer.alloc((1 << 20) + 1), reliable), { instanceOf: MessageTooLargeError })
    await a.send('B', Buffer.alloc(1 << 20), reliable) // exactly the limit
    // Close in the same tick: the acknowledgement cannot have been processed yet.
    const pending = t.throwsAsync(a.send('B', 'x', reliable), { instanceOf: ClosedError })
    const pendingBroadcast = t.throwsAsync(a.broadcast('y', reliable), { instanceOf: ClosedError })
    const closing = a.close()
    await Promise.all([pending, pendingBroadcast, closing])
    await t.throwsAsync(a.send('B', 'x', reliable), { instanceOf: ClosedError })
    await a.flush()
  } finally {
    await Promise.all([a.close(), b.close()])
  }
})

test('a reliable broadcast with no peers resolves at once', async (t) => {
  const ep = await Endpoint.open({ ...isolatedOptions(), name: 'alone' })
  try {
    await ep.broadcast('anyone?', reliable)
    await ep.flush()
    t.is(ep.stats().reliableMessagesAcked, 1)
  } finally {
    await ep.close()
  }
})

test('sendMany and broadcastMany: one promise per batch, every message once and in order', async (t) => {
  t.timeout(60_000)
  const endpoints = await openMesh(['A', 'B', 'C'])
  const [a, b, c] = endpoints
  try {
    const atB = collect(b)
    const atC = collect(c)
    await Promise.all([a.sendMany('B', sequence, reliable), a.broadcastMany(sequence, reliable)])
    t.true(await until(() => atB.unicast.length >= COUNT && atC.broadcast.length >= COUNT, 10_000))
    t.deepEqual(atB.unicast, sequence)
    t.deepEqual(atB.broadcast, sequence)
    t.deepEqual(atC.broadcast, sequence)
    t.deepEqual(atC.unicast, [])
    await t.throwsAsync(a.sendMany('nobody', ['x'], reliable), { instanceOf: UnknownPeerError })
    await t.throwsAsync(a.sendMany('B', ['x'], {} as never), { code: 'ERR_GLUE_INVALID_OPTION' })
    await a.sendMany('B', [], reliable)
  } finally {
    await Promise.all(endpoints.map((ep) => ep.close()))
  }
})

test('sendMany rejects with DeliveryError when its peer goes away, after the other batches settle', async (t) => {
  t.timeout(30_000)
  const endpoints = await openMesh(['A', 'B'], { announcePeriodMs: 100, expiryMultiplier: 3 })
  const [a, b] = endpoints
  try {
    await b.close()
    const err = await t.throwsAsync(a.sendMany('B', ['1', '2', '3'], { reliable: true, deadlineMs: 300 }))
    t.true(err instanceof Error && ['ERR_GLUE_DELIVERY', 'ERR_GLUE_UNKNOWN_PEER'].includes((err as { code?: string }).code ?? ''))
  } finally {
    await Promise.all(endpoints.map((ep) => ep.close()))
  }
})
