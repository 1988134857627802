/**
 * Explaining why one key's history is not linearizable: an impossible read found by the scan with the operations
 * that prove it; or else the shortest failing prefix, and where the search of that prefix got stuck, in words.
 *
 * Prefixes: the prefix at time t holds every operation called by t, those that returned by t with their answers and
 * the others as unanswered. If a prefix has no linearization, neither has the whole history (a linearization of the
 * whole, cut at t, is one of the prefix: what it places after t returned after t, so it is unanswered there and may
 * never take effect), and neither has any longer prefix. So a binary search over the return times finds the first
 * return after which the history cannot be explained: usually the operation at fault, or its victim.
 */
import { type KvOperation, isPending, showOperation, showValue } from './history'
import type { ImpossibleRead } from './quick'
import { type Equals, type RegisterInput, registerInput } from './register'
import { type Budget, type DeadEnd, search } from './wgl'

/** A readable explanation and a failing part of the key's history (a history of its own, also not linearizable). */
export interface Explained {
  readonly explanation: string
  readonly prefix: KvOperation<unknown>[]
}

/** The shortest failing prefix of the key's operations `indices` (which fail as a whole) and what went wrong in it. */
export function explainFailure(
  key: string,
  history: readonly KvOperation<unknown>[],
  indices: readonly number[],
  budget: Budget,
  equals?: Equals,
): Explained {
  const times = [...new Set(indices.filter((i) => !isPending(history[i])).map((i) => history[i].ret as number))].sort((x, y) => x - y)
  let lo = 0
  let hi = times.length - 1 // the prefix at times[hi] fails (it is the whole history but for unanswered late calls)
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    const probe = prefixAt(history, indices, times[mid])
    if (search(registerInput(probe.view, probe.indices, equals), budget).kind === 'fail') hi = mid
    else lo = mid + 1 // linearizable, or unknown: look later
  }
  const cut = times[hi] ?? Infinity
  const { view, indices: kept } = prefixAt(history, indices, cut)
  const input = registerInput(view, kept, equals)
  const result = search(input, budget, true)
  const deadEnd = result.kind === 'fail' ? result.deadEnd : undefined
  const lines = [`key ${JSON.stringify(key)}: not linearizable.`]
  const last = kept.filter((i) => history[i].ret === cut).map((i) => `#${i}`)
  const returns = last.length === 0 ? 'the end' : `${last.join(', ')} ${last.length === 1 ? 'returns' : 'return'} at ${cut.toFixed(3)}`
  lines.push(
    `It has no linearization as soon as ${returns}: ` +
      `the shortest failing prefix, the ${kept.length} operations of this key called by then (those still running ` +
      'then counted as unanswered, and unanswered gets left out).',
  )
  // Shown as recorded (`view` only hides answers that came after the cut).
  if (deadEnd !== undefined) lines.push(...describeDeadEnd(history, input, deadEnd))
  lines.push('Operations of this key around there, by call time:', ...around(history, kept, input, deadEnd, cut))
  return { explanation: lines.join('\n'), prefix: kept.map((i) => view[i]) }
}

/** The prefix at `cut`: a copy of `history` where the key's operations called by `cut` but returning later have no answer. */
function prefixAt(history: readonly KvOperation<unknown>[], indices: readonly number[], cut: number): { view: KvOperation<unknown>[]; indices: number[] } {
  const view = history.slice()
  const kept: number[] = []
  for (const i of indices) {
    const o = history[i]
    if (o.call > cut) continue
    if (!isPending(o) && (o.ret as number) > cut) view[i] = { ...o, ret: undefined, result: undefined }
    kept.push(i)
  }
  return { view, indices: kept }
}

/** The search's deepest dead end in words. */
function describeDeadEnd(view: readonly KvOperation<unknown>[], input: RegisterInput, d: DeadEnd): string[] {
  const show = (op: number) => showOperation(view[input.indices[op]], input.indices[op])
  const state = (s: number) => (s === 0 ? 'absent' : JSON.stringify(input.values[s]))
  const lines = [`The search linearized at most ${d.order.length} of them${d.order.length > 0 ? '; the last ones, with the value after each:' : '.'}`]
  const from = Math.max(0, d.order.length - 8)
  if (from > 0) lines.push(`  ... ${from} before`)
  for (let k = from; k < d.order.length; k++) lines.push(`  ${show(d.order[k])}  => ${state(d.states[k])}`)
  lines.push(
    `Then, with the value ${state(d.state)}, ${show(d.blocking)} had to take effect before its return, but no operation ` +
      'that may come next fits:',
  )
  for (const c of d.candidates) {
    const why = c.fits ? 'fits, but every way on from it was explored already' : input.mismatch(d.state, c.op)
    lines.push(`  ${show(c.op)}: ${why}`)
  }
  return lines
}

/** The operations overlapping the window where the search got stuck (at most 30, the latest calls). */
function around(view: readonly KvOperation<unknown>[], kept: readonly number[], input: RegisterInput, d: DeadEnd | undefined, cut: number): string[] {
  const inWindow = d === undefined ? [] : [...d.candidates.map((c) => c.op), ...d.order.slice(-3)].map((op) => input.indices[op])
  const start = Math.min(cut, ...inWindow.map((i) => view[i].call))
  const shown = kept.filter((i) => isPending(view[i]) || (view[i].ret as number) >= start).sort((x, y) => view[x].call - view[y].call || x - y)
  const lines = shown.slice(-30).map((i) => `  ${showOperation(view[i], i)}`)
  if (shown.length > 30) lines.unshift(`  ... ${shown.length - 30} more`)
  return lines
}

/** An impossible read found by the scan (`quick.ts`) in words, with the operations that prove it. */
export function explainImpossibleRead(key: string, history: readonly KvOperation<unknown>[], input: RegisterInput, found: ImpossibleRead): Explained {
  const show = (op: number) => showOperation(history[input.indices[op]], input.indices[op])
  const value = (op: number) => showValue(input.values[input.reads[op]])
  const g = found.read
  const lines = [`key ${JSON.stringify(key)}: not linearizable.`, `${show(g)} cannot have seen ${value(g)}:`]
  const real = found.writers.filter((w) => w.writer >= 0)
  if (real.length === 0 && input.reads[g] !== 0) lines.push(`  no operation called before it returned writes ${value(g)}.`)
  for (const { writer, cover } of found.writers.slice(0, 10)) {
    const what = writer < 0 ? 'the key was absent at first' : `${show(writer)} may have written it`
    const gone = showValue(input.values[input.witnessed[cover]])
    lines.push(`  ${what}, but ${show(cover)} ${input.reads[cover] >= 0 ? 'saw' : 'left'} ${gone} after that and before the read was called.`)
  }
  if (found.writers.length > 10) lines.push(`  ... and ${found.writers.length - 10} more writers, each overwritten in time.`)
  const involved = new Set([g, ...found.writers.flatMap((w) => (w.writer < 0 ? [w.cover] : [w.writer, w.cover]))])
  const prefix = [...involved].map((op) => input.indices[op]).sort((x, y) => history[x].call - history[y].call || x - y)
  return { explanation: lines.join('\n'), prefix: prefix.map((i) => history[i]) }
}
