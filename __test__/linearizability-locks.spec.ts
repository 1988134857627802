/**
 * The lock checker (`checkLocks` in `helpers/linearizability.ts`): tokens given to one client only, growing in grant
 * order, and no two holders with different tokens at once; on known grants and on random ones (fast-check).
 */
import test from 'ava'
import fc from 'fast-check'

import { type LockGrant, checkLocks } from './helpers/linearizability'

const grant = (client: number | string, token: number | bigint, from: number, to: number | undefined, lock?: string): LockGrant => ({
  client,
  token,
  from,
  to,
  lock,
})

test('grants one after the other with growing tokens pass; touching intervals and a holder at the end too', (t) => {
  t.deepEqual(checkLocks([]), { ok: true })
  t.deepEqual(checkLocks([grant('A', 3, 0, 10), grant('B', 7, 10, 20), grant('A', 8, 25, undefined)]), { ok: true })
  t.deepEqual(checkLocks([grant('B', 7, 10, 20), grant('A', 3, 0, 10)]), { ok: true }, 'in any order')
  t.deepEqual(checkLocks([grant('A', 3n, 0, 10), grant('B', 4n, 11, Infinity)]), { ok: true }, 'bigint tokens')
})

test('several records of one grant (renewals) may overlap', (t) => {
  t.deepEqual(checkLocks([grant('A', 3, 0, 10), grant('A', 3, 5, 15), grant('B', 4, 16, 20)]), { ok: true })
})

test('two holders at once are caught, with both grants named', (t) => {
  const r = checkLocks([grant('A', 1, 0, 10), grant('B', 2, 5, 15)])
  if (r.ok) return t.fail()
  t.regex(r.explanation, /two holders at once: client A token 1 \[0\.000, 10\.000\] and client B token 2 \[5\.000, 15\.000\] overlap/)
  t.deepEqual(r.grants.map((g) => g.client), ['A', 'B'])
  const held = checkLocks([grant('A', 1, 0, undefined), grant('B', 2, 50, 60)])
  t.false(held.ok, 'a holder that never let go')
  const hidden = checkLocks([grant('A', 1, 0, 100), grant('A', 1, 1, 2), grant('B', 2, 50, 60)])
  if (hidden.ok) return t.fail()
  t.regex(hidden.explanation, /client A token 1 \[0\.000, 100\.000\] and client B token 2/, 'behind a shorter record of the same grant')
})

test('a token given to two clients, or tokens going down, are caught', (t) => {
  const twice = checkLocks([grant('A', 5, 0, 10), grant('B', 5, 20, 30)])
  if (twice.ok) return t.fail()
  t.regex(twice.explanation, /token 5 was given to two clients: client A .* and client B/)
  const down = checkLocks([grant('A', 5, 0, 10), grant('B', 3, 11, 20)])
  if (down.ok) return t.fail()
  t.regex(down.explanation, /tokens went down: client B token 3 \[11\.000, 20\.000\] was granted after client A token 5/)
})

test('locks are checked by name', (t) => {
  t.deepEqual(checkLocks([grant('A', 1, 0, 10, 'pump'), grant('B', 2, 5, 15, 'conveyor')]), { ok: true })
  const r = checkLocks([grant('A', 1, 0, 10, 'pump'), grant('B', 2, 5, 15, 'conveyor'), grant('C', 3, 8, 12, 'pump')])
  if (r.ok) return t.fail()
  t.is(r.lock, 'pump')
  t.regex(r.explanation, /^lock "pump": two holders at once/)
})

test('malformed grants are refused', (t) => {
  t.throws(() => checkLocks([grant('A', 1, 10, 5)]), { instanceOf: TypeError, message: /grants\[0\]: to must be/ })
  t.throws(() => checkLocks([grant('A', 1, NaN, 5)]), { message: /from must be a finite number/ })
  t.throws(() => checkLocks([{ client: 'A', token: '1', from: 0, to: 1 } as unknown as LockGrant]), { message: /token must be/ })
})

/** Grants one after another (gaps >= 0), tokens growing, each recorded as 1 to 3 overlapping records by its holder. */
const grantsArb = fc
  .array(
    fc.record({
      client: fc.constantFrom('A', 'B', 'C'),
      gap: fc.integer({ min: 0, max: 5 }),
      length: fc.integer({ min: 1, max: 10 }),
      step: fc.integer({ min: 1, max: 3 }),
      records: fc.integer({ min: 1, max: 3 }),
    }),
    { minLength: 2, maxLength: 30 },
  )
  .map((rows) => {
    const grants: LockGrant[][] = []
    let [t, token] = [0, 0]
    for (const r of rows) {
      t += r.gap
      token += r.step
      const g = Array.from({ length: r.records }, (_, k) => grant(r.client, token, t + k * 0.1, t + r.length - k * 0.1))
      grants.push(g)
      t += r.length
    }
    return grants
  })

test('random valid grants pass; one held too long, or two tokens swapped, fail', (t) => {
  fc.assert(
    fc.property(grantsArb, fc.nat(), fc.nat(), (grants, which, order) => {
      const flat = grants.flat()
      const shuffled = [...flat].sort((a, b) => ((a.from * 7919 + order) % 13) - ((b.from * 7919 + order) % 13))
      if (!checkLocks(shuffled).ok) throw new Error(`valid grants refused: ${JSON.stringify(shuffled)}`)
      const i = which % (grants.length - 1)
      const [a, b] = [grants[i][0], grants[i + 1][0]]
      const tooLong = flat.map((g) => (g === a ? { ...g, to: b.from + 0.5 } : g))
      if (checkLocks(tooLong).ok) throw new Error(`overlap missed: ${JSON.stringify(tooLong)}`)
      const swapped = flat.map((g) => (g.token === a.token ? { ...g, token: b.token } : g.token === b.token ? { ...g, token: a.token } : g))
      if (checkLocks(swapped).ok) throw new Error(`tokens going down missed: ${JSON.stringify(swapped)}`)
    }),
    { numRuns: 300 },
  )
  t.pass()
})
