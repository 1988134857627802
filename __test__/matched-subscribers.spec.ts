/**
 * Matched subscribers (DDS publication-matched) between real endpoints on loopback: `subscribers()`,
 * `waitForSubscribers()` and the 'subscribers-changed' status event; and the tracker's bound, with a fake host.
 */
import anyTest, { type ExecutionContext, type TestFn } from 'ava'

import { ClosedError, Endpoint, type EndpointOptions, InvalidOptionError, type StatusEvent, TimeoutError, TopicError } from '../index'
import type { Peer } from '../src/discovery/peer-table'
import { MatchedEndpoints, type SubscribersChangedEvent } from '../src/topics/matched-endpoints'
import { isNativeAvailable } from '../src/transport/native'
import { isolatedOptions, until } from './helpers/loopback'

const test = (isNativeAvailable() ? anyTest : anyTest.skip) as TestFn
/** Generous: the machine may be loaded (the waits end as soon as the condition holds). */
const WAIT = { timeoutMs: 20_000 }

/** Opens endpoints on one isolated group; every one is closed in the test's teardown. */
function opener(t: ExecutionContext, overrides: EndpointOptions = {}) {
  const base = isolatedOptions(overrides)
  const eps: Endpoint[] = []
  t.teardown(() => Promise.all(eps.map((ep) => ep.close())))
  return async (name: string): Promise<Endpoint> => {
    const ep = await Endpoint.open({ ...base, name })
    eps.push(ep)
    return ep
  }
}

/** The 'subscribers-changed' events `ep` emits from now on. */
function changes(t: ExecutionContext, ep: Endpoint): SubscribersChangedEvent[] {
  const seen: SubscribersChangedEvent[] = []
  t.teardown(ep.onStatus((e: StatusEvent) => void (e.type === 'subscribers-changed' && seen.push(e))))
  return seen
}

/** A promise's state, without waiting for it. */
function state(promise: Promise<unknown>): { settled: boolean } {
  const s = { settled: false }
  promise.then(
    () => (s.settled = true),
    () => (s.settled = true),
  )
  return s
}

const names = (list: readonly { name: string }[]) => list.map((s) => s.name).sort()

test('subscribers() is empty, then lists a remote subscriber once its interest arrives; local only when asked', async (t) => {
  const open = opener(t)
  const a = await open('A')
  const b = await open('B')
  t.true(await until(() => a.peers().length === 1 && b.peers().length === 1))
  t.deepEqual(a.subscribers('m/x'), [])
  b.subscribe('m/x')
  const list = await a.waitForSubscribers('m/x', WAIT)
  t.deepEqual(list, [{ id: b.id, name: 'B', address: b.address, local: false }])
  t.deepEqual(a.subscribers('m/x'), list)
  t.deepEqual(a.subscribers('m/y'), [])
  // Own subscriptions: not counted by default, listed first with `local: true`.
  a.subscribe('m/#')
  t.deepEqual(names(a.subscribers('m/x')), ['B'])
  t.deepEqual(a.subscribers('m/x', { local: true }), [{ id: a.id, name: 'A', address: a.address, local: true }, list[0]])
  t.deepEqual(a.subscribers('m/y', { local: true }).map((s) => s.local), [true])
  await b.waitForSubscribers('m/x', WAIT) // A's new interest reaches B
  t.deepEqual(b.subscribers('m/x', { local: true }).map((s) => [s.name, s.local]), [['B', true], ['A', false]])
})

test('wildcard filters match; unsubscribing and leaving remove the endpoint', async (t) => {
  const open = opener(t)
  const a = await open('A')
  const b = await open('B')
  const c = await open('C')
  const seen = changes(t, a)
  const plus = b.subscribe('sensors/+/temp')
  c.subscribe('sensors/#')
  t.deepEqual(names(await a.waitForSubscribers('sensors/k/temp', { ...WAIT, min: 2 })), ['B', 'C'])
  t.deepEqual(names(a.subscribers('sensors/k/hum')), ['C'])
  t.deepEqual(names(a.subscribers('sensors')), ['C'], '# also matches its parent level')
  t.deepEqual(a.subscribers('other/k/temp'), [])
  // The waited topic is tracked: its changes are events.
  plus.unsubscribe()
  t.true(await until(() => seen.some((e) => e.removed.some((r) => r.name === 'B')), WAIT.timeoutMs))
  t.deepEqual(names(a.subscribers('sensors/k/temp')), ['C'])
  await c.close()
  t.true(await until(() => seen.some((e) => e.removed.some((r) => r.name === 'C')), WAIT.timeoutMs))
  t.deepEqual(a.subscribers('sensors/k/temp'), [])
  t.deepEqual(a.subscribers('sensors/k/hum'), [])
})

