/**
 * Topic keys through `Endpoint` on the in-memory fake network: publications on keyed topics are sealed end to end;
 * endpoints without the key read nothing (one `topic-key-error` event, then counted) and cannot forge (unsealed or
 * tampered publications are dropped); a caching endpoint without the key keeps and repairs the sealed records; the
 * test vector of docs/PROTOCOL.md.
 */
import test, { type ExecutionContext } from 'ava'

import { Endpoint, type StatusEvent, type TopicMessage, type TopicOptions } from '../index'
import { TOPIC_ENVELOPE, unwrapTopicMessage } from '../src/topics/envelope'
import { decodeTopicMessage } from '../src/topics/wire-decode'
import { sealWith, streamKey, topicKeyId } from '../src/topics/topic-keys'
import { encodeHistory, encodePublish } from '../src/topics/wire'
import { publisherKey } from '../src/topics/wire-format'
import { BatchBuilder, FakeNetwork, type FakeTransport } from './helpers/fake-transport'
import { until } from './helpers/loopback'
import { protocolVectors } from './helpers/protocol-doc'

const SECRET = Buffer.alloc(32, 0x11)
/** Seals as a publisher with `key` would (for forgeries). */
const sealWith_ = (key: Buffer, salt: Buffer, context: Parameters<typeof sealWith>[3]) =>
  sealWith(streamKey(key, salt, context.topic), topicKeyId(key), salt, context, Buffer.from('forged'))
const OTHER = Buffer.alloc(32, 0x22)

/** Endpoints on one fake network, each with its own topic options; closed when the test ends. */
async function network(t: ExecutionContext, ...topics: TopicOptions[]) {
  const net = new FakeNetwork()
  const eps: Endpoint[] = []
  t.teardown(() => Promise.all(eps.map((ep) => ep.close())))
  for (const [i, options] of topics.entries()) {
    eps.push(await Endpoint.openWith(net.open, { env: false, name: `E${i}`, maxDatagramSize: 1472, topics: options }))
  }
  if (!(await until(() => eps.every((ep) => ep.peers().length === eps.length - 1)))) throw new Error('no discovery')
  const transport = (ep: Endpoint) => net.transports.find((tr) => tr.id === ep.id) as FakeTransport
  return { net, eps, transport }
}

function collect(ep: Endpoint, filter: string) {
  const got: TopicMessage[] = []
  ep.subscribe(filter, { callback: (m) => got.push(m) })
  const events: StatusEvent[] = []
  ep.onStatus((e) => events.push(e))
  return { got, events }
}

/** Waits until every endpoint knows the interest summaries of `subscribers`. */
async function interested(eps: Endpoint[], subscribers: Endpoint[]) {
  await new Promise((resolve) => setImmediate(resolve))
  const ids = new Set(subscribers.map((s) => s.id))
  return until(() => eps.every((ep) => ep.peers().every((p) => !ids.has(p.id) || p.extensions.has(0x10))))
}

test('a keyed topic is sealed end to end: holders of the key read it, the wire and others do not', async (t) => {
  const { eps, transport } = await network(t, { keys: { 'plant/secret/#': SECRET } }, { keys: { 'plant/secret/#': SECRET } }, {})
  const [a, b, c] = eps
  const atB = collect(b, 'plant/#')
  const atC = collect(c, 'plant/#')
  t.true(await interested(eps, [b, c]))
  await a.publish('plant/secret/pump3', { rpm: 1200 }, { codec: 'json', reliable: true })
  await a.publish('plant/open/pump3', 'plain', { reliable: true })
  t.true(await until(() => atB.got.length === 2 && atC.got.length === 1))
  t.deepEqual(atB.got.map((m) => [m.topic, m.text()]), [['plant/secret/pump3', '{"rpm":1200}'], ['plant/open/pump3', 'plain']])
  t.deepEqual(atC.got.map((m) => m.topic), ['plant/open/pump3'], 'C without the key reads nothing of the secret topic')
  const wire = Buffer.concat(transport(a).reliable.map((s) => s.data))
  t.false(wire.includes(Buffer.from('1200')), 'the value never crosses the wire in clear')
  t.true(await until(() => atC.events.some((e) => e.type === 'topic-key-error')))
  const event = atC.events.find((e) => e.type === 'topic-key-error')
  t.like(event, { type: 'topic-key-error', topic: 'plant/secret/pump3', error: { reason: 'no-key', code: 'ERR_GLUE_TOPIC_KEY' } })
  await a.publish('plant/secret/pump3', { rpm: 1300 }, { codec: 'json', reliable: true })
  t.true(await until(() => c.stats().topicKeyMissing === 2))
  t.is(atC.events.filter((e) => e.type === 'topic-key-error').length, 1, 'reported once, counted thereafter')
})

