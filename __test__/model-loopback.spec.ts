/**
 * The model layer between real endpoints on loopback (the native addon): four endpoints share device state in a map
 * (`devices`: each writes its own record) and converge to equal state hashes; every replica sees each change once;
 * `synced()` and quorum writes resolve; a quorum that a frozen member cannot acknowledge rejects naming it; counters
 * and sets converge; a late joiner catches up through digest / WANT / PUSH from one member; tombstones of deletes are
 * collected once every member saw them; a member with `persist` comes back with its state before syncing and then
 * gets what was written while it was away.
 *
 * Every test has its own group and network ID (isolatedOptions), so parallel test files never meet. Waits are for
 * events (change events, settled promises) or polled conditions, each with a deadline; nothing waits a fixed time.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import anyTest, { type ExecutionContext, type TestFn } from 'ava'

import {
  type EndpointOptions,
  Endpoint,
  type MapChange,
  QuorumError,
} from '../index'
import { isNativeAvailable } from '../src/transport/native'
import { type Child, exitWithin, isolatedOptions, spawnFixture, until } from './helpers/loopback'

const test = (isNativeAvailable() ? anyTest.serial : anyTest.serial.skip) as TestFn

/** A device record, as each endpoint publishes its own. */
interface Device {
  online: boolean
  temp: number
  fw: string
}

const NAMES = ['a', 'b', 'c', 'd']

/** Opens endpoints on one isolated loopback group and waits until they all see each other; closed after the test. */
async function mesh(t: ExecutionContext, names: string[], base: EndpointOptions = isolatedOptions()): Promise<Endpoint[]> {
  const eps: Endpoint[] = []
  t.teardown(() => Promise.all(eps.map((ep) => ep.close())))
  for (const name of names) eps.push(await Endpoint.open({ ...base, name }))
  if (!(await until(() => eps.every((ep) => ep.peers().length >= names.length - 1), 10_000))) throw new Error('no mesh')
  return eps
}

/** What the checks need of a replicated object (map, counter or set). */
interface Shared {
  stateHash(): string
  onChange(callback: () => void): () => void
}

/** True when every object shows the same state. */
const sameState = (objects: Shared[]): boolean =>
  objects.every((o) => o.stateHash() === objects[0].stateHash())

/**
 * Resolves (with the ms it took) once `done()` holds, checked now and after every change event of `objects`;
 * rejects after `timeoutMs` with `describe()`.
 */
function whenChanged(
  objects: Shared[],
  done: () => boolean,
  timeoutMs = 10_000,
  describe: () => string = () => objects.map((o) => o.stateHash().slice(0, 8)).join(' '),
): Promise<number> {
  const started = performance.now()
  return new Promise((resolve, reject) => {
    const offs: (() => void)[] = []
    let timer: NodeJS.Timeout | undefined
    const finish = (err?: Error): void => {
      clearTimeout(timer)
      for (const off of offs) off()
      if (err === undefined) resolve(performance.now() - started)
      else reject(err)
    }
    let queued = false
    const check = (): void => {
      if (done()) finish()
    }
    // After the event's tick: a delta of several entries is applied whole before the check.
    const later = (): void => {
      if (queued) return
      queued = true
      setImmediate(() => {
        queued = false
        check()
      })
    }
    for (const o of objects) offs.push(o.onChange(later))
    timer = setTimeout(() => finish(new Error(`not reached within ${timeoutMs} ms: ${describe()}`)), timeoutMs)
    check()
  })
}

/** Resolves once every object shows the same state (and `extra()` holds). */
const converged = (objects: Shared[], extra: () => boolean = () => true, timeoutMs = 10_000) =>
  whenChanged(objects, () => extra() && sameState(objects), timeoutMs)

/** A fresh directory under the system's temporary directory, removed after the test. */
async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'glue-model-loopback-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** One change event as recorded for the checks. */
type Seen = [key: string, value: unknown, local: boolean, from: string]
const seen = (e: MapChange<Device>): Seen => [e.key, e.value, e.local, e.origin.name]

