/**
 * The hot-path shortcuts of the topic layer give exactly what the general code gives: the PUBLISH header template
 * (`publish-header.ts`) the bytes of `encodePublish`, the PUBLISH fast decoder (`publish-decode.ts`) the fields of
 * the strict decoder or nothing, the options cache what `resolvePublishOptions` resolves, and a subscription made
 * inside a callback still gets the publication being delivered, and a tracker stream handle notices that its stream
 * was forgotten.
 */
import test from 'ava'

import { Endpoint, InvalidOptionError, type TopicMessage } from '../index'
import { TOPIC_ENVELOPE, unwrapTopicMessage } from '../src/topics/envelope'
import { resolvePublishOptions } from '../src/topics/options'
import { decodePublishFast } from '../src/topics/publish-decode'
import { PublishHeader } from '../src/topics/publish-header'
import { PublishOptionsCache } from '../src/topics/publish-options-cache'
import { SequenceTracker } from '../src/topics/sequence-tracker'
import { decodeTopicMessage, encodePublish, type PublishMessage } from '../src/topics/wire'
import { FakeNetwork } from './helpers/fake-transport'
import { until } from './helpers/loopback'
import { seeded } from './helpers/seeded-random'

const FIELDS: Omit<PublishMessage, 'kind'> = {
  epoch: 0xfedcba98,
  seq: 1,
  timestamp: 0,
  lifespanMs: 2500,
  depth: 3,
  retain: true,
  sealed: false,
  codec: 2,
  topic: 'fast/päth',
  type: 'T',
  payload: Buffer.from('payload'),
}

test('a PublishHeader makes the bytes encodePublish makes, for any number and timestamp', (t) => {
  const variants = [FIELDS, { ...FIELDS, type: '', retain: false, sealed: true, lifespanMs: Infinity, depth: 0, codec: 200 }]
  for (const f of variants) {
    const header = new PublishHeader(f.topic, f.epoch, { ...f, sealed: f.sealed === true })
    t.true(header.fits(f.type, f.codec, f.retain, f.sealed === true, f.lifespanMs, f.depth))
    t.false(header.fits(f.type, f.codec, !f.retain, f.sealed === true, f.lifespanMs, f.depth))
    for (const seq of [1, 255, 256, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1]) {
      for (const timestamp of [0, 1700000000123, 2 ** 53 - 1]) {
        for (const payload of [Buffer.alloc(0), Buffer.from('xyz')]) {
          const expected = encodePublish({ ...f, seq, timestamp, payload }, TOPIC_ENVELOPE)
          t.is(header.size(payload.length), expected.length)
          t.is(header.encode(seq, timestamp, payload).toString('hex'), expected.toString('hex'), `${seq} ${timestamp}`)
        }
      }
    }
  }
})

test('the PUBLISH fast decoder gives the strict decoder\'s fields, or leaves the message to it', (t) => {
  const message = encodePublish({ ...FIELDS, seq: 77, timestamp: 1700000000123 }, TOPIC_ENVELOPE)
  const strict = decodeTopicMessage(unwrapTopicMessage(message)) // names now known to the fast path
  t.deepEqual(decodePublishFast(message, TOPIC_ENVELOPE.length), strict)
  t.true(Buffer.isBuffer(decodePublishFast(message, TOPIC_ENVELOPE.length)?.payload))
  const random = seeded(7)
  let fast = 0
  let refused = 0
  for (let i = 0; i < 20000; i++) {
    const data = Buffer.from(message)
    const flips = Math.floor(random() * 3)
    for (let f = 0; f < flips; f++) data[2 + Math.floor(random() * (data.length - 2))] = Math.floor(random() * 256)
    const cut = random() < 0.2 ? 2 + Math.floor(random() * (data.length - 2)) : data.length
    const view = data.subarray(0, cut)
    const got = decodePublishFast(view, TOPIC_ENVELOPE.length)
    let expected: unknown
    try {
      expected = decodeTopicMessage(unwrapTopicMessage(view))
    } catch {
      expected = undefined
    }
    if (got === undefined) {
      refused++
      continue
    }
    fast++
    if (expected === undefined) return t.fail(`fast path accepted what the strict decoder rejects: ${view.toString('hex')}`)
    t.deepEqual(got, expected as PublishMessage)
  }
  t.true(fast > 1000 && refused > 1000, `${fast} ${refused}`)
})

test('the options cache resolves again when the options object or one of its fields changes', (t) => {
  const cache = new PublishOptionsCache()
  t.deepEqual(cache.resolve(undefined), resolvePublishOptions(undefined))
  const options: { reliable: boolean; depth: number; codec?: 'json' } = { reliable: true, depth: 2 }
  const first = cache.resolve(options)
  t.is(cache.resolve(options), first)
  options.depth = 5
  t.is(cache.resolve(options).depth, 5)
  options.codec = 'json'
  t.is(cache.resolve(options).codec.name, 'json')
  t.is(cache.resolve({ ...options }).depth, 5)
  options.depth = -1
  t.throws(() => cache.resolve(options), { instanceOf: InvalidOptionError })
  t.throws(() => cache.resolve(options), { instanceOf: InvalidOptionError })
})

test('a subscription made inside a callback gets the publication being delivered, once', async (t) => {
  const net = new FakeNetwork()
  const a = await Endpoint.openWith(net.open, { env: false, name: 'A', maxDatagramSize: 1472 })
  const b = await Endpoint.openWith(net.open, { env: false, name: 'B', maxDatagramSize: 1472 })
  t.teardown(() => Promise.all([a.close(), b.close()]))
  const late: TopicMessage[] = []
  let made = false
  b.subscribe('x/#', {
    callback: () => {
      if (made) return
      made = true
      b.subscribe('x/y', { callback: (m) => late.push(m) })
    },
  })
  t.true(await until(() => a.peers().some((p) => p.extensions.size > 0)))
  await a.publish('x/y', 'one', { reliable: true })
  await a.publish('x/y', 'two', { reliable: true })
  t.true(await until(() => late.length === 2))
  t.deepEqual(late.map((m) => m.text()), ['one', 'two'])
})

test('a tracker stream handle is valid until the stream is forgotten', (t) => {
  const tracker = new SequenceTracker<string>({ maxStreams: 2 })
  const a = tracker.handle('p', 'a', 5)
  t.is(tracker.acceptIn(a, 5, 'x', 0), 'deliver')
  t.is(tracker.acceptIn(a, 5, 'x', 0), 'duplicate')
  t.is(tracker.contiguous('p', 'a'), 5)
  tracker.handle('p', 'b')
  tracker.handle('q', 'c') // over maxStreams: the idlest ('p', 'a') is forgotten
  t.true(a.forgotten)
  const b = tracker.handle('q', 'c')
  tracker.forget('q')
  t.true(b.forgotten)
})