test('without the key, publications on a keyed topic cannot be forged', async (t) => {
  const { eps, transport } = await network(t, {}, { keys: { 'plant/secret/#': SECRET } })
  const [mallory, b] = eps
  const atB = collect(b, 'plant/#')
  t.true(await interested(eps, [b]))
  // Unsealed, on a topic B has a key for.
  await mallory.publish('plant/secret/valve', 'open it', { reliable: true })
  t.true(await until(() => b.stats().topicUnsealed === 1))
  // Sealed-looking, with the right key ID but sealed with another key.
  const context = { publisherId: mallory.id, epoch: 7, seq: 1, timestamp: 1, codec: 0, retain: false, topic: 'plant/secret/valve', type: '' }
  const salt = Buffer.alloc(16, 3)
  const forged = sealWith(streamKey(OTHER, salt, context.topic), topicKeyId(SECRET), salt, context, Buffer.from('open it'))
  const message = encodePublish(
    { ...context, lifespanMs: Infinity, depth: 0, sealed: true, payload: forged },
    TOPIC_ENVELOPE,
  )
  transport(b).deliver(new BatchBuilder().message(mallory.id, message, false, true).build())
  t.true(await until(() => b.stats().topicUnauthenticated === 1))
  t.deepEqual(atB.got, [])
  const reasons = atB.events.flatMap((e) => (e.type === 'topic-key-error' ? [e.error.reason] : []))
  t.deepEqual(reasons.sort(), ['unauthenticated', 'unsealed'])
})

test('a caching endpoint without the key keeps and repairs sealed records for a late subscriber', async (t) => {
  const keys = { 'plant/secret/#': SECRET }
  const { net, eps } = await network(t, { keys }, { cache: { filters: ['plant/#'] } })
  const [publisher, cache] = eps
  t.true(await interested(eps, [cache]))
  for (let i = 1; i <= 3; i++) await publisher.publish('plant/secret/t', `${i}`, { reliable: true })
  t.true(await until(() => cache.stats().topicDelivered === 0 && cache.stats().topicDuplicates === 0))
  await publisher.close() // gone: only the cache has them now
  const late = await Endpoint.openWith(net.open, { env: false, name: 'late', maxDatagramSize: 1472, topics: { keys } })
  t.teardown(() => late.close())
  const got: TopicMessage[] = []
  late.subscribe('plant/#', { callback: (m) => got.push(m) })
  t.true(await until(() => got.length === 3, 5000))
  t.deepEqual(got.map((m) => [m.text(), m.replayed]), [['1', true], ['2', true], ['3', true]])
  t.is(cache.stats().topicKeyMissing, 0, 'the cache only kept them: it had no subscription to open them for')
})

test('the first matching filter picks the key; bad keys and filters are named', async (t) => {
  const keys = { 'a/private/#': SECRET, 'a/#': OTHER }
  const { eps } = await network(t, { keys }, { keys: { 'a/private/#': SECRET } })
  const [a, b] = eps
  const atB = collect(b, 'a/#')
  t.true(await interested(eps, [b]))
  await a.publish('a/private/x', 'mine', { reliable: true })
  await a.publish('a/y', 'other key', { reliable: true })
  t.true(await until(() => atB.got.length === 1 && b.stats().topicKeyMissing === 1))
  t.is(atB.got[0].text(), 'mine')
  await t.throwsAsync(Endpoint.openWith(new FakeNetwork().open, { env: false, topics: { keys: { 'a/#': 'short' } } }), {
    code: 'ERR_GLUE_INVALID_OPTION',
    message: /topics\.keys\["a\/#"\]/,
  })
  await t.throwsAsync(Endpoint.openWith(new FakeNetwork().open, { env: false, topics: { keys: { 'a/#/b': SECRET } } }), {
    code: 'ERR_GLUE_INVALID_TOPIC',
  })
})

