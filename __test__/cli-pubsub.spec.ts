/**
 * `glue pub` and `glue sub` with matched subscribers, on loopback with a private group (run in this process; the
 * other endpoints are opened here too): pub waits for subscribers and reports its reach, times out with exit 1,
 * rejects values that are not JSON under --codec json, takes --wait 0; sub ends with a one-line summary.
 */
import anyTest, { type ExecutionContext, type TestFn } from 'ava'

import { Endpoint, InvalidOptionError, type TopicMessage } from '../index'
import { formatStatus } from '../src/cli/common'
import { main } from '../src/cli/main'
import { parseValue } from '../src/cli/pubsub'
import { isNativeAvailable } from '../src/transport/native'
import { isolatedOptions, until } from './helpers/loopback'

const withNative = (isNativeAvailable() ? anyTest.serial : anyTest.skip) as TestFn
/** Generous deadlines for a loaded machine (the waits end as soon as the condition holds). */
const DEADLINE_MS = 20_000

/**
 * Runs the CLI in this process and collects what it prints. Serial tests only: it replaces console.log and
 * console.error meanwhile.
 */
async function glueHere(args: string[]) {
  const out: string[] = []
  const err: string[] = []
  const { log, error } = console
  console.log = (...items: unknown[]) => void out.push(items.join(' '))
  console.error = (...items: unknown[]) => void err.push(items.join(' '))
  try {
    const code = await main(['node', 'glue', ...args])
    return { code, stdout: out, stderr: err }
  } finally {
    console.log = log
    console.error = error
  }
}

/** CLI flags and endpoint options of one private group; endpoints opened with `open` close in the teardown. */
function network(t: ExecutionContext) {
  const base = isolatedOptions()
  const flags = ['--group', String(base.group), '--network-id', String(base.networkId), '--announce-period', '100']
  const eps: Endpoint[] = []
  t.teardown(() => Promise.all(eps.map((ep) => ep.close())))
  const open = async (name: string): Promise<Endpoint> => {
    const ep = await Endpoint.open({ ...base, name })
    eps.push(ep)
    return ep
  }
  return { flags, open }
}

anyTest('values that are not JSON are refused under --codec json and msgpack, naming the value', (t) => {
  const err = t.throws(() => parseValue('{bad', 'json'), { instanceOf: InvalidOptionError })
  t.regex(err?.message ?? '', /^invalid value "\{bad" for --codec json: not JSON \(.+\); quote a JSON string/)
  t.is(err?.value, '{bad')
  t.deepEqual(parseValue('{"a":[1]}', 'json'), { a: [1] })
  t.is(parseValue('{bad', 'raw'), '{bad')
})

anyTest.serial("glue pub bad/x '{bad' --codec json: one line, exit 1, nothing opened or published", async (t) => {
  const { code, stdout, stderr } = await glueHere(['pub', 'bad/x', '{bad', '--codec', 'json'])
  t.is(code, 1)
  t.deepEqual(stdout, [])
  t.is(stderr.length, 1, stderr.join('\n'))
  t.regex(stderr[0] ?? '', /^glue: invalid value "\{bad" for --codec json: not JSON/)
})

withNative('glue pub waits for --wait-subscribers endpoints, then prints how many it reached', async (t) => {
  const { flags, open } = network(t)
  // The publisher starts first: it must wait for both subscribers.
  const pub = glueHere(['pub', 'cli/m/x', 'v', '--wait-subscribers', '2', '--wait-timeout', '30', '--count', '3', '--interval', '0', '--reliable', ...flags])
  const got = new Map<string, TopicMessage[]>()
  for (const name of ['S1', 'S2']) {
    const ep = await open(name)
    const list: TopicMessage[] = []
    got.set(name, list)
    ep.subscribe(name === 'S1' ? 'cli/m/x' : 'cli/#', { callback: (m) => list.push(m) })
  }
  const bystander = await open('bystander')
  bystander.subscribe('other/#')
  const { code, stdout, stderr } = await pub
  t.is(code, 0, stderr.join('\n'))
  t.deepEqual(stdout, [
    'published cli/m/x #1 to 2 endpoints',
    'published cli/m/x #2 to 2 endpoints',
    'published cli/m/x #3 to 2 endpoints',
    'published 3 messages to 2 endpoints on cli/m/x, each acknowledged',
  ])
  t.true(await until(() => [...got.values()].every((list) => list.length === 3), DEADLINE_MS))
  t.deepEqual(got.get('S1')?.map((m) => m.text()), ['v 1', 'v 2', 'v 3'])
})

