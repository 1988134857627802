/**
 * The MQTT bridge against a real Mosquitto started per test on loopback, with mqtt.js clients on the other side:
 * both directions, QoS and retain mapping, codec and type as MQTT 5 user properties, prefix, no loops and no
 * duplicates with two bridges, broker restart with nothing lost for QoS 1 / reliable, the queue bound, bad input.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import anyTest, { type ExecutionContext, type TestFn } from 'ava'
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt'

import { Endpoint, InvalidOptionError, type TopicMessage } from '../index'
import { bridgeMqtt, type MqttBridge, MqttConnectError, type MqttBridgeOptions, type MqttBridgeStatus } from '../mqtt'
import { isNativeAvailable } from '../src/transport/native'
import { isolatedOptions, until } from './helpers/loopback'
import { type Broker, freePort, MOSQUITTO, startMosquitto } from './helpers/mosquitto'

const test = (isNativeAvailable() && MOSQUITTO !== undefined ? anyTest : anyTest.skip) as TestFn
const DEADLINE = 15_000

interface Received {
  topic: string
  payload: Buffer
  packet: IPublishPacket
}

/** An mqtt.js client on the broker that records what it receives on `filter`. */
async function mqttClient(t: ExecutionContext, broker: Broker, filter?: string, options: mqtt.IClientOptions = {}) {
  const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5, reconnectPeriod: 100, ...options })
  t.teardown(() => client.endAsync(true))
  const received: Received[] = []
  client.on('message', (topic, payload, packet) => received.push({ topic, payload, packet }))
  if (filter !== undefined) await client.subscribeAsync(filter, { qos: 1, rap: true })
  return { client, received }
}

async function endpoint(t: ExecutionContext, name: string, options = isolatedOptions()): Promise<Endpoint> {
  const ep = await Endpoint.open({ ...options, name })
  t.teardown(() => ep.close())
  return ep
}

async function bridge(t: ExecutionContext, ep: Endpoint, options: MqttBridgeOptions): Promise<MqttBridge> {
  const b = await bridgeMqtt(ep, options)
  t.teardown(() => b.close({ drainMs: 0 }))
  return b
}

function statusOf(b: MqttBridge): MqttBridgeStatus[] {
  const events: MqttBridgeStatus[] = []
  b.onStatus((e) => events.push(e))
  return events
}

/** Waits, failing the test with `what` after the deadline. */
async function waitFor(t: ExecutionContext, what: string, condition: () => boolean, ms = DEADLINE): Promise<void> {
  if (!(await until(condition, ms))) t.fail(`timed out waiting for ${what}`)
}

/** Two endpoints of one network that see each other (and each other's interests once they subscribed). */
async function pair(t: ExecutionContext, a: string, b: string): Promise<[Endpoint, Endpoint]> {
  const options = isolatedOptions()
  const [x, y] = [await endpoint(t, a, options), await endpoint(t, b, options)]
  await waitFor(t, 'discovery', () => x.peers().length === 1 && y.peers().length === 1)
  return [x, y]
}

/** Publishes `probe` from `publish` until `arrived()`: the interest routing knows the way once one got through. */
async function probe(t: ExecutionContext, publish: () => void, arrived: () => boolean): Promise<void> {
  await waitFor(t, 'a probe to get through', () => {
    if (!arrived()) publish()
    return arrived()
  })
}

