/**
 * `glue request <topic> <value>` sends a request to one replier (or, with --all, to every known one) and prints the
 * reply (or replies); `glue reply <filter> --echo` (or `--value <v>`) answers the requests on a topic filter and prints
 * one line per request until Ctrl-C or --duration. No replier, no reply in time, or an error reply: exit 1 with a
 * one-line `glue: ...` error.
 */
import { type Command, InvalidArgumentError, Option } from 'commander'

import { TimeoutError } from '../errors'
import type { TopicMessage } from '../topics/message'
import { NoResponderError } from '../topics/reply-errors'
import { type CliCodec, parseValue, showValue } from './values'
import {
  addCommonOptions,
  type CommonFlags,
  type JobRunner,
  openCommandEndpoint,
  seconds,
  sleep,
  stopOnSignalDurationOrEpipe,
} from './common'

type CodecName = CliCodec

interface RequestFlags extends CommonFlags {
  codec: CodecName
  timeout: number
  all?: boolean
  wait: number
}

interface ReplyFlags extends CommonFlags {
  codec?: CodecName
  echo?: boolean
  value?: string
  duration?: number
}

/** `svc/echo from A: {"n":1}` (a reply, or a request as a replier sees it). */
export function formatExchange(message: TopicMessage): string {
  return `${message.topic} from ${message.fromName || message.from}: ${showValue(message.value)}`
}

const codecChoices = ['raw', 'json', 'msgpack']

function milliseconds(value: string): number {
  const n = Number(value)
  if (!/^\s*\d+\s*$/.test(value) || n < 1 || n > 2 ** 31 - 1) {
    throw new InvalidArgumentError(`--timeout must be an integer in 1..2147483647 (ms), got ${JSON.stringify(value)}`)
  }
  return n
}

/** Registers `request` and `reply`. */
export function registerRequest(program: Command, run: JobRunner): void {
  const request = program
    .command('request')
    .description('send a request to a replier of the topic and print its reply')
    .argument('<topic>', 'topic name, levels separated by /')
    .argument('<value>', 'the request value (text; JSON with --codec json or msgpack)')
    .addOption(new Option('--codec <codec>', 'request codec; json and msgpack parse the value as JSON').choices(codecChoices).default('raw'))
    .option('--timeout <ms>', 'how long to wait for the reply (with --all: for every reply)', milliseconds, 5000)
    .option('--all', 'ask every known replier and print each reply')
    .option('--wait <s>', 'wait up to this long for a replier to be discovered, seconds', seconds, 3)
  addCommonOptions(request).action((topic: string, value: string, flags: RequestFlags) =>
    run((signal) => sendRequest(topic, value, flags, signal)),
  )
  const reply = program
    .command('reply')
    .description('answer the requests on a topic filter (+ one level, # the rest) and print each one')
    .argument('<filter>', 'topic filter, e.g. svc/+ or svc/#')
    .option('--echo', 'answer each request with its own value')
    .option('--value <text>', 'answer each request with this value (JSON with --codec json or msgpack)')
    .addOption(new Option('--codec <codec>', 'reply codec (default: the codec of each request)').choices(codecChoices))
    .option('--duration <s>', 'exit after this many seconds', seconds)
  addCommonOptions(reply).action((filter: string, flags: ReplyFlags) => run((signal) => answer(filter, flags, signal)))
}

/** Runs `glue request`; resolves to the exit code (errors are thrown, and printed as one line by main). */
export async function sendRequest(topic: string, text: string, flags: RequestFlags, signal: AbortSignal): Promise<number> {
  const ep = await openCommandEndpoint(flags, 'request')
  try {
    // A new endpoint knows no replier yet: wait (at most --wait s) until one is announced; if none is, the request
    // below fails with NoResponderError. Ctrl-C while waiting ends quietly.
    try {
      await ep.waitForRepliers(topic, { timeoutMs: Math.min(flags.wait * 1000, 2 ** 31 - 1), signal })
    } catch (err) {
      if (signal.aborted) return 0
      if (!(err instanceof TimeoutError)) throw err
    }
    const value = parseValue(text, flags.codec)
    const options = { codec: flags.codec, timeoutMs: flags.timeout, signal }
    if (!flags.all) {
      console.log(formatExchange(await ep.request(topic, value, options)))
      return 0
    }
    let replies = 0
    for await (const m of ep.requestAll(topic, value, options)) {
      replies++
      console.log(formatExchange(m))
    }
    if (replies === 0) throw new TimeoutError(`no reply on topic ${JSON.stringify(topic)} within ${flags.timeout} ms`)
    return 0
  } catch (err) {
    if (err instanceof NoResponderError && flags.wait > 0) {
      throw new NoResponderError(topic, `none was discovered within ${flags.wait} s`)
    }
    throw err
  } finally {
    await ep.close()
  }
}

/** Runs `glue reply`; resolves to the exit code. */
export async function answer(filter: string, flags: ReplyFlags, signal: AbortSignal): Promise<number> {
  if (flags.echo !== true && flags.value === undefined) throw new Error('reply needs --echo or --value <text> (see glue reply --help)')
  if (flags.echo === true && flags.value !== undefined) throw new Error('reply takes --echo or --value <text>, not both')
  const ep = await openCommandEndpoint(flags, 'reply')
  const done = new AbortController()
  const unhook = stopOnSignalDurationOrEpipe(done, signal, flags.duration)
  try {
    const fixed = flags.value === undefined ? undefined : parseValue(flags.value, flags.codec ?? 'raw')
    const replier = ep.reply(
      filter,
      (req) => {
        console.log(formatExchange(req))
        return flags.echo === true ? req.value : fixed
      },
      { codec: flags.codec, signal: done.signal },
    )
    console.error(`glue reply: answering ${filter} as ${ep.name}`)
    await new Promise<void>((resolve) => {
      if (done.signal.aborted) resolve()
      else done.signal.addEventListener('abort', () => resolve(), { once: true })
    })
    await Promise.race([replier.close(), sleep(1000, new AbortController().signal)])
    return 0
  } finally {
    unhook()
    await ep.close()
  }
}
