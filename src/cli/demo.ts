/**
 * `glue demo`: several endpoints in one process on loopback find each other, then every second each one sends
 * a unicast to the next and a broadcast to all, and publishes on its topic (see demo-topics.ts); every received
 * message is printed. After the second round a late joiner gets the topics' history at once.
 */
import { randomInt } from 'node:crypto'
import { createSocket } from 'node:dgram'

import type { Command } from 'commander'

import type { Endpoint } from '../endpoint'
import { ENV_VARS } from '../env'
import { openLateJoiner, publishRound, subscribeDemo } from './demo-topics'
import {
  addCommonOptions,
  type CommonFlags,
  type JobRunner,
  commonEndpointOptions,
  formatMessage,
  formatStatus,
  integer,
  openEndpoint,
  seconds,
  sleep,
  stopwatch,
  unlessEnv,
} from './common'

/** How long discovery may take before the demo gives up, ms. */
const DISCOVERY_TIMEOUT_MS = 5000

/** The demo's announce period where neither --announce-period nor GLUE_DISCOVERY_RATE_MILLISECONDS sets one, ms. */
export const DEMO_ANNOUNCE_PERIOD_MS = 250

interface DemoFlags extends CommonFlags {
  duration: number
  count: number
}

/** A UDP port that is free on 127.0.0.1 right now (so two demos pick different groups). */
export async function freeUdpPort(): Promise<number> {
  const socket = createSocket('udp4')
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind(0, '127.0.0.1', resolve)
  })
  const { port } = socket.address()
  await new Promise<void>((resolve) => socket.close(resolve))
  return port
}

/** Names for the demo endpoints: A, B, C, … then N26, N27, … */
export function demoNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => (i < 26 ? String.fromCharCode(65 + i) : `N${i}`))
}

/** Registers the `demo` command. */
export function registerDemo(program: Command, run: JobRunner): void {
  const command = program
    .command('demo')
    .description('run several endpoints in this process on loopback and let them talk')
    .option('--duration <s>', 'how long to send after discovery, seconds', seconds, 5)
    .option('--count <n>', 'number of endpoints', integer('--count', 2, 64), 4)
  addCommonOptions(command, {
    networkId: 'a random one',
    group: '239.192.137.1 with a free port',
    announcePeriod: String(DEMO_ANNOUNCE_PERIOD_MS),
  }).action((flags: DemoFlags) => run((signal) => demo(flags, signal)))
}

/** Runs the demo; resolves to the process exit code. */
export async function demo(flags: DemoFlags, signal: AbortSignal): Promise<number> {
  const clock = stopwatch()
  const log = (line: string): void => console.log(`${clock()} ${line}`)
  const group = flags.group ?? unlessEnv(ENV_VARS.discoveryTargetAddress, `239.192.137.1:${await freeUdpPort()}`)
  const shared = {
    ...commonEndpointOptions(flags),
    group,
    networkId: flags.networkId ?? unlessEnv(ENV_VARS.networkId, randomInt(1, 0xffff_ffff)),
    announcePeriodMs: flags.announcePeriod ?? unlessEnv(ENV_VARS.announcePeriodMs, DEMO_ANNOUNCE_PERIOD_MS),
    // Each endpoint needs its own ID, name and port: ignore the variables that would give them all the same one.
    env: { ...process.env, [ENV_VARS.id]: undefined, [ENV_VARS.name]: undefined, [ENV_VARS.listenAddress]: undefined },
  }
  const names = demoNames(flags.count)
  const endpoints: Endpoint[] = []
  try {
    for (const name of names) {
      const ep = await openEndpoint({ ...shared, name })
      ep.onStatus((event) => log(`${ep.name}: ${formatStatus(event)}`))
      endpoints.push(ep)
    }
    const first = endpoints[0].config
    log(
      `${names.length} endpoints on network ${first.networkId}, group ${first.discoveryTarget}, interface ${first.interfaceAddress}, ` +
        `announcing every ${first.announcePeriodMs} ms` +
        (first.networkKeys ? `, every datagram sealed with a network key (${first.networkCipher ?? 'aes-256-gcm'})` : ''),
    )

    if (!(await discovered(endpoints, signal))) {
      if (signal.aborted) return 0
      const seen = endpoints.map(
        (ep) =>
          `${ep.name} sees ${
            ep
              .peers()
              .map((p) => p.name)
              .join(',') || 'nobody'
          }`,
      )
      console.error(
        `glue demo: discovery did not complete within ${DISCOVERY_TIMEOUT_MS / 1000} s (${seen.join('; ')})`,
      )
      return 1
    }
    log('discovery complete: every endpoint sees every other one')
    for (const ep of endpoints) ep.onMessage((message) => log(formatMessage(ep.name, message)))
    subscribeDemo(endpoints, log)
    const publishers = [...endpoints]
    await exchange(endpoints, flags.duration * 1000, signal, log, async (round) => {
      publishRound(publishers, round, log)
      if (round === 2) endpoints.push(await openLateJoiner(shared, log))
    })
    return 0
  } finally {
    await Promise.allSettled(endpoints.map((ep) => ep.close()))
    if (endpoints.length > 0) printTotals(endpoints, log)
  }
}

/** Resolves true once every endpoint sees all others; false on timeout or abort. */
function discovered(endpoints: Endpoint[], signal: AbortSignal): Promise<boolean> {
  const complete = (): boolean => endpoints.every((ep) => ep.peers().length >= endpoints.length - 1)
  return new Promise((resolve) => {
    const finish = (result: boolean): void => {
      clearTimeout(timer)
      signal.removeEventListener('abort', onAbort)
      for (const off of unsubscribes) off()
      resolve(result)
    }
    const onAbort = (): void => finish(false)
    const timer = setTimeout(() => finish(complete()), DISCOVERY_TIMEOUT_MS)
    const unsubscribes = endpoints.map((ep) => ep.onStatus(() => complete() && finish(true)))
    signal.addEventListener('abort', onAbort, { once: true })
    if (signal.aborted) finish(false)
    else if (complete()) finish(true)
  })
}

/**
 * Every second until `durationMs` is over: each endpoint sends a unicast to the next one and a broadcast, then
 * `onRound` runs.
 */
async function exchange(
  endpoints: Endpoint[],
  durationMs: number,
  signal: AbortSignal,
  log: (line: string) => void,
  onRound: (round: number) => Promise<void>,
): Promise<void> {
  const start = performance.now()
  const talkers = [...endpoints]
  for (let round = 1; (round - 1) * 1000 < durationMs && !signal.aborted; round++) {
    log(`round ${round}`)
    talkers.forEach((ep, i) => {
      const next = talkers[(i + 1) % talkers.length]
      if (!ep.send(next.name, `hello from ${ep.name}`)) log(`${ep.name}: send queue full, unicast dropped`)
      if (!ep.broadcast(`hello everyone from ${ep.name}`)) log(`${ep.name}: send queue full, broadcast dropped`)
    })
    await onRound(round)
    // Until the next round, or the end of the duration but at least 200 ms for the last messages to arrive.
    const last = round * 1000 >= durationMs
    const untilNext = Math.min(round * 1000, durationMs) - (performance.now() - start)
    if (!(await sleep(Math.max(untilNext, last ? 200 : 0), signal))) return
  }
}

function printTotals(endpoints: Endpoint[], log: (line: string) => void): void {
  const totals = endpoints.map((ep) => {
    const stats = ep.stats()
    return `${ep.name} sent ${stats.messagesSent}, received ${stats.messagesReceived}`
  })
  log(`closed: ${totals.join('; ')}`)
}
