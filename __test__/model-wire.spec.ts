/**
 * The model layer's wire and storage formats against docs/PROTOCOL.md ("Model messages", "Model message vectors"):
 * every documented vector decodes to the fields written here and is what the encoders make of them; every message
 * kind has a vector; random messages survive a round trip; malformed ones are refused with TopicWireError or
 * TooManyRangesError and nothing else; and a real model layer on the simulated network drops a malformed message,
 * counts it, and goes on working.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'

import test from 'ava'
import fc from 'fast-check'

import { CausalContext, MAX_RANGES, TooManyRangesError } from '../src/model/causal-context'
import { Entry } from '../src/model/entry'
import { hashText, mix32, mixNumber, SEED_1, SEED_2 } from '../src/model/hash'
import { HybridClock } from '../src/model/hlc'
import { MAX_ORIGINS, OriginTable } from '../src/model/origins'
import { Replica } from '../src/model/replica'
import { canonicalEncoding, encodeJournal, encodeSnapshot, replayJournal, restoreSnapshot, stateHash } from '../src/model/snapshot'
import { objectTopics } from '../src/model/topics'
import { decodeModelMessage, encodeDelta, encodeDigest, encodePush, encodeWant, ModelKind } from '../src/model/wire'
import { readCount, readEntry, readOrigins } from '../src/model/wire-parts'
import { TopicWireError } from '../src/topics/errors'
import { decodeTopicMessage } from '../src/topics/wire'
import { unwrapTopicMessage } from '../src/topics/envelope'
import { Reader } from '../src/topics/wire-io'
import { ByteWriter } from '../src/util/byte-writer'
import { messageArb, normalised, type Plain, plain, plainContext, plainEntry, encodePlain } from './helpers/model-wire-arb'
import * as V from './helpers/model-vectors'
import { SimNet } from './helpers/model-sim'
import { protocolVectors } from './helpers/protocol-doc'
import { seeded } from './helpers/seeded-random'

const DOC = protocolVectors('model-hex')
const HASHES = protocolVectors('model-hash-hex')
const STATE_VECTORS = ['snapshot', 'journal', 'canonical']
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

function documented(name: string): Buffer {
  const bytes = DOC.get(name)
  if (bytes === undefined) throw new Error(`docs/PROTOCOL.md lacks model vector ${name}`)
  return bytes
}

const A = { id: '0123456789abcdef', incarnation: 0x11223344 }
const B = { id: 'fedcba9876543210', incarnation: 0x55667788 }
/** The timestamp of 1700000000000 ms, logical count `logical`. */
const T = (logical: number): number => 1_700_000_000_000 * 2048 + logical
const HI = [0xa2, 0x68, 0x69]

/** What each documented message must decode to (origins by ID and incarnation; values MessagePack). */
const EXPECTED: Record<string, Plain> = {
  delta: {
    kind: 'delta',
    ack: true,
    sender: A,
    first: 5,
    last: 7,
    entries: [
      { key: 'a', origin: A, counter: 6, hlc: T(0), codec: 2, value: [0x01] },
      { key: 'b', origin: A, counter: 7, hlc: T(1), codec: 0, value: null },
    ],
    removals: [],
  },
  'delta-keep-all': {
    kind: 'delta',
    ack: false,
    sender: A,
    first: 8,
    last: 8,
    entries: [{ key: 'x', origin: A, counter: 8, hlc: T(2), codec: 2, value: HI }],
    removals: [{ key: 'x', origin: B, counter: 3 }],
  },
  digest: {
    kind: 'digest',
    leaving: false,
    sender: A,
    counter: 8,
    hlc: T(2),
    liveKeys: 2,
    entryCount: 3,
    root: [0x89abcdef, 0x01234567],
    context: [[A, 8, []], [B, 3, [[5, 5], [8, 10]]]],
  },
  want: { kind: 'want', request: 1, context: [[A, 8, []], [B, 0, [[2, 3]]]] },
  'push-chunk': { kind: 'push', request: 1, chunk: 0, entries: [{ key: 'c', origin: B, counter: 1, hlc: T(3), codec: 2, value: [0x02] }], end: null },
  'push-last': {
    kind: 'push',
    request: 1,
    chunk: 1,
    entries: [{ key: 'd', origin: B, counter: 4, hlc: T(4), codec: 2, value: [0x01] }],
    end: { chunks: 2, root: [0x0badf00d, 0xfeedface], context: [[A, 8, []], [B, 4, []]] },
  },
  dots: { kind: 'dots', request: 2, answer: true, context: [[A, 8, []]], buckets: [[4, [[A, 6]]], [70, []]] },
  ack: { kind: 'ack', incarnation: 0x11223344, contiguous: 8 },
}
/** The BUCKETS vector: bucket 4 holds A6 (`a`), bucket 70 A7 (the tombstone of `b`), the others nothing. */
const BUCKETS = new Map([
  [4, [0xdaa8821b, 0x732e4afb]],
  [70, [0xf26f0355, 0x4ee0aca2]],
])

