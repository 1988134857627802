/**
 * Recording a key-value history for the linearizability checker: call and return times from `performance.now()`
 * (one clock for every client, so record all clients in one process), results as answered.
 *
 * Failures, as in Jepsen/Knossos: an operation that failed with a *definite* error (it certainly did not take effect)
 * may be dropped from the history; one that failed with an *indefinite* error (a timeout, our QuorumLostError: the
 * proposal may have been committed before the majority was lost) must stay, without an answer, since it may or may
 * not have taken effect. By default every error counts as indefinite; pass `definite` to drop some.
 *
 * Values are kept by reference: do not mutate a value after handing it to the store.
 */
import type { KvOp, KvOperation } from './history'

/** An operation under way: settle it once. */
export interface PendingOperation<V> {
  /** It answered `result` (get: the value; cas: swapped; delete: existed; put: nothing), now. */
  ok(result?: V | boolean): void
  /** It failed indefinitely (timed out, lost quorum): it stays in the history without an answer. */
  fail(): void
  /** It failed definitely (certainly not applied): it leaves the history. */
  drop(): void
}

/** The key-value calls the recorder wraps (as `g.kv` of a consensus group). */
export interface KvClient<V> {
  put(key: string, value: V): Promise<unknown>
  get(key: string): Promise<V | undefined>
  cas(key: string, expected: V | undefined, next: V | undefined): Promise<boolean>
  delete(key: string): Promise<unknown>
}

export interface RecorderOptions {
  /** The clock (default `performance.now()`). */
  readonly now?: () => number
  /** Whether an error certainly means "not applied", so the operation is dropped (default: never). */
  readonly definite?: (error: unknown) => boolean
}

interface Entry<V> {
  client: number | string
  call: number
  ret: number | undefined
  op: KvOp<V>
  result: V | boolean | undefined
  state: 'running' | 'ok' | 'failed' | 'dropped'
}

/** Records operations of many clients into one history. */
export class HistoryRecorder<V = unknown> {
  readonly #now: () => number
  readonly #definite: (error: unknown) => boolean
  readonly #entries: Entry<V>[] = []

  constructor(options: RecorderOptions = {}) {
    this.#now = options.now ?? (() => performance.now())
    this.#definite = options.definite ?? (() => false)
  }

  /** Records the call of `op` by `client` now; settle the returned handle when it answers or fails. */
  begin(client: number | string, op: KvOp<V>): PendingOperation<V> {
    const e: Entry<V> = { client, call: this.#now(), ret: undefined, op, result: undefined, state: 'running' }
    this.#entries.push(e)
    const settle = (state: Entry<V>['state']): void => {
      if (e.state !== 'running') throw new Error(`operation ${op.type}(${op.key}) of client ${String(client)} settled twice`)
      e.state = state
    }
    return {
      ok: (result) => {
        settle('ok')
        e.ret = this.#now()
        e.result = result
      },
      fail: () => settle('failed'),
      drop: () => settle('dropped'),
    }
  }

  /**
   * Runs `fn` (the call of `op`) and records it: its value is the result (mapped by op type: put records none, cas
   * a boolean, delete a boolean or none); a rejection is recorded as indefinite (or dropped when `definite`) and
   * rethrown.
   */
  async run<R>(client: number | string, op: KvOp<V>, fn: () => Promise<R>): Promise<R> {
    const p = this.begin(client, op)
    let value: R
    let result: unknown
    try {
      value = await fn()
      result = resultOf(op, value)
    } catch (error) {
      if (this.#definite(error)) p.drop()
      else p.fail()
      throw error
    }
    p.ok(result as V | boolean | undefined)
    return value
  }

  /** `kv` with every call recorded as `client`'s. */
  client(client: number | string, kv: KvClient<V>): KvClient<V> {
    return {
      put: (key, value) => this.run(client, { type: 'put', key, value }, () => kv.put(key, value)),
      get: (key) => this.run(client, { type: 'get', key }, () => kv.get(key)),
      cas: (key, expected, next) => this.run(client, { type: 'cas', key, expected, next }, () => kv.cas(key, expected, next)),
      delete: (key) => this.run(client, { type: 'delete', key }, () => kv.delete(key)),
    }
  }

  /** The history so far (a copy): operations still running or failed have no answer; dropped ones are left out. */
  history(): KvOperation<V>[] {
    return this.#entries
      .filter((e) => e.state !== 'dropped')
      .map(({ client, call, ret, op, result }) => ({ client, call, ret, op, result }))
  }

  /** How many operations are still running. */
  get running(): number {
    return this.#entries.filter((e) => e.state === 'running').length
  }
}

function resultOf(op: KvOp<unknown>, value: unknown): unknown {
  switch (op.type) {
    case 'put':
      return undefined
    case 'get':
      return value
    case 'cas':
      if (typeof value !== 'boolean') throw new TypeError(`cas answered ${String(value)}, not a boolean`)
      return value
    case 'delete':
      return typeof value === 'boolean' ? value : undefined
  }
}
