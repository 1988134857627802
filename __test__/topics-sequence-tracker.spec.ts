import test from 'ava'

import { SequenceTracker, type StreamDigest } from '../src/topics/sequence-tracker'
import { seeded } from './helpers/seeded-random'

const P = 'pub-1'
const T = 'topic'

/** Feeds numbers to the tracker and returns what was delivered, in delivery order. */
function feed(tracker: SequenceTracker<number>, numbers: number[], now = 0, topic = T): number[] {
  const delivered: number[] = []
  for (const seq of numbers) {
    if (tracker.accept(P, topic, seq, seq, now) === 'deliver') delivered.push(seq)
    drain(tracker, delivered)
  }
  return delivered
}

function drain(tracker: SequenceTracker<number>, into: number[] = []): number[] {
  for (let item = tracker.poll(); item !== undefined; item = tracker.poll()) into.push(item)
  return into
}

test('in-order numbers are delivered; repeats are duplicates', (t) => {
  const tracker = new SequenceTracker<number>()
  t.is(tracker.accept(P, T, 1, 1, 0), 'deliver')
  t.is(tracker.accept(P, T, 2, 2, 0), 'deliver')
  t.is(tracker.accept(P, T, 2, 2, 0), 'duplicate')
  t.is(tracker.accept(P, T, 1, 1, 0), 'duplicate')
  t.is(tracker.duplicates, 2)
  t.is(tracker.contiguous(P, T), 2)
  t.is(tracker.accept(P, 'other', 1, 1, 0), 'deliver', 'streams are per topic')
  t.is(tracker.accept('pub-2', T, 1, 1, 0), 'deliver', 'and per publisher')
  t.is(tracker.streamCount, 3)
})

test('deliver policy (holdMs 0): early numbers go out at once, de-duplicated; gaps stay open for repair', (t) => {
  const tracker = new SequenceTracker<number>()
  t.deepEqual(feed(tracker, [1, 3, 5, 3, 5]), [1, 3, 5])
  t.is(tracker.contiguous(P, T), 1)
  t.deepEqual(tracker.digest(), [{ publisher: P, topic: T, contiguous: 1, ranges: [[3, 3], [5, 5]] }])
  t.deepEqual(feed(tracker, [4, 2, 4]), [4, 2], 'late arrivals (repair) are delivered too')
  t.is(tracker.contiguous(P, T), 5)
  t.deepEqual(tracker.digest()[0].ranges, [])
  t.is(tracker.pollTimeout(), undefined)
})

test('hold policy: early numbers wait and come out in order when the gap fills', (t) => {
  const tracker = new SequenceTracker<number>({ holdMs: 100 })
  t.is(tracker.accept(P, T, 1, 1, 0), 'deliver')
  t.is(tracker.accept(P, T, 3, 3, 10), 'gap')
  t.is(tracker.accept(P, T, 4, 4, 20), 'gap')
  t.is(tracker.accept(P, T, 4, 4, 20), 'duplicate')
  t.is(tracker.pollTimeout(), 110)
  t.deepEqual(drain(tracker), [])
  t.is(tracker.accept(P, T, 2, 2, 30), 'deliver')
  t.deepEqual(drain(tracker), [3, 4])
  t.is(tracker.contiguous(P, T), 4)
  t.is(tracker.pollTimeout(), undefined)
})

test('hold policy: a gap open for holdMs is given up, later numbers are released in order', (t) => {
  const tracker = new SequenceTracker<number>({ holdMs: 100 })
  feed(tracker, [1])
  tracker.accept(P, T, 4, 4, 0)
  tracker.accept(P, T, 3, 3, 0)
  tracker.accept(P, T, 7, 7, 50)
  tracker.handleTimeout(99)
  t.deepEqual(drain(tracker), [])
  tracker.handleTimeout(100)
  t.deepEqual(drain(tracker), [3, 4], '2 given up')
  t.is(tracker.skipped, 1)
  t.is(tracker.pollTimeout(), 200, 'the next gap (5..6) gets its own holdMs')
  t.is(tracker.accept(P, T, 2, 2, 150), 'duplicate', 'a given-up number arriving late is dropped')
  tracker.handleTimeout(200)
  t.deepEqual(drain(tracker), [7])
  t.is(tracker.skipped, 3)
  t.is(tracker.contiguous(P, T), 7)
})

