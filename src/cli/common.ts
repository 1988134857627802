/**
 * What the CLI commands share: the endpoint options every command takes, argument parsers, Ctrl-C handling,
 * and output formatting.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'

import { type Command, InvalidArgumentError } from 'commander'

import { Endpoint } from '../endpoint'
import { ENV_VARS } from '../env'
import { InvalidOptionError } from '../errors'
import type { Message } from '../transport/batch-decoder'
import type { EndpointOptions } from '../options'
import type { Peer } from '../discovery/peer-table'
import type { StatusEvent } from '../status'

/** Runs a command's job with a Ctrl-C signal; the job resolves to the exit code. */
export type JobRunner = (job: (signal: AbortSignal) => Promise<number>) => Promise<void>

/** Options every command accepts (strings already parsed by commander). */
export interface CommonFlags {
  networkId?: number
  interface?: string
  group?: string
  announcePeriod?: number
  /** --network-key, once per key (the first seals). */
  networkKey?: string[]
  networkKeyFile?: string
  networkCipher?: string
  /** --peer, once per unicast peer address. */
  peer?: string[]
  /** False with --no-multicast. */
  multicast?: boolean
  /** --metrics-port: serve Prometheus metrics on this TCP port (0: any free one). */
  metricsPort?: number
  /** --metrics-host: the metrics server's listen address. */
  metricsHost?: string
}

/** A commander argument parser for an integer in min..max. */
export function integer(flag: string, min: number, max: number): (value: string) => number {
  return (value) => {
    const number = Number(value)
    if (!/^\s*\d+\s*$/.test(value) || number < min || number > max) {
      throw new InvalidArgumentError(`${flag} must be an integer in ${min}..${max}, got ${JSON.stringify(value)}`)
    }
    return number
  }
}

/** A commander argument parser for a duration in seconds (> 0, fractions allowed). */
export function seconds(value: string): number {
  const number = Number(value)
  if (value.trim() === '' || !Number.isFinite(number) || number <= 0) {
    throw new InvalidArgumentError(`expected a number of seconds > 0, got ${JSON.stringify(value)}`)
  }
  return number
}

/**
 * What a command uses where the common flags are not given, when it differs from the endpoint's defaults (so that
 * its --help shows the defaults it really applies); the text follows "default ".
 */
export interface CommonDefaults {
  networkId?: string
  group?: string
  announcePeriod?: string
}

/**
 * Adds --network-id, --interface, --group, --announce-period, the network key flags, --peer and --no-multicast to a
 * command; `defaults` describes the command's own defaults where they are not the endpoint's.
 */
export function addCommonOptions(command: Command, defaults: CommonDefaults = {}): Command {
  return command
    .option(
      '--network-id <n>',
      `network ID, u32 (env GLUE_NETWORK_ID; default ${defaults.networkId ?? '0'})`,
      integer('--network-id', 0, 0xffff_ffff),
    )
    .option('--interface <name|ip>', 'network interface for multicast (env GLUE_LISTEN_INTERFACE; default loopback)')
    .option(
      '--group <ip:port>',
      `discovery multicast group (env GLUE_DISCOVERY_*; default ${defaults.group ?? '239.192.137.1:37320'})`,
    )
    .option(
      '--announce-period <ms>',
      `announce period, ms (env GLUE_DISCOVERY_RATE_MILLISECONDS; default ${defaults.announcePeriod ?? '1000'})`,
      integer('--announce-period', 10, 60_000),
    )
    .option(
      '--network-key <key>',
      'network key, 64 hex digits or base64; repeat to rotate, the first seals (env GLUE_NETWORK_KEY; visible in ps: prefer --network-key-file)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--network-key-file <path>', 'file with network keys, one per line, the first seals (# starts a comment)')
    .option('--network-cipher <name>', 'aes-256-gcm or chacha20-poly1305 (env GLUE_NETWORK_CIPHER; default aes-256-gcm)')
    .option(
      '--peer <host:port>',
      'unicast peer address (port default 37321); repeat for more (env GLUE_PEERS, comma-separated)',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .option('--no-multicast', 'no multicast: discovery by --peer addresses and gossip only (env GLUE_MULTICAST=false)')
    .option(
      '--metrics-port <port>',
      'serve Prometheus metrics at http://HOST:PORT/metrics, 0 = any free port (env GLUE_METRICS_PORT; default off)',
      integer('--metrics-port', 0, 65535),
    )
    .option('--metrics-host <ip>', 'listen address of --metrics-port (env GLUE_METRICS_HOST; default 127.0.0.1)')
}

/**
 * Opens a command's endpoint; with --metrics-port (or GLUE_METRICS_PORT) says on stderr where its metrics are served
 * (`metrics at http://127.0.0.1:PORT/metrics (endpoint NAME)`: with port 0, the port the system chose).
 */
export async function openEndpoint(options: EndpointOptions): Promise<Endpoint> {
  const ep = await Endpoint.open(options)
  if (ep.metricsAddress !== undefined) console.error(`metrics at http://${ep.metricsAddress}/metrics (endpoint ${ep.name})`)
  return ep
}

/**
 * Opens the endpoint of the command `role` (`pub`, `map`, ...) with the common flags (see {@link openEndpoint}),
 * named `glue-ROLE-PID` unless GLUE_NAME names it.
 */
export function openCommandEndpoint(flags: CommonFlags, role: string): Promise<Endpoint> {
  return openEndpoint({ ...commonEndpointOptions(flags), name: unlessEnv(ENV_VARS.name, `glue-${role}-${process.pid}`) })
}

/** The keys of a key file: one per line, blank lines and `#` comments ignored. */
export function readKeyFile(path: string): string[] {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    throw new InvalidOptionError(`cannot read --network-key-file ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`, {
      option: '--network-key-file',
      value: path,
    })
  }
  const keys = text
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim())
    .filter((line) => line !== '')
  if (keys.length === 0) {
    throw new InvalidOptionError(`--network-key-file ${path} holds no key`, { option: '--network-key-file', value: path })
  }
  return keys
}