test('every documented message decodes to its fields and re-encodes to its bytes', (t) => {
  const built = V.messageVectors()
  for (const [name, bytes] of built) {
    t.is(hex(documented(name)), hex(bytes), `${name}: the encoder makes the documented bytes`)
    const { table } = V.vectorTable()
    const decoded = plain(decodeModelMessage(documented(name), table), table)
    if (name === 'buckets') {
      const hashes = Array.from({ length: 512 }, (_, i) => BUCKETS.get(i >> 1)?.[i & 1] ?? 0)
      t.deepEqual(decoded, { kind: 'buckets', request: 2, hashes })
      t.deepEqual(hashes, Array.from(V.storeOf(table, V.BUCKETS_ENTRIES).bucketHashes()), 'the hashes of those entries')
    } else t.deepEqual(decoded, EXPECTED[name], name)
    t.is(hex(encodePlain(decoded, table)), hex(bytes), `${name}: re-encoded from what was decoded`)
    const fresh = new OriginTable()
    t.deepEqual(plain(decodeModelMessage(documented(name), fresh), fresh), decoded, `${name}: whatever the receiver's numbering`)
  }
})

test('every message kind has a vector, and the document holds no other model vector', (t) => {
  const kinds = new Set<string>()
  for (const [name, bytes] of DOC) if (!STATE_VECTORS.includes(name)) kinds.add(decodeModelMessage(bytes, new OriginTable()).kind)
  t.deepEqual([...kinds].sort(), Object.keys(ModelKind).map((k) => k.toLowerCase()).sort())
  t.deepEqual([...DOC.keys()].sort(), [...V.messageVectors().keys(), ...STATE_VECTORS].sort())
  t.deepEqual([...HASHES.keys()].sort(), ['entry-a6', 'key-a', 'key-u-umlaut', 'origin-a', 'root-buckets', 'state-hash'])
})

test('the diagrams in the module docs of wire.ts, wire-parts.ts and snapshot.ts are those of docs/PROTOCOL.md', (t) => {
  const doc = readFileSync(join(__dirname, '..', 'docs', 'PROTOCOL.md'), 'utf8')
  for (const file of ['wire.ts', 'wire-parts.ts', 'snapshot.ts']) {
    const source = readFileSync(join(__dirname, '..', 'src', 'model', file), 'utf8')
    const diagram = /```text\n([\s\S]*?) \* ```/.exec(source.slice(0, source.indexOf('*/')))?.[1] ?? ''
    const paragraphs = diagram.replace(/^ \*( |$)/gm, '').split(/\n\s*\n/)
    t.true(diagram.length > 400, `${file} has its diagrams`)
    for (const paragraph of paragraphs) {
      // Each paragraph is a title line (in the module doc only) and then lines as they are in the document.
      const lines = paragraph.split('\n').filter((line) => line !== '')
      const body = /^[|+ ]|^\w+:/.test(lines[0]) ? lines : lines.slice(1)
      t.true(doc.includes(body.join('\n')), `${file}: ${body[0]}`)
    }
  }
})

