/**
 * The harness of the Jepsen-style consensus test (consensus-jepsen.spec.ts): five members of one consensus group,
 * each in its own process (fixtures/consensus-worker.ts) with its own `dataDir`; concurrent clients in the test
 * process doing put/get/cas/delete on a few keys and taking a lock; a seeded nemesis; and the recorded history.
 *
 * - **Where**: as root, each member on its own namespace host behind one bridge (helpers/netns.ts), so the nemesis
 *   can partition the network (majority/minority, a "bridge" of two halves sharing one member, the leader cut off
 *   into a minority), drop 10 % of the datagrams arriving at every host (nftables), kill members (SIGKILL) and
 *   restart them (same name and `dataDir`, a new endpoint ID, as a restarted process gets), and pause them
 *   (SIGSTOP / SIGCONT: a frozen member). Not root: loopback, and the nemesis only kills, restarts and pauses.
 * - **Clients** run in the test process and record every call and return on one clock (CLOCK_MONOTONIC via
 *   `process.hrtime`, which the workers use too for lock intervals): a client writes a command to a random member
 *   that is not known dead and waits for its answer. An error (QuorumLostError after the deadline), no answer within
 *   the deadline (a paused member) or a killed member is *indefinite*: the operation stays in the history without a
 *   return, since a write may still take effect. A client whose operation went indefinite continues under a new
 *   client ID (as Jepsen's processes do), so each client ID has one operation at a time.
 * - **Locks**: lock clients take lock `L` (short ttl) on a random member, which holds it for a while and releases
 *   it, reporting the interval it relied on the lock (see the worker); a holder that is killed before it said it was
 *   done relied on it at most until its exit was seen (or until it was SIGSTOPped, if it was killed while stopped).
 * - **The group** snapshots every 64 entries, so log compaction, snapshots sent to lagging and restarted members, and
 *   restarts from a snapshot happen many times a run.
 * - **The nemesis** draws from its own seeded generator (the clients from another), every 1–2 s; every action is
 *   logged with its time, so a failure can be read against the schedule, and `GLUE_JEPSEN_SEED` replays the
 *   schedule (the timing of a real network is not replayable, the choices are).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomInt } from 'node:crypto'
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'

import type { EndpointOptions } from '../../index'
import type { KvOp, KvOperation, LockGrant } from './linearizability'
import { isolatedOptions } from './loopback'
import { addLoss, cutDropped, type Host, healCuts, lossDropped, partition, removeLoss, type TestNet } from './netns'
import { seeded } from './seeded-random'

/** Milliseconds on CLOCK_MONOTONIC: one clock for the test and every worker. */
export const now = (): number => Number(process.hrtime.bigint()) / 1e6
export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** A JSON line of a worker. */
export type Rec = Record<string, unknown> & { event: string }

/** What a request came to. */
export type Outcome =
  | { kind: 'ok'; answer: Rec }
  | { kind: 'error'; code: string; message: string }
  | { kind: 'no-answer' }
  | { kind: 'killed' }

/** One member: its fixed identity and data directory, and the process running it now (if any). */
export interface Slot {
  readonly index: number
  readonly name: string
  readonly host: Host | undefined
  readonly dataDir: string
  proc: WorkerProc | undefined
  /** Killed by the nemesis and not restarted yet. */
  down: boolean
  /** SIGSTOPped by the nemesis. */
  paused: boolean
}

/** A running worker process. */
export interface WorkerProc {
  readonly slot: Slot
  readonly proc: ChildProcess
  /** Every record but answers and peer events. */
  readonly records: Rec[]
  readonly exited: Promise<number | string>
  /** When the exit was seen (undefined while running). */
  exitedAt: number | undefined
  /** When it was SIGSTOPped (undefined while it runs): it did nothing after that until SIGCONT. */
  stoppedAt: number | undefined
  /** Killed on purpose (nemesis or teardown): an exit that is not is a failure. */
  expectedExit: boolean
  stderr: string
  /** Its consensus counters as it last reported them (every 0.5 s). */
  stats: Record<string, number>
  /** Requests waiting for an answer from this process. */
  readonly waiting: Map<number, (o: Outcome) => void>
  /** Lock grants it holds (or held when it died), to close at its exit. */
  readonly openGrants: Set<{ from: number; to: number | undefined }>
}

/** How a run goes. */
export interface RunConfig {
  seed: number
  /** How long the clients and the nemesis run, ms. */
  durationMs: number
  /** Members whose `get` reads local state (the deliberately broken store). */
  staleMembers?: readonly number[]
  /** Every holder ignores losing the lock (the deliberately broken lock). */
  brokenLocks?: boolean
  /** Nemesis actions allowed (default: all the mode supports). */
  actions?: readonly NemesisAction[]
  /** The members `pause` and `isolate` pick from (default: any). */
  victims?: readonly number[]
  kvClients?: number
  lockClients?: number
}

