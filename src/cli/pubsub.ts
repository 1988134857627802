/**
 * `glue pub <topic> <value>` publishes a value (once, or --count times every --interval), `glue sub <filter>` prints
 * the messages of a topic filter (MQTT wildcards `+` and `#`) until Ctrl-C, --count or --duration.
 */
import { type Command, Option } from 'commander'

import { Endpoint } from '../endpoint'
import { ENV_VARS } from '../env'
import type { TopicMessage } from '../topics/message'
import type { PublishOptions } from '../topics/options'
import {
  addCommonOptions,
  type CommonFlags,
  commonEndpointOptions,
  integer,
  type JobRunner,
  preview,
  seconds,
  sleep,
  unlessEnv,
} from './common'

interface PubFlags extends CommonFlags {
  codec: 'raw' | 'json' | 'msgpack'
  type?: string
  reliable?: boolean
  retain?: boolean
  depth: number
  lifespan?: number
  count: number
  interval: number
  wait: number
  linger?: number
}

interface SubFlags extends CommonFlags {
  type?: string
  reliable?: boolean
  count?: number
  duration?: number
  json?: boolean
}

/** `sensors/a #3 from A (replayed, retained): 21.5`. */
export function formatTopicMessage(message: TopicMessage): string {
  const notes = [message.replayed && 'replayed', message.retained && 'retained'].filter(Boolean)
  const from = message.fromName || message.from
  const value = Buffer.isBuffer(message.value) ? preview(message.value) : show(message.value)
  return `${message.topic} #${message.seq} from ${from}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}: ${value}`
}

/** JSON text of a decoded value (BigInts as numbers' text, anything unprintable as its string form). */
function show(value: unknown): string {
  try {
    return JSON.stringify(value, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value)
  } catch {
    return String(value)
  }
}

/** The value to publish: JSON for the json and msgpack codecs (plain text if it is not JSON), else the text. */
export function parseValue(text: string, codec: PubFlags['codec']): unknown {
  if (codec === 'raw') return text
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

const codecOption = (): Option =>
  new Option('--codec <codec>', 'payload codec; json and msgpack parse the value as JSON')
    .choices(['raw', 'json', 'msgpack'])
    .default('raw')

/** Registers `pub` and `sub`. */
export function registerPubSub(program: Command, run: JobRunner): void {
  const pub = program
    .command('pub')
    .description('publish a value on a topic (to the endpoints that subscribe to it)')
    .argument('<topic>', 'topic name, levels separated by /')
    .argument('<value>', 'the value (text; JSON with --codec json or msgpack)')
    .addOption(codecOption())
    .option('--type <name>', 'type name of the topic')
    .option('--reliable', 'acknowledged and repaired (waits for every interested endpoint)')
    .option('--retain', "keep as the topic's last value for late joiners")
    .option('--depth <n>', 'history kept for late joiners', integer('--depth', 0, 65535), 0)
    .option('--lifespan <ms>', 'publications older than this are not delivered', integer('--lifespan', 1, 2 ** 31))
    .option('--count <n>', 'publish this many times (raw values get " <n>" appended)', integer('--count', 1, 1e9), 1)
    .option('--interval <ms>', 'between publications', integer('--interval', 0, 3_600_000), 1000)
    .option('--wait <s>', 'discover peers and their interests first, seconds', seconds, 1)
    .option('--linger <s>', 'stay this long afterwards to answer late joiners, seconds', seconds)
  addCommonOptions(pub).action((topic: string, value: string, flags: PubFlags) =>
    run((signal) => publish(topic, value, flags, signal)),
  )
  const sub = program
    .command('sub')
    .description('print the messages of a topic filter (+ one level, # the rest)')
    .argument('<filter>', 'topic filter, e.g. sensors/+/temp or sensors/#')
    .option('--type <name>', 'only publications of this type')
    .option('--reliable', 'only reliable publications')
    .option('--count <n>', 'exit after this many messages', integer('--count', 1, 1e9))
    .option('--duration <s>', 'exit after this many seconds', seconds)
    .option('--json', 'print each message as a JSON line')
  addCommonOptions(sub).action((filter: string, flags: SubFlags) => run((signal) => subscribe(filter, flags, signal)))
}

async function open(flags: CommonFlags, role: string): Promise<Endpoint> {
  const name = unlessEnv(ENV_VARS.name, `glue-${role}-${process.pid}`)
  return Endpoint.open({ ...commonEndpointOptions(flags), name })
}

/** Runs `glue pub`; resolves to the exit code. */
export async function publish(topic: string, text: string, flags: PubFlags, signal: AbortSignal): Promise<number> {
  const ep = await open(flags, 'pub')
  try {
    const options: PublishOptions = {
      codec: flags.codec,
      type: flags.type,
      retain: flags.retain === true,
      depth: flags.depth,
      lifespanMs: flags.lifespan,
    }
    if (!(await sleep(flags.wait * 1000, signal))) return 0
    for (let n = 1; n <= flags.count && !signal.aborted; n++) {
      const value = flags.codec === 'raw' && flags.count > 1 ? `${text} ${n}` : parseValue(text, flags.codec)
      if (flags.reliable) await ep.publish(topic, value, { ...options, reliable: true })
      else if (!ep.publish(topic, value, options)) console.error('glue pub: send queue full, publication dropped')
      console.log(`published ${topic} #${n}`)
      if (n < flags.count && !(await sleep(flags.interval, signal))) break
    }
    if (flags.linger !== undefined) await sleep(flags.linger * 1000, signal)
    else await sleep(100, signal) // let best-effort datagrams leave before the goodbye
    return 0
  } finally {
    await ep.close()
  }
}

/** Runs `glue sub`; resolves to the exit code. */
export async function subscribe(filter: string, flags: SubFlags, signal: AbortSignal): Promise<number> {
  const ep = await open(flags, 'sub')
  try {
    const done = new AbortController()
    const stop = (): void => done.abort()
    signal.addEventListener('abort', stop, { once: true })
    const timer = flags.duration === undefined ? undefined : setTimeout(stop, flags.duration * 1000)
    let received = 0
    const sub = ep.subscribe(filter, { type: flags.type, reliable: flags.reliable === true, signal: done.signal })
    for await (const message of sub) {
      console.log(flags.json ? JSON.stringify(asRecord(message)) : formatTopicMessage(message))
      if (flags.count !== undefined && ++received >= flags.count) break
    }
    clearTimeout(timer)
    signal.removeEventListener('abort', stop)
    return 0
  } finally {
    await ep.close()
  }
}

function asRecord(m: TopicMessage): Record<string, unknown> {
  const value = Buffer.isBuffer(m.value) ? m.value.toString('utf8') : JSON.parse(show(m.value))
  const { topic, seq, type, from, fromName, timestamp, replayed, retained } = m
  return { topic, seq, value, type, from, fromName, timestamp, replayed, retained }
}
