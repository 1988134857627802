/**
 * A linearizability checker for histories of a key-value store (put/get/cas/delete), and a checker for lock grants
 * with fencing tokens, for the consensus tests (issue 10).
 *
 * Why our own: no maintained JavaScript implementation exists on npm (nothing under linearizability, knossos, jepsen
 * or porcupine but unrelated packages); the well-kept checkers are Porcupine (Go) and Knossos (Clojure), which would
 * mean a second toolchain and serialising histories across a process boundary in every test run. The algorithm is
 * small, so this is a port of Porcupine's design with its own tests (`linearizability*.spec.ts`):
 *
 * - Wing & Gong's backtracking search with Lowe's memoisation over a linked list of call/return entries
 *   (`linearizability/wgl.ts`);
 * - P-compositionality: a key-value history is linearizable iff each key's sub-history is (linearizability is
 *   local, Herlihy & Wing), so each key is checked on its own against a register model (`linearizability/register.ts`);
 * - operations without an answer (timed out, QuorumLostError: indefinite, so kept) may take effect at any time after
 *   their call, or never; an unanswered get is dropped;
 * - before searching, a scan finds reads no linearization can explain (stale, lost write, never written) in
 *   O(n log n) (`linearizability/quick.ts`), also where the search would run out of budget;
 * - a failure is explained by the operations that prove it, or by the shortest failing prefix and where the search
 *   got stuck in it (`linearizability/explain.ts`);
 * - a time and step budget: `{ ok: 'unknown' }` rather than hanging on a history too hard to decide.
 *
 * Unanswered operations keep the search fast with a few rules (`wgl.ts`), but many unanswered writes on one key with
 * many concurrent clients stay hard (for every checker: Knossos and Porcupine too). So: have every put and cas write
 * a value of its own (a read then names its write), spread clients over several keys, and count `'unknown'` as a
 * failed run, never as a pass. Measured (`linearizability-property.spec.ts`): 5 clients x 2000 operations on 5 keys
 * with 1 % unanswered in about 50 ms; 5 clients x 600 on one key with 5 % unanswered in about 250 ms.
 *
 * Record histories with `HistoryRecorder` (`linearizability/recorder.ts`), with one clock for all clients.
 */
import { explainFailure, explainImpossibleRead } from './linearizability/explain'
import { type KvOperation, validateHistory } from './linearizability/history'
import { impossibleRead } from './linearizability/quick'
import { type Equals, registerInput } from './linearizability/register'
import { type Budget, search } from './linearizability/wgl'

export { type KvOp, type KvOperation, isPending, showOperation } from './linearizability/history'
export { type Equals, canonical } from './linearizability/register'
export { HistoryRecorder, type KvClient, type PendingOperation } from './linearizability/recorder'
export { type LockCheck, type LockGrant, checkLocks } from './linearizability/locks'

export interface CheckOptions {
  /** Give up with `{ ok: 'unknown' }` after this long (default 10 000 ms). */
  readonly timeoutMs?: number
  /** Give up with `{ ok: 'unknown' }` after this many search steps over all keys (default: no limit). */
  readonly maxSteps?: number
  /** Value equality (default: deep equality of JSON-able values). */
  readonly equals?: Equals
  /** Time allowed for explaining a failure, on top of the check (default: `timeoutMs`). */
  readonly explainTimeoutMs?: number
  /** Scan for impossible reads before searching (default true; false tests the search alone). */
  readonly scan?: boolean
}

/** Effort spent: keys and operations checked, search steps, wall time. */
export interface CheckStats {
  readonly keys: number
  readonly operations: number
  readonly steps: number
  readonly ms: number
}

export type CheckResult =
  | { readonly ok: true; readonly stats: CheckStats }
  | {
      readonly ok: false
      /** The first key (in order of first appearance) whose sub-history is not linearizable. */
      readonly key: string
      /** What went wrong, for a test's failure message. */
      readonly explanation: string
      /**
       * A failing part of that key's sub-history: the operations proving an impossible read, or the shortest failing
       * prefix (operations answered after its end made unanswered).
       */
      readonly history: KvOperation<unknown>[]
      readonly stats: CheckStats
    }
  | { readonly ok: 'unknown'; readonly key: string; readonly explanation: string; readonly stats: CheckStats }

/** Whether `history` is linearizable with respect to a key-value store whose keys start absent. */
export function checkLinearizability<V>(history: readonly KvOperation<V>[], options: CheckOptions = {}): CheckResult {
  validateHistory(history)
  const started = performance.now()
  const timeoutMs = options.timeoutMs ?? 10_000
  const maxSteps = options.maxSteps ?? Infinity
  const budget: Budget = { deadline: started + timeoutMs, steps: maxSteps, used: 0 }
  const byKey = new Map<string, number[]>()
  history.forEach((o, i) => {
    const list = byKey.get(o.op.key)
    if (list === undefined) byKey.set(o.op.key, [i])
    else list.push(i)
  })
  const stats = (): CheckStats => ({
    keys: byKey.size,
    operations: history.length,
    steps: budget.used,
    ms: performance.now() - started,
  })
  let unknown: { key: string; operations: number } | undefined
  for (const [key, indices] of byKey) {
    const input = registerInput(history, indices, options.equals)
    const impossible = options.scan === false ? undefined : impossibleRead(input)
    if (impossible !== undefined) {
      const { explanation, prefix } = explainImpossibleRead(key, history, input, impossible)
      return { ok: false, key, explanation, history: prefix, stats: stats() }
    }
    const result = search(input, budget)
    if (result.kind === 'unknown') {
      unknown = { key, operations: indices.length }
      break // the budget is shared: it ran out for the keys after this one too
    } else if (result.kind === 'fail') {
      const spent = stats() // the check itself, not the explanation
      const deadline = performance.now() + (options.explainTimeoutMs ?? timeoutMs)
      const { explanation, prefix } = explainFailure(key, history, indices, { deadline, steps: maxSteps, used: 0 }, options.equals)
      return { ok: false, key, explanation, history: prefix, stats: spent }
    }
  }
  if (unknown === undefined) return { ok: true, stats: stats() }
  const why = budget.steps <= 0 ? `the step budget (${maxSteps})` : `the time budget (${timeoutMs} ms)`
  const explanation = `undecided: ${why} ran out while checking key ${JSON.stringify(unknown.key)} (${unknown.operations} operations)`
  return { ok: 'unknown', key: unknown.key, explanation, stats: stats() }
}
