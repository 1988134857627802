/**
 * The model layer across real network stacks: four test hosts in network namespaces on one bridge (helpers/netns.ts),
 * each running an endpoint with the map `devices` open in its own process (fixtures/model-worker.ts).
 *
 * - A partition: h4 is cut off from the others (the bridge drops every frame from and to it, both ways) for 10 s,
 *   both sides write meanwhile (their own device records, readings, and the same key on both sides), the cut
 *   heals, and all four replicas reach equal state hashes. The time from heal to convergence is logged; the
 *   assertion's deadline is looser than the 2 s target, so a loaded machine does not fail it (the benchmark reports
 *   the target).
 * - A crash: h4 runs with `persist`; it is killed with SIGKILL, the others write while it is dead, and it is started
 *   again in the same namespace with the same directory: it opens with exactly its old state (before any syncing),
 *   converges, and pulls only what it missed, not the whole map.
 *
 * Discovery and digests run at their defaults (announce every second, peers expire after 3 s, a digest every
 * second), so the numbers logged are those of a default deployment. Needs root, iproute2 and nftables; otherwise
 * every test is skipped with the reason in its title. Serial.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import type { EndpointOptions, MapOptions } from '../index'
import {
  cutDropped,
  cutOff,
  healCuts,
  type Host,
  netnsTests,
  type NsProcess,
  type NsRecord,
  spawnIn,
  type TestNet,
  useNet,
} from './helpers/netns'

const { test, title } = netnsTests('model-netns.spec.ts')

const TEST_TIMEOUT_MS = 120_000
/** How long the partition lasts (the scenario, not a wait for something). */
const OUTAGE_MS = 10_000
/** The target from heal to convergence is 2 s; the assertion allows more, for a loaded machine. */
const CONVERGE_DEADLINE_MS = 8_000

/** Starts the worker of host `h<i>` (endpoint ID `id` when given: a restart under the same identity). */
function start(net: TestNet, host: Host, mapOptions: MapOptions = {}, id?: string): NsProcess {
  const options: EndpointOptions = {
    name: `h${host.index}`,
    ...(id === undefined ? {} : { id }),
    networkId: net.networkId,
    interface: host.ip,
    group: '239.192.137.1:37320',
    maxDatagramSize: 1472,
    env: false,
  }
  return spawnIn(net, host, 'model-worker.ts', { options, map: 'devices', mapOptions })
}

const upEvent = (name: string) => (r: NsRecord) => r.event === 'peer-up' && r.name === name
const downEvent = (name: string) => (r: NsRecord) => r.event === 'peer-down' && r.name === name

/** Waits until each process has seen every other one come up. */
async function meshed(procs: NsProcess[]): Promise<void> {
  for (const p of procs) {
    for (const other of procs) if (other !== p) await p.waitFor(upEvent(`h${other.host.index}`), 20_000)
  }
}

/** The state hash a worker reported last (its `open` record, then each `state`). */
function lastState(p: NsProcess): NsRecord | undefined {
  for (let i = p.records.length - 1; i >= 0; i--) {
    const r = p.records[i]
    if (r.event === 'state' || r.event === 'open') return r
  }
  return undefined
}

/** True when every worker's last reported state hash is the same (and `extra` holds for each last state). */
function equalStates(procs: NsProcess[], extra: (state: NsRecord) => boolean = () => true): boolean {
  const states = procs.map(lastState)
  return states.every((s) => s !== undefined && s.hash === states[0]?.hash && extra(s))
}

/**
 * Resolves with `Date.now()` at the moment `condition()` first holds: checked now and whenever any of `procs`
 * printed something (the workers print a `state` record on every change). Rejects after `timeoutMs`.
 */
function whenAll(procs: NsProcess[], condition: () => boolean, timeoutMs: number, what: string): Promise<number> {
  return new Promise((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined
    const finish = (err?: Error): void => {
      clearTimeout(timer)
      for (const p of procs) p.proc.stdout.off('data', check)
      if (err === undefined) resolve(Date.now())
      else reject(err)
    }
    // The helper's line reader is an earlier 'data' listener: the records of this chunk are in already.
    const check = (): void => {
      if (condition()) finish()
    }
    const describe = () =>
      procs.map((p) => `h${p.host.index}: ${String(lastState(p)?.hash).slice(0, 8)} (${String(lastState(p)?.size)})`).join(', ')
    timer = setTimeout(() => finish(new Error(`${what}: not within ${timeoutMs} ms; ${describe()}`)), timeoutMs)
    for (const p of procs) p.proc.stdout.on('data', check)
    check()
  })
}

let nextId = 1

