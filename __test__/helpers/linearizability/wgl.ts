/**
 * The search at the heart of the linearizability checker: Wing & Gong's backtracking algorithm with Lowe's
 * memoisation, laid out as in Porcupine (Anish Athalye's Go checker). The history is a doubly linked list of call and
 * return entries in time order (`entries.ts`); the search linearizes the first call entry that fits the model's
 * state, lifts it (and its return) out of the list and starts over from the head; on reaching a return entry whose
 * operation is not yet linearized it backtracks (that operation had to take effect before anything later). A cache of
 * configurations already seen (`cache.ts`) prunes every configuration reached again: from it the rest of the search is
 * the same, so it failed the first time.
 *
 * Unanswered operations (return Infinity: they may take effect any time after their call, or never) would make the
 * search try every subset of them at every later point. These rules keep it near linear, each dropping only
 * linearizations that another one it still tries stands for (checked against a brute-force search in
 * `linearizability-property.spec.ts`):
 * - it succeeds as soon as every answered operation is linearized (the rest may never have taken effect);
 * - unanswered operations live in a list of their own, tried only once no answered one fits before the first return;
 * - a run of unanswered operations is only followed by an answered operation that did not fit before the run
 *   (otherwise the run could move after it, or be left out: unanswered operations fit any state), and only taken
 *   when some answered operation then fits that did not before, or a non-blind unanswered one changes the state;
 * - of identical unanswered operations only the earliest called is tried (`classes`), and none that overwrites
 *   whatever state (`blind`) right after another unanswered one (that one's effect would be lost unseen);
 * - the cache also prunes a configuration when one with a subset of its unanswered operations was seen.
 * What remains exponential is real ambiguity: many unanswered writes of values that reads could have seen, on a key
 * with many concurrent clients. The budget then ends the search with "unknown".
 *
 * It is generic over a model whose states are small non-negative integers (the register model interns its values).
 */
import { ConfigCache } from './cache'
import { type EntryList, HEAD, NIL, buildList, lift, unlift } from './entries'

/** What the search needs: operation intervals, the model's initial state and its transition function. */
export interface SearchInput {
  /** Call time of each operation. */
  readonly calls: ArrayLike<number>
  /** Return time of each operation; Infinity for one without an answer. */
  readonly rets: ArrayLike<number>
  /** The model's initial state (>= 0). */
  readonly init: number
  /**
   * The state after operation `op` in `state`, or -1 when `op` (with its recorded result) cannot happen in `state`.
   * An unanswered operation (whose result is unknown) must fit every state.
   */
  step(state: number, op: number): number
  /** Optional: unanswered operations of one class do the same (as two unanswered `put(k, 1)`). */
  readonly classes?: ArrayLike<number>
  /** Optional: 1 for operations that, unanswered, set the state whatever it was (as a put). */
  readonly blind?: ArrayLike<number>
}

/** A budget shared by the searches of one check: a deadline (performance.now() ms), steps left and steps used. */
export interface Budget {
  readonly deadline: number
  steps: number
  used: number
}

/**
 * Where a failed search got stuck, deepest first: the operations linearized in order (with the state after each),
 * the operation whose return the search reached without being able to linearize it, and the operations that could
 * have come next there, with whether each fitted the state (one that fitted led only to configurations already
 * explored).
 */
export interface DeadEnd {
  readonly order: readonly number[]
  readonly states: readonly number[]
  readonly state: number
  readonly blocking: number
  readonly candidates: readonly { readonly op: number; readonly fits: boolean }[]
}

export type SearchResult = { readonly kind: 'ok' } | { readonly kind: 'fail'; readonly deadEnd?: DeadEnd } | { readonly kind: 'unknown' }

/** One linearized operation on the search's stack. */
interface Frame {
  /** Its call entry (in the list of answered operations, or of unanswered ones). */
  readonly entry: number
  readonly pending: boolean
  /** The state before it. */
  readonly before: number
  /** For an unanswered operation, the state before the run of unanswered operations it belongs to; else -1. */
  readonly run: number
  /** For an unanswered operation, the return entry the search had reached when it took it. */
  readonly blocking: number
}

