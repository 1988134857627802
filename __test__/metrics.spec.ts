/**
 * The `metrics` option and `ep.peerStats()`: /metrics scraped over HTTP on 127.0.0.1 (port 0) and parsed, the metric
 * of every stats() field, per-peer round trip after traffic between two loopback endpoints, bad options, bind errors,
 * and the server closing with its endpoint.
 */
import anyTest, { type TestFn } from 'ava'
import { Counter, Registry } from 'prom-client'

import {
  Endpoint,
  type EndpointOptions,
  InvalidOptionError,
  MetricsBindError,
  PEER_METRICS,
  registerGlueMetrics,
  resolveOptions,
  STATS_METRICS,
} from '../index'
import { parsePrometheusText, type Sample } from '../src/metrics/parse'
import { isNativeAvailable } from '../src/transport/native'
import { fakeOpen } from './helpers/fake-transport'
import { isolatedOptions, until } from './helpers/loopback'

const withNative = (isNativeAvailable() ? anyTest : anyTest.skip) as TestFn

const METRIC_NAME = /^glue_[a-z0-9_]+$/

async function scrape(address: string | undefined, path = '/metrics'): Promise<{ samples: Sample[]; type: string | null }> {
  if (address === undefined) throw new Error('no metrics server')
  const response = await fetch(`http://${address}${path}`)
  if (response.status !== 200) throw new Error(`status ${response.status}`)
  return { samples: parsePrometheusText(await response.text()), type: response.headers.get('content-type') }
}

