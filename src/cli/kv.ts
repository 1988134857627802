/**
 * `glue kv <name> --members A,B,C --name C put|get|cas|delete|list|watch ...`: the linearizable key-value store of a
 * consensus group from the shell. Raft has no client-only mode, so the process takes part as one of the members
 * (`--name`): it opens the group, waits for a leader (`--deadline-ms`), performs the operation, prints the result
 * and closes; `watch` prints the committed changes until Ctrl-C, --count or --duration.
 */

import { type Command, InvalidArgumentError, Option } from 'commander'

import type { ConsensusGroup } from '../consensus/consensus-group'
import type { KvChange } from '../consensus/kv'
import { ModelNameError } from '../model/errors'
import { validateKey } from '../model/names'
import { addCommonOptions, integer, type JobRunner, seconds, stopOnSignalDurationOrEpipe } from './common'
import {
  addGroupOptions,
  closeMember,
  type GroupFlags,
  groupName,
  groupOptions,
  memberName,
  openMember,
  waitForLeader,
  watchForDuplicate,
} from './consensus'
import { formatMap, INTERRUPTED, parseMapValue, showKey, showValue, unlessAborted } from './map'

export interface KvFlags extends GroupFlags {
  deadlineMs: number
  codec: 'msgpack' | 'json' | 'raw'
  absent?: boolean
  count?: number
  duration?: number
  initial?: boolean
}

/** One operation, its arguments parsed (values still as text: they are parsed once the codec is known). */
export type KvOperation =
  | { readonly op: 'put'; readonly key: string; readonly value: string }
  | { readonly op: 'get'; readonly key: string }
  | { readonly op: 'delete'; readonly key: string }
  /** `undefined`: absent (expected) or delete (next). */
  | { readonly op: 'cas'; readonly key: string; readonly expected: string | undefined; readonly next: string | undefined }
  | { readonly op: 'list'; readonly prefix: string }
  | { readonly op: 'watch'; readonly prefix: string }

const USAGE = {
  put: '<key> <value>',
  get: '<key>',
  cas: '<key> <expected> <next>',
  delete: '<key>',
  list: '[prefix]',
  watch: '[prefix]',
} as const

/** The text standing for "absent" (cas expected) or "delete" (cas next). */
export const ABSENT = '-'

function checkKey(op: string, key: string): string {
  try {
    validateKey(key)
  } catch (err) {
    if (err instanceof ModelNameError) throw new InvalidArgumentError(`${op}: ${err.message}`)
    throw err
  }
  return key
}

/**
 * Parses `<operation> [args...]`; throws InvalidArgumentError with a usage message. `absent` (--absent) makes `cas`
 * take `<key> <next>` and expect the key to be absent.
 */
export function parseKvOperation(op: string, args: readonly string[], absent = false): KvOperation {
  if (!Object.hasOwn(USAGE, op)) {
    throw new InvalidArgumentError(`unknown operation ${JSON.stringify(op)}: use ${Object.keys(USAGE).join(', ')}`)
  }
  const name = op as keyof typeof USAGE
  const usage = name === 'cas' && absent ? '<key> <next> (with --absent)' : USAGE[name]
  const wanted = usage.split(' ').filter((a) => a.startsWith('<')).length
  const optional = usage.includes('[') ? 1 : 0
  if (args.length < wanted || args.length > wanted + optional) {
    throw new InvalidArgumentError(`${op} takes ${usage}, got ${args.length} argument${args.length === 1 ? '' : 's'}`)
  }
  if (absent && name !== 'cas') throw new InvalidArgumentError('--absent goes with cas')
  switch (name) {
    case 'put':
      return { op: name, key: checkKey(op, args[0]), value: args[1] }
    case 'get':
      return { op: name, key: checkKey(op, args[0]) }
    case 'delete':
      return { op: name, key: checkKey(op, args[0]) }
    case 'cas': {
      const [key, a, b] = args
      const [expected, next] = absent ? [undefined, a] : [a === ABSENT ? undefined : a, b]
      return { op: name, key: checkKey(op, key), expected, next: next === ABSENT ? undefined : next }
    }
    case 'list':
      return { op: name, prefix: args[0] ?? '' }
    case 'watch':
      return { op: name, prefix: args[0] ?? '' }
  }
}

