/**
 * `glue consensus <name> --members A,B,C --name A`: runs this endpoint as a member of the consensus group `name` and
 * prints its state, then every event as it happens (`leader B (term 3)`, `member-up C`, `lost-quorum (1 of 3
 * members reachable, 2 needed)`, or JSON lines) until Ctrl-C or --duration. Also what `glue kv` shares with it: the
 * group flags (--members, --name, --data-dir, --election-ticks, --tick-ms), the member check, waiting for a leader,
 * and the guard against a second endpoint running as the same member.
 */
import { type Command, InvalidArgumentError } from 'commander'

import { raftIdOf, isEndpointId } from '../consensus/ids'
import type { ConsensusGroup } from '../consensus/consensus-group'
import { QuorumLostError } from '../consensus/errors'
import type { ConsensusEvent } from '../consensus/group'
import type { ConsensusOptions } from '../consensus/options'
import type { GroupMember } from '../consensus/routes'
import { Endpoint } from '../endpoint'
import { ENV_VARS } from '../env'
import { ErrorCode, GlueError } from '../errors'
import { ModelNameError } from '../model/errors'
import { validateObjectName } from '../model/names'
import {
  addCommonOptions,
  type CommonFlags,
  commonEndpointOptions,
  integer,
  type JobRunner,
  openEndpoint,
  seconds,
  stopOnSignalDurationOrEpipe,
  stopwatch,
} from './common'

/** The flags of a command that runs a group member (`consensus`, `kv`). */
export interface GroupFlags extends CommonFlags {
  members: string[]
  name?: string
  dataDir?: string
  electionTicks?: number
  tickMs?: number
  json?: boolean
}

interface ConsensusFlags extends GroupFlags {
  duration?: number
  timestamps?: boolean
}

const MAX_MEMBERS = 64

/** A commander argument parser for the group name (the model layer's rules, checked before anything opens). */
export function groupName(value: string): string {
  try {
    validateObjectName(value, 'consensus group')
  } catch (err) {
    if (err instanceof ModelNameError) throw new InvalidArgumentError(err.message)
    throw err
  }
  return value
}

/** A commander parser for `--members A,B,C`: endpoint names (or IDs), each once, 1..64 of them. */
export function memberList(value: string): string[] {
  const members = value.split(',').map((m) => m.trim())
  const bad = (why: string): never => {
    throw new InvalidArgumentError(`--members takes a comma-separated list of endpoint names (or IDs): ${why}, got ${JSON.stringify(value)}`)
  }
  if (members.some((m) => m === '')) bad('an empty name')
  if (members.length > MAX_MEMBERS) bad(`at most ${MAX_MEMBERS} members`)
  const seen = new Set<string>()
  for (const m of members) {
    if (Buffer.byteLength(m) > 255) bad(`${JSON.stringify(m.slice(0, 20))}… is longer than 255 UTF-8 bytes`)
    const key = isEndpointId(m) ? m.toLowerCase() : m
    if (seen.has(key)) bad(`${JSON.stringify(m)} twice`)
    seen.add(key)
  }
  return members
}

/** Adds the group flags: --members (required), --name, --data-dir, --election-ticks, --tick-ms. */
export function addGroupOptions(command: Command): Command {
  return command
    .requiredOption('--members <A,B,C>', 'the group\'s members: endpoint names (or IDs), comma-separated; the same list on every member', memberList)
    .option('--name <name>', 'this endpoint\'s name, one of --members (env GLUE_ENDPOINT_NAME)')
    .option('--data-dir <dir>', 'keep the log, term, vote and snapshots here (default: memory only; see the README for what that means on a restart)')
    .option('--election-ticks <n>', 'ticks without a heartbeat before an election, 3..1000 (default 10; use the same on every member)', integer('--election-ticks', 3, 1000))
    .option('--tick-ms <ms>', 'ms per tick, 5..1000 (default 50: an election timeout of 500..1000 ms)', integer('--tick-ms', 5, 1000))
}

/**
 * The name this endpoint runs under: --name, else GLUE_ENDPOINT_NAME; it must be one of the members (or the
 * members name this endpoint's GLUE_ENDPOINT_ID). Returns the usage error's text when it is not.
 */
