/**
 * Request/reply between real endpoints on loopback (the native addon): one and several repliers, local repliers,
 * error replies, no responder, timeouts, fail-over when a replier's endpoint goes away, abort, the concurrency bound,
 * wildcards, codecs, un-advertising, close, and hostile datagrams. No fixed waits: every wait has a deadline.
 */
import anyTest, { type ExecutionContext, type TestFn } from 'ava'

import {
  ClosedError,
  Endpoint,
  type EndpointOptions,
  NoResponderError,
  ReplyError,
  type StatusEvent,
  TimeoutError,
  type TopicMessage,
} from '../index'
import { TOPIC_ENVELOPE } from '../src/topics/envelope'
import { encodeReply, encodeRequest, ReplyFlag } from '../src/topics/wire-reqrep'
import { isNativeAvailable } from '../src/transport/native'
import * as forge from './helpers/forge'
import { isolatedOptions, until } from './helpers/loopback'

const test = (isNativeAvailable() ? anyTest : anyTest.skip) as TestFn
/** How long any awaited event may take on a loaded machine (a deadline, not a wait). */
const DEADLINE = 20_000

/**
 * Opens endpoints on one private group; all are closed in the teardown. `open(names)` waits until all know all.
 * Peers expire after 3 s of silence (not 300 ms): a loaded machine that stalls an event loop for a moment must not
 * make peers go down and up in the middle of a test (a closed endpoint says BYE, so nothing waits for that expiry).
 */
function network(t: ExecutionContext, options: EndpointOptions = {}) {
  const base = isolatedOptions({ expiryMultiplier: 30, ...options })
  const opened: Endpoint[] = []
  t.teardown(() => Promise.all(opened.map((ep) => ep.close())))
  const open = async (...names: string[]): Promise<Endpoint[]> => {
    const eps = await Promise.all(names.map((name) => Endpoint.open({ ...base, name })))
    opened.push(...eps)
    const all = opened.filter((ep) => !ep.closed)
    if (!(await until(() => all.every((ep) => ep.peers().length === all.length - 1), DEADLINE))) throw new Error('no discovery')
    return eps
  }
  return { base, open }
}

/** Resolves once `ep` sees `peer` with (`present`) or without a replier summary (announcement extension 0x11). */
function waitForRepliers(ep: Endpoint, peer: Endpoint, present: boolean, timeoutMs = DEADLINE): Promise<void> {
  const has = () => ep.peers().find((p) => p.id === peer.id)?.extensions.has(0x11) === present
  return until(has, timeoutMs).then((ok) => {
    if (!ok) throw new Error(`${ep.name} never saw ${peer.name}'s replier summary ${present ? 'appear' : 'go'}`)
  })
}

/** A promise and its resolve function. */
function latch<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

test('one replier answers a request with a TopicMessage', async (t) => {
  const [a, b] = await network(t).open('A', 'B')
  const replier = a.reply('svc/echo', (req) => ({ got: req.value, from: req.fromName, topic: req.topic }), { codec: 'json' })
  await waitForRepliers(b, a, true)
  const reply = await b.request<{ got: unknown; from: string }>('svc/echo', { n: 1 }, { codec: 'json' })
  t.deepEqual(reply.value, { got: { n: 1 }, from: 'B', topic: 'svc/echo' })
  t.is(reply.topic, 'svc/echo')
  t.is(reply.fromName, 'A')
  t.is(reply.from, a.id)
  t.is(reply.codec, 1)
  t.is(a.stats().requestsAnswered, 1)
  t.is(b.stats().requestReplies, 1)
  t.is(b.stats().requestsSent, 1)
  t.false(replier.closed)
})

test('several repliers: request() goes round robin, requestAll() gets every reply and ends early', async (t) => {
  const [q, r1, r2] = await network(t).open('Q', 'R1', 'R2')
  const counts = new Map<string, number>()
  for (const r of [r1, r2]) {
    r.reply('lb/+', (req) => {
      counts.set(r.name, (counts.get(r.name) ?? 0) + 1)
      return `${r.name}:${req.text()}`
    })
  }
  await Promise.all([waitForRepliers(q, r1, true), waitForRepliers(q, r2, true)])
  const answers: string[] = []
  for (let i = 0; i < 6; i++) answers.push((await q.request('lb/x', `${i}`)).text())
  t.deepEqual([...counts.entries()].sort(), [['R1', 3], ['R2', 3]], answers.join(' '))
  const all: TopicMessage[] = []
  // A minute of timeout: the loop ends because both answered, not because of it.
  for await (const m of q.requestAll('lb/y', 'hi', { timeoutMs: 60_000 })) all.push(m)
  t.deepEqual(all.map((m) => m.text()).sort(), ['R1:hi', 'R2:hi'])
  t.deepEqual(all.map((m) => m.fromName).sort(), ['R1', 'R2'])
})

