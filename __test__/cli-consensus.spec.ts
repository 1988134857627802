/**
 * `glue consensus` and `glue kv`: their pure helpers (parsing --members and the kv operations, formatting the state,
 * events, results and changes), bad input, and CLI processes on loopback with a private group: three members agree
 * on a leader and elect a new one when the leader's process is killed; a second process under a running member's
 * name refuses; `glue kv` runs as a member (new process each time, memory only) and puts, gets, compares-and-sets,
 * deletes, lists and watches.
 */

import anyTest, { type TestFn } from 'ava'

import { formatEvent, formatState, memberList, memberName } from '../src/cli/consensus'
import { formatKvChange, formatList, formatResult, parseKvOperation } from '../src/cli/kv'
import { buildProgram } from '../src/cli/main'
import { MembershipMismatchError } from '../src/consensus/errors'
import { isNativeAvailable } from '../src/transport/native'
import { DEADLINE_MS, glue, isolatedFlags, json, type Running, start } from './helpers/cli'
import { until } from './helpers/loopback'

const withNative = (isNativeAvailable() ? anyTest : anyTest.skip) as TestFn

/**
 * Runs `jobs` three at a time (each is a tsx start-up: more at once only makes each slower on two busy cores, past
 * the deadline).
 */
async function inBatches<T>(jobs: (() => Promise<T>)[], size = 3): Promise<T[]> {
  const out: T[] = []
  for (let i = 0; i < jobs.length; i += size) out.push(...(await Promise.all(jobs.slice(i, i + size).map((job) => job()))))
  return out
}

/** A test that runs CLI processes one after the other gets more than ava's 2 minutes (each run is a tsx start-up). */
const LONG_TEST_MS = 5 * 60_000

