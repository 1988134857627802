/**
 * `glue bridge mqtt://host:1883 --topic 'sensors/#' [--topic ...] [--direction both|to-mqtt|from-mqtt]
 * [--prefix site1/] [--username u --password p | --ca ca.pem --cert c.pem --key k.pem]`: one endpoint bridged to an
 * MQTT broker (see src/mqtt/bridge.ts). Prints a status line on every connect and disconnect and a summary on exit
 * (Ctrl-C, SIGTERM or --duration). A broker that refuses the first connection, or a bad flag, ends it with exit code
 * 1 and a message naming the flag.
 */
import { type Command, InvalidArgumentError } from 'commander'

import { InvalidOptionError } from '../errors'
import { bridgeMqtt } from '../mqtt/bridge'
import { DIRECTIONS, type BridgeDirection, type MqttBridgeOptions } from '../mqtt/options'
import type { MqttBridgeStats, MqttBridgeStatus } from '../mqtt/stats'
import {
  addCommonOptions,
  type CommonFlags,
  integer,
  type JobRunner,
  openCommandEndpoint,
  seconds,
  sleep,
  stopwatch,
} from './common'

interface BridgeFlags extends CommonFlags {
  topic: string[]
  direction: BridgeDirection
  prefix?: string
  username?: string
  password?: string
  ca?: string
  cert?: string
  key?: string
  queueLimit?: number
  protocol?: string
  clientId?: string
  duration?: number
}

/** The CLI flag of each bridge option, for error messages. */
const FLAGS: Record<string, string> = {
  url: '<url>',
  topics: '--topic',
  direction: '--direction',
  prefix: '--prefix',
  username: '--username',
  password: '--password',
  ca: '--ca',
  cert: '--cert',
  key: '--key',
  queueLimit: '--queue-limit',
  protocolVersion: '--protocol',
  clientId: '--client-id',
}

/** Registers the `bridge` command. */
export function registerBridge(program: Command, run: JobRunner): void {
  const command = program
    .command('bridge')
    .description('bridge glue topics to an MQTT broker, both ways (needs the npm package mqtt)')
    .argument('<url>', 'the broker: mqtt://host:1883, mqtts://host:8883, ws://, wss://')
    .requiredOption('--topic <filter>', "glue topic filter to bridge, e.g. 'sensors/#' (repeat for more)", collect, [])
    .option('--direction <way>', `${DIRECTIONS.join(' | ')}`, direction, 'both')
    .option('--prefix <prefix>', "prefix of the topics on the MQTT side, e.g. 'site1/'")
    .option('--username <name>', 'MQTT user name')
    .option('--password <password>', 'MQTT password (visible in ps)')
    .option('--ca <file>', 'TLS: CA certificate(s) to trust, PEM')
    .option('--cert <file>', 'TLS: client certificate, PEM')
    .option('--key <file>', 'TLS: client private key, PEM')
    .option('--queue-limit <n>', 'reliable publications held while the broker is away (default 10000)', integer('--queue-limit', 1, 10_000_000))
    .option('--protocol <version>', 'MQTT protocol: 5, 4 (3.1.1) or auto (default auto)')
    .option('--client-id <id>', 'MQTT client ID (default glue-<endpoint id>-<random>)')
    .option('--duration <s>', 'exit after this many seconds', seconds)
  addCommonOptions(command).action((url: string, flags: BridgeFlags) => run((signal) => bridge(url, flags, signal)))
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value]
}

function direction(value: string): BridgeDirection {
  if (!(DIRECTIONS as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`--direction must be one of ${DIRECTIONS.join(', ')}, got ${JSON.stringify(value)}`)
  }
  return value as BridgeDirection
}

function protocol(value: string | undefined): MqttBridgeOptions['protocolVersion'] {
  if (value === undefined || value === 'auto') return 'auto'
  if (value === '5' || value === '4') return Number(value) as 5 | 4
  throw new InvalidOptionError(`Invalid --protocol: ${JSON.stringify(value)} (expected 5, 4 or auto)`, { option: '--protocol', value })
}

/** An InvalidOptionError of the API, told in flags. */
function asFlagError(err: unknown): unknown {
  if (!(err instanceof InvalidOptionError) || err.option === undefined) return err
  const option = err.option.replace(/\[\d+\]$/, '')
  const flag = FLAGS[option]
  if (flag === undefined) return err
  const message = err.message.replace(`Invalid option ${err.option}`, `Invalid ${flag}`)
  return new InvalidOptionError(message, { option: flag, value: err.value, cause: err })
}

function formatStatus(event: MqttBridgeStatus): string {
  if (event.type === 'connected') {
    const session = event.sessionPresent ? ', session resumed' : ''
    return `${event.reconnect ? 'reconnected' : 'connected'} to ${event.url} (MQTT ${event.protocolVersion === 5 ? '5' : '3.1.1'}${session})`
  }
  if (event.type === 'subscribe-failed') {
    return `the broker refused the subscription ${event.filter} (reason code 0x${event.reasonCode.toString(16)})`
  }
  const why = event.error === undefined ? 'connection lost' : event.error.message
  return `disconnected from ${event.url}: ${why}; retrying in ${event.retryInMs} ms`
}

/** The summary line printed on exit. */
export function formatSummary(s: MqttBridgeStats): string {
  const dropped = Object.entries(s.dropped)
    .filter(([, n]) => n > 0)
    .map(([cause, n]) => `${cause} ${n}`)
  const drops = dropped.length === 0 ? 'none dropped' : `dropped: ${dropped.join(', ')}`
  return `closed: ${s.toMqtt} to MQTT, ${s.fromMqtt} from MQTT, ${s.reconnects} reconnects, ${s.skippedLoop} loop skips, ${drops}`
}

/** Runs the bridge until Ctrl-C or --duration; resolves to the exit code. */
export async function bridge(url: string, flags: BridgeFlags, signal: AbortSignal): Promise<number> {
  const clock = stopwatch()
  const log = (line: string): void => console.log(`${clock()} ${line}`)
  const options: MqttBridgeOptions = {
    url,
    topics: flags.topic,
    direction: flags.direction,
    prefix: flags.prefix,
    username: flags.username,
    password: flags.password,
    ca: flags.ca,
    cert: flags.cert,
    key: flags.key,
    queueLimit: flags.queueLimit,
    protocolVersion: protocol(flags.protocol),
    clientId: flags.clientId,
  }
  const ep = await openCommandEndpoint(flags, 'bridge')
  try {
    let b
    try {
      b = await bridgeMqtt(ep, options)
    } catch (err) {
      throw asFlagError(err)
    }
    log(`${ep.name} (${ep.id}) bridging ${flags.topic.join(' ')} ${arrow(flags.direction)} ${b.url}${flags.prefix ? ` with prefix ${flags.prefix}` : ''}`)
    log(formatStatus({ type: 'connected', url: b.url, protocolVersion: b.stats().protocolVersion, sessionPresent: false, reconnect: false }))
    b.onStatus((event) => log(formatStatus(event)))
    if (flags.duration !== undefined) await sleep(flags.duration * 1000, signal)
    else if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))
    await b.close()
    log(formatSummary(b.stats()))
    return 0
  } finally {
    await ep.close()
  }
}

function arrow(way: BridgeDirection): string {
  return way === 'both' ? '<->' : way === 'to-mqtt' ? '->' : '<-'
}
