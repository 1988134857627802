/**
 * The topic layer through `Endpoint` on the in-memory fake network (no addon): routing by interest, types, codecs,
 * history for late joiners, lifespans, ordering and de-duplication, partitions, bad input.
 */
import test, { type ExecutionContext } from 'ava'

import {
  CodecError,
  customCodec,
  Endpoint,
  InvalidOptionError,
  MessageTooLargeError,
  type TopicMessage,
  TopicError,
  TopicTypeError,
} from '../index'
import { TOPIC_ENVELOPE } from '../src/topics/envelope'
import { DirectChannels } from '../src/topics/direct-channels'
import { directHeader, encodeDigest, encodeDirect, encodeHistory, encodePublish, encodeRepair, publisherKey } from '../src/topics/wire'
import { BatchBuilder, FakeNetwork, type FakeTransport } from './helpers/fake-transport'
import { until } from './helpers/loopback'
import { seeded } from './helpers/seeded-random'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A publication's fields for hand-made topic messages. */
const SAMPLE = { seq: 5, timestamp: 1, lifespanMs: 1000, retain: false, codec: 1, payload: Buffer.from('{}') }

/** `count` endpoints on one fake network that know each other; closed when the test ends, pass or fail. */
async function network(t: ExecutionContext, count: number, topics = {}) {
  const net = new FakeNetwork()
  const eps: Endpoint[] = []
  const close = () => Promise.all(eps.map((ep) => ep.close()))
  t.teardown(close)
  for (let i = 0; i < count; i++) {
    eps.push(await Endpoint.openWith(net.open, { env: false, name: `E${i}`, maxDatagramSize: 1472, topics }))
  }
  if (!(await until(() => eps.every((ep) => ep.peers().length === count - 1)))) throw new Error('no discovery')
  const transport = (ep: Endpoint) => net.transports.find((tr) => tr.id === ep.id) as FakeTransport
  /** Waits until every endpoint knows every peer's current interest summary. */
  const settle = async () => {
    await new Promise((resolve) => setImmediate(resolve)) // summaries are announced on a microtask
    const known = () =>
      eps.every((ep) =>
        ep.peers().every((peer) => {
          const announced = net.transports.find((tr) => tr.id === peer.id)?.extensions.get(0x10)
          const seen = peer.extensions.get(0x10)
          return announced === undefined ? seen === undefined : seen?.equals(announced) === true
        }),
      )
    if (!(await until(known))) throw new Error('interest summaries did not spread')
  }
  return { net, eps, transport, close, settle }
}

/** Collects a subscription's messages through its callback. */
function collect(ep: Endpoint, filter: string, options = {}) {
  const got: TopicMessage[] = []
  const sub = ep.subscribe(filter, { ...options, callback: (m) => got.push(m) })
  return { got, sub }
}

test('a publication reaches a matching subscriber with its fields', async (t) => {
  const { eps, close, settle } = await network(t, 2)
  const [a, b] = eps
  const { got } = collect(b, 'sensors/+/temp')
  await settle()
  t.true(a.publish('sensors/kitchen/temp', { c: 21 }, { codec: 'json', type: 'Temp' }))
  t.true(await until(() => got.length === 1))
  t.like(got[0], { topic: 'sensors/kitchen/temp', value: { c: 21 }, type: 'Temp', from: a.id, fromName: 'E0', seq: 1 })
  t.is(got[0].text(), '{"c":21}')
  t.true(Math.abs(got[0].timestamp - Date.now()) < 60_000)
  t.false(got[0].replayed)
})

test('wildcard filters receive exactly the topics they match', async (t) => {
  const { eps, close, settle } = await network(t, 2)
  const [a, b] = eps
  const table: [string, string[]][] = [
    ['a/b', ['a/b']],
    ['a/+', ['a/b', 'a/c']],
    ['a/#', ['a', 'a/b', 'a/c', 'a/b/c']],
    ['+/+/c', ['a/b/c']],
    ['#', ['a', 'a/b', 'a/c', 'a/b/c', 'x']],
    ['+', ['a', 'x']],
  ]
  const subs = table.map(([filter]) => collect(b, filter))
  await settle()
  for (const topic of ['a', 'a/b', 'a/c', 'a/b/c', 'x']) await a.publish(topic, topic, { reliable: true })
  t.true(await until(() => subs.every((sub, i) => sub.got.length >= table[i][1].length)))
  await sleep(20) // deliberate: and nothing more arrives
  table.forEach(([filter, expected], i) => {
    t.deepEqual(
      subs[i].got.map((m) => m.topic),
      expected,
      filter,
    )
  })
})