/** Sends a command with a fresh `id` and resolves with the worker's answer to it. */
async function ask(p: NsProcess, command: Record<string, unknown>, timeoutMs = 15_000): Promise<NsRecord> {
  const id = nextId++
  p.command({ ...command, id })
  const answer = await p.waitFor((r) => r.id === id, timeoutMs)
  if (answer.event === 'error') throw new Error(`h${p.host.index}: ${JSON.stringify(answer)}`)
  return answer
}

const write = (p: NsProcess, entries: [string, unknown][]) => ask(p, { op: 'set', entries })
const stats = async (p: NsProcess) => (await ask(p, { op: 'stats' })).stats as Record<string, number>
const dump = async (p: NsProcess) => (await ask(p, { op: 'dump' })).value as Record<string, unknown>

/** Own device record of host `h<i>`. */
const device = (i: number, temp: number, fw = '1.0') => ({ online: true, temp, fw, host: `h${i}` })

const PARTITION = `a host cut off for ${OUTAGE_MS / 1000} s with writes on both sides: all 4 converge after heal`
test(title(PARTITION), async (t) => {
  t.timeout(TEST_TIMEOUT_MS)
  const net = useNet(t, 4)
  const procs = net.hosts.map((host) => start(net, host))
  const [h1, h2, h3, h4] = procs
  await meshed(procs)
  await Promise.all(procs.map((p, i) => write(p, [[`dev-h${i + 1}`, device(i + 1, 20)]])))
  await whenAll(procs, () => equalStates(procs, (s) => s.size === 4), 20_000, 'first convergence')

  cutOff(net, h4.host)
  const cutAt = Date.now()
  // Both sides write through the outage: own records, readings, and one key on both sides (last writer wins).
  let round = 0
  while (Date.now() - cutAt < OUTAGE_MS) {
    round++
    await Promise.all([
      write(h1, [['dev-h1', device(1, 20 + round)], [`reading-h1-${round}`, round]]),
      write(h2, [['dev-h2', device(2, 20 + round)], ['config', { from: 'h2', round }]]),
      write(h3, [['dev-h3', device(3, 20 + round)]]),
      write(h4, [['dev-h4', device(4, 40 + round)], [`reading-h4-${round}`, round], ['config', { from: 'h4', round }]]),
    ])
    await new Promise((resolve) => setTimeout(resolve, 500)) // pacing of the writes during the outage
  }
  const majority = [h1, h2, h3]
  await whenAll(majority, () => equalStates(majority), 10_000, 'h1..h3 converge among themselves during the cut')
  t.not(lastState(h4)?.hash, lastState(h1)?.hash, 'the sides differ before the heal')
  const dropped = cutDropped(net)
  t.true(dropped > 0, 'the bridge dropped frames')
  const downs = procs.map((p) => p.records.filter((r) => r.event === 'peer-down').length)

  const marks = procs.map((p) => p.records.length)
  healCuts(net)
  const healAt = Date.now()
  // When each side sees the other again (h4: its first peer back; the others: h4), for the log.
  const seen = procs.map((p, i) =>
    p
      .waitFor((r) => r.event === 'peer-up' && (p === h4 || r.name === 'h4') && p.records.indexOf(r) >= marks[i], CONVERGE_DEADLINE_MS)
      .then(
        () => `${Date.now() - healAt}`,
        () => 'none',
      ),
  )
  const convergedAt = await whenAll(procs, () => equalStates(procs), CONVERGE_DEADLINE_MS, 'convergence after heal')
  const ms = convergedAt - healAt
  const lastChange = Math.max(...procs.map((p) => Number(lastState(p)?.at)))
  const rediscovered = downs.every((n) => n > 0) ? (await Promise.all(seen)).join('/') : 'no peer went down'
  t.log(
    `outage ${OUTAGE_MS} ms (${round} rounds of writes, ${dropped} frames dropped, peer-downs ${downs.join('/')}); ` +
      `heal to equal state hashes: ${ms} ms (last change applied ${lastChange - healAt} ms after heal; ` +
      `peer-up after heal on h1/h2/h3/h4 at ${rediscovered} ms); target 2000 ms`,
  )
  t.true(ms <= CONVERGE_DEADLINE_MS)

  const state = await dump(h3)
  t.deepEqual(await dump(h4), state)
  t.like(state, {
    'dev-h1': device(1, 20 + round),
    'dev-h4': device(4, 40 + round),
    [`reading-h1-${round}`]: round,
    [`reading-h4-${round}`]: round,
  })
  t.true(['h2', 'h4'].includes((state.config as { from: string }).from), 'one of the concurrent writes won')
  for (const p of procs) t.like(await ask(p, { op: 'synced', timeoutMs: 10_000 }), { ok: true })
  const s4 = await stats(h4)
  const s1 = await stats(h1)
  t.log(
    `h4: WANTs ${s4.modelWantsSent}, entries pulled ${s4.modelEntriesPulled}, digests ${s4.modelDigestsSent}, ` +
      `send failures ${s4.modelSendFailures}; h1: WANTs ${s1.modelWantsSent}, entries pulled ${s1.modelEntriesPulled}`,
  )
  for (const p of procs) t.is((await stats(p)).modelMalformed, 0)
})