test('glue → MQTT: reliable is QoS 1, best effort QoS 0, retain, payload, codec and type as user properties, prefix', async (t) => {
  const broker = await startMosquitto(t)
  const [ep, app] = await pair(t, 'bridge', 'app')
  const { received } = await mqttClient(t, broker, 'site1/#')
  const b = await bridge(t, ep, { url: broker.url, topics: ['sensors/#'], direction: 'to-mqtt', prefix: 'site1/' })
  // Best effort from another endpoint (the bridge's own endpoint delivers its publications to itself losslessly,
  // which counts as reliable), once the routes are known.
  await probe(t, () => app.publish('sensors/b', Buffer.from([0, 1, 2, 255])), () => received.length > 0)
  await app.publish('sensors/a', { c: 21.5 }, { reliable: true, codec: 'json', type: 'Temp' })
  await app.publish('sensors/c', 'last', { reliable: true, retain: true })
  app.publish('other/x', 'not bridged')
  await waitFor(t, 'three MQTT messages', () => new Set(received.map((r) => r.topic)).size === 3)
  const [a, bb, c] = ['site1/sensors/a', 'site1/sensors/b', 'site1/sensors/c'].map((topic) => received.find((r) => r.topic === topic)!)
  t.is(a.packet.qos, 1)
  t.is(a.payload.toString(), '{"c":21.5}')
  t.like(a.packet.properties?.userProperties, { 'glue-codec': 'json', 'glue-type': 'Temp' })
  t.is(a.packet.properties?.contentType, 'application/json')
  t.is(bb.packet.qos, 0)
  t.deepEqual([...bb.payload], [0, 1, 2, 255])
  t.is(bb.packet.properties?.userProperties, undefined, 'raw and untyped are the defaults; a bridge alone needs no marker')
  t.is(c.packet.qos, 1)
  t.true(c.packet.retain, 'retain as published')
  // A late MQTT subscriber gets the retained one from the broker.
  const late = await mqttClient(t, broker, 'site1/sensors/c')
  await waitFor(t, 'the retained message', () => late.received.length === 1)
  t.is(late.received[0].payload.toString(), 'last')
  t.true(late.received[0].packet.retain)
  await waitFor(t, 'the stats', () => b.stats().toMqtt === received.length)
  t.like(b.stats(), { connected: true, protocolVersion: 5, fromMqtt: 0, queued: 0, inFlight: 0 })
})

test('MQTT → glue: QoS 1 is reliable, QoS 0 best effort, retained ones reach late joiners, codec from properties, prefix removed', async (t) => {
  const broker = await startMosquitto(t)
  const publisher = await mqttClient(t, broker)
  await publisher.client.publishAsync('site1/sensors/kept', 'retained before the bridge', { qos: 1, retain: true })
  const [ep, other] = await pair(t, 'bridge', 'app')
  const b = await bridge(t, ep, { url: broker.url, topics: ['sensors/#'], direction: 'from-mqtt', prefix: 'site1/' })
  const got: TopicMessage[] = []
  other.subscribe('sensors/#', { callback: (m) => got.push(m) })
  // The retained MQTT message became a retained glue publication: the subscriber, which came later, gets it.
  await waitFor(t, 'the retained one', () => got.some((m) => m.topic === 'sensors/kept'))
  const kept = got.find((m) => m.topic === 'sensors/kept')!
  t.true(kept.retained)
  t.true(kept.reliable)
  t.is(kept.text(), 'retained before the bridge')
  t.is(kept.from, ep.id)
  const json = { userProperties: { 'glue-codec': 'json', 'glue-type': 'Temp' } }
  await publisher.client.publishAsync('site1/sensors/a', '{"c":1}', { qos: 1, properties: json })
  await waitFor(t, 'sensors/a', () => got.some((m) => m.topic === 'sensors/a'))
  const a = got.find((m) => m.topic === 'sensors/a')!
  t.like(a, { reliable: true, type: 'Temp', codec: 1, value: { c: 1 }, retained: false })
  await publisher.client.publishAsync('site1/sensors/m', '{"m":2}', { qos: 1, properties: { contentType: 'application/json' } })
  await waitFor(t, 'sensors/m', () => got.some((m) => m.topic === 'sensors/m'))
  t.deepEqual(got.find((m) => m.topic === 'sensors/m')!.value, { m: 2 })
  await probe(t, () => void publisher.client.publish('site1/sensors/zero', 'q0', { qos: 0 }), () => got.some((m) => m.topic === 'sensors/zero'))
  t.false(got.find((m) => m.topic === 'sensors/zero')!.reliable)
  // Outside the prefix or the filters: not bridged. Unknown codec: dropped and counted.
  await publisher.client.publishAsync('elsewhere/sensors/a', 'x', { qos: 1 })
  await publisher.client.publishAsync('site1/sensors/bad', 'x', { qos: 1, properties: { userProperties: { 'glue-codec': 'nope' } } })
  await waitFor(t, 'the bad codec counted', () => b.stats().dropped.codec === 1)
  t.false(got.some((m) => m.topic === 'sensors/bad' || m.topic.startsWith('elsewhere')))
  t.is(b.stats().toMqtt, 0)
})

