/**
 * `glue pub <topic> <value>` waits until at least --wait-subscribers endpoints (default 1) subscribe to the topic,
 * publishes a value (once, or --count times every --interval) and prints how many endpoints it reached;
 * `glue sub <filter>` prints the messages of a topic filter (MQTT wildcards `+` and `#`) until Ctrl-C, --count or
 * --duration, then a one-line summary on stderr.
 */
import { type Command, InvalidArgumentError, Option } from 'commander'

import { InvalidOptionError } from '../errors'
import { TimeoutError } from '../errors'
import type { TopicMessage } from '../topics/message'
import type { PublishOptions } from '../topics/options'
import { validateTopicName } from '../topics/topic-name'
import { parseValue, showValue } from './values'
import {
  addCommonOptions,
  type CommonFlags,
  integer,
  type JobRunner,
  openCommandEndpoint,
  outputClosed,
  seconds,
  sleep,
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
  /** Seconds to discover peers before publishing; undefined: 0 when waiting for subscribers, else 1. */
  wait?: number
  /** Subscribers to wait for (false with --no-wait-subscribers). */
  waitSubscribers: number | false
  /** Seconds to wait for them. */
  waitTimeout: number
  linger?: number
}

interface SubFlags extends CommonFlags {
  type?: string
  reliable?: boolean
  count?: number
  duration?: number
  json?: boolean
}

export { parseValue }

/** `sensors/a #3 from A (replayed, retained): 21.5`. */
export function formatTopicMessage(message: TopicMessage): string {
  const notes = [message.replayed && 'replayed', message.retained && 'retained'].filter(Boolean)
  const from = message.fromName || message.from
  const value = showValue(message.value)
  return `${message.topic} #${message.seq} from ${from}${notes.length > 0 ? ` (${notes.join(', ')})` : ''}: ${value}`
}

/** A commander parser for a number of seconds >= 0 (`--wait 0` publishes at once). */
function secondsOrZero(flag: string): (value: string) => number {
  return (value) => {
    const number = Number(value)
    if (value.trim() === '' || !Number.isFinite(number) || number < 0) {
      throw new InvalidArgumentError(`${flag} must be a number of seconds >= 0, got ${JSON.stringify(value)}`)
    }
    return number
  }
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

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
    .option(
      '--wait-subscribers <n>',
      'publish once this many endpoints subscribe to the topic (0: do not wait)',
      integer('--wait-subscribers', 0, 1_000_000),
      1,
    )
    .option('--no-wait-subscribers', 'publish without waiting for subscribers (e.g. --retain or --depth for late joiners)')
    .option('--wait-timeout <s>', 'exit 1 if fewer subscribe within this time, seconds', seconds, 10)
    .option(
      '--wait <s>',
      'discover peers for this long before publishing, seconds (default 0 when waiting for subscribers, else 1)',
      secondsOrZero('--wait'),
    )
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

/** Runs `glue pub`; resolves to the exit code. */
export async function publish(topic: string, text: string, flags: PubFlags, signal: AbortSignal): Promise<number> {
  // Bad input fails before anything opens.
  validateTopicName(topic)
  const parsed = parseValue(text, flags.codec)
  const ep = await openCommandEndpoint(flags, 'pub')
  try {
    const options: PublishOptions = {
      codec: flags.codec,
      type: flags.type,
      retain: flags.retain === true,
      depth: flags.depth,
      lifespanMs: flags.lifespan,
    }
    const min = flags.waitSubscribers === false ? 0 : flags.waitSubscribers
    if (min > 0) {
      const timeoutMs = Math.min(flags.waitTimeout * 1000, 2 ** 31 - 1)
      try {
        await ep.waitForSubscribers(topic, { min, timeoutMs, signal })
      } catch (err) {
        if (signal.aborted) return 0
        if (!(err instanceof TimeoutError)) throw err
        const have = ep.subscribers(topic).length
        console.error(
          `glue: ${have === 0 ? 'nobody subscribes' : `only ${plural(have, 'endpoint')} subscribe${have === 1 ? 's' : ''}`} to ${topic} (waited ${flags.waitTimeout} s for ${min}); nothing published (--no-wait-subscribers publishes anyway)`,
        )
        return 1
      }
    }
    if (!(await sleep((flags.wait ?? (min > 0 ? 0 : 1)) * 1000, signal))) return 0
    const reached = new Set<string>()
    let published = 0
    let dropped = 0
    for (let n = 1; n <= flags.count && !signal.aborted; n++) {
      const value = flags.codec === 'raw' && flags.count > 1 ? `${text} ${n}` : parsed
      const to = ep.subscribers(topic)
      if (flags.reliable) await ep.publish(topic, value, { ...options, reliable: true })
      else if (!ep.publish(topic, value, options)) {
        dropped++
        console.error(`glue pub: send queue full, publication #${n} dropped`)
        continue
      }
      published++
      for (const s of to) reached.add(s.id)
      if (flags.count > 1) console.log(`published ${topic} #${n} to ${plural(to.length, 'endpoint')}`)
      if (n < flags.count && !(await sleep(flags.interval, signal))) break
    }
    const how = flags.reliable ? ', each acknowledged' : ''
    const lost = dropped > 0 ? `, ${dropped} dropped (send queue full)` : ''
    console.log(`published ${plural(published, 'message')} to ${plural(reached.size, 'endpoint')} on ${topic}${how}${lost}`)
    if (flags.linger !== undefined) await sleep(flags.linger * 1000, signal)
    else if (!flags.reliable) await sleep(100, signal) // let best-effort datagrams leave before the goodbye
    return 0
  } finally {
    await ep.close()
  }
}

/** Runs `glue sub`; resolves to the exit code. Ends with `received 5 messages on 2 topics in 3.0 s` on stderr. */
export async function subscribe(filter: string, flags: SubFlags, signal: AbortSignal): Promise<number> {
  const ep = await openCommandEndpoint(flags, 'sub')
  const started = performance.now()
  let received = 0
  const topics = new Set<string>()
  try {
    const done = new AbortController()
    const stop = (): void => done.abort()
    signal.addEventListener('abort', stop, { once: true })
    const timer = flags.duration === undefined ? undefined : setTimeout(stop, flags.duration * 1000)
    const sub = ep.subscribe(filter, { type: flags.type, reliable: flags.reliable === true, signal: done.signal })
    for await (const message of sub) {
      console.log(flags.json ? JSON.stringify(asRecord(message)) : formatTopicMessage(message))
      received++
      if (topics.size < MAX_COUNTED_TOPICS) topics.add(message.topic)
      if (flags.count !== undefined && received >= flags.count) break
    }
    clearTimeout(timer)
    signal.removeEventListener('abort', stop)
    const seconds = ((performance.now() - started) / 1000).toFixed(1)
    const many = topics.size >= MAX_COUNTED_TOPICS ? `${MAX_COUNTED_TOPICS}+ topics` : plural(topics.size, 'topic')
    // Not when the reader went away (`| head -1`): that ends quietly.
    if (!outputClosed.aborted) console.error(`received ${plural(received, 'message')} on ${many} in ${seconds} s`)
    return 0
  } finally {
    await ep.close()
  }
}

/** Distinct topics `glue sub` counts for its summary at most. */
const MAX_COUNTED_TOPICS = 100_000

function asRecord(m: TopicMessage): Record<string, unknown> {
  const value = Buffer.isBuffer(m.value) ? m.value.toString('utf8') : JSON.parse(showValue(m.value))
  const { topic, seq, type, from, fromName, timestamp, replayed, retained } = m
  return { topic, seq, value, type, from, fromName, timestamp, replayed, retained }
}
