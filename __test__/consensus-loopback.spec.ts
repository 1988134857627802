/**
 * Consensus groups through real endpoints on loopback (the native Raft core, glue's reliable publications): election
 * with one leader per term, writes from any member (forwarded to the leader), linearizable reads on another member,
 * re-election when the leader leaves, the replicated log (`propose` / `onApply` in order, once), locks with growing
 * fencing tokens and leases that run out, a member restarted from `dataDir` caught up by a snapshot after compaction,
 * a member added and removed while writing, and the named errors.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import test from 'ava'

import {
  CodecError,
  type ConsensusEvent,
  type ConsensusGroup,
  Endpoint,
  type EndpointOptions,
  type KvChange,
  LockLostError,
  MembershipMismatchError,
  ModelNameError,
  NotMemberError,
  TimeoutError,
} from '../index'
import { isolatedOptions, until } from './helpers/loopback'

test.serial.beforeEach((t) => {
  t.context = { closers: [] as (() => Promise<void>)[] }
})
test.serial.afterEach.always(async (t) => {
  for (const close of (t.context as { closers: (() => Promise<void>)[] }).closers.reverse()) await close().catch(() => {})
})

interface Ctx {
  closers: (() => Promise<void>)[]
}

async function open(t: { context: unknown }, base: EndpointOptions, name: string): Promise<Endpoint> {
  const ep = await Endpoint.open({ ...base, name })
  ;(t.context as Ctx).closers.push(() => ep.close())
  return ep
}

/** Endpoints A, B, C (or `names`) with the group `g` open on each. */
async function group<V>(t: { context: unknown; is: (a: unknown, b: unknown) => void }, names = ['A', 'B', 'C'], extra: Record<string, unknown> = {}) {
  const base = isolatedOptions()
  const eps = await Promise.all(names.map((n) => open(t, base, n)))
  const groups = await Promise.all(eps.map((ep) => ep.consensus<V>('g', { members: names, ...extra })))
  const leaders: { term: number; leader: string }[] = []
  for (const g of groups) g.onEvent((ev) => ev.type === 'leader-changed' && ev.leader && leaders.push({ term: ev.term, leader: ev.leader.name }))
  t.is(await until(() => groups.some((g) => g.role === 'leader') && groups.every((g) => g.leader !== undefined), 15_000), true)
  return { base, eps, groups, leaders }
}

const leaderOf = <V>(groups: ConsensusGroup<V>[]): ConsensusGroup<V> => groups.find((g) => g.role === 'leader') as ConsensusGroup<V>

test.serial('three members elect one leader per term; writes from followers commit; reads on another member see them', async (t) => {
  const { groups, leaders } = await group<{ v: number }>(t)
  const followers = groups.filter((g) => g.role !== 'leader')
  await followers[0].kv.put('x', { v: 1 })
  t.deepEqual(await followers[1].kv.get('x'), { v: 1 }, 'linearizable read on another follower')
  t.deepEqual(await leaderOf(groups).kv.get('x'), { v: 1 })
  t.true(await followers[1].kv.cas('x', { v: 1 }, { v: 2 }))
  t.false(await followers[0].kv.cas('x', { v: 1 }, { v: 3 }))
  t.deepEqual(await followers[0].kv.get('x'), { v: 2 })
  t.true(await followers[0].kv.cas('new', undefined, { v: 9 }), 'cas from absent')
  t.true(await followers[1].kv.delete('new'))
  t.false(await followers[1].kv.delete('new'))
  t.deepEqual(await groups[0].kv.list(), [['x', { v: 2 }]])
  const byTerm = new Map<number, Set<string>>()
  for (const l of leaders) byTerm.set(l.term, (byTerm.get(l.term) ?? new Set()).add(l.leader))
  for (const [term, names] of byTerm) t.is(names.size, 1, `term ${term}: one leader`)
  t.true(groups.every((g) => g.term === groups[0].term))
})

