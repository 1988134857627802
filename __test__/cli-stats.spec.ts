/**
 * `glue stats` and `--metrics-port`: the report built from two scrapes, its table, and the CLI run as a child process
 * beside an endpoint of this process on a private loopback group (its own endpoint, and another's /metrics by --url).
 */
import anyTest, { type TestFn } from 'ava'

import { Endpoint } from '../index'
import { buildReport, formatReport, type StatsReport } from '../src/cli/stats'
import { parsePrometheusText } from '../src/metrics/parse'
import { isNativeAvailable } from '../src/transport/native'
import { glue, isolatedFlags, start } from './helpers/cli'
import { isolatedOptions, until } from './helpers/loopback'

const withNative = (isNativeAvailable() ? anyTest : anyTest.skip) as TestFn

const page = (resent: number, received: number, rtt: string) =>
  parsePrometheusText(`
# HELP glue_endpoint_info x
glue_endpoint_info{id="00000000000000aa",name="S"} 1
glue_messages_received_total ${received}
glue_messages_sent_total 10
glue_reliable_messages_sent_total 0
glue_fragments_resent_total ${resent}
glue_datagrams_dropped_total{cause="bad_mac"} ${resent}
glue_datagrams_dropped_total{cause="replay"} 0
glue_peer_fragments_resent_total{peer="00000000000000bb",peer_name="B"} ${resent}
glue_peer_reliable_messages_received_total{peer="00000000000000bb",peer_name="B"} ${received}
glue_peer_reliable_messages_sent_total{peer="00000000000000bb",peer_name="B"} 0
${rtt}
glue_peer_send_queue_messages{peer="00000000000000bb",peer_name="B"} 2
`)

anyTest('a report holds rates over the interval, RTT in ms, and the non-zero drops by cause', (t) => {
  const rtt = 'glue_peer_rtt_seconds{peer="00000000000000bb",peer_name="B"} 0.000125'
  const report = buildReport(page(1, 100, ''), page(3, 600, rtt), 500)
  t.like(report, {
    endpoint: { id: '00000000000000aa', name: 'S' },
    intervalMs: 500,
    messagesInPerSec: 1000,
    messagesOutPerSec: 0,
    resends: 3,
    resendsPerSec: 4,
    drops: { total: 3, perSec: 4, byCause: { 'datagrams/bad_mac': 3 } },
  })
  t.deepEqual(report.peers, [
    {
      id: '00000000000000bb',
      name: 'B',
      rttMs: 0.125,
      rttVarMs: null,
      messagesInPerSec: 1000,
      messagesOutPerSec: 0,
      resends: 3,
      resendsPerSec: 4,
      sendQueueMessages: 2,
      unackedFragments: 0,
      recvBufferedFragments: 0,
    },
  ])
  const text = formatReport(report)
  t.regex(text, /^messages\/s in 1000 out 0 {2}resends 3 \(4\/s\) {2}drops 3 \(4\/s\)$/m)
  t.regex(text, /^B {5}00000000000000bb {3}0\.125 {7}- {2}1000 {6}0 {8}3 {6}2 {8}0 {8}0$/m)
  t.regex(text, /^1 peer\ndrops by cause: datagrams\/bad_mac 3$/m)
  t.is(buildReport(page(0, 0, ''), page(0, 0, ''), 1000).peers[0].rttMs, null, 'no RTT yet')
})

anyTest('bad stats flags are one-line errors', async (t) => {
  const host = await glue(['stats', '--metrics-host', '127.0.0.1', '--count', '1', ...isolatedFlags()], { GLUE_METRICS_PORT: '' })
  t.is(host.code, 1)
  t.regex(host.stderr, /^glue: --metrics-host needs --metrics-port$/m)
  const url = await glue(['stats', '--url', 'ftp://127.0.0.1/metrics', '--count', '1'])
  t.is(url.code, 1)
  t.regex(url.stderr, /^glue: --url must be an http\(s\) URL, got "ftp:\/\/127\.0\.0\.1\/metrics"$/m)
  const interval = await glue(['stats', '--interval', '0'])
  t.not(interval.code, 0)
  t.regex(interval.stderr, /--interval must be an integer in 10\.\.3600000/)
})