/** A value as the store takes it: JSON when it parses (`1`, `true`, `{"x":2}`, `"text"`), else the text (as `glue map`). */
export const parseKvValue = parseMapValue

/**
 * The result of an operation as text — put `OK`; get the value as JSON (nothing when the key is absent); cas and
 * delete `true` / `false` — or as one JSON object (`{"op":"get","key":"k","found":true,"value":...}`,
 * `{"op":"cas","key":"k","ok":true}`, `{"op":"delete","key":"k","deleted":false}`, `{"op":"put","key":"k"}`).
 * `undefined`: nothing to print.
 */
export function formatResult(op: Exclude<KvOperation, { op: 'list' | 'watch' }>, result: unknown, json: boolean): string | undefined {
  const key = JSON.stringify(op.key)
  switch (op.op) {
    case 'put':
      return json ? `{"op":"put","key":${key}}` : 'OK'
    case 'get':
      if (json) return result === undefined ? `{"op":"get","key":${key},"found":false}` : `{"op":"get","key":${key},"found":true,"value":${showValue(result)}}`
      return result === undefined ? undefined : showValue(result)
    case 'cas':
      return json ? `{"op":"cas","key":${key},"ok":${result === true}}` : String(result === true)
    case 'delete':
      return json ? `{"op":"delete","key":${key},"deleted":${result === true}}` : String(result === true)
  }
}

/** `list`: `key=value` lines sorted by key (values as JSON), or one JSON object in key order; as `glue map` prints. */
export function formatList(entries: readonly [string, unknown][], json: boolean): string {
  return formatMap({ keepAll: false, entries: entries.map(([k, v]) => [k, [v]]) }, json)
}

/**
 * A committed change as text, `put key=value (index 7)` or `delete key (index 8)`, or as a JSON line
 * `{"op":"put","key":...,"value":...,"previous":...,"index":7}` (`previous` when the key had a value; no `value` for a
 * delete).
 */
export function formatKvChange(change: KvChange<unknown>, json: boolean): string {
  const op = change.deleted ? 'delete' : 'put'
  if (!json) {
    return change.deleted ? `delete ${showKey(change.key)} (index ${change.index})` : `put ${showKey(change.key)}=${showValue(change.value)} (index ${change.index})`
  }
  const fields = [`"op":"${op}"`, `"key":${JSON.stringify(change.key)}`]
  if (!change.deleted) fields.push(`"value":${showValue(change.value)}`)
  if (change.previous !== undefined) fields.push(`"previous":${showValue(change.previous)}`)
  fields.push(`"index":${change.index}`)
  return `{${fields.join(',')}}`
}