/** The endpoint options the common flags set; unset ones stay unset so GLUE_* variables and defaults apply. */
export function commonEndpointOptions(flags: CommonFlags): EndpointOptions {
  const options: EndpointOptions = {}
  if (flags.networkId !== undefined) options.networkId = flags.networkId
  if (flags.interface !== undefined) options.interface = flags.interface
  if (flags.group !== undefined) options.group = flags.group
  if (flags.announcePeriod !== undefined) options.announcePeriodMs = flags.announcePeriod
  const keys = [...(flags.networkKey ?? []), ...(flags.networkKeyFile === undefined ? [] : readKeyFile(flags.networkKeyFile))]
  if (keys.length > 0) options.networkKey = keys
  if (flags.networkCipher !== undefined) options.networkCipher = flags.networkCipher as EndpointOptions['networkCipher']
  if (flags.peer !== undefined) options.peers = flags.peer
  // commander sets `multicast: true` by default for --no-multicast: only the flag itself overrides GLUE_MULTICAST.
  if (flags.multicast === false) options.multicast = false
  if (flags.metricsPort !== undefined || flags.metricsHost !== undefined) {
    if (flags.metricsPort === undefined && !process.env.GLUE_METRICS_PORT?.trim()) {
      throw new InvalidOptionError('--metrics-host needs --metrics-port', { option: '--metrics-host', value: flags.metricsHost })
    }
    options.metrics = {
      ...(flags.metricsPort === undefined ? {} : { port: flags.metricsPort }),
      ...(flags.metricsHost === undefined ? {} : { host: flags.metricsHost }),
    }
  }
  return options
}

/** `value` unless the environment variable is set (so the variable wins over a command's own default). */
export function unlessEnv<T>(variable: string, value: T): T | undefined {
  return process.env[variable]?.trim() ? undefined : value
}

/**
 * An AbortSignal that fires on the first Ctrl-C (SIGINT) or SIGTERM; a second one exits at once.
 * Call `dispose()` when done to remove the handlers.
 */
export function shutdownSignal(): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController()
  const onSignal = (): void => {
    if (controller.signal.aborted) process.exit(130)
    process.stderr.write('\nclosing (Ctrl-C again to quit at once)\n')
    controller.abort()
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  const dispose = (): void => {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  return { signal: controller.signal, dispose }
}

/** Waits `ms` milliseconds; returns false early when `signal` aborts. */
export async function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  try {
    await delay(ms, undefined, { signal })
    return true
  } catch {
    return false
  }
}

/** A clock for log lines: `[+  123 ms]` since it was made. */
export function stopwatch(): () => string {
  const start = performance.now()
  return () =>
    `[+${Math.round(performance.now() - start)
      .toString()
      .padStart(5)} ms]`
}

/** The payload as text if it is printable UTF-8, else as hex; at most `max` characters. */
export function preview(data: Buffer, max = 200): string {
  const text = data.toString('utf8')
  const printable = !text.includes('\ufffd') && !/[\u0000-\u0008\u000e-\u001f\u007f]/.test(text)
  const shown = printable ? text : `0x${data.toString('hex')}`
  return shown.length > max ? `${shown.slice(0, max)}… (${data.length} bytes)` : shown
}

/** `B <- A (unicast): hello from A`. */
export function formatMessage(receiver: string, message: Message): string {
  return `${receiver} <- ${message.fromName || message.from} (${message.broadcast ? 'broadcast' : 'unicast'}): ${preview(message.data)}`
}