withNative('glue pub with nobody subscribing: one line, exit 1, nothing published', async (t) => {
  const { flags, open } = network(t)
  const other = await open('other')
  other.subscribe('elsewhere/#') // a peer with other interests does not count
  const { code, stdout, stderr } = await glueHere(['pub', 'cli/nobody', 'v', '--wait-timeout', '0.5', ...flags])
  t.is(code, 1)
  t.deepEqual(stdout, [])
  t.deepEqual(stderr, [
    'glue: nobody subscribes to cli/nobody (waited 0.5 s for 1); nothing published (--no-wait-subscribers publishes anyway)',
  ])
  const few = await glueHere(['pub', 'cli/nobody', 'v', '--wait-subscribers', '2', '--wait-timeout', '0.2', ...flags])
  t.is(few.code, 1)
  t.regex(few.stderr.join('\n'), /^glue: (nobody subscribes|only 1 endpoint subscribes) to cli\/nobody \(waited 0\.2 s for 2\)/)
})

withNative('glue pub --wait 0 and --no-wait-subscribers publish at once; a negative --wait is refused', async (t) => {
  const { flags } = network(t)
  const now = await glueHere(['pub', 'cli/now', 'v', '--no-wait-subscribers', '--wait', '0', ...flags])
  t.is(now.code, 0, now.stderr.join('\n'))
  t.deepEqual(now.stdout, ['published 1 message to 0 endpoints on cli/now'])
  const zero = await glueHere(['pub', 'cli/now', 'v', '--wait-subscribers', '0', '--wait', '0', ...flags])
  t.deepEqual([zero.code, zero.stdout], [0, ['published 1 message to 0 endpoints on cli/now']])
  const negative = await glueHere(['pub', 'cli/now', 'v', '--wait=-1', ...flags])
  t.not(negative.code, 0)
})

withNative('glue sub ends with a one-line summary on stderr: messages, topics, duration', async (t) => {
  const { flags, open } = network(t)
  const quiet = await glueHere(['sub', 'cli/s/#', '--duration', '0.3', ...flags])
  t.is(quiet.code, 0)
  t.deepEqual(quiet.stdout, [])
  t.is(quiet.stderr.length, 1)
  t.regex(quiet.stderr[0] ?? '', /^received 0 messages on 0 topics in \d+\.\d s$/)

  const publisher = await open('P')
  const sub = glueHere(['sub', 'cli/s/#', '--count', '3', '--duration', '60', '--json', ...flags])
  await publisher.waitForSubscribers('cli/s/a', { timeoutMs: DEADLINE_MS })
  await publisher.publish('cli/s/a', '1', { reliable: true })
  await publisher.publish('cli/s/b', '2', { reliable: true })
  await publisher.publish('cli/s/a', '3', { reliable: true })
  const { code, stdout, stderr } = await sub
  t.is(code, 0)
  t.deepEqual(stdout.map((line) => JSON.parse(line).value), ['1', '2', '3'])
  t.is(stderr.length, 1)
  t.regex(stderr[0] ?? '', /^received 3 messages on 2 topics in \d+\.\d s$/)
})

anyTest("a 'subscribers-changed' status event prints as one line with the topic", (t) => {
  const peer = { id: 'aaaaaaaaaaaaaaaa', name: 'B', address: '127.0.0.1:1', announcePeriodMs: 100, since: new Date(), extensions: new Map() }
  const record = { id: peer.id, name: 'B', address: peer.address, local: false }
  const added = { type: 'subscribers-changed', peer, topic: 'a/b', subscribers: 2, added: [record], removed: [] } as const
  t.is(formatStatus(added), 'subscribers-changed a/b: +B (aaaaaaaaaaaaaaaa), 2 now')
  t.is(formatStatus({ ...added, subscribers: 1, added: [], removed: [record] }), 'subscribers-changed a/b: -B (aaaaaaaaaaaaaaaa), 1 now')
})