/** Registers the `kv` command. */
export function registerKv(program: Command, run: JobRunner): void {
  const command = program
    .command('kv')
    .description('put, get, cas, delete, list or watch keys of a consensus group\'s linearizable key-value store')
    .argument('<name>', 'group name (as given to glue consensus / ep.consensus)', groupName)
    .argument('<operation>', 'put <key> <value> | get <key> | cas <key> <expected> <next> | delete <key> | list [prefix] | watch [prefix]')
    .argument('[args...]', 'the operation\'s arguments')
  addGroupOptions(command)
    .option('--deadline-ms <ms>', 'how long to wait for a leader and the operation together (then QuorumLostError, exit code 1)', integer('--deadline-ms', 1, 2 ** 31 - 1), 5000)
    .option('--json', 'print the result as one JSON object, watched changes as JSON lines')
    .option('--absent', 'cas: expect the key to be absent (then cas takes <key> <next>; same as - for <expected>)')
    .option('--initial', 'watch: print the keys under the prefix first (as list does), then the changes after them (no gap)')
    .option('--count <n>', 'watch: exit after this many changes', integer('--count', 1, 1e9))
    .option('--duration <s>', 'watch: exit after this many seconds', seconds)
    .addOption(
      new Option('--codec <codec>', 'how values are encoded (use the same as the group\'s other users)').choices(['msgpack', 'json', 'raw']).default('msgpack'),
    )
    .addHelpText(
      'after',
      `
Operations (values are JSON when they parse — 1, true, {"x":2}, "text" — else the text as a string; a value or key
starting with "-" goes after --):
  put <key> <value>              prints OK once committed
  get <key>                      prints the value as JSON (linearizable); nothing when the key is absent (exit code 0)
  cas <key> <expected> <next>    sets key to next if its value is expected; prints true (exit code 0) or false
                                 (exit code 1); "-" (or --absent) as <expected>: the key must be absent; "-" as
                                 <next>: delete it
  delete <key>                   prints true if the key had a value, else false (exit code 0 either way)
  list [prefix]                  prints key=value lines sorted by key (values as JSON); --json: one object
  watch [prefix]                 prints each committed change from now on, in log order: "put key=value (index 7)",
                                 "delete key (index 8)", or with --json {"op":"put","key":...,"value":...,
                                 "previous":...,"index":7}; "watching ..." on stderr once it is live
With --json: {"op":"put","key":...}, {"op":"get","key":...,"found":true,"value":...} / {...,"found":false},
{"op":"cas","key":...,"ok":true}, {"op":"delete","key":...,"deleted":true}.
There is no client-only mode in Raft: the process joins the group as the member --name (which must not be running
elsewhere at the same time), catches up from the others' log, and leaves when done; a majority of the members must
be up. Without --data-dir it starts as a member with an empty memory each run (safe while a majority stays up; see
the README on memory-only members).
Exit codes: 0 done (watch also at Ctrl-C/SIGTERM), 1 an error (no leader or no majority within --deadline-ms, ...),
a cas that did not swap, or bad usage, 130 interrupted before the operation was confirmed.

Examples:
  glue kv cfg --members A,B,C --name C put mode eco
  glue kv cfg --members A,B,C --name C get mode                 # "eco"
  glue kv cfg --members A,B,C --name C cas next-order 41 42      # true
  glue kv cfg --members A,B,C --name C cas owner - '"C"'         # take it if nobody has
  glue kv cfg --members A,B,C --name C watch orders/ --json | jq .`,
    )
  addCommonOptions(command).action((name: string, op: string, args: string[], flags: KvFlags, self: Command) => {
    let operation: KvOperation
    try {
      operation = parseKvOperation(op, args, flags.absent === true)
    } catch (err) {
      if (err instanceof InvalidArgumentError) return self.error(`error: ${err.message}`)
      throw err
    }
    if (operation.op !== 'watch') {
      for (const flag of ['initial', 'count', 'duration'] as const) {
        if (flags[flag] !== undefined) return self.error(`error: --${flag} goes with watch`)
      }
    }
    const member = memberName(flags)
    if ('error' in member) return self.error(member.error)
    return run((signal) => kvCommand(name, member.name, operation, flags, signal))
  })
}