const value = (samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined =>
  samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value

/** An endpoint opened on the in-memory fake transport (no native addon needed), closed in teardown. */
async function openFake(t: { teardown: (f: () => Promise<void>) => void }, options: EndpointOptions = {}) {
  const ep = await Endpoint.openWith(fakeOpen().open, { env: false, name: 'F', ...options })
  t.teardown(() => ep.close())
  return ep
}

anyTest('every stats() field has a metric: glue_ prefix, _total counters, a cause label for shared names', (t) => {
  const seen = new Map<string, Set<string | undefined>>()
  for (const [field, [name, help, cause]] of Object.entries(STATS_METRICS)) {
    t.regex(name, METRIC_NAME, field)
    t.true(name.endsWith('_total'), `${field}: counters end in _total`)
    t.true(help.length > 0, field)
    const causes = seen.get(name) ?? new Set()
    t.false(causes.has(cause), `${field}: ${name}{cause=${cause}} is used once`)
    causes.add(cause)
    seen.set(name, causes)
  }
  for (const [name, causes] of seen) {
    if (causes.size > 1) t.false(causes.has(undefined), `${name} is shared: every field of it names its cause`)
  }
  t.is(STATS_METRICS.droppedUnauthenticated[2], 'bad_mac')
  for (const [field, spec] of Object.entries(PEER_METRICS)) {
    t.regex(spec.name, /^glue_peer_[a-z0-9_]+$/, field)
    t.is(spec.name.endsWith('_total'), spec.type === 'counter', `${field}: _total exactly for counters`)
  }
})

anyTest('bad metrics options are InvalidOptionErrors naming the field', (t) => {
  const bad = (metrics: unknown, option: string, env: Record<string, string> | false = false) => {
    const err = t.throws(() => resolveOptions({ env, metrics } as EndpointOptions), { instanceOf: InvalidOptionError })
    t.is(err?.option, option, JSON.stringify(metrics))
  }
  bad({ port: -1 }, 'metrics.port')
  bad({ port: 65536 }, 'metrics.port')
  bad({ port: 1.5 }, 'metrics.port')
  bad({ port: '9464' }, 'metrics.port')
  bad({}, 'metrics.port')
  bad({ port: 0, host: 'localhost' }, 'metrics.host')
  bad({ port: 0, path: 'metrics' }, 'metrics.path')
  bad({ port: 0, paht: '/x' }, 'paht')
  bad('9464', 'options')
  bad(undefined, 'GLUE_METRICS_PORT', { GLUE_METRICS_PORT: 'abc' })
  bad(undefined, 'GLUE_METRICS_HOST', { GLUE_METRICS_PORT: '0', GLUE_METRICS_HOST: 'nowhere' })
  t.is(resolveOptions({ env: false }).metrics, undefined, 'off by default')
  t.deepEqual(resolveOptions({ env: false, metrics: { port: 0 } }).metrics, { port: 0, host: '127.0.0.1', path: '/metrics' })
  t.deepEqual(resolveOptions({ env: { GLUE_METRICS_PORT: '9464' } }).metrics, { port: 9464, host: '127.0.0.1', path: '/metrics' })
  t.is(resolveOptions({ env: { GLUE_METRICS_PORT: '9464' }, metrics: false }).metrics, undefined, 'false wins')
  t.like(resolveOptions({ env: { GLUE_METRICS_PORT: '1' }, metrics: { port: 2, host: '::1' } }).metrics, { port: 2, host: '::1' })
})

anyTest('the text parser reads prom-client output, labels unescaped', async (t) => {
  const registry = new Registry()
  new Counter({ name: 'x_total', help: 'h', labelNames: ['l'], registers: [registry] }).inc({ l: 'a "q" \\ \n b' }, 3)
  const samples = parsePrometheusText(await registry.metrics())
  t.deepEqual(samples, [{ name: 'x_total', labels: { l: 'a "q" \\ \n b' }, value: 3 }])
  t.throws(() => parsePrometheusText('not a sample line'), { instanceOf: TypeError, message: /line 1/ })
})

anyTest('the server answers GET and HEAD on its path only, on the port it reports, and closes with the endpoint', async (t) => {
  const ep = await openFake(t, { metrics: { port: 0, path: '/m' } })
  const address = ep.metricsAddress
  t.regex(address ?? '', /^127\.0\.0\.1:\d+$/)
  t.not(address, '127.0.0.1:0', 'the bound port, not 0')
  const { samples, type } = await scrape(address, '/m')
  t.regex(type ?? '', /^text\/plain; version=0\.0\.4/)
  t.is(value(samples, 'glue_endpoint_info', { id: ep.id, name: 'F' }), 1)
  t.is(value(samples, 'glue_peers'), 0)
  t.is((await fetch(`http://${address}/metrics`)).status, 404)
  t.is((await fetch(`http://${address}/m`, { method: 'POST' })).status, 405)
  const head = await fetch(`http://${address}/m?x=1`, { method: 'HEAD' })
  t.is(head.status, 200)
  await ep.close()
  t.is(ep.metricsAddress, undefined)
  await t.throwsAsync(fetch(`http://${address}/m`), undefined, 'nothing listens after close')
})

anyTest('a taken port is a MetricsBindError naming metrics.port; the endpoint it opened is closed again', async (t) => {
  const first = await openFake(t, { metrics: { port: 0 } })
  const port = Number(first.metricsAddress?.split(':')[1])
  const { open, transports } = fakeOpen()
  const err = await t.throwsAsync(Endpoint.openWith(open, { env: false, metrics: { port } }), { instanceOf: MetricsBindError })
  t.is(err?.code, 'ERR_GLUE_METRICS_BIND')
  t.is(err?.option, 'metrics.port')
  t.is(err?.reason, 'EADDRINUSE')
  t.regex(err?.message ?? '', new RegExp(`127\\.0\\.0\\.1:${port} \\(metrics\\.port\\): EADDRINUSE`))
  t.true(transports[0].closed, 'no endpoint is left open')
  const noHost = await t.throwsAsync(Endpoint.openWith(fakeOpen().open, { env: false, metrics: { port: 0, host: '192.0.2.1' } }), {
    instanceOf: MetricsBindError,
  })
  t.is(noHost?.option, 'metrics.host', 'an address this machine does not have')
})

anyTest('registerGlueMetrics puts the metrics into a registry of ones own; the global registry stays empty', async (t) => {
  const ep = await openFake(t)
  const registry = new Registry()
  const remove = registerGlueMetrics(ep, registry)
  t.throws(() => registerGlueMetrics(ep, registry), { message: /already been registered/ })
  const samples = parsePrometheusText(await registry.metrics())
  t.is(value(samples, 'glue_datagrams_dropped_total', { cause: 'bad_mac' }), 0)
  t.is(value(samples, 'glue_endpoint_info', { id: ep.id }), 1)
  remove()
  t.is(registry.getMetricsAsArray().length, 0, 'all removed')
  const { register } = await import('prom-client')
  t.is(register.getMetricsAsArray().length, 0, 'nothing in the global registry')
  t.is(ep.metricsRegistry(), ep.metricsRegistry(), 'one registry per endpoint')
})

withNative('every stats() and peerStats() field is scraped with its value (a new field without a metric fails here)', async (t) => {
  const a = await Endpoint.open(isolatedOptions({ name: 'A', metrics: { port: 0 } }))
  const b = await Endpoint.open(isolatedOptions({ name: 'B', group: a.config.discoveryTarget, networkId: a.config.networkId }))
  t.teardown(() => Promise.all([a.close(), b.close()]).then(() => {}))
  t.true(await until(() => a.peers().length === 1 && b.peers().length === 1, 10_000))
  await a.send(b.id, 'x', { reliable: true })
  const [peer] = a.peerStats()
  t.deepEqual(Object.keys(peer).sort(), ['id', 'name', ...Object.keys(PEER_METRICS)].sort(), 'peerStats() fields = PEER_METRICS')
  t.deepEqual(Object.keys(a.stats()).sort(), Object.keys(STATS_METRICS).sort(), 'stats() fields = STATS_METRICS')
  // Closed: the counters no longer move, so the page must show each one exactly.
  await b.close()
  const stats = a.stats()
  const samples = parsePrometheusText(await a.metricsRegistry().metrics())
  for (const [field, [name, , cause]] of Object.entries(STATS_METRICS)) {
    const expected = stats[field as keyof typeof stats]
    t.is(value(samples, name, cause === undefined ? {} : { cause }), expected, `${field} as ${name}{cause="${cause ?? ''}"}`)
  }
})

withNative('per-peer RTT, traffic and counters move after reliable traffic between two loopback endpoints', async (t) => {
  const a = await Endpoint.open(isolatedOptions({ name: 'A', metrics: { port: 0 } }))
  const b = await Endpoint.open(isolatedOptions({ name: 'B', group: a.config.discoveryTarget, networkId: a.config.networkId }))
  t.teardown(() => Promise.all([a.close(), b.close()]).then(() => {}))
  t.true(await until(() => a.peers().length === 1 && b.peers().length === 1, 10_000))
  const before = (await scrape(a.metricsAddress)).samples
  const peer = { peer: b.id, peer_name: 'B' }
  t.is(value(before, 'glue_peer_rtt_seconds', peer), undefined, 'no RTT before reliable traffic')
  t.is(value(before, 'glue_peer_reliable_messages_sent_total', peer), 0)
  t.is(value(before, 'glue_peers'), 1)
  const payload = Buffer.alloc(3000, 7) // three fragments each
  await Promise.all(Array.from({ length: 20 }, () => a.send(b.id, payload, { reliable: true })))
  const after = (await scrape(a.metricsAddress)).samples
  const rtt = value(after, 'glue_peer_rtt_seconds', peer) ?? 0
  t.true(rtt > 0 && rtt < 5, `RTT ${rtt} s`)
  t.true((value(after, 'glue_peer_rtt_variance_seconds', peer) ?? -1) >= 0)
  t.is(value(after, 'glue_peer_reliable_messages_sent_total', peer), 20)
  t.is(value(after, 'glue_peer_reliable_sent_bytes_total', peer), 20 * 3000)
  t.is(value(after, 'glue_peer_send_queue_messages', peer), 0, 'everything acknowledged')
  t.is(value(after, 'glue_peer_unacked_fragments', peer), 0)
  t.true((value(after, 'glue_reliable_messages_sent_total') ?? 0) >= 20 + (value(before, 'glue_reliable_messages_sent_total') ?? 0))
  t.true((value(after, 'glue_datagrams_sent_total') ?? 0) > (value(before, 'glue_datagrams_sent_total') ?? 0))
  t.is(value(after, 'glue_datagrams_dropped_total', { cause: 'bad_mac' }), 0, 'every cause is listed, zero or not')
  // The receiver's side, straight from peerStats().
  t.true(await until(() => (b.peerStats()[0]?.reliableMessagesReceived ?? 0) >= 20))
  t.like(b.peerStats()[0], { id: a.id, name: 'A', reliableBytesReceived: 20 * 3000, rttMicros: undefined })
  t.like(a.peerStats()[0], { id: b.id, name: 'B', reliableMessagesSent: 20, recvBufferedFragments: 0 })
  t.true((a.peerStats()[0].rttMicros ?? 0) > 0)
  await a.close()
  t.deepEqual(a.peerStats(), [], 'empty after close')
})

anyTest('an IPv6 metrics host is served and reported in brackets', async (t) => {
  const ep = await openFake(t, { metrics: { port: 0, host: '::1' } })
  t.regex(ep.metricsAddress ?? '', /^\[::1\]:\d+$/)
  const { samples } = await scrape(ep.metricsAddress)
  t.is(value(samples, 'glue_endpoint_info', { id: ep.id }), 1)
})

withNative('probePeers() measures the round trip to a peer without sending it data', async (t) => {
  const a = await Endpoint.open(isolatedOptions({ name: 'A' }))
  const b = await Endpoint.open(isolatedOptions({ name: 'B', group: a.config.discoveryTarget, networkId: a.config.networkId }))
  t.teardown(() => Promise.all([a.close(), b.close()]).then(() => {}))
  t.true(await until(() => a.peers().length === 1 && b.peers().length === 1, 10_000))
  t.is(a.peerStats()[0].rttMicros, undefined)
  t.is(a.probePeers(), 1, 'one probe per peer')
  t.true(await until(() => a.peerStats()[0]?.rttMicros !== undefined, 10_000))
  t.like(a.peerStats()[0], { name: 'B', reliableMessagesSent: 0, fragmentsResent: 0 })
  t.true((a.peerStats()[0].rttMicros ?? 0) > 0)
  t.like(b.stats(), { messagesReceived: 0, droppedInvalidHeartbeat: 0, streamResyncs: 0 })
  await a.close()
  t.is(a.probePeers(), 0, 'nothing after close')
})