test('subscribers get only their type; a publisher cannot change its type', async (t) => {
  const { eps, close, settle } = await network(t, 3)
  const [a, b, c] = eps
  const typed = collect(b, 'x', { type: 'Temp' })
  const any = collect(b, 'x')
  await settle()
  await a.publish('x', 'hot', { type: 'Temp', reliable: true })
  await c.publish('x', 'loud', { type: 'Noise', reliable: true })
  t.true(await until(() => any.got.length === 2))
  t.deepEqual(
    typed.got.map((m) => m.value?.toString()),
    ['hot'],
  )
  t.is(b.stats().topicTypeMismatch, 1)
  const err = t.throws(() => a.publish('x', 'cold', { type: 'Other' }), { instanceOf: TopicTypeError })
  t.is(err?.code, 'ERR_GLUE_TOPIC_TYPE')
  t.throws(() => a.publish('x', 'cold'), { instanceOf: TopicTypeError, message: /untyped/ })
})

test('publications go only to interested endpoints: unicast to few, multicast to many', async (t) => {
  const { eps, transport, close, settle } = await network(t, 4, { multicastRatio: 0.6 })
  const [a, b, c, d] = eps
  collect(b, 'few')
  for (const ep of [b, c, d]) collect(ep, 'many/#')
  await settle()
  await a.publish('few', 'x', { reliable: true })
  await a.publish('many/1', 'y', { reliable: true })
  a.publish('nobody', 'z')
  const sends = transport(a).reliable.filter((s) => s.data.includes('x') || s.data.includes('y'))
  t.deepEqual(
    sends.map((s) => s.peerId),
    [b.id, undefined],
  )
  t.is(transport(a).sent.length + transport(a).broadcasts.length, 0, 'nothing sent for a topic nobody wants')
  for (const ep of [c, d]) t.is(ep.stats().topicUnwanted, 0)
})

test('a late subscriber gets the last N publications at once, then live ones, each once and in order', async (t) => {
  const { eps, close } = await network(t, 2)
  const [a, b] = eps
  for (let i = 1; i <= 10; i++) a.publish('h', `${i}`, { depth: 3 })
  const { got } = collect(b, 'h')
  t.true(await until(() => got.length === 3))
  a.publish('h', '11', { depth: 3 })
  t.true(await until(() => got.length === 4))
  await sleep(20) // deliberate: no duplicates arrive later
  t.deepEqual(
    got.map((m) => [m.seq, m.text(), m.replayed]),
    [
      [8, '8', true],
      [9, '9', true],
      [10, '10', true],
      [11, '11', false],
    ],
  )
})

test('a retained value reaches late joiners without history; expired publications are neither sent nor delivered', async (t) => {
  const { eps, close } = await network(t, 2)
  const [a, b] = eps
  a.publish('state', 'old', { retain: true })
  a.publish('state', 'new', { retain: true })
  a.publish('brief', 'gone', { depth: 5, lifespanMs: 20 })
  await sleep(50) // deliberate: 'brief' outlives its 20 ms lifespan before B subscribes
  const state = collect(b, 'state')
  const brief = collect(b, 'brief')
  t.true(await until(() => state.got.length === 1))
  await sleep(30) // deliberate: nothing more (the expired one) arrives
  t.deepEqual(
    state.got.map((m) => [m.text(), m.retained]),
    [['new', true]],
  )
  t.is(brief.got.length, 0)
})

