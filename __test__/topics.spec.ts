/**
 * Topics between real endpoints on loopback (the native addon): interest summaries in announcements, late joiners,
 * lifespans, no data for endpoints that do not subscribe, wildcards and types.
 */
import anyTest, { type ExecutionContext, type TestFn } from 'ava'

import { Endpoint, type StatusEvent, type TopicMessage, TopicTypeError } from '../index'
import { isNativeAvailable } from '../src/transport/native'
import { isolatedOptions, until } from './helpers/loopback'

const test = (isNativeAvailable() ? anyTest : anyTest.skip) as TestFn
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

test('a subscriber started 2 s after the publisher gets the last N at once; expired ones never', async (t) => {
  const base = isolatedOptions()
  const pub = await Endpoint.open({ ...base, name: 'pub' })
  const bystander = await Endpoint.open({ ...base, name: 'bystander' })
  try {
    for (let i = 1; i <= 10; i++) pub.publish('h/x', { i }, { codec: 'msgpack', depth: 4 })
    pub.publish('h/short', 'gone', { depth: 4, lifespanMs: 500 })
    await sleep(2000) // deliberate: the scenario (a subscriber 2 s late; 'h/short' outlived its 500 ms lifespan)
    const sub = await Endpoint.open({ ...base, name: 'sub' })
    try {
      const got: TopicMessage[] = []
      sub.subscribe('h/#', { callback: (m) => got.push(m) })
      t.true(await until(() => got.length >= 4))
      await pub.publish('h/x', { i: 11 }, { codec: 'msgpack', depth: 4, reliable: true })
      t.true(await until(() => got.length >= 5))
      await sleep(100) // deliberate: nothing more (no duplicate, nothing expired) arrives
      t.deepEqual(
        got.map((m) => [m.topic, m.seq, m.value, m.replayed, m.fromName]),
        [
          ['h/x', 7, { i: 7 }, true, 'pub'],
          ['h/x', 8, { i: 8 }, true, 'pub'],
          ['h/x', 9, { i: 9 }, true, 'pub'],
          ['h/x', 10, { i: 10 }, true, 'pub'],
          ['h/x', 11, { i: 11 }, false, 'pub'],
        ],
      )
      const stats = bystander.stats()
      t.is(stats.messagesReceived, 0, 'the bystander subscribes to nothing and received nothing')
    } finally {
      await sub.close()
    }
  } finally {
    await Promise.all([pub.close(), bystander.close()])
  }
})

test('subscribing changes the announced interest summary: peers see peer-changed at once', async (t) => {
  const base = isolatedOptions({ announcePeriodMs: 60_000 })
  const a = await Endpoint.open({ ...base, name: 'A' })
  const b = await Endpoint.open({ ...base, name: 'B' })
  try {
    t.true(await until(() => a.peers().length === 1 && b.peers().length === 1))
    const changes: StatusEvent[] = []
    a.onStatus((e) => changes.push(e))
    const sub = b.subscribe('s/+')
    // The period is a minute: only the re-announce burst can bring the change this fast.
    t.true(await until(() => changes.some((e) => e.type === 'peer-changed'), 3000))
    const changed = changes.find((e) => e.type === 'peer-changed')
    t.true(changed?.type === 'peer-changed' && changed.peer.extensions.has(0x10))
    t.deepEqual(
      changed?.type === 'peer-changed' ? [changed.peer.name, changed.previous.extensions.size] : [],
      ['B', 0],
    )
    const got: string[] = []
    sub.unsubscribe()
    b.subscribe('s/+', { callback: (m) => got.push(m.text()) }) // the same summary: A knows it already
    await a.publish('s/1', 'hello', { reliable: true })
    t.true(await until(() => got.length === 1))
    t.deepEqual(got, ['hello'])
  } finally {
    await Promise.all([a.close(), b.close()])
  }
})

/** Endpoints on one isolated loopback group that see each other; closed when the test ends. */
async function mesh(t: ExecutionContext, names: string[]): Promise<Endpoint[]> {
  const base = isolatedOptions()
  const eps: Endpoint[] = []
  t.teardown(() => Promise.all(eps.map((ep) => ep.close())))
  for (const name of names) eps.push(await Endpoint.open({ ...base, name }))
  if (!(await until(() => eps.every((ep) => ep.peers().length === names.length - 1)))) throw new Error('no mesh')
  return eps
}

/** Waits until `ep` sees an interest summary from each of `subscribers`. */
const interestSeen = (ep: Endpoint, subscribers: Endpoint[]) =>
  until(() => subscribers.every((s) => ep.peers().find((p) => p.id === s.id)?.extensions.has(0x10) === true))

test('wildcard table on real endpoints: each filter gets exactly the topics it matches', async (t) => {
  const [pub, sub] = await mesh(t, ['pub', 'sub'])
  const table: [string, string[]][] = [
    ['a/b', ['a/b']],
    ['a/+', ['a/b', 'a/c']],
    ['a/#', ['a', 'a/b', 'a/c', 'a/b/c']],
    ['+/+/c', ['a/b/c']],
    ['+', ['a', 'x']],
  ]
  const got = table.map(([filter]) => {
    const topics: string[] = []
    sub.subscribe(filter, { callback: (m) => topics.push(m.topic) })
    return topics
  })
  t.true(await interestSeen(pub, [sub]))
  for (const topic of ['a', 'a/b', 'a/c', 'a/b/c', 'x']) await pub.publish(topic, topic, { reliable: true })
  const total = table.reduce((sum, [, expected]) => sum + expected.length, 0)
  t.true(await until(() => got.flat().length >= total)) // acknowledged is not yet handed to JavaScript
  await sleep(50) // and nothing more arrives
  t.deepEqual(
    got,
    table.map(([, expected]) => expected),
  )
})

test('type mismatch on real endpoints: dropped and counted at the subscriber, an error at the publisher', async (t) => {
  const [a, b, sub] = await mesh(t, ['a', 'b', 'sub'])
  const temps: unknown[] = []
  sub.subscribe('room/+', { type: 'Temperature', callback: (m) => temps.push(m.value) })
  t.true(await interestSeen(a, [sub]))
  t.true(await interestSeen(b, [sub]))
  await b.publish('room/1', { db: 40 }, { codec: 'json', type: 'Noise', reliable: true })
  await a.publish('room/1', { c: 21 }, { codec: 'json', type: 'Temperature', reliable: true })
  t.true(await until(() => temps.length === 1))
  t.deepEqual(temps, [{ c: 21 }])
  t.is(sub.stats().topicTypeMismatch, 1)
  t.throws(() => a.publish('room/1', 'x', { type: 'Noise' }), { instanceOf: TopicTypeError })
})
