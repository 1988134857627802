import test from 'ava'

import { HistoryCache, type HistoryInput, type HistoryOptions } from '../src/topics/history'

function setup(options: HistoryOptions = {}) {
  const clock = { now: 1000 }
  const cache = new HistoryCache({ clock: () => clock.now, ...options })
  return { clock, cache }
}

const bytes = (n: number): Uint8Array => new Uint8Array(n)
const input = (topic: string, publisher: string, seq: number, extra: Partial<HistoryInput> = {}): HistoryInput => ({
  topic,
  publisher,
  seq,
  data: bytes(1),
  ...extra,
})
const seqs = (records: readonly { seq: number }[]): number[] => records.map((r) => r.seq)

test('keeps the last `depth` records per stream, in sequence order', (t) => {
  const { cache } = setup()
  for (let seq = 1; seq <= 5; seq++) t.is(cache.put(input('a', 'p', seq), 3), 'stored')
  t.deepEqual(seqs(cache.history('a', 'p')), [3, 4, 5])
  t.is(cache.put(input('a', 'q', 1), 3), 'stored', 'streams are per publisher')
  t.deepEqual(seqs(cache.history('a', 'q')), [1])
  t.is(cache.size, 4)
  t.deepEqual(cache.history('b', 'p'), [])
})

test('out-of-order records are inserted in place; duplicates and stale ones are refused', (t) => {
  const { cache } = setup()
  for (const seq of [10, 7, 12, 9]) t.is(cache.put(input('a', 'p', seq), 4), 'stored')
  t.deepEqual(seqs(cache.history('a', 'p')), [7, 9, 10, 12])
  t.is(cache.put(input('a', 'p', 9), 4), 'duplicate')
  t.is(cache.put(input('a', 'p', 5), 4), 'stale', 'older than the full window')
  t.is(cache.put(input('a', 'p', 8), 4), 'stored', 'inside the window: the oldest goes')
  t.deepEqual(seqs(cache.history('a', 'p')), [8, 9, 10, 12])
})

test('a smaller depth trims the stream; depth 0 keeps no history', (t) => {
  const { cache } = setup()
  for (let seq = 1; seq <= 5; seq++) cache.put(input('a', 'p', seq), 5)
  cache.put(input('a', 'p', 6), 2)
  t.deepEqual(seqs(cache.history('a', 'p')), [5, 6])
  t.is(cache.put(input('a', 'p', 7), 0), 'stale')
  t.deepEqual(cache.history('a', 'p'), [])
  t.is(cache.size, 0)
})

test('range() answers repair requests', (t) => {
  const { cache } = setup()
  for (const seq of [1, 2, 3, 5, 8]) cache.put(input('a', 'p', seq), 10)
  t.deepEqual(seqs(cache.range('a', 'p', 2, 5)), [2, 3, 5])
  t.deepEqual(seqs(cache.range('a', 'p', 6, 7)), [])
  t.deepEqual(seqs(cache.range('a', 'p', 0, 100)), [1, 2, 3, 5, 8])
  t.deepEqual(cache.range('x', 'p', 0, 100), [])
})

test('lifespan: records expire on the injected clock and are never handed out afterwards', (t) => {
  const { cache, clock } = setup()
  cache.put(input('a', 'p', 1, { lifespanMs: 100 }), 10)
  clock.now += 50
  cache.put(input('a', 'p', 2, { lifespanMs: 100 }), 10)
  cache.put(input('a', 'p', 3), 10)
  t.is(cache.nextExpiry(), 1100)
  clock.now = 1099
  t.deepEqual(seqs(cache.history('a', 'p')), [1, 2, 3])
  clock.now = 1100
  t.deepEqual(seqs(cache.history('a', 'p')), [2, 3])
  clock.now = 1150
  t.deepEqual(seqs(cache.select(() => true)[0].records), [3])
  t.is(cache.expired, 2)
  t.is(cache.nextExpiry(), undefined)
  t.is(cache.put(input('a', 'p', 4, { lifespanMs: 0 }), 10), 'expired')
  t.is(cache.put(input('a', 'p', 5, { lifespanMs: -5 }), 10), 'expired')
  t.is(cache.size, 1)
})