test('the snapshot, journal and canonical vectors', (t) => {
  const replica = V.vectorReplica()
  t.is(hex(documented('snapshot')), hex(encodeSnapshot(replica)))
  t.is(hex(documented('journal')), hex(encodeJournal(V.journalOps(replica.origins))))
  t.is(hex(documented('canonical')), hex(canonicalEncoding(replica)))
  // Restored elsewhere (another origin of its own): the same state, the same bytes.
  const restored = new Replica('lww', new HybridClock(() => V.WALL_MS, 60_000), '00000000000000cc', 7)
  restoreSnapshot(restored, documented('snapshot'))
  t.deepEqual(plainContext(restored.context, restored.origins), [[A, 3, []], [B, 0, [[2, 2]]]])
  const held: ReturnType<typeof plainEntry>[] = []
  restored.store.forEach((e) => held.push(plainEntry(e)))
  const a = { key: 'a', origin: A, counter: 1, hlc: T(0), codec: 2, value: [0x01] }
  const c = { key: 'c', origin: B, counter: 2, hlc: T(3), codec: 2, value: HI }
  t.deepEqual(held, [a, { key: 'b', origin: A, counter: 3, hlc: T(2), codec: 0, value: null }, c])
  t.is(hex(encodeSnapshot(restored)), hex(documented('snapshot')))
  t.is(hex(canonicalEncoding(restored)), hex(documented('canonical')))
  // The canonical encoding decoded with the parts of the messages.
  const r = new Reader(documented('canonical'))
  t.is(r.u8('version'), 1)
  const origins = readOrigins(r, new OriginTable())
  t.deepEqual(Array.from({ length: readCount(r, 'entries', 5) }, () => plainEntry(readEntry(r, origins))), [a, c])
  r.end('canonical')
  // The journal replayed: B1 arrives, A1 goes, B 3..4 are seen.
  replayJournal(restored, documented('journal'))
  t.deepEqual(plainContext(restored.context, restored.origins), [[A, 3, []], [B, 4, []]])
  t.deepEqual(restored.store.at('a'), [])
  t.deepEqual(plainEntry(restored.store.winner('d')!), { key: 'd', origin: B, counter: 1, hlc: T(5), codec: 2, value: [0x02] })
})

test('the hash vectors', (t) => {
  const words = (name: string): number[] => {
    const b = HASHES.get(name) as Buffer
    return Array.from({ length: b.length / 4 }, (_, i) => b.readUInt32LE(4 * i))
  }
  t.deepEqual(words('key-a'), [hashText('a', SEED_1), hashText('a', SEED_2)])
  t.is(words('key-a')[0] & 0xff, 4)
  t.deepEqual(words('key-u-umlaut'), [hashText('ü', SEED_1), hashText('ü', SEED_2)])
  const originKey = `${A.id}.${A.incarnation}`
  t.is(originKey, '0123456789abcdef.287454020')
  t.deepEqual(words('origin-a'), [hashText(originKey, SEED_1), hashText(originKey, SEED_2)])
  const { table } = V.vectorTable()
  const entry = V.entryOf(table, V.E.a6)
  const steps = [mix32(hashText('a', SEED_1), hashText(originKey, SEED_1))]
  steps.push(mix32(steps[0], 0))
  steps.push(mixNumber(steps[1], 6))
  steps.push(mixNumber(steps[2], T(0)))
  t.deepEqual(words('entry-a6'), [...steps, entry.h2 >>> 0])
  t.is(steps[3], entry.h1 >>> 0, "entry hashes are kept as int32: the same bits")
  t.deepEqual(words('root-buckets'), V.storeOf(table, V.BUCKETS_ENTRIES).rootHash())
  t.is(hex(HASHES.get('state-hash') as Buffer), createHash('sha256').update(documented('canonical')).digest('hex'))
  t.is(hex(HASHES.get('state-hash') as Buffer), stateHash(V.vectorReplica()))
})