test('a publication whose lifespan passes while held is not delivered', async (t) => {
  const { eps, transport, close, settle } = await network(t, 2, { holdMs: 60 })
  const [a, b] = eps
  const { got } = collect(b, 't')
  await settle()
  a.publish('t', 'one')
  t.true(await until(() => got.length === 1))
  // Seq 2 is lost and so is B's repair request: 3 (lifespan 20 ms) waits for 2, expires, and is dropped when the
  // gap is given up after 60 ms; 4 is delivered.
  transport(b).accepting = false
  transport(a).accepting = false
  a.publish('t', 'two')
  await Promise.resolve() // the tick's batch is refused: 'two' is lost
  transport(a).accepting = true
  await sleep(10) // deliberate: best-effort sends are tried again a few ms after a refusal (a window to let pass)
  a.publish('t', 'three', { lifespanMs: 20 })
  a.publish('t', 'four', { lifespanMs: 10_000 })
  t.true(await until(() => got.length === 2, 2000))
  transport(b).accepting = true
  t.deepEqual(
    got.map((m) => m.text()),
    ['one', 'four'],
  )
  t.true(b.stats().topicExpired >= 1)
  t.is(b.stats().topicSkipped, 1)
})

test('after a partition heals the cut-off endpoint gets every missed publication once, in order', async (t) => {
  const { net, eps, transport, close, settle } = await network(t, 3, { cache: { filters: ['p/#'] } })
  const [a, b] = eps
  const { got } = collect(b, 'p/x')
  await settle()
  for (let i = 1; i <= 3; i++) await a.publish('p/x', `${i}`, { depth: 100, reliable: true })
  t.true(await until(() => got.length === 3))
  net.cut(transport(b))
  t.true(await until(() => a.peers().length === 1))
  for (let i = 4; i <= 20; i++) await a.publish('p/x', `${i}`, { depth: 100, reliable: true })
  net.heal(transport(b))
  await a.publish('p/x', '21', { depth: 100, reliable: true })
  t.true(await until(() => got.length === 21))
  await sleep(30) // deliberate: no duplicates arrive later
  t.deepEqual(
    got.map((m) => m.seq),
    Array.from({ length: 21 }, (_, i) => i + 1),
  )
})

test('periodic digests repair losses that no later publication reveals (no peer went down)', async (t) => {
  const { net, eps, transport, settle } = await network(t, 2, { digestIntervalMs: 100 })
  const [a, b] = eps
  const { got } = collect(b, 'p/x')
  await settle()
  for (let i = 1; i <= 3; i++) a.publish('p/x', `${i}`, { depth: 100 })
  t.true(await until(() => got.length === 3))
  net.mute(transport(b))
  for (let i = 4; i <= 10; i++) a.publish('p/x', `${i}`, { depth: 100 })
  await sleep(20) // deliberate: the tick's publications go out (and are lost) while B is muted
  net.mute(transport(b), false)
  t.is(got.length, 3, 'lost while muted')
  t.true(await until(() => got.length === 10), `got ${got.length}`)
  t.deepEqual(
    got.map((m) => m.seq),
    Array.from({ length: 10 }, (_, i) => i + 1),
  )
  t.true(got.slice(3).every((m) => m.replayed))
  t.true(a.stats().topicDigestsSent > 0)
})

test('digestIntervalMs is validated', async (t) => {
  const net = new FakeNetwork()
  for (const bad of [50, -1, 1.5, 'x']) {
    await t.throwsAsync(
      Endpoint.openWith(net.open, { env: false, topics: { digestIntervalMs: bad as number } }),
      { instanceOf: InvalidOptionError, message: /topics\.digestIntervalMs/ },
    )
  }
})