withNative('glue stats --json --count 2 beside another endpoint shows it with an RTT', async (t) => {
  const flags = isolatedFlags()
  const options = isolatedOptions({ name: 'beside', group: flags[1], networkId: Number(flags[3]) })
  const ep = await Endpoint.open(options)
  t.teardown(() => ep.close())
  const run = await glue(['stats', '--json', '--count', '2', '--interval', '500', ...flags])
  t.is(run.code, 0, run.stderr)
  const reports = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as StatsReport)
  t.is(reports.length, 2, 'one JSON object per interval')
  const last = reports[1]
  const peer = last.peers.find((p) => p.id === ep.id)
  t.truthy(peer, JSON.stringify(last))
  t.is(peer?.name, 'beside')
  t.true(typeof peer?.rttMs === 'number' && peer.rttMs > 0 && peer.rttMs < 5000, `rtt ${peer?.rttMs}`)
  t.regex(last.endpoint.name, /^glue-stats-\d+$/)
  t.true(last.intervalMs >= 500)
})

withNative('--metrics-port 0 serves the CLI endpoint at the port it prints; plain output repeats blocks', async (t) => {
  const flags = isolatedFlags()
  const ep = await Endpoint.open(isolatedOptions({ name: 'other', group: flags[1], networkId: Number(flags[3]) }))
  t.teardown(() => ep.close())
  const stats = start(t, ['stats', '--metrics-port', '0', '--interval', '100', '--duration', '60', ...flags])
  await stats.waitForStderr(/metrics at http:\/\/127\.0\.0\.1:\d+\/metrics/)
  const url = /metrics at (http:\/\/\S+)/.exec(stats.stderr())?.[1] ?? ''
  let text = ''
  const deadline = Date.now() + 30_000
  // Scrape until the page shows the other endpoint as a peer (each scrape is a fresh reading).
  while (!text.includes(`peer="${ep.id}",peer_name="other"`) && Date.now() < deadline) {
    text = await (await fetch(url)).text()
    if (!text.includes(ep.id)) await new Promise((resolve) => setTimeout(resolve, 50)) // the poll interval
  }
  t.true(text.includes(`peer="${ep.id}",peer_name="other"`), text)
  const samples = parsePrometheusText(text)
  t.truthy(samples.find((s) => s.name === 'glue_endpoint_info' && /^glue-stats-\d+$/.test(s.labels.name ?? '')))
  t.truthy(samples.find((s) => s.name === 'glue_datagrams_received_total' && s.value > 0))
  // Not a TTY: plain blocks, one after another, no ANSI clear.
  await stats.waitForLines((line) => /^\d+ peers?$/.test(line), 2)
  t.false(stats.lines.some((line) => line.includes('\x1b[')))
  stats.proc.kill('SIGTERM') // like Ctrl-C: it closes its endpoint and the metrics server
  t.is(await stats.exited, 0)
  await t.throwsAsync(fetch(url), undefined, 'the metrics server closed with the endpoint')
})

withNative('every command with --metrics-port 0 says where it serves its metrics (glue sub, glue map)', async (t) => {
  const flags = isolatedFlags()
  for (const args of [['sub', 'plant/#', '--duration', '60'], ['map', 'cfg', '--watch']]) {
    const run = start(t, [...args, '--metrics-port', '0', ...flags])
    await run.waitForStderr(/metrics at http:\/\/127\.0\.0\.1:\d+\/metrics/)
    const url = /metrics at (http:\/\/\S+)/.exec(run.stderr())?.[1] ?? ''
    const samples = parsePrometheusText(await (await fetch(url)).text())
    t.truthy(samples.find((s) => s.name === 'glue_endpoint_info'), `${args[0]}: its endpoint's page`)
    run.proc.kill('SIGTERM')
    t.is(await run.exited, 0, run.stderr())
  }
})

withNative('glue stats --url watches another endpoint through its /metrics page', async (t) => {
  const a = await Endpoint.open(isolatedOptions({ name: 'A', metrics: { port: 0 } }))
  const b = await Endpoint.open(isolatedOptions({ name: 'B', group: a.config.discoveryTarget, networkId: a.config.networkId }))
  t.teardown(() => Promise.all([a.close(), b.close()]).then(() => {}))
  t.true(await until(() => a.peers().length === 1, 10_000))
  await a.send(b.id, 'measured', { reliable: true })
  const run = await glue(['stats', '--url', `http://${a.metricsAddress}/metrics`, '--json', '--count', '1', '--interval', '100'])
  t.is(run.code, 0, run.stderr)
  const report = JSON.parse(run.stdout) as StatsReport
  t.like(report, { endpoint: { id: a.id, name: 'A' } })
  t.like(report.peers[0], { id: b.id, name: 'B' })
  t.true((report.peers[0].rttMs ?? 0) > 0)
})