test('expire() reports what it dropped; the expiry heap does not grow without bound', (t) => {
  const { cache, clock } = setup({ maxRecords: 100 })
  for (let seq = 1; seq <= 10000; seq++) {
    cache.put(input('a', 'p', seq, { lifespanMs: 1_000_000 }), 1)
    clock.now++
  }
  t.is(cache.size, 1)
  clock.now += 1_000_000
  t.is(cache.expire(), 1)
  t.is(cache.size, 0)
  t.is(cache.nextExpiry(), undefined)
})

test('retained values: newest per topic, cleared by an empty payload, kept without history', (t) => {
  const { cache } = setup()
  t.is(cache.put(input('t', 'p', 1, { retain: true, data: Buffer.from('one') }), 0), 'stored')
  t.is(Buffer.from(cache.retained('t')?.data ?? []).toString(), 'one')
  t.deepEqual(cache.history('t', 'p'), [], 'depth 0: no history, the retained value stays')
  t.is(cache.put(input('t', 'p', 1, { retain: true }), 0), 'duplicate')
  cache.put(input('t', 'p', 3, { retain: true, data: Buffer.from('three') }), 0)
  t.is(cache.put(input('t', 'p', 2, { retain: true, data: Buffer.from('two') }), 0), 'stale', 'older by seq')
  t.is(Buffer.from(cache.retained('t')?.data ?? []).toString(), 'three')
  t.is(cache.put(input('t', 'p', 4, { retain: true, data: bytes(0) }), 0), 'stored')
  t.is(cache.retained('t'), undefined, 'cleared')
  t.is(cache.put(input('t', 'p', 3, { retain: true, data: Buffer.from('again') }), 0), 'stale')
  t.is(cache.retained('t'), undefined, 'the tombstone keeps an old value from coming back')
  t.is(cache.size, 1)
})

test('retained values across publishers: later timestamp wins, publisher key breaks ties', (t) => {
  const { cache } = setup()
  cache.put(input('t', 'b', 9, { retain: true, timestamp: 100 }), 1)
  t.is(cache.put(input('t', 'a', 1, { retain: true, timestamp: 99 }), 0), 'stale')
  cache.put(input('t', 'a', 2, { retain: true, timestamp: 100 }), 1)
  t.is(cache.retained('t')?.publisher, 'b', 'same time: the greater publisher key wins')
  cache.put(input('t', 'c', 1, { retain: true, timestamp: 101 }), 1)
  t.is(cache.retained('t')?.publisher, 'c')
  cache.put(input('u', 'c', 1, { retain: true }), 1)
  t.deepEqual(cache.selectRetained((topic) => topic === 'u').map((r) => r.topic), ['u'])
  t.is(cache.selectRetained(() => true).length, 2)
})

test('a record that is both history and retained is counted once', (t) => {
  const { cache } = setup()
  cache.put(input('t', 'p', 1, { retain: true, data: bytes(10) }), 1)
  t.is(cache.size, 1)
  t.is(cache.bytes, 10)
  cache.put(input('t', 'p', 2, { data: bytes(5) }), 1)
  t.is(cache.size, 2, 'history moved on, seq 1 stays as the retained value')
  t.is(cache.bytes, 15)
  t.is(cache.retained('t')?.seq, 1)
})