test('4 endpoints share device state: equal state hashes, each change once everywhere, synced(), quorum writes', async (t) => {
  const eps = await mesh(t, NAMES)
  const maps = await Promise.all(eps.map((ep) => ep.map<Device>('devices')))
  const events = maps.map((m) => {
    const got: Seen[] = []
    m.onChange((e) => got.push(seen(e)))
    return got
  })
  const writes: [string, Device, string][] = []
  maps.forEach((m, i) => {
    const record = { online: true, temp: 20 + i, fw: '1.0' }
    m.set(`dev-${NAMES[i]}`, record)
    writes.push([`dev-${NAMES[i]}`, record, NAMES[i]])
  })
  const ms = await converged(maps, () => maps.every((m) => m.size === 4))
  t.log(`4 writes on 4 endpoints: converged in ${ms.toFixed(0)} ms`)
  await Promise.all(maps.map((m) => m.synced({ timeoutMs: 5000 })))
  t.deepEqual(
    maps.map((m) => m.members().map((x) => x.name).sort()),
    NAMES.map((self) => NAMES.filter((n) => n !== self)),
  )

  // Quorum of all four, from every endpoint at once: resolved means every replica holds it already.
  await Promise.all(
    maps.map((m, i) => {
      const record = { online: true, temp: 30 + i, fw: '1.1' }
      writes.push([`dev-${NAMES[i]}`, record, NAMES[i]])
      return m.set(`dev-${NAMES[i]}`, record, { quorum: 4, deadlineMs: 10_000 })
    }),
  )
  for (const m of maps) t.deepEqual(m.toJSON(), Object.fromEntries(NAMES.map((n, i) => [`dev-${n}`, { online: true, temp: 30 + i, fw: '1.1' }])))
  const majority = { online: false, temp: 0, fw: '1.1' }
  writes.push(['dev-a', majority, 'a'])
  await maps[0].set('dev-a', majority, { quorum: 'majority', deadlineMs: 10_000 })
  t.true(maps.filter((m) => m.get('dev-a')?.online === false).length >= 3, 'a majority (3 of 4) holds it')
  await converged(maps, () => events.every((e) => e.length >= writes.length))

  // Every replica saw each change exactly once, with the right origin, `local` only where it was written.
  for (const [i, got] of events.entries()) {
    const expected = writes.map(([key, value, from]): Seen => [key, value, from === NAMES[i], from])
    const byKey = (list: Seen[]) =>
      Object.fromEntries(NAMES.map((n) => [`dev-${n}`, list.filter(([key]) => key === `dev-${n}`)]))
    t.deepEqual(byKey(got), byKey(expected), `replica ${NAMES[i]}`)
    t.is(got.length, writes.length, `replica ${NAMES[i]}: one event per change`)
  }
  for (const ep of eps) t.is(ep.stats().modelMalformed, 0)
})