test('a caching peer fills the gap when the publisher is gone', async (t) => {
  const { net, eps, transport, close, settle } = await network(t, 3)
  const [a, b] = eps
  const c = await Endpoint.openWith(net.open, { env: false, name: 'cache', topics: { cache: { filters: ['#'] } } })
  t.teardown(() => c.close())
  t.true(await until(() => a.peers().length === 3))
  const { got } = collect(b, 'p/x')
  await settle()
  for (let i = 1; i <= 3; i++) await a.publish('p/x', `${i}`, { reliable: true })
  t.true(await until(() => got.length === 3))
  net.cut(transport(b))
  t.true(await until(() => a.peers().length === 2))
  for (let i = 4; i <= 10; i++) await a.publish('p/x', `${i}`, { reliable: true })
  await a.close()
  net.heal(transport(b))
  t.true(await until(() => got.length === 10))
  await sleep(30) // deliberate: no duplicates arrive later
  t.deepEqual(
    got.map((m) => [m.seq, m.text(), m.from]),
    Array.from({ length: 10 }, (_, i) => [i + 1, `${i + 1}`, a.id]),
  )
  t.true(c.stats().topicReplayed >= 7)
})

test('codecs: json, msgpack and custom ones; undecodable payloads are counted', async (t) => {
  const { eps, close, settle } = await network(t, 2)
  const [a, b] = eps
  const upper = customCodec<string>('upper', {
    id: 200,
    encode: (s) => Buffer.from(s.toUpperCase()),
    decode: (d) => Buffer.from(d).toString(),
  })
  const plain = collect(b, 'c/#')
  const custom = collect(b, 'c/custom', { codec: upper })
  await settle()
  await a.publish('c/json', [1, 'two'], { codec: 'json', reliable: true })
  await a.publish('c/msgpack', { n: 3n }, { codec: 'msgpack', reliable: true })
  await a.publish('c/custom', 'shout', { codec: upper, reliable: true })
  t.true(await until(() => custom.got.length === 1))
  t.deepEqual(plain.got[0].value, [1, 'two'])
  t.deepEqual(plain.got[1].value, { n: 3n })
  t.is(custom.got[0].value, 'SHOUT')
  t.is(plain.got.length, 2, 'the subscription without the custom codec drops it')
  t.is(b.stats().topicDecodeErrors, 1)
})

test('subscribe takes the codec names publish takes (or codec objects) and receives only that codec', async (t) => {
  const { eps, settle } = await network(t, 2)
  const [a, b] = eps
  const upper = customCodec<string>('upper', {
    id: 201,
    encode: (s) => Buffer.from(s.toUpperCase()),
    decode: (d) => Buffer.from(d).toString(),
  })
  const json = collect(b, 's/#', { codec: 'json' })
  const msgpack = collect(b, 's/#', { codec: 'msgpack' })
  const raw = collect(b, 's/#', { codec: 'raw' })
  const custom = collect(b, 's/#', { codec: upper })
  const any = collect(b, 's/#')
  await settle()
  await a.publish('s/json', { n: 1 }, { codec: 'json', reliable: true })
  await a.publish('s/msgpack', [2], { codec: 'msgpack', reliable: true })
  await a.publish('s/raw', 'three', { reliable: true })
  await a.publish('s/custom', 'four', { codec: upper, reliable: true })
  t.true(await until(() => any.got.length === 3 && custom.got.length === 1))
  t.deepEqual(json.got.map((m) => [m.topic, m.value]), [['s/json', { n: 1 }]])
  t.deepEqual(msgpack.got.map((m) => [m.topic, m.value]), [['s/msgpack', [2]]])
  t.deepEqual(raw.got.map((m) => [m.topic, m.text()]), [['s/raw', 'three']])
  t.deepEqual(custom.got.map((m) => [m.topic, m.value]), [['s/custom', 'FOUR']])
  t.deepEqual(any.got.map((m) => m.topic), ['s/json', 's/msgpack', 's/raw'], 'without codec: every built-in one')
  // json, msgpack, raw and custom each drop the three others; the codec-less subscription cannot decode the custom one.
  t.is(b.stats().topicCodecMismatch, 4 * 3)
  t.is(b.stats().topicDecodeErrors, 1)
  t.is(b.stats().topicDelivered, 4 + 3)
})

