/**
 * The sequential specification of one key: a register that is absent or holds a value, with put, get, cas and
 * delete. Values are interned to small integers (0: absent) by deep equality of JSON-able values or by a given
 * `equals`, so the search compares states as numbers.
 */
import type { SearchInput } from './wgl'
import { type KvOperation, isPending, showValue } from './history'

/** Value equality; the default compares JSON-able values deeply (object keys in any order). */
export type Equals = (a: unknown, b: unknown) => boolean

const ABSENT = 0
const PUT = 0
const GET = 1
const CAS = 2
const DELETE = 3
const UNKNOWN = 0
const FALSE = 1
const TRUE = 2

/** One key's sub-history as a search input, with the interned values to explain states. */
export interface RegisterInput extends SearchInput {
  /** Index in the whole history of each operation of this input. */
  readonly indices: readonly number[]
  /** The value of each state (index 0: undefined, absent). */
  readonly values: readonly unknown[]
  /** Why operation `op` cannot happen in `state` (or undefined when it can). */
  mismatch(state: number, op: number): string | undefined
  /** The state an answered get saw; -1 for other operations. */
  readonly reads: Int32Array
  /** The state an operation may leave if it takes effect (put, cas not known to fail, delete); else -1. */
  readonly mayWrite: Int32Array
  /** The state an answered operation certainly left or saw (put, cas that swapped, delete, get); else -1. */
  readonly witnessed: Int32Array
}

/**
 * The register input for the operations `indices` of `history` (all on one key). A get without an answer is left
 * out (it changes nothing and tells nothing); other unanswered operations keep an unknown result and Infinity as
 * their return, so the search may linearize them at any point after their call or, by putting them last, never.
 */
export function registerInput(history: readonly KvOperation<unknown>[], indices: readonly number[], equals?: Equals): RegisterInput {
  const kept = indices.filter((i) => !(history[i].op.type === 'get' && isPending(history[i])))
  const intern = interner(equals)
  const n = kept.length
  const calls = new Float64Array(n)
  const rets = new Float64Array(n)
  const kind = new Uint8Array(n)
  const a = new Int32Array(n) // put: value; cas: expected; get: result
  const b = new Int32Array(n) // cas: next
  const res = new Uint8Array(n) // cas/delete: UNKNOWN, FALSE or TRUE
  kept.forEach((hi, i) => {
    const o = history[hi]
    const pending = isPending(o)
    calls[i] = o.call
    rets[i] = pending ? Infinity : (o.ret as number)
    const bool = pending || typeof o.result !== 'boolean' ? UNKNOWN : o.result ? TRUE : FALSE
    switch (o.op.type) {
      case 'put':
        kind[i] = PUT
        a[i] = intern.id(o.op.value)
        break
      case 'get':
        kind[i] = GET
        a[i] = intern.id(o.result)
        break
      case 'cas':
        kind[i] = CAS
        a[i] = intern.id(o.op.expected)
        b[i] = intern.id(o.op.next)
        res[i] = bool
        break
      case 'delete':
        kind[i] = DELETE
        res[i] = bool
        break
    }
  })
  const step = (state: number, op: number): number => {
    switch (kind[op]) {
      case PUT:
        return a[op]
      case GET:
        return state === a[op] ? state : -1
      case CAS:
        if (state === a[op]) return res[op] === FALSE ? -1 : b[op]
        return res[op] === TRUE ? -1 : state
      default:
        if (res[op] === UNKNOWN) return ABSENT
        return (res[op] === TRUE) === (state !== ABSENT) ? ABSENT : -1
    }
  }
  const values = intern.values
  const mismatch = (state: number, op: number): string | undefined => {
    if (step(state, op) >= 0) return undefined
    const now = state === ABSENT ? 'the key was absent' : `the value was ${showValue(values[state])}`
    switch (kind[op]) {
      case GET:
        return `${now}, not ${showValue(values[a[op]])}`
      case CAS:
        return res[op] === TRUE ? `${now}, not the expected ${showValue(values[a[op]])}` : `${now}: the expected one, so it would have swapped`
      default:
        return res[op] === TRUE ? `${now}, so it did not exist` : `${now}, so it existed`
    }
  }
  const classIds = new Map<string, number>()
  const classes = new Int32Array(n)
  for (let i = 0; i < n; i++) {
    const c = `${kind[i]} ${a[i]} ${b[i]}`
    classes[i] = classIds.get(c) ?? classIds.set(c, classIds.size).size - 1
  }
  const blind = kind.map((k) => (k === PUT || k === DELETE ? 1 : 0))
  const reads = new Int32Array(n).fill(-1)
  const mayWrite = new Int32Array(n).fill(-1)
  const witnessed = new Int32Array(n).fill(-1)
  for (let i = 0; i < n; i++) {
    const answered = rets[i] !== Infinity
    const leaves = kind[i] === PUT ? a[i] : kind[i] === CAS ? b[i] : kind[i] === DELETE ? ABSENT : -1
    if (kind[i] === GET) reads[i] = witnessed[i] = a[i]
    else if (kind[i] !== CAS || res[i] !== FALSE) mayWrite[i] = leaves
    if (answered && kind[i] !== GET && (kind[i] !== CAS || res[i] === TRUE)) witnessed[i] = leaves
  }
  return { calls, rets, init: ABSENT, step, classes, blind, indices: kept, values, mismatch, reads, mayWrite, witnessed }
}

/** Maps values to small integers, equal values to one (undefined is 0). */
function interner(equals?: Equals): { id(v: unknown): number; readonly values: unknown[] } {
  const values: unknown[] = [undefined]
  if (equals === undefined) {
    const ids = new Map<string, number>()
    return {
      values,
      id(v) {
        if (v === undefined) return ABSENT
        const k = canonical(v)
        let id = ids.get(k)
        if (id === undefined) {
          id = values.length
          values.push(v)
          ids.set(k, id)
        }
        return id
      },
    }
  }
  return {
    values,
    id(v) {
      if (v === undefined) return ABSENT
      for (let i = 1; i < values.length; i++) if (equals(values[i], v)) return i
      values.push(v)
      return values.length - 1
    },
  }
}

/** JSON with object keys sorted, so deeply equal JSON-able values have one text. */
export function canonical(v: unknown): string {
  return JSON.stringify(v, (_key, value: unknown) => {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value
    const sorted: Record<string, unknown> = {}
    for (const k of Object.keys(value).sort()) sorted[k] = (value as Record<string, unknown>)[k]
    return sorted
  })
}
