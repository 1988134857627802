/**
 * Unicast peers across two subnets joined by a router (network namespaces, see helpers/netns-routed.ts): six hosts,
 * three on 10.78.1.0/24 and three on 10.78.2.0/24, every host dropping all multicast it receives (nftables), each
 * endpoint given one peer address (a bare IP: the default port 37321, on which every endpoint listens). Subnet 1
 * runs with multicast on (its group datagrams are dropped), subnet 2 with `multicast: false`. All find each other
 * through gossip; reliable messages, reliable broadcasts and topics flow across the router; a partition (the link
 * of the host the others were configured with goes down) is survived and heals.
 *
 * Needs root, iproute2 and nftables; otherwise every test is skipped with the reason in its title. Serial.
 */
import type { EndpointOptions } from '../index'
import { type NsProcess, type NsRecord, netnsTests, setLink, spawnIn } from './helpers/netns'
import {
  dropMulticast,
  multicastDropped,
  type RoutedHost,
  type RoutedNet,
  useRoutedNet,
} from './helpers/netns-routed'

const { test, title } = netnsTests('unicast-netns.spec.ts')

const name = (h: RoutedHost): string => h.ns.slice(h.ns.lastIndexOf('-') + 1) // s1h1 ...

/** The one peer address each host is given: a chain within each subnet, and s1h1 <-> s2h1 across the router. */
function peerOf(net: RoutedNet, h: RoutedHost): string {
  const i = Number(name(h).slice(3))
  if (i > 1) return `10.78.${h.subnet}.${i - 1}`
  return h.subnet === 1 ? '10.78.2.1' : '10.78.1.1'
}

function options(net: RoutedNet, h: RoutedHost): EndpointOptions {
  return {
    name: name(h),
    networkId: net.networkId,
    interface: h.ip,
    listenAddress: `${h.ip}:37321`,
    group: '239.192.137.1:37320',
    multicast: h.subnet === 1,
    peers: [peerOf(net, h)],
    announcePeriodMs: 200,
    expiryMultiplier: 5,
    maxDatagramSize: 1472,
    env: false,
  }
}

const peerUp = (n: string) => (r: NsRecord) => r.event === 'peer-up' && r.name === n
const peerDown = (n: string) => (r: NsRecord) => r.event === 'peer-down' && r.name === n

/** Waits until every process saw every other host come up (after `from` records). */
async function allUp(procs: NsProcess[], from: number[] = procs.map(() => 0)): Promise<void> {
  await Promise.all(
    procs.flatMap((p, i) =>
      procs
        .filter((q) => q !== p)
        .map((q) => waitAfter(p, from[i]!, peerUp(name(q.host as RoutedHost)), 30_000)),
    ),
  )
}

/** The first matching record after the first `after` records. */
async function waitAfter(p: NsProcess, after: number, match: (r: NsRecord) => boolean, ms = 20_000): Promise<NsRecord> {
  let seen = 0
  return p.waitFor((r) => {
    seen = p.records.indexOf(r) + 1
    return seen > after && match(r)
  }, ms)
}

test(title('two subnets and a router, multicast dropped, one peer address each: discovery, messages, topics, a partition heals'), async (t) => {
  t.timeout(180_000)
  const net = useRoutedNet(t, [3, 3])
  for (const h of net.hosts) dropMulticast(h)
  const procs = net.hosts.map((h) => spawnIn(net, h, 'unicast-peer.ts', { options: options(net, h) }))
  const byName = new Map(procs.map((p) => [name(p.host as RoutedHost), p]))
  const p = (n: string): NsProcess => byName.get(n)!
  await allUp(procs)
  t.pass('all six see each other')
  for (const h of net.hosts.filter((x) => x.subnet === 1)) {
    t.true(multicastDropped(h) > 0, `${name(h)} dropped the multicast of its subnet's endpoints (multicast on)`)
  }
  for (const pr of procs) {
    const up = pr.records.filter((r) => r.event === 'peer-up')
    for (const r of up) t.is(String(r.address).split(':')[1], '37321', 'seen at its fixed port')
  }

  // Reliable unicast between the chain ends across the router, and a reliable broadcast (unicast copies on subnet 2).
  p('s1h3').command({ op: 'send', to: 's2h3', text: 'across the router' })
  await p('s1h3').waitFor((r) => r.event === 'delivered' && r.to === 's2h3')
  await p('s2h3').waitFor((r) => r.event === 'message' && r.text === 'across the router' && r.from === 's1h3')
  p('s2h2').command({ op: 'broadcast', text: 'to everyone' })
  await p('s2h2').waitFor((r) => r.event === 'delivered' && r.to === '*', 30_000)
  for (const pr of procs.filter((x) => x !== p('s2h2'))) {
    await pr.waitFor((r) => r.event === 'message' && r.text === 'to everyone' && r.broadcast === true)
  }

  // Topics across the router.
  p('s1h2').command({ op: 'subscribe', filter: 't/#' })
  p('s2h1').command({ op: 'subscribe', filter: 't/#' })
  await p('s1h2').waitFor((r) => r.event === 'subscribed')
  await p('s2h1').waitFor((r) => r.event === 'subscribed')
  // The publisher learns the subscriptions from their announcements (200 ms period): publish until both got one.
  let got = false
  for (let k = 0; k < 50 && !got; k++) {
    p('s2h3').command({ op: 'publish', topic: 't/x', text: `v${k}` })
    await p('s2h3').waitFor((r) => r.event === 'published' && r.text === `v${k}`, 30_000)
    got = [p('s1h2'), p('s2h1')].every((q) => q.records.some((r) => r.event === 'topic' && r.topic === 't/x'))
  }
  t.true(got, 'both subscribers (one on each subnet) got publications')

  // A partition: s2h1 (the cross-router peer address of s1h1, and s2h2's) loses its link. The others expire it but
  // keep each other (they learned each other's addresses); when it heals it is found again.
  const gone = net.hosts.find((h) => name(h) === 's2h1')!
  const marks = procs.map((pr) => pr.records.length)
  setLink(net, gone, 'down')
  for (const pr of procs.filter((x) => x !== p('s2h1'))) await waitAfter(pr, marks[procs.indexOf(pr)]!, peerDown('s2h1'))
  p('s1h3').command({ op: 'send', to: 's2h3', text: 'during the partition' })
  await p('s2h3').waitFor((r) => r.event === 'message' && r.text === 'during the partition')
  const healMarks = procs.map((pr) => pr.records.length)
  setLink(net, gone, 'up')
  for (const pr of procs.filter((x) => x !== p('s2h1'))) {
    await waitAfter(pr, healMarks[procs.indexOf(pr)]!, peerUp('s2h1'), 30_000)
  }
  t.pass('healed: everyone sees s2h1 again')

  for (const pr of procs) pr.command({ op: 'stats' })
  const stats = await Promise.all(procs.map((pr) => pr.waitFor((r) => r.event === 'stats')))
  const sum = (k: string): number => stats.reduce((n, r) => n + Number((r.stats as Record<string, number>)[k]), 0)
  t.true(sum('gossipSent') > 0 && sum('probesSent') > 0, 'found through gossip and probes')
  t.true(sum('unicastFanoutCopies') > 0, 'subnet 2 sent its broadcasts as unicast copies')
  t.log(`gossip ${sum('gossipSent')}, probes ${sum('probesSent')}, fan-out copies ${sum('unicastFanoutCopies')}`)
  await Promise.all(procs.map((pr) => pr.stop()))
})