test('hold policy: holding more than maxHeld gives up the first gap', (t) => {
  const tracker = new SequenceTracker<number>({ holdMs: Infinity, maxHeld: 3 })
  feed(tracker, [1])
  t.deepEqual(feed(tracker, [3, 4, 6]), [])
  t.is(tracker.pollTimeout(), undefined, 'Infinity: no timer')
  t.deepEqual(feed(tracker, [7]), [3, 4], 'fourth held: gap 2 given up')
  t.deepEqual(feed(tracker, [5]), [5, 6, 7])
})

test('deliver policy: more than maxRanges ranges give up the first gap', (t) => {
  const tracker = new SequenceTracker<number>({ maxRanges: 2 })
  feed(tracker, [1, 3, 5])
  t.is(tracker.contiguous(P, T), 1)
  feed(tracker, [7])
  t.is(tracker.contiguous(P, T), 3, 'gap 2 given up')
  t.deepEqual(tracker.digest()[0].ranges, [[5, 5], [7, 7]])
})

test('skipTo() gives up what a late joiner cannot get and releases held publications', (t) => {
  const tracker = new SequenceTracker<number>({ holdMs: 100 })
  t.is(tracker.accept(P, T, 500, 500, 0), 'gap', 'a late joiner sees live 500 first')
  t.is(tracker.skipTo(P, T, 491, 0), 490, 'history starts at 491')
  const history = [491, 492, 493, 494, 495, 496, 497, 498, 499]
  t.deepEqual(feed(tracker, history), [...history, 500])
  t.is(tracker.skipTo(P, T, 100, 0), 0, 'never backwards')
  const other = new SequenceTracker<number>({ holdMs: 100 })
  feed(other, [5, 6, 9])
  t.is(other.skipTo(P, T, 8, 0), 5, '1..4 and 7 given up')
  t.deepEqual(drain(other), [5, 6])
  t.is(other.contiguous(P, T), 7)
  t.is(other.pollTimeout(), 100, 'still waiting for 8')
  other.skipTo(P, T, 10, 0)
  t.deepEqual(drain(other), [9])
  t.is(other.pollTimeout(), undefined)
})

test('forget() drops a publisher; bounded streams forget the least recently active', (t) => {
  const tracker = new SequenceTracker<number>({ maxStreams: 10 })
  for (let i = 0; i < 10; i++) tracker.accept(P, `t${i}`, 1, 1, 0)
  tracker.accept(P, 't0', 2, 2, 0)
  tracker.accept('other', 'x', 1, 1, 0)
  t.is(tracker.streamCount, 10)
  t.is(tracker.contiguous(P, 't1'), 0, 'the idlest stream went')
  t.is(tracker.contiguous(P, 't0'), 2)
  tracker.forget(P)
  t.is(tracker.streamCount, 1)
  t.is(tracker.contiguous(P, 't0'), 0)
})

test('digests: contiguous plus ranges, the highest ranges kept, filtered', (t) => {
  const tracker = new SequenceTracker<number>()
  feed(tracker, [1, 2, 4, 6, 8, 9])
  feed(tracker, [1], 0, 'b')
  t.deepEqual(tracker.digest({ maxRanges: 2 }), [
    { publisher: P, topic: T, contiguous: 2, ranges: [[6, 6], [8, 9]] },
    { publisher: P, topic: 'b', contiguous: 1, ranges: [] },
  ])
  t.deepEqual(tracker.digest({ include: (_, topic) => topic === 'b' }).map((d) => d.topic), ['b'])
})

