import { readFileSync } from 'node:fs'
import { join } from 'node:path'

import test from 'ava'

import { TopicError, TopicWireError } from '../src/topics/errors'
import {
  InterestFilter,
  MAX_SHAPES,
  SHAPE_LEVELS,
  TopicProbe,
} from '../src/topics/interest-filter'
import { probeStep, summarise } from '../src/topics/interest-keys'
import { compileFilter } from '../src/topics/topic-name'
import { protocolVectors } from './helpers/protocol-doc'
import { seeded } from './helpers/seeded-random'

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
const unhex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text.replace(/\s+/g, ''), 'hex'))

test('an empty summary matches nothing; filters match their topics', (t) => {
  const summary = new InterestFilter()
  t.false(summary.mayMatch('a'))
  summary.add('sensors/+/temp').add('alarms/#').add('exact/topic')
  t.true(summary.mayMatch('sensors/kitchen/temp'))
  t.true(summary.mayMatch('sensors//temp'))
  t.true(summary.mayMatch('alarms'))
  t.true(summary.mayMatch('alarms/fire/floor2'))
  t.true(summary.mayMatch('exact/topic'))
  t.false(summary.mayMatch('sensors/kitchen/humidity'))
  t.false(summary.mayMatch('sensors/kitchen/temp/x'))
  t.false(summary.mayMatch('exact/topic/x'))
  t.false(summary.mayMatch('exact'))
  t.false(summary.mayMatch('other'))
  t.is(summary.shapeCount, 3)
})

test('the $ rule: wildcard-first filters do not match $ topics, $ filters do', (t) => {
  const summary = new InterestFilter().add('#').add('+/status')
  t.true(summary.mayMatch('anything/at/all'))
  t.false(summary.mayMatch('$SYS/status'))
  t.false(summary.mayMatch('$SYS'))
  summary.add('$SYS/#')
  t.true(summary.mayMatch('$SYS/status'))
})

test('filters deeper than 8 levels are summarised by their first 8 levels', (t) => {
  const deep = Array.from({ length: 12 }, (_, i) => `l${i}`)
  const summary = new InterestFilter().add(deep.join('/')).add(['x', '+', ...deep.slice(2)].join('/'))
  t.true(summary.mayMatch(deep.join('/')))
  t.true(summary.mayMatch(['x', 'y', ...deep.slice(2)].join('/')))
  t.true(summary.mayMatch(deep.slice(0, 9).join('/')), 'a superset: a 9-level prefix is a (known) false positive')
  t.false(summary.mayMatch(deep.slice(0, 7).join('/')))
  t.is(SHAPE_LEVELS, 8)
})

test('a probe tests one topic against many summaries', (t) => {
  const a = new InterestFilter().add('a/+')
  const b = new InterestFilter().add('b/#')
  const probe = new TopicProbe('a/x')
  t.true(a.mayMatch(probe))
  t.false(b.mayMatch(probe))
  probe.reset('b/y/z')
  t.false(a.mayMatch(probe))
  t.true(b.mayMatch(probe))
  t.is(probe.levels, 3)
})

test('all() matches everything, $ topics included', (t) => {
  const all = InterestFilter.all()
  t.true(all.mayMatch('$SYS/x'))
  t.true(all.mayMatch('a'))
  t.true(all.all)
  t.is(all.add('x').shapeCount, 0)
  const decoded = InterestFilter.decode(all.encode())
  t.true(decoded.all && decoded.mayMatch('anything'))
  t.is(all.falsePositiveRate(), 1)
})

test('adding is idempotent, validated, and impossible on decoded summaries', (t) => {
  const summary = new InterestFilter({ bits: 64, hashes: 2 })
  summary.add('a/b')
  const once = hex(summary.encode())
  summary.add('a/b')
  t.is(hex(summary.encode()), once)
  t.throws(() => summary.add('a/#/b'), { instanceOf: TopicError })
  t.throws(() => InterestFilter.decode(summary.encode()).add('x'), { instanceOf: TypeError, message: /decoded/ })
})

test('bad sizes are rejected', (t) => {
  for (const bits of [32, 100, 8192, 0]) t.throws(() => new InterestFilter({ bits }), { instanceOf: RangeError })
  for (const hashes of [0, 17, 1.5]) t.throws(() => new InterestFilter({ hashes }), { instanceOf: RangeError })
  t.throws(() => InterestFilter.from([], { falsePositiveRate: 0 }), { instanceOf: RangeError })
})