test('waitForSubscribers: at once when met, min > 1 waits for the second, timeout, abort, close, bad arguments', async (t) => {
  const open = opener(t)
  const a = await open('A')
  // Already met (own subscription with `local`): resolves without any network.
  a.subscribe('w/self')
  t.deepEqual(names(await a.waitForSubscribers('w/self', { local: true, timeoutMs: 0 })), ['A'])
  // A local subscription made while waiting settles a `local` wait.
  const later = a.waitForSubscribers('w/later', { local: true, ...WAIT })
  a.subscribe('w/+')
  t.deepEqual(names(await later), ['A'])

  const two = a.waitForSubscribers('w/x', { min: 2, ...WAIT })
  const twoState = state(two)
  const b = await open('B')
  b.subscribe('w/x')
  await a.waitForSubscribers('w/x', WAIT)
  await Promise.resolve()
  t.false(twoState.settled, 'one subscriber is not two')
  const c = await open('C')
  c.subscribe('w/#')
  t.deepEqual(names(await two), ['B', 'C'])

  const timedOut = await t.throwsAsync(a.waitForSubscribers('z/nobody', { timeoutMs: 50 }), { instanceOf: TimeoutError })
  t.is(timedOut?.code, 'ERR_GLUE_TIMEOUT')
  t.regex(timedOut?.message ?? '', /fewer than 1 subscriber of topic "z\/nobody" within 50 ms \(0 matched\)/)

  const abort = new AbortController()
  const aborted = a.waitForSubscribers('z/nobody', { signal: abort.signal, timeoutMs: Infinity })
  abort.abort(new Error('stop'))
  await t.throwsAsync(aborted, { message: 'stop' })
  await t.throwsAsync(a.waitForSubscribers('z/nobody', { signal: AbortSignal.abort(new Error('early')) }), { message: 'early' })

  const bad = await t.throwsAsync(a.waitForSubscribers('w/+'), { instanceOf: TopicError })
  t.is((bad as TopicError).field, 'topic')
  t.throws(() => a.subscribers('$glue/x'), { instanceOf: TopicError })
  const min = await t.throwsAsync(a.waitForSubscribers('w/x', { min: 0 }), { instanceOf: InvalidOptionError })
  t.is(min?.option, 'min')
  const timeout = await t.throwsAsync(a.waitForSubscribers('w/x', { timeoutMs: -1 }), { instanceOf: InvalidOptionError })
  t.is(timeout?.option, 'timeoutMs')
  t.throws(() => a.subscribers('w/x', { local: 'yes' as never }), { instanceOf: InvalidOptionError, message: /local/ })

  const pending = a.waitForSubscribers('z/nobody', { timeoutMs: Infinity })
  void a.close()
  await t.throwsAsync(pending, { instanceOf: ClosedError })
  await t.throwsAsync(a.waitForSubscribers('w/x'), { instanceOf: ClosedError })
})