test('a local replier answers requests of its own endpoint, and requestAll includes it', async (t) => {
  const [a, b] = await network(t).open('A', 'B')
  a.reply('local/q', (req) => `local:${req.text()}`)
  const reply = await a.request('local/q', 'x')
  t.is(reply.text(), 'local:x')
  t.is(reply.from, a.id)
  t.is(reply.fromName, 'A')
  b.reply('local/q', (req) => `remote:${req.text()}`)
  await waitForRepliers(a, b, true)
  const texts: string[] = []
  for await (const m of a.requestAll('local/q', 'y', { timeoutMs: 60_000 })) texts.push(m.text())
  t.deepEqual(texts.sort(), ['local:y', 'remote:y'])
})

test('a replier that throws rejects the request with ReplyError carrying its message', async (t) => {
  const [a, b] = await network(t).open('A', 'B')
  a.reply('err/x', () => {
    throw new Error('boom: no such key')
  })
  a.reply('err/async', async () => Promise.reject(new RangeError('late boom')))
  await waitForRepliers(b, a, true)
  const err = await t.throwsAsync(b.request('err/x', 'k'), { instanceOf: ReplyError })
  t.is(err?.code, 'ERR_GLUE_REPLY')
  t.is(err?.remoteMessage, 'boom: no such key')
  t.is(err?.peer.name, 'A')
  t.is(err?.peer.id, a.id)
  t.false(err?.busy)
  t.regex(err?.message ?? '', /A .* on topic "err\/x" failed: boom: no such key/)
  const late = await t.throwsAsync(b.request('err/async', 'k'), { instanceOf: ReplyError })
  t.is(late?.remoteMessage, 'late boom')
  t.is(a.stats().requestErrors, 2)
  // requestAll: the only replier failed, so the iteration ends by throwing its error.
  await t.throwsAsync(async () => {
    for await (const _ of b.requestAll('err/x', 'k')) t.fail('no value expected')
  }, { instanceOf: ReplyError })
})

test('no replier known: NoResponderError at once (request and requestAll)', async (t) => {
  const [a] = await network(t).open('A', 'B')
  // A minute of timeout: the rejection comes without waiting for it.
  const err = await t.throwsAsync(a.request('nobody/home', 'x', { timeoutMs: 60_000 }), { instanceOf: NoResponderError })
  t.is(err?.code, 'ERR_GLUE_NO_RESPONDER')
  t.is(err?.topic, 'nobody/home')
  await t.throwsAsync(async () => {
    for await (const _ of a.requestAll('nobody/home', 'x', { timeoutMs: 60_000 })) t.fail()
  }, { instanceOf: NoResponderError })
  t.is(a.stats().requestsSent, 0)
})

test('a replier that never answers: TimeoutError naming it', async (t) => {
  const [a, b] = await network(t).open('A', 'B')
  a.reply('slow/x', () => new Promise(() => {}))
  await waitForRepliers(b, a, true)
  const err = await t.throwsAsync(b.request('slow/x', 'x', { timeoutMs: 300 }), { instanceOf: TimeoutError })
  t.is(err?.code, 'ERR_GLUE_TIMEOUT')
  t.deepEqual(err?.pending.map((p) => p.name), ['A'])
  t.is(b.stats().requestTimeouts, 1)
  // requestAll ends quietly at its timeout with what it got (nothing).
  const got: TopicMessage[] = []
  for await (const m of b.requestAll('slow/x', 'x', { timeoutMs: 300 })) got.push(m)
  t.is(got.length, 0)
})