test('bad codec and callback options name the option and hold the value given', async (t) => {
  const { eps } = await network(t, 1)
  const [a] = eps
  const notACodec = { decode: () => 1 } // no id
  const cases: [() => unknown, string, unknown, RegExp][] = [
    [() => a.subscribe('x', { codec: 'xml' as 'raw' }), 'codec', 'xml', /Invalid option codec: unknown codec "xml": use raw, json or msgpack/],
    [() => a.subscribe('x', { codec: notACodec as never }), 'codec', notACodec, /expected raw, json, msgpack or a codec object/],
    [() => a.subscribe('x', { codec: null as never }), 'codec', null, /Invalid option codec/],
    [() => a.subscribe('x', { callback: 5 as never }), 'callback', 5, /Invalid option callback/],
    [() => a.subscribe('x', { reliable: 'yes' as never }), 'reliable', 'yes', /Invalid option reliable/],
    [() => a.publish('x', 'v', { codec: 'xml' as 'raw' }), 'codec', 'xml', /Invalid option codec: unknown codec "xml"/],
  ]
  for (const [call, option, value, message] of cases) {
    const err = t.throws(call, { instanceOf: InvalidOptionError, message })
    t.is(err?.option, option)
    t.is(err?.value, value, `${option}: the value given`)
  }
})

test('TopicMessage.text() reads the payload as UTF-8 whatever the codec', async (t) => {
  const { eps, settle } = await network(t, 2)
  const [a, b] = eps
  const { got } = collect(b, 't/#')
  await settle()
  await a.publish('t/raw', 'grüße', { reliable: true })
  await a.publish('t/bytes', Buffer.from([0x68, 0xff, 0x69]), { reliable: true })
  await a.publish('t/json', { n: 1 }, { codec: 'json', reliable: true })
  await a.publish('t/string', 'hi', { codec: 'json', reliable: true })
  t.true(await until(() => got.length === 4))
  t.deepEqual(
    got.map((m) => m.text()),
    ['grüße', 'h\ufffdi', '{"n":1}', '"hi"'],
  )
})

test('bad input throws named errors at the call', async (t) => {
  const { eps, close } = await network(t, 2)
  const [a, b] = eps
  for (const topic of ['', 'a/+', 'a/#', '$sys/x', 'a\0b']) {
    t.throws(() => a.publish(topic, 'x'), { instanceOf: TopicError }, JSON.stringify(topic))
  }
  t.throws(() => b.subscribe('x', { queueLimit: 0 }), { instanceOf: InvalidOptionError, message: /queueLimit/ })
  t.throws(() => b.subscribe('x', { type: '' }), { instanceOf: TopicError, message: /type/ })
  for (const filter of ['', 'a/#/b', 'a+', 'a/b#']) {
    t.throws(() => b.subscribe(filter), { instanceOf: TopicError }, filter)
  }
  t.throws(() => a.publish('x', 1n, { codec: 'json' }), { instanceOf: CodecError, message: /topic "x".*json/ })
  t.throws(() => a.publish('x', 42), { instanceOf: CodecError })
  t.throws(() => a.publish('x', Buffer.alloc(2000)), { instanceOf: MessageTooLargeError, message: /one datagram/ })
  const small = await Endpoint.openWith(new FakeNetwork().open, { env: false, maxMessageSize: 1000 })
  t.teardown(() => small.close())
  const tooLarge = { instanceOf: MessageTooLargeError, message: /maxMessageSize: 1000 bytes/ }
  t.throws(() => small.publish('x', Buffer.alloc(1000), { reliable: true }), tooLarge)
  t.throws(() => a.publish('x', 'x', { depth: -1 }), { instanceOf: InvalidOptionError, message: /depth/ })
  t.throws(() => a.publish('x', 'x', { lifespanMs: 0 }), { instanceOf: InvalidOptionError, message: /lifespanMs/ })
  t.throws(() => a.publish('x', 'x', { codec: 'xml' as 'raw' }), { instanceOf: InvalidOptionError })
  t.throws(() => a.publish('x', 'x', { type: 'x'.repeat(256) }), { instanceOf: TopicError, message: /type/ })
  await t.throwsAsync(Endpoint.openWith(() => undefined as never, { env: false, topics: { holdMs: -1 } }), {
    instanceOf: InvalidOptionError,
    message: /topics\.holdMs/,
  })
  t.is(a.stats().topicPublished, 0, 'nothing was published')
})

