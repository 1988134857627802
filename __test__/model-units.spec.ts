/**
 * The model layer's parts and its errors at the call: causal contexts, the hybrid logical clock and the skew bound
 * (entries from too far ahead are held, counted and applied later), names, keys, codecs and options checked with
 * named errors, quorum writes (resolved, larger than the membership, deadline missed with the missing members
 * listed) and `synced()` (resolved, timed out naming who), on the simulated network.
 */
import test from 'ava'

import { ClosedError, ErrorCode, InvalidOptionError } from '../src/errors'
import { CausalContext, MAX_RANGES, TooManyRangesError } from '../src/model/causal-context'
import { ModelNameError, QuorumError, TimeoutError } from '../src/model/errors'
import { Entry } from '../src/model/entry'
import { HybridClock, hlcMillis, LOGICAL_PER_MS } from '../src/model/hlc'
import { MAX_HELD, Replica } from '../src/model/replica'
import { CodecError } from '../src/topics/errors'
import { SimNet } from './helpers/model-sim'

const id = (n: number): string => n.toString(16).padStart(16, '0')

test('causal context: contiguous counters, ranges, merge, covers and lacking', (t) => {
  const a = new CausalContext()
  t.true(a.add(0, 1))
  t.false(a.add(0, 1), 'a dot is added once')
  a.add(0, 2)
  a.add(0, 5)
  t.is(a.contiguous(0), 2)
  t.true(a.has(0, 5))
  t.false(a.has(0, 3))
  t.true(a.addRange(0, 3, 4))
  t.is(a.contiguous(0), 5, 'a gap filled joins the ranges')
  const b = new CausalContext()
  b.addRange(0, 1, 9)
  b.add(1, 1)
  t.false(a.covers(b))
  t.true(b.covers(a))
  t.is(a.lacking(b), 5, 'a lacks 6..9 of origin 0 and 1 of origin 1')
  t.true(a.merge(b))
  t.true(a.equals(b))
  t.false(a.merge(b), 'merging what is held changes nothing')
  t.is(a.lacking(b), 0)
  const c = a.clone()
  c.add(2, 7)
  t.false(a.equals(c), 'a clone is independent')
})

test('causal context: more than MAX_RANGES gaps are refused, not grown without bound', (t) => {
  const c = new CausalContext()
  t.throws(
    () => {
      for (let i = 0; i <= MAX_RANGES + 1; i++) c.add(0, 2 * i + 2)
    },
    { instanceOf: TooManyRangesError },
  )
})

test('hybrid logical clock: monotonic, adopts the past and near future, refuses timestamps beyond the skew bound', (t) => {
  let wall = 1_800_000_000_000
  const clock = new HybridClock(() => wall, 60_000)
  const a = clock.now()
  const b = clock.now()
  t.true(b > a, 'two timestamps of one millisecond still order')
  t.is(hlcMillis(a), wall)
  wall -= 5000 // the wall clock steps back: timestamps still grow
  t.true(clock.now() > b)
  const near = (wall + 30_000) * LOGICAL_PER_MS
  t.true(clock.observe(near))
  t.true(clock.now() > near, 'a timestamp observed within the bound orders later writes after it')
  const far = (wall + 61_000) * LOGICAL_PER_MS
  t.true(clock.tooFarAhead(far))
  const before = clock.peek()
  t.false(clock.observe(far), 'beyond the bound: not adopted')
  t.is(clock.peek(), before)
  wall += 2000
  t.false(clock.tooFarAhead(far), 'once the wall clock is near, it is acceptable')
})