test('docs/PROTOCOL.md: the sealed publication vector', (t) => {
  const blocks = protocolVectors('topic-sealed-hex')
  const vector = blocks.get('publish-sealed')?.toString('hex')
  t.truthy(vector, 'the document has the vector')
  const key = Buffer.from(Array.from({ length: 32 }, (_, i) => i))
  const salt = Buffer.from(Array.from({ length: 16 }, (_, i) => 0xa0 + i))
  const context = {
    publisherId: '0123456789abcdef',
    epoch: 0x01020304,
    seq: 5,
    timestamp: 1700000000000,
    codec: 1,
    retain: false,
    topic: 'a/b',
    type: '',
  }
  const sealed = sealWith(streamKey(key, salt, context.topic), topicKeyId(key), salt, context, Buffer.from('{}'))
  const message = encodePublish(
    { ...context, epoch: context.epoch, lifespanMs: Infinity, depth: 0, sealed: true, payload: sealed },
    TOPIC_ENVELOPE,
  )
  t.is(message.toString('hex'), vector ?? '')
  t.is(topicKeyId(key), blocks.get('topic-key-id')?.readUInt32LE(0) ?? -1)
})

test('forgeries on a keyed topic take no number and stay out of the cache: the real publications still arrive', async (t) => {
  const keys = { 'plant/secret/#': SECRET }
  // B also has the key of another topic, which mallory has too: it must not vouch for plant/secret/#.
  const bKeys = { ...keys, 'public/#': OTHER }
  const { eps, transport } = await network(t, { keys }, { keys: bKeys, cache: { filters: ['plant/#'] } }, { keys: { 'public/#': OTHER } })
  const [publisher, b, mallory] = eps
  const atB = collect(b, 'plant/#')
  t.true(await interested(eps, [b]))
  await publisher.publish('plant/secret/x', 'one', { reliable: true, depth: 10 })
  t.true(await until(() => atB.got.length === 1))
  const first = decodeTopicMessage(unwrapTopicMessage(transport(publisher).reliable[0].data))
  const epoch = first.kind === 'publish' ? first.epoch : -1
  const forge = (publisherId: string, epochOf: number, seq: number, sealWith?: Buffer) => {
    const context = { publisherId, epoch: epochOf, seq, timestamp: Date.now(), codec: 0, retain: true, topic: 'plant/secret/x', type: '' }
    const salt = Buffer.alloc(16, seq)
    const payload = sealWith === undefined ? Buffer.from('forged') : sealWith_(sealWith, salt, context)
    const record = { ...context, lifespanMs: Infinity, sealed: sealWith !== undefined, payload }
    return encodeHistory({ publisher: publisherKey(publisherId, epochOf), firstAvailable: 0, depth: 10, topic: context.topic, type: '', records: [record] }, TOPIC_ENVELOPE)
  }
  const inject = (message: Buffer) => transport(b).deliver(new BatchBuilder().message(mallory.id, message, false, true).build())
  // The next number of the real stream, unsealed; then sealed with a key for another topic (mallory holds OTHER).
  inject(forge(publisher.id, epoch, 2))
  inject(forge(publisher.id, epoch, 2, OTHER))
  // B's own ID under another epoch, unsealed (an old start of B, as far as B can tell).
  inject(forge(b.id, epoch ^ 1, 1))
  t.true(await until(() => b.stats().topicUnsealed === 2 && b.stats().topicKeyMissing === 1))
  await publisher.publish('plant/secret/x', 'two', { reliable: true, depth: 10 })
  t.true(await until(() => atB.got.length === 2))
  t.deepEqual(atB.got.map((m) => m.text()), ['one', 'two'], 'nothing forged, and number 2 went to the real one')
  // B's cache holds only the real ones: a late subscriber on B gets them.
  const later: TopicMessage[] = []
  b.subscribe('plant/secret/#', { callback: (m) => later.push(m) })
  t.true(await until(() => later.length === 2))
  t.deepEqual(later.map((m) => m.text()), ['one', 'two'])
})

test('a cleared retained value on a keyed topic stays cleared for late joiners', async (t) => {
  const { eps } = await network(t, { keys: { 'plant/secret/#': SECRET } })
  const [publisher] = eps
  publisher.publish('plant/secret/mode', 'eco', { retain: true })
  publisher.publish('plant/secret/mode', '', { retain: true }) // cleared
  publisher.publish('plant/secret/other', 'kept', { retain: true })
  // A late subscription on the publisher gets what its history keeps, all at once (what late joiners elsewhere get).
  const got: TopicMessage[] = []
  publisher.subscribe('plant/#', { callback: (m) => got.push(m) })
  t.true(await until(() => got.length >= 1))
  t.deepEqual(got.map((m) => [m.topic, m.text()]), [['plant/secret/other', 'kept']])
})