test('bounded count: the record stored longest ago goes first, retained values last', (t) => {
  const { cache } = setup({ maxRecords: 3 })
  cache.put(input('r', 'p', 1, { retain: true }), 0)
  cache.put(input('a', 'p', 1), 5)
  cache.put(input('b', 'p', 1), 5)
  cache.put(input('a', 'p', 2), 5)
  t.deepEqual(seqs(cache.history('a', 'p')), [2])
  t.deepEqual(seqs(cache.history('b', 'p')), [1])
  t.truthy(cache.retained('r'))
  t.is(cache.evicted, 1)
  cache.put(input('c', 'p', 1), 5)
  cache.put(input('d', 'p', 1), 5)
  t.truthy(cache.retained('r'), 'history goes before retained values')
  t.is(cache.size, 3)
  cache.put(input('s', 'p', 1, { retain: true }), 0)
  cache.put(input('u', 'p', 1, { retain: true }), 0)
  t.truthy(cache.retained('r'), 'the last history record went')
  t.deepEqual(cache.select(() => true), [])
  cache.put(input('v', 'p', 1, { retain: true }), 0)
  t.is(cache.size, 3)
  t.is(cache.retained('r'), undefined, 'with no history left, the oldest retained value goes')
  t.truthy(cache.retained('s'))
  t.truthy(cache.retained('v'))
})

test('bounded bytes; a record larger than the limit is refused', (t) => {
  const { cache } = setup({ maxBytes: 100 })
  t.is(cache.put(input('a', 'p', 1, { data: bytes(101) }), 5), 'too-large')
  for (let seq = 1; seq <= 5; seq++) cache.put(input('a', 'p', seq, { data: bytes(30) }), 10)
  t.deepEqual(seqs(cache.history('a', 'p')), [3, 4, 5])
  t.is(cache.bytes, 90)
  t.is(cache.put(input('b', 'p', 1, { data: bytes(100) }), 5), 'stored')
  t.is(cache.bytes, 100)
  t.deepEqual(cache.history('a', 'p'), [])
})

test('select() finds the streams of matching topics for a late joiner', (t) => {
  const { cache } = setup()
  cache.put(input('s/1', 'p', 1), 2)
  cache.put(input('s/1', 'q', 1), 2)
  cache.put(input('s/2', 'p', 1), 2)
  cache.put(input('x', 'p', 1), 2)
  const streams = cache.select((topic) => topic.startsWith('s/'))
  t.deepEqual(
    streams.map((s) => `${s.topic}@${s.publisher}:${seqs(s.records)}`).sort(),
    ['s/1@p:1', 's/1@q:1', 's/2@p:1'],
  )
})

test('streams and publishers can be deleted', (t) => {
  const { cache } = setup()
  cache.put(input('a', 'p', 1), 2)
  cache.put(input('a', 'p', 2, { retain: true }), 2)
  cache.put(input('b', 'p', 1, { retain: true }), 0)
  cache.put(input('a', 'q', 1), 2)
  t.is(cache.deleteStream('a', 'q'), 1)
  t.is(cache.deleteStream('a', 'q'), 0)
  t.is(cache.deletePublisher('p'), 3)
  t.is(cache.size, 0)
  t.is(cache.bytes, 0)
  t.is(cache.retained('a'), undefined)
})

test('bad arguments are rejected', (t) => {
  t.throws(() => new HistoryCache({ maxRecords: 0 }), { instanceOf: RangeError })
  t.throws(() => new HistoryCache({ maxBytes: 1.5 }), { instanceOf: RangeError })
  const { cache } = setup()
  t.throws(() => cache.put(input('a', 'p', 0), 1), { instanceOf: RangeError, message: /seq/ })
  t.throws(() => cache.put(input('a', 'p', 2 ** 53), 1), { instanceOf: RangeError, message: /seq/ })
  t.throws(() => cache.put(input('a', 'p', 1), -1), { instanceOf: RangeError, message: /depth/ })
})

test('the default clock is monotonic time', (t) => {
  const cache = new HistoryCache()
  cache.put(input('a', 'p', 1, { lifespanMs: 60_000 }), 1)
  const expiry = cache.nextExpiry() ?? 0
  t.true(Math.abs(expiry - (performance.now() + 60_000)) < 1000)
})