test("a replier's endpoint closes mid-request: another replier answers; with none left, NoResponderError", async (t) => {
  const [q, r1, r2] = await network(t).open('Q', 'R1', 'R2')
  const asked = latch()
  r1.reply('fo/x', () => {
    asked.resolve()
    return new Promise(() => {})
  })
  await waitForRepliers(q, r1, true)
  const pending = q.request('fo/x', 'x', { timeoutMs: 30_000 })
  await asked.promise
  r2.reply('fo/x', () => 'from R2')
  await waitForRepliers(q, r2, true)
  await r1.close()
  const reply = await pending
  t.is(reply.fromName, 'R2')
  t.is(reply.text(), 'from R2')
  t.true(q.stats().requestFailovers >= 1)

  // Now R2 alone, and it goes away while its handler runs: a clear error, long before the timeout.
  const asked2 = latch()
  const summary = () => q.peers().find((p) => p.id === r2.id)?.extensions.get(0x11)?.toString('hex')
  const old = summary()
  r2.reply('fo/y', () => {
    asked2.resolve()
    return new Promise(() => {})
  })
  t.true(await until(() => summary() !== old, DEADLINE), "Q sees R2's new replier summary")
  const before = q.stats().requestsSent
  const pending2 = q.request('fo/y', 'y', { timeoutMs: 30_000 })
  await asked2.promise
  t.true(q.stats().requestsSent > before)
  await r2.close()
  const err = await t.throwsAsync(pending2, { instanceOf: NoResponderError })
  t.regex(err?.message ?? '', /had none or went away/)
})

test('an AbortSignal rejects a pending request with its reason', async (t) => {
  const [a, b] = await network(t).open('A', 'B')
  const asked = latch()
  a.reply('ab/x', () => {
    asked.resolve()
    return new Promise(() => {})
  })
  await waitForRepliers(b, a, true)
  const controller = new AbortController()
  const pending = b.request('ab/x', 'x', { timeoutMs: 30_000, signal: controller.signal })
  await asked.promise
  controller.abort(new Error('user gave up'))
  await t.throwsAsync(pending, { message: 'user gave up' })
  await t.throwsAsync(b.request('ab/x', 'x', { signal: AbortSignal.abort(new Error('already')) }), { message: 'already' })
})

test('the concurrency bound: at most N handler calls at once, a bounded queue, then busy refusals', async (t) => {
  const [a, b] = await network(t).open('A', 'B')
  let running = 0
  let most = 0
  const gates: (() => void)[] = []
  a.reply(
    'cc/x',
    async (req) => {
      running++
      most = Math.max(most, running)
      await new Promise<void>((resolve) => gates.push(resolve))
      running--
      return req.text()
    },
    { concurrency: 2, queueLimit: 1 },
  )
  await waitForRepliers(b, a, true)
  const requests = [0, 1, 2].map((i) => b.request('cc/x', `${i}`, { timeoutMs: 30_000 }))
  t.true(await until(() => gates.length === 2 && a.stats().requestsReceived === 3, DEADLINE), 'two run, one waits')
  const refused = await t.throwsAsync(b.request('cc/x', '3', { timeoutMs: 30_000 }), { instanceOf: ReplyError })
  t.true(refused?.busy)
  t.is(a.stats().requestsRefused, 1)
  let finished = false
  const done = Promise.all(requests).finally(() => (finished = true))
  // Open the gates one by one (each poll) until every accepted request was answered, the queued one included.
  t.true(await until(() => (gates.shift()?.(), finished), DEADLINE))
  t.deepEqual((await done).map((m) => m.text()), ['0', '1', '2'])
  t.is(most, 2)
})

test('wildcard filters: + and # match as for subscriptions', async (t) => {
  const [a, b] = await network(t).open('A', 'B')
  a.reply('w/+/get', (req) => `plus:${req.topic}`)
  a.reply('deep/#', (req) => `hash:${req.topic}`)
  await waitForRepliers(b, a, true)
  t.is((await b.request('w/kitchen/get', '')).text(), 'plus:w/kitchen/get')
  t.is((await b.request('deep/a/b/c', '')).text(), 'hash:deep/a/b/c')
  t.is((await b.request('deep', '')).text(), 'hash:deep')
  await t.throwsAsync(b.request('w/kitchen/set', '', { timeoutMs: 30_000 }), { instanceOf: NoResponderError })
  await t.throwsAsync(b.request('w/a/b/get', '', { timeoutMs: 30_000 }), { instanceOf: NoResponderError })
})

