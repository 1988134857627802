/**
 * The MQTT bridge's parts without a broker: topic mapping, the work split between bridges (every message has
 * exactly one forwarder), the bounded outbound queue, the 3.1.1 echo filter, codec properties.
 */
import test from 'ava'
import { generate } from 'mqtt-packet'

import { InvalidOptionError } from '../index'
import { codecOf, codecProperty, EchoFilter } from '../src/mqtt/loop-marker'
import { resolveBridgeOptions } from '../src/mqtt/options'
import { type Outbound, OutboundQueue } from '../src/mqtt/outbound-queue'
import { PublishProperties } from '../src/mqtt/properties'
import { MAX_REMAINING_LENGTH, PublishBatch } from '../src/mqtt/publish-batch'
import { mqttFilter, toGlueTopic, toMqttTopic } from '../src/mqtt/topic-map'
import { type BridgeEntry, WorkSplit } from '../src/mqtt/work-split'

test('topics map one to one behind the prefix; what cannot map is refused or undefined', (t) => {
  t.is(mqttFilter('sensors/+/temp', 'site1/', 'topics[0]'), 'site1/sensors/+/temp')
  t.is(mqttFilter('#', '', 'topics[0]'), '#')
  t.is(toMqttTopic('sensors/a', 'site1/'), 'site1/sensors/a')
  t.is(toGlueTopic('site1/sensors/a', 'site1/'), 'sensors/a')
  t.is(toGlueTopic('other/sensors/a', 'site1/'), undefined)
  t.is(toGlueTopic('site1/', 'site1/'), undefined, 'empty once the prefix is removed')
  t.is(toGlueTopic('site1/$x', 'site1/'), undefined, 'reserved in glue')
  t.is(toGlueTopic('$SYS/x', ''), undefined)
  for (const [filter, prefix] of [['$glue/#', ''], ['a/#/b', ''], ['#', 'site1'], ['', '']]) {
    const err = t.throws(() => mqttFilter(filter, prefix, 'topics[2]'), { instanceOf: InvalidOptionError })
    t.is(err?.option, 'topics[2]')
  }
})

test('options: defaults, credentials out of the URL, the broker key', (t) => {
  const o = resolveBridgeOptions({ url: 'mqtt://u:p%40ss@Broker.local', topics: ['a/#'], prefix: 's/' })
  t.like(o, { username: 'u', password: 'p@ss', direction: 'both', queueLimit: 10_000, protocolVersion: 'auto', cleanSession: true })
  t.false(o.url.includes('p%40ss'), 'no credentials in the URL shown in status lines')
  t.is(o.brokerKey, 'mqtt://broker.local:1883\ns/')
  const err = t.throws(() => resolveBridgeOptions({ url: 'mqtt://h', topics: ['a'], reconnectMinMs: 500, reconnectMaxMs: 100 }))
  t.is((err as InvalidOptionError).option, 'reconnectMaxMs')
})

const entry = (bridge: string, endpoint: string, topics = ['#'], direction: BridgeEntry['direction'] = 'both'): BridgeEntry => ({
  bridge,
  endpoint,
  key: 'k',
  topics,
  direction,
})

test('the work split gives every message exactly one forwarder, and a bridge endpoint its own publications', (t) => {
  const all = [entry('b1', 'e1'), entry('b2', 'e2'), entry('b3', 'e3', ['a/#'], 'to-mqtt')]
  const splits = all.map((self) => {
    const s = new WorkSplit(self)
    s.update(all)
    return s
  })
  const counts = { b1: 0, b2: 0, b3: 0 }
  for (let p = 0; p < 50; p++) {
    for (let i = 0; i < 20; i++) {
      const topic = i % 2 === 0 ? `a/${i}` : `b/${i}`
      const publisher = `p${p}`
      const owners = splits.filter((s) => s.forwardsToMqtt(publisher, topic))
      t.is(owners.length, 1, `${publisher} ${topic}`)
      const fromMqtt = splits.filter((s) => s.forwardsFromMqtt(topic))
      t.is(fromMqtt.length, 1, topic)
      t.not(fromMqtt[0], splits[2], 'b3 is to-mqtt only')
      counts[all[splits.indexOf(owners[0])].bridge as keyof typeof counts]++
    }
  }
  t.true(counts.b1 > 0 && counts.b2 > 0 && counts.b3 > 0, JSON.stringify(counts))
  // Publications of a bridge's endpoint: only that bridge (here e2's) forwards them.
  for (let i = 0; i < 20; i++) t.deepEqual(splits.map((s) => s.forwardsToMqtt('e2', `a/${i}`)), [false, true, false])
  // Alone: everything.
  const alone = new WorkSplit(entry('x', 'ex'))
  t.true(alone.forwardsToMqtt('anyone', 'a') && alone.forwardsFromMqtt('a'))
})

