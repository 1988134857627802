/**
 * The model layer's convergence property, on the simulated network (`helpers/model-sim.ts`): 3 to 7 devices write to
 * a last-writer-wins map, a keep-all map, a counter and a set while the network loses, duplicates and reorders
 * messages, partitions come and go, and devices restart with or without `persist` (losing the newest records or
 * not, under the same or a new endpoint ID). After healing, every replica shows byte-identical state (canonical
 * encodings) and every replica reported each change once: folding its change events from what it showed when it
 * opened gives what it shows at the end, and each event's `previous` is what the fold held.
 *
 * A failure prints fast-check's seed and path; replay it with `MODEL_PROPERTY_SEED=<seed> MODEL_PROPERTY_PATH=<path>`.
 * `MODEL_PROPERTY_RUNS` sets the number of runs (default 100).
 */
import { isDeepStrictEqual } from 'node:util'

import test from 'ava'
import fc from 'fast-check'

import type { ReplicatedCounter } from '../src/model/replicated-counter'
import type { ReplicatedMap } from '../src/model/replicated-map'
import type { ReplicatedSet } from '../src/model/replicated-set'
import { SimNet, type SimNode } from './helpers/model-sim'

type Op =
  | { t: 'write'; device: number; obj: number; key: number; value: number; del: boolean }
  | { t: 'partition'; groups: number[] }
  | { t: 'heal' }
  | { t: 'restart'; device: number; persist: boolean; keepId: boolean; loseTail: number }
  | { t: 'wait'; ms: number }

interface Scenario {
  devices: number
  seed: number
  loss: number
  duplicate: number
  maxDelayMs: number
  horizonMs: number
  ops: Op[]
}

/** One run of one device: its node, its objects, and the folds of their events. */
interface Run {
  node: SimNode
  lww: ReplicatedMap<number>
  mv: ReplicatedMap<number>
  counter: ReplicatedCounter
  set: ReplicatedSet<number>
  folds: { lww: Map<string, number>; mv: Map<string, number>; counter: number; set: Set<number> }
  problems: string[]
}

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record({
      t: fc.constant('write' as const),
      device: fc.nat({ max: 6 }),
      obj: fc.nat({ max: 3 }),
      key: fc.nat({ max: 5 }),
      value: fc.nat({ max: 3 }),
      del: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('partition' as const), groups: fc.array(fc.nat({ max: 2 }), { minLength: 7, maxLength: 7 }) }) },
  { weight: 1, arbitrary: fc.constant({ t: 'heal' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('restart' as const),
      device: fc.nat({ max: 6 }),
      persist: fc.boolean(),
      keepId: fc.boolean(),
      loseTail: fc.nat({ max: 2 }),
    }),
  },
  { weight: 5, arbitrary: fc.record({ t: fc.constant('wait' as const), ms: fc.integer({ min: 1, max: 1500 }) }) },
)

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  devices: fc.integer({ min: 3, max: 7 }),
  seed: fc.integer(),
  loss: fc.constantFrom(0, 0.05, 0.2),
  duplicate: fc.constantFrom(0, 0.1),
  maxDelayMs: fc.constantFrom(2, 30),
  horizonMs: fc.constantFrom(1000, 86_400_000),
  ops: fc.array(opArb, { minLength: 5, maxLength: 60, size: 'max' }),
})

const idOf = (device: number, run: number): string => (0x1000 + device * 0x100 + run).toString(16).padStart(16, '0')

