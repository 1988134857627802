/**
 * The history as Porcupine lays it out for the search: a doubly linked list of call and return entries in time order
 * (index 0 is the head), from which a linearized operation's two entries are lifted and into which they are put back
 * on backtracking (in reverse order, so the links come back as they were). Unanswered operations have no return
 * entry: they are kept in a list of their own, of call entries only (`buildList` of them with no returns), so that
 * the search does not walk over them when it looks for answered operations.
 */

export const HEAD = 0
export const NIL = -1

export interface EntryList {
  readonly next: Int32Array
  readonly prev: Int32Array
  /** For a call entry, its return entry (HEAD: none); NIL for a return entry. */
  readonly match: Int32Array
  /** The operation of each entry. */
  readonly opOf: Int32Array
}

/**
 * Entries of operations `ops` sorted by time, a call before a return at the same time (so equal timestamps count as
 * concurrent); with `withReturns` false, call entries only.
 */
export function buildList(ops: readonly number[], calls: ArrayLike<number>, rets: ArrayLike<number>, withReturns = true): EntryList {
  const events: { time: number; isReturn: number; op: number }[] = []
  for (const op of ops) {
    events.push({ time: calls[op], isReturn: 0, op })
    if (withReturns) events.push({ time: rets[op], isReturn: 1, op })
  }
  events.sort((a, b) => a.time - b.time || a.isReturn - b.isReturn || a.op - b.op)
  const size = events.length + 1
  const next = new Int32Array(size)
  const prev = new Int32Array(size)
  const match = new Int32Array(size).fill(NIL)
  const opOf = new Int32Array(size).fill(NIL)
  const callEntry = new Int32Array(calls.length)
  events.forEach((ev, i) => {
    const e = i + 1
    opOf[e] = ev.op
    if (ev.isReturn === 0) callEntry[ev.op] = e
    else match[callEntry[ev.op]] = e
    if (!withReturns) match[e] = HEAD // a call entry without a return entry
    prev[e] = e - 1
    next[e - 1] = e
  })
  next[size - 1] = NIL
  prev[HEAD] = NIL
  return { next, prev, match, opOf }
}

/** Takes call entry `e` and its return entry (if any) out of the list. */
export function lift({ next, prev, match }: EntryList, e: number): void {
  next[prev[e]] = next[e]
  if (next[e] !== NIL) prev[next[e]] = prev[e]
  const m = match[e]
  if (m === HEAD) return
  next[prev[m]] = next[m]
  if (next[m] !== NIL) prev[next[m]] = prev[m]
}

/** Puts call entry `e` and its return entry (if any) back (undoing the latest `lift`). */
export function unlift({ next, prev, match }: EntryList, e: number): void {
  const m = match[e]
  if (m !== HEAD) {
    next[prev[m]] = m
    if (next[m] !== NIL) prev[next[m]] = m
  }
  next[prev[e]] = e
  if (next[e] !== NIL) prev[next[e]] = e
}
