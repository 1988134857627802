/**
 * `glue stats`: a live view of an endpoint, refreshed like `top`: its peers with round trip, messages/s in and out,
 * resends and queue depths, and the drops by cause. Watches its own endpoint (which sees the network's peers), or,
 * with --url, any running endpoint's `/metrics` page. `--json` prints one JSON object per interval instead.
 */
import type { Command } from 'commander'

import { InvalidOptionError } from '../errors'
import { parsePrometheusText, type Sample } from '../metrics/parse'
import {
  addCommonOptions,
  type CommonFlags,
  integer,
  type JobRunner,
  openCommandEndpoint,
  seconds,
  sleep,
  stopOnSignalDurationOrEpipe,
} from './common'

interface StatsFlags extends CommonFlags {
  interval: number
  count?: number
  duration?: number
  json?: boolean
  url?: string
}

/** One peer's line of a report. */
export interface PeerLine {
  id: string
  name: string
  /** Smoothed round trip, ms; null until measured (it is measured on reliable unicast traffic to the peer). */
  rttMs: number | null
  rttVarMs: number | null
  /** Reliable messages per second from / to the peer over the interval. */
  messagesInPerSec: number
  messagesOutPerSec: number
  /** Fragments resent to the peer: in total, and per second over the interval. */
  resends: number
  resendsPerSec: number
  sendQueueMessages: number
  unackedFragments: number
  recvBufferedFragments: number
}

/** One interval's report (`--json` prints it as one line). */
export interface StatsReport {
  time: string
  endpoint: { id: string; name: string }
  intervalMs: number
  /** Messages per second delivered to / sent by the endpoint (best-effort and reliable). */
  messagesInPerSec: number
  messagesOutPerSec: number
  resends: number
  resendsPerSec: number
  /** Drops in total, per second, and the non-zero ones by `metric/cause` (e.g. `datagrams/bad_mac`). */
  drops: { total: number; perSec: number; byCause: Record<string, number> }
  peers: PeerLine[]
}

/** Registers the `stats` command. */
export function registerStats(program: Command, run: JobRunner): void {
  const command = program
    .command('stats')
    .description("live view of an endpoint's peers (RTT, messages/s, resends, queues) and drops, like top")
    .option('--interval <ms>', 'refresh interval, ms', integer('--interval', 10, 3_600_000), 1000)
    .option('--count <n>', 'stop after n reports', integer('--count', 1, 1_000_000_000))
    .option('--duration <s>', 'stop after this many seconds', seconds)
    .option('--json', 'one JSON object per interval (newline-delimited) instead of the table')
    .option('--url <url>', "watch another endpoint through its /metrics page (e.g. http://127.0.0.1:9464/metrics)")
  addCommonOptions(command).action((flags: StatsFlags) => run((signal) => stats(flags, signal)))
}

/** Runs the stats command; resolves to the exit code. */
export async function stats(flags: StatsFlags, signal: AbortSignal): Promise<number> {
  const url = flags.url === undefined ? undefined : checkUrl(flags.url)
  const ep =
    url === undefined
      ? await openCommandEndpoint(flags, 'stats')
      : undefined
  const done = new AbortController()
  const unhook = stopOnSignalDurationOrEpipe(done, signal, flags.duration)
  try {
    // Newcomers' round trips are probed at once (each reading probes too: see registerGlueMetrics).
    ep?.onStatus((event) => {
      if (event.type === 'peer-up') ep.probePeers()
    })
    const read = async (): Promise<Sample[]> =>
      parsePrometheusText(ep !== undefined ? await ep.metricsRegistry().metrics() : await fetchText(url as string))
    let before = { samples: await read(), at: performance.now() }
    const tty = process.stdout.isTTY === true && !flags.json
    for (let n = 0; flags.count === undefined || n < flags.count; n++) {
      if (!(await sleep(flags.interval, done.signal))) break
      const now = { samples: await read(), at: performance.now() }
      const report = buildReport(before.samples, now.samples, now.at - before.at)
      before = now
      if (flags.json) console.log(JSON.stringify(report))
      else console.log(`${tty ? '\x1b[H\x1b[2J' : n > 0 ? '\n' : ''}${formatReport(report)}`)
    }
    return 0
  } finally {
    unhook()
    await ep?.close()
  }
}

function checkUrl(text: string): string {
  let url: URL | undefined
  try {
    url = new URL(text)
  } catch {
    url = undefined
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new InvalidOptionError(`--url must be an http(s) URL, got ${JSON.stringify(text)}`, { option: '--url', value: text })
  }
  return url.href
}

async function fetchText(url: string): Promise<string> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) })
  if (!response.ok) throw new Error(`${url} answered ${response.status} ${response.statusText}`)
  return response.text()
}

/** The samples of one reading, looked up by name and labels. */
class Reading {
  readonly #byName = new Map<string, Sample[]>()

  constructor(samples: readonly Sample[]) {
    for (const sample of samples) {
      const list = this.#byName.get(sample.name) ?? []
      list.push(sample)
      this.#byName.set(sample.name, list)
    }
  }

  all(name: string): Sample[] {
    return this.#byName.get(name) ?? []
  }

  sum(name: string): number {
    return this.all(name).reduce((total, s) => total + s.value, 0)
  }

