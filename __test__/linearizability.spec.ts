/**
 * The key-value linearizability checker (`helpers/linearizability.ts`) on known histories: classic linearizable and
 * non-linearizable ones, unanswered operations, the per-key split, values, explanations, the budget, bad input and
 * the history recorder. Random histories: `linearizability-property.spec.ts`; locks: `linearizability-locks.spec.ts`.
 */
import test from 'ava'

import { type KvOperation, HistoryRecorder, checkLinearizability } from './helpers/linearizability'

type Client = number | string
const put = (client: Client, call: number, ret: number | undefined, key: string, value: unknown): KvOperation => ({
  client,
  call,
  ret,
  op: { type: 'put', key, value },
})
const get = (client: Client, call: number, ret: number | undefined, key: string, result: unknown): KvOperation => ({
  client,
  call,
  ret,
  op: { type: 'get', key },
  result,
})
const cas = (client: Client, call: number, ret: number | undefined, key: string, expected: unknown, next: unknown, result?: boolean): KvOperation => ({
  client,
  call,
  ret,
  op: { type: 'cas', key, expected, next },
  result,
})
const del = (client: Client, call: number, ret: number | undefined, key: string, result?: boolean): KvOperation => ({
  client,
  call,
  ret,
  op: { type: 'delete', key },
  result,
})

/** The verdict, the same with and without the scan for impossible reads (else it throws). */
function verdict(history: KvOperation[]): boolean | 'unknown' {
  const [scanned, searched] = [checkLinearizability(history).ok, checkLinearizability(history, { scan: false }).ok]
  if (scanned !== searched) throw new Error(`with the scan ${String(scanned)}, the search alone ${String(searched)}`)
  return scanned
}
const ok = (history: KvOperation[]) => verdict(history) === true
const bad = (history: KvOperation[]) => verdict(history) === false

test('an empty history and a sequential one are linearizable', (t) => {
  t.true(ok([]))
  t.true(ok([get(1, 0, 1, 'x', undefined), put(1, 2, 3, 'x', 1), get(1, 4, 5, 'x', 1), del(1, 6, 7, 'x', true), get(1, 8, 9, 'x', undefined)]))
})