/** Runs the search; with `track`, a failure reports its deepest dead end (slower: it snapshots on backtracking). */
export function search(input: SearchInput, budget: Budget, track = false): SearchResult {
  const n = input.calls.length
  const answeredOps: number[] = []
  const pendingOps: number[] = []
  for (let op = 0; op < n; op++) (input.rets[op] === Infinity ? pendingOps : answeredOps).push(op)
  if (answeredOps.length === 0) return { kind: 'ok' }
  const main = buildList(answeredOps, input.calls, input.rets)
  const pend = buildList(pendingOps, input.calls, input.rets, false)
  const cache = new ConfigCache(n)
  const stack: Frame[] = []
  const seen = new Set<number>() // classes of the unanswered operations passed over in this scan
  const windowOps: number[] = [] // this scan: the answered operations that may come next
  const chainers: number[] = [] // this scan: the unanswered operations that may come next and are not blind
  let state = input.init
  let run = -1 // the state before the current run of unanswered operations, -1 when the latest was answered
  let linearized = 0 // answered operations linearized
  let deepest: DeadEnd | undefined
  let entry = main.next[HEAD] // pass 0: in `main`; pass 1: in `pend`
  let blocking = NIL // pass 1: the first return entry in `main`
  let pass = 0
  let iterations = 0

  /** Starts scanning unanswered operations, after `from` (HEAD: all), for the run before return entry `at`. */
  const scanPending = (at: number, from: number): void => {
    pass = 1
    blocking = at
    seen.clear()
    if (input.classes !== undefined) for (let e = pend.next[HEAD]; e !== pend.next[from] && e !== NIL; e = pend.next[e]) seen.add(input.classes[pend.opOf[e]])
    entry = pend.next[from]
    windowOps.length = 0
    for (let e = main.next[HEAD]; e !== at; e = main.next[e]) if (main.match[e] !== NIL) windowOps.push(main.opOf[e])
    chainers.length = 0
    const limit = input.rets[main.opOf[at]]
    for (let e = pend.next[HEAD]; e !== NIL && input.calls[pend.opOf[e]] <= limit; e = pend.next[e]) {
      if (input.blind?.[pend.opOf[e]] !== 1) chainers.push(pend.opOf[e])
    }
  }
  /**
   * Whether a run from `start` that reached `after` by `op` can go on: an answered operation that did not fit at
   * `start` fits now, or an unanswered one that is not blind changes the state.
   */
  const leadsSomewhere = (op: number, start: number, after: number): boolean => {
    for (const a of windowOps) if (input.step(start, a) < 0 && input.step(after, a) >= 0) return true
    for (const z of chainers) if (z !== op && input.step(after, z) !== after) return true
    return false
  }
  const take = (e: number, pending: boolean, after: number, nextRun: number): void => {
    stack.push({ entry: e, pending, before: state, run: nextRun, blocking })
    state = after
    run = nextRun
    lift(pending ? pend : main, e)
    entry = main.next[HEAD]
    pass = 0
  }

  for (;;) {
    if (budget.steps <= 0) return { kind: 'unknown' }
    budget.steps--
    budget.used++
    if ((++iterations & 1023) === 0 && performance.now() > budget.deadline) return { kind: 'unknown' }
    if (pass === 0) {
      if (main.match[entry] === NIL) {
        scanPending(entry, HEAD) // answered operations tried: now unanswered ones, before the same return
        continue
      }
      const op = main.opOf[entry]
      const after = run === -1 || input.step(run, op) < 0 ? input.step(state, op) : -1
      if (after >= 0) {
        cache.flip(op, false)
        if (cache.remember(after, -1)) {
          if (++linearized === answeredOps.length) return { kind: 'ok' }
          take(entry, false, after, -1)
          continue
        }
        cache.flip(op, false)
      }
      entry = main.next[entry]
      continue
    }
    const limit = input.rets[main.opOf[blocking]]
    if (entry !== NIL && input.calls[pend.opOf[entry]] <= limit) {
      const op = pend.opOf[entry]
      const c = input.classes?.[op]
      const fresh = c === undefined || !seen.has(c)
      if (c !== undefined) seen.add(c)
      if (fresh && !(run !== -1 && input.blind?.[op] === 1)) {
        const after = input.step(state, op)
        const nextRun = run === -1 ? state : run
        if (after >= 0 && after !== state && leadsSomewhere(op, nextRun, after)) {
          cache.flip(op, true)
          if (cache.remember(after, nextRun)) {
            take(entry, true, after, nextRun)
            continue
          }
          cache.flip(op, true)
        }
      }
      entry = pend.next[entry]
      continue
    }
    if (track && (deepest === undefined || stack.length > deepest.order.length)) deepest = deadEnd(input, main, pend, stack, state, blocking)
    const top = stack.pop()
    if (top === undefined) return { kind: 'fail', deadEnd: deepest }
    const op = (top.pending ? pend : main).opOf[top.entry]
    state = top.before
    run = stack.length === 0 ? -1 : stack[stack.length - 1].run
    cache.flip(op, top.pending)
    unlift(top.pending ? pend : main, top.entry)
    if (top.pending) scanPending(top.blocking, top.entry)
    else {
      linearized--
      pass = 0
      entry = main.next[top.entry]
    }
  }
}

/** A snapshot of the search stuck at return entry `at` of `main`. */
function deadEnd(input: SearchInput, main: EntryList, pend: EntryList, stack: readonly Frame[], state: number, at: number): DeadEnd {
  const order = stack.map((f) => (f.pending ? pend : main).opOf[f.entry])
  const states = [...stack.slice(1).map((f) => f.before), state]
  const candidates: { op: number; fits: boolean }[] = []
  const fits = (op: number) => ({ op, fits: input.step(state, op) >= 0 })
  for (let e = main.next[HEAD]; e !== at && e !== NIL; e = main.next[e]) if (main.match[e] !== NIL) candidates.push(fits(main.opOf[e]))
  const limit = input.rets[main.opOf[at]]
  for (let e = pend.next[HEAD]; e !== NIL && input.calls[pend.opOf[e]] <= limit; e = pend.next[e]) candidates.push(fits(pend.opOf[e]))
  return { order, states, state, blocking: main.opOf[at], candidates }
}