test('one bridge both ways: nothing comes back (no loop), each message arrives once on each side', async (t) => {
  const broker = await startMosquitto(t)
  const [ep, app] = await pair(t, 'bridge', 'app')
  const b = await bridge(t, ep, { url: broker.url, topics: ['loop/#'] })
  const mq = await mqttClient(t, broker, 'loop/#')
  const glueGot: TopicMessage[] = []
  app.subscribe('loop/#', { callback: (m) => glueGot.push(m) })
  const bridgeEpGot: TopicMessage[] = []
  ep.subscribe('loop/#', { callback: (m) => bridgeEpGot.push(m) })
  // glue → MQTT from another endpoint, once the routes are known.
  await probe(t, () => app.publish('loop/probe', 'p'), () => mq.received.some((r) => r.topic === 'loop/probe'))
  const N = 50
  for (let i = 0; i < N; i++) await app.publish(`loop/g/${i}`, `g${i}`, { reliable: true })
  for (let i = 0; i < N; i++) await mq.client.publishAsync(`loop/m/${i}`, `m${i}`, { qos: 1 })
  const count = (list: { topic: string }[], part: string) => list.filter((m) => m.topic.startsWith(`loop/${part}/`)).length
  await waitFor(t, 'all on both sides', () => count(mq.received, 'g') === N && count(glueGot, 'm') === N)
  // A marker round after everything: what would have looped has arrived by then.
  await mq.client.publishAsync('loop/end', 'end', { qos: 1 })
  await waitFor(t, 'the end marker', () => glueGot.some((m) => m.topic === 'loop/end') && mq.received.some((r) => r.topic === 'loop/end'))
  await app.publish('loop/end2', 'end', { reliable: true })
  await waitFor(t, 'the second end marker', () => mq.received.some((r) => r.topic === 'loop/end2'))
  t.is(count(mq.received, 'g'), N)
  t.is(count(mq.received, 'm'), N, 'MQTT messages were not sent back to MQTT')
  t.is(count(glueGot, 'm'), N)
  t.is(count(glueGot.filter((m) => m.from !== app.id), 'g'), 0, 'glue publications were not re-published into glue')
  t.is(count(bridgeEpGot, 'g'), N, 'the bridge endpoint got each glue publication once')
  t.is(count(bridgeEpGot, 'm'), N, 'and each of its own imports once')
  t.true(b.stats().skippedLoop >= N, 'its own imports were seen and skipped')
})