test('a stale read after a completed write is not linearizable; the scan and the search say why', (t) => {
  const history = [put(1, 0, 1, 'x', 1), put(1, 2, 3, 'x', 2), get(2, 4, 5, 'x', 1)]
  const r = checkLinearizability(history)
  if (r.ok !== false) return t.fail(`expected a violation, got ${JSON.stringify(r)}`)
  t.is(r.key, 'x')
  t.regex(r.explanation, /#2 client 2 get\("x"\) -> 1 \[4\.000, 5\.000\] cannot have seen 1:/)
  t.regex(r.explanation, /#0 client 1 put\("x", 1\) \[0\.000, 1\.000\] may have written it, but #1 client 1 put\("x", 2\) \[2\.000, 3\.000\] left 2/)
  t.deepEqual(r.history, history, 'the operations that prove it')
  const searched = checkLinearizability(history, { scan: false })
  if (searched.ok !== false) return t.fail()
  t.regex(searched.explanation, /#2 returns at 5\.000/)
  t.regex(searched.explanation, /#2 client 2 get\("x"\) -> 1 \[4\.000, 5\.000\]: the value was 2, not 1/)
  t.regex(searched.explanation, /#1 client 1 put\("x", 2\) \[2\.000, 3\.000\]  => 2/)
})

test('the scan finds lost writes and reads of overwritten values, and leaves unanswered writers to the search', (t) => {
  const lost = checkLinearizability([put(1, 0, 1, 'x', 1), get(2, 2, 3, 'x', undefined)])
  if (lost.ok !== false) return t.fail()
  t.regex(lost.explanation, /the key was absent at first, but #0 client 1 put\("x", 1\) \[0\.000, 1\.000\] left 1/)
  const history = [put(1, 0, 1, 'x', 1), put(2, 0, 10, 'x', 2), get(3, 2, 3, 'x', 2), get(3, 4, 5, 'x', 1)]
  const seen = checkLinearizability(history)
  if (seen.ok !== false) return t.fail()
  t.regex(seen.explanation, /#3 client 3 get\("x"\) -> 1 .* cannot have seen 1/)
  t.regex(seen.explanation, /but #2 client 3 get\("x"\) -> 2 \[2\.000, 3\.000\] saw 2 after that/)
  t.is(checkLinearizability(history, { scan: false }).ok, false, 'the search agrees')
  t.true(ok([put(1, 0, 1, 'x', 1), put(2, 2, 3, 'x', 2), put(3, 0, undefined, 'x', 1), get(4, 4, 5, 'x', 1)]), 'an unanswered write of 1')
  t.true(ok([put(1, 0, 1, 'x', 1), put(2, 2, 3, 'x', 2), put(3, 0, 4.5, 'x', 1), get(4, 4, 5, 'x', 1)]), 'a slow write of 1')
})

test('a read concurrent with a write may see the old or the new value', (t) => {
  const base = [put(1, 0, 1, 'x', 1), put(1, 2, 6, 'x', 2)]
  t.true(ok([...base, get(2, 3, 4, 'x', 1)]))
  t.true(ok([...base, get(2, 3, 4, 'x', 2)]))
  t.true(ok([...base, get(2, 3, 4, 'x', 2), get(2, 5, 7, 'x', 2)]))
  t.true(bad([...base, get(2, 3, 4, 'x', 2), get(2, 4.5, 5, 'x', 1)]), 'a read after a read of the new value sees the old one')
})

test('operations touching in time count as concurrent', (t) => {
  t.true(ok([put(1, 0, 1, 'x', 1), get(2, 1, 2, 'x', undefined)]))
  t.true(bad([put(1, 0, 1, 'x', 1), get(2, 1.001, 2, 'x', undefined)]))
})

test('two concurrent writes that readers see in incompatible orders are not linearizable', (t) => {
  const writes = [put('A', 0, 10, 'x', 1), put('B', 0, 10, 'x', 2)]
  const c = [get('C', 1, 2, 'x', 1), get('C', 3, 4, 'x', 2)]
  const d = [get('D', 1, 2, 'x', 2), get('D', 3, 4, 'x', 1)]
  t.true(ok([...writes, ...c]), 'C alone: 1 then 2')
  t.true(ok([...writes, ...d]), 'D alone: 2 then 1')
  t.true(ok([...writes, ...c, d[0]]), 'C and D see different values at the same time: fine')
  t.true(bad([...writes, ...c, ...d]), 'but not in both orders')
})

test('a cas that succeeded twice from one value is not linearizable; one winner is', (t) => {
  const start = put(1, 0, 1, 'x', 0)
  t.true(bad([start, cas('A', 2, 3, 'x', 0, 1, true), cas('B', 2, 3, 'x', 0, 2, true)]))
  t.true(ok([start, cas('A', 2, 3, 'x', 0, 1, true), cas('B', 2, 3, 'x', 0, 2, false), get(1, 4, 5, 'x', 1)]))
  t.true(bad([start, cas('A', 2, 3, 'x', 0, 1, true), cas('B', 2, 3, 'x', 0, 2, false), get(1, 4, 5, 'x', 2)]))
  t.true(bad([start, cas('A', 2, 3, 'x', 0, 1, false)]), 'a cas failing on the value it expected')
  t.true(ok([start, cas('A', 2, 3, 'x', 0, 1, true), cas('B', 2, 3, 'x', 1, 2, true), get(1, 4, 5, 'x', 2)]), 'a chain')
})

test('a get that sees a value never written is not linearizable', (t) => {
  const history = [put(1, 0, 1, 'x', 1), put(2, 0.5, 2, 'x', 2), get(3, 0, 3, 'x', 7)]
  const r = checkLinearizability(history)
  if (r.ok !== false) return t.fail()
  t.regex(r.explanation, /#2 client 3 get\("x"\) -> 7 \[0\.000, 3\.000\] cannot have seen 7:\n  no operation called before it returned writes 7/)
  t.deepEqual(r.history, [history[2]])
  const searched = checkLinearizability(history, { scan: false })
  if (searched.ok !== false) return t.fail()
  t.regex(searched.explanation, /#2 client 3 get\("x"\) -> 7 \[0\.000, 3\.000\]: (the value was [12]|the key was absent), not 7/)
  t.true(bad([get(1, 0, 1, 'x', null)]), 'null is a value, not absence')
})

test('a write without an answer may or may not have taken effect: both branches', (t) => {
  const base = [put(1, 0, 1, 'x', 1), put(2, 2, undefined, 'x', 2)]
  t.true(ok([...base, get(3, 5, 6, 'x', 1)]), 'it did not (yet)')
  t.true(ok([...base, get(3, 5, 6, 'x', 2)]), 'it did')
  t.true(ok([...base, get(3, 5, 6, 'x', 1), get(3, 7, 8, 'x', 2)]), 'it did, later')
  t.true(bad([...base, get(3, 5, 6, 'x', 2), get(3, 7, 8, 'x', 1)]), 'it cannot be undone')
  t.true(bad([...base, get(3, 0.5, 1.5, 'x', 2)]), 'not before its call')
  t.true(ok([...base.map((o) => ({ ...o, ret: o.ret ?? Infinity })), get(3, 5, 6, 'x', 2)]), 'Infinity is no answer too')
})

test('unanswered cas and delete take effect as the state says, or never; an unanswered get is dropped', (t) => {
  const start = put(1, 0, 1, 'x', 1)
  t.true(ok([start, cas(2, 2, undefined, 'x', 1, 5), get(3, 3, 4, 'x', 5)]))
  t.true(ok([start, cas(2, 2, undefined, 'x', 1, 5), get(3, 3, 4, 'x', 1)]))
  t.true(bad([start, cas(2, 2, undefined, 'x', 9, 5), get(3, 3, 4, 'x', 5)]), 'it cannot have swapped from 9')
  t.true(ok([start, del(2, 2, undefined, 'x'), get(3, 3, 4, 'x', undefined)]))
  t.true(ok([start, get(2, 2, undefined, 'x', 'anything')]), 'what an unanswered get "returned" is ignored')
  t.true(ok([start, cas(2, 2, undefined, 'x', 9, 5, true)]), 'so is what an unanswered cas "returned"')
})

test('delete answers whether the key existed (or nothing, then unchecked); cas with absent', (t) => {
  t.true(ok([del(1, 0, 1, 'x', false), put(1, 2, 3, 'x', 1), del(1, 4, 5, 'x', true), get(1, 6, 7, 'x', undefined)]))
  t.true(bad([del(1, 0, 1, 'x', true)]))
  t.true(bad([put(1, 0, 1, 'x', 1), del(1, 2, 3, 'x', false)]))
  t.true(ok([put(1, 0, 1, 'x', 1), del(1, 2, 3, 'x'), get(1, 4, 5, 'x', undefined)]))
  t.true(ok([cas(1, 0, 1, 'x', undefined, 1, true), cas(1, 2, 3, 'x', undefined, 2, false), get(1, 4, 5, 'x', 1)]))
  t.true(ok([put(1, 0, 1, 'x', 1), cas(1, 2, 3, 'x', 1, undefined, true), get(1, 4, 5, 'x', undefined)]), 'cas to absent deletes')
})

test('keys are checked separately: a violation names its key and keeps only its operations', (t) => {
  t.true(bad([put(1, 0, 10, 'a', 1), get(2, 1, 2, 'a', 1), get(3, 3, 4, 'a', undefined)]), 'once written, not absent again')
  const fineA = [put(1, 0, 10, 'a', 1), get(2, 1, 2, 'a', undefined), get(3, 3, 4, 'a', 1)]
  const b = [put(1, 11, 12, 'b', 1), put(2, 13, 14, 'b', 2), get(3, 15, 16, 'b', 1)]
  t.true(ok([...fineA, put(2, 11, 12, 'b', 3), get(2, 13, 14, 'b', 3)]))
  t.true(ok([put(1, 0, 1, 'a', 1), get(2, 2, 3, 'b', undefined)]), 'a write to one key is not seen on another')
  const r = checkLinearizability([...fineA, ...b])
  if (r.ok !== false) return t.fail()
  t.is(r.key, 'b')
  t.deepEqual(
    r.history.map((o) => o.op.key),
    ['b', 'b', 'b'],
  )
  t.is(r.stats.keys, 2)
})

test('a search failure is explained by the shortest failing prefix, not the whole history', (t) => {
  const history: KvOperation[] = []
  for (let i = 0; i < 200; i++) history.push(put(1, 10 * i, 10 * i + 1, 'x', i), get(2, 10 * i + 2, 10 * i + 3, 'x', i))
  history.push(cas('A', 2001, 2002, 'x', 199, 'a', true), cas('B', 2001, 2002, 'x', 199, 'b', true)) // both swapped
  for (let i = 200; i < 300; i++) history.push(put(1, 10 * i + 5, 10 * i + 6, 'x', i))
  const r = checkLinearizability(history)
  if (r.ok !== false) return t.fail()
  t.is(r.history.length, 402, 'the 400 before and the two cas')
  t.regex(r.explanation, /#400, #401 return at 2002\.000/)
  t.regex(r.explanation, /#40[01] client [AB] cas\("x", 199, "[ab]"\) -> true \[2001\.000, 2002\.000\]: the value was "[ab]", not the expected 199/)
  t.regex(r.explanation, /\.\.\. \d+ before/)
  t.true(r.explanation.split('\n').length < 40, r.explanation)
})

test('values compare by deep equality of JSON, or by a given equals', (t) => {
  t.true(ok([put(1, 0, 1, 'x', { a: 1, b: [1, { c: 2 }] }), get(1, 2, 3, 'x', { b: [1, { c: 2 }], a: 1 })]))
  t.true(bad([put(1, 0, 1, 'x', { a: 1 }), get(1, 2, 3, 'x', { a: '1' })]))
  t.true(bad([put(1, 0, 1, 'x', [1, 2]), get(1, 2, 3, 'x', [2, 1])]))
  const byId = (a: unknown, b: unknown) => (a as { id: number }).id === (b as { id: number }).id
  const history = [put(1, 0, 1, 'x', { id: 1, at: 5 }), get(1, 2, 3, 'x', { id: 1, at: 6 })]
  t.true(bad(history))
  t.is(checkLinearizability(history, { equals: byId }).ok, true)
})

test('a budget turns a long search into unknown, never a hang', (t) => {
  // 14 concurrent writes of distinct values and a read of each in turn afterwards cannot be ordered: proving it
  // visits many subsets of the writes.
  const history: KvOperation[] = []
  for (let i = 0; i < 14; i++) history.push(put(i, 0, 100, 'x', i))
  for (let i = 0; i < 14; i++) history.push(get('r', 101 + 2 * i, 102 + 2 * i, 'x', i))
  t.is(checkLinearizability(history).ok, false, 'the scan sees it at once')
  const r = checkLinearizability(history, { maxSteps: 50, scan: false })
  t.is(r.ok, 'unknown')
  if (r.ok !== 'unknown') return
  t.is(r.key, 'x')
  t.regex(r.explanation, /step budget \(50\)/)
  t.is(r.stats.steps, 50)
  const timed = checkLinearizability(history, { timeoutMs: 0, scan: false })
  t.is(timed.ok, 'unknown')
  t.is(checkLinearizability(history, { scan: false }).ok, false, 'decided without a budget')
})

test('malformed histories are refused with the index of the operation', (t) => {
  t.throws(() => checkLinearizability([put(1, 0, 1, 'x', 1), put(1, 3, 2, 'x', 1)]), { instanceOf: TypeError, message: /history\[1\].*ret must be/ })
  t.throws(() => checkLinearizability([cas(1, 0, 1, 'x', 1, 2)]), { message: /history\[0\].*boolean result/ })
  t.throws(() => checkLinearizability([{ client: 1, call: 0, ret: 1, op: { type: 'incr', key: 'x' } } as unknown as KvOperation]), {
    message: /unknown op type "incr"/,
  })
  t.throws(() => checkLinearizability([{ client: 1, call: NaN, ret: 1, op: { type: 'get', key: 'x' } }]), { message: /call must be/ })
})

test('the recorder records calls, answers and failures with its clock', async (t) => {
  let now = 0
  const rec = new HistoryRecorder<number>({ now: () => now++, definite: (e) => e instanceof RangeError })
  const store = new Map<string, number>()
  const kv = {
    put: async (k: string, v: number) => void store.set(k, v),
    get: async (k: string) => store.get(k),
    cas: async (k: string, e: number | undefined, n: number | undefined) => {
      if (store.get(k) !== e) return false
      if (n === undefined) store.delete(k)
      else store.set(k, n)
      return true
    },
    delete: async (k: string) => store.delete(k),
  }
  const c1 = rec.client(1, kv)
  await c1.put('x', 1)
  t.true(await c1.cas('x', 1, 2))
  t.is(await c1.get('x'), 2)
  t.true(await c1.delete('x'))
  const failing = rec.client(2, {
    ...kv,
    put: async () => {
      throw new Error('QuorumLostError')
    },
    get: async () => {
      throw new RangeError('definitely not applied')
    },
  })
  await t.throwsAsync(() => failing.put('x', 9), { message: 'QuorumLostError' })
  await t.throwsAsync(() => failing.get('x'), { instanceOf: RangeError })
  const running = rec.begin(3, { type: 'put', key: 'y', value: 1 })
  t.is(rec.running, 1)
  t.deepEqual(rec.history(), [
    { client: 1, call: 0, ret: 1, op: { type: 'put', key: 'x', value: 1 }, result: undefined },
    { client: 1, call: 2, ret: 3, op: { type: 'cas', key: 'x', expected: 1, next: 2 }, result: true },
    { client: 1, call: 4, ret: 5, op: { type: 'get', key: 'x' }, result: 2 },
    { client: 1, call: 6, ret: 7, op: { type: 'delete', key: 'x' }, result: true },
    { client: 2, call: 8, ret: undefined, op: { type: 'put', key: 'x', value: 9 }, result: undefined },
    { client: 3, call: 10, ret: undefined, op: { type: 'put', key: 'y', value: 1 }, result: undefined },
  ])
  running.ok()
  t.throws(() => running.fail(), { message: /settled twice/ })
  t.is(checkLinearizability(rec.history()).ok, true)
})

test('the recorder keeps concurrent clients on one clock', async (t) => {
  const rec = new HistoryRecorder<number>()
  let value: number | undefined
  const slow = {
    put: async (_k: string, v: number) => {
      await new Promise((r) => setImmediate(r))
      value = v
    },
    get: async () => value,
    cas: async () => false,
    delete: async () => false,
  }
  await Promise.all([rec.client('a', slow).put('x', 1), rec.client('b', slow).get('x'), rec.client('c', slow).put('x', 2)])
  const h = rec.history()
  t.is(h.length, 3)
  for (const o of h) t.true(o.ret !== undefined && o.ret >= o.call)
  t.is(checkLinearizability(h).ok, true)
})