test('from() sizes for the target rate, capped at 4096 bits', (t) => {
  const few = InterestFilter.from(['a'])
  t.is(few.bits, 64)
  const filters = Array.from({ length: 200 }, (_, i) => `f/${i}`)
  const sized = InterestFilter.from(filters)
  t.is(sized.bits, 2048)
  t.is(sized.hashes, 7)
  t.true(sized.falsePositiveRate() < 0.01, String(sized.falsePositiveRate()))
  t.is(InterestFilter.from(Array.from({ length: 5000 }, (_, i) => `g/${i}`)).bits, 4096)
  t.is(sized.encodedLength, 5 + 2 + 256)
})

/** Random filters and topics over a small vocabulary, so that many pairs match. */
function generator(seed: number) {
  const random = seeded(seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]
  const words = ['', 'a', 'b', 'c', 'dé', '😀', '$x']
  const levels = (max: number) => Array.from({ length: 1 + Math.floor(random() * max) }, () => pick(words))
  return {
    random,
    topic: (max = 11): string => levels(max).join('/') || 'a',
    filter: (max = 11): string => {
      const parts = levels(max).map((word) => (random() < 0.3 ? '+' : word))
      if (random() < 0.3) parts.push('#')
      return parts.join('/') || '+'
    },
  }
}

function assertNoFalseNegatives(t: import('ava').ExecutionContext, filters: string[], topics: string[]) {
  const summary = new InterestFilter({ bits: 4096, hashes: 7 })
  for (const filter of filters) summary.add(filter)
  const decoded = InterestFilter.decode(summary.encode())
  const matchers = filters.map(compileFilter)
  let matched = 0
  for (const topic of topics) {
    if (!matchers.some((m) => m.matches(topic))) continue
    matched++
    if (!summary.mayMatch(topic) || !decoded.mayMatch(topic)) {
      t.fail(`false negative for ${JSON.stringify(topic)}`)
      return { summary, matched }
    }
  }
  return { summary, matched }
}

test('no false negatives over random filters and topics (few shapes)', (t) => {
  let matched = 0
  for (let round = 0; round < 40; round++) {
    const gen = generator(round)
    const filters = Array.from({ length: 5 }, () => gen.filter(4))
    const topics = Array.from({ length: 500 }, () => gen.topic(5))
    const result = assertNoFalseNegatives(t, filters, topics)
    t.false(result.summary.coarse)
    matched += result.matched
  }
  t.true(matched > 2000, `enough matching pairs (${matched})`)
})

test('no false negatives over random filters and topics (many shapes, coarsened, deep topics)', (t) => {
  for (let round = 0; round < 10; round++) {
    const gen = generator(1000 + round)
    const filters = Array.from({ length: 200 }, () => gen.filter())
    const topics = Array.from({ length: 3000 }, () => gen.topic())
    const { summary, matched } = assertNoFalseNegatives(t, filters, topics)
    t.true(matched > 300, `enough matching pairs (${matched})`)
    t.true(summary.coarse, 'more than 32 shapes coarsen the summary')
    t.true(summary.shapeCount <= 17, String(summary.shapeCount))
  }
})

test('coarsening starts at the 33rd shape and keeps every filter', (t) => {
  const summary = new InterestFilter()
  const filters: string[] = []
  for (let mask = 0; mask < MAX_SHAPES; mask++) {
    // 6-level filters, each with a different '+' mask: 32 shapes.
    filters.push(Array.from({ length: 6 }, (_, i) => (mask & (1 << i) ? '+' : `w${i}`)).join('/'))
  }
  for (const f of filters) summary.add(f)
  t.false(summary.coarse)
  t.is(summary.shapeCount, MAX_SHAPES)
  summary.add('z/+/+/+/+/+/+')
  t.true(summary.coarse)
  t.true(summary.mayMatch('w0/w1/x/w3/w4/w5'))
  t.true(summary.mayMatch('z/1/2/3/4/5/6'))
  t.true(InterestFilter.decode(summary.encode()).coarse)
})

