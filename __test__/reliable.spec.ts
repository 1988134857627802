/**
 * Unit tests of reliable sends through the public Endpoint, on the fake transport: promises and tokens, the
 * delivery reports, JavaScript-side flow control, flush and close.
 */
import test, { type ExecutionContext } from 'ava'

import {
  BackpressureError,
  ClosedError,
  DeliveryError,
  Endpoint,
  type EndpointOptions,
  InvalidOptionError,
  type Message,
  MessageTooLargeError,
  resolveOptions,
  UnknownPeerError,
} from '../index'
import { ReliableSender, SLAB_INLINE_MAX_BYTES } from '../src/transport/reliable-sender'
import { BatchBuilder, fakeOpen, FakeNetwork, FakeTransport, nativeError } from './helpers/fake-transport'
import { until } from './helpers/loopback'

const A = { id: 'aaaaaaaaaaaaaaaa', name: 'A' }
const B = { id: 'bbbbbbbbbbbbbbbb', name: 'B' }
const reliable = { reliable: true } as const

/** An endpoint on a fake transport that already sees peers A and B, closed in the test's teardown. */
async function openFake(t: ExecutionContext, options: EndpointOptions = {}) {
  const { open, transports } = fakeOpen()
  const ep = await Endpoint.openWith(open, { env: false, name: 'self', ...options })
  t.teardown(() => ep.close())
  const native = transports[0]
  native.deliver(new BatchBuilder().peerUp(A).peerUp(B).build())
  return { ep, native }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const texts = (native: FakeTransport) => native.reliable.map((s) => s.data.toString())

test('a reliable send hands the data over under a token and resolves on Delivered', async (t) => {
  const { ep, native } = await openFake(t)
  const bestEffort: boolean = ep.send('A', 'plain')
  t.true(bestEffort)
  const unicast: Promise<void> = ep.send('A', 'héllo', reliable)
  const broadcast: Promise<void> = ep.broadcast(Uint8Array.of(1, 2), { reliable: true, deadlineMs: 5000 })
  t.true(unicast instanceof Promise)
  await Promise.resolve() // reliable sends are handed over once per tick, in one slab
  t.is(native.slabs, 1)
  t.like(native.reliable[0], { peerId: A.id, token: 0, deadlineMs: undefined })
  t.is(native.reliable[0].data.toString(), 'héllo')
  t.like(native.reliable[1], { peerId: undefined, token: 1 })
  t.true((native.reliable[1].deadlineMs ?? 0) > 4900 && (native.reliable[1].deadlineMs ?? 0) <= 5000)
  t.is(native.sent.length, 1, 'the best-effort send took the best-effort path')
  await Promise.all([unicast, broadcast])
  t.is(ep.stats().reliableMessagesSent, 2, 'native counters pass through')
  await ep.close()
})

test('Failed rejects with DeliveryError naming the receivers, departed ones too', async (t) => {
  const { ep, native } = await openFake(t)
  native.reliableOutcome = 'hold'
  const unicast = ep.send('A', 'x', reliable)
  const broadcast = ep.broadcast('y', reliable)
  native.deliver(new BatchBuilder().peerDown(B, 'expired').build())
  native.report(0, { failed: [A.id] })
  native.report(1, { failed: [B.id, 'cccccccccccccccc'] })
  const err = await t.throwsAsync(unicast, { instanceOf: DeliveryError })
  t.is(err?.code, 'ERR_GLUE_DELIVERY')
  t.deepEqual(err?.missing, [{ id: A.id, name: 'A' }])
  t.regex(err?.message ?? '', /A \(aaaaaaaaaaaaaaaa\)/)
  const err2 = await t.throwsAsync(broadcast, { instanceOf: DeliveryError })
  t.deepEqual(err2?.missing, [
    { id: B.id, name: 'B' },
    { id: 'cccccccccccccccc', name: '' },
  ])
  await ep.close()
})

test('Refused reports become the named errors', async (t) => {
  const { ep, native } = await openFake(t)
  const reasons = [1, 3, 4, 99]
  native.reliableOutcome = (send) => ({ refused: reasons[send.token] })
  await t.throwsAsync(ep.send('A', 'x', reliable), { instanceOf: UnknownPeerError, message: /A \(a+\)/ })
  await t.throwsAsync(ep.send('A', 'x', reliable), { instanceOf: MessageTooLargeError })
  await t.throwsAsync(ep.broadcast('x', reliable), { instanceOf: ClosedError })
  await t.throwsAsync(ep.broadcast('x', reliable), { instanceOf: BackpressureError })
  await ep.close()
})

test('refused for a full channel: offered again under a new token, then delivered', async (t) => {
  const { ep, native } = await openFake(t)
  let calls = 0
  native.reliableOutcome = () => (calls++ === 0 ? { refused: 2 } : 'delivered')
  await ep.send('B', 'again', reliable)
  t.deepEqual(texts(native), ['again', 'again'])
  t.not(native.reliable[0].token, native.reliable[1].token)
  t.true((native.reliable[1].deadlineMs ?? 0) > 0, 'the remaining time is passed on')
  t.is(ep.stats().reliableMessagesDeferred, 1)
  await ep.close()
})

test('refused for a full channel after the caller reused its buffer: offered again with the bytes it sent', async (t) => {
  const { ep, native } = await openFake(t)
  native.reliableOutcome = 'hold'
  const reused = Buffer.from('first bytes')
  const small = ep.send('B', reused, reliable)
  const large = Buffer.alloc(SLAB_INLINE_MAX_BYTES + 1, 'a') // handed over in a call of its own
  const big = ep.send('B', large, reliable)
  reused.write('XXXXX') // the caller may reuse its buffer once send() returned
  large.fill('b')
  await until(() => native.reliable.length === 2)
  native.reliableOutcome = 'delivered'
  native.report(native.reliable[0].token, { refused: 2 }) // the core hands its copy back with the refusal
  native.report(native.reliable[1].token, { refused: 2 })
  await Promise.all([small, big])
  t.deepEqual(
    native.reliable.slice(2).map((s) => s.data.toString().slice(0, 11)),
    ['first bytes', 'a'.repeat(11)],
    'the bytes of the send, not of the reused buffer',
  )
  t.is(ep.stats().reliableMessagesDeferred, 2)
  await ep.close()
})

test('refused for a full channel with no copy back: BackpressureError, never the reused buffer', async (t) => {
  const { ep, native } = await openFake(t)
  native.reliableOutcome = 'hold'
  const reused = Buffer.from('first bytes')
  const sent = ep.send('B', reused, reliable)
  reused.write('XXXXX')
  await until(() => native.reliable.length === 1)
  native.report(native.reliable[0].token, { refused: 2 }, false)
  await t.throwsAsync(sent, { instanceOf: BackpressureError, message: /no copy of it came back/ })
  t.is(native.reliable.length, 1, 'nothing went out again')
  await ep.close()
})

test('a full command queue: messages wait in order, go out on the timer and resolve', async (t) => {
  const { ep, native } = await openFake(t)
  native.accepting = false
  const reused = Buffer.from('one')
  const sends = [ep.send('A', reused, reliable), ep.send('A', 'two', reliable), ep.broadcast('all', reliable)]
  reused.write('XXX') // the caller may reuse its buffer once send() returned
  await Promise.resolve() // the slab is refused at the end of the tick: its messages wait
  t.is(native.reliable.length, 0)
  t.is(ep.stats().reliableMessagesDeferred, 3)
  await sleep(20) // deliberate: nothing goes out while the transport refuses (the timer retries meanwhile)
  t.is(native.reliable.length, 0, 'still waiting')
  native.accepting = true
  await Promise.all(sends)
  t.deepEqual(texts(native), ['one', 'two', 'all'])
  for (const send of native.reliable) t.true((send.deadlineMs ?? 0) > 0 && (send.deadlineMs ?? 0) <= 30_000)
  t.is(ep.stats().reliableMessagesExpiredWaiting, 0)
  await ep.close()
})

test('a message that waits past its deadline rejects with BackpressureError; the channel recovers', async (t) => {
  const { ep, native } = await openFake(t)
  native.accepting = false
  const started = performance.now()
  const err = await t.throwsAsync(ep.send('A', 'late', { reliable: true, deadlineMs: 30 }), {
    instanceOf: BackpressureError,
  })
  t.true(performance.now() - started >= 25)
  t.is(err?.code, 'ERR_GLUE_BACKPRESSURE')
  t.regex(err?.message ?? '', /A \(a+\).*deadline/)
  t.is(ep.stats().reliableMessagesExpiredWaiting, 1)
  native.accepting = true
  await ep.send('A', 'next', reliable)
  t.deepEqual(texts(native), ['next'])
  await ep.close()
})

test('flow control per channel: unsettled bytes stay within sendQueueBytes, released in order', async (t) => {
  const { ep, native } = await openFake(t, { sendQueueBytes: 65_536 })
  native.reliableOutcome = 'hold'
  const chunk = (tag: string) => Buffer.alloc(20_000, tag)
  const toA = ['1', '2', '3', '4'].map((tag) => ep.send('A', chunk(tag), reliable))
  const toB = ep.send('B', chunk('b'), reliable)
  const first = (send: { data: Buffer }) => String.fromCharCode(send.data[0])
  t.deepEqual(native.reliable.map(first), ['1', '2', '3', 'b'], 'A: three fit in 64 KiB; B has its own channel')
  native.report(1, 'delivered') // the second: its bytes stay counted until the first settles (as in the core)
  await sleep(10) // deliberate: nothing is released by it
  t.is(native.reliable.length, 4)
  native.report(0, 'delivered')
  t.true(await until(() => native.reliable.length === 5))
  t.deepEqual(native.reliable.map(first), ['1', '2', '3', 'b', '4'])
  for (const send of native.reliable.slice(2)) native.report(send.token, 'delivered')
  await Promise.all([...toA, toB])
  t.is(ep.stats().reliableMessagesDeferred, 1)
  await ep.close()
})

test('a message larger than sendQueueBytes goes out alone', async (t) => {
  const { ep, native } = await openFake(t, { sendQueueBytes: 65_536 })
  native.reliableOutcome = 'hold'
  const large = ep.send('A', Buffer.alloc(100_000), reliable)
  const small = ep.send('A', 'small', reliable)
  t.is(native.reliable.length, 1)
  native.report(0, 'delivered')
  await large
  t.true(await until(() => native.reliable.length === 2))
  native.report(1, 'delivered')
  await small
  await ep.close()
})

test('flush resolves once everything sent before it is settled, not waiting for later sends', async (t) => {
  const { ep, native } = await openFake(t)
  await ep.flush() // nothing pending
  native.reliableOutcome = 'hold'
  const one = ep.send('A', '1', reliable)
  const two = ep.send('A', '2', reliable)
  let flushed = false
  const flushing = ep.flush().then(() => (flushed = true))
  const three = ep.send('A', '3', reliable)
  native.report(0, 'delivered')
  await sleep(5) // deliberate: flush must not resolve while the second is unsettled
  t.false(flushed)
  native.report(1, { failed: [A.id] }) // a failure counts as settled
  await flushing
  await one
  await t.throwsAsync(two, { instanceOf: DeliveryError })
  native.report(2, 'delivered')
  await three
  const controller = new AbortController()
  const four = ep.send('A', '4', reliable)
  const aborted = t.throwsAsync(ep.flush({ signal: controller.signal }), { any: true, name: 'AbortError' })
  controller.abort()
  await aborted
  native.report(3, 'delivered')
  await four
  await ep.close()
})

test('close rejects in-flight and waiting messages with ClosedError; later reliable sends reject', async (t) => {
  const { ep, native } = await openFake(t)
  native.reliableOutcome = 'hold'
  const inFlight = t.throwsAsync(ep.send('A', 'x', reliable), { instanceOf: ClosedError })
  native.accepting = false
  const waiting = t.throwsAsync(ep.broadcast('y', reliable), { instanceOf: ClosedError })
  const flushed = ep.flush()
  const closing = ep.close()
  await Promise.all([inFlight, waiting, flushed])
  await closing
  await t.throwsAsync(ep.send('A', 'z', reliable), { instanceOf: ClosedError })
  await t.throwsAsync(ep.broadcast('z', reliable), { instanceOf: ClosedError })
  t.throws(() => ep.send('A', 'z'), { instanceOf: ClosedError })
  await ep.flush()
  native.deliver(new BatchBuilder().delivered(0).build()) // late reports are ignored
  t.pass()
})

test('reliable send errors reject instead of throwing; best-effort option errors throw', async (t) => {
  const { ep, native } = await openFake(t, { maxMessageSize: 1000 })
  await t.throwsAsync(ep.send('nobody', 'x', reliable), { instanceOf: UnknownPeerError })
  const tooLarge = await t.throwsAsync(ep.send('A', Buffer.alloc(1001), reliable), { instanceOf: MessageTooLargeError })
  t.regex(tooLarge?.message ?? '', /1001 bytes.*maxMessageSize \(1000 bytes\)/)
  await ep.send('A', Buffer.alloc(1000), reliable)
  const badDeadline = await t.throwsAsync(ep.send('A', 'x', { reliable: true, deadlineMs: 0 }), {
    instanceOf: InvalidOptionError,
  })
  t.is(badDeadline?.option, 'deadlineMs')
  await t.throwsAsync(ep.broadcast(42 as unknown as string, reliable), { instanceOf: TypeError })
  t.throws(() => ep.send('A', 'x', { deadlineMs: -1 }), { instanceOf: InvalidOptionError })
  t.throws(() => ep.send('A', 'x', { reliable: 1 } as unknown as { reliable: true }), {
    instanceOf: InvalidOptionError,
  })
  t.throws(() => ep.broadcast('x', { relaible: true } as unknown as { reliable: true }), {
    instanceOf: InvalidOptionError,
  })
  native.failure = nativeError('ERR_GLUE_CLOSED', 'closed under us')
  const closed = await t.throwsAsync(ep.send('A', 'x', reliable), { instanceOf: ClosedError })
  t.is((closed?.cause as Error).message, 'closed under us')
  t.is(native.reliable.length, 1)
  native.failure = undefined
  await ep.close()
})

test('tokens are u32 and wrap around', async (t) => {
  const native = new FakeTransport(resolveOptions({ env: false }).native, () => {}, 1)
  native.reliableOutcome = 'hold'
  const sender = new ReliableSender(native, {
    sendQueueBytes: 1 << 20,
    maxMessageSize: 1 << 20,
    deliveryDeadlineMs: 1000,
    nameOf: () => '',
    firstToken: 0xffff_fffe,
  })
  const sends = [0, 1, 2].map(() => sender.send(undefined, Buffer.from('x'), true, undefined))
  t.is(native.reliable.length, 0, 'handed over at the end of the tick')
  await Promise.resolve()
  t.is(native.slabs, 1, 'in one slab')
  t.deepEqual(
    native.reliable.map((s) => s.token),
    [0xffff_fffe, 0xffff_ffff, 0],
  )
  t.is(sender.unsettled, 3)
  sender.delivered(0xffff_ffff)
  sender.delivered(0xffff_ffff) // a duplicate report is ignored
  sender.failed(0, [])
  await sends[1]
  await t.throwsAsync(sends[2], { instanceOf: DeliveryError, message: /deadline/ })
  t.is(sender.unsettled, 1)
  const closing = t.throwsAsync(sends[0], { instanceOf: ClosedError })
  sender.close()
  await closing
  t.is(sender.unsettled, 0)
})

test('on a fake network: reliable unicast, broadcast and a large message arrive flagged reliable', async (t) => {
  const network = new FakeNetwork()
  const [a, b, c] = await Promise.all(
    ['A', 'B', 'C'].map((name) => Endpoint.openWith(network.open, { env: false, name, networkId: 3 })),
  )
  t.teardown(() => Promise.all([a, b, c].map((ep) => ep.close())))
  t.true(await until(() => [a, b, c].every((ep) => ep.peers().length === 2)))
  const got: Message[] = []
  b.onMessage((m) => got.push(m))
  const large = Buffer.alloc(100_000, 9)
  await Promise.all([a.send('B', 'one', reliable), a.broadcast('all', reliable), a.send('B', large, reliable)])
  t.deepEqual(
    got.map((m) => [m.fromName, m.broadcast, m.reliable, m.data.length]),
    [
      ['A', false, true, 3],
      ['A', true, true, 3],
      ['A', false, true, 100_000],
    ],
  )
  t.true(got[2].data.equals(large))
  network.transports[0].reliableOutcome = { failed: [c.id] }
  const err = await t.throwsAsync(a.broadcast('lost', reliable), { instanceOf: DeliveryError })
  t.deepEqual(err?.missing, [{ id: c.id, name: 'C' }])
  await Promise.all([a, b, c].map((ep) => ep.close()))
})

test('small messages go out once per tick in one slab; a large one goes alone, after them, in order', async (t) => {
  const { ep, native } = await openFake(t)
  const large = Buffer.alloc(SLAB_INLINE_MAX_BYTES + 1, 7)
  const sends = [
    ep.send('A', 'first', reliable),
    ep.broadcast('all', reliable),
    ep.send('A', large, reliable),
    ep.send('A', 'last', reliable),
  ]
  t.deepEqual(texts(native).slice(0, 2), ['first', 'all'], 'the slab went out before the large message')
  t.is(native.reliable[2]?.data.length, large.length)
  t.is(native.slabs, 1)
  await Promise.all(sends)
  t.is(texts(native)[3], 'last')
  t.is(native.slabs, 2)
  await ep.close()
})

test('a large message behind a refused slab waits behind its messages, in order', async (t) => {
  const { ep, native } = await openFake(t)
  const large = Buffer.alloc(SLAB_INLINE_MAX_BYTES + 1, 7)
  native.accepting = false
  const sends = [ep.send('A', 'one', reliable), ep.send('A', 'two', reliable)]
  native.accepting = true
  // The next call hands the slab over first: the queue is full for it, so it and the large message wait.
  let calls = 0
  native.reliableOutcome = 'delivered'
  const original = native.sendSlab.bind(native)
  native.sendSlab = (slab) => (calls++ === 0 ? false : original(slab))
  sends.push(ep.send('A', large, reliable), ep.send('A', 'three', reliable))
  await Promise.all(sends)
  t.deepEqual(
    native.reliable.map((s) => (s.data.length > 100 ? 'large' : s.data.toString())),
    ['one', 'two', 'large', 'three'],
  )
  await ep.close()
})