async function open(net: SimNet, device: number, run: number, id: string, persist: boolean, horizonMs: number): Promise<Run> {
  const node = net.add(id, `D${device}`)
  const base = { digestIntervalMs: 200, tombstoneHorizonMs: horizonMs, ...(persist ? { persist: `disk-${device}` } : {}) }
  const [lww, mv, counter, set] = await Promise.all([
    node.layer.map<number>('cfg', base),
    node.layer.map<number>('multi', { ...base, conflict: 'keep-all' }),
    node.layer.counter('hits', base),
    node.layer.set<number>('tags', base),
  ])
  const r: Run = {
    node,
    lww,
    mv,
    counter,
    set,
    folds: { lww: new Map(lww.entries()), mv: new Map(mv.entries()), counter: counter.value, set: new Set(set.values()) },
    problems: [],
  }
  const foldMap = (which: 'lww' | 'mv') => (ev: { key: string; value: number | undefined; previous: number | undefined; deleted: boolean }) => {
    const fold = r.folds[which]
    if (!isDeepStrictEqual(fold.get(ev.key), ev.previous)) r.problems.push(`${which} ${ev.key}: previous ${ev.previous} but fold ${fold.get(ev.key)}`)
    if (ev.deleted) fold.delete(ev.key)
    else fold.set(ev.key, ev.value as number)
  }
  lww.onChange(foldMap('lww'))
  mv.onChange(foldMap('mv'))
  counter.onChange((ev) => {
    if (ev.previous !== r.folds.counter) r.problems.push(`counter previous ${ev.previous} but fold ${r.folds.counter}`)
    r.folds.counter = ev.value
  })
  set.onChange((ev) => {
    if (ev.added === r.folds.set.has(ev.value)) r.problems.push(`set ${ev.value} ${ev.added ? 'added twice' : 'removed twice'}`)
    if (ev.added) r.folds.set.add(ev.value)
    else r.folds.set.delete(ev.value)
  })
  void run
  return r
}

const totals = { runs: 0, writes: 0, delivered: 0, virtualMs: 0 }