test('codecs: json, msgpack and raw requests; the reply codec defaults to the request one', async (t) => {
  const [a, b] = await network(t).open('A', 'B')
  a.reply('c/echo', (req) => req.value)
  a.reply('c/mp', (req) => ({ doubled: (req.value as { n: number }).n * 2 }), { codec: 'msgpack' })
  a.reply('c/bad', () => ({ n: 1n }), { codec: 'json' })
  a.reply('c/ack', () => {})
  await waitForRepliers(b, a, true)
  const json = await b.request('c/echo', { a: [1, 'two'] }, { codec: 'json' })
  t.deepEqual([json.codec, json.value], [1, { a: [1, 'two'] }])
  const mp = await b.request('c/echo', { big: 2n ** 40n, bin: Buffer.from([1, 2]) }, { codec: 'msgpack' })
  t.is(mp.codec, 2)
  t.deepEqual((mp.value as { big: bigint }).big, 2n ** 40n)
  const raw = await b.request('c/echo', Buffer.from([0, 255, 7]))
  t.is(raw.codec, 0)
  t.deepEqual([...(raw.value as Buffer)], [0, 255, 7])
  const doubled = await b.request('c/mp', { n: 21 }, { codec: 'json' })
  t.deepEqual([doubled.codec, doubled.value], [2, { doubled: 42 }])
  // A handler that returns nothing acknowledges with an empty raw reply.
  const ack = await b.request('c/ack', { x: 1 }, { codec: 'json' })
  t.deepEqual([ack.codec, ack.payload.length], [0, 0])
  // A value the reply codec cannot encode is an error reply, not a crash.
  await t.throwsAsync(b.request('c/bad', '', { timeoutMs: 30_000 }), { instanceOf: ReplyError })
})

test('closing a replier handle stops it and un-advertises it; await using closes it too', async (t) => {
  const [a, b] = await network(t).open('A', 'B')
  const changes: StatusEvent[] = []
  b.onStatus((e) => changes.push(e))
  {
    await using replier = a.reply('un/x', () => 'yes')
    await waitForRepliers(b, a, true)
    t.is((await b.request('un/x', '')).text(), 'yes')
    t.false(replier.closed)
  }
  // Closed: A answers "none" at once even before its summary changed, and then B knows without asking.
  await t.throwsAsync(b.request('un/x', '', { timeoutMs: 30_000 }), { instanceOf: NoResponderError })
  await waitForRepliers(b, a, false)
  const sent = b.stats().requestsSent
  await t.throwsAsync(b.request('un/x', '', { timeoutMs: 30_000 }), { instanceOf: NoResponderError })
  t.is(b.stats().requestsSent, sent, 'nothing sent once the replier is un-advertised')
  const replier = a.reply('un/y', () => 'y')
  await replier.close()
  t.true(replier.closed)
  const controller = new AbortController()
  const bySignal = a.reply('un/z', () => 'z', { signal: controller.signal })
  t.is((await a.request('un/z', '')).text(), 'z')
  controller.abort()
  t.true(bySignal.closed)
  await t.throwsAsync(a.request('un/z', ''), { instanceOf: NoResponderError })
  await t.throwsAsync(a.request('un/y', ''), { instanceOf: NoResponderError })
})

test('close() rejects pending requests with ClosedError and closes the repliers', async (t) => {
  const { open } = network(t)
  const [a, b] = await open('A', 'B')
  const asked = latch()
  a.reply('cl/x', () => {
    asked.resolve()
    return new Promise(() => {})
  })
  const own = b.reply('cl/own', () => 'x')
  await waitForRepliers(b, a, true)
  const pending = b.request('cl/x', '', { timeoutMs: 30_000 })
  const all = b.requestAll('cl/x', '', { timeoutMs: 30_000 })
  await asked.promise
  await b.close()
  await t.throwsAsync(pending, { instanceOf: ClosedError })
  await t.throwsAsync(all.next(), { instanceOf: ClosedError })
  t.true(own.closed)
  await t.throwsAsync(b.request('cl/x', ''), { instanceOf: ClosedError })
  t.throws(() => b.reply('cl/z', () => 1), { instanceOf: ClosedError })
})

test('bad options and names are refused with named errors', async (t) => {
  const [a] = await network(t).open('A')
  await t.throwsAsync(a.request('bad/#', 'x'), { code: 'ERR_GLUE_INVALID_TOPIC' })
  await t.throwsAsync(a.request('x', 'x', { timeoutMs: 0 }), { code: 'ERR_GLUE_INVALID_OPTION' })
  await t.throwsAsync(a.request('x', 'x', { timeoutMs: 2 ** 31 }), { code: 'ERR_GLUE_INVALID_OPTION', message: /timeoutMs/ })
  await t.throwsAsync(a.request('x', 'x', { codec: 'yaml' as never }), { code: 'ERR_GLUE_INVALID_OPTION' })
  t.throws(() => a.reply('bad/#/x', () => 1), { code: 'ERR_GLUE_INVALID_TOPIC' })
  t.throws(() => a.reply('x', () => 1, { concurrency: 0 }), { code: 'ERR_GLUE_INVALID_OPTION' })
  t.throws(() => a.reply('x', 'not a function' as never), { instanceOf: TypeError })
})

