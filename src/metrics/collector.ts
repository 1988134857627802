/**
 * `registerGlueMetrics`: glue's metrics in a prom-client Registry, read from `stats()` and `peerStats()` at scrape time
 * (collect callbacks: nothing is counted twice, nothing runs between scrapes).
 */
import { Counter, Gauge, type Registry } from 'prom-client'

import type { EndpointStats } from '../endpoint'
import type { PeerStats } from '../transport/peer-stats'
import { type CounterSpec, ENDPOINT_METRICS, PEER_METRICS, STATS_METRICS } from './catalog'

/** What the metrics are read from: an `Endpoint` (or anything shaped like one, e.g. in tests). */
export interface MetricsSource {
  /** Own endpoint ID (label `id` of `glue_endpoint_info`). */
  readonly id: string
  /** Own name (label `name` of `glue_endpoint_info`). */
  readonly name: string
  /** The counters. */
  stats(): EndpointStats
  /** The per-peer numbers. */
  peerStats(): PeerStats[]
  /** Probes the round trip to the peers (optional); called after each scrape's reading, so the next one shows it. */
  probePeers?(): number
}

/** One read of both, shared by every metric of one scrape (prom-client calls all collect callbacks in one turn). */
function snapshots(source: MetricsSource): () => { stats: EndpointStats; peers: PeerStats[] } {
  let current: { stats: EndpointStats; peers: PeerStats[] } | undefined
  return () => {
    if (current === undefined) {
      current = { stats: source.stats(), peers: source.peerStats() }
      source.probePeers?.()
      queueMicrotask(() => (current = undefined))
    }
    return current
  }
}

/** The `stats()` fields of each metric name, with their cause labels. */
function groupByMetric(): Map<string, { help: string; fields: Array<[keyof EndpointStats, string | undefined]> }> {
  const groups = new Map<string, { help: string; fields: Array<[keyof EndpointStats, string | undefined]> }>()
  for (const [field, [name, help, cause]] of Object.entries(STATS_METRICS) as Array<[keyof EndpointStats, CounterSpec]>) {
    const group = groups.get(name) ?? { help, fields: [] }
    group.fields.push([field, cause])
    groups.set(name, group)
  }
  return groups
}

/**
 * Registers every glue metric of `source` (an `Endpoint`) in `registry`: each `stats()` counter (`glue_*_total`,
 * drops with a `cause` label), the per-peer round trip, traffic, resends and queue depths (labels `peer` and
 * `peer_name`), `glue_peers` and `glue_endpoint_info`. Values are read when the registry is scraped; each scrape also
 * probes the round trip to the peers (`ep.probePeers()`, one heartbeat each), so that `glue_peer_rtt_seconds` shows
 * peers this endpoint sends no reliable traffic to from the next scrape on. One endpoint per
 * registry (the names would clash: give each endpoint its own registry). Returns a function that removes them again.
 * @throws Error from prom-client when a metric of the same name is already registered
 */
export function registerGlueMetrics(source: MetricsSource, registry: Registry): () => void {
  const read = snapshots(source)
  const names: string[] = []
  for (const [name, { help, fields }] of groupByMetric()) {
    const labelled = fields[0][1] !== undefined
    new Counter({
      name,
      help,
      labelNames: labelled ? ['cause'] : [],
      registers: [registry],
      collect(this: Counter) {
        const { stats } = read()
        this.reset()
        for (const [field, cause] of fields) {
          if (cause === undefined) this.inc(stats[field])
          else this.inc({ cause }, stats[field])
        }
      },
    })
    names.push(name)
  }
  for (const [field, spec] of Object.entries(PEER_METRICS) as Array<[keyof typeof PEER_METRICS, (typeof PEER_METRICS)[keyof typeof PEER_METRICS]]>) {
    const scale = spec.scale ?? 1
    const each = (set: (labels: { peer: string; peer_name: string }, value: number) => void): void => {
      for (const peer of read().peers) {
        const value = peer[field]
        if (value !== undefined) set({ peer: peer.id, peer_name: peer.name }, value * scale)
      }
    }
    const config = { name: spec.name, help: spec.help, labelNames: ['peer', 'peer_name'] as const, registers: [registry] }
    if (spec.type === 'counter') {
      new Counter({ ...config, collect(this: Counter<'peer' | 'peer_name'>) { this.reset(); each((l, v) => this.inc(l, v)) } })
    } else {
      new Gauge({ ...config, collect(this: Gauge<'peer' | 'peer_name'>) { this.reset(); each((l, v) => this.set(l, v)) } })
    }
    names.push(spec.name)
  }
  new Gauge({
    ...ENDPOINT_METRICS.peers,
    registers: [registry],
    collect(this: Gauge) {
      this.set(read().peers.length)
    },
  })
  new Gauge({
    ...ENDPOINT_METRICS.info,
    labelNames: ['id', 'name'],
    registers: [registry],
    collect(this: Gauge<'id' | 'name'>) {
      this.reset()
      this.set({ id: source.id, name: source.name }, 1)
    },
  })
  names.push(ENDPOINT_METRICS.peers.name, ENDPOINT_METRICS.info.name)
  return () => {
    for (const name of names) registry.removeSingleMetric(name)
  }
}