  peer(name: string, id: string): number | undefined {
    return this.all(name).find((s) => s.labels.peer === id)?.value
  }

  names(): string[] {
    return [...this.#byName.keys()]
  }
}

const round = (value: number, digits = 1): number => Number(value.toFixed(digits))

/** The report of one interval from two readings `elapsedMs` apart. */
export function buildReport(previous: readonly Sample[], current: readonly Sample[], elapsedMs: number): StatsReport {
  const [a, b] = [new Reading(previous), new Reading(current)]
  const perSec = (now: number, then: number): number => round(Math.max(0, now - then) / (elapsedMs / 1000))
  const rate = (name: string): number => perSec(b.sum(name), a.sum(name))
  const info = b.all('glue_endpoint_info')[0]?.labels ?? {}
  const drops = dropsOf(b)
  const dropsBefore = Object.values(dropsOf(a)).reduce((x, y) => x + y, 0)
  const dropTotal = Object.values(drops).reduce((x, y) => x + y, 0)
  const peers = peerLines(a, b, perSec)
  return {
    time: new Date().toISOString(),
    endpoint: { id: info.id ?? '', name: info.name ?? '' },
    intervalMs: Math.round(elapsedMs),
    messagesInPerSec: rate('glue_messages_received_total'),
    messagesOutPerSec: round(rate('glue_messages_sent_total') + rate('glue_reliable_messages_sent_total')),
    resends: b.sum('glue_fragments_resent_total'),
    resendsPerSec: rate('glue_fragments_resent_total'),
    drops: {
      total: dropTotal,
      perSec: perSec(dropTotal, dropsBefore),
      byCause: Object.fromEntries(Object.entries(drops).filter(([, n]) => n > 0)),
    },
    peers,
  }
}

/** Every `glue_*_dropped_total{cause}` sample as `what/cause` → value. */
function dropsOf(reading: Reading): Record<string, number> {
  const drops: Record<string, number> = {}
  for (const name of reading.names()) {
    const what = /^glue_(.+)_dropped_total$/.exec(name)?.[1]
    if (what === undefined) continue
    for (const s of reading.all(name)) drops[`${what}/${s.labels.cause ?? ''}`] = s.value
  }
  return drops
}

function peerLines(a: Reading, b: Reading, perSec: (now: number, then: number) => number): PeerLine[] {
  const ms = (seconds: number | undefined): number | null => (seconds === undefined ? null : round(seconds * 1000, 3))
  // Every peer has a resend counter (zero or not): that is the list of peers.
  return b.all('glue_peer_fragments_resent_total').map(({ labels }) => {
    const id = labels.peer ?? ''
    const counter = (name: string): [number, number] => [b.peer(name, id) ?? 0, a.peer(name, id) ?? 0]
    const [resends, resendsBefore] = counter('glue_peer_fragments_resent_total')
    return {
      id,
      name: labels.peer_name ?? '',
      rttMs: ms(b.peer('glue_peer_rtt_seconds', id)),
      rttVarMs: ms(b.peer('glue_peer_rtt_variance_seconds', id)),
      messagesInPerSec: perSec(...counter('glue_peer_reliable_messages_received_total')),
      messagesOutPerSec: perSec(...counter('glue_peer_reliable_messages_sent_total')),
      resends,
      resendsPerSec: perSec(resends, resendsBefore),
      sendQueueMessages: b.peer('glue_peer_send_queue_messages', id) ?? 0,
      unackedFragments: b.peer('glue_peer_unacked_fragments', id) ?? 0,
      recvBufferedFragments: b.peer('glue_peer_receive_buffer_fragments', id) ?? 0,
    }
  })
}

/** The report as a block of text: a summary line, the peer table, the drops by cause. */
export function formatReport(report: StatsReport): string {
  const head = `${report.time}  ${report.endpoint.name} (${report.endpoint.id})  every ${report.intervalMs} ms`
  const summary =
    `messages/s in ${report.messagesInPerSec} out ${report.messagesOutPerSec}  ` +
    `resends ${report.resends} (${report.resendsPerSec}/s)  drops ${report.drops.total} (${report.drops.perSec}/s)`
  const header = ['peer', 'id', 'rtt ms', 'var ms', 'in/s', 'out/s', 'resends', 'queue', 'unacked', 'reorder']
  const rows = report.peers.map((p) => [
    p.name,
    p.id,
    p.rttMs === null ? '-' : p.rttMs.toFixed(3),
    p.rttVarMs === null ? '-' : p.rttVarMs.toFixed(3),
    String(p.messagesInPerSec),
    String(p.messagesOutPerSec),
    String(p.resends),
    String(p.sendQueueMessages),
    String(p.unackedFragments),
    String(p.recvBufferedFragments),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)))
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => (i < 2 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('  ')
      .trimEnd()
  const causes = Object.entries(report.drops.byCause).map(([cause, n]) => `${cause} ${n}`)
  return [
    head,
    summary,
    line(header),
    ...rows.map(line),
    `${report.peers.length} peer${report.peers.length === 1 ? '' : 's'}`,
    ...(causes.length === 0 ? [] : [`drops by cause: ${causes.join(', ')}`]),
  ].join('\n')
}