test('an entry from a clock too far ahead is held, counted, and applied when the wall clock reaches it', async (t) => {
  const net = new SimNet(3, { skewMs: [0, 120_000] })
  const a = net.add(id(1), 'A')
  const b = net.add(id(2), 'B (clock 120 s ahead)')
  const [ma, mb] = await Promise.all([a.layer.map<number>('skew', { maxSkewMs: 60_000 }), b.layer.map<number>('skew', { maxSkewMs: 60_000 })])
  await net.runFor(100)
  mb.set('x', 1)
  await net.runFor(500)
  t.is(ma.get('x'), undefined, 'held while more than 60 s ahead')
  t.true(a.layer.stats().modelHeldAhead >= 1)
  ma.set('x', 2) // A's write: its clock is behind B's, so B's later write must still win once applied
  t.true(await net.runUntilTrue(() => ma.get('x') === 1 && mb.get('x') === 1, 120_000), 'applied once within the bound, and it wins')
  t.true(net.now >= 60_000)
  t.is(ma.stateHash(), mb.stateHash())
  await Promise.all([ma.close(), mb.close()])
  t.deepEqual(net.errors, [])
})

test('bad names, keys, values and options: named errors at the call', async (t) => {
  const net = new SimNet(4)
  const layer = net.add(id(1)).layer
  for (const bad of ['', '$glue', 'a/+', 'a/#', 'a//b', '/a', 'a/', 'x'.repeat(201), 'a\0b', 42, null, undefined]) {
    const err = await t.throwsAsync(async () => layer.map(bad as string), { instanceOf: ModelNameError }, `map name ${JSON.stringify(bad)}`)
    t.is(err?.code, ErrorCode.MODEL_NAME)
  }
  await t.throwsAsync(async () => layer.counter('a/+'), { instanceOf: ModelNameError, message: /counter name/ })
  await t.throwsAsync(async () => layer.set(''), { instanceOf: ModelNameError, message: /set name/ })
  await t.throwsAsync(async () => layer.map('m', { digestIntervalMs: 0 }), { instanceOf: InvalidOptionError, message: /digestIntervalMs/ })
  await t.throwsAsync(async () => layer.map('m', { conflict: 'first' as never }), { instanceOf: InvalidOptionError, message: /conflict/ })
  await t.throwsAsync(async () => layer.map('m', { codec: 'nope' as never }), { instanceOf: InvalidOptionError, message: /codec/ })
  await t.throwsAsync(async () => layer.map('m', { persit: 'dir' } as never), { instanceOf: InvalidOptionError, message: /persit/ })
  await t.throwsAsync(async () => layer.map('m', { persist: '' }), { instanceOf: InvalidOptionError, message: /persist/ })

  const m = await layer.map<unknown>('m', { codec: 'json' })
  await t.throwsAsync(async () => layer.map('m'), { instanceOf: ModelNameError, message: /already open/ })
  t.throws(() => m.set(7 as unknown as string, 1), { instanceOf: ModelNameError, message: /key/ })
  t.throws(() => m.set('k'.repeat(4097), 1), { instanceOf: ModelNameError, message: /4096/ })
  t.throws(() => m.set('\ud800', 1), { instanceOf: ModelNameError, message: /surrogate/ })
  const circular: Record<string, unknown> = {}
  circular.self = circular
  t.throws(() => m.set('k', circular), { instanceOf: CodecError })
  t.throws(() => m.set('k', 1n), { instanceOf: CodecError })
  t.is(m.size, 0, 'nothing was written by a failed call')
  t.throws(() => m.set('k', 1, { quorum: 0 }), { instanceOf: InvalidOptionError, message: /quorum/ })
  t.throws(() => m.set('k', 1, { quorum: 'most' as never }), { instanceOf: InvalidOptionError, message: /quorum/ })
  t.throws(() => m.set('k', 1, { quorum: 1, deadlineMs: -1 }), { instanceOf: InvalidOptionError, message: /deadlineMs/ })
  t.throws(() => m.set('k', 1, { quorum: 2 }), { instanceOf: QuorumError, message: /larger than the membership/ })
  t.is(m.size, 0, 'a quorum larger than the membership writes nothing')
  await m.close()
  t.throws(() => m.set('k', 1), { instanceOf: ClosedError })
  const again = await layer.map('m')
  t.truthy(again, 'a closed name can be opened again')
  await again.close()
})