test('application payloads that start like topic messages are escaped and arrive unchanged', async (t) => {
  const { eps, settle } = await network(t, 2)
  const [a, b] = eps
  const plain: Buffer[] = []
  b.onMessage((m) => plain.push(m.data))
  const { got } = collect(b, '#')
  await settle()
  const payloads = [[0x47, 0x54, 1, 2], [0x47, 0x54, 0, 9], [0x47, 0x54], [0x47, 0x55, 1]].map((p) => Buffer.from(p))
  for (const p of payloads) t.true(a.send(b.id, p))
  await a.send(b.id, payloads[0] as Buffer, { reliable: true })
  await a.sendMany(b.id, payloads, { reliable: true })
  t.true(a.broadcast('GT\u0001 looks like a topic message'))
  t.true(await until(() => plain.length === 10))
  t.deepEqual(
    plain.map((d) => d.toString('hex')),
    [...payloads, payloads[0], ...payloads].map((p) => (p as Buffer).toString('hex')).concat(
      Buffer.from('GT\u0001 looks like a topic message').toString('hex'),
    ),
  )
  t.is(got.length, 0, 'no topic message')
  t.is(b.stats().topicMalformed, 0)
})

test('malformed topic messages from the network are dropped and counted, not handed to onMessage', async (t) => {
  const { eps, transport, close } = await network(t, 2)
  const [a, b] = eps
  const plain: unknown[] = []
  b.onMessage((m) => plain.push(m))
  collect(b, '#')
  const junk = [Buffer.from([0x47, 0x54, 1]), Buffer.from([0x47, 0x54, 1, 9, 0, 0]), Buffer.from([0x47, 0x54, 1, 1, 0])]
  for (const data of junk) transport(b).deliver(new BatchBuilder().message(a.id, data).build())
  t.is(b.stats().topicMalformed, 3)
  t.is(plain.length, 0)
})

test('a DIRECT message on a channel nothing claims is dropped and counted, not handed to onMessage or subscribers', async (t) => {
  const { eps, transport } = await network(t, 2)
  const [a, b] = eps
  const plain: unknown[] = []
  b.onMessage((m) => plain.push(m))
  const { got } = collect(b, '#')
  const direct = encodeDirect(directHeader('$glue/consensus/nobody', TOPIC_ENVELOPE), Buffer.from('x'))
  transport(b).deliver(new BatchBuilder().message(a.id, direct).build())
  t.like(b.stats(), { topicDirectReceived: 1, topicDirectUnclaimed: 1, topicMalformed: 0 })
  t.is(plain.length, 0)
  t.is(got.length, 0)
})

test('DIRECT channels: one handler each, given up by the returned function; handler errors go to onError', (t) => {
  const errors: unknown[] = []
  const channels = new DirectChannels((err) => errors.push(err))
  const got: string[] = []
  const release = channels.claim('$glue/x', (from, payload) => got.push(`${from}:${payload.toString()}`))
  t.throws(() => channels.claim('$glue/x', () => {}), { message: /claimed already/ })
  t.throws(() => channels.claim('x', () => {}), { instanceOf: RangeError })
  channels.deliver('a', '$glue/x', Buffer.from('1'))
  channels.deliver('a', '$glue/y', Buffer.from('2'))
  t.deepEqual(got, ['a:1'])
  t.is(channels.unclaimed, 1)
  release()
  channels.deliver('a', '$glue/x', Buffer.from('3'))
  t.is(channels.unclaimed, 2)
  channels.claim('$glue/x', () => {
    throw new Error('boom')
  })
  channels.deliver('a', '$glue/x', Buffer.from('4'))
  t.is((errors[0] as Error).message, 'boom')
  const message = channels.encode('$glue/x', Buffer.from('hi'))
  t.is(message.subarray(0, 2).toString(), 'GT', 'enveloped')
  t.is(message.subarray(-2).toString(), 'hi')
})