test('the measured false-positive rate stays within the documented bound', (t) => {
  const gen = generator(42)
  // 300 filters of four shapes, the way applications subscribe: exact topics, one '+', a '#' prefix.
  const filters = new Set<string>()
  for (let i = 0; filters.size < 300; i++) {
    const shape = i % 4
    const id = Math.floor(gen.random() * 1e9).toString(36)
    filters.add(shape === 0 ? `dev/${id}/temp` : shape === 1 ? `dev/+/${id}` : shape === 2 ? `app/${id}/#` : `x/${id}`)
  }
  const summary = InterestFilter.from(filters)
  t.is(summary.shapeCount, 4)
  const matchers = [...filters].map(compileFilter)
  const probe = new TopicProbe()
  let tested = 0
  let positives = 0
  let bound = 0
  for (let i = 0; tested < 20000; i++) {
    const id = Math.floor(gen.random() * 1e9).toString(36)
    const topic = [`dev/${id}/temp`, `dev/${id}/${id}`, `app/${id}/a/b`, `x/${id}`, `x/${id}/y`][i % 5]
    if (matchers.some((m) => m.matches(topic))) continue
    tested++
    bound += summary.falsePositiveRate(topic)
    if (summary.mayMatch(probe.reset(topic))) positives++
  }
  const measured = positives / tested
  const expected = bound / tested
  t.log(`bits ${summary.bits}, hashes ${summary.hashes}, per probe ${summary.falsePositiveRate().toFixed(4)}`)
  t.log(`measured ${measured.toFixed(4)}, bound ${expected.toFixed(4)}`)
  t.true(summary.falsePositiveRate() <= 0.01)
  t.true(expected <= 0.03, 'at most 3 shapes apply to these topics')
  // 20000 trials: allow three standard deviations of sampling noise above the bound.
  t.true(measured <= expected + 3 * Math.sqrt(expected / tested), `${measured} > ${expected}`)
})

test('encode and decode round-trip, and the encoding is stable (test vector)', (t) => {
  const summary = new InterestFilter({ bits: 64, hashes: 2 }).add('a/+/c').add('x/#')
  const vector = hex(summary.encode())
  t.is(vector.slice(0, 10), '0100020602', 'version 1, flags 0, 2 hashes, 2^6 bits, 2 shapes')
  t.is(vector.slice(10, 18), '0302' + '8100', 'shapes: 3 levels with level 1 "+", then 1 level and "#"')
  t.is(vector, INTEREST_VECTOR)
  const decoded = InterestFilter.decode(unhex(INTEREST_VECTOR))
  t.is(hex(decoded.encode()), INTEREST_VECTOR)
  t.true(decoded.mayMatch('a/b/c'))
  t.true(decoded.mayMatch('x/y'))
  t.is(decoded.bits, 64)
  t.is(decoded.hashes, 2)
})

/** `new InterestFilter({ bits: 64, hashes: 2 }).add('a/+/c').add('x/#')`. */
const INTEREST_VECTOR = '0100020602' + '0302' + '8100' + '0000260000000400'

test('malformed summaries throw TopicWireError', (t) => {
  const good = new InterestFilter({ bits: 64, hashes: 2 }).add('a/+/c').encode()
  const cases: [string, Uint8Array, RegExp][] = [
    ['short', good.subarray(0, 4), /shorter than its header/],
    ['version', Uint8Array.from([2, ...good.subarray(1)]), /version 2/],
    ['flags', Uint8Array.from([1, 4, ...good.subarray(2)]), /unknown interest summary flags 4/],
    ['no hashes', Uint8Array.from([1, 0, 0, ...good.subarray(3)]), /0 hashes/],
    ['17 hashes', Uint8Array.from([1, 0, 17, ...good.subarray(3)]), /17 hashes/],
    ['bits', Uint8Array.from([1, 0, 2, 13, ...good.subarray(4)]), /2\^13 bits/],
    ['bits small', Uint8Array.from([1, 0, 2, 5, ...good.subarray(4)]), /2\^5 bits/],
    ['33 shapes', Uint8Array.from([1, 0, 2, 6, 33, ...good.subarray(5)]), /33 shapes/],
    ['truncated', good.subarray(0, good.length - 1), /expected 15/],
    ['trailing', Uint8Array.from([...good, 0]), /expected 15/],
    ['9 levels', Uint8Array.from([...good.subarray(0, 5), 9, 0, ...good.subarray(7)]), /impossible/],
    ['mask past levels', Uint8Array.from([...good.subarray(0, 5), 2, 4, ...good.subarray(7)]), /impossible/],
    ['exact without levels', Uint8Array.from([...good.subarray(0, 5), 0, 0, ...good.subarray(7)]), /impossible/],
    ['bits 4..6 of levels', Uint8Array.from([...good.subarray(0, 5), 0x13, 0, ...good.subarray(7)]), /impossible/],
  ]
  for (const [name, data, message] of cases) {
    const err = t.throws(() => InterestFilter.decode(data), { instanceOf: TopicWireError, message }, name)
    t.is(err?.code, 'ERR_GLUE_TOPIC_WIRE')
  }
  const twoShapes = new InterestFilter({ bits: 64, hashes: 2 }).add('a/+/c').add('b/+/d').encode()
  t.is(twoShapes[4], 1, 'one shape for two filters')
  const duplicate = Uint8Array.from([...twoShapes.subarray(0, 4), 2, 3, 2, 3, 2, ...twoShapes.subarray(7)])
  t.throws(() => InterestFilter.decode(duplicate), { instanceOf: TopicWireError, message: /duplicate/ })
})

