/**
 * A scan for reads that no linearization can explain, without any search (O(n log n) per key): it finds the
 * commonest violations — a stale read (a value overwritten before the read was called), a lost write (absent again
 * after a completed put), a value never written — at once, also in histories whose search would run out of budget.
 *
 * Rule: a get that answered `r` is impossible when every operation that may have written `r` and been called before
 * the get returned (the initial state counts for absent) is followed by a *cover*: an answered operation that left or
 * saw another value, called after the writer returned and answered before the get was called. In any linearization
 * the last write of `r` before the get is followed by its cover, so the register did not hold `r` at the get.
 */
import type { RegisterInput } from './register'

/** An impossible read: the get (by operation number), and each possible writer of its value with its cover. */
export interface ImpossibleRead {
  readonly read: number
  /** The writers (-1: the initial state) and, for each, the operation that shows the value was gone. */
  readonly writers: readonly { readonly writer: number; readonly cover: number }[]
}

/** The impossible read that returned first, if any. */
export function impossibleRead(input: RegisterInput): ImpossibleRead | undefined {
  const n = input.calls.length
  const { calls, rets } = input
  const covers = coverIndex(input)
  const writersOf = new Map<number, { writer: number; call: number; until: number; cover: number }[]>()
  const addWriter = (value: number, writer: number, call: number, ret: number) => {
    const c = covers.after(ret, value)
    const list = writersOf.get(value) ?? writersOf.set(value, []).get(value)!
    list.push({ writer, call, until: c === undefined ? Infinity : rets[c], cover: c ?? -1 })
  }
  addWriter(0, -1, -Infinity, -Infinity)
  for (let i = 0; i < n; i++) if (input.mayWrite[i] >= 0) addWriter(input.mayWrite[i], i, calls[i], rets[i])
  // Per value, writers by call with the running latest `until` (when the last of them certainly stopped holding).
  const latest = new Map<number, { calls: number[]; until: number[] }>()
  for (const [value, list] of writersOf) {
    list.sort((x, y) => x.call - y.call)
    let max = -Infinity
    latest.set(value, { calls: list.map((w) => w.call), until: list.map((w) => (max = Math.max(max, w.until))) })
  }
  let found: number | undefined
  for (let g = 0; g < n; g++) {
    const r = input.reads[g]
    if (r < 0 || (found !== undefined && rets[g] >= rets[found])) continue
    const w = latest.get(r)
    const count = w === undefined ? 0 : upperBound(w.calls, rets[g])
    if (count === 0 || (w as { until: number[] }).until[count - 1] < calls[g]) found = g
  }
  if (found === undefined) return undefined
  const g = found
  const writers = (writersOf.get(input.reads[g]) ?? []).filter((w) => w.call <= rets[g]).map(({ writer, cover }) => ({ writer, cover }))
  return { read: g, writers }
}

/**
 * Answered operations that left or saw a value, by call time, to find for a writer that returned at `t` the one
 * with another value than its own that answered first among those called after `t`.
 */
function coverIndex(input: RegisterInput): { after(t: number, value: number): number | undefined } {
  const ops: number[] = []
  for (let i = 0; i < input.calls.length; i++) if (input.witnessed[i] >= 0) ops.push(i)
  ops.sort((x, y) => input.calls[x] - input.calls[y])
  const callTimes = ops.map((i) => input.calls[i])
  // From each position on: the earliest-answered operation, and the earliest-answered one with another value.
  const first = new Int32Array(ops.length + 1).fill(-1)
  const second = new Int32Array(ops.length + 1).fill(-1)
  const ret = (i: number) => (i < 0 ? Infinity : input.rets[i])
  const value = (i: number) => input.witnessed[i]
  for (let k = ops.length - 1; k >= 0; k--) {
    const [o, a, b] = [ops[k], first[k + 1], second[k + 1]]
    if (ret(o) < ret(a)) {
      first[k] = o
      second[k] = a >= 0 && value(a) !== value(o) ? a : b // b's value differs from a's, so from o's
    } else {
      first[k] = a
      second[k] = value(o) !== value(a) && ret(o) < ret(b) ? o : b
    }
  }
  return {
    after(t, v) {
      const k = upperBound(callTimes, t) // first called strictly after t
      const c = first[k] >= 0 && value(first[k]) !== v ? first[k] : second[k]
      return c >= 0 ? c : undefined
    },
  }
}

/** The number of elements of ascending `xs` that are <= `x`. */
function upperBound(xs: readonly number[], x: number): number {
  let lo = 0
  let hi = xs.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (xs[mid] <= x) lo = mid + 1
    else hi = mid
  }
  return lo
}