/**
 * What the nemesis does (one of the list, each equally likely, every 1–2 s):
 * - `partition-halves`: a random majority | minority (3 | 2); `partition-bridge`: two halves of 3 sharing one member;
 *   `isolate-leader` / `isolate-holder` / `isolate`: the leader (the lock's holder, a random member) and one other
 *   in the minority;
 * - `heal`: the network whole again, paused members resumed (the loss stays as it is);
 * - `kill`: SIGKILL one member (at most 2 down or paused at once), restarted 0.5–3 s later from its `dataDir`;
 *   `crash-majority`: SIGKILL 3 at once, the leader among them, each restarted 0.5–2 s later;
 * - `pause` / `pause-leader` / `pause-holder`: SIGSTOP a member (the leader, the lock's holder) for 0.5–3 s (the
 *   holder for 1.5–3 s: longer than the lock's ttl);
 * - `loss`: the 10 % loss on every host on or off (on from the start).
 */
export type NemesisAction =
  | 'partition-halves'
  | 'partition-bridge'
  | 'isolate-leader'
  | 'isolate-holder'
  | 'isolate'
  | 'heal'
  | 'kill'
  | 'crash-majority'
  | 'pause'
  | 'pause-leader'
  | 'pause-holder'
  | 'loss'

export const NETNS_ACTIONS: readonly NemesisAction[] = [
  'partition-halves',
  'partition-bridge',
  'isolate-leader',
  'isolate-holder',
  'heal',
  'heal',
  'kill',
  'crash-majority',
  'pause',
  'pause-leader',
  'pause-holder',
  'loss',
]
export const LOOPBACK_ACTIONS: readonly NemesisAction[] = ['kill', 'kill', 'crash-majority', 'pause', 'pause-leader', 'pause-holder', 'heal']

/** Counts of one run, for the log. */
export interface RunCounts {
  ok: number
  /** Errors (QuorumLostError ...), by code: indefinite for writes. */
  errors: Record<string, number>
  /** No answer within the deadline (a paused member). */
  noAnswer: number
  /** The member was killed while the operation ran. */
  killed: number
  byType: Record<string, { ok: number; total: number; ms: number[] }>
  locks: { granted: number; released: number; lost: number; failed: Record<string, number> }
  nemesis: Record<string, number>
}

/** Everything a run recorded. */
export interface RunResult {
  history: KvOperation<number>[]
  grants: LockGrant[]
  counts: RunCounts
  /** `[t s, action]`, the nemesis schedule as it happened. */
  schedule: string[]
  /** Leader names reported per term, over every member. */
  leadersByTerm: Map<number, Set<string>>
  /** Time from every member being open again (after healing everything) to the first committed write, ms. */
  recoveryMs: number
  /** Datagrams dropped by the loss rules and frames by the partitions (netns). */
  dropped: { loss: number; cut: number }
  /** Worker exits nobody asked for (with their stderr). */
  crashes: string[]
  /** Consensus counters summed over every worker process (as each last reported them). */
  stats: Record<string, number>
  /** Worker processes started (5 + restarts). */
  processes: number
}

export const KEYS = ['a', 'b', 'c'] as const
export const MEMBERS = ['m1', 'm2', 'm3', 'm4', 'm5'] as const
/**
 * Group options: the default timing (50 ms ticks, election timeout 500..1000 ms), a 2 s deadline per operation, and
 * a snapshot every 64 applied entries (default 10 000), so that log compaction, snapshots sent to lagging or
 * restarted members and restarts from a snapshot happen many times in a run.
 */
const GROUP = { group: 'jepsen', tickMs: 50, electionTicks: 10, deadlineMs: 2000, snapshotEntries: 64 }
/** A client gives up waiting this long after the member's own deadline (a paused member never answers in time). */
const CLIENT_SLACK_MS = 1000
const LOCK_TTL_MS = 1000

/** iproute2's `ip`, from the system directories (as helpers/netns.ts finds it). */
const IP = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'].find((path) => existsSync(path)) ?? 'ip'
const FIXTURE = join(__dirname, '..', 'fixtures', 'consensus-worker.ts')
const ROOT = join(__dirname, '..', '..')

let bundled: { dir: string; file: string } | undefined

/**
 * How a worker starts: `node <bundle>` — the fixture and the library bundled once per test process with esbuild
 * (tsx's own dependency), which starts in about 0.4 s instead of 1–4 s through tsx on a loaded 2-core machine, so
 * a killed member is back in about the time the nemesis chose. The bundle sits two directories below a temporary
 * directory holding a symlink to the addon's binding.js (the library finds it at `__dirname/../../binding.js`).
 * Falls back to `node --import=tsx <fixture>` if bundling fails.
 */
