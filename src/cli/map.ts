/**
 * `glue map <name>`: opens the replicated map `name`, catches up with its members, applies `--set key=value` and
 * `--delete key` (in the order given), waits until the writes are delivered (or held by `--quorum` endpoints),
 * prints the map (`key=value` lines sorted by key, or one JSON object with --json) and exits; with --watch it then
 * prints every change (`set key=value (from B)`, `delete key (from B)`, or JSON lines) until Ctrl-C, --count or
 * --duration.
 */
import { type Command, InvalidArgumentError, Option } from 'commander'

import { Endpoint } from '../endpoint'
import { ModelNameError } from '../model/errors'
import { validateKey, validateObjectName } from '../model/names'
import type { MapOptions } from '../model/options'
import type { MapChange, QuorumWriteOptions, ReplicatedMap } from '../model/replicated-map'
import { CodecError } from '../topics/errors'
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

/** One `--set` or `--delete`, numbered in command-line order. */
export type MapWrite =
  | { readonly op: 'set'; readonly key: string; readonly value: unknown; readonly order: number }
  | { readonly op: 'delete'; readonly key: string; readonly order: number }

export interface MapFlags extends CommonFlags {
  set?: MapWrite[]
  delete?: MapWrite[]
  quorum?: 'majority' | number
  quorumTimeout?: number
  codec: 'msgpack' | 'json' | 'raw'
  conflict: 'last-writer-wins' | 'keep-all'
  persist?: string
  wait: number
  syncTimeout: number
  watch?: boolean
  count?: number
  duration?: number
  json?: boolean
}

/** Exit code of a run interrupted (Ctrl-C, SIGTERM) before it did its job; a --watch run ends with 0. */
export const INTERRUPTED = 130

/** A commander argument parser for the map name (the model layer's rules, checked before anything opens). */
export function mapName(value: string): string {
  try {
    validateObjectName(value, 'map')
  } catch (err) {
    if (err instanceof ModelNameError) throw new InvalidArgumentError(err.message)
    throw err
  }
  return value
}

function checkKey(flag: string, key: string): void {
  try {
    validateKey(key)
  } catch (err) {
    if (err instanceof ModelNameError) throw new InvalidArgumentError(`${flag}: ${err.message}`)
    throw err
  }
}

/**
 * The value of `--set key=value`: JSON when it parses as JSON (`1`, `true`, `{"x":2}`, `"text"`), else the text as
 * a string; with the raw codec always the text.
 */