test('two bridges on one network to one broker: no loop, no duplicates, the work is split', async (t) => {
  const broker = await startMosquitto(t)
  const options = isolatedOptions()
  const [a, bEp, app] = [await endpoint(t, 'A', options), await endpoint(t, 'B', options), await endpoint(t, 'app', options)]
  await waitFor(t, 'discovery', () => [a, bEp, app].every((e) => e.peers().length === 2))
  const bridges = [
    await bridge(t, a, { url: broker.url, topics: ['two/#'] }),
    await bridge(t, bEp, { url: broker.url, topics: ['two/#'] }),
  ]
  await waitFor(t, 'the bridges to see each other', () => bridges.every((x) => x.otherBridges().length === 1 && x.stats().bridges === 2))
  const mq = await mqttClient(t, broker, 'two/#')
  const glueGot: TopicMessage[] = []
  app.subscribe('two/#', { callback: (m) => glueGot.push(m) })
  // Both bridge endpoints must hear the app before the count starts (its interest routing knows both).
  const heard = [a, bEp].map((e) => {
    const got = { n: 0 }
    e.subscribe('two/probe', { callback: (m) => m.from === app.id && got.n++ })
    return got
  })
  await probe(t, () => app.publish('two/probe', 'p'), () => heard.every((h) => h.n > 0))
  await waitFor(t, 'a probe on MQTT', () => mq.received.some((r) => r.topic === 'two/probe'))
  const probes = mq.received.filter((r) => r.topic === 'two/probe').length
  const N = 100
  for (let i = 0; i < N; i++) await app.publish(`two/g/${i}`, `g${i}`, { reliable: true })
  for (let i = 0; i < N; i++) await mq.client.publishAsync(`two/m/${i}`, `m${i}`, { qos: 1 })
  const count = (list: { topic: string }[], part: string) => list.filter((m) => m.topic.startsWith(`two/${part}/`)).length
  await waitFor(t, 'all on both sides', () => count(mq.received, 'g') >= N && count(glueGot, 'm') >= N)
  await mq.client.publishAsync('two/end', 'end', { qos: 1 })
  await app.publish('two/end2', 'end', { reliable: true })
  await waitFor(t, 'the end markers', () => glueGot.some((m) => m.topic === 'two/end') && mq.received.some((r) => r.topic === 'two/end2'))
  t.is(count(mq.received, 'g'), N, 'each glue publication reached MQTT exactly once')
  t.true(mq.received.filter((r) => r.topic.startsWith('two/g/')).every((r) => /^[0-9a-f]{8}$/.test(String(r.packet.properties?.userProperties?.['glue-network']))), 'marked with the network')
  t.is(count(mq.received, 'm'), N, 'no MQTT message was sent back to MQTT')
  t.is(count(glueGot, 'm'), N, 'each MQTT message reached glue exactly once')
  t.is(count(glueGot.filter((m) => m.from !== app.id), 'g'), 0, 'glue publications were not re-published into glue')
  const [s0, s1] = bridges.map((x) => x.stats())
  t.is(s0.toMqtt + s1.toMqtt, N + 1 + mq.received.filter((r) => r.topic === 'two/probe').length, 'each forwarded by one bridge')
  t.true(probes >= 1)
  t.is(s0.fromMqtt + s1.fromMqtt, N + 1)
  t.true(s0.skippedOtherBridge > 0 && s1.skippedOtherBridge > 0, 'both did part of the work')
  // One closes: the other takes over all of the work at once.
  await bridges[0].close()
  await waitFor(t, 'the other to see it go', () => bridges[1].otherBridges().length === 0)
  for (let i = 0; i < N; i++) await app.publish(`two/h/${i}`, `h${i}`, { reliable: true })
  for (let i = 0; i < N; i++) await mq.client.publishAsync(`two/n/${i}`, `n${i}`, { qos: 1 })
  await waitFor(t, 'all after the takeover', () => count(mq.received, 'h') >= N && count(glueGot, 'n') >= N)
  await mq.client.publishAsync('two/end3', 'end', { qos: 1 })
  await app.publish('two/end4', 'end', { reliable: true })
  await waitFor(t, 'the last end markers', () => glueGot.some((m) => m.topic === 'two/end3') && mq.received.some((r) => r.topic === 'two/end4'))
  t.is(count(mq.received, 'h'), N)
  t.is(count(glueGot, 'n'), N)
  t.is(count(mq.received, 'n'), N)
})

test('two bridges of one network with different prefixes on one broker: marked, so nothing loops between them', async (t) => {
  const broker = await startMosquitto(t)
  const options = isolatedOptions()
  const [a, bEp, app] = [await endpoint(t, 'A', options), await endpoint(t, 'B', options), await endpoint(t, 'app', options)]
  await waitFor(t, 'discovery', () => [a, bEp, app].every((e) => e.peers().length === 2))
  // A bridges everything unprefixed, so it also sees B's site1/... on the broker; without the network marker it would
  // import site1/x into glue, B would forward it as site1/site1/x, and so on.
  const bridges = [
    await bridge(t, a, { url: broker.url, topics: ['#'] }),
    await bridge(t, bEp, { url: broker.url, topics: ['x/#'], prefix: 'site1/' }),
  ]
  await waitFor(t, 'the registry', () => bridges.every((x) => x.stats().bridges === 1) && bridges.every((x) => x.otherBridges().length === 0))
  const mq = await mqttClient(t, broker, '#')
  const glueGot: TopicMessage[] = []
  app.subscribe('#', { callback: (m) => glueGot.push(m) })
  await probe(t, () => app.publish('x/probe', 'p'), () => mq.received.some((r) => r.topic === 'x/probe') && mq.received.some((r) => r.topic === 'site1/x/probe'))
  const before = mq.received.length
  for (let i = 0; i < 20; i++) await app.publish(`x/${i}`, `${i}`, { reliable: true })
  await waitFor(t, 'both copies', () => mq.received.filter((r) => /^(site1\/)?x\/\d+$/.test(r.topic)).length >= 40)
  await mq.client.publishAsync('end', 'end', { qos: 1 })
  await waitFor(t, 'the end marker in glue', () => glueGot.some((m) => m.topic === 'end'))
  await app.publish('x/end', 'end', { reliable: true })
  await waitFor(t, 'the glue end marker', () => mq.received.some((r) => r.topic === 'site1/x/end'))
  const topics = mq.received.slice(before).map((r) => r.topic)
  t.is(topics.filter((x) => /^x\/\d+$/.test(x)).length, 20)
  t.is(topics.filter((x) => /^site1\/x\/\d+$/.test(x)).length, 20)
  t.false(topics.some((x) => x.startsWith('site1/site1/')), 'no loop')
  t.is(glueGot.filter((m) => m.from !== app.id && m.topic !== 'end').length, 0, 'nothing imported back into glue')
  t.true(bridges[0].stats().skippedLoop >= 20)
})