test('the ACK publication vector: a raw, untyped PUBLISH of depth 0 on the recipient\'s topic', (t) => {
  const publication = protocolVectors('model-topic-hex').get('ack-publication') as Buffer
  const m = decodeTopicMessage(unwrapTopicMessage(publication))
  if (m.kind !== 'publish') throw new Error(m.kind)
  t.like(m, { topic: objectTopics('map', 'cfg', B.id).to(A.id), type: '', codec: 0, depth: 0, retain: false, sealed: false, seq: 1, lifespanMs: Infinity })
  t.is(hex(m.payload), hex(documented('ack')))
})

test('random messages survive a round trip, into the same numbering or a fresh one', (t) => {
  fc.assert(
    fc.property(messageArb, (generated) => {
      const m = normalised(generated)
      const table = new OriginTable()
      const bytes = encodePlain(m, table)
      const decoded = plain(decodeModelMessage(bytes, table), table)
      if (!isDeepStrictEqual(decoded, m)) throw new Error(`decoded ${JSON.stringify(decoded)}`)
      if (hex(encodePlain(decoded, table)) !== hex(bytes)) throw new Error('re-encoded to other bytes')
      const fresh = new OriginTable()
      if (!isDeepStrictEqual(plain(decodeModelMessage(bytes, fresh), fresh), m)) throw new Error('decoded otherwise into a fresh table')
    }),
    { numRuns: 500 },
  )
  t.pass()
})

/** `vector` with byte `at` (which must be `was`) replaced by `value`. */
function patched(name: string, at: number, was: number, value: number): Buffer {
  const data = Buffer.from(documented(name))
  if (data[at] !== was) throw new Error(`${name}[${at}] is ${data[at]}, not ${was}`)
  data[at] = value
  return data
}

/** An ACK whose contiguous field is these varint bytes. */
const ackWith = (varint: number[]): Buffer => Buffer.of(0x07, 0x00, 0x44, 0x33, 0x22, 0x11, ...varint)

/**
 * A WANT whose context has one origin (A) with this prefix and `ranges` ranges (`written` of them written), each
 * `gap` beyond the previous one and `length` long.
 */
function wantWith(contiguous: number, ranges: number, written = ranges, gap = 0, length = 0): Buffer {
  const w = new ByteWriter()
  w.u8(ModelKind.WANT)
  w.u8(0)
  w.u32(1)
  w.varint(1)
  w.id(A.id)
  w.u32(A.incarnation)
  for (const field of [1, 0, contiguous, ranges]) w.varint(field)
  for (let i = 0; i < written; i++) {
    w.varint(gap)
    w.varint(length)
  }
  return w.finish()
}

test('malformed messages throw TopicWireError naming the problem', (t) => {
  const { table, a, b } = V.vectorTable()
  const entry = (key: string, origin = a, counter = 6) => V.entryOf(table, { ...V.E.a6, key, origin: origin === a ? V.A : V.B, counter })
  const delta = (first: number, last: number, entries = [entry('a')]) => encodeDelta({ ack: false, sender: a, first, last, entries, removals: [] })
  const push = (e: ReturnType<typeof entry>) => encodePush({ request: 1, chunk: 0, entries: [e] }, table)
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty', Buffer.alloc(0), /truncated kind/],
    ['kind 0', Buffer.of(0, 0), /unknown model message kind 0/],
    ['kind 8', ackWith([8]).fill(8, 0, 1), /unknown model message kind 8/],
    ['kind 255', ackWith([8]).fill(255, 0, 1), /unknown model message kind 255/],
    ['trailing byte', Buffer.concat([documented('ack'), Buffer.of(0)]), /1 trailing bytes after the model message/],
    ['varint of 9 bytes', ackWith([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), /contiguous is a varint longer than 8 bytes/],
    ['varint 2^53', ackWith([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]), /contiguous above 2\^53 - 1/],
    ['overlong varint', ackWith([0x88, 0x00]), /contiguous is an overlong varint/],
    ['delta entry of another origin', delta(5, 7, [entry('a', b)]), /an entry of another origin or outside 5\.\.7/],
    ['delta entry below first', delta(7, 9), /an entry of another origin or outside 7\.\.9/],
    ['delta entry above last', delta(1, 5), /an entry of another origin or outside 1\.\.5/],
    ['delta first 0', delta(0, 7, []), /bad counter range 0\.\.7/],
    ['delta last < first - 1', delta(5, 3, []), /bad counter range 5\.\.3/],
    ['origin ref beyond the table', patched('delta', 15, 0x00, 0x01), /origin ref 1 beyond the table/],
    ['origin count beyond the message', patched('delta', 2, 0x01, 0x7f), /origin count 127 exceeds the message/],
    ['entry counter 0', push(entry('a', a, 0)), /counter 0 \(counters start at 1\)/],
    ['key of 4097 bytes', push(entry('k'.repeat(4097))), /key longer than 4096 bytes/],
    ['key not UTF-8', patched('push-chunk', 22, 0x63, 0xff), /key is not valid UTF-8/],
    ['last chunk 1 of 3', patched('push-last', 48, 0x02, 0x03), /last chunk 1 of 3/],
    ['ranges beyond the message', wantWith(0, 100, 10), /truncated ranges/],
    ['range beyond 2^53 - 1', wantWith(Number.MAX_SAFE_INTEGER - 1, 1), /range beyond 2\^53 - 1/],
  ]
  for (const [name, data, message] of cases) {
    t.throws(() => decodeModelMessage(data, new OriginTable()), { instanceOf: TopicWireError, message }, name)
  }
  t.notThrows(() => decodeModelMessage(push(entry('k'.repeat(4096))), new OriginTable()), 'a key of 4096 bytes')
  t.like(decodeModelMessage(ackWith([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]), new OriginTable()), { contiguous: Number.MAX_SAFE_INTEGER })
  t.like(decodeModelMessage(patched('ack', 1, 0x00, 0xfe), new OriginTable()), { kind: 'ack', contiguous: 8 }, 'unknown flags are ignored')
})