const CRASH = 'a member with persist killed (SIGKILL) and restarted: back with its old state, converges, pulls only the missed writes'
test(title(CRASH), async (t) => {
  t.timeout(TEST_TIMEOUT_MS)
  const dir = await mkdtemp(join(tmpdir(), 'glue-model-netns-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  const net = useNet(t, 4)
  const persist = { persist: { dir, fsync: 'always' as const } }
  const [h1, h2, h3] = net.hosts.slice(0, 3).map((host) => start(net, host))
  let h4 = start(net, net.hosts[3], persist)
  const ready = await h4.waitFor((r) => r.event === 'ready')
  await meshed([h1, h2, h3, h4])
  const PER_HOST = 50
  await Promise.all(
    [h1, h2, h3, h4].map((p, i) =>
      write(
        p,
        Array.from({ length: PER_HOST }, (_, k): [string, unknown] => [`dev-h${i + 1}-${k}`, device(i + 1, k)]),
      ),
    ),
  )
  const TOTAL = 4 * PER_HOST
  await whenAll([h1, h2, h3, h4], () => equalStates([h1, h2, h3, h4], (s) => s.size === TOTAL), 20_000, 'first convergence')
  const before = lastState(h4)?.hash
  await ask(h4, { op: 'flushed' }) // every change it applied is in its store (the kernel's page cache survives SIGKILL)

  h4.proc.kill('SIGKILL')
  t.is(await h4.exited, 'SIGKILL')
  // While h4 is dead: updates of 10 records, 2 new ones, a delete (13 entries, tombstone included).
  await write(h1, Array.from({ length: 5 }, (_, k): [string, unknown] => [`dev-h4-${k}`, device(4, -k, '2.0')]))
  await write(h2, Array.from({ length: 5 }, (_, k): [string, unknown] => [`dev-h2-${k}`, device(2, -k, '2.0')]))
  await write(h3, [['dev-new-1', device(3, 1)], ['dev-new-2', device(3, 2)]])
  await ask(h3, { op: 'delete', keys: ['dev-h1-0'] })
  const others = [h1, h2, h3]
  await whenAll(others, () => equalStates(others, (s) => s.size === TOTAL + 1), 20_000, 'h1..h3 converge')
  const target = lastState(h1)?.hash
  const marks = new Map(others.map((p) => [p, p.records.length]))

  h4 = start(net, net.hosts[3], persist, ready.id as string)
  const opened = await h4.waitFor((r) => r.event === 'open')
  t.is(opened.hash, before, 'opened with exactly the state it had when killed, before any syncing')
  t.is(opened.size, TOTAL)
  const restartedAt = Date.now()
  const all = [h1, h2, h3, h4]
  const convergedAt = await whenAll(all, () => equalStates(all) && lastState(h4)?.hash === target, 20_000, 'h4 converges')
  for (const p of others) await p.waitFor((r) => upEvent('h4')(r) && p.records.indexOf(r) >= (marks.get(p) ?? 0), 20_000)
  for (const p of others) await h4.waitFor(upEvent(`h${p.host.index}`), 20_000)
  t.like(await ask(h4, { op: 'synced', timeoutMs: 10_000 }), { ok: true })
  const s4 = await stats(h4)
  t.log(
    `restarted h4: open to equal state hashes ${convergedAt - restartedAt} ms; WANTs ${s4.modelWantsSent}, ` +
      `entries pulled ${s4.modelEntriesPulled} (13 missed, ${TOTAL + 1} in the map), bucket exchanges ${s4.modelBucketExchanges}`,
  )
  t.true(s4.modelEntriesPulled >= 13, 'what it missed came in PUSHes')
  t.true(s4.modelEntriesPulled <= 30, `not a full transfer: pulled ${s4.modelEntriesPulled} of ${TOTAL + 1}`)
  const state = await dump(h4)
  t.deepEqual(state, await dump(h1))
  t.like(state, { 'dev-h4-4': device(4, -4, '2.0'), 'dev-h2-0': device(2, 0, '2.0'), 'dev-new-2': device(3, 2) })
  t.false('dev-h1-0' in state)
  // A write of the restarted member reaches the others too.
  await write(h4, [['dev-h4-0', device(4, 100, '3.0')]])
  await whenAll(all, () => equalStates(all) && lastState(h1)?.hash !== target, 10_000, 'the restarted member writes')
  t.like(await dump(h2), { 'dev-h4-0': device(4, 100, '3.0') })
  // downEvent: h1..h3 saw h4 go (killed: expired, or replaced by the restart).
  for (const p of others) t.truthy(p.records.find(downEvent('h4')))
})