test('broker restart mid-stream: reliable glue publications and QoS 1 MQTT messages are all delivered', async (t) => {
  const broker = await startMosquitto(t, { persistence: true })
  const [ep, app] = await pair(t, 'bridge', 'app')
  const b = await bridge(t, ep, {
    url: broker.url,
    topics: ['up/#', 'down/#'],
    clientId: 'glue-restart-bridge',
    cleanSession: false,
    reconnectMinMs: 50,
    reconnectMaxMs: 500,
  })
  const events = statusOf(b)
  // The MQTT side: a subscriber with a persistent session (the broker keeps its QoS 1 messages while it is away).
  const sub = await mqttClient(t, broker, 'up/#', { clientId: 'restart-sub', clean: false, properties: { sessionExpiryInterval: 600 } })
  const pub = await mqttClient(t, broker)
  const glueGot = new Set<string>()
  app.subscribe('down/#', { reliable: true, callback: (m) => glueGot.add(m.topic) })
  await probe(t, () => app.publish('up/probe', 'p'), () => sub.received.some((r) => r.topic === 'up/probe'))
  await probe(t, () => void pub.client.publish('down/probe', 'p', { qos: 1 }), () => glueGot.has('down/probe'))
  const N = 200
  const sends: Promise<unknown>[] = []
  for (let i = 0; i < N; i++) {
    if (i === N / 2) {
      await broker.stop()
      await waitFor(t, 'the bridge to notice', () => events.some((e) => e.type === 'disconnected'))
    }
    sends.push(app.publish(`up/${i}`, `u${i}`, { reliable: true }))
    pub.client.publish(`down/${i}`, `d${i}`, { qos: 1 }) // mqtt.js holds them while the broker is down
    if (i === N / 2 + 20) {
      await waitFor(t, 'the queue to hold them', () => b.stats().queued >= 20)
      await broker.start()
    }
    await new Promise((resolve) => setImmediate(resolve))
  }
  await Promise.all(sends)
  await waitFor(t, 'the reconnection', () => events.some((e) => e.type === 'connected' && e.reconnect))
  const upSeen = () => new Set(sub.received.filter((r) => /^up\/\d+$/.test(r.topic)).map((r) => r.topic)).size
  const downSeen = () => [...glueGot].filter((x) => /^down\/\d+$/.test(x)).length
  await waitFor(t, `all ${N} each way`, () => upSeen() === N && downSeen() === N, 30_000)
  t.is(upSeen(), N)
  t.is(downSeen(), N)
  const s = b.stats()
  t.true(s.reconnects >= 1)
  t.like(s.dropped, { queueFull: 0 })
  t.log(`duplicates at the MQTT subscriber (QoS 1 is at least once): ${sub.received.filter((r) => /^up\/\d+$/.test(r.topic)).length - N}`)
})