/** What announcement extensions 0x10 and 0x11 carry, for {@link formatStatus}. */
const EXTENSION_NAMES = new Map([
  [0x10, 'topic interest'],
  [0x11, 'repliers'],
])

/** `topic interest and repliers`: the extensions whose bytes differ between two announcements. */
function changedExtensions(before: ReadonlyMap<number, Buffer>, after: ReadonlyMap<number, Buffer>): string {
  const names: string[] = []
  for (const type of new Set([...before.keys(), ...after.keys()])) {
    const a = before.get(type)
    const b = after.get(type)
    if (a !== undefined && b !== undefined && a.equals(b)) continue
    names.push(EXTENSION_NAMES.get(type) ?? `extension 0x${type.toString(16).padStart(2, '0')}`)
  }
  return names.length === 0 ? 'announcement' : names.join(' and ')
}

/** `peer-up B (0123456789abcdef) at 127.0.0.1:40000`, with the reason / clash details when there are some. */
export function formatStatus(event: StatusEvent): string {
  const { peer } = event
  const base = `${event.type} ${peer.name} (${peer.id}) at ${peer.address}`
  switch (event.type) {
    case 'peer-down':
      return `${base}: ${event.reason}`
    case 'peer-changed': {
      const { previous } = event
      const same =
        previous.name === peer.name &&
        previous.address === peer.address &&
        previous.announcePeriodMs === peer.announcePeriodMs
      if (same) return `${base}: its ${changedExtensions(previous.extensions, peer.extensions)} changed`
      return `${base}, was ${previous.name} at ${previous.address} every ${previous.announcePeriodMs} ms`
    }
    case 'name-clash':
      return `${base}: name already held by ${event.existingId}${event.rejected ? ', rejected' : ''}`
    case 'topic-key-error':
      return `${event.type} from ${peer.name} (${peer.id}): ${event.error.message}`
    case 'subscribers-changed':
      return `${event.type} ${event.topic}: ${event.added.length > 0 ? '+' : '-'}${peer.name} (${peer.id}), ${event.subscribers} now`
    default:
      return base
  }
}

/** A plain-text table of peers: id, name, address, period, age. */
export function formatPeerTable(peers: readonly Peer[], now = Date.now()): string {
  const header = ['id', 'name', 'address', 'period (ms)', 'seen for (s)']
  const rows = peers.map((p) => [
    p.id,
    p.name,
    p.address,
    String(p.announcePeriodMs),
    ((now - p.since.getTime()) / 1000).toFixed(1),
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)))
  const line = (cells: string[]): string =>
    cells
      .map((cell, i) => cell.padEnd(widths[i]))
      .join('  ')
      .trimEnd()
  const rule = widths.map((w) => '-'.repeat(w)).join('  ')
  return [line(header), rule, ...rows.map(line), `${peers.length} peer${peers.length === 1 ? '' : 's'}`].join('\n')
}

/**
 * Aborts `done` when `signal` aborts (Ctrl-C, SIGTERM, or the reader of stdout or stderr gone: the job's signal covers
 * EPIPE, see {@link outputClosed}) or after `durationS` seconds when given; returns the function that removes these
 * hooks again.
 */
export function stopOnSignalDurationOrEpipe(done: AbortController, signal: AbortSignal, durationS: number | undefined): () => void {
  const stop = (): void => done.abort()
  signal.addEventListener('abort', stop, { once: true })
  const timer = durationS === undefined ? undefined : setTimeout(stop, durationS * 1000)
  return () => {
    clearTimeout(timer)
    signal.removeEventListener('abort', stop)
  }
}

const outputGone = new AbortController()

/**
 * Aborts once the reader of stdout or stderr has gone (EPIPE: `glue demo | head -1`), after
 * {@link handleClosedOutput} was installed. Every job's signal includes it, so the job closes its endpoint and ends.
 */
export const outputClosed: AbortSignal = outputGone.signal

/**
 * Makes a write to a closed pipe on stdout or stderr end the running job quietly instead of crashing with
 * `Error: write EPIPE`: the error is swallowed, {@link outputClosed} aborts, and later writes go nowhere. Other
 * stream errors are rethrown (as Node would). Installed once by bin/glue.js (`run`), not by `main` (tests call it
 * in-process).
 */
export function handleClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err
      outputGone.abort()
    })
  }
}

/** The version of the glue-pubsub package (from its package.json; from src/ and from dist/src/ alike). */
export function packageVersion(): string {
  for (const dir of [join(__dirname, '..', '..'), join(__dirname, '..', '..', '..')]) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string }
      if (pkg.name === 'glue-pubsub' && typeof pkg.version === 'string') return pkg.version
    } catch {
      // not here: try the next directory up
    }
  }
  return 'unknown'
}