export function parseMapValue(text: string, codec: MapFlags['codec']): unknown {
  if (codec === 'raw') return text
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** `--set` and `--delete` parsers sharing one counter, so that the writes keep their command-line order. */
export function writeParsers(): {
  set: (value: string, previous?: MapWrite[]) => MapWrite[]
  del: (value: string, previous?: MapWrite[]) => MapWrite[]
} {
  let order = 0
  return {
    set: (text, previous = []) => {
      const at = text.indexOf('=')
      if (at < 0) throw new InvalidArgumentError(`--set takes key=value, got ${JSON.stringify(text)} (no "=")`)
      const key = text.slice(0, at)
      checkKey('--set', key)
      // The value is parsed once the codec is known (see `resolveWrites`): keep the text meanwhile.
      return [...previous, { op: 'set', key, value: text.slice(at + 1), order: order++ }]
    },
    del: (key, previous = []) => {
      checkKey('--delete', key)
      return [...previous, { op: 'delete', key, order: order++ }]
    },
  }
}

/** A commander parser for `--quorum`: `majority` or an integer ≥ 1 (endpoints, this one included). */
export function quorum(value: string): 'majority' | number {
  if (value.trim().toLowerCase() === 'majority') return 'majority'
  if (/^\s*\d+\s*$/.test(value) && Number(value) >= 1 && Number(value) <= 2 ** 31 - 1) return Number(value)
  throw new InvalidArgumentError(`--quorum must be "majority" or an integer ≥ 1, got ${JSON.stringify(value)}`)
}

/** The writes of the flags in command-line order, values parsed for the codec. */
export function resolveWrites(flags: Pick<MapFlags, 'set' | 'delete' | 'codec'>): MapWrite[] {
  const writes = [...(flags.set ?? []), ...(flags.delete ?? [])].sort((a, b) => a.order - b.order)
  return writes.map((w) => (w.op === 'set' ? { ...w, value: parseMapValue(w.value as string, flags.codec) } : w))
}

/** Registers the `map` command. */
export function registerMap(program: Command, run: JobRunner): void {
  const parsers = writeParsers()
  const command = program
    .command('map')
    .description('print a replicated map; optionally write to it (--set, --delete) and watch its changes (--watch)')
    .argument('<name>', 'map name (topic levels separated by /, not starting with $)', mapName)
    .option('--set <key=value>', 'set key to value (JSON if it parses, else text); repeatable', parsers.set)
    .option('--delete <key>', 'delete key; repeatable (with --set: applied in command-line order)', parsers.del)
    .option('--quorum <majority|n>', 'wait until this many endpoints (this one included) hold the writes', quorum)
    .option('--quorum-timeout <ms>', 'how long --quorum waits (default 5000)', integer('--quorum-timeout', 1, 2 ** 31 - 1))
    .option('--watch', 'after printing, print every change until Ctrl-C')
    .addOption(
      new Option('--count <n>', 'with --watch: exit after this many changes (implies --watch)')
        .argParser(integer('--count', 1, 1e9))
        .implies({ watch: true }),
    )
    .addOption(
      new Option('--duration <s>', 'with --watch: exit after this many seconds (implies --watch)')
        .argParser(seconds)
        .implies({ watch: true }),
    )
    .option('--json', 'print the map as one JSON object and each change as a JSON line')
    .option('--wait <s>', 'discover peers and members first, seconds', seconds, 1)
    .option(
      '--sync-timeout <ms>',
      'how long to wait to catch up with the members (then warn and go on)',
      integer('--sync-timeout', 1, 2 ** 31 - 1),
      3000,
    )
    .addOption(
      new Option('--codec <codec>', 'how values written here are encoded (use the same as the other members)')
        .choices(['msgpack', 'json', 'raw'])
        .default('msgpack'),
    )
    .addOption(
      new Option('--conflict <mode>', 'what concurrent writes to a key leave (use the same as the other members)')
        .choices(['last-writer-wins', 'keep-all'])
        .default('last-writer-wins'),
    )
    .option('--persist <dir>', 'keep the replica on disk in this directory (comes back with it on the next run)')
    .addHelpText(
      'after',
      `
Prints the map as key=value lines sorted by key (values as JSON), or with --json as one JSON object; with --watch
then one line per change: "set key=value (from <endpoint>)", "delete key (from <endpoint>)", or with --json
{"op":"set"|"delete","key":...,"value":...,"previous":...,"from":"<id>","fromName":"<endpoint>","local":false}.
Writes are applied in command-line order and confirmed before the map is printed: acknowledged by every member up,
or with --quorum held by that many endpoints (exit code 1 if not within --quorum-timeout). Exit codes: 0 done
(also when --watch ends with Ctrl-C/SIGTERM), 1 an error or bad usage, 130 interrupted before the writes were
confirmed or the map printed.

Examples:
  glue map cfg                                   # print the map cfg
  glue map cfg --set mode=auto --set 'limits={"max":5}' --delete old
  glue map cfg --set a=1 --quorum majority       # wait until most members hold it
  glue map cfg --watch --json | jq .             # the map, then every change`,
    )
  addCommonOptions(command).action((name: string, flags: MapFlags, self: Command) => {
    if (flags.quorum !== undefined && (flags.set ?? []).length + (flags.delete ?? []).length === 0) {
      self.error('error: --quorum needs --set or --delete (there is nothing to wait for)')
    }
    if (flags.quorumTimeout !== undefined && flags.quorum === undefined) self.error('error: --quorum-timeout needs --quorum')
    return run((signal) => mapCommand(name, flags, signal))
  })
}

/** JSON text of a value: BigInts as their digits' string, bytes as UTF-8 text (hex `0x...` if not text). */
export function showValue(value: unknown): string {
  if (value === undefined) return '<undecodable>'
  try {
    return (
      JSON.stringify(value, function (this: Record<string, unknown>, key, v: unknown) {
        const original = this[key]
        if (original instanceof Uint8Array) return bytesText(original)
        return typeof v === 'bigint' ? v.toString() : v
      }) ?? String(value)
    )
  } catch {
    return JSON.stringify(String(value))
  }
}

function bytesText(bytes: Uint8Array): string {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const text = data.toString('utf8')
  const printable = !text.includes('\ufffd') && !/[\u0000-\u0008\u000e-\u001f\u007f]/.test(text)
  return printable ? text : `0x${data.toString('hex')}`
}

/** What the map holds, keys sorted: the value, or with keep-all every concurrent value (latest first). */
export interface MapView {
  readonly entries: readonly [key: string, values: readonly unknown[]][]
  readonly keepAll: boolean
}

/**
 * A key as text output shows it: as is, or as a JSON string when it would be ambiguous there (empty, containing "="
 * or a control character such as a newline, or starting with a quote).
 */
export function showKey(key: string): string {
  return key === '' || key.startsWith('"') || /[=\u0000-\u001f\u007f]/.test(key) ? JSON.stringify(key) : key
}

const byKey = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

/** Reads the map for printing; keys whose values cannot be decoded are reported with `warn` and left out. */
export function viewMap(m: ReplicatedMap, keepAll: boolean, warn: (line: string) => void): MapView {
  const entries: [string, unknown[]][] = []
  for (const key of [...m.keys()].sort(byKey)) {
    try {
      entries.push([key, keepAll ? m.getAll(key) : [m.get(key)]])
    } catch (err) {
      if (!(err instanceof CodecError)) throw err
      warn(`glue map: warning: key ${JSON.stringify(key)} left out: ${err.message}`)
    }
  }
  return { entries, keepAll }
}

/**
 * The map as text: one `key=value` line per key (values as JSON; with keep-all and concurrent values
 * `key=latest (concurrent: v2, v3)`), or with `json` one JSON object (keys in sorted order; with keep-all each
 * value is the array of concurrent values, latest first). An empty map prints nothing as text, `{}` as JSON.
 */
export function formatMap(view: MapView, json: boolean): string {
  if (json) {
    // Built by hand: an object would put integer-like keys first and take "__proto__" as its prototype.
    const members = view.entries.map(
      ([key, values]) => `${JSON.stringify(key)}:${showValue(view.keepAll ? values : values[0])}`,
    )
    return `{${members.join(',')}}`
  }
  return view.entries.map(([key, values]) => `${showKey(key)}=${showMany(values)}`).join('\n')
}

function showMany(values: readonly unknown[]): string {
  const [latest, ...others] = values
  return others.length === 0 ? showValue(latest) : `${showValue(latest)} (concurrent: ${others.map(showValue).join(', ')})`
}

/**
 * One change as text, `set key=value (from B)` or `delete key (from B)`, or as a JSON line
 * `{"op":"set","key":...,"value":...,"previous":...,"from":"<id>","fromName":"B","local":false}` (`value` absent for a
 * delete, `previous` when the key had a value, `values` with keep-all when there are concurrent ones,
 * `"undecodable":true` when the value cannot be decoded).
 */
export function formatChange(change: MapChange<unknown>, json: boolean, concurrent?: readonly unknown[]): string {
  const { key, deleted, origin } = change
  const op = deleted ? 'delete' : 'set'
  const several = concurrent !== undefined && concurrent.length > 1 ? concurrent : undefined
  if (!json) {
    const from = origin.name || origin.id
    const shown = several === undefined ? showValue(change.value) : showMany(several)
    return deleted ? `delete ${showKey(key)} (from ${from})` : `set ${showKey(key)}=${shown} (from ${from})`
  }
  const fields = [`"op":"${op}"`, `"key":${JSON.stringify(key)}`]
  if (!deleted) fields.push(change.value === undefined ? '"undecodable":true' : `"value":${showValue(change.value)}`)
  if (several !== undefined) fields.push(`"values":${showValue(several)}`)
  if (change.previous !== undefined) fields.push(`"previous":${showValue(change.previous)}`)
  fields.push(`"from":${JSON.stringify(origin.id)}`, `"fromName":${JSON.stringify(origin.name)}`, `"local":${change.local}`)
  return `{${fields.join(',')}}`
}

/** Resolves with `promise`'s outcome, or with 'aborted' once `signal` fires first. */
export async function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<{ ok: T } | { error: unknown } | 'aborted'> {
  if (signal.aborted) return 'aborted'
  let onAbort = (): void => {}
  const aborted = new Promise<'aborted'>((resolve) => {
    onAbort = () => resolve('aborted')
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([promise.then((ok) => ({ ok }), (error: unknown) => ({ error })), aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

/** Runs `glue map`; resolves to the exit code. */
export async function mapCommand(name: string, flags: MapFlags, signal: AbortSignal): Promise<number> {
  const warn = (line: string): void => console.error(line)
  const writes = resolveWrites(flags)
  const ep = await openCommandEndpoint(flags, 'map')
  let m: ReplicatedMap | undefined
  try {
    const options: MapOptions = { codec: flags.codec, conflict: flags.conflict }
    if (flags.persist !== undefined) options.persist = flags.persist
    m = await ep.map(name, options)
    m.onError((err) => warn(`glue map: warning: --persist ${flags.persist}: ${(err as Error).message}; going on in memory`))
    if (!(await sleep(flags.wait * 1000, signal))) return flags.watch ? 0 : INTERRUPTED
    const synced = await unlessAborted(m.synced({ timeoutMs: flags.syncTimeout }), signal)
    if (synced === 'aborted') return flags.watch ? 0 : INTERRUPTED
    if ('error' in synced) warn(`glue map: warning: ${(synced.error as Error).message}; going on with what this endpoint holds`)

    if (writes.length > 0) {
      const code = await write(ep, m, writes, flags, signal, warn)
      if (code !== 0) return code
    }

    const keepAll = flags.conflict === 'keep-all'
    const text = formatMap(viewMap(m, keepAll, warn), flags.json === true)
    if (text !== '') console.log(text)
    if (!flags.watch || signal.aborted) return 0
    return await watch(m, flags, signal)
  } finally {
    await m?.close() // flushes, tells the members it leaves, and with --persist writes to disk
    await ep.flush({ signal: AbortSignal.timeout(1000) }).catch(() => {}) // let that goodbye leave
    await ep.close()
  }
}

/** Applies the writes and waits until they are delivered (or held by the quorum); resolves to 0 or an exit code. */
async function write(
  ep: Endpoint,
  m: ReplicatedMap,
  writes: readonly MapWrite[],
  flags: MapFlags,
  signal: AbortSignal,
  warn: (line: string) => void,
): Promise<number> {
  const q: QuorumWriteOptions | undefined =
    flags.quorum === undefined ? undefined : { quorum: flags.quorum, deadlineMs: flags.quorumTimeout ?? 5000 }
  const waits: Promise<unknown>[] = []
  // One tick: the writes go out as one delta. A quorum larger than the membership throws at the first one, before
  // anything is written.
  for (const w of writes) {
    if (w.op === 'set') {
      if (q === undefined) m.set(w.key, w.value)
      else waits.push(m.set(w.key, w.value, q))
    } else {
      const had = m.has(w.key)
      if (q === undefined) m.delete(w.key)
      else waits.push(m.delete(w.key, q))
      if (!had) warn(`glue map: warning: --delete ${w.key}: no such key, nothing deleted`)
    }
  }
  if (m.members().length === 0) {
    const kept =
      flags.persist === undefined
        ? 'this process only: they are lost when it exits'
        : `--persist ${flags.persist}, sent when it next runs with members up`
    warn(`glue map: warning: no other member of map ${JSON.stringify(m.name)} is up; the writes are held by ${kept}`)
  }
  // The delta leaves on the next turn of the event loop; then wait until every member up acknowledged it.
  await new Promise((resolve) => setImmediate(resolve))
  const outcome = await unlessAborted(Promise.all([...waits, ep.flush({ signal })]), signal)
  if (outcome === 'aborted' || signal.aborted) {
    warn('glue map: interrupted before the writes were confirmed (they are written here and may still spread)')
    return INTERRUPTED
  }
  if ('error' in outcome) throw outcome.error // QuorumError: main prints it, exit code 1
  return 0
}

/** Prints every change until the signal, --count or --duration; resolves to 0. */
async function watch(m: ReplicatedMap, flags: MapFlags, signal: AbortSignal): Promise<number> {
  const done = new AbortController()
  const releaseStops = stopOnSignalDurationOrEpipe(done, signal, flags.duration)
  const keepAll = flags.conflict === 'keep-all'
  let seen = 0
  const remove = m.onChange((change) => {
    if (done.signal.aborted) return
    const concurrent = keepAll && !change.deleted ? safeGetAll(m, change.key) : undefined
    console.log(formatChange(change, flags.json === true, concurrent))
    if (flags.count !== undefined && ++seen >= flags.count) done.abort()
  })
  try {
    if (!done.signal.aborted) await new Promise((resolve) => done.signal.addEventListener('abort', resolve, { once: true }))
    return 0
  } finally {
    remove()
    releaseStops()
  }
}

function safeGetAll(m: ReplicatedMap, key: string): unknown[] | undefined {
  try {
    return m.getAll(key)
  } catch {
    return undefined
  }
}