test('while the broker is down: the queue holds queueLimit reliable publications, drops the oldest and counts', async (t) => {
  const broker = await startMosquitto(t, { persistence: true })
  const [ep, app] = await pair(t, 'bridge', 'app')
  const b = await bridge(t, ep, { url: broker.url, topics: ['q/#'], direction: 'to-mqtt', queueLimit: 5, reconnectMinMs: 50 })
  const events = statusOf(b)
  const sub = await mqttClient(t, broker, 'q/#', { clientId: 'queue-sub', clean: false, properties: { sessionExpiryInterval: 600 } })
  await probe(t, () => app.publish('q/probe', 'p'), () => sub.received.length > 0)
  await waitFor(t, 'the probes to be acknowledged', () => b.stats().inFlight === 0)
  await broker.stop()
  await waitFor(t, 'the bridge to notice', () => events.some((e) => e.type === 'disconnected'))
  t.false(b.stats().connected)
  for (let i = 0; i < 20; i++) await ep.publish(`q/${i}`, `${i}`, { reliable: true })
  await waitFor(t, 'the best-effort one to arrive and be dropped', () => {
    app.publish('q/best-effort', 'x')
    return b.stats().dropped.offline > 0
  })
  t.like(b.stats(), { queued: 5, dropped: { queueFull: 15 } })
  await broker.start()
  const kept = () => sub.received.filter((r) => /^q\/\d+$/.test(r.topic)).map((r) => r.topic)
  await waitFor(t, 'the five kept ones', () => kept().length >= 5)
  await waitFor(t, 'the queue to drain', () => b.stats().inFlight === 0)
  t.deepEqual(kept(), ['q/15', 'q/16', 'q/17', 'q/18', 'q/19'])
  t.like(b.stats(), { queued: 0, connected: true })
})

test('a refused broker URL rejects bridgeMqtt with a named error at once; bad options name the field', async (t) => {
  const ep = await endpoint(t, 'bridge')
  const port = await freePort() // nothing listens there
  const started = Date.now()
  const err = await t.throwsAsync(bridgeMqtt(ep, { url: `mqtt://127.0.0.1:${port}`, topics: ['a/#'] }), { instanceOf: MqttConnectError })
  t.is(err?.code, 'ERR_GLUE_MQTT_CONNECT')
  t.is(err?.reason, 'ECONNREFUSED')
  t.regex(err?.message ?? '', new RegExp(`127\\.0\\.0\\.1:${port}.*ECONNREFUSED`))
  t.true(Date.now() - started < 5000, 'no endless silent retry')
  const bad = async (options: Partial<MqttBridgeOptions>, option: string) => {
    const e = await t.throwsAsync(bridgeMqtt(ep, { url: 'mqtt://127.0.0.1:1', topics: ['a/#'], ...options } as MqttBridgeOptions), {
      instanceOf: InvalidOptionError,
    })
    t.is(e?.option, option, JSON.stringify(options))
    t.regex(e?.message ?? '', new RegExp(option.replace(/[[\]]/g, '\\$&')))
  }
  await bad({ url: 'not a url' }, 'url')
  await bad({ url: 'http://127.0.0.1:1883' }, 'url')
  await bad({ url: undefined }, 'url')
  await bad({ topics: [] }, 'topics')
  await bad({ topics: ['a/#', 'a/#/b'] }, 'topics[1]')
  await bad({ topics: ['sport+'] }, 'topics[0]')
  await bad({ topics: ['$SYS/#'] }, 'topics[0]')
  await bad({ topics: ['#'], prefix: 'site1' }, 'topics[0]')
  await bad({ prefix: 'a/+/' }, 'prefix')
  await bad({ direction: 'sideways' as never }, 'direction')
  await bad({ queueLimit: 0 }, 'queueLimit')
  await bad({ protocolVersion: 3 as never }, 'protocolVersion')
  await bad({ ca: '/nonexistent/ca.pem' }, 'ca')
  // The endpoint is unharmed.
  t.false(ep.isClosed)
  t.true(ep.publish('a/b', 'still fine'))
})

