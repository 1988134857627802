/**
 * The linearizability checker on random histories (fast-check): histories built from a sequential execution whose
 * operations are spread into intervals around their linearization points are linearizable; the same with one read
 * answering a value that cannot be current anywhere in its interval are not; on small arbitrary histories the checker
 * agrees with a brute-force search over all orders (over the whole store, so this also checks the per-key split).
 * And its speed on a long history of 5 clients.
 */
import { isDeepStrictEqual } from 'node:util'

import test from 'ava'
import fc from 'fast-check'

import { type PlannedOp, clientsHistory, execute } from './helpers/kv-history-gen'
import { type KvOp, type KvOperation, checkLinearizability, isPending } from './helpers/linearizability'
import { seeded } from './helpers/seeded-random'

/** A plan: operation i is linearized at 10 i + 5, called up to 40 before and answered up to 40 after. */
const planArb = fc
  .array(
    fc.record({
      client: fc.integer({ min: 0, max: 4 }),
      key: fc.constantFrom('a', 'b', 'c'),
      kind: fc.constantFrom('put', 'put', 'get', 'get', 'get', 'cas', 'cas', 'delete'),
      value: fc.integer({ min: 1, max: 4 }),
      expected: fc.integer({ min: 0, max: 4 }),
      before: fc.integer({ min: 0, max: 40 }),
      after: fc.integer({ min: 0, max: 40 }),
      unanswered: fc.integer({ min: 0, max: 9 }).map((n) => n === 0),
      applied: fc.boolean(),
    }),
    { minLength: 1, maxLength: 60 },
  )
  .map((rows) =>
    rows.map((r, i): PlannedOp => {
      const op: KvOp<number> =
        r.kind === 'put'
          ? { type: 'put', key: r.key, value: r.value }
          : r.kind === 'get'
            ? { type: 'get', key: r.key }
            : r.kind === 'cas'
              ? { type: 'cas', key: r.key, expected: r.expected === 0 ? undefined : r.expected, next: r.value }
              : { type: 'delete', key: r.key }
      const lin = 10 * i + 5
      return { client: r.client, op, call: lin - r.before, lin, ret: r.unanswered ? undefined : lin + r.after, applied: !r.unanswered || r.applied }
    }),
  )

test('a sequential execution spread into overlapping intervals is linearizable', (t) => {
  fc.assert(
    fc.property(planArb, (plan) => {
      const history = execute(plan)
      for (const scan of [true, false]) {
        const r = checkLinearizability(history, { scan })
        if (r.ok !== true) throw new Error(`scan ${scan}: ${JSON.stringify(r)}`)
      }
    }),
    { numRuns: 300 },
  )
  t.pass()
})

test('one read answering a value never current in its interval makes it non-linearizable', (t) => {
  let stale = 0
  fc.assert(
    fc.property(planArb, fc.nat(), fc.nat(), (plan, which, pick) => {
      const history = execute(plan)
      const gets = history.flatMap((o, i) => (o.op.type === 'get' && !isPending(o) ? [i] : []))
      fc.pre(gets.length > 0)
      const g = gets[which % gets.length]
      const values = impossibleValues(history, g, [1, 2, 3, 4, 99])
      const value = values[pick % values.length]
      if (value !== 99) stale++
      const mutated = history.map((o, i) => (i === g ? { ...o, result: value } : o))
      for (const scan of [true, false]) {
        const r = checkLinearizability(mutated, { scan })
        if (r.ok !== false) throw new Error(`scan ${scan}: get #${g} answering ${value} passed: ${JSON.stringify(mutated)}`)
        if (r.key !== history[g].op.key) throw new Error(`reported key ${r.key}, mutated ${history[g].op.key}`)
        if (checkLinearizability(r.history, { scan }).ok !== false) throw new Error(`scan ${scan}: the failing part passes alone`)
      }
    }),
    { numRuns: 300 },
  )
  t.true(stale > 30, `stale reads (of a value overwritten before the read) tried: ${stale}`)
})

/**
 * Values that get `g` cannot answer in any linearization: every operation that may write the value and could come
 * before the read is certainly overwritten before the read was called (a never-written value qualifies at once).
 */