test.serial('concurrent writes from every member: all committed, watchers see the same order everywhere', async (t) => {
  const { groups } = await group<number>(t)
  const seen = groups.map(() => [] as string[])
  groups.forEach((g, i) => g.kv.onChange((c) => seen[i].push(`${c.index}:${c.key}=${c.value}`), 'n/'))
  await Promise.all(groups.flatMap((g, i) => Array.from({ length: 200 }, (_, k) => g.kv.put(`n/${i}-${k}`, k))))
  t.true(await until(() => seen.every((s) => s.length === 600), 10_000))
  t.deepEqual(seen[1], seen[0])
  t.deepEqual(seen[2], seen[0])
  t.is((await groups[2].kv.list('n/')).length, 600)
})

test.serial('the replicated log: propose() from any member, onApply on every member in log order, once per entry', async (t) => {
  const { groups } = await group<unknown>(t)
  const applied = groups.map(() => [] as number[])
  groups.forEach((g, i) => g.onApply((e) => applied[i].push(e.index)))
  const results = await Promise.all(groups.flatMap((g) => Array.from({ length: 30 }, (_, k) => g.propose(Buffer.from([k])))))
  t.true(await until(() => applied.every((a) => a.length === 90), 10_000))
  for (const a of applied) {
    t.deepEqual(a, applied[0])
    t.deepEqual([...a].sort((x, y) => x - y), a, 'in log order')
  }
  t.true(results.every((r) => r.term >= 1 && applied[0].includes(r.index)))
})

test.serial('re-election when the leader leaves; the others keep the data and go on', async (t) => {
  const { groups, eps } = await group<string>(t)
  await groups[0].kv.put('k', 'before')
  const i = groups.indexOf(leaderOf(groups))
  const oldTerm = groups[i].term
  await eps[i].close()
  const rest = groups.filter((_, j) => j !== i)
  t.true(await until(() => rest.some((g) => g.role === 'leader' && g.term > oldTerm), 10_000), 'a new leader in a later term')
  t.is(await rest[0].kv.get('k'), 'before')
  await rest[1].kv.put('k', 'after')
  t.is(await rest[0].kv.get('k'), 'after')
})

test.serial('locks: fencing tokens grow; a second taker waits; a lease that is not renewed runs out', async (t) => {
  const { groups, eps } = await group<unknown>(t)
  const [a, b, c] = groups
  // Locks that must stay held until released get leases that outlast a loaded machine's stalls; only the one that
  // must run out (the second, whose holder goes away) has a short one.
  const first = await a.lock('pump', { ttlMs: 3000 })
  t.true(first.held)
  await t.throwsAsync(b.lock('pump', { waitMs: 0 }), { instanceOf: TimeoutError, message: /held/ })
  const waiting = b.lock('pump', { ttlMs: 600, waitMs: 10_000 })
  await first.release()
  t.false(first.held)
  const second = await waiting
  t.true(second.token > first.token, `token ${second.token} > ${first.token}`)
  // The holder goes away without releasing: its lease runs out and the lock goes to the next taker.
  const i = groups.indexOf(b)
  await eps[i].close()
  const third = await c.lock('pump', { ttlMs: 3000, waitMs: 10_000 })
  t.true(third.token > second.token)
  await t.throwsAsync(second.release(), { instanceOf: LockLostError })
  const lost = new Promise<unknown>((resolve) => third.signal.addEventListener('abort', () => resolve(third.signal.reason)))
  await third.release()
  t.true((await lost) instanceof LockLostError, 'the signal aborts when the lock ends')
})

