/**
 * The MQTT bridge's parts without a broker: topic mapping, the work split between bridges (every message has
 * exactly one forwarder), the bounded outbound queue, the 3.1.1 echo filter, codec properties.
 */
import test from 'ava'

import { InvalidOptionError } from '../index'
import { codecOf, codecProperty, EchoFilter } from '../src/mqtt/loop-marker'
import { resolveBridgeOptions } from '../src/mqtt/options'
import { type Outbound, OutboundQueue } from '../src/mqtt/outbound-queue'
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