test('missing() and lacking() compute what to request and what to send', (t) => {
  const a = new SequenceTracker<number>()
  const b = new SequenceTracker<number>()
  feed(a, [1, 2, 3, 4, 7, 8, 10])
  feed(b, [1, 2, 5, 6, 7, 9, 10, 11])
  const fromB = b.digest()
  t.deepEqual(a.missing(fromB), [{ publisher: P, topic: T, ranges: [[5, 6], [9, 9], [11, 11]] }])
  t.deepEqual(b.lacking(a.digest()), a.missing(fromB), 'what b sends is what a requests')
  t.deepEqual(a.lacking(fromB), [{ publisher: P, topic: T, ranges: [[3, 4], [8, 8]] }])
  t.deepEqual(a.missing(a.digest()), [])
})

test('missing(): unknown streams only when included; the newest numbers first within maxPerStream', (t) => {
  const peer: StreamDigest[] = [
    { publisher: P, topic: 'new', contiguous: 5000, ranges: [[5002, 5003]] },
    { publisher: P, topic: T, contiguous: 3, ranges: [] },
  ]
  const tracker = new SequenceTracker<number>()
  feed(tracker, [1])
  t.deepEqual(tracker.missing(peer), [{ publisher: P, topic: T, ranges: [[2, 3]] }])
  t.deepEqual(tracker.missing(peer, { include: (_, topic) => topic === 'new', maxPerStream: 10 }), [
    { publisher: P, topic: 'new', ranges: [[4993, 5000], [5002, 5003]] },
  ])
  t.deepEqual(tracker.missing(peer, { include: () => true, maxPerStream: 2 })[0].ranges, [[5002, 5003]])
  t.deepEqual(tracker.lacking([], { maxPerStream: 0 }), [])
  t.deepEqual(tracker.lacking([]), [{ publisher: P, topic: T, ranges: [[1, 1]] }], 'a peer without the stream lacks it')
})

test('bad options are rejected', (t) => {
  t.throws(() => new SequenceTracker({ holdMs: -1 }), { instanceOf: RangeError })
  t.throws(() => new SequenceTracker({ holdMs: Number.NaN }), { instanceOf: RangeError })
  t.throws(() => new SequenceTracker({ maxHeld: 0 }), { instanceOf: RangeError, message: /maxHeld/ })
  t.throws(() => new SequenceTracker({ maxStreams: 1.5 }), { instanceOf: RangeError, message: /maxStreams/ })
})

test('live and repair paths with loss, duplication and reordering: each number once, in order', (t) => {
  for (let round = 0; round < 20; round++) {
    const random = seeded(round)
    const tracker = new SequenceTracker<number>({ holdMs: 50 })
    const delivered: number[] = []
    const count = 500
    // Live path: 20 % lost, some duplicated, reordered within a small window.
    const arrivals: { seq: number; at: number }[] = []
    for (let seq = 1; seq <= count; seq++) {
      if (random() < 0.2) continue
      arrivals.push({ seq, at: seq + random() * 10 })
      if (random() < 0.1) arrivals.push({ seq, at: seq + random() * 30 })
    }
    arrivals.sort((x, y) => x.at - y.at)
    for (const { seq, at } of arrivals) {
      const timeout = tracker.pollTimeout()
      if (timeout !== undefined && timeout <= at) tracker.handleTimeout(at)
      drain(tracker, delivered)
      if (tracker.accept(P, T, seq, seq, at) === 'deliver') delivered.push(seq)
      drain(tracker, delivered)
    }
    // Repair path: a peer that saw everything sends what the digest says is missing, twice over.
    const peer = new SequenceTracker<number>()
    feed(peer, Array.from({ length: count }, (_, i) => i + 1))
    for (const { ranges } of tracker.missing(peer.digest())) {
      for (const [first, last] of ranges) {
        for (let seq = first; seq <= last; seq++) {
          for (let copy = 0; copy < 2; copy++) {
            if (tracker.accept(P, T, seq, seq, 1000) === 'deliver') delivered.push(seq)
            drain(tracker, delivered)
          }
        }
      }
    }
    tracker.handleTimeout(Infinity)
    drain(tracker, delivered)
    t.is(new Set(delivered).size, delivered.length, 'no duplicates')
    const sorted = delivered.every((seq, i) => i === 0 || seq > delivered[i - 1])
    t.true(sorted, 'in order')
    t.is(delivered.length + tracker.skipped, count, 'every number delivered or given up')
  }
})