test('hostile datagrams: forged and best-effort REQUEST/REPLY are dropped and counted; the replier goes on', async (t) => {
  const { base, open } = network(t)
  const [a, b] = await open('A', 'B')
  a.reply('h/x', (req) => `ok:${req.text()}`)
  await waitForRepliers(b, a, true)
  const attacker = await forge.Attacker.open()
  t.teardown(() => attacker.close())
  const networkId = base.networkId as number
  const request = encodeRequest({ id: '0123456789abcdef', codec: 0, timeoutMs: 1000, topic: 'h/x', payload: Buffer.from('evil') }, TOPIC_ENVELOPE)
  const reply = encodeReply({ id: 'fedcba9876543210', flags: 0, codec: 0, payload: Buffer.from('forged') }, TOPIC_ENVELOPE)
  const error = encodeReply({ id: 'fedcba9876543210', flags: ReplyFlag.ERROR, codec: 0, payload: Buffer.from('x') }, TOPIC_ENVELOPE)
  const garbage = [
    Buffer.concat([TOPIC_ENVELOPE, Buffer.from([1, 6, 0, 0, 1, 2, 3])]), // truncated REQUEST
    Buffer.concat([TOPIC_ENVELOPE, Buffer.from([1, 7, 9, 0, 1, 2, 3, 4, 5, 6, 7, 8])]), // REPLY with unknown flags
    Buffer.concat([request.subarray(0, 14), Buffer.from([0, 0, 0, 0]), request.subarray(18)]), // timeout 0
  ]
  const malformedBefore = a.stats().topicMalformed + b.stats().topicMalformed
  const datagrams = [request, reply, error, ...garbage]
  for (let i = 0; i < datagrams.length; i++) {
    // As B to A and as A to B, best effort (DATA): request/reply travel reliably only.
    await attacker.send(a.address, forge.datagram(networkId, b.id, forge.data(1000 + i, datagrams[i])))
    await attacker.send(b.address, forge.datagram(networkId, a.id, forge.data(2000 + i, datagrams[i])))
  }
  t.true(
    await until(() => a.stats().topicMalformed + b.stats().topicMalformed - malformedBefore >= 2 * datagrams.length, DEADLINE),
    `dropped and counted: ${a.stats().topicMalformed + b.stats().topicMalformed - malformedBefore}`,
  )
  t.is(a.stats().requestsReceived, 0, 'the forged request never reached the handler')
  t.is((await b.request('h/x', 'fine')).text(), 'ok:fine')
})

/** Tracks whether a promise settled yet (without waiting for it). */
function settled(p: Promise<unknown>): () => boolean {
  let done = false
  p.then(
    () => (done = true),
    () => (done = true),
  )
  return () => done
}

/** Lets every pending promise callback and I/O callback run once. */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

test('waitForRepliers: pending until a replier appears on another endpoint, then at once; records like subscribers()', async (t) => {
  const [q, r] = await network(t).open('Q', 'R')
  const pending = q.waitForRepliers('calc/add', { timeoutMs: DEADLINE })
  const done = settled(pending)
  await t.throwsAsync(q.waitForRepliers('calc/add', { timeoutMs: 0 }), { instanceOf: TimeoutError }, 'none known yet')
  t.false(done())
  t.deepEqual(q.repliers('calc/add'), [])
  r.reply('calc/+', (req) => req.value, { codec: 'json' })
  const list = await pending
  const record = { id: r.id, name: 'R', address: r.address, local: false }
  t.deepEqual(list, [record])
  t.deepEqual(q.repliers('calc/add'), [record])
  t.deepEqual(q.repliers('calc/sub'), [record], 'the wildcard filter matches')
  t.deepEqual(q.repliers('other/add'), [])
  // Known now: resolves at once (timeoutMs 0 would reject otherwise), and the request finds the replier.
  t.deepEqual(await q.waitForRepliers('calc/add', { timeoutMs: 0 }), [record])
  t.deepEqual((await q.request('calc/add', 3, { codec: 'json' })).value, 3)
})