export function memberName(flags: Pick<GroupFlags, 'members' | 'name'>, env: NodeJS.ProcessEnv = process.env): { name: string } | { error: string } {
  const name = flags.name ?? env[ENV_VARS.name]?.trim()
  const list = flags.members.join(',')
  if (name === undefined || name === '') {
    return { error: `error: --name is needed: this process takes part in the group as one of its members (${list})` }
  }
  const id = env[ENV_VARS.id]?.trim().toLowerCase()
  const byId = id !== undefined && flags.members.some((m) => isEndpointId(m) && m.toLowerCase() === id)
  if (!flags.members.includes(name) && !byId) {
    return { error: `error: --name ${name} is not one of --members ${list} (only members take part in the group)` }
  }
  return { name }
}

/** The options of `ep.consensus()` the group flags set (unset ones keep the library's defaults). */
export function groupOptions(flags: GroupFlags): ConsensusOptions {
  const options: ConsensusOptions = { members: flags.members }
  if (flags.dataDir !== undefined) options.dataDir = flags.dataDir
  if (flags.electionTicks !== undefined) options.electionTicks = flags.electionTicks
  if (flags.tickMs !== undefined) options.tickMs = flags.tickMs
  return options
}

/**
 * Another endpoint runs under this endpoint's name: two processes would be one Raft member (one raft ID). The other
 * members route that member to the endpoint of the name they saw first and drop the other's messages, so the newcomer
 * never hears from the group; it refuses to go on with this error rather than wait for nothing.
 */
export class DuplicateMemberError extends GlueError {
  constructor(name: string, other: { id: string; address: string }) {
    super(
      ErrorCode.NOT_MEMBER,
      `another endpoint named ${name} is up (${other.id} at ${other.address}): a member runs once; stop it, or run as another member`,
    )
  }
}

/**
 * Watches for a peer with this endpoint's name. Seen before this member knew a leader (it is the newcomer, see
 * {@link DuplicateMemberError}): `refuse` is called with the error; seen later (this one is the member the group
 * talks to): `warn` with a line for stderr. Each at most once; returns the unsubscribe.
 */
export function watchForDuplicate(
  ep: Endpoint,
  knowsLeader: () => boolean,
  refuse: (err: DuplicateMemberError) => void,
  warn: (line: string) => void,
): () => void {
  let reported = false
  const check = (peer: { id: string; name: string; address: string }): void => {
    if (reported || peer.name !== ep.name || peer.id === ep.id) return
    reported = true
    if (!knowsLeader()) return refuse(new DuplicateMemberError(ep.name, peer))
    warn(
      `glue: warning: another endpoint named ${ep.name} is up (${peer.id} at ${peer.address}): a member runs once; stop it (the group goes on with this one)`,
    )
  }
  const off = ep.onStatus((event) => {
    if (event.type === 'peer-up' || event.type === 'peer-changed') check(event.peer)
  })
  for (const peer of ep.peers()) check(peer)
  return off
}

/** The other members that are peers now (up), by name. */
function membersUp(g: ConsensusGroup, selfId: string): string[] {
  return g.members().filter((m) => m.id !== '' && m.id !== selfId).map((m) => m.name)
}

/** The error of a leader wait that timed out, shaped as the library's: who is unreachable, what a majority is. */
export function noLeaderError(g: ConsensusGroup, deadlineMs: number): QuorumLostError {
  const members = g.members()
  const needed = Math.floor(members.length / 2) + 1
  const unreachable = members.filter((m) => m.id === '').map((m) => ({ id: raftIdOf(m.name), name: m.name }))
  return new QuorumLostError(`consensus group ${JSON.stringify(g.name)}: no leader within ${deadlineMs} ms (a majority is ${needed} of ${members.length})`, unreachable)
}

/**
 * Resolves with the leader once one is known; rejects after `deadlineMs` with QuorumLostError (or the
 * MembershipMismatchError of a peer that opened the group with other members, if one was seen), or at once when the
 * group fails.
 */
export function waitForLeader(g: ConsensusGroup, deadlineMs: number): Promise<GroupMember> {
  const now = g.leader
  if (now !== undefined) return Promise.resolve(now)
  return new Promise((resolve, reject) => {
    let mismatch: Error | undefined
    const done = (): void => {
      clearTimeout(timer)
      off()
    }
    const off = g.onEvent((ev) => {
      if (ev.type === 'leader-changed' && ev.leader !== undefined) {
        done()
        resolve(ev.leader)
      } else if (ev.type === 'error') mismatch = ev.error
      else if (ev.type === 'failed') {
        done()
        reject(ev.error)
      }
    })
    const timer = setTimeout(() => {
      off()
      reject(mismatch ?? noLeaderError(g, deadlineMs))
    }, deadlineMs)
  })
}