test("'subscribers-changed' reports added and removed for the topics this endpoint published on", async (t) => {
  const open = opener(t)
  const a = await open('A')
  const seen = changes(t, a)
  a.publish('ev/tracked', 'nobody yet')
  const b = await open('B')
  const sub = b.subscribe('#')
  t.true(await until(() => seen.length >= 1, WAIT.timeoutMs))
  const peer = a.peers().find((p) => p.id === b.id) as Peer
  t.deepEqual(seen, [
    {
      type: 'subscribers-changed',
      peer,
      topic: 'ev/tracked',
      subscribers: 1,
      added: [{ id: b.id, name: 'B', address: b.address, local: false }],
      removed: [],
    },
  ])
  // Only tracked topics: B's '#' matches every topic, yet the events name only the published one.
  t.deepEqual([...new Set(seen.map((e) => e.topic))], ['ev/tracked'])
  sub.unsubscribe()
  t.true(await until(() => seen.length >= 2, WAIT.timeoutMs))
  t.like(seen[1], { topic: 'ev/tracked', subscribers: 0, added: [], removed: [{ id: b.id, name: 'B', local: false }] })
})

test('the issue: publish() right after peer-up reaches no one; after waitForSubscribers() it reaches the subscriber', async (t) => {
  const open = opener(t)
  const b = await open('B')
  const got: string[] = []
  b.subscribe('bug/x', { callback: (m) => got.push(m.text()) })
  const a = await open('A')
  // The bug: A has not heard B's interest yet, so this "succeeds" and reaches no one (nothing is kept for later).
  t.deepEqual(a.subscribers('bug/x'), [])
  t.true(a.publish('bug/x', 'lost'))
  const [first] = await a.waitForSubscribers('bug/x', WAIT)
  t.is(first?.name, 'B')
  t.true(a.publish('bug/x', 'reached'))
  t.true(await until(() => got.length === 1, WAIT.timeoutMs))
  t.deepEqual(got, ['reached'])
  await a.publish('bug/x', 'reliably', { reliable: true })
  t.true(await until(() => got.length === 2, WAIT.timeoutMs))
})

/** A fake host: peers with a fixed interest per topic prefix. */
function fakeHost(events: SubscribersChangedEvent[]) {
  const peers = new Map<string, Peer>()
  const wants = new Map<string, string>() // peer id -> topic prefix
  const peer = (id: string): Peer => ({ id, name: `n${id}`, address: '127.0.0.1:1', announcePeriodMs: 100, since: new Date(0), extensions: new Map() })
  const host = {
    noun: 'subscriber',
    listName: 'subscribers()',
    waitName: 'waitForSubscribers()',
    interested: (topic: string) => [...wants].filter(([, prefix]) => topic.startsWith(prefix)).map(([id]) => id),
    peerWants: (id: string, topic: string) => wants.get(id) !== undefined && topic.startsWith(wants.get(id) as string),
    peer: (id: string) => peers.get(id),
    wantsLocally: () => false,
    self: { id: 'self', name: 'self', address: '127.0.0.1:2' },
    emit: (e: SubscribersChangedEvent) => void events.push(e),
  }
  const up = (id: string, prefix: string): Peer => {
    const p = peer(id)
    peers.set(id, p)
    wants.set(id, prefix)
    return p
  }
  return { host, up }
}

anyTest('tracked topics are bounded: the least recently published go first, waited ones stay', async (t) => {
  const events: SubscribersChangedEvent[] = []
  const { host, up } = fakeHost(events)
  const m = new MatchedEndpoints(host, 4)
  t.teardown(() => m.close())
  const waiting = m.wait('t/waited', { timeoutMs: Infinity })
  for (let i = 0; i < 10; i++) m.published(`t/${i}`)
  t.is(m.trackedTopics, 4)
  m.published('t/9') // already tracked: no change
  t.is(m.trackedTopics, 4)
  m.peerEvent('peer-up', up('p1', 't/'))
  // The waited topic and the 3 most recent published ones.
  t.deepEqual(events.map((e) => e.topic).sort(), ['t/7', 't/8', 't/9', 't/waited'])
  t.deepEqual(names(await waiting), ['np1'])
  t.true(events.every((e) => e.subscribers === 1 && e.added.length === 1 && e.removed.length === 0))
  events.length = 0
  m.peerEvent('peer-changed', up('p1', 'nothing/'))
  t.is(events.length, 4)
  t.true(events.every((e) => e.subscribers === 0 && e.removed[0]?.id === 'p1'))
  events.length = 0
  m.peerEvent('peer-down', up('p2', 't/'))
  t.is(events.length, 0, 'a peer that goes down was never a member')
})