test('a quorum write that a member cannot acknowledge rejects with QuorumError naming it; closed members do not count', async (t) => {
  // Slow expiry: a frozen member stays a peer (and a member up) for 5 s, far beyond the 300 ms deadline.
  const base = isolatedOptions({ announcePeriodMs: 100, expiryMultiplier: 50 })
  const eps = await mesh(t, ['a', 'b', 'c'], base)
  const maps = await Promise.all(eps.map((ep) => ep.map<Device>('devices')))
  const d = spawnFixture('model-worker.ts', { options: { ...base, name: 'd' }, map: 'devices' })
  t.teardown(() => stopChild(d))
  const ready = await d.waitFor((r) => r.event === 'ready')
  await d.waitFor((r) => r.event === 'open')
  t.true(await until(() => maps.every((m) => m.members().length === 3), 10_000), 'd is a member')
  await maps[0].set('dev-a', { online: true, temp: 1, fw: '1.0' }, { quorum: 4, deadlineMs: 10_000 })

  d.proc.kill('SIGSTOP')
  const frozen = maps[0].set('dev-a', { online: true, temp: 2, fw: '1.0' }, { quorum: 4, deadlineMs: 300 })
  const err = await t.throwsAsync(frozen, { instanceOf: QuorumError })
  t.like(err, { required: 4, acknowledged: 3 })
  t.deepEqual(err?.missing.map((m) => [m.id, m.name]), [[ready.id, 'd']], 'd is missing')
  t.regex(err?.message ?? '', /quorum of 4 not reached within 300 ms: 3 endpoints hold the change; missing: .*d/)
  // Three of four are a majority: that still works without d.
  await maps[1].set('dev-b', { online: true, temp: 3, fw: '1.0' }, { quorum: 'majority', deadlineMs: 10_000 })

  // Thawed, d catches up with what it missed (the state reports of the worker are events).
  d.proc.kill('SIGCONT')
  const hash = maps[0].stateHash()
  await converged(maps)
  await d.waitFor((r) => r.event === 'state' && r.hash === hash, 10_000)
  await maps[0].set('dev-a', { online: true, temp: 4, fw: '1.0' }, { quorum: 4, deadlineMs: 10_000 })

  // A member that closed its endpoint is gone at once (BYE): a quorum of 4 is more than the membership.
  d.proc.stdin.end()
  t.is(await exitWithin(d, 10_000), 0)
  t.true(await until(() => maps.every((m) => m.members().length === 2), 10_000))
  t.throws(() => maps[0].set('dev-a', { online: true, temp: 5, fw: '1.0' }, { quorum: 4 }), {
    instanceOf: QuorumError,
    message: /quorum 4 is larger than the membership: 3/,
  })
  await maps[0].set('dev-a', { online: true, temp: 6, fw: '1.0' }, { quorum: 'majority', deadlineMs: 10_000 })

  // A member that closes only its map (its endpoint stays): counted at the call or not, the quorum fails and, when
  // it was counted, the error names it.
  const cMap = maps[2]
  await cMap.close()
  try {
    const write = maps[0].set('dev-a', { online: true, temp: 7, fw: '1.0' }, { quorum: 3, deadlineMs: 300 })
    const closedErr = await t.throwsAsync(write, { instanceOf: QuorumError })
    t.deepEqual(closedErr?.missing.map((m) => m.name), ['c'])
    t.log('c was still counted at the call: rejected at the deadline, naming c')
  } catch (thrown) {
    t.log('c was no longer counted at the call: thrown at once')
    t.true(thrown instanceof QuorumError && thrown.required === 3 && /larger than the membership/.test(thrown.message))
  }
})

test('counter and set converge on 4 endpoints, concurrent increments all count, add wins over a concurrent remove', async (t) => {
  const eps = await mesh(t, NAMES)
  const counters = await Promise.all(eps.map((ep) => ep.counter('visits')))
  const sets = await Promise.all(eps.map((ep) => ep.set<string>('online')))
  counters.forEach((c, i) => {
    for (let k = 0; k <= i; k++) c.increment(1) // a: 1, b: 2, c: 3, d: 4
    c.decrement(0.5)
  })
  sets.forEach((s, i) => {
    s.add(`dev-${NAMES[i]}`)
    s.add('shared')
  })
  await converged(counters, () => counters.every((c) => c.value === 8))
  await converged(sets, () => sets.every((s) => s.size === 5))
  // Concurrently: a removes 'shared' (having seen every add), d adds it again: the add a did not see survives.
  sets[0].delete('shared')
  sets[3].add('shared')
  sets[1].delete('dev-b')
  await converged(sets, () => sets.every((s) => !s.has('dev-b')))
  for (const s of sets) t.deepEqual(s.toJSON(), ['dev-a', 'dev-c', 'dev-d', 'shared'])
  await Promise.all([...counters, ...sets].map((o) => o.synced({ timeoutMs: 5000 })))
  t.true(sameState(counters) && sameState(sets))
  for (const c of counters) t.is(c.value, 8)
})