/** The leader a `glue consensus` process printed last (text or JSON lines): name and term, or undefined. */
function lastLeader(r: Running): { name: string; term: number } | undefined {
  for (let i = r.lines.length - 1; i >= 0; i--) {
    const line = r.lines[i].replace(/^\[\+ *\d+ ms\] /, '') // --timestamps
    if (line.startsWith('{')) {
      const ev = json(line)
      if (ev.type === 'leader-changed' || ev.type === 'state') {
        return typeof ev.leader === 'string' ? { name: ev.leader, term: ev.term as number } : undefined
      }
      continue
    }
    const m = /^leader (\S+) \(term (\d+)/.exec(line)
    if (m !== null) return { name: m[1], term: Number(m[2]) }
    if (/^no leader/.test(line)) return undefined
  }
  return undefined
}

/** Waits until every process's last leader is the same one (and `accept` takes it); returns it. */
async function agreedLeader(rs: Running[], accept: (l: { name: string; term: number }) => boolean = () => true) {
  const agreed = (): { name: string; term: number } | undefined => {
    const ls = rs.map(lastLeader)
    const [first] = ls
    if (first === undefined || !accept(first)) return undefined
    return ls.every((l) => l !== undefined && l.name === first.name && l.term === first.term) ? first : undefined
  }
  const ok = await until(() => agreed() !== undefined, DEADLINE_MS)
  if (!ok) throw new Error(`no agreed leader: ${JSON.stringify(rs.map((r) => ({ lines: r.lines, stderr: r.stderr() })))}`)
  return agreed() as { name: string; term: number }
}

anyTest('--members is a comma-separated list of names (or IDs), each once; --name must be one of them', (t) => {
  t.deepEqual(memberList('A,B,C'), ['A', 'B', 'C'])
  t.deepEqual(memberList(' A , plant 2,0123456789abcdef'), ['A', 'plant 2', '0123456789abcdef'])
  t.throws(() => memberList('A,,B'), { message: /--members takes a comma-separated list .*: an empty name, got "A,,B"/ })
  t.throws(() => memberList(''), { message: /an empty name/ })
  t.throws(() => memberList('A,B,A'), { message: /"A" twice/ })
  t.throws(() => memberList('0123456789ABCDEF,0123456789abcdef'), { message: /twice/ }, 'IDs compare without case')
  t.throws(() => memberList(Array.from({ length: 65 }, (_, i) => `m${i}`).join(',')), { message: /at most 64 members/ })
  t.deepEqual(memberName({ members: ['A', 'B'], name: 'B' }, {}), { name: 'B' })
  t.deepEqual(memberName({ members: ['A', 'B'] }, { GLUE_ENDPOINT_NAME: 'A' }), { name: 'A' })
  t.deepEqual(memberName({ members: ['A', '0123456789abcdef'] }, { GLUE_ENDPOINT_NAME: 'x', GLUE_ENDPOINT_ID: '0123456789ABCDEF' }), { name: 'x' })
  t.deepEqual(memberName({ members: ['A', 'B'] }, {}), {
    error: 'error: --name is needed: this process takes part in the group as one of its members (A,B)',
  })
  t.deepEqual(memberName({ members: ['A', 'B'], name: 'C' }, {}), {
    error: 'error: --name C is not one of --members A,B (only members take part in the group)',
  })
})

anyTest('kv operations and their arguments; "-" and --absent stand for absent (cas)', (t) => {
  t.deepEqual(parseKvOperation('put', ['k', '{"x":1}']), { op: 'put', key: 'k', value: '{"x":1}' })
  t.deepEqual(parseKvOperation('get', ['k']), { op: 'get', key: 'k' })
  t.deepEqual(parseKvOperation('delete', ['k']), { op: 'delete', key: 'k' })
  t.deepEqual(parseKvOperation('cas', ['k', '1', '2']), { op: 'cas', key: 'k', expected: '1', next: '2' })
  t.deepEqual(parseKvOperation('cas', ['k', '-', '2']), { op: 'cas', key: 'k', expected: undefined, next: '2' })
  t.deepEqual(parseKvOperation('cas', ['k', '1', '-']), { op: 'cas', key: 'k', expected: '1', next: undefined }, '- as next: delete')
  t.deepEqual(parseKvOperation('cas', ['k', '2'], true), { op: 'cas', key: 'k', expected: undefined, next: '2' })
  t.deepEqual(parseKvOperation('list', []), { op: 'list', prefix: '' })
  t.deepEqual(parseKvOperation('watch', ['orders/']), { op: 'watch', prefix: 'orders/' })
  t.throws(() => parseKvOperation('frob', ['k']), { message: 'unknown operation "frob": use put, get, cas, delete, list, watch' })
  t.throws(() => parseKvOperation('toString', []), { message: /unknown operation "toString"/ })
  t.throws(() => parseKvOperation('put', ['k']), { message: 'put takes <key> <value>, got 1 argument' })
  t.throws(() => parseKvOperation('get', []), { message: 'get takes <key>, got 0 arguments' })
  t.throws(() => parseKvOperation('cas', ['k', '1']), { message: 'cas takes <key> <expected> <next>, got 2 arguments' })
  t.throws(() => parseKvOperation('cas', ['k', '1', '2'], true), { message: 'cas takes <key> <next> (with --absent), got 3 arguments' })
  t.throws(() => parseKvOperation('list', ['a', 'b']), { message: 'list takes [prefix], got 2 arguments' })
  t.throws(() => parseKvOperation('get', ['k'], true), { message: '--absent goes with cas' })
  t.throws(() => parseKvOperation('get', ['\ud800']), { message: /^get: invalid key .*lone surrogate/ })
})

anyTest('the state and events print as lines (leader B (term 3), member-up C, lost-quorum ...) or JSON lines', (t) => {
  const selfId = 'aaaaaaaaaaaaaaaa'
  const A = { id: selfId, name: 'A' }
  const B = { id: 'bbbbbbbbbbbbbbbb', name: 'B' }
  const ctx = { selfId, role: 'follower', voters: 3 }
  const state = { group: 'cfg', self: 'A', members: ['A', 'B', 'C'], up: ['B'], role: 'follower', term: 1, leader: undefined, dataDir: undefined, electionTimeoutMs: 500 }
  t.is(formatState(state, selfId, false), 'consensus cfg: A of members A, B, C (up: B; memory only; election timeout 500..1000 ms)\nno leader yet (term 1)')
  t.is(formatState({ ...state, up: [], leader: B, term: 3, dataDir: '/d' }, selfId, false).split('\n')[1], 'leader B (term 3)')
  t.regex(formatState({ ...state, up: [], dataDir: '/d' }, selfId, false), /\(up: none yet; data in \/d;/)
  t.deepEqual(json(formatState({ ...state, leader: B }, selfId, true)), {
    type: 'state', group: 'cfg', self: 'A', members: ['A', 'B', 'C'], up: ['B'], role: 'follower', term: 1, leader: 'B', leaderId: B.id,
  })
  t.is(formatEvent({ type: 'leader-changed', leader: B, term: 3 }, ctx, false), 'leader B (term 3)')
  t.is(formatEvent({ type: 'leader-changed', leader: A, term: 4 }, ctx, false), 'leader A (term 4, this endpoint)')
  t.is(formatEvent({ type: 'leader-changed', leader: undefined, term: 4 }, ctx, false), 'no leader (term 4)')
  t.is(formatEvent({ type: 'member-up', member: { id: 'c'.repeat(16), name: 'C' } }, ctx, false), 'member-up C')
  t.is(formatEvent({ type: 'member-down', member: { id: '', name: 'C' } }, ctx, false), 'member-down C')
  t.is(formatEvent({ type: 'lost-quorum', reachable: 1, needed: 2 }, ctx, false), 'lost-quorum (1 of 3 members reachable, 2 needed)')
  t.is(formatEvent({ type: 'quorum', reachable: 2, needed: 2 }, ctx, false), 'quorum (2 of 3 members reachable, 2 needed)')
  t.is(formatEvent({ type: 'members-changed', voters: [A, B] }, ctx, false), 'members-changed A, B')
  const mismatch = new MembershipMismatchError('B opened it with a different member list', 'cfg', B)
  t.is(formatEvent({ type: 'error', error: mismatch }, ctx, false), 'error: B opened it with a different member list')
  t.is(formatEvent({ type: 'failed', error: new Error('disk full') }, ctx, false), 'failed: disk full')
  t.deepEqual(json(formatEvent({ type: 'leader-changed', leader: B, term: 3 }, ctx, true)), { type: 'leader-changed', leader: 'B', leaderId: B.id, term: 3, role: 'follower' })
  t.deepEqual(json(formatEvent({ type: 'leader-changed', leader: undefined, term: 3 }, ctx, true)), { type: 'leader-changed', leader: null, leaderId: null, term: 3, role: 'follower' })
  t.deepEqual(json(formatEvent({ type: 'member-down', member: { id: '', name: 'C' } }, ctx, true)), { type: 'member-down', member: 'C', id: null })
  t.deepEqual(json(formatEvent({ type: 'lost-quorum', reachable: 1, needed: 2 }, ctx, true)), { type: 'lost-quorum', reachable: 1, needed: 2, members: 3 })
  t.deepEqual(json(formatEvent({ type: 'members-changed', voters: [A, B] }, ctx, true)), { type: 'members-changed', members: ['A', 'B'] })
  t.deepEqual(json(formatEvent({ type: 'error', error: mismatch }, ctx, true)), { type: 'error', code: 'ERR_GLUE_MEMBERSHIP_MISMATCH', message: mismatch.message })
  t.deepEqual(json(formatEvent({ type: 'failed', error: new Error('disk full') }, ctx, true)), { type: 'failed', code: null, message: 'disk full' })
})

anyTest('kv results, lists and changes print as text or JSON', (t) => {
  t.is(formatResult({ op: 'put', key: 'k', value: '1' }, undefined, false), 'OK')
  t.is(formatResult({ op: 'put', key: 'k', value: '1' }, undefined, true), '{"op":"put","key":"k"}')
  t.is(formatResult({ op: 'get', key: 'k' }, { x: 1 }, false), '{"x":1}')
  t.is(formatResult({ op: 'get', key: 'k' }, 'eco', false), '"eco"')
  t.is(formatResult({ op: 'get', key: 'k' }, null, false), 'null')
  t.is(formatResult({ op: 'get', key: 'k' }, undefined, false), undefined, 'absent: nothing')
  t.deepEqual(json(formatResult({ op: 'get', key: 'k' }, null, true) as string), { op: 'get', key: 'k', found: true, value: null })
  t.deepEqual(json(formatResult({ op: 'get', key: 'k' }, undefined, true) as string), { op: 'get', key: 'k', found: false })
  t.is(formatResult({ op: 'cas', key: 'k', expected: '1', next: '2' }, true, false), 'true')
  t.is(formatResult({ op: 'cas', key: 'k', expected: '1', next: '2' }, false, false), 'false')
  t.deepEqual(json(formatResult({ op: 'cas', key: 'k', expected: '1', next: '2' }, false, true) as string), { op: 'cas', key: 'k', ok: false })
  t.is(formatResult({ op: 'delete', key: 'k' }, true, false), 'true')
  t.deepEqual(json(formatResult({ op: 'delete', key: 'k' }, false, true) as string), { op: 'delete', key: 'k', deleted: false })
  t.is(formatList([['a', 1], ['b=c', { x: 2 }]], false), 'a=1\n"b=c"={"x":2}')
  t.is(formatList([['a', 1], ['b=c', { x: 2 }]], true), '{"a":1,"b=c":{"x":2}}')
  t.is(formatList([], false), '')
  t.is(formatList([], true), '{}')
  const put = { key: 'o/1', value: { n: 1 }, previous: undefined, deleted: false, index: 7 }
  const del = { key: 'o/1', value: undefined, previous: { n: 1 }, deleted: true, index: 8 }
  t.is(formatKvChange(put, false), 'put o/1={"n":1} (index 7)')
  t.is(formatKvChange(del, false), 'delete o/1 (index 8)')
  t.deepEqual(json(formatKvChange(put, true)), { op: 'put', key: 'o/1', value: { n: 1 }, index: 7 })
  t.deepEqual(json(formatKvChange({ ...put, previous: 0 }, true)), { op: 'put', key: 'o/1', value: { n: 1 }, previous: 0, index: 7 })
  t.deepEqual(json(formatKvChange(del, true)), { op: 'delete', key: 'o/1', previous: { n: 1 }, index: 8 })
})

anyTest('consensus and kv are commands', (t) => {
  const program = buildProgram(() => {})
  const consensus = program.commands.find((c) => c.name() === 'consensus')
  const kv = program.commands.find((c) => c.name() === 'kv')
  for (const flag of ['--members', '--name', '--data-dir', '--election-ticks', '--tick-ms', '--json', '--duration', '--timestamps', '--group']) {
    t.truthy(consensus?.options.find((o) => o.long === flag), `consensus ${flag}`)
  }
  for (const flag of ['--members', '--name', '--data-dir', '--deadline-ms', '--json', '--absent', '--initial', '--count', '--duration', '--codec', '--network-id']) {
    t.truthy(kv?.options.find((o) => o.long === flag), `kv ${flag}`)
  }
})

anyTest('bad input is a usage error naming what is wrong, before anything opens', async (t) => {
  const flags = isolatedFlags()
  const m = ['--members', 'A,B,C']
  const cases: [string[], RegExp][] = [
    [['consensus', 'cfg', '--name', 'A'], /required option '--members <A,B,C>' not specified/],
    [['kv', 'cfg', '--name', 'A', 'get', 'k'], /required option '--members <A,B,C>' not specified/],
    [['consensus', 'cfg', ...m], /--name is needed: this process takes part in the group as one of its members \(A,B,C\)/],
    [['consensus', 'cfg', ...m, '--name', 'D'], /--name D is not one of --members A,B,C/],
    [['kv', 'cfg', ...m, '--name', 'D', 'get', 'k'], /--name D is not one of --members A,B,C/],
    [['kv', 'cfg', ...m, '--name', 'C', 'frob', 'k'], /unknown operation "frob": use put, get, cas, delete, list, watch/],
    [['kv', 'cfg', ...m, '--name', 'C', 'put', 'k'], /put takes <key> <value>, got 1 argument/],
    [['kv', 'cfg', ...m, '--name', 'C', 'get', 'k', '--count', '2'], /--count goes with watch/],
    [['kv', 'cfg', ...m, '--name', 'C'], /missing required argument 'operation'/],
    [['consensus', 'a/+', ...m, '--name', 'A'], /invalid consensus group name "a\/\+"/],
    [['consensus', 'cfg', '--members', 'A,,B', '--name', 'A'], /--members takes a comma-separated list .*an empty name/],
    [['consensus', 'cfg', ...m, '--name', 'A', '--election-ticks', '2'], /--election-ticks must be an integer in 3\.\.1000/],
    [['kv', 'cfg', ...m, '--name', 'A', 'get', 'k', '--codec', 'yaml'], /'yaml' is invalid.*msgpack, json, raw/s],
  ]
  const results = await inBatches(cases.map(([args]) => () => glue([...args, ...flags], { GLUE_ENDPOINT_NAME: undefined })))
  results.forEach(({ code, stdout, stderr }, i) => {
    t.is(code, 1, `${cases[i][0].join(' ')}: exit code (as every usage error of the CLI)`)
    t.regex(stderr, cases[i][1])
    t.is(stdout, '')
  })
})

withNative.serial('a single member leads alone; --duration ends it; no majority within --deadline-ms is an error naming it', async (t) => {
  const [alone, lonely] = await Promise.all([
    glue(['consensus', 'solo', '--members', 'A', '--name', 'A', '--json', '--duration', '2', ...isolatedFlags()]),
    glue(['kv', 'cfg', '--members', 'A,B,C', '--name', 'C', 'get', 'k', '--deadline-ms', '500', ...isolatedFlags()]),
  ])
  t.is(alone.code, 0, alone.stderr)
  const lines = alone.stdout.trim().split('\n').map(json)
  t.like(lines[0], { type: 'state', group: 'solo', self: 'A', members: ['A'], up: [] })
  t.like(lines.find((l) => l.type === 'leader-changed' && l.leader !== null), { leader: 'A', role: 'leader' })
  t.is(lonely.code, 1)
  t.is(lonely.stdout, '')
  t.regex(lonely.stderr, /^glue: consensus group "cfg": no leader within 500 ms \(a majority is 2 of 3\); unreachable: A \([0-9a-f]{16}\), B \([0-9a-f]{16}\)\n$/)
})

withNative.serial('three members agree on a leader; killing its process elects another in a higher term; a member runs once', async (t) => {
  t.timeout(LONG_TEST_MS)
  const flags = isolatedFlags()
  const members = ['--members', 'A,B,C']
  const procs = {
    A: start(t, ['consensus', 'cfg', ...members, '--name', 'A', '--json', ...flags]),
    B: start(t, ['consensus', 'cfg', ...members, '--name', 'B', ...flags]),
    C: start(t, ['consensus', 'cfg', ...members, '--name', 'C', '--timestamps', ...flags]),
  }
  const all = Object.values(procs)
  const [first] = await procs.B.waitForLines(() => true)
  t.regex(first, /^consensus cfg: B of members A, B, C \(up: .*; memory only; election timeout 500\.\.1000 ms\)$/)
  t.like(json(procs.A.lines[0] ?? (await procs.A.waitForLines(() => true))[0]), { type: 'state', self: 'A', members: ['A', 'B', 'C'] })
  const leader = await agreedLeader(all)
  t.true(['A', 'B', 'C'].includes(leader.name))
  t.true(leader.term >= 1)
  const leaderText = procs.B.lines.find((l) => l.startsWith(`leader ${leader.name} (term ${leader.term}`))
  t.is(leaderText, `leader ${leader.name} (term ${leader.term}${leader.name === 'B' ? ', this endpoint' : ''})`)
  t.regex(procs.C.lines[0], /^\[\+ *\d+ ms\] consensus cfg: C of members A, B, C /, '--timestamps')

  const dead = procs[leader.name as keyof typeof procs]
  dead.proc.kill('SIGKILL')
  const survivors = all.filter((r) => r !== dead)
  const next = await agreedLeader(survivors, (l) => l.name !== leader.name && l.term > leader.term)
  t.true(next.term > leader.term, `term ${next.term} after ${leader.term}`)

  // A second process under a running member's name: it refuses; the member warns and goes on.
  const name = next.name
  const again = await glue(['consensus', 'cfg', ...members, '--name', name, ...flags])
  t.is(again.code, 1)
  t.regex(again.stderr, new RegExp(`^glue: another endpoint named ${name} is up \\([0-9a-f]{16} at .*\\): a member runs once`, 'm'))
  const member = procs[name as keyof typeof procs]
  await member.waitForStderr(new RegExp(`warning: another endpoint named ${name} is up .*the group goes on with this one`))
  t.deepEqual(lastLeader(member), next, 'still the leader it was')

  for (const r of survivors) r.proc.kill('SIGINT')
  for (const r of survivors) t.is(await r.exited, 0, r.stderr())
})

withNative.serial('glue kv runs as a member: put, then get, cas, delete and list from new processes that catch up', async (t) => {
  t.timeout(LONG_TEST_MS)
  const flags = isolatedFlags()
  const members = ['--members', 'A,B,C']
  const a = start(t, ['consensus', 'kv-test', ...members, '--name', 'A', ...flags])
  const b = start(t, ['consensus', 'kv-test', ...members, '--name', 'B', '--json', ...flags])
  await agreedLeader([a, b])
  const kv = (...args: string[]) => glue(['kv', 'kv-test', ...members, '--name', 'C', '--deadline-ms', '15000', ...flags, ...args])

  const put = await kv('put', 'mode', 'eco')
  t.deepEqual(put, { code: 0, stdout: 'OK\n', stderr: '' })
  await a.waitForLines((l) => l === 'member-down C') // that run left; the next one is a new process (memory only)
  const get = await kv('get', 'mode')
  t.deepEqual(get, { code: 0, stdout: '"eco"\n', stderr: '' }, 'a new process catches up from the log')

  t.deepEqual(await kv('cas', 'n', '-', '41'), { code: 0, stdout: 'true\n', stderr: '' }, 'absent, so set')
  t.deepEqual(await kv('cas', 'n', '41', '42'), { code: 0, stdout: 'true\n', stderr: '' })
  t.deepEqual(await kv('cas', 'n', '41', '43'), { code: 1, stdout: 'false\n', stderr: '' }, 'a cas that did not swap: exit code 1')
  t.deepEqual(await kv('put', 'cfg/limits', '{"max":5}'), { code: 0, stdout: 'OK\n', stderr: '' })

  t.deepEqual(await kv('list'), { code: 0, stdout: 'cfg/limits={"max":5}\nmode="eco"\nn=42\n', stderr: '' })
  t.deepEqual(await kv('list', 'cfg/', '--json'), { code: 0, stdout: '{"cfg/limits":{"max":5}}\n', stderr: '' })
  t.deepEqual(await kv('delete', 'mode'), { code: 0, stdout: 'true\n', stderr: '' })
  t.deepEqual(await kv('delete', 'mode'), { code: 0, stdout: 'false\n', stderr: '' }, 'nothing to delete: still exit code 0')
  t.deepEqual(await kv('get', 'mode'), { code: 0, stdout: '', stderr: '' }, 'absent: nothing printed, exit code 0')

  for (const r of [a, b]) r.proc.kill('SIGTERM')
  for (const r of [a, b]) t.is(await r.exited, 0, r.stderr())
  t.false(a.lines.some((l) => /^(error|failed)/.test(l)), a.lines.join('\n'))
})

withNative.serial('glue kv watch prints the committed changes under a prefix, after what --initial lists', async (t) => {
  t.timeout(LONG_TEST_MS)
  const flags = isolatedFlags()
  const members = ['--members', 'A,B,C']
  const a = start(t, ['consensus', 'w', ...members, '--name', 'A', ...flags])
  const kv = (name: string, ...args: string[]) => ['kv', 'w', ...members, '--name', name, '--deadline-ms', '15000', ...flags, ...args]
  // A and C are a majority: C writes alone with A; then B watches (a member too) while C writes again.
  t.is((await kv2(kv('C', 'put', 'p/old', '0'))).stdout, 'OK\n')
  const watcher = start(t, kv('B', 'watch', 'p/', '--initial', '--json', '--count', '3'))
  await watcher.waitForStderr(/^glue kv: watching keys starting with "p\/" of w after index \d+ \(Ctrl-C to stop\)$/m)
  t.is((await kv2(kv('C', 'cas', 'p/a', '--absent', '1'))).stdout, 'true\n')
  t.is((await kv2(kv('C', 'put', 'q/x', '2'))).stdout, 'OK\n', 'not under the prefix')
  t.is((await kv2(kv('C', 'cas', 'p/a', '1', '{"v":2}'))).stdout, 'true\n')
  t.is((await kv2(kv('C', 'delete', 'p/a'))).stdout, 'true\n')
  t.is(await watcher.exited, 0, watcher.stderr())
  const [initial, ...changes] = watcher.lines
  t.is(initial, '{"p/old":0}', '--initial: what the prefix holds, as one JSON object, then the changes')
  t.like(changes.map(json), [
    { op: 'put', key: 'p/a', value: 1 },
    { op: 'put', key: 'p/a', value: { v: 2 }, previous: 1 },
    { op: 'delete', key: 'p/a', previous: { v: 2 } },
  ])
  const indexes = changes.map((l) => json(l).index as number)
  t.deepEqual([...indexes].sort((x, y) => x - y), indexes, 'in log order')
  t.is(changes.length, 3)
  const get = await glue(kv('C', 'get', 'p/old', '--json'))
  t.deepEqual(get, { code: 0, stdout: '{"op":"get","key":"p/old","found":true,"value":0}\n', stderr: '' })
  a.proc.kill('SIGINT')
  t.is(await a.exited, 0, a.stderr())

  async function kv2(args: string[]) {
    const r = await glue(args)
    t.is(r.code, 0, r.stderr)
    return r
  }
})