test('quorum writes resolve once enough members hold the change, or reject naming who did not', async (t) => {
  const net = new SimNet(5, { maxDelayMs: 3 })
  const nodes = [1, 2, 3].map((n) => net.add(id(n), `N${n}`))
  const maps = await Promise.all(nodes.map((n) => n.layer.map<number>('q')))
  await net.runUntilTrue(() => maps.every((m) => m.members().length === 2), 5000)
  let done = false
  const majority = maps[0].set('a', 1, { quorum: 'majority' }).then(() => (done = true))
  t.true(await net.runUntilTrue(() => done, 5000), 'majority of 3 reached')
  await majority
  const all = maps[0].set('b', 2, { quorum: 3 })
  await net.runFor(100)
  await all
  t.is(maps[2].get('b'), 2, 'with a quorum of every member, each holds the write when it resolves')

  net.setLoss(1) // every message is lost from now on, though the members stay up
  let failure: unknown
  maps[0].set('c', 3, { quorum: 3, deadlineMs: 1000 }).catch((err) => (failure = err))
  t.true(await net.runUntilTrue(() => failure !== undefined, 5000))
  t.true(failure instanceof QuorumError)
  const q = failure as QuorumError
  t.is(q.code, ErrorCode.QUORUM)
  t.is(q.required, 3)
  t.is(q.acknowledged, 1)
  t.deepEqual(q.missing.map((m) => m.id).sort(), [id(2), id(3)])
  t.regex(q.message, /N2/)
  t.is(maps[0].get('c'), 3, 'a write that missed its quorum stays written here')
  await Promise.all(maps.map((m) => m.close()))
})

test('a member that leaves holding a quorum write counts for it, even when its ACK was lost', async (t) => {
  const net = new SimNet(6, { maxDelayMs: 3 })
  const nodes = [1, 2, 3].map((n) => net.add(id(n), `N${n}`))
  const maps = await Promise.all(nodes.map((n) => n.layer.map<number>('q')))
  await net.runUntilTrue(() => maps.every((m) => m.members().length === 2), 5000)
  // Model message kinds (first byte): ACK 7; DIGEST 2, whose flag 1 says "leaving". N3's ACKs and ordinary digests
  // to N1 are lost, so only its last digest can tell N1 that it holds the write.
  const [ACK, DIGEST, LEAVING] = [7, 2, 1]
  net.drop = (from, to, payload) =>
    from === nodes[2] && to === nodes[0] && (payload[0] === ACK || (payload[0] === DIGEST && (payload[1] & LEAVING) === 0))
  let done = false
  let failure: unknown
  maps[0].set('k', 1, { quorum: 3, deadlineMs: 2000 }).then(() => (done = true), (err) => (failure = err))
  t.true(await net.runUntilTrue(() => maps[2].get('k') === 1, 5000), 'N3 holds it')
  await net.runFor(50)
  t.false(done, 'its ACK was lost: the write waits')
  await maps[2].close() // its last digest says what it holds
  t.true(await net.runUntilTrue(() => done || failure !== undefined, 5000))
  t.true(done, String(failure))
  await Promise.all(maps.slice(0, 2).map((m) => m.close()))
})

