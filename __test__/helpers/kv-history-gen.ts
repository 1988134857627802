/**
 * Linearizable key-value histories by construction, for the checker's own tests: operations are given a
 * linearization point inside their interval and executed in that order on a sequential store to get their results.
 */
import type { KvOp, KvOperation } from './linearizability'

/** An operation with its interval and its linearization point (`lin`; `applied` false: it never took effect). */
export interface PlannedOp {
  readonly client: number
  readonly op: KvOp<number>
  readonly call: number
  readonly lin: number
  /** undefined: no answer (then `applied` says whether it took effect at `lin`). */
  readonly ret: number | undefined
  readonly applied: boolean
}

/** Executes `planned` in order of `lin` on a map of registers and records each answered result. */
export function execute(planned: readonly PlannedOp[]): KvOperation<number>[] {
  const store = new Map<string, number>()
  const results = new Map<PlannedOp, number | boolean | undefined>()
  for (const p of [...planned].sort((a, b) => a.lin - b.lin)) {
    if (!p.applied) continue
    const now = store.get(p.op.key)
    let result: number | boolean | undefined
    switch (p.op.type) {
      case 'put':
        store.set(p.op.key, p.op.value)
        break
      case 'get':
        result = now
        break
      case 'cas':
        result = now === p.op.expected
        if (result) setOrDelete(store, p.op.key, p.op.next)
        break
      case 'delete':
        result = now !== undefined
        store.delete(p.op.key)
        break
    }
    results.set(p, result)
  }
  return planned.map((p) => ({ client: p.client, call: p.call, ret: p.ret, op: p.op, result: p.ret === undefined ? undefined : results.get(p) }))
}

function setOrDelete(store: Map<string, number>, key: string, value: number | undefined): void {
  if (value === undefined) store.delete(key)
  else store.set(key, value)
}

export interface ClientsOptions {
  readonly clients: number
  readonly opsPerClient: number
  readonly keys: number
  /** Values are 1..values (default 5), or with `unique` every write writes a value of its own. */
  readonly values?: number
  /** Every put and cas writes a new value (a cas expects one of the last 3 written to its key). */
  readonly unique?: boolean
  /** Share of operations without an answer (default 0.01); half of them took effect. */
  readonly unanswered?: number
}

/**
 * A history of `clients` clients, each issuing one operation at a time (a new one after a gap, or after its timeout
 * when unanswered) on `keys` keys: 30 % puts, 40 % gets, 20 % cas, 10 % deletes, latencies up to 2 ms.
 */
export function clientsHistory(rand: () => number, o: ClientsOptions): KvOperation<number>[] {
  const values = o.values ?? 5
  const unanswered = o.unanswered ?? 0.01
  const pick = (n: number) => Math.floor(rand() * n)
  const planned: PlannedOp[] = []
  const recent = new Map<string, number[]>() // unique: the last values written per key, in generation order
  let fresh = 0
  const written = (key: string) => recent.get(key) ?? []
  for (let client = 0; client < o.clients; client++) {
    let t = rand()
    for (let i = 0; i < o.opsPerClient; i++) {
      const key = `k${pick(o.keys)}`
      const r = rand()
      const value = o.unique ? ++fresh : 1 + pick(values)
      const w = written(key)
      const expected = rand() < 0.2 ? undefined : o.unique ? w[w.length - 1 - pick(Math.min(3, w.length))] : 1 + pick(values)
      const op: KvOp<number> =
        r < 0.3
          ? { type: 'put', key, value }
          : r < 0.7
            ? { type: 'get', key }
            : r < 0.9
              ? { type: 'cas', key, expected, next: value }
              : { type: 'delete', key }
      if (o.unique && (op.type === 'put' || op.type === 'cas')) recent.set(key, [...w.slice(-2), value])
      const call = t + rand() * 0.2
      const lin = call + rand()
      const pending = rand() < unanswered
      const ret = pending ? undefined : lin + rand()
      planned.push({ client, op, call, lin, ret, applied: !pending || rand() < 0.5 })
      t = ret ?? call + 5
    }
  }
  return execute(planned)
}