/** What the first output shows: the group, this member, the members up, role, term and leader. */
export interface GroupState {
  readonly group: string
  readonly self: string
  readonly members: readonly string[]
  readonly up: readonly string[]
  readonly role: string
  readonly term: number
  readonly leader: GroupMember | undefined
  readonly dataDir: string | undefined
  readonly electionTimeoutMs: number
}

/**
 * The state on start: as text two lines, `consensus cfg: A of members A, B, C (up: B; memory only; election timeout
 * 500..1000 ms)` and the leader line (`leader B (term 3)` or `no leader yet (term 1)`); as JSON one line
 * `{"type":"state","group":...,"self":...,"members":[...],"up":[...],"role":...,"term":...,"leader":...,"leaderId":...}`.
 */
export function formatState(s: GroupState, selfId: string, json: boolean): string {
  if (json) {
    return JSON.stringify({
      type: 'state',
      group: s.group,
      self: s.self,
      members: s.members,
      up: s.up,
      role: s.role,
      term: s.term,
      leader: s.leader?.name ?? null,
      leaderId: s.leader?.id || null,
    })
  }
  const notes = [
    `up: ${s.up.length === 0 ? 'none yet' : s.up.join(', ')}`,
    s.dataDir === undefined ? 'memory only' : `data in ${s.dataDir}`,
    `election timeout ${s.electionTimeoutMs}..${2 * s.electionTimeoutMs} ms`,
  ]
  const head = `consensus ${s.group}: ${s.self} of members ${s.members.join(', ')} (${notes.join('; ')})`
  const leader = s.leader === undefined ? `no leader yet (term ${s.term})` : leaderLine(s.leader, s.term, selfId)
  return `${head}\n${leader}`
}

function leaderLine(leader: GroupMember | undefined, term: number, selfId: string): string {
  if (leader === undefined) return `no leader (term ${term})`
  return `leader ${leader.name} (term ${term}${leader.id === selfId ? ', this endpoint' : ''})`
}

/** What an event's line needs besides the event: this endpoint's ID, role and the number of voters now. */
export interface EventContext {
  readonly selfId: string
  readonly role: string
  readonly voters: number
}

/**
 * One event as text — `leader B (term 3)` (`, this endpoint` when it leads), `no leader (term 4)`, `member-up C`,
 * `member-down C`, `quorum (3 of 3 members reachable, 2 needed)`, `lost-quorum (1 of 3 members reachable, 2
 * needed)`, `members-changed A, B, C, D`, `error: <message>`, `failed: <message>` — or as a JSON line with `type`
 * and the event's fields (members by name, `leaderId`/`id` endpoint IDs, errors as `code` and `message`).
 */
export function formatEvent(ev: ConsensusEvent, ctx: EventContext, json: boolean): string {
  switch (ev.type) {
    case 'leader-changed':
      if (json) {
        return JSON.stringify({ type: ev.type, leader: ev.leader?.name ?? null, leaderId: ev.leader?.id || null, term: ev.term, role: ctx.role })
      }
      return leaderLine(ev.leader, ev.term, ctx.selfId)
    case 'member-up':
    case 'member-down':
      return json ? JSON.stringify({ type: ev.type, member: ev.member.name, id: ev.member.id || null }) : `${ev.type} ${ev.member.name}`
    case 'quorum':
    case 'lost-quorum':
      if (json) return JSON.stringify({ type: ev.type, reachable: ev.reachable, needed: ev.needed, members: ctx.voters })
      return `${ev.type} (${ev.reachable} of ${ctx.voters} members reachable, ${ev.needed} needed)`
    case 'members-changed':
      if (json) return JSON.stringify({ type: ev.type, members: ev.voters.map((v) => v.name) })
      return `${ev.type} ${ev.voters.map((v) => v.name).join(', ')}`
    case 'error':
    case 'failed': {
      const code = (ev.error as { code?: unknown }).code
      if (json) return JSON.stringify({ type: ev.type, code: typeof code === 'string' ? code : null, message: ev.error.message })
      return `${ev.type}: ${ev.error.message}`
    }
  }
}

/** Opens the endpoint under the member's name, checked (see `memberName`). */
export function openMember(flags: GroupFlags, name: string): Promise<Endpoint> {
  return openEndpoint({ ...commonEndpointOptions(flags), name })
}