function impossibleValues(history: readonly KvOperation<number>[], g: number, domain: readonly number[]): number[] {
  const read = history[g]
  const readRet = read.ret as number
  const mayWrite = (o: KvOperation<number>, v: number) =>
    (o.op.type === 'put' && o.op.value === v) || (o.op.type === 'cas' && o.op.next === v && (isPending(o) || o.result === true))
  const overwrites = (o: KvOperation<number>, v: number) =>
    !isPending(o) &&
    (o.ret as number) < read.call &&
    ((o.op.type === 'put' && o.op.value !== v) || (o.op.type === 'cas' && o.result === true && o.op.next !== v) || o.op.type === 'delete')
  return domain.filter((v) => {
    if (v === read.result) return false
    const same = history.filter((o) => o.op.key === read.op.key)
    const writers = same.filter((o) => mayWrite(o, v) && o.call <= readRet)
    return writers.every((w) => !isPending(w) && same.some((o) => overwrites(o, v) && (w.ret as number) < o.call))
  })
}

/** Small arbitrary histories: random intervals and random answers, on two keys; 1 in `unansweredOneIn` unanswered. */
const smallHistoryArb = (unansweredOneIn: number, maxLength: number) => fc.array(
  fc
    .record({
      client: fc.integer({ min: 0, max: 3 }),
      key: fc.constantFrom('a', 'b'),
      kind: fc.constantFrom('put', 'get', 'cas', 'delete'),
      value: fc.constantFrom(1, 2, undefined),
      expected: fc.constantFrom(1, 2, undefined),
      answer: fc.constantFrom(1, 2, undefined),
      flag: fc.constantFrom(true, false, undefined),
      call: fc.integer({ min: 0, max: 20 }),
      length: fc.integer({ min: 0, max: 10 }),
      unanswered: fc.integer({ min: 1, max: unansweredOneIn }).map((n) => n === 1),
    })
    .map((r): KvOperation<number | undefined> => {
      const op: KvOp<number | undefined> =
        r.kind === 'put'
          ? { type: 'put', key: r.key, value: r.value ?? 1 }
          : r.kind === 'get'
            ? { type: 'get', key: r.key }
            : r.kind === 'cas'
              ? { type: 'cas', key: r.key, expected: r.expected, next: r.value }
              : { type: 'delete', key: r.key }
      const result = r.kind === 'get' ? r.answer : r.kind === 'cas' ? (r.flag ?? true) : r.kind === 'delete' ? r.flag : undefined
      return { client: r.client, call: r.call, ret: r.unanswered ? undefined : r.call + r.length, op, result }
    }),
  { maxLength },
)

for (const [unansweredOneIn, maxLength, runs] of [
  [6, 7, 2000],
  [2, 9, 1000],
] as const) {
  const title = `on small arbitrary histories (1 in ${unansweredOneIn} unanswered) the checker agrees with a brute-force search`
  test(title, (t) => {
    const seen = { yes: 0, no: 0 }
    fc.assert(
      fc.property(smallHistoryArb(unansweredOneIn, maxLength), (history) => {
        const expected = bruteForce(history)
        seen[expected ? 'yes' : 'no']++
        for (const scan of [true, false]) {
          const r = checkLinearizability(history, { scan })
          if (r.ok !== expected) throw new Error(`checker (scan ${scan}) ${String(r.ok)}, brute force ${expected}`)
          if (r.ok === false && bruteForce(r.history as KvOperation<number | undefined>[])) {
            throw new Error(`scan ${scan}: the failing part is linearizable alone`)
          }
        }
      }),
      { numRuns: runs },
    )
    t.true(seen.yes > runs / 10 && seen.no > runs / 10, JSON.stringify(seen))
  })
}

/**
 * Whether some order of the answered operations (and any of the unanswered ones) respects real time (no operation
 * after one that was called after it returned) and the store's sequential specification, trying every order.
 */
function bruteForce(history: readonly KvOperation<number | undefined>[]): boolean {
  const ops = history.filter((o) => !(o.op.type === 'get' && isPending(o)))
  const done = ops.map(() => false)
  const ret = (o: KvOperation<unknown>) => (isPending(o) ? Infinity : (o.ret as number))
  const go = (store: ReadonlyMap<string, unknown>): boolean => {
    if (ops.every((o, i) => done[i] || isPending(o))) return true
    const first = Math.min(...ops.map((o, i) => (done[i] ? Infinity : ret(o))))
    for (let i = 0; i < ops.length; i++) {
      if (done[i] || ops[i].call > first) continue
      const after = apply(store, ops[i])
      if (after === undefined) continue
      done[i] = true
      if (go(after)) return true
      done[i] = false
    }
    return false
  }
  return go(new Map())
}