/** Runs `glue kv`; resolves to the exit code. */
export async function kvCommand(group: string, name: string, operation: KvOperation, flags: KvFlags, signal: AbortSignal): Promise<number> {
  const started = performance.now()
  const json = flags.json === true
  const value = (text: string | undefined): unknown => (text === undefined ? undefined : parseKvValue(text, flags.codec))
  const ep = await openMember(flags, name)
  let g: ConsensusGroup | undefined
  const duplicate = new AbortController()
  let duplicateError: Error | undefined
  const stopDuplicate = watchForDuplicate(
    ep,
    () => g?.leader !== undefined,
    (err) => {
      duplicateError = err
      duplicate.abort()
    },
    (line) => console.error(line),
  )
  const stopped = AbortSignal.any([signal, duplicate.signal])
  /** Waits for `promise`; 'aborted' on Ctrl-C; throws its error, or the duplicate member's. */
  const wait = async <T>(promise: Promise<T>): Promise<{ ok: T } | 'aborted'> => {
    const outcome = await unlessAborted(promise, stopped)
    if (duplicateError !== undefined) throw duplicateError
    if (outcome === 'aborted') return 'aborted'
    if ('error' in outcome) throw outcome.error
    return outcome
  }
  try {
    g = await ep.consensus(group, { ...groupOptions(flags), deadlineMs: flags.deadlineMs, codec: flags.codec })
    const opened = g
    if ((await wait(waitForLeader(opened, flags.deadlineMs))) === 'aborted') return INTERRUPTED
    const left = (): { deadlineMs: number } => ({ deadlineMs: Math.max(1, Math.round(flags.deadlineMs - (performance.now() - started))) })
    if (operation.op === 'list' || operation.op === 'watch') {
      const listed = await wait(opened.kv.list(operation.prefix, left()))
      if (listed === 'aborted') return INTERRUPTED
      if (operation.op === 'list') {
        const text = formatList(listed.ok, json)
        if (text !== '') console.log(text)
        return 0
      }
      if (flags.initial === true) {
        // As `glue map --watch`: the keys first (text lines, or one JSON object), then the changes.
        const text = formatList(listed.ok, json)
        if (text !== '') console.log(text)
      }
      return await watch(opened, operation.prefix, flags, stopped, () => duplicateError)
    }
    const key = operation.key
    let done: { ok: unknown } | 'aborted'
    switch (operation.op) {
      case 'put':
        done = await wait(opened.kv.put(key, value(operation.value), left()))
        break
      case 'get':
        done = await wait(opened.kv.get(key, left()))
        break
      case 'cas':
        done = await wait(opened.kv.cas(key, value(operation.expected), value(operation.next), left()))
        break
      case 'delete':
        done = await wait(opened.kv.delete(key, left()))
        break
    }
    if (done === 'aborted') {
      if (operation.op !== 'get') console.error('glue kv: interrupted before the operation was confirmed (it may still commit: check with get)')
      return INTERRUPTED
    }
    const result = done.ok
    const text = formatResult(operation, result, json)
    if (text !== undefined) console.log(text)
    return operation.op === 'cas' && result !== true ? 1 : 0
  } finally {
    stopDuplicate()
    await closeMember(ep, g)
  }
}

/** Prints every committed change under `prefix` until the signal, --count or --duration; resolves to 0. */
async function watch(g: ConsensusGroup, prefix: string, flags: KvFlags, signal: AbortSignal, failed: () => Error | undefined): Promise<number> {
  const json = flags.json === true
  const done = new AbortController()
  const releaseStops = stopOnSignalDurationOrEpipe(done, signal, flags.duration)
  let failure: Error | undefined
  let seen = 0
  // Subscribed in the same turn as the list resolved: every change after the listed state, none before it.
  const removeChanges = g.kv.onChange((change) => {
    if (done.signal.aborted) return
    console.log(formatKvChange(change, json))
    if (flags.count !== undefined && ++seen >= flags.count) done.abort()
  }, prefix)
  const removeEvents = g.onEvent((ev) => {
    if (ev.type === 'lost-quorum') console.error(`glue kv: warning: lost quorum (${ev.reachable} reachable, ${ev.needed} needed): nothing can commit until it is back`)
    else if (ev.type === 'quorum') console.error(`glue kv: quorum again (${ev.reachable} reachable, ${ev.needed} needed)`)
    else if (ev.type === 'failed') {
      failure = ev.error
      done.abort()
    }
  })
  console.error(`glue kv: watching ${prefix === '' ? 'every key' : `keys starting with ${JSON.stringify(prefix)}`} of ${g.name} after index ${g.appliedIndex} (Ctrl-C to stop)`)
  try {
    if (!done.signal.aborted) await new Promise((resolve) => done.signal.addEventListener('abort', resolve, { once: true }))
    const error = failed() ?? failure
    if (error !== undefined) throw error
    return 0
  } finally {
    removeChanges()
    removeEvents()
    releaseStops()
  }
}