test.serial('a member restarted from dataDir catches up with a snapshot after the others compacted their logs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'glue-consensus-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const base = isolatedOptions()
  const names = ['A', 'B', 'C']
  const eps = await Promise.all(names.map((n) => open(t, base, n)))
  const opts = (n: string) => ({ members: names, snapshotEntries: 16, dataDir: join(dir, n) })
  const groups = await Promise.all(eps.map((ep, i) => ep.consensus<number>('g', opts(names[i]))))
  t.true(await until(() => groups.every((g) => g.leader !== undefined), 15_000))
  await groups[0].kv.put('before', 1)
  const cIndex = groups.findIndex((g) => g.role !== 'leader')
  t.true(await until(() => groups[cIndex].kv.getLocal('before') === 1, 10_000), 'C applied it before it closes')
  await groups[cIndex].close()
  const rest = groups.filter((_, j) => j !== cIndex)
  for (let k = 0; k < 100; k++) await rest[k % 2].kv.put(`k${k}`, k)
  t.true(eps.some((ep) => ep.stats().consensusSnapshots > 0), 'the log was compacted')
  const again = await eps[cIndex].consensus<number>('g', opts(names[cIndex]))
  t.is(again.kv.getLocal('before'), 1, 'its own log and state are back at once')
  // A watcher from now on sees the net change of each key the snapshot brings, then the entries after it.
  const seen = new Map<string, number | undefined>([['before', 1]])
  const changes: KvChange<number>[] = []
  again.kv.onChange((c) => {
    changes.push(c)
    seen.set(c.key, c.value)
  })
  t.is(await again.kv.get('k99'), 99, 'caught up (by snapshot: the entries it missed were compacted away)')
  const all = await again.kv.list('')
  t.is(all.filter(([k]) => k.startsWith('k')).length, 100)
  t.deepEqual([...seen].filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1)), all, 'the watcher folds to the state')
  t.true(changes.some((c) => c.key === 'k0'), 'k0 came only inside the snapshot, and was reported')
  t.true(changes.length <= 100, `each key once at most: ${changes.length}`)
})

test.serial('membership: a member added while writing takes part; a removed one gets NotMemberError', async (t) => {
  const { base, groups } = await group<number>(t)
  const d = await open(t, base, 'D')
  const gd = await d.consensus<number>('g', { members: ['A', 'B', 'C'], join: true })
  let writing = true
  const writes = (async () => {
    for (let k = 0; writing; k++) await groups[k % 3].kv.put('w', k)
  })()
  await groups[1].addMember('D')
  t.true(await until(() => groups[0].members().length === 4, 10_000))
  writing = false
  await writes
  await gd.kv.put('from-d', 4)
  t.is(await groups[2].kv.get('from-d'), 4)
  t.is(await gd.kv.get('w'), await groups[0].kv.get('w'))
  await groups[0].removeMember('D')
  t.true(await until(() => gd.members().length === 3 || gd.role !== 'leader', 10_000))
  await t.throwsAsync(gd.kv.put('x', 1, { deadlineMs: 3000 }), { instanceOf: NotMemberError })
})

test.serial('bad input: not a member, another member list, bad names, values the codec cannot encode', async (t) => {
  const base = isolatedOptions()
  const [a, b, x] = await Promise.all(['A', 'B', 'X'].map((n) => open(t, base, n)))
  await t.throwsAsync(x.consensus('g', { members: ['A', 'B', 'C'] }), { instanceOf: NotMemberError, message: /not a member/ })
  await t.throwsAsync(a.consensus('g/+', { members: ['A'] }), { instanceOf: ModelNameError })
  const ga = await a.consensus<unknown>('g', { members: ['A', 'B', 'C'], codec: 'json' })
  await t.throwsAsync(a.consensus('g', { members: ['A', 'B', 'C'] }), { instanceOf: ModelNameError, message: /already open/ })
  const errors: ConsensusEvent[] = []
  ga.onEvent((ev) => ev.type === 'error' && errors.push(ev))
  const gb = await b.consensus<unknown>('g', { members: ['A', 'B', 'D'] })
  t.true(await until(() => errors.length > 0, 5000), 'a mismatch is reported')
  t.true((errors[0] as { error: unknown }).error instanceof MembershipMismatchError)
  await t.throwsAsync(gb.kv.put('k', 1, { deadlineMs: 500 }), { instanceOf: MembershipMismatchError })
  await t.throwsAsync(ga.kv.put('k', 1n), { instanceOf: CodecError })
  await t.throwsAsync(ga.kv.put(7 as unknown as string, 1), { instanceOf: ModelNameError })
  t.true(a.stats().consensusMismatched > 0)
})