/** Closes the group and the endpoint (letting the goodbye leave). */
export async function closeMember(ep: Endpoint, g: ConsensusGroup | undefined): Promise<void> {
  await g?.close()
  await ep.flush({ signal: AbortSignal.timeout(1000) }).catch(() => {})
  await ep.close()
}

/** Registers the `consensus` command. */
export function registerConsensus(program: Command, run: JobRunner): void {
  const command = program
    .command('consensus')
    .description('run this endpoint as a member of a consensus group and print its leader, terms and events live')
    .argument('<name>', 'group name (topic levels separated by /, not starting with $)', groupName)
  addGroupOptions(command)
    .option('--json', 'print the state and each event as a JSON line')
    .option('--timestamps', 'prefix text lines with the time since start ([+  123 ms])')
    .option('--duration <s>', 'exit after this many seconds (default: run until Ctrl-C)', seconds)
    .addHelpText(
      'after',
      `
Prints the state on start — "consensus <name>: A of members A, B, C (up: ...; memory only; election timeout
500..1000 ms)" and "leader B (term 3)" or "no leader yet (term 1)" — then one line per event: "leader B (term 4)"
(", this endpoint" when it leads), "no leader (term 4)", "member-up C", "member-down C", "quorum (3 of 3 members
reachable, 2 needed)", "lost-quorum (1 of 3 members reachable, 2 needed)", "members-changed A, B, C, D",
"error: <message>" (a peer opened the group with another member list), "failed: <message>". With --json one JSON
line each: {"type":"state",...}, {"type":"leader-changed","leader":"B","leaderId":"<id>","term":4,"role":...},
{"type":"member-up","member":"C","id":"<id>"}, {"type":"lost-quorum","reachable":1,"needed":2,"members":3}, ...
Every member must be started with the same --members (the list identifies the group); --name must be one of them.
The process is a full member while it runs: it votes and keeps a copy of the log (in memory unless --data-dir).
Exit codes: 0 at Ctrl-C/SIGTERM or --duration, 1 an error, bad usage, another endpoint already running as --name,
or the group failed (its data directory).

Examples:
  glue consensus cfg --members A,B,C --name A    # and B, C likewise, on other hosts or shells
  glue consensus cfg --members A,B,C --name B --data-dir /var/lib/glue/cfg --json | jq .`,
    )
  addCommonOptions(command).action((name: string, flags: ConsensusFlags, self: Command) => {
    const member = memberName(flags)
    if ('error' in member) return self.error(member.error)
    return run((signal) => consensusCommand(name, member.name, flags, signal))
  })
}

/** Runs `glue consensus`; resolves to the exit code (throws the error of a failed group). */
export async function consensusCommand(group: string, name: string, flags: ConsensusFlags, signal: AbortSignal): Promise<number> {
  const clock = stopwatch()
  const json = flags.json === true
  const out = (line: string): void => console.log(flags.timestamps && !json ? line.split('\n').map((l) => `${clock()} ${l}`).join('\n') : line)
  const ep = await openMember(flags, name)
  let g: ConsensusGroup | undefined
  const done = new AbortController()
  let failure: Error | undefined
  const fail = (err: Error): void => {
    failure ??= err
    done.abort()
  }
  const stopDuplicate = watchForDuplicate(ep, () => g?.leader !== undefined, fail, (line) => console.error(line))
  const releaseStops = stopOnSignalDurationOrEpipe(done, signal, flags.duration)
  try {
    if (failure !== undefined) throw failure
    g = await ep.consensus(group, groupOptions(flags))
    const opened = g
    // No event can come between this snapshot and the subscription: both run before the next macrotask.
    const up = membersUp(opened, ep.id)
    const members = flags.members // in the order given (the group's own list is in raft ID order)
    const electionTimeoutMs = (flags.electionTicks ?? 10) * (flags.tickMs ?? 50)
    out(formatState({ group, self: name, members, up, role: opened.role, term: opened.term, leader: opened.leader, dataDir: flags.dataDir, electionTimeoutMs }, ep.id, json))
    opened.onEvent((ev) => {
      if (done.signal.aborted) return
      out(formatEvent(ev, { selfId: ep.id, role: opened.role, voters: opened.members().length }, json))
      if (ev.type === 'failed') fail(ev.error)
    })
    if (!done.signal.aborted) await new Promise((resolve) => done.signal.addEventListener('abort', resolve, { once: true }))
    if (failure !== undefined) throw failure
    return 0
  } finally {
    stopDuplicate()
    releaseStops()
    await closeMember(ep, g)
  }
}