test(`a context of more than MAX_RANGES (${MAX_RANGES}) ranges for one origin throws TooManyRangesError`, (t) => {
  const ok = decodeModelMessage(wantWith(0, MAX_RANGES), new OriginTable())
  t.is(ok.kind === 'want' && ok.context.of(0)?.ranges.length, 2 * MAX_RANGES)
  t.throws(() => decodeModelMessage(wantWith(0, MAX_RANGES + 1), new OriginTable()), { instanceOf: TooManyRangesError })
})

test('every message truncated at every byte throws TopicWireError', (t) => {
  for (const [name, bytes] of V.messageVectors()) {
    for (let cut = 0; cut < bytes.length; cut++) {
      const err = t.throws(() => decodeModelMessage(bytes.subarray(0, cut), new OriginTable()), { instanceOf: TopicWireError }, `${name} cut at ${cut}`)
      t.regex(err?.message ?? '', /truncated|exceeds the message/, `${name} cut at ${cut}`)
    }
  }
})

test('random corruption never throws anything but TopicWireError or TooManyRangesError', (t) => {
  const random = seeded(9)
  const vectors = [...V.messageVectors().values()]
  let rejected = 0
  for (let i = 0; i < 20000; i++) {
    const data = Buffer.from(vectors[i % vectors.length])
    const flips = 1 + Math.floor(random() * 3)
    for (let f = 0; f < flips; f++) data[Math.floor(random() * data.length)] = Math.floor(random() * 256)
    const cut = random() < 0.3 ? Math.floor(random() * data.length) : data.length
    try {
      decodeModelMessage(data.subarray(0, cut), new OriginTable())
    } catch (err) {
      if (!(err instanceof TopicWireError || err instanceof TooManyRangesError)) return t.fail(`${hex(data.subarray(0, cut))}: ${String(err)}`)
      rejected++
    }
  }
  t.true(rejected > 5000, String(rejected))
})

