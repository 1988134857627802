/**
 * Topics across real network stacks: each endpoint in its own process and network namespace (helpers/netns.ts).
 * A subscriber cut off by a partition gets every publication it missed exactly once and in order after the link
 * heals — from the publisher, or from a caching peer when the publisher was killed meanwhile — and an endpoint that
 * subscribes to nothing receives no data at all.
 *
 * Needs root, iproute2 and nftables; otherwise every test is skipped with the reason in its title. Serial.
 *
 * Each partition lasts until both sides have expired each other, as a real one does. A one-sided expiry (one side
 * forgets the other, which does not) is covered by the simulator test `after_a_one_sided_expiry_both_directions_work_
 * again` in crates/glue-proto/tests/reliable.rs.
 */
import type { EndpointOptions } from '../index'
import {
  type Host,
  type NsProcess,
  type NsRecord,
  netnsTests,
  setLink,
  spawnIn,
  type TestNet,
  useNet,
} from './helpers/netns'

const { test, title } = netnsTests('topics-netns.spec.ts')

const TEST_TIMEOUT_MS = 120_000

/** Host `h<i>` with fast expiry (a 0.3 s partition is noticed), and the topic options given. */
function start(net: TestNet, host: Host, topics: EndpointOptions['topics'] = {}): NsProcess {
  const options: EndpointOptions = {
    name: `h${host.index}`,
    networkId: net.networkId,
    interface: host.ip,
    group: '239.192.137.1:37320',
    announcePeriodMs: 100,
    expiryMultiplier: 3,
    maxDatagramSize: 1472,
    deliveryDeadlineMs: 2000,
    env: false,
    topics: { multicastRatio: 1, ...topics },
  }
  return spawnIn(net, host, 'netns-topics.ts', { options })
}

const upEvent = (name: string) => (r: NsRecord) => r.event === 'peer-up' && r.name === name
const downEvent = (name: string) => (r: NsRecord) => r.event === 'peer-down' && r.name === name
const messages = (p: NsProcess) => p.records.filter((r) => r.event === 'message')

/** `sub` subscribes to `filter` and `pub` has its new interest summary (a peer-changed for it). */
async function subscribed(pub: NsProcess, sub: NsProcess, filter: string): Promise<void> {
  const from = pub.records.length
  sub.command({ op: 'subscribe', filter })
  await sub.waitFor((r) => r.event === 'subscribed')
  const name = `h${sub.host.index}`
  await pub.waitFor((r) => r.event === 'peer-changed' && r.name === name && pub.records.indexOf(r) >= from, 10_000)
}

/** Waits until `p` printed `count` messages. */
const received = (p: NsProcess, count: number, timeoutMs = 20_000) =>
  p.waitFor(() => messages(p).length >= count, timeoutMs)

/** Waits until every process saw every other one come up. */
async function meshed(procs: NsProcess[]): Promise<void> {
  for (const p of procs) {
    for (const other of procs) if (other !== p) await p.waitFor(upEvent(`h${other.host.index}`), 20_000)
  }
}

/** Publishes "from".."to" on p/x from `p` and waits until it is done. */
async function publish(p: NsProcess, from: number, to: number): Promise<void> {
  p.command({ op: 'publish', topic: 'p/x', from, to, depth: 1000 })
  await p.waitFor((r) => r.event === 'published' && r.to === to, 30_000)
}

/** The stats a process prints when asked. */
async function stats(p: NsProcess): Promise<Record<string, number>> {
  const before = p.records.length
  p.command({ op: 'stats' })
  const record = await p.waitFor((r) => r.event === 'stats' && p.records.indexOf(r) >= before)
  return record.stats as Record<string, number>
}

const PARTITION = 'partition: the cut-off subscriber gets every missed publication once, in order; a bystander gets no data'
test(title(PARTITION), async (t) => {
  t.timeout(TEST_TIMEOUT_MS)
  const net = useNet(t, 3)
  const [pub, sub, idle] = net.hosts.map((host) => start(net, host))
  await meshed([pub, sub, idle])
  await subscribed(pub, sub, 'p/#')
  await publish(pub, 1, 10)
  await received(sub, 10)
  setLink(net, sub.host, 'down')
  // Both sides expire each other (see the note at the top).
  await Promise.all([pub.waitFor(downEvent('h2'), 10_000), sub.waitFor(downEvent('h1'), 10_000)])
  await publish(pub, 11, 30)
  setLink(net, sub.host, 'up')
  await received(sub, 30)
  await publish(pub, 31, 35)
  await received(sub, 35)
  await new Promise((resolve) => setTimeout(resolve, 300)) // deliberate: no duplicate arrives later
  t.deepEqual(
    messages(sub).map((r) => Number(r.text)),
    Array.from({ length: 35 }, (_, i) => i + 1),
  )
  t.true(messages(sub).some((r) => r.replayed === true), 'some came from the history')
  const bystander = await stats(idle)
  t.is(bystander.messagesReceived, 0, 'h3 subscribes to nothing: not one message reached it')
  t.is(bystander.topicUnwanted, 0)
})

const KILLED = 'partition: when the publisher is killed meanwhile, a caching peer fills the gap once, in order'
test(title(KILLED), async (t) => {
  t.timeout(TEST_TIMEOUT_MS)
  const net = useNet(t, 3)
  const pub = start(net, net.hosts[0])
  const sub = start(net, net.hosts[1])
  const cache = start(net, net.hosts[2], { cache: { filters: ['#'], depth: 1000 } })
  await meshed([pub, sub, cache])
  await subscribed(pub, sub, 'p/x')
  await publish(pub, 1, 10)
  await received(sub, 10)
  setLink(net, sub.host, 'down')
  await Promise.all([pub.waitFor(downEvent('h2'), 10_000), sub.waitFor(downEvent('h1'), 10_000)])
  await publish(pub, 11, 30)
  pub.proc.kill('SIGKILL')
  await Promise.all([cache.waitFor(downEvent('h1'), 10_000), sub.waitFor(downEvent('h3'), 10_000)])
  await cache.waitFor(downEvent('h2'), 10_000)
  setLink(net, sub.host, 'up')
  await received(sub, 30)
  await new Promise((resolve) => setTimeout(resolve, 300)) // deliberate: no duplicate arrives later
  t.deepEqual(
    messages(sub).map((r) => Number(r.text)),
    Array.from({ length: 30 }, (_, i) => i + 1),
  )
  t.true(messages(sub).slice(10).every((r) => r.replayed === true && r.from === 'h1'), 'replays of h1\'s publications')
  t.true((await stats(cache)).topicReplayed >= 20, 'sent by the cache, h1 being gone')
})