/** The store after `o`, or undefined when `o`'s answer is impossible in `store`. */
function apply(store: ReadonlyMap<string, unknown>, o: KvOperation<unknown>): ReadonlyMap<string, unknown> | undefined {
  const answered = !isPending(o)
  const now = store.get(o.op.key)
  const next = new Map(store)
  const set = (v: unknown) => (v === undefined ? next.delete(o.op.key) : next.set(o.op.key, v))
  switch (o.op.type) {
    case 'put':
      set(o.op.value)
      return next
    case 'get':
      return isDeepStrictEqual(now, o.result) ? store : undefined
    case 'cas': {
      const swaps = isDeepStrictEqual(now, o.op.expected)
      if (answered && o.result !== swaps) return undefined
      if (swaps) set(o.op.next)
      return next
    }
    case 'delete':
      if (answered && o.result !== undefined && o.result !== store.has(o.op.key)) return undefined
      set(undefined)
      return next
  }
}

test('5 clients x 2000 operations on 5 keys check within a bounded search effort, and so does a stale read in them', (t) => {
  const history = clientsHistory(seeded(10), { clients: 5, opsPerClient: 2000, keys: 5 })
  const r = checkLinearizability(history)
  t.is(r.ok, true)
  const unanswered = history.filter(isPending).length
  t.log(`linearizable: ${history.length} operations (${unanswered} unanswered), ${r.stats.steps} steps, ${r.stats.ms.toFixed(0)} ms`)
  // Search effort, not time (the machine is shared): 14 362 steps on this seeded history.
  t.true(r.stats.steps < 100_000, `${r.stats.steps} steps`)

  let g = 7999 // client 3's last answered get that can be made stale (operations are by client: 2000 each)
  let stale: number[] = []
  for (; g > 0; g--) {
    if (history[g].op.type !== 'get' || isPending(history[g])) continue
    stale = impossibleValues(history, g, [1, 2, 3, 4, 5])
    if (stale.length > 0) break
  }
  const mutated = history.map((o, i) => (i === g ? { ...o, result: stale[0] } : o))
  const started = performance.now()
  const bad = checkLinearizability(mutated)
  const ms = performance.now() - started
  if (bad.ok !== false) return t.fail(JSON.stringify(bad))
  t.is(bad.key, history[g].op.key)
  t.regex(bad.explanation, new RegExp(`#${g} client 3 get\\(".*"\\) -> ${stale[0]} .* cannot have seen ${stale[0]}`))
  t.log(`stale read found and explained in ${ms.toFixed(0)} ms (${bad.stats.steps} steps)`)
  t.true(bad.stats.steps < 100_000, `${bad.stats.steps} steps`)
})

test('the search alone finds a violation in 5 clients x 2000 operations within a bounded search effort', (t) => {
  const history = clientsHistory(seeded(12), { clients: 5, opsPerClient: 2000, keys: 5, unanswered: 0 })
  let g = 7999
  while (history[g].op.type !== 'get') g--
  const mutated = history.map((o, i) => (i === g ? { ...o, result: 99 } : o))
  const started = performance.now()
  const bad = checkLinearizability(mutated, { scan: false })
  const ms = performance.now() - started
  if (bad.ok !== false) return t.fail(JSON.stringify(bad))
  t.regex(bad.explanation, new RegExp(`#${g} client 3 get\\(".*"\\) -> 99 .*: (the value was .*|the key was absent), not 99`))
  t.log(`found in ${bad.stats.ms.toFixed(0)} ms (${bad.stats.steps} steps), explained in ${(ms - bad.stats.ms).toFixed(0)} ms more`)
  t.true(bad.stats.steps < 100_000, `${bad.stats.steps} steps`) // 16 428 on this seeded history
})

test('5 clients with 5 % unanswered operations writing unique values on one hot key check within a bounded search effort', (t) => {
  const history = clientsHistory(seeded(11), { clients: 5, opsPerClient: 600, keys: 1, unique: true, unanswered: 0.05 })
  const r = checkLinearizability(history)
  t.is(r.ok, true, JSON.stringify(r))
  t.log(`${history.length} operations, ${history.filter(isPending).length} unanswered: ${r.stats.steps} steps, ${r.stats.ms.toFixed(0)} ms`)
  t.true(r.stats.steps < 2_000_000, `${r.stats.steps} steps`) // 344 226 on this seeded history
})