const item = (n: number): Outbound => ({ topic: `q/${n}`, payload: Buffer.from([n]), qos: 1, retain: false, codec: 0, type: '' })

test('the outbound queue is FIFO, bounded, drops the oldest, takes back in-flight ones at the front', (t) => {
  const q = new OutboundQueue(3)
  for (let i = 0; i < 5; i++) t.is(q.push(item(i)), i >= 3)
  t.is(q.size, 3)
  t.is(q.shift()?.topic, 'q/2')
  t.is(q.unshift([item(10), item(11)]), 1, 'one over the limit')
  t.deepEqual([q.shift(), q.shift(), q.shift(), q.shift()].map((x) => x?.topic), ['q/11', 'q/3', 'q/4', undefined])
  const big = new OutboundQueue(5000)
  for (let i = 0; i < 4000; i++) big.push(item(i))
  for (let i = 0; i < 3000; i++) t.is(big.shift()?.topic, `q/${i}`)
  t.is(big.size, 1000)
  t.is(big.clear(), 1000)
})

test('the echo filter skips what this bridge published, once, and stays bounded', (t) => {
  const echo = new EchoFilter(4)
  echo.add('a', Buffer.from('x'))
  echo.add('a', Buffer.from('y'))
  t.false(echo.take('a', Buffer.from('z')))
  t.true(echo.take('a', Buffer.from('y')))
  t.false(echo.take('a', Buffer.from('y')), 'once')
  t.true(echo.take('a', Buffer.from('x')))
  for (let i = 0; i < 10; i++) echo.add('b', Buffer.from([i]))
  t.false(echo.take('b', Buffer.from([0])), 'forgotten when full')
  t.true(echo.take('b', Buffer.from([9])))
})

test('codec properties round-trip; unknown ones are refused', (t) => {
  for (const id of [0, 1, 2, 128, 255]) t.is(codecOf(codecProperty(id), undefined), id)
  t.is(codecOf(undefined, 'application/json'), 1)
  t.is(codecOf(undefined, 'application/msgpack'), 2)
  t.is(codecOf(undefined, 'text/plain'), 0)
  t.is(codecOf('nope', undefined), undefined)
  t.is(codecOf('7', undefined), undefined, 'reserved ids')
})

test('the QoS 0 batch writes the bytes mqtt-packet generates, for MQTT 3.1.1 and 5, in one write per batch', (t) => {
  const written: Buffer[] = []
  const sink = { write: (chunk: Buffer) => written.push(Buffer.from(chunk)) > 0 }
  const batch = new PublishBatch()
  const props = new PublishProperties('0badcafe')
  const cases: Array<[string, number, boolean, number, string]> = [
    ['a', 0, false, 0, ''],
    ['sensors/tëmp/1', 64, true, 1, ''],
    ['x/y', 200, false, 2, 'Reading'], // remaining length > 127: two varint bytes
    ['big', 20_000, false, 0, 'T'], // > 16383: three varint bytes, and the buffer grows
  ]
  for (const version of [4, 5] as const) {
    for (const marked of [false, true]) {
      props.marked = marked
      const expected: Buffer[] = []
      for (const [topic, size, retain, codec, type] of cases) {
        const payload = Buffer.alloc(size, size & 0xff)
        const properties = version === 5 ? props.get(codec, type) : undefined
        t.true(batch.add(topic, payload, retain, version === 5 ? props.block(codec, type) : undefined))
        expected.push(generate({ cmd: 'publish', topic, payload, qos: 0, dup: false, retain, ...(properties ? { properties } : {}) }, { protocolVersion: version }))
      }
      t.is(batch.count, cases.length)
      written.length = 0
      batch.flush(sink)
      t.is(written.length, 1, 'one write')
      t.deepEqual(written[0], Buffer.concat(expected), `MQTT ${version}, marked ${marked}`)
      batch.flush(sink)
      t.is(written.length, 1, 'an empty batch writes nothing')
    }
  }
  t.false(batch.add('t', { length: MAX_REMAINING_LENGTH } as unknown as Uint8Array, false, undefined), 'too large for MQTT')
  t.is(batch.count, 0)
})