test('a member that held a quorum write and left still counts when the last ACK comes after it left', async (t) => {
  const net = new SimNet(7, { maxDelayMs: 3 })
  const nodes = [1, 2, 3].map((n) => net.add(id(n), `N${n}`))
  const maps = await Promise.all(nodes.map((n) => n.layer.map<number>('q')))
  await net.runUntilTrue(() => maps.every((m) => m.members().length === 2), 5000)
  // N2's ACKs to N1 are lost: its next periodic digest tells N1 that it holds the write, after N3 acknowledged it and
  // left (as `glue map --count` does once it printed the change). Both held the write: the quorum of 3 is reached.
  const ACK = 7
  net.drop = (from, to, payload) => from === nodes[1] && to === nodes[0] && payload[0] === ACK
  let done = false
  let failure: unknown
  maps[0].set('k', 1, { quorum: 3, deadlineMs: 4000 }).then(() => (done = true), (err) => (failure = err))
  t.true(await net.runUntilTrue(() => maps[1].get('k') === 1 && maps[2].get('k') === 1, 5000), 'N2 and N3 hold it')
  await net.runFor(50)
  t.false(done, "N2's ACK was lost: the write waits")
  await maps[2].close()
  t.true(await net.runUntilTrue(() => !maps[0].members().some((m) => m.id === id(3)), 5000), 'N3 left')
  t.true(await net.runUntilTrue(() => done || failure !== undefined, 5000))
  t.true(done, String(failure))
  await Promise.all(maps.slice(0, 2).map((m) => m.close()))
})

test('synced() resolves once caught up with every reachable member, and times out naming who it lacks', async (t) => {
  const net = new SimNet(6, { maxDelayMs: 3 })
  const a = net.add(id(1), 'A')
  const ma = await a.layer.map<number>('s')
  for (let i = 0; i < 500; i++) ma.set(`k${i}`, i)
  await net.runFor(10)
  const b = net.add(id(2), 'B')
  const mb = await b.layer.map<number>('s')
  let synced = false
  mb.synced({ timeoutMs: 10_000 }).then(() => (synced = true))
  t.true(await net.runUntilTrue(() => synced, 10_000))
  t.is(mb.size, 500, 'a late joiner that is synced holds everything')
  t.true(b.layer.stats().modelEntriesPulled >= 500)

  net.setLoss(1)
  ma.set('late', 1)
  await net.runFor(10)
  net.setLoss(0)
  const c = net.add(id(3), 'C')
  const mc = await c.layer.map<number>('s')
  net.setLoss(1) // C knows of A and B (they are up) but hears nothing from them
  let failure: unknown
  mc.synced({ timeoutMs: 2000 }).catch((err) => (failure = err))
  t.true(await net.runUntilTrue(() => failure !== undefined, 5000))
  t.true(failure instanceof TimeoutError)
  t.is((failure as TimeoutError).code, ErrorCode.TIMEOUT)
  t.true((failure as TimeoutError).pending.length >= 1)
  t.regex((failure as TimeoutError).message, /not caught up within 2000 ms/)
  const closing = mc.synced({ timeoutMs: 60_000 })
  await mc.close()
  await t.throwsAsync(closing, { instanceOf: ClosedError })
  await Promise.all([ma.close(), mb.close()])
})

test('toJSON keeps a key named __proto__ as an ordinary property', async (t) => {
  const net = new SimNet(8)
  const m = await net.add(id(1)).layer.map<number>('proto')
  m.set('__proto__', 1)
  m.set('b', 2)
  const json = m.toJSON()
  t.is(Object.getPrototypeOf(json), Object.prototype)
  t.deepEqual(Object.keys(json), ['__proto__', 'b'])
  t.is(JSON.stringify(json), '{"__proto__":1,"b":2}')
  await m.close()
})