test('a late joiner catches up from one member through digest / WANT / PUSH, not a copy from each', async (t) => {
  const base = isolatedOptions()
  const eps = await mesh(t, NAMES.slice(0, 3), base)
  const maps = await Promise.all(eps.map((ep) => ep.map<Device>('devices')))
  // Every map has had a digest from both others, so each endpoint knows the others want the map's topic: the
  // writes below go out as deltas to both (a write published before that would reach the other only as a pull).
  t.true(await until(() => maps.every((m) => m.members().length === 2), 10_000), 'members known')
  const COUNT = 300
  maps.forEach((m, i) => {
    for (let k = i; k < COUNT; k += 3) m.set(`dev-${k}`, { online: k % 2 === 0, temp: k, fw: `1.${k % 7}` })
  })
  maps[0].delete('dev-0') // a tombstone too
  await converged(maps, () => maps.every((m) => m.size === COUNT - 1))
  const state = maps[0].canonical().length
  const sum = (key: 'modelPushesSent' | 'modelWantsSent') => eps.reduce((total, ep) => total + ep.stats()[key], 0)
  // Catch-up among the three (if any) is over: every WANT was answered.
  t.true(await until(() => sum('modelPushesSent') >= sum('modelWantsSent'), 10_000))
  // The writes travelled in deltas; a digest that got ahead of its delta would have had them pulled again.
  const pulledAmongThree = eps.reduce((total, ep) => total + ep.stats().modelEntriesPulled, 0)
  t.true(pulledAmongThree < COUNT, `entries pulled among the three: ${pulledAmongThree}`)

  const late = await Endpoint.open({ ...base, name: 'd' })
  t.teardown(() => late.close())
  const before = late.stats()
  const pushesBefore = sum('modelPushesSent')
  const wantsBefore = sum('modelWantsSent')
  const map = await late.map<Device>('devices')
  t.is(map.size, 0)
  const ms = await converged([...maps, map], () => map.size === COUNT - 1)
  await map.synced({ timeoutMs: 5000 })
  const after = late.stats()
  const pushes = sum('modelPushesSent') - pushesBefore
  const othersWants = sum('modelWantsSent') - wantsBefore
  const received = after.bytesReceived - before.bytesReceived
  t.log(
    `late joiner: caught up in ${ms.toFixed(0)} ms; WANTs ${after.modelWantsSent}, WANTs among the others ${othersWants}, PUSHes answered ${pushes}, ` +
      `entries pulled ${after.modelEntriesPulled}, ${received} bytes received for a state of ${state} bytes`,
  )
  t.true(after.modelWantsSent >= 1)
  t.true(pushes >= 1 && pushes <= after.modelWantsSent + othersWants, 'a PUSH answers a WANT, sent to one member')
  t.true(after.modelEntriesPulled >= COUNT - 1, 'every entry came in a PUSH')
  // Loosely: about one copy (plus the tombstone and a retry at most), not one from each of the three members.
  t.true(after.modelEntriesPulled <= 1.5 * COUNT, `pulled ${after.modelEntriesPulled}`)
  t.true(received < 2 * state + 64 * 1024, `${received} bytes received for a state of ${state} bytes`)
  t.deepEqual(map.toJSON(), maps[1].toJSON())
})