test('MQTT 3.1.1: both ways without user properties, and its own publications are not imported back', async (t) => {
  const broker = await startMosquitto(t)
  const [ep, app] = await pair(t, 'bridge', 'app')
  const b = await bridge(t, ep, { url: broker.url, topics: ['v4/#'], protocolVersion: 4 })
  t.is(b.stats().protocolVersion, 4)
  const mq = await mqttClient(t, broker, 'v4/#', { protocolVersion: 4 })
  const glueGot: TopicMessage[] = []
  app.subscribe('v4/#', { callback: (m) => glueGot.push(m) })
  await probe(t, () => app.publish('v4/probe', 'p'), () => mq.received.some((r) => r.topic === 'v4/probe'))
  for (let i = 0; i < 20; i++) await app.publish(`v4/g/${i}`, `g${i}`, { reliable: true })
  await mq.client.publishAsync('v4/m', 'from mqtt', { qos: 1 })
  await waitFor(t, 'the MQTT message in glue', () => glueGot.some((m) => m.topic === 'v4/m'))
  t.is(mq.received.filter((r) => r.topic.startsWith('v4/g/')).length, 20)
  t.is(glueGot.filter((m) => m.topic.startsWith('v4/g/') && m.from !== app.id).length, 0, 'the broker’s echo of its own publications was skipped')
  t.true(b.stats().skippedLoop >= 20)
})

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl in `dir`. */
function makeCertificates(dir: string): Record<'ca' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey', string> {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=glue test CA')
  writeFileSync(join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1\n')
  for (const who of ['server', 'client']) {
    run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who === 'server' ? '127.0.0.1' : 'glue-bridge'}`)
    run('x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.pem`, '-days', '2', '-extfile', 'ext')
  }
  for (const file of ['ca.pem', 'server.pem', 'server.key']) chmodSync(join(dir, file), 0o644)
  const at = (f: string) => join(dir, f)
  return { ca: at('ca.pem'), serverCert: at('server.pem'), serverKey: at('server.key'), clientCert: at('client.pem'), clientKey: at('client.key') }
}

test('TLS with a client certificate (ca, cert, key as files); without the certificate the first connection fails clearly', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'glue-test-tls-'))
  chmodSync(dir, 0o755)
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const certs = makeCertificates(dir)
  const broker = await startMosquitto(t, {
    scheme: 'mqtts',
    listener: [`cafile ${certs.ca}`, `certfile ${certs.serverCert}`, `keyfile ${certs.serverKey}`, 'require_certificate true'],
  })
  const ep = await endpoint(t, 'bridge')
  const b = await bridge(t, ep, { url: broker.url, topics: ['tls/#'], ca: certs.ca, cert: certs.clientCert, key: certs.clientKey })
  const tls = { ca: readFileSync(certs.ca), cert: readFileSync(certs.clientCert), key: readFileSync(certs.clientKey) }
  const mq = await mqttClient(t, broker, 'tls/#', tls)
  await ep.publish('tls/a', 'sealed by TLS', { reliable: true })
  await waitFor(t, 'the message over TLS', () => mq.received.length === 1)
  t.is(mq.received[0].payload.toString(), 'sealed by TLS')
  t.true(b.stats().connected)
  const err = await t.throwsAsync(bridgeMqtt(ep, { url: broker.url, topics: ['tls/#'], ca: certs.ca, connectTimeoutMs: 5000 }), {
    instanceOf: MqttConnectError,
  })
  t.is(err?.code, 'ERR_GLUE_MQTT_CONNECT')
})

test('status() iterates connection changes with backoff, reconnects and resubscribes, and ends on close', async (t) => {
  const broker = await startMosquitto(t)
  const ep = await endpoint(t, 'bridge')
  const b = await bridge(t, ep, { url: broker.url, topics: ['st/#'], direction: 'from-mqtt', reconnectMinMs: 20, reconnectMaxMs: 200 })
  const events: MqttBridgeStatus[] = []
  const iterating = (async () => {
    for await (const event of b.status()) events.push(event)
  })()
  await broker.stop()
  // While it is down, attempts fail and the delay doubles (with jitter) up to reconnectMaxMs.
  await waitFor(t, 'several failed attempts', () => events.filter((e) => e.type === 'disconnected').length >= 4)
  const delays = events.flatMap((e) => (e.type === 'disconnected' ? [e.retryInMs] : []))
  t.true(delays.every((ms) => ms >= 15 && ms <= 200), JSON.stringify(delays))
  t.true(delays.at(-1)! > delays[0], `backoff grows: ${JSON.stringify(delays)}`)
  await broker.start()
  await waitFor(t, 'the reconnection', () => events.some((e) => e.type === 'connected' && e.reconnect))
  t.like(b.stats(), { connected: true, reconnects: 1 })
  // Subscribed again (the broker lost the session): a message after the restart arrives.
  const got: TopicMessage[] = []
  ep.subscribe('st/#', { callback: (m) => got.push(m) })
  const mq = await mqttClient(t, broker)
  await probe(t, () => void mq.client.publish('st/after', 'x', { qos: 1 }), () => got.length > 0)
  await b.close()
  await iterating // the iterator ended
  t.pass()
})
