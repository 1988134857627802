/**
 * `glue bridge` end to end: the CLI bridges a private group to a private Mosquitto both ways, prints its status
 * lines and, on Ctrl-C, a summary; a refused broker and bad flags end it with exit code 1 and a message naming them.
 */
import anyTest, { type TestFn } from 'ava'
import mqtt from 'mqtt'

import { Endpoint, type TopicMessage } from '../index'
import { isNativeAvailable } from '../src/transport/native'
import { glue, start } from './helpers/cli'
import { isolatedOptions, until } from './helpers/loopback'
import { freePort, MOSQUITTO, startMosquitto } from './helpers/mosquitto'

const test = (isNativeAvailable() && MOSQUITTO !== undefined ? anyTest : anyTest.skip) as TestFn

test('glue bridge: both ways with a prefix, status lines, a summary on Ctrl-C', async (t) => {
  const broker = await startMosquitto(t)
  const options = isolatedOptions()
  const flags = ['--group', String(options.group), '--network-id', String(options.networkId), '--announce-period', '100']
  const cli = start(t, ['bridge', broker.url, '--topic', 'cli/#', '--prefix', 'site1/', ...flags])
  await cli.waitForLines((line) => line.includes(`connected to ${broker.url}`) && line.includes('MQTT 5'))
  t.truthy(cli.lines.find((line) => line.includes('bridging cli/# <-> ') && line.includes('with prefix site1/')))
  const client = await mqtt.connectAsync(broker.url, { protocolVersion: 5 })
  t.teardown(() => client.endAsync(true))
  const fromGlue: string[] = []
  client.on('message', (topic) => fromGlue.push(topic))
  await client.subscribeAsync('site1/cli/#', { qos: 1 })
  const ep = await Endpoint.open({ ...options, name: 'app' })
  t.teardown(() => ep.close())
  const got: TopicMessage[] = []
  ep.subscribe('cli/#', { callback: (m) => got.push(m) })
  t.true(await until(() => {
    if (fromGlue.length === 0) ep.publish('cli/probe', 'p')
    return fromGlue.length > 0
  }, 20_000), 'glue → MQTT')
  await ep.publish('cli/reliable', 'r', { reliable: true })
  await client.publishAsync('site1/cli/from-mqtt', 'm', { qos: 1 })
  t.true(await until(() => got.some((m) => m.topic === 'cli/from-mqtt') && fromGlue.includes('site1/cli/reliable'), 20_000))
  cli.proc.kill('SIGINT')
  const [summary] = await cli.waitForLines((line) => line.includes('closed:'))
  t.regex(summary, /closed: \d+ to MQTT, 1 from MQTT, 0 reconnects/)
  t.is(await cli.exited, 0)
})

test('glue bridge: a refused broker and bad flags end with exit code 1 and a message naming them', async (t) => {
  const port = await freePort()
  const refused = await glue(['bridge', `mqtt://127.0.0.1:${port}`, '--topic', 'a/#', '--group', '239.255.9.9:45123'])
  t.is(refused.code, 1)
  t.regex(refused.stderr, new RegExp(`glue: cannot connect to MQTT broker mqtt://127\\.0\\.0\\.1:${port}/?: .*ECONNREFUSED`))
  const badTopic = await glue(['bridge', 'mqtt://127.0.0.1:1', '--topic', 'a/#/b'])
  t.is(badTopic.code, 1)
  t.regex(badTopic.stderr, /Invalid --topic/)
  const badUrl = await glue(['bridge', 'nope', '--topic', 'a/#'])
  t.is(badUrl.code, 1)
  t.regex(badUrl.stderr, /Invalid <url>: "nope"/)
  const badDirection = await glue(['bridge', 'mqtt://127.0.0.1:1', '--topic', 'a/#', '--direction', 'sideways'])
  t.not(badDirection.code, 0)
  t.regex(badDirection.stderr, /--direction must be one of both, to-mqtt, from-mqtt/)
  const noTopic = await glue(['bridge', 'mqtt://127.0.0.1:1'])
  t.not(noTopic.code, 0)
  t.regex(noTopic.stderr, /--topic/)
})