test('unsubscribing and aborting end the subscription and withdraw the interest', async (t) => {
  const { eps, transport, close, settle } = await network(t, 2)
  const [a, b] = eps
  const controller = new AbortController()
  const sub = b.subscribe('x', { signal: controller.signal })
  const iterated: string[] = []
  const done = (async () => {
    for await (const m of sub) iterated.push(m.text())
  })()
  await settle()
  t.true(transport(b).extensions.has(0x10))
  await a.publish('x', 'one', { reliable: true })
  t.true(await until(() => iterated.length === 1))
  controller.abort()
  await done
  t.true(sub.ended)
  await settle()
  t.false(transport(b).extensions.has(0x10), 'no subscription left: no interest announced')
  const later = b.subscribe('y')
  later.unsubscribe()
  t.true(later.ended)
  t.throws(() => b.subscribe('z', { callback: () => {} })[Symbol.asyncIterator](), { instanceOf: TypeError })
  await b.close()
  t.throws(() => b.subscribe('x'), { code: 'ERR_GLUE_CLOSED' })
})

test('a late subscription on the publishing or caching endpoint gets what it keeps, in order', async (t) => {
  const { eps } = await network(t, 2, { cache: { filters: ['c/#'] } })
  const [a, b] = eps
  for (let i = 1; i <= 5; i++) a.publish('own/x', `${i}`, { depth: 2 })
  a.publish('own/state', 'on', { retain: true })
  const own = collect(a, 'own/#')
  a.publish('own/x', '6', { depth: 2 }) // live, right away: after the replays, and not twice
  t.true(await until(() => own.got.length === 4))
  await sleep(20) // deliberate: nothing more (no second copy) arrives
  t.deepEqual(
    own.got.map((m) => [m.topic, m.text(), m.replayed, m.retained]),
    [
      ['own/state', 'on', true, true],
      ['own/x', '4', true, false],
      ['own/x', '5', true, false],
      ['own/x', '6', false, false],
    ],
    'per publisher in sequence order, each once',
  )
  // B caches c/#: a subscription made there later gets the cached publications without asking anyone.
  const first = collect(b, 'c/1')
  t.true(await until(() => a.peers()[0].extensions.has(0x10)))
  for (let i = 1; i <= 3; i++) await a.publish('c/1', `${i}`, { reliable: true })
  t.true(await until(() => first.got.length === 3))
  const later = collect(b, 'c/+')
  t.true(await until(() => later.got.length === 3))
  t.deepEqual(
    later.got.map((m) => [m.text(), m.replayed]),
    [
      ['1', true],
      ['2', true],
      ['3', true],
    ],
  )
  t.is(first.got.length, 3, 'the earlier subscription gets nothing twice')
})

test('corrupted topic messages never throw: each is dropped and counted, or handled', async (t) => {
  const { eps, transport } = await network(t, 2, { cache: { filters: ['#'] } })
  const [a, b] = eps
  collect(b, '#')
  const publisher = publisherKey(a.id, 1)
  const valid = [
    encodePublish({ ...SAMPLE, epoch: 1, depth: 3, topic: 'x/y', type: 'T' }, TOPIC_ENVELOPE),
    encodeHistory({ publisher, firstAvailable: 1, depth: 3, topic: 'x/y', type: '', records: [SAMPLE] }, TOPIC_ENVELOPE),
    encodeDigest([{ publisher, topic: 'x/y', contiguous: 4, ranges: [[6, 9]] }], TOPIC_ENVELOPE),
    encodeRepair([{ publisher, topic: 'x/y', ranges: [[1, 3]] }], TOPIC_ENVELOPE),
  ]
  const random = seeded(7)
  let delivered = 0
  for (let i = 0; i < 2000; i++) {
    const data = Buffer.from(valid[i % valid.length])
    for (let flips = 1 + Math.floor(random() * 3); flips > 0; flips--) {
      data[3 + Math.floor(random() * (data.length - 3))] = Math.floor(random() * 256)
    }
    t.notThrows(() => transport(b).deliver(new BatchBuilder().message(a.id, data, false, true).build()))
    delivered++
  }
  t.is(delivered, 2000)
  t.true(b.stats().topicMalformed > 0)
})