test('a delete reaches everyone once and its tombstone is collected on every member', async (t) => {
  const eps = await mesh(t, NAMES)
  const maps = await Promise.all(eps.map((ep) => ep.map<Device>('devices')))
  maps.forEach((m, i) => m.set(`dev-${NAMES[i]}`, { online: true, temp: i, fw: '1.0' }))
  await converged(maps, () => maps.every((m) => m.size === 4))
  const deletes = maps.map((m) => {
    const got: MapChange<Device>[] = []
    m.onChange((e) => e.deleted && got.push(e))
    return got
  })
  t.true(maps[2].delete('dev-a'), 'c deletes a device record of a')
  t.false(maps[2].delete('dev-nope'), 'a key without a value: nothing written')
  await converged(maps, () => maps.every((m) => !m.has('dev-a')))
  for (const got of deletes) {
    t.deepEqual(
      got.map((e) => [e.key, e.value, e.previous, e.origin.name]),
      [['dev-a', undefined, { online: true, temp: 0, fw: '1.0' }, 'c']],
    )
  }
  // Collected once every member reported seeing the delete (digests, then the next tick).
  t.true(
    await until(() => eps.every((ep) => ep.stats().modelTombstonesCollected >= 1), 15_000),
    JSON.stringify(eps.map((ep) => ep.stats().modelTombstonesCollected)),
  )
  t.true(sameState(maps))
  for (const m of maps) t.deepEqual(Object.keys(m.toJSON()), ['dev-b', 'dev-c', 'dev-d'])
})

test('a member with persist closes and reopens: its state is back before syncing, then what it missed arrives', async (t) => {
  const dir = await tempDir(t)
  const base = isolatedOptions()
  const eps = await mesh(t, NAMES.slice(0, 3), base)
  const maps = await Promise.all(eps.map((ep) => ep.map<Device>('devices')))
  let d = await Endpoint.open({ ...base, name: 'd' })
  t.teardown(() => d.close())
  let dMap = await d.map<Device>('devices', { persist: dir })
  const all = () => [...maps, dMap]
  all().forEach((m, i) => {
    for (let k = 0; k < 50; k++) m.set(`dev-${NAMES[i]}-${k}`, { online: true, temp: k, fw: '1.0' })
  })
  await converged(all(), () => all().every((m) => m.size === 200))
  const left = { hash: dMap.stateHash(), json: dMap.toJSON() }
  await d.close()
  t.true(await until(() => maps.every((m) => m.members().length === 2), 10_000))

  // While d is away: updates, a new record, a delete.
  maps[0].set('dev-a-0', { online: false, temp: -1, fw: '2.0' })
  maps[1].set('dev-b-new', { online: true, temp: 99, fw: '2.0' })
  maps[2].delete('dev-d-7')
  await converged(maps, () => maps.every((m) => m.size === 200 && m.get('dev-a-0')?.fw === '2.0'))
  const target = maps[0].stateHash()

  d = await Endpoint.open({ ...base, name: 'd' })
  dMap = await d.map<Device>('devices', { persist: dir })
  // Right after open, before any syncing: exactly the state it left with.
  t.is(dMap.stateHash(), left.hash)
  t.deepEqual(dMap.toJSON(), left.json)
  await dMap.synced({ timeoutMs: 10_000 })
  await converged(all(), () => dMap.stateHash() === target)
  t.deepEqual(dMap.get('dev-a-0'), { online: false, temp: -1, fw: '2.0' })
  t.deepEqual(dMap.get('dev-b-new'), { online: true, temp: 99, fw: '2.0' })
  t.false(dMap.has('dev-d-7'))
  const s = d.stats()
  t.log(`restarted with persist: entries pulled ${s.modelEntriesPulled} (3 writes missed), WANTs ${s.modelWantsSent}`)
  t.true(s.modelEntriesPulled >= 2 && s.modelEntriesPulled <= 10, `only what it missed: pulled ${s.modelEntriesPulled}`)
})

/** Ends a worker (thawing it first, in case it is stopped) and waits; SIGKILL if it does not exit. */
async function stopChild(child: Child): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return
  child.proc.kill('SIGCONT')
  child.proc.stdin.end()
  await exitWithin(child, 10_000)
}