function workerCommand(): string[] {
  if (bundled === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'glue-jepsen-bundle-'))
    const file = join(dir, 'a', 'b', 'consensus-worker.js')
    try {
      symlinkSync(join(ROOT, 'binding.js'), join(dir, 'binding.js'))
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const esbuild = require('esbuild') as typeof import('esbuild')
      esbuild.buildSync({ entryPoints: [FIXTURE], bundle: true, platform: 'node', target: 'node20', outfile: file, logLevel: 'error' })
      bundled = { dir, file }
    } catch (err) {
      rmSync(dir, { recursive: true, force: true })
      console.warn(`consensus jepsen: bundling the worker failed (${String(err)}); starting it through tsx`)
      bundled = { dir: '', file: '' }
    }
  }
  return bundled.file === '' ? [process.execPath, '--import=tsx', FIXTURE] : [process.execPath, bundled.file]
}

/** Every worker process ever started (killed on exit, whatever happens). */
const allProcs = new Set<ChildProcess>()
process.on('exit', () => {
  for (const p of allProcs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL')
  if (bundled !== undefined && bundled.dir !== '') rmSync(bundled.dir, { recursive: true, force: true })
})

/** Five members in netns hosts (`net` given) or on loopback; `teardown` kills them and removes their directories. */
export class Cluster {
  readonly slots: Slot[]
  readonly mode: 'netns' | 'loopback'
  readonly #net: TestNet | undefined
  readonly #base: EndpointOptions
  readonly #dir: string
  readonly #stale: ReadonlySet<number>
  #nextId = 1
  #lossOn = false
  readonly leadersByTerm = new Map<number, Set<string>>()
  readonly crashes: string[] = []
  /** Every worker process started. */
  readonly procs: WorkerProc[] = []
  /** The consensus counters summed over every process (as each last reported them). */
  stats(): Record<string, number> {
    const sum: Record<string, number> = {}
    for (const w of this.procs) for (const [k, v] of Object.entries(w.stats)) sum[k] = (sum[k] ?? 0) + v
    return sum
  }
  /** Every unasked record of every worker (group events, peers), with the member and the time it came. */
  readonly events: Rec[] = []
  #tearingDown = false

  readonly #brokenLocks: boolean

  /** `staleMembers` read locally, `brokenLocks` makes every holder ignore losing the lock (see the worker). */
  constructor(net: TestNet | undefined, staleMembers: readonly number[] = [], brokenLocks = false) {
    this.#brokenLocks = brokenLocks
    this.#net = net
    this.mode = net === undefined ? 'loopback' : 'netns'
    this.#dir = mkdtempSync(join(tmpdir(), 'glue-jepsen-'))
    this.#stale = new Set(staleMembers)
    // Loopback: one private group and port for the five; announcements every 250 ms, expiry after 1 s.
    this.#base = net === undefined ? isolatedOptions({ announcePeriodMs: 250, expiryMultiplier: 4 }) : {}
    this.slots = MEMBERS.map((name, i) => ({
      index: i,
      name,
      host: net?.hosts[i],
      dataDir: join(this.#dir, name),
      proc: undefined,
      down: false,
      paused: false,
    }))
  }

  #options(slot: Slot): EndpointOptions {
    if (this.#net === undefined || slot.host === undefined) return { ...this.#base, name: slot.name }
    return {
      name: slot.name,
      networkId: this.#net.networkId,
      interface: slot.host.ip,
      group: '239.192.137.1:37320',
      maxDatagramSize: 1472,
      env: false,
    }
  }

  /** Starts (or restarts) the worker of `slot`: same name, same `dataDir`, a new endpoint ID. */
  start(slot: Slot): WorkerProc {
    const args = JSON.stringify({ options: this.#options(slot), members: MEMBERS, dataDir: slot.dataDir, ...GROUP })
    const node = [...workerCommand(), args]
    const env = {
      ...process.env,
      GLUE_JEPSEN_STALE_READS: this.#stale.has(slot.index) ? '1' : '0',
      GLUE_JEPSEN_BROKEN_LOCKS: this.#brokenLocks ? '1' : '0',
    }
    // `ip netns exec` execs the command in place: the child's PID is node's, so signals reach the worker itself.
    const proc =
      slot.host === undefined
        ? spawn(node[0], node.slice(1), { cwd: ROOT, env })
        : spawn(IP, ['netns', 'exec', slot.host.ns, ...node], { cwd: ROOT, env })
    allProcs.add(proc)
    let resolveExit: (v: number | string) => void = () => {}
    const w: WorkerProc = {
      slot,
      proc,
      records: [],
      exited: new Promise((resolve) => (resolveExit = resolve)),
      exitedAt: undefined,
      stoppedAt: undefined,
      expectedExit: false,
      stderr: '',
      waiting: new Map(),
      openGrants: new Set(),
      stats: {},
    }
    this.procs.push(w)
    proc.stderr?.on('data', (chunk: Buffer) => {
      w.stderr = (w.stderr + chunk.toString()).slice(-8000)
    })
    proc.stdin?.on('error', () => {}) // writing to a worker that just died
    createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', (line) => this.#line(w, line))
    proc.on('close', (code, signal) => {
      w.exitedAt = now()
      allProcs.delete(proc)
      // A holder that died relied on the lock at most until then (or until it was stopped, if it was killed stopped).
      for (const g of w.openGrants) if (g.to === undefined) g.to = Math.max(g.from, w.stoppedAt ?? w.exitedAt)
      w.openGrants.clear()
      for (const done of w.waiting.values()) done({ kind: 'killed' })
      w.waiting.clear()
      if (!w.expectedExit && !this.#tearingDown) {
        this.crashes.push(`${slot.name} exited by itself (${code ?? signal}): ${w.stderr.slice(-3000)} ${JSON.stringify(w.records.slice(-5))}`)
      }
      if (slot.proc === w) slot.proc = undefined
      resolveExit(code ?? signal ?? -1)
    })
    slot.proc = w
    slot.down = false
    slot.paused = false
    return w
  }

  #line(w: WorkerProc, line: string): void {
    let r: Rec
    try {
      r = JSON.parse(line) as Rec
    } catch {
      w.stderr += `(non-JSON stdout) ${line}\n`
      return
    }
    if (r.event === 'answer' || r.event === 'granted' || r.event === 'done-with') {
      const done = w.waiting.get(Number(r.id))
      if (done === undefined) return // answered after its client gave up: it stays indefinite
      if (r.event !== 'answer') return (this.onLock.get(Number(r.id)) ?? (() => {}))(w, r)
      w.waiting.delete(Number(r.id))
      if (r.ok === true) done({ kind: 'ok', answer: r })
      else done({ kind: 'error', code: String(r.code), message: String(r.message) })
      return
    }
    if (r.event === 'stats') {
      w.stats = r.stats as Record<string, number>
      return
    }
    this.events.push({ at: now(), member: w.slot.name, ...r })
    if (r.event === 'peer-up' || r.event === 'peer-down') return
    w.records.push(r)
    if (r.event === 'group' && r.type === 'leader-changed' && typeof r.leader === 'string') {
      const term = Number(r.term)
      const set = this.leadersByTerm.get(term) ?? new Set()
      set.add(r.leader)
      this.leadersByTerm.set(term, set)
    }
    if (r.event === 'error') this.crashes.push(`${w.slot.name} reported ${JSON.stringify(r)}`)
  }

  /** Handlers of `granted` and `done-with` records, by request ID. */
  readonly onLock = new Map<number, (w: WorkerProc, r: Rec) => void>()

  /** Waits until the worker of `slot` has its group open (or rejects after `timeoutMs`). */
  async whenOpen(slot: Slot, timeoutMs = 30_000): Promise<void> {
    const end = now() + timeoutMs
    while (slot.proc === undefined || !slot.proc.records.some((r) => r.event === 'open')) {
      if (now() > end) throw new Error(`${slot.name} did not open the group within ${timeoutMs} ms: ${slot.proc?.stderr ?? 'not running'}`)
      await sleep(20)
    }
  }

  /** Sends `command` to the worker of `slot` and resolves with what came of it. `onLock`: a lock's progress. */
  request(slot: Slot, command: Record<string, unknown>, timeoutMs: number, onLock?: (w: WorkerProc, r: Rec) => void): Promise<Outcome> {
    const w = slot.proc
    if (w === undefined || w.exitedAt !== undefined) return Promise.resolve({ kind: 'killed' })
    const id = this.#nextId++
    return new Promise((resolve) => {
      const timer = setTimeout(() => finish({ kind: 'no-answer' }), timeoutMs)
      const finish = (o: Outcome): void => {
        clearTimeout(timer)
        w.waiting.delete(id)
        this.onLock.delete(id)
        resolve(o)
      }
      w.waiting.set(id, finish)
      if (onLock !== undefined) this.onLock.set(id, onLock)
      w.proc.stdin?.write(`${JSON.stringify({ ...command, id })}\n`)
    })
  }

  /** SIGKILLs the worker of `slot`; resolves once its exit was seen. */
  async kill(slot: Slot): Promise<void> {
    const w = slot.proc
    if (w === undefined) return
    slot.down = true
    w.expectedExit = true
    w.proc.kill('SIGKILL')
    await w.exited
    slot.paused = false
  }

  pause(slot: Slot): void {
    if (slot.proc === undefined || slot.paused) return
    slot.paused = true
    slot.proc.proc.kill('SIGSTOP')
    // After the signal was sent, plus a margin for its delivery: later than the worker's last act (strict).
    slot.proc.stoppedAt = now() + 5
  }

  resume(slot: Slot): void {
    if (slot.proc === undefined || !slot.paused) return
    slot.paused = false
    slot.proc.stoppedAt = undefined
    slot.proc.proc.kill('SIGCONT')
  }

  /** Partitions the members into `sides` (lists of slot indexes; netns only). */
  partition(sides: number[][]): void {
    const net = this.#net as TestNet
    this.#dropped.cut += cutDropped(net)
    partition(
      net,
      sides.map((side) => side.map((i) => net.hosts[i])),
    )
  }

  /** Turns the 10 % loss on every host on or off (netns only). */
  loss(on: boolean): void {
    const net = this.#net as TestNet
    this.#lossOn = on
    for (const host of net.hosts) {
      this.#dropped.loss += lossDropped(host)
      if (on) addLoss(host, 10)
      else removeLoss(host)
    }
  }

  readonly #dropped = { loss: 0, cut: 0 }

  get lossOn(): boolean {
    return this.#lossOn
  }

  /** What the loss rules and the partitions dropped so far. */
  dropped(): { loss: number; cut: number } {
    const net = this.#net
    if (net === undefined) return { loss: 0, cut: 0 }
    return { loss: this.#dropped.loss + net.hosts.reduce((sum, h) => sum + lossDropped(h), 0), cut: this.#dropped.cut + cutDropped(net) }
  }

  /** Removes every partition (netns; the loss stays as it is). */
  healNetwork(): void {
    if (this.#net === undefined) return
    this.#dropped.cut += cutDropped(this.#net)
    healCuts(this.#net)
  }

  /** Heals the network and removes the loss (netns), resumes paused members and restarts killed ones. */
  healAll(): void {
    if (this.#net !== undefined) {
      this.healNetwork()
      this.loss(false)
    }
    for (const slot of this.slots) {
      this.resume(slot)
      if (slot.proc === undefined) this.start(slot)
    }
  }

  /** The member the latest term's leader-changed events name (undefined: none known). */
  leader(): Slot | undefined {
    let best: { term: number; name: string } | undefined
    for (const [term, names] of this.leadersByTerm) if (best === undefined || term > best.term) best = { term, name: [...names][0] }
    return this.slots.find((s) => s.name === best?.name)
  }

  /** Kills every worker (SIGCONT first is not needed: SIGKILL ends a stopped process too) and removes the data. */
  async teardown(): Promise<void> {
    this.#tearingDown = true
    await Promise.all(
      this.slots.map(async (slot) => {
        const w = slot.proc
        if (w === undefined) return
        w.expectedExit = true
        w.proc.kill('SIGKILL')
        await w.exited
      }),
    )
    rmSync(this.#dir, { recursive: true, force: true })
  }
}

/** Picks one element of `list` with `rnd`. */
const pick = <T>(rnd: () => number, list: readonly T[]): T => list[Math.floor(rnd() * list.length)]
const between = (rnd: () => number, lo: number, hi: number): number => lo + Math.floor(rnd() * (hi - lo + 1))
/** A random permutation of 0..n-1. */
function shuffled(rnd: () => number, n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i)
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1))
    ;[a[i], a[j]] = [a[j], a[i]]
  }
  return a
}

function emptyCounts(): RunCounts {
  return { ok: 0, errors: {}, noAnswer: 0, killed: 0, byType: {}, locks: { granted: 0, released: 0, lost: 0, failed: {} }, nemesis: {} }
}

/** A fresh seed (printed by the caller), or `GLUE_JEPSEN_SEED`'s. */
export function seeds(): number[] {
  const fixed = process.env.GLUE_JEPSEN_SEED
  if (fixed !== undefined && fixed !== '') return [Number(fixed)]
  const n = Number(process.env.GLUE_JEPSEN_SEEDS ?? 3)
  return Array.from({ length: n }, () => randomInt(1, 2 ** 31))
}

/**
 * One run: starts the five members, lets the clients and the nemesis loose for `durationMs`, stops them, heals
 * everything, waits for a write to commit, reads every key on every member (part of the history), and returns what
 * was recorded. `log` gets progress lines.
 */
export async function run(cluster: Cluster, config: RunConfig, log: (line: string) => void): Promise<RunResult> {
  const clientRnd = seeded(config.seed)
  const nemesisRnd = seeded(config.seed ^ 0x5eed_0001)
  const actions = config.actions ?? (cluster.mode === 'netns' ? NETNS_ACTIONS : LOOPBACK_ACTIONS)
  const victims = config.victims ?? [0, 1, 2, 3, 4]
  const counts = emptyCounts()
  const history: KvOperation<number>[] = []
  const grants: LockGrant[] = []
  const schedule: string[] = []

  for (const slot of cluster.slots) cluster.start(slot)
  await Promise.all(cluster.slots.map((slot) => cluster.whenOpen(slot)))
  const t0 = now()
  const at = (): string => ((now() - t0) / 1000).toFixed(2)
  const stopAt = t0 + config.durationMs
  let stopping = false

  // A value is never written twice, so a read names the write it saw.
  let nextValue = 1
  /** The values written to each key (for cas: what to expect). */
  const written = new Map<string, number[]>(KEYS.map((k) => [k, []]))

  /** A member to send to: any not known dead (a paused or cut-off one too: clients cannot tell). */
  const target = (rnd: () => number): Slot | undefined => {
    const live = cluster.slots.filter((s) => !s.down && s.proc !== undefined)
    return live.length === 0 ? undefined : pick(rnd, live)
  }

  /** A history entry, filled in when the answer comes (a mutable KvOperation). */
  type Entry = { client: string; call: number; ret: number | undefined; op: KvOp<number>; result: number | boolean | undefined; member: string }
  const record = (client: string, op: KvOp<number>, slot: Slot): Entry => {
    const o: Entry = { client, call: now(), ret: undefined, op, result: undefined, member: slot.name }
    history.push(o)
    return o
  }

  const settle = (o: Entry, outcome: Outcome): boolean => {
    const type = counts.byType[o.op.type] ?? { ok: 0, total: 0, ms: [] }
    counts.byType[o.op.type] = type
    type.total++
    if (outcome.kind === 'ok') {
      o.ret = now()
      const r = outcome.answer.result
      o.result = o.op.type === 'put' || r === null ? undefined : (r as number | boolean)
      counts.ok++
      type.ok++
      type.ms.push(o.ret - o.call)
      return true
    }
    if (outcome.kind === 'error') counts.errors[outcome.code] = (counts.errors[outcome.code] ?? 0) + 1
    else if (outcome.kind === 'no-answer') counts.noAnswer++
    else counts.killed++
    return false
  }

  /** One key-value op of a client: what it sends, how it is recorded. */
  const kvOp = async (client: string, known: Map<string, number | undefined>, rnd: () => number, slot: Slot): Promise<boolean> => {
    const key = pick(rnd, KEYS)
    const roll = rnd()
    let op: KvOp<number>
    let command: Record<string, unknown>
    if (roll < 0.4) {
      op = { type: 'get', key }
      command = { op: 'get', key }
    } else if (roll < 0.6) {
      const value = nextValue++
      op = { type: 'put', key, value }
      command = { op: 'put', key, value }
    } else if (roll < 0.95) {
      const seen = written.get(key) ?? []
      const r = rnd()
      const expected = r < 0.6 ? known.get(key) : r < 0.85 && seen.length > 0 ? pick(rnd, seen.slice(-5)) : undefined
      const next = rnd() < 0.1 ? undefined : nextValue++
      op = { type: 'cas', key, expected, next }
      command = { op: 'cas', key, expected: expected ?? null, next: next ?? null }
    } else {
      op = { type: 'delete', key }
      command = { op: 'delete', key }
    }
    if (op.type === 'put') written.get(key)?.push(op.value)
    if (op.type === 'cas' && op.next !== undefined) written.get(key)?.push(op.next)
    const o = record(client, op, slot)
    const outcome = await cluster.request(slot, command, GROUP.deadlineMs + CLIENT_SLACK_MS)
    const ok = settle(o, outcome)
    if (ok) {
      if (op.type === 'get') known.set(key, o.result as number | undefined)
      else if (op.type === 'put') known.set(key, op.value)
      else if (op.type === 'cas' && o.result === true) known.set(key, op.next)
      else if (op.type === 'delete') known.set(key, undefined)
    }
    // A failed get left nothing behind; any other failure is indefinite: the next op goes under a new client ID.
    return ok || op.type === 'get'
  }

  const kvClient = async (n: number): Promise<void> => {
    const rnd = seeded(Math.floor(clientRnd() * 2 ** 31))
    let generation = 0
    const known = new Map<string, number | undefined>()
    while (now() < stopAt) {
      const slot = target(rnd)
      if (slot === undefined) {
        await sleep(20)
        continue
      }
      if (!(await kvOp(`c${n}.${generation}`, known, rnd, slot))) generation++
      await sleep(between(rnd, 10, 60))
    }
  }

  /** Members holding the lock now (granted, not answered yet). */
  const holders = new Map<LockGrant, Slot>()

  const lockClient = async (n: number): Promise<void> => {
    const rnd = seeded(Math.floor(clientRnd() * 2 ** 31))
    const client = `l${n}`
    while (now() < stopAt) {
      const slot = target(rnd)
      if (slot === undefined) {
        await sleep(20)
        continue
      }
      let grant: { client: string; token: number; from: number; to: number | undefined; lock: string } | undefined
      let holder: WorkerProc | undefined
      const holdMs = between(rnd, 50, 400)
      // A lock op ends by itself (the worker's deadlines, the hold, the ttl); the generous cap only matters when the
      // member stays paused, and then the grant stays open (to: still held), which is the strict reading.
      /** The holder stopped relying on the lock at `to` (its own report). */
      const close = (to: number): void => {
        if (grant === undefined || grant.to !== undefined) return
        grant.to = Math.max(grant.from, to)
        holder?.openGrants.delete(grant)
        holders.delete(grant)
      }
      const outcome = await cluster.request(slot, { op: 'lock', key: 'L', ttlMs: LOCK_TTL_MS, holdMs }, 4 * GROUP.deadlineMs + holdMs + 10_000, (w, r) => {
        if (r.event === 'done-with') return close(Number(r.to))
        grant = { client: `${client}@${w.slot.name}`, token: Number(r.token), from: Number(r.from), to: undefined, lock: 'L' }
        grants.push(grant)
        holders.set(grant, w.slot)
        holder = w
        w.openGrants.add(grant)
        counts.locks.granted++
      })
      if (grant !== undefined) holders.delete(grant)
      if (outcome.kind === 'ok' && grant !== undefined) {
        close(Number(outcome.answer.to))
        if (String(outcome.answer.why) === 'released') counts.locks.released++
        else counts.locks.lost++
      } else if (outcome.kind === 'error') {
        counts.locks.failed[outcome.code] = (counts.locks.failed[outcome.code] ?? 0) + 1
      }
      await sleep(between(rnd, 10, 100))
    }
  }

  const nemesis = async (): Promise<void> => {
    const timers = new Set<NodeJS.Timeout>()
    const later = (ms: number, fn: () => void): void => {
      const timer = setTimeout(() => {
        timers.delete(timer)
        began = now()
        if (!stopping) fn()
      }, ms)
      timers.add(timer)
    }
    let began = now()
    const note = (action: string): void => {
      const took = now() - began
      schedule.push(`${at()} ${action}${took > 100 ? ` (took ${took.toFixed(0)} ms)` : ''}`)
      const kind = action.split(' ')[0]
      counts.nemesis[kind] = (counts.nemesis[kind] ?? 0) + 1
    }
    /** Members with a process that was not killed (paused ones too). */
    const running = (): Slot[] => cluster.slots.filter((s) => !s.down && s.proc !== undefined)
    const restart = (victim: Slot): void => {
      cluster.start(victim)
      note(`restart ${victim.name}`)
    }
    if (actions.includes('loss')) {
      cluster.loss(true)
      note('loss on')
    }
    for (;;) {
      await sleep(between(nemesisRnd, 1000, 2000))
      if (now() >= stopAt) break
      const action = pick(nemesisRnd, actions)
      began = now()
      const unavailable = cluster.slots.filter((s) => s.down || s.paused).length
      const names = (side: number[]): string => side.map((i) => cluster.slots[i].name).join(',')
      switch (action) {
        case 'partition-halves': {
          const p = shuffled(nemesisRnd, 5)
          const sides = [p.slice(0, 3), p.slice(3)]
          cluster.partition(sides)
          note(`partition ${names(sides[0])} | ${names(sides[1])}`)
          break
        }
        case 'partition-bridge': {
          const p = shuffled(nemesisRnd, 5)
          const sides = [p.slice(0, 3), p.slice(2)]
          cluster.partition(sides)
          note(`bridge ${names(sides[0])} | ${names(sides[1])} (${cluster.slots[p[2]].name} in both)`)
          break
        }
        case 'isolate-leader':
        case 'isolate-holder':
        case 'isolate': {
          const chosen = action === 'isolate-leader' ? cluster.leader() : action === 'isolate-holder' ? [...holders.values()][0] : undefined
          const victim = chosen?.index ?? pick(nemesisRnd, victims)
          const others = shuffled(nemesisRnd, 5).filter((i) => i !== victim)
          const sides = [[victim, others[0]], others.slice(1)]
          cluster.partition(sides)
          note(`${action} ${names(sides[0])} | ${names(sides[1])}`)
          break
        }
        case 'heal':
          cluster.healNetwork()
          for (const s of cluster.slots) cluster.resume(s)
          note('heal')
          break
        case 'kill': {
          if (unavailable >= 2) break
          const victim = pick(nemesisRnd, running())
          const downMs = between(nemesisRnd, 500, 3000)
          note(`kill ${victim.name} (restart in ${downMs} ms)`)
          await cluster.kill(victim)
          later(downMs, () => restart(victim))
          break
        }
        case 'crash-majority': {
          const leader = cluster.leader()
          const first = leader !== undefined && running().includes(leader) ? [leader] : []
          const rest = shuffled(nemesisRnd, 5)
            .map((i) => cluster.slots[i])
            .filter((s) => !first.includes(s) && running().includes(s))
          const victims = [...first, ...rest].slice(0, 3)
          const downMs = victims.map(() => between(nemesisRnd, 500, 2000))
          note(`crash-majority ${victims.map((v, i) => `${v.name} (${downMs[i]} ms)`).join(', ')}`)
          await Promise.all(victims.map((v) => cluster.kill(v)))
          victims.forEach((v, i) => later(downMs[i], () => restart(v)))
          break
        }
        case 'pause':
        case 'pause-leader':
        case 'pause-holder': {
          if (unavailable >= 2) break
          const candidates = running().filter((s) => !s.paused)
          const pool = candidates.filter((s) => victims.includes(s.index))
          if (action === 'pause' && pool.length === 0) break // the victims are paused already
          const holder = [...holders.values()].find((s) => candidates.includes(s))
          const leader = cluster.leader()
          const victim =
            action === 'pause-holder' && holder !== undefined
              ? holder
              : action === 'pause-leader' && leader !== undefined && candidates.includes(leader)
                ? leader
                : pick(nemesisRnd, pool.length > 0 ? pool : candidates)
          const pauseMs = action === 'pause-holder' ? between(nemesisRnd, 1500, 3000) : between(nemesisRnd, 500, 3000)
          cluster.pause(victim)
          note(`${action} ${victim.name} (for ${pauseMs} ms)`)
          later(pauseMs, () => {
            cluster.resume(victim)
            note(`resume ${victim.name}`)
          })
          break
        }
        case 'loss':
          cluster.loss(!cluster.lossOn)
          note(`loss ${cluster.lossOn ? 'on' : 'off'}`)
          break
      }
    }
    for (const timer of timers) clearTimeout(timer)
  }

  const loops = [
    ...Array.from({ length: config.kvClients ?? 8 }, (_, i) => kvClient(i + 1)),
    ...Array.from({ length: config.lockClients ?? 2 }, (_, i) => lockClient(i + 1)),
  ]
  await nemesis()
  stopping = true
  // Heal everything (the clients finish the operation they are in); the group must come back: a write commits.
  const dropped = cluster.dropped()
  cluster.healAll()
  const healedAt = now()
  schedule.push(`${at()} heal all (restart the killed, resume the paused, network whole)`)
  await Promise.all(loops)
  log(`seed ${config.seed}: nemesis stopped at ${((healedAt - t0) / 1000).toFixed(2)} s, clients at ${at()} s`)
  await Promise.all(cluster.slots.map((slot) => cluster.whenOpen(slot)))
  const openAt = now()
  let recoveryMs = -1
  const recoveryEnd = now() + 30_000
  for (let i = 0; now() < recoveryEnd; i++) {
    const slot = cluster.slots[i % 5]
    const o = record('recovery', { type: 'put', key: KEYS[0], value: nextValue }, slot)
    const outcome = await cluster.request(slot, { op: 'put', key: KEYS[0], value: nextValue++ }, GROUP.deadlineMs + CLIENT_SLACK_MS)
    if (settle(o, outcome)) {
      recoveryMs = now() - openAt
      break
    }
  }
  // Every member reads every key (linearizable reads: part of the history); the locks' answers come in.
  if (recoveryMs >= 0) {
    await Promise.all(
      cluster.slots.map(async (slot) => {
        for (const key of KEYS) {
          const o = record(`final-${slot.name}`, { type: 'get', key }, slot)
          settle(o, await cluster.request(slot, { op: 'get', key }, GROUP.deadlineMs + CLIENT_SLACK_MS))
        }
      }),
    )
  }
  return {
    history,
    grants,
    counts,
    schedule,
    leadersByTerm: cluster.leadersByTerm,
    recoveryMs,
    dropped,
    crashes: cluster.crashes,
    stats: cluster.stats(),
    processes: cluster.procs.length,
  }
}