test('waitForRepliers min 2 waits for the second endpoint; a closed replier leaves repliers() and a new one wakes the wait', async (t) => {
  const [q, r1, r2] = await network(t).open('Q', 'R1', 'R2')
  const two = q.waitForRepliers('m/x', { min: 2, timeoutMs: DEADLINE })
  const done = settled(two)
  const first = r1.reply('m/x', () => 1)
  t.deepEqual(
    (await q.waitForRepliers('m/x')).map((p) => p.id),
    [r1.id],
  )
  await tick()
  t.false(done(), 'one replier is not two')
  r2.reply('m/#', () => 2)
  const both = await two
  t.deepEqual(new Set(both.map((p) => p.id)), new Set([r1.id, r2.id]))
  t.true(both.every((p) => !p.local))

  await first.close()
  t.true(await until(() => q.repliers('m/x').length === 1, DEADLINE), "Q sees R1's replier go")
  t.deepEqual(q.repliers('m/x'), [{ id: r2.id, name: 'R2', address: r2.address, local: false }])
  const again = q.waitForRepliers('m/x', { min: 2, timeoutMs: DEADLINE })
  const againDone = settled(again)
  await tick()
  t.false(againDone())
  r1.reply('m/+', () => 3)
  t.is((await again).length, 2)
})

test('waitForRepliers: timeout, abort, close and bad arguments', async (t) => {
  const [q] = await network(t).open('Q')
  const err = await t.throwsAsync(q.waitForRepliers('none/x', { timeoutMs: 30 }), { instanceOf: TimeoutError })
  t.is(err?.code, 'ERR_GLUE_TIMEOUT')
  t.regex(err?.message ?? '', /fewer than 1 replier of topic "none\/x" within 30 ms \(0 matched\)/)
  await t.throwsAsync(q.waitForRepliers('none/x', { min: 3, timeoutMs: 0 }), { message: /fewer than 3 repliers/ })

  const controller = new AbortController()
  const aborted = q.waitForRepliers('none/x', { timeoutMs: Infinity, signal: controller.signal })
  const reason = new Error('stop waiting')
  controller.abort(reason)
  t.is(await t.throwsAsync(aborted), reason)
  t.is(await t.throwsAsync(q.waitForRepliers('none/x', { signal: controller.signal })), reason, 'an aborted signal rejects at once')

  await t.throwsAsync(q.waitForRepliers('a/+'), { code: 'ERR_GLUE_INVALID_TOPIC' })
  await t.throwsAsync(q.waitForRepliers('a/x', { min: 0 }), { code: 'ERR_GLUE_INVALID_OPTION', message: /min/ })
  await t.throwsAsync(q.waitForRepliers('a/x', { timeoutMs: -1 }), { code: 'ERR_GLUE_INVALID_OPTION', message: /timeoutMs/ })
  await t.throwsAsync(q.waitForRepliers('a/x', { signal: 'no' as never }), { code: 'ERR_GLUE_INVALID_OPTION', message: /signal/ })
  t.throws(() => q.repliers('a/x', { local: 'yes' as never }), { code: 'ERR_GLUE_INVALID_OPTION', message: /local/ })
  t.throws(() => q.repliers('a/#'), { code: 'ERR_GLUE_INVALID_TOPIC' })

  const pending = q.waitForRepliers('none/x', { timeoutMs: Infinity })
  await q.close()
  await t.throwsAsync(pending, { instanceOf: ClosedError })
  await t.throwsAsync(q.waitForRepliers('none/x'), { instanceOf: ClosedError })
})

test("waitForRepliers local: true counts this endpoint's own repliers; reply() wakes it, close() removes it", async (t) => {
  const [a] = await network(t).open('A')
  const local = a.waitForRepliers('l/x', { local: true, timeoutMs: DEADLINE })
  const self = { id: a.id, name: 'A', address: a.address, local: true }
  const replier = a.reply('l/+', () => 'ok')
  t.deepEqual(await local, [self])
  t.deepEqual(a.repliers('l/x', { local: true }), [self])
  t.deepEqual(a.repliers('l/x'), [], 'own repliers are listed only with local: true')
  await t.throwsAsync(a.waitForRepliers('l/x', { timeoutMs: 0 }), { instanceOf: TimeoutError }, 'nor counted without it')
  t.deepEqual(await a.waitForRepliers('l/x', { local: true, timeoutMs: 0 }), [self], 'at once when met')
  await replier.close()
  t.deepEqual(a.repliers('l/x', { local: true }), [])
  const again = a.waitForRepliers('l/x', { local: true, timeoutMs: DEADLINE })
  const done = settled(again)
  await tick()
  t.false(done())
  a.reply('l/x', () => 'again')
  t.deepEqual(await again, [self])
})