test('entries dropped beyond the hold limit stay out of the context, so that they are fetched again', async (t) => {
  let wall = 1_800_000_000_000
  const sender = new Replica('lww', new HybridClock(() => wall + 120_000, 60_000), id(2), 7)
  for (let i = 0; i < MAX_HELD + 5; i++) sender.write(`k${i}`, 0, Buffer.from([i & 0xff]))
  const delta = sender.takeDelta()
  t.truthy(delta)
  const receiver = new Replica('lww', new HybridClock(() => wall, 60_000), id(1), 9)
  const origin = receiver.origins.intern(sender.self.id, sender.self.incarnation)
  for (const e of delta?.entries ?? []) receiver.applyEntry(new Entry(e.key, origin, e.counter, e.hlc, e.codec, e.value))
  receiver.applyRange(origin, delta?.first ?? 0, delta?.last ?? 0)
  t.is(receiver.counts.heldDropped, 5)
  const seen = (): number => (delta?.entries ?? []).filter((e) => receiver.context.has(origin.index, e.counter)).length
  t.is(seen(), 0, 'neither held nor dropped dots count as seen')
  wall += 61_000
  t.is(receiver.releaseHeld(), MAX_HELD)
  t.is(seen(), MAX_HELD, 'the held ones are applied and seen; the dropped ones are still lacking (WANT fetches them)')
  receiver.applyRange(origin, delta?.first ?? 0, delta?.last ?? 0)
  t.is(seen(), MAX_HELD, 'a range again (a retransmitted delta) does not cover them either')
  receiver.mergeContext(new CausalContext())
  receiver.applyRange(origin, delta?.first ?? 0, delta?.last ?? 0)
  t.is(seen(), MAX_HELD + 5, 'after a PUSH ended (what the sender still holds came with it), they may count as seen')
})

test('a tombstone that a member collected goes here too after a bucket comparison, counted as collected', (t) => {
  const wall = 1_800_000_000_000
  const a = new Replica('lww', new HybridClock(() => wall, 60_000), id(1), 1)
  const b = new Replica('lww', new HybridClock(() => wall, 60_000), id(2), 2)
  const copy = (from: Replica, to: Replica): void => {
    const delta = from.takeDelta()
    if (delta === undefined) return
    const origin = to.origins.intern(from.self.id, from.self.incarnation)
    for (const e of delta.entries) to.applyEntry(new Entry(e.key, origin, e.counter, e.hlc, e.codec, e.value))
    to.applyRange(origin, delta.first, delta.last)
  }
  a.write('k', 0, Buffer.from([1]))
  copy(a, b)
  t.true(b.write('k', 0, undefined), 'b deletes k: a tombstone')
  copy(b, a)
  t.is(a.store.tombstones.size, 1)
  t.is(b.store.tombstones.size, 1)
  // a saw every member's report (b's context holds what a's does) and collects; b did not get to it yet.
  t.is(a.collect([a.context], 86_400_000), 1)
  t.is(a.store.tombstones.size, 0)
  // The contexts are equal and the store summaries differ: b compares buckets and learns that a no longer holds it.
  // What a reports is in a's origin indexes: translated into b's, as decoding the DOTS message does.
  const toB = new Map([a.self, b.self].map((o) => [a.origins.intern(o.id, o.incarnation).index, b.origins.intern(o.id, o.incarnation).index]))
  const theirs = new CausalContext()
  for (const [inA, inB] of toB) for (let c = 1; c <= a.context.contiguous(inA); c++) theirs.add(inB, c)
  const buckets = new Set([...b.store.tombstones].map((e) => e.bucket))
  const held = new Map([...a.dots(buckets)].map(([bucket, entries]) => [bucket, new Set(entries.map((e) => `${toB.get(e.origin.index)}:${e.counter}`))]))
  b.applyDots(theirs, held)
  t.is(b.store.tombstones.size, 0, 'the tombstone went from b as well')
  t.is(b.counts.collected, 1, 'and counts as collected there, not as a removal by a peer')
  t.is(b.counts.removedByPeer, 0)
})

test('flushed() resolves once every change so far is in the disk store', async (t) => {
  const net = new SimNet(12)
  const m = await net.add(id(1)).layer.map<number>('f', { persist: 'disk' })
  await m.flushed()
  const before = [...net.disks.values()][0].records.length
  m.set('a', 1)
  m.set('b', 2)
  await m.flushed()
  t.is([...net.disks.values()][0].records.length, before + 1, 'the tick of two writes is one record, written')
  const plain = await net.add(id(2)).layer.map<number>('f')
  await plain.flushed() // without persist: at once
  await Promise.all([m.close(), plain.close()])
})