async function play(s: Scenario): Promise<void> {
  totals.runs++
  const net = new SimNet(s.seed, { loss: s.loss, duplicate: s.duplicate, maxDelayMs: s.maxDelayMs })
  const runs: Run[] = []
  const runCount: number[] = []
  const persisted: boolean[] = []
  for (let d = 0; d < s.devices; d++) {
    runCount.push(0)
    persisted.push(false)
    runs.push(await open(net, d, 0, idOf(d, 0), false, s.horizonMs))
  }
  const ids = () => runs.map((r) => r.node.id)
  // An oracle for runs without restarts (a restart may legitimately lose unsent writes): what must hold at the end.
  const oracle = { restarted: false, counter: 0, written: new Map<string, Set<number>>(), deleted: new Set<string>() }
  for (const op of s.ops) {
    if (op.t === 'write') {
      totals.writes++
      const r = runs[op.device % s.devices]
      const key = `k${op.key}`
      const which = ['lww', 'mv', 'counter', 'set'][op.obj]
      if (op.obj === 2) oracle.counter += op.del ? -op.value : op.value + 1
      else if (op.del) oracle.deleted.add(`${which}/${op.obj === 3 ? op.key : key}`)
      else {
        const k = `${which}/${op.obj === 3 ? op.key : key}`
        oracle.written.set(k, (oracle.written.get(k) ?? new Set()).add(op.value))
      }
      if (op.obj === 0) op.del ? r.lww.delete(key) : r.lww.set(key, op.value)
      else if (op.obj === 1) op.del ? r.mv.delete(key) : r.mv.set(key, op.value)
      else if (op.obj === 2) r.counter.increment(op.del ? -op.value : op.value + 1)
      else op.del ? r.set.delete(op.key) : r.set.add(op.key)
    } else if (op.t === 'partition') {
      net.partition(new Map(ids().map((id, i) => [id, op.groups[i]])))
    } else if (op.t === 'heal') {
      net.heal()
    } else if (op.t === 'wait') {
      await net.runFor(op.ms)
    } else {
      const d = op.device % s.devices
      oracle.restarted = true
      const old = runs[d]
      net.crash(old.node)
      if (persisted[d]) net.loseTail(`disk-${d}`, op.loseTail)
      const run = ++runCount[d]
      const id = op.keepId ? old.node.id : idOf(d, run)
      persisted[d] = op.persist
      if (!op.persist) for (const key of [...net.disks.keys()]) if (key.startsWith(`disk-${d}/`)) net.disks.delete(key) // starts empty
      runs[d] = await open(net, d, run, id, op.persist, s.horizonMs)
    }
  }
  net.heal()
  const views = (r: Run) => [r.lww.canonical(), r.mv.canonical(), r.counter.canonical(), r.set.canonical()]
  const converged = () => {
    const first = views(runs[0])
    return runs.every((r) => views(r).every((v, i) => v.equals(first[i])))
  }
  const ok = await net.runUntilTrue(converged, 120_000)
  totals.delivered += net.delivered
  totals.virtualMs += net.now
  const problems = runs.flatMap((r, d) => r.problems.map((p) => `D${d}: ${p}`))
  for (const [d, r] of runs.entries()) {
    if (!isDeepStrictEqual(r.folds.lww, new Map(r.lww.entries()))) problems.push(`D${d}: lww events do not fold to the state`)
    if (!isDeepStrictEqual(r.folds.mv, new Map(r.mv.entries()))) problems.push(`D${d}: keep-all events do not fold to the state`)
    if (r.folds.counter !== r.counter.value) problems.push(`D${d}: counter events fold to ${r.folds.counter}, value ${r.counter.value}`)
    if (!isDeepStrictEqual(r.folds.set, new Set(r.set.values()))) problems.push(`D${d}: set events do not fold to the state`)
  }
  if (!oracle.restarted) {
    // Nothing is lost: the counter holds every increment; a key or element never deleted holds one of its writes.
    for (const [d, r] of runs.entries()) {
      if (r.counter.value !== oracle.counter) problems.push(`D${d}: counter ${r.counter.value}, increments sum to ${oracle.counter}`)
      for (const [k, values] of oracle.written) {
        if (oracle.deleted.has(k)) continue
        const [which, key] = k.split('/')
        if (which === 'set' && !r.set.has(Number(key))) problems.push(`D${d}: set lost ${key}`)
        if (which === 'lww' && !values.has(r.lww.get(key) as number)) problems.push(`D${d}: lww ${key} is ${r.lww.get(key)}, written ${[...values]}`)
        if (which === 'mv' && !values.has(r.mv.get(key) as number)) problems.push(`D${d}: keep-all ${key} is ${r.mv.get(key)}, written ${[...values]}`)
      }
    }
  }
  if (net.errors.length > 0) problems.push(`errors: ${net.errors.map(String).join('; ')}`)
  for (const r of runs) await Promise.all([r.lww.close(), r.mv.close(), r.counter.close(), r.set.close()])
  if (!ok) {
    const state = runs.map((r, d) => `D${d} lww=${JSON.stringify(r.lww.toJSON())} mv=${JSON.stringify(r.mv.toJSON())} n=${r.counter.value} set=${JSON.stringify(r.set.toJSON())}`)
    throw new Error(`not converged after 120 s (virtual):\n${state.join('\n')}`)
  }
  if (problems.length > 0) throw new Error(problems.join('\n'))
}

test('replicas converge to byte-identical state and report each change once (property, simulated network)', async (t) => {
  const seed = process.env.MODEL_PROPERTY_SEED === undefined ? undefined : Number(process.env.MODEL_PROPERTY_SEED)
  const path = process.env.MODEL_PROPERTY_PATH
  const numRuns = Number(process.env.MODEL_PROPERTY_RUNS ?? 100)
  await fc.assert(fc.asyncProperty(scenarioArb, play), { numRuns, seed, path, endOnFailure: path !== undefined })
  t.log(`${totals.runs} runs: ${totals.writes} writes, ${totals.delivered} messages delivered, ${Math.round(totals.virtualMs / 1000)} s of virtual time`)
  t.true(totals.delivered > totals.runs)
})
