/**
 * Security across real network stacks: endpoints with a network key on hosts h1 (publisher), h2 and h3
 * (subscribers: the publications go by multicast), and an attacker on h4 (a host of the same segment, without the key) that records their traffic, then forges BYE, ANNOUNCE (a redirect to
 * itself), HEARTBEAT and data in their names, takes a name first, replays everything it recorded — also after h1
 * restarted under the same ID — and floods announcements from made-up IDs. Nothing of it is accepted: no peer goes
 * down or moves, every publication arrives once and in order, nothing forged or replayed is delivered.
 *
 * Needs root, iproute2 and nftables; otherwise skipped with the reason in its title. Serial.
 */
import type { EndpointOptions } from '../index'
import { type Host, type NsProcess, type NsRecord, netnsTests, spawnIn, type TestNet, useNet } from './helpers/netns'

const { test, title } = netnsTests('security-netns.spec.ts')

const KEY = '7e'.repeat(32)
const GROUP = '239.192.137.1:37320'

function start(net: TestNet, host: Host, id?: string): NsProcess {
  const options: EndpointOptions = {
    name: `h${host.index}`,
    ...(id === undefined ? {} : { id }),
    networkId: net.networkId,
    interface: host.ip,
    group: GROUP,
    announcePeriodMs: 100,
    expiryMultiplier: 5,
    maxDatagramSize: 1472,
    networkKey: KEY,
    env: false,
    topics: { multicastRatio: 1 },
  }
  return spawnIn(net, host, 'netns-topics.ts', { options })
}

const upEvent = (name: string) => (r: NsRecord) => r.event === 'peer-up' && r.name === name
const messages = (p: NsProcess) => p.records.filter((r) => r.event === 'message')

test(title('an attacker on the segment forges, replays and floods: nothing is accepted'), async (t) => {
  t.timeout(120_000)
  const net = useNet(t, 4)
  const [h1, h2, h3, h4] = net.hosts
  let a = start(net, h1)
  const b = start(net, h2)
  const c = start(net, h3)
  const mallory = spawnIn(net, h4, 'netns-attacker.ts', { ip: h4.ip, group: GROUP })
  const aReady = await a.waitFor((r) => r.event === 'ready')
  for (const [p, names] of [[a, ['h2', 'h3']], [b, ['h1', 'h3']], [c, ['h1', 'h2']]] as const) {
    for (const name of names) await p.waitFor(upEvent(name), 20_000)
  }
  for (const p of [b, c]) {
    p.command({ op: 'subscribe', filter: 'plant/#' })
    await p.waitFor((r) => r.event === 'subscribed')
  }
  // One publication first: once both have it, h1 knows their interest and multicasts (the attacker records that).
  a.command({ op: 'publish', topic: 'plant/t', from: 1, to: 1, depth: 100 })
  for (const p of [b, c]) await p.waitFor(() => messages(p).length >= 1, 20_000)
  mallory.command({ op: 'capture' })
  await mallory.waitFor((r) => r.event === 'capturing')
  a.command({ op: 'publish', topic: 'plant/t', from: 2, to: 50, depth: 100 })
  await a.waitFor((r) => r.event === 'published' && r.to === 50, 20_000)
  await b.waitFor(() => messages(b).length >= 50, 20_000)
  // h1 restarts under the same ID (a new start: its recorded traffic must not be taken for the new one).
  await a.stop()
  a = start(net, h1, aReady.id as string)
  await a.waitFor(upEvent('h2'), 20_000)
  await b.waitFor((r) => r.event === 'peer-up' && r.name === 'h1' && b.records.indexOf(r) > 0, 20_000)
  const eventsBefore = b.records.filter((r) => r.event === 'peer-up' || r.event === 'peer-down').length

  mallory.command({ op: 'attack', networkId: net.networkId })
  const attacked = await mallory.waitFor((r) => r.event === 'attacked', 60_000)
  t.true((attacked.replayed as number) >= 10 && (attacked.heard as number) >= 3, JSON.stringify(attacked))
  a.command({ op: 'publish', topic: 'plant/t', from: 51, to: 60, depth: 100 })
  await a.waitFor((r) => r.event === 'published' && r.to === 60, 20_000)
  await b.waitFor(() => messages(b).some((m) => m.text === '60'), 20_000)

  b.command({ op: 'stats' })
  const { stats } = (await b.waitFor((r) => r.event === 'stats')) as NsRecord & { stats: Record<string, number> }
  t.log(
    `attacker: ${JSON.stringify(attacked)}; h2 dropped: unsealed ${stats.droppedUnsealed}, replay ${stats.droppedReplay}, ` +
      `unverified ${stats.droppedUnverified}, unauthenticated ${stats.droppedUnauthenticated}`,
  )
  const texts = messages(b).map((m) => m.text)
  const firstRun = texts.slice(0, 50)
  t.deepEqual(firstRun, Array.from({ length: 50 }, (_, i) => `${i + 1}`), 'the first run, once and in order')
  t.deepEqual(texts.slice(-10), Array.from({ length: 10 }, (_, i) => `${i + 51}`), 'after the attack, once and in order')
  t.false(texts.includes('forged'))
  const events = b.records.filter((r) => r.event === 'peer-up' || r.event === 'peer-down')
  t.is(events.length, eventsBefore, `no peer went down, moved or appeared: ${JSON.stringify(events.slice(eventsBefore))}`)
  t.true(stats.droppedUnsealed >= 2000, 'the forgeries and the flood were dropped unopened')
  t.true(stats.droppedReplay + stats.droppedUnverified >= (attacked.replayed as number), 'each replay was refused')
  for (const p of [a, b, c, mallory]) await p.stop()
})