test('the interest summary of docs/PROTOCOL.md is what the encoder makes of a/+ and b/#', (t) => {
  const datagram = protocolVectors('hex').get('announce-interest') as Buffer
  const record = datagram.subarray(datagram.length - 20)
  t.deepEqual([...record.subarray(0, 3)], [0x10, 17, 0], 'extension type 0x10, length 17')
  const summary = new InterestFilter({ bits: 64, hashes: 2 }).add('a/+').add('b/#')
  t.is(Buffer.from(summary.encode()).toString('hex'), record.subarray(3).toString('hex'))
  const decoded = InterestFilter.decode(record.subarray(3))
  t.true(decoded.mayMatch('a/x') && decoded.mayMatch('b') && decoded.mayMatch('b/c/d'))
})

test('the wildcard summary of docs/PROTOCOL.md: shapes with "#", inclusive hash indices, keys and steps', (t) => {
  const summary = protocolVectors('interest-hex').get('summary-wildcards') as Buffer
  const filters = ['#', '+', 'a/+/#', 'a/b']
  const built = new InterestFilter({ bits: 64, hashes: 3 })
  for (const filter of filters) built.add(filter)
  t.is(Buffer.from(built.encode()).toString('hex'), summary.toString('hex'))
  t.deepEqual([...summary.subarray(5, 13)], [0x80, 0x00, 0x01, 0x01, 0x82, 0x02, 0x02, 0x00], 'the shape bytes')
  const doc = readFileSync(join(__dirname, '..', 'docs', 'PROTOCOL.md'), 'utf8')
  const block = /^```interest-keys summary-wildcards\n([\s\S]*?)^```/m.exec(doc)?.[1] ?? ''
  const rows = block.trim().split('\n').map((line) => /^'(\S+)'\s+([0-9a-f]{8})\s+([0-9a-f]{8})\s+([\d ]+)$/.exec(line.trim()))
  t.deepEqual(rows.map((row) => row?.[1]), filters, 'one row per filter')
  const bloom = summary.subarray(13)
  for (const row of rows) {
    if (row === null) continue
    const [, filter, keyHex, stepHex, bitList] = row
    const { key } = summarise(filter, false)
    t.is((key >>> 0).toString(16).padStart(8, '0'), keyHex, `key of ${filter}`)
    t.is((probeStep(key) >>> 0).toString(16).padStart(8, '0'), stepHex, `step of ${filter}`)
    const bits = bitList.trim().split(/\s+/).map(Number)
    t.deepEqual(bits, [0, 1, 2].map((i) => (key + Math.imul(i, probeStep(key))) & 63), `bits of ${filter}: i = 0..hashes-1`)
    for (const b of bits) t.true((bloom[b >> 3] & (1 << (b & 7))) !== 0, `bit ${b} of ${filter} is set`)
  }
  const decoded = InterestFilter.decode(summary)
  for (const topic of ['x', 'a/b', 'a/q', 'a/q/r', 'zz/top']) t.true(decoded.mayMatch(topic), topic)
  t.false(decoded.mayMatch('$SYS/x'), 'the $ rule: "#" and "+" do not match $ names')
})
