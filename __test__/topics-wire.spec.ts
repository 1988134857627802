import test from 'ava'

import { isTopicPayload, TOPIC_ENVELOPE, unwrapTopicMessage } from '../src/topics/envelope'
import { TopicError, TopicWireError } from '../src/topics/errors'
import {
  decodeTopicMessage,
  directHeader,
  encodeDigest,
  encodeDirect,
  encodeHistory,
  encodePublish,
  encodeRepair,
  type HistoryMessage,
  parsePublisherKey,
  publisherKey,
  type PublishMessage,
} from '../src/topics/wire'
import { protocolVectors } from './helpers/protocol-doc'
import { seeded } from './helpers/seeded-random'

/** Hex with `#` comments and whitespace, as in docs/PROTOCOL.md. */
const unhex = (text: string): Buffer => Buffer.from(text.replace(/#.*$/gm, '').replace(/\s+/g, ''), 'hex')
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')

const PUBLISHER = publisherKey('0123456789abcdef', 7)

/** The topic message vectors of docs/PROTOCOL.md (payloads: the envelope "GT", then the message). */
const DOC = protocolVectors('topic-hex')
/** A documented vector without its envelope, as hex. */
function documented(name: string): string {
  const payload = DOC.get(name)
  if (payload === undefined || !isTopicPayload(payload)) throw new Error(`PROTOCOL.md lacks topic vector ${name}`)
  return Buffer.from(unwrapTopicMessage(payload)).toString('hex')
}
const PUBLISH_VECTOR = documented('publish')
const HISTORY_VECTOR = documented('history')
const DIGEST_VECTOR = documented('digest')
const REPAIR_VECTOR = documented('repair')
const DIRECT_VECTOR = documented('direct')

const PUBLISH: Omit<PublishMessage, 'kind'> = {
  epoch: 0x01020304,
  seq: 5,
  timestamp: 1700000000000,
  lifespanMs: Infinity,
  depth: 10,
  retain: true,
  sealed: false,
  codec: 1,
  topic: 'a/b',
  type: 'T',
  payload: Buffer.from('{}'),
}


const HISTORY: Omit<HistoryMessage, 'kind'> = {
  publisher: PUBLISHER,
  firstAvailable: 3,
  depth: 2,
  topic: 's/1',
  type: '',
  records: [
    { seq: 3, timestamp: 1000, lifespanMs: 500, retain: false, sealed: false, codec: 0, payload: Uint8Array.of(0xaa) },
    { seq: 4, timestamp: 1001, lifespanMs: Infinity, retain: true, sealed: false, codec: 2, payload: Uint8Array.of() },
  ],
}




test('PUBLISH: test vector and round trip', (t) => {
  const encoded = encodePublish(PUBLISH)
  t.is(hex(encoded), hex(unhex(PUBLISH_VECTOR)))
  const decoded = decodeTopicMessage(unhex(PUBLISH_VECTOR))
  t.deepEqual(decoded, { kind: 'publish', ...PUBLISH, payload: decoded.kind === 'publish' ? decoded.payload : null })
  t.is(decoded.kind === 'publish' ? Buffer.from(decoded.payload).toString() : '', '{}')
})

test('PUBLISH: the payload is a view into the message, lifespans are rounded up and capped', (t) => {
  const data = encodePublish({ ...PUBLISH, lifespanMs: 1.2, payload: Buffer.from('xyz') })
  const decoded = decodeTopicMessage(data) as PublishMessage
  t.is(decoded.payload.buffer, data.buffer)
  t.is(decoded.lifespanMs, 2)
  const long = decodeTopicMessage(encodePublish({ ...PUBLISH, lifespanMs: 2 ** 40 })) as PublishMessage
  t.is(long.lifespanMs, 0xfffffffe)
  const big = { ...PUBLISH, seq: Number.MAX_SAFE_INTEGER, timestamp: Number.MAX_SAFE_INTEGER, epoch: 0xffffffff }
  t.like(decodeTopicMessage(encodePublish(big)), { seq: big.seq, timestamp: big.timestamp, epoch: big.epoch })
  const unicode = { ...PUBLISH, topic: '$glue/ü/😀', type: 'Größe', retain: false, codec: 200 }
  const expected = { topic: unicode.topic, type: unicode.type, retain: false, codec: 200 }
  t.like(decodeTopicMessage(encodePublish(unicode)), expected)
})

test('HISTORY: test vector and round trip', (t) => {
  t.is(hex(encodeHistory(HISTORY)), hex(unhex(HISTORY_VECTOR)))
  const decoded = decodeTopicMessage(unhex(HISTORY_VECTOR)) as HistoryMessage
  t.is(decoded.kind, 'history')
  t.is(decoded.publisher, PUBLISHER)
  t.like(decoded, { firstAvailable: 3, depth: 2, topic: 's/1', type: '' })
  t.deepEqual(
    decoded.records.map((r) => ({ ...r, payload: hex(r.payload) })),
    HISTORY.records.map((r) => ({ ...r, payload: hex(r.payload) })),
  )
  const empty = decodeTopicMessage(encodeHistory({ ...HISTORY, records: [] })) as HistoryMessage
  t.deepEqual(empty.records, [])
})

test('DIGEST and REPAIR: test vectors and round trips', (t) => {
  const digest = [{ publisher: PUBLISHER, topic: 'x', contiguous: 10, ranges: [[12, 13]] as [number, number][] }]
  t.is(hex(encodeDigest(digest)), hex(unhex(DIGEST_VECTOR)))
  t.deepEqual(decodeTopicMessage(unhex(DIGEST_VECTOR)), { kind: 'digest', streams: digest })
  const repair = [{ publisher: PUBLISHER, topic: 'x', ranges: [[11, 11]] as [number, number][] }]
  t.is(hex(encodeRepair(repair)), hex(unhex(REPAIR_VECTOR)))
  t.deepEqual(decodeTopicMessage(unhex(REPAIR_VECTOR)), { kind: 'repair', streams: repair })
  t.deepEqual(decodeTopicMessage(encodeDigest([])), { kind: 'digest', streams: [] })
})

test('DIRECT: test vector and round trip; the channel is a reserved name, the payload a view', (t) => {
  const message = encodeDirect(directHeader('$glue/consensus/g'), Uint8Array.of(1, 2, 3))
  t.is(hex(message), hex(unhex(DIRECT_VECTOR)))
  t.is(hex(encodeDirect(directHeader('$glue/consensus/g', TOPIC_ENVELOPE), Uint8Array.of(1, 2, 3))), hex(DOC.get('direct') as Buffer))
  const decoded = decodeTopicMessage(message)
  t.like(decoded, { kind: 'direct', channel: '$glue/consensus/g' })
  t.is(hex((decoded as { payload: Uint8Array }).payload), '010203')
  t.is((decoded as { payload: Uint8Array }).payload.buffer, message.buffer, 'a view, not a copy')
  t.like(decodeTopicMessage(encodeDirect(directHeader('$x'), new Uint8Array(0))), { kind: 'direct', channel: '$x', payload: { length: 0 } })
  t.throws(() => directHeader('a/b'), { instanceOf: RangeError, message: /reserved/ })
  t.throws(() => directHeader('$a/+'), { instanceOf: TopicError })
})

test('publisher keys', (t) => {
  t.is(PUBLISHER, '0123456789abcdef.00000007')
  t.deepEqual(parsePublisherKey(PUBLISHER), { id: '0123456789abcdef', epoch: 7 })
  t.is(publisherKey('ABCDEF0123456789', 0xffffffff), 'abcdef0123456789.ffffffff')
  t.throws(() => parsePublisherKey('nope'), { instanceOf: TypeError })
})

test('encoding rejects invalid fields', (t) => {
  t.throws(() => encodePublish({ ...PUBLISH, topic: 'a/+' }), { instanceOf: TopicError })
  t.throws(() => encodePublish({ ...PUBLISH, type: 'x\n' }), { instanceOf: TopicError })
  t.throws(() => encodePublish({ ...PUBLISH, seq: 0 }), { instanceOf: RangeError, message: /seq/ })
  t.throws(() => encodePublish({ ...PUBLISH, seq: 2 ** 53 }), { instanceOf: RangeError, message: /seq/ })
  t.throws(() => encodePublish({ ...PUBLISH, timestamp: -1 }), { instanceOf: RangeError, message: /timestamp/ })
  t.throws(() => encodePublish({ ...PUBLISH, lifespanMs: 0 }), { instanceOf: RangeError, message: /lifespan/ })
  t.throws(() => encodePublish({ ...PUBLISH, codec: 3 }), { instanceOf: RangeError, message: /codec/ })
  t.throws(() => encodePublish({ ...PUBLISH, depth: 65536 }), { instanceOf: RangeError, message: /depth/ })
  t.throws(() => encodePublish({ ...PUBLISH, epoch: -1 }), { instanceOf: RangeError, message: /epoch/ })
  const [first, second] = HISTORY.records
  t.throws(() => encodeHistory({ ...HISTORY, records: [second, first] }), { instanceOf: RangeError, message: /order/ })
  t.throws(() => encodeHistory({ ...HISTORY, publisher: 'p' }), { instanceOf: TypeError })
  const atContiguous = { publisher: PUBLISHER, topic: 'x', contiguous: 5, ranges: [[5, 6]] as const }
  t.throws(() => encodeDigest([atContiguous]), { instanceOf: RangeError })
  const overlapping = { publisher: PUBLISHER, topic: 'x', ranges: [[3, 4], [4, 5]] as const }
  t.throws(() => encodeRepair([overlapping]), { instanceOf: RangeError })
  t.throws(() => encodeRepair([{ publisher: PUBLISHER, topic: 'x', ranges: [[0, 1]] }]), { instanceOf: RangeError })
})

/** Replaces bytes of a vector at an offset. */
function patch(vector: string, offset: number, ...bytes: number[]): Buffer {
  const data = unhex(vector)
  data.set(bytes, offset)
  return data
}

test('malformed messages throw TopicWireError with the offset', (t) => {
  const publish = unhex(PUBLISH_VECTOR)
  const history = unhex(HISTORY_VECTOR)
  const digest = unhex(DIGEST_VECTOR)
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty', new Uint8Array(0), /truncated version/],
    ['version', patch(PUBLISH_VECTOR, 0, 2), /unknown version 2 \(at byte 0\)/],
    ['kind 0', patch(PUBLISH_VECTOR, 1, 0), /unknown kind 0/],
    ['kind 8', patch(DIGEST_VECTOR, 1, 8), /unknown kind 8/], // 6 and 7 are REQUEST and REPLY (request-reply-wire.spec.ts)
    ['publish flags', patch(PUBLISH_VECTOR, 2, 5), /unknown flags 5 \(at byte 2\)/],
    ['publish codec', patch(PUBLISH_VECTOR, 3, 3), /reserved codec id 3 \(at byte 3\)/],
    ['publish truncated header', publish.subarray(0, 20), /truncated timestamp/],
    ['publish seq 0', patch(PUBLISH_VECTOR, 8, 0), /sequence number 0 \(at byte 8\)/],
    ['publish seq above 2^53', patch(PUBLISH_VECTOR, 14, 0x20), /above 2\^53/],
    ['publish lifespan 0', patch(PUBLISH_VECTOR, 24, 0, 0, 0, 0), /lifespan 0/],
    ['publish topic past the end', patch(PUBLISH_VECTOR, 30, 0xff), /truncated topic/],
    ['publish type past the end', publish.subarray(0, 36), /truncated type/],
    ['publish topic with wildcard', patch(PUBLISH_VECTOR, 35, 0x2b), /invalid topic "a\/\+"/],
    ['publish empty topic', patch(PUBLISH_VECTOR, 30, 0, 0, 4), /invalid topic "": must not be empty/],
    ['publish topic not UTF-8', patch(PUBLISH_VECTOR, 33, 0xc3, 0x28), /topic is not valid UTF-8/],
    ['publish type with control char', patch(PUBLISH_VECTOR, 36, 0x07), /invalid type/],
    ['history flags', patch(HISTORY_VECTOR, 2, 1), /flags and reserved byte must be 0/],
    ['history reserved', patch(HISTORY_VECTOR, 3, 1), /flags and reserved byte must be 0/],
    ['history record count too high', patch(HISTORY_VECTOR, 32, 3), /truncated record flags/],
    ['history record flags', patch(HISTORY_VECTOR, 34, 0x80), /unknown flags 128 \(at byte 34\)/],
    ['history record codec', patch(HISTORY_VECTOR, 35, 100), /reserved codec id 100 \(at byte 35\)/],
    ['history payload past the end', patch(HISTORY_VECTOR, 83, 9), /truncated payload/],
    ['history records out of order', patch(HISTORY_VECTOR, 63, 3), /records out of order \(at byte 63\)/],
    ['history trailing bytes', Buffer.concat([history, Buffer.of(0)]), /1 trailing bytes after the history records/],
    ['history truncated', history.subarray(0, history.length - 1), /truncated payload length/],
    ['digest flags', patch(DIGEST_VECTOR, 2, 1), /must be 0/],
    ['digest range at contiguous', patch(DIGEST_VECTOR, 31, 10), /ranges not increasing/],
    ['digest empty range', patch(DIGEST_VECTOR, 39, 11), /ranges not increasing/],
    ['digest trailing', Buffer.concat([digest, Buffer.of(1, 2)]), /2 trailing bytes after the streams/],
    ['digest truncated', digest.subarray(0, digest.length - 3), /truncated range last/],
    ['repair range 0', patch(REPAIR_VECTOR, 23, 0), /ranges not increasing/],
    ['direct flags', patch(DIRECT_VECTOR, 2, 1), /flags and reserved byte must be 0/],
    ['direct reserved', patch(DIRECT_VECTOR, 3, 1), /flags and reserved byte must be 0/],
    ['direct channel past the end', patch(DIRECT_VECTOR, 4, 0xff), /truncated topic/],
    ['direct channel not reserved', patch(DIRECT_VECTOR, 6, 0x61), /DIRECT channel must be a reserved \(\$\) name \(at byte 6\)/],
    ['direct channel with wildcard', patch(DIRECT_VECTOR, 22, 0x23), /invalid topic/],
    ['direct channel truncated', unhex(DIRECT_VECTOR).subarray(0, 5), /truncated channel length/],
  ]
  for (const [name, data, message] of cases) {
    const err = t.throws(() => decodeTopicMessage(data), { instanceOf: TopicWireError, message }, name)
    t.is(err?.code, 'ERR_GLUE_TOPIC_WIRE', name)
  }
})

test('random corruption never throws anything but TopicWireError', (t) => {
  const random = seeded(99)
  const vectors = [PUBLISH_VECTOR, HISTORY_VECTOR, DIGEST_VECTOR, REPAIR_VECTOR, DIRECT_VECTOR].map(unhex)
  let rejected = 0
  for (let i = 0; i < 20000; i++) {
    const data = Buffer.from(vectors[i % vectors.length])
    const flips = 1 + Math.floor(random() * 3)
    for (let f = 0; f < flips; f++) data[Math.floor(random() * data.length)] = Math.floor(random() * 256)
    const cut = random() < 0.3 ? Math.floor(random() * data.length) : data.length
    try {
      decodeTopicMessage(data.subarray(0, cut))
    } catch (err) {
      if (!(err instanceof TopicWireError)) {
        t.fail(`${hex(data.subarray(0, cut))}: ${String(err)}`)
        return
      }
      rejected++
    }
  }
  t.true(rejected > 5000, String(rejected))
})

test('docs/PROTOCOL.md holds exactly these topic vectors, each in its envelope', (t) => {
  t.deepEqual([...DOC.keys()].sort(), ['digest', 'direct', 'history', 'publish', 'repair'])
  const enveloped = [encodePublish(PUBLISH, TOPIC_ENVELOPE), encodeHistory(HISTORY, TOPIC_ENVELOPE)]
  t.deepEqual(
    enveloped.map((m) => m.toString('hex')),
    ['publish', 'history'].map((name) => (DOC.get(name) as Buffer).toString('hex')),
  )
  t.true(isTopicPayload(DOC.get('repair') as Buffer))
  t.false(isTopicPayload(Buffer.from('GT')), 'too short')
  t.false(isTopicPayload(Buffer.from([0x47, 0x54, 2])), 'another version')
})

test('names are taken byte for byte: a leading U+FEFF (EF BB BF) stays part of the topic and the type', (t) => {
  const message = encodePublish({ ...PUBLISH, topic: '\uFEFFa/b', type: '\uFEFFT' })
  t.is(hex(message.subarray(33, 39)), 'efbbbf612f62', 'the topic as sent')
  const decoded = decodeTopicMessage(message)
  t.is(decoded.kind === 'publish' ? decoded.topic : '', '\uFEFFa/b', 'not "a/b": another topic')
  t.is(decoded.kind === 'publish' ? decoded.type : '', '\uFEFFT')
  const history = decodeTopicMessage(encodeHistory({ ...HISTORY, topic: '\uFEFFs' }))
  t.is(history.kind === 'history' ? history.topic : '', '\uFEFFs')
})