test('a model layer drops malformed messages from the network, counts them, and keeps working', async (t) => {
  const net = new SimNet(7)
  const [a, b, forger] = ['000000000000000a', '000000000000000b', '00000000000000ff'].map((id) => net.add(id))
  const ma = await a.layer.map<number>('cfg', { digestIntervalMs: 100 })
  const mb = await b.layer.map<number>('cfg', { digestIntervalMs: 100 })
  ma.set('k', 1)
  t.true(await net.runUntilTrue(() => mb.get('k') === 1, 10_000))
  const before = [ma.canonical(), mb.canonical()]
  // What the forger sends on the map's topic: its own origin, and one that claims to be A's.
  const table = new OriginTable()
  const own = table.intern(forger.id, 5)
  const claimed = table.intern(a.id, 5)
  const hlc = (1_800_000_000_000 + net.now) * 2048
  const write = (origin: typeof own, counter: number, value: number) => new Entry('k', origin, counter, hlc, 2, Uint8Array.of(value))
  const valid = encodeDelta({ ack: false, sender: own, first: 1, last: 1, entries: [write(own, 1, 7)], removals: [] })
  const malformed = [
    valid.subarray(0, valid.length - 1),
    Buffer.concat([valid, Buffer.of(0)]),
    Buffer.concat([Buffer.of(0x09), valid.subarray(1)]),
    encodeDelta({ ack: false, sender: own, first: 1, last: 1, entries: [write(claimed, 1, 9)], removals: [] }),
    encodeDelta({ ack: false, sender: claimed, first: 1, last: 1, entries: [write(claimed, 1, 9)], removals: [] }),
    encodeDigest({ leaving: true, sender: claimed, counter: 1, hlc, liveKeys: 0, entryCount: 0, root: [0, 0], context: new CausalContext() }, table),
  ]
  const topic = objectTopics('map', 'cfg', forger.id).all
  for (const payload of malformed) void forger.publish(topic, payload)
  const counted = () => a.layer.stats().modelMalformed === malformed.length && b.layer.stats().modelMalformed === malformed.length
  t.true(await net.runUntilTrue(counted, 10_000), `counted ${a.layer.stats().modelMalformed}, ${b.layer.stats().modelMalformed}`)
  t.deepEqual([ma.canonical(), mb.canonical()], before, 'nothing was applied')
  t.deepEqual([ma.members(), mb.members()].map((list) => list.map((m) => m.id)), [[b.id], [a.id]], 'the forger did not become a member')
  let synced = false
  void ma.synced({ timeoutMs: 5000 }).then(() => (synced = true))
  t.true(await net.runUntilTrue(() => synced, 10_000), 'synced() does not wait for the forger')
  // The map goes on: a new write spreads, and a well-formed delta from the third endpoint is applied.
  ma.set('j', 2)
  t.true(await net.runUntilTrue(() => mb.get('j') === 2, 10_000))
  void forger.publish(topic, valid)
  t.true(await net.runUntilTrue(() => ma.get('k') === 7 && mb.get('k') === 7, 10_000))
  t.is(a.layer.stats().modelMalformed, malformed.length)
  t.is(b.layer.stats().modelMalformed, malformed.length)
  await Promise.all([ma.close(), mb.close()])
})

test(`the origin table is bounded: messages naming origins beyond MAX_ORIGINS (${MAX_ORIGINS}) are dropped and counted`, async (t) => {
  const net = new SimNet(11)
  const [a, forger] = ['000000000000000a', '00000000000000ff'].map((id) => net.add(id))
  const ma = await a.layer.map<number>('cfg', { digestIntervalMs: 100 })
  await net.runFor(50)
  const topic = objectTopics('map', 'cfg', forger.id).all
  // WANTs whose contexts name 4096 made-up origins each: the table fills up, then messages are refused.
  const messages = Math.ceil(MAX_ORIGINS / 4096) + 2
  for (let m = 0; m < messages; m++) {
    const table = new OriginTable()
    const context = new CausalContext()
    for (let i = 0; i < 4096; i++) context.add(table.intern(`${m.toString(16).padStart(4, '0')}${i.toString(16).padStart(12, '0')}`, 1).index, 1)
    void forger.publish(topic, encodeWant(m + 1, context, table))
  }
  t.true(await net.runUntilTrue(() => a.layer.stats().modelMalformed >= 2, 10_000), `counted ${a.layer.stats().modelMalformed}`)
  ma.set('still', 1)
  t.is(ma.get('still'), 1, 'the map goes on')
  await ma.close()
  t.deepEqual(net.errors, [])
})
