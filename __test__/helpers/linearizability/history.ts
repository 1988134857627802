/**
 * The history format of the key-value linearizability checker: one record per operation a client issued, with the
 * time it was called, the time its answer came back (undefined or Infinity: no answer, so it may or may not have
 * taken effect, as a write that timed out) and what it answered.
 */

/** One key-value operation as issued. `undefined` as a value means "absent" (cas: expected absent / delete it). */
export type KvOp<V = unknown> =
  | { readonly type: 'put'; readonly key: string; readonly value: V }
  | { readonly type: 'get'; readonly key: string }
  | { readonly type: 'cas'; readonly key: string; readonly expected: V | undefined; readonly next: V | undefined }
  | { readonly type: 'delete'; readonly key: string }

/**
 * One operation of a history. Times are from one clock (e.g. `performance.now()` in one process), `call` taken
 * before the request left and `ret` after the answer arrived.
 *
 * `result`: get, the value (undefined: absent); cas, whether it swapped; delete, whether the key existed (undefined:
 * not reported, so not checked); put, undefined. It is ignored when `ret` is undefined/Infinity.
 */
export interface KvOperation<V = unknown> {
  readonly client: number | string
  readonly call: number
  readonly ret: number | undefined
  readonly op: KvOp<V>
  readonly result?: V | boolean | undefined
}

/** Whether the operation has no answer (it may have taken effect at any time after its call, or never). */
export function isPending(o: KvOperation<unknown>): boolean {
  return o.ret === undefined || o.ret === Infinity
}

/** Throws a TypeError naming the first malformed operation (by index) of `history`. */
export function validateHistory(history: readonly KvOperation<unknown>[]): void {
  history.forEach((o, i) => {
    const fail = (why: string): never => {
      throw new TypeError(`history[${i}] (client ${String(o?.client)}): ${why}`)
    }
    if (o === null || typeof o !== 'object') fail('not an operation')
    if (typeof o.call !== 'number' || !Number.isFinite(o.call)) fail(`call must be a finite number, not ${String(o.call)}`)
    if (o.ret !== undefined && (typeof o.ret !== 'number' || Number.isNaN(o.ret) || o.ret < o.call)) {
      fail(`ret must be undefined, Infinity or a number >= call (${o.call}), not ${String(o.ret)}`)
    }
    if (o.op === null || typeof o.op !== 'object') fail('op is missing')
    if (typeof o.op.key !== 'string') fail(`op.key must be a string, not ${typeof o.op.key}`)
    const pending = isPending(o)
    switch (o.op.type) {
      case 'put':
      case 'get':
        break
      case 'cas':
        if (!pending && typeof o.result !== 'boolean') fail(`a completed cas needs a boolean result, not ${String(o.result)}`)
        break
      case 'delete':
        if (!pending && o.result !== undefined && typeof o.result !== 'boolean') {
          fail(`a delete's result must be a boolean (existed) or undefined, not ${String(o.result)}`)
        }
        break
      default:
        fail(`unknown op type ${JSON.stringify((o.op as { type: unknown }).type)}`)
    }
  })
}

/** A short readable form of a value: JSON, cut at 40 characters; `absent` for undefined. */
export function showValue(v: unknown): string {
  if (v === undefined) return 'absent'
  let s: string
  try {
    s = JSON.stringify(v) ?? String(v)
  } catch {
    s = String(v)
  }
  return s.length > 40 ? `${s.slice(0, 37)}...` : s
}

/** A one-line form of an operation: `#12 client 3 cas(k, 1, 2) -> true [10.250, 11.004]` (index: in the history). */
export function showOperation(o: KvOperation<unknown>, index: number): string {
  const k = JSON.stringify(o.op.key)
  let call: string
  switch (o.op.type) {
    case 'put':
      call = `put(${k}, ${showValue(o.op.value)})`
      break
    case 'get':
      call = `get(${k})`
      break
    case 'cas':
      call = `cas(${k}, ${showValue(o.op.expected)}, ${showValue(o.op.next)})`
      break
    case 'delete':
      call = `delete(${k})`
      break
  }
  const pending = isPending(o)
  const answer = pending
    ? ' -> (no answer)'
    : o.op.type === 'put' || (o.op.type === 'delete' && o.result === undefined)
      ? ''
      : ` -> ${o.op.type === 'get' ? showValue(o.result) : String(o.result)}`
  const interval = `[${o.call.toFixed(3)}, ${pending ? '...' : (o.ret as number).toFixed(3)}]`
  return `#${index} client ${String(o.client)} ${call}${answer} ${interval}`
}
