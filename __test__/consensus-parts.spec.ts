/**
 * The consensus layer's parts that need no Raft core: command batches (round trip, malformed input skipped alike on
 * every member), the state machine (kv, cas by encoding, sessions that apply a retried command once, locks with
 * growing fencing tokens, renewals voiding a stale EXPIRE, snapshots), member and group IDs, the envelope, options.
 */
import test from 'ava'
import fc from 'fast-check'

import { InvalidOptionError } from '../src/errors'
import { type Command, commandArray, decodeBatch, encodeBatch, Op, pack } from '../src/consensus/commands'
import { groupIdOf, raftIdOf } from '../src/consensus/ids'
import { resolveConsensusOptions, resolveLockOptions } from '../src/consensus/options'
import { MemberRoutes } from '../src/consensus/routes'
import { ConsensusState, MAX_SESSIONS } from '../src/consensus/state-machine'
import { decodeEnvelope, encodeEnvelope, Kind } from '../src/consensus/wire'
import { protocolVectors } from './helpers/protocol-doc'

const s = (client: string, seq: number, low = 0) => ({ client, seq, low })
const b = (text: string) => Buffer.from(text)

test('a batch of every command kind round-trips; malformed commands are skipped and counted', (t) => {
  const commands: Command[] = [
    { op: Op.PUT, session: s('c', 1), key: 'k', value: b('v') },
    { op: Op.DELETE, session: s('c', 2), key: 'k' },
    { op: Op.CAS, session: s('c', 3), key: 'k', expected: null, next: b('n') },
    { op: Op.CAS, session: s('c', 4), key: 'k', expected: b('n'), next: null },
    { op: Op.LOCK, session: s('c', 5), name: 'pump', ttlMs: 1000, holderName: 'A' },
    { op: Op.RENEW, session: s('c', 6), name: 'pump', token: 9 },
    { op: Op.UNLOCK, session: s('c', 7), name: 'pump', token: 9 },
    { op: Op.EXPIRE, session: s('c', 8), name: 'pump', token: 9, renewals: 2 },
    { op: Op.USER, session: s('c', 9), data: b('user') },
    { op: Op.MEMBER, session: s('c', 10), raftId: '00000000000000aa', name: 'D', add: true },
  ]
  const bad = { count: 0 }
  t.deepEqual(decodeBatch(encodeBatch(commands.map(commandArray)), bad), commands)
  t.is(bad.count, 0)
  const junk = encodeBatch([[1, 'c', 1, 0, 'k'], [99, 'c', 1, 0], 'x' as never, [2, 'c', -1, 0, 'k'], [2, 'c', 1, 0, 'k']])
  t.deepEqual(decodeBatch(junk, bad), [{ op: Op.DELETE, session: s('c', 1), key: 'k' }])
  t.is(bad.count, 4)
  t.deepEqual(decodeBatch(Buffer.from([0xc1]), bad), [])
  t.deepEqual(decodeBatch(encodeBatch({} as never), bad), [])
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      decodeBatch(bytes, { count: 0 }) // never throws
    }),
  )
})

test('state machine: put, delete, cas by encoding', (t) => {
  const m = new ConsensusState()
  t.like(m.apply({ op: Op.PUT, session: s('c', 1), key: 'k', value: b('1') }, 1), { op: 'put', previous: undefined })
  t.like(m.apply({ op: Op.CAS, session: s('c', 2), key: 'k', expected: b('2'), next: b('3') }, 2), { op: 'cas', ok: false })
  t.like(m.apply({ op: Op.CAS, session: s('c', 3), key: 'k', expected: b('1'), next: b('3') }, 3), { op: 'cas', ok: true })
  t.deepEqual(m.kv.get('k'), b('3'))
  t.like(m.apply({ op: Op.CAS, session: s('c', 4), key: 'new', expected: null, next: b('x') }, 4), { op: 'cas', ok: true })
  t.like(m.apply({ op: Op.CAS, session: s('c', 5), key: 'new', expected: null, next: b('y') }, 5), { op: 'cas', ok: false })
  t.like(m.apply({ op: Op.CAS, session: s('c', 6), key: 'new', expected: b('x'), next: null }, 6), { op: 'cas', ok: true })
  t.false(m.kv.has('new'))
  const del = m.apply({ op: Op.DELETE, session: s('c', 7), key: 'k' }, 7)
  t.like(del, { op: 'delete' })
  t.deepEqual((del as { previous: Buffer }).previous, b('3'))
})

test('state machine: a command proposed twice (a retry) takes effect once; settled sequence numbers are forgotten', (t) => {
  const m = new ConsensusState()
  const put = (seq: number, low: number, v: string) => m.apply({ op: Op.PUT, session: s('c', seq, low), key: 'k', value: b(v) }, seq)
  t.like(put(1, 1, 'a'), { op: 'put' })
  t.like(put(2, 1, 'b'), { op: 'put' })
  t.like(put(1, 1, 'a'), { op: 'duplicate' }, 'a retry of seq 1 after seq 2: no effect')
  t.deepEqual(m.kv.get('k'), b('b'))
  t.like(put(3, 3, 'c'), { op: 'put' })
  t.like(put(2, 3, 'b'), { op: 'duplicate' }, 'below low: settled, no effect')
  t.like(m.apply({ op: Op.PUT, session: s('other', 1, 1), key: 'k', value: b('o') }, 9), { op: 'put' }, 'sessions are per client')
})

test('state machine: sessions are bounded, the least recently used one goes first', (t) => {
  const m = new ConsensusState()
  for (let i = 0; i <= MAX_SESSIONS; i++) m.apply({ op: Op.PUT, session: s(`c${i}`, 1, 1), key: 'k', value: b('v') }, i + 1)
  t.like(m.apply({ op: Op.PUT, session: s('c0', 1, 1), key: 'k', value: b('v') }, 99_999), { op: 'put' }, 'c0 was forgotten')
  t.like(m.apply({ op: Op.PUT, session: s(`c${MAX_SESSIONS}`, 1, 1), key: 'k', value: b('v') }, 100_000), { op: 'duplicate' })
})

test('state machine: locks — fencing tokens grow, holders renew, a stale EXPIRE is void, only the holder unlocks', (t) => {
  const m = new ConsensusState()
  const lock = (client: string, seq: number, index: number) => m.apply({ op: Op.LOCK, session: s(client, seq), name: 'pump', ttlMs: 1000, holderName: client }, index)
  const a = lock('a', 1, 10)
  t.like(a, { op: 'lock', granted: true, lock: { token: 10, holder: 'a' } })
  t.like(lock('b', 1, 11), { op: 'lock', granted: false, lock: { holder: 'a' } })
  t.like(m.apply({ op: Op.RENEW, session: s('b', 2), name: 'pump', token: 10 }, 12), { op: 'renew', ok: false }, 'not the holder')
  t.like(m.apply({ op: Op.RENEW, session: s('a', 2), name: 'pump', token: 10 }, 13), { op: 'renew', ok: true })
  t.like(m.apply({ op: Op.EXPIRE, session: s('leader', 1), name: 'pump', token: 10, renewals: 0 }, 14), { op: 'expire', ok: false }, 'renewed since')
  t.like(m.apply({ op: Op.UNLOCK, session: s('b', 3), name: 'pump', token: 10 }, 15), { op: 'unlock', ok: false })
  t.like(m.apply({ op: Op.EXPIRE, session: s('leader', 2), name: 'pump', token: 10, renewals: 1 }, 16), { op: 'expire', ok: true })
  const b2 = lock('b', 4, 17)
  t.like(b2, { op: 'lock', granted: true, lock: { token: 17, holder: 'b' } }, 'a later grant has a larger token')
  t.like(m.apply({ op: Op.UNLOCK, session: s('a', 3), name: 'pump', token: 10 }, 18), { op: 'unlock', ok: false }, 'the old holder cannot unlock it')
  t.like(m.apply({ op: Op.UNLOCK, session: s('b', 5), name: 'pump', token: 17 }, 19), { op: 'unlock', ok: true })
  t.false(m.locks.has('pump'))
})

test('state machine: a snapshot restores everything, sessions included', (t) => {
  const m = new ConsensusState()
  m.apply({ op: Op.PUT, session: s('c', 1), key: 'k', value: b('v') }, 1)
  m.apply({ op: Op.LOCK, session: s('c', 2), name: 'l', ttlMs: 500, holderName: 'A' }, 2)
  m.apply({ op: Op.MEMBER, session: s('c', 3), raftId: '00000000000000dd', name: 'D', add: true }, 3)
  const copy = new ConsensusState()
  t.deepEqual(copy.restore(m.encode(b('app'))), b('app'))
  t.deepEqual(copy.kv, m.kv)
  t.deepEqual(copy.locks, m.locks)
  t.deepEqual(copy.names, m.names)
  t.like(copy.apply({ op: Op.PUT, session: s('c', 1), key: 'k', value: b('again') }, 4), { op: 'duplicate' })
  t.deepEqual(copy.encode(undefined).length > 0, true)
  t.throws(() => copy.restore(Buffer.from([0x90])))
})

test('state machine: a session keeps each reply until it is settled, through a snapshot; duplicates do not change it', (t) => {
  const m = new ConsensusState()
  m.apply({ op: Op.PUT, session: s('c', 1), key: 'k', value: b('v') }, 5, 2)
  m.apply({ op: Op.CAS, session: s('c', 2), key: 'k', expected: b('x'), next: b('y') }, 6, 2)
  m.apply({ op: Op.DELETE, session: s('c', 3), key: 'k' }, 7, 2)
  m.apply({ op: Op.LOCK, session: s('other', 1), name: 'l', ttlMs: 500, holderName: 'B' }, 8, 3)
  m.apply({ op: Op.LOCK, session: s('c', 4), name: 'l', ttlMs: 500, holderName: 'A' }, 9, 3)
  const copy = new ConsensusState()
  copy.restore(m.encode(undefined))
  for (const state of [m, copy]) {
    t.deepEqual(state.reply('c', 1), { index: 5, term: 2, ok: true })
    t.deepEqual(state.reply('c', 2), { index: 6, term: 2, ok: false }, 'cas: no match')
    t.deepEqual(state.reply('c', 3), { index: 7, term: 2, ok: true }, 'delete: it had a value')
    t.deepEqual(state.reply('c', 4), { index: 9, term: 3, ok: false, lock: { holder: 'other', holderName: 'B', token: 8 } }, 'lock: held by another')
    t.deepEqual(state.reply('other', 1), { index: 8, term: 3, ok: true, lock: { holder: 'other', holderName: 'B', token: 8 } })
  }
  t.like(copy.apply({ op: Op.PUT, session: s('c', 1), key: 'k', value: b('again') }, 10, 3), { op: 'duplicate' })
  t.deepEqual(copy.reply('c', 1), { index: 5, term: 2, ok: true }, 'the first application answers a retry')
  t.is(copy.reply('c', 99), undefined, 'never applied')
  copy.apply({ op: Op.PUT, session: s('c', 5, 5), key: 'k', value: b('w') }, 11, 3)
  const settled = new ConsensusState()
  settled.restore(copy.encode(undefined))
  t.is(settled.reply('c', 1), undefined, 'settled (below low): not in a snapshot')
  t.deepEqual(settled.reply('c', 5), { index: 11, term: 3, ok: true })
})

test('state machine: a version 1 snapshot (sessions without replies) is restored; its commands stay duplicates', (t) => {
  const v1 = pack([1, [['k', b('v')]], [], [], [['c', 1, [1, 2]]], null])
  const m = new ConsensusState()
  m.restore(v1)
  t.deepEqual(m.kv.get('k'), b('v'))
  t.like(m.apply({ op: Op.PUT, session: s('c', 2, 1), key: 'k', value: b('w') }, 3), { op: 'duplicate' })
  t.is(m.reply('c', 2), undefined, 'no reply known')
  t.like(m.apply({ op: Op.PUT, session: s('c', 3, 1), key: 'k', value: b('w') }, 4), { op: 'put' })
})

test('member IDs: endpoint IDs as they are, names hashed; group IDs depend on the name and the member set', (t) => {
  t.is(raftIdOf('00000000000000AB'), '00000000000000ab')
  t.regex(raftIdOf('A'), /^[0-9a-f]{16}$/)
  t.not(raftIdOf('A'), raftIdOf('B'))
  t.is(raftIdOf('A'), raftIdOf('A'))
  t.is(groupIdOf('g', ['A', 'B', 'C']), groupIdOf('g', ['C', 'A', 'B']), 'order does not matter')
  t.not(groupIdOf('g', ['A', 'B', 'C']), groupIdOf('g', ['A', 'B', 'D']))
  t.not(groupIdOf('g', ['A', 'B', 'C']), groupIdOf('h', ['A', 'B', 'C']))
})

test('envelope: round trip; malformed ones are refused', (t) => {
  const e = encodeEnvelope(Kind.RAFT, '0123456789abcdef', b('raft'))
  t.deepEqual(decodeEnvelope(e), { kind: Kind.RAFT, groupId: '0123456789abcdef', body: b('raft') })
  t.is(decodeEnvelope(e.subarray(0, 9)), undefined)
  t.is(decodeEnvelope(Buffer.concat([Buffer.from([2]), e.subarray(1)])), undefined, 'version')
  t.is(decodeEnvelope(Buffer.concat([Buffer.from([1, 9]), e.subarray(2)])), undefined, 'kind')
  t.is(decodeEnvelope(encodeEnvelope(Kind.HELLO, '0123456789abcdef', b('xx'))), undefined, 'HELLO is one byte')
})

test('options: bad values name the option', (t) => {
  t.throws(() => resolveConsensusOptions(undefined), { instanceOf: InvalidOptionError, message: /members/ })
  t.throws(() => resolveConsensusOptions({ members: [] }), { instanceOf: InvalidOptionError, message: /members/ })
  t.throws(() => resolveConsensusOptions({ members: ['A', 'A'] }), { instanceOf: InvalidOptionError, message: /twice/ })
  t.throws(() => resolveConsensusOptions({ members: ['A', 3] as never }), { instanceOf: InvalidOptionError, message: /members/ })
  t.throws(() => resolveConsensusOptions({ members: ['A'], tickMs: 1 }), { instanceOf: InvalidOptionError, message: /tickMs/ })
  t.throws(() => resolveConsensusOptions({ members: ['A'], heartbeatTicks: 10 }), { instanceOf: InvalidOptionError, message: /heartbeatTicks/ })
  t.throws(() => resolveConsensusOptions({ members: ['A'], dataDir: '' }), { instanceOf: InvalidOptionError, message: /dataDir/ })
  t.throws(() => resolveConsensusOptions({ members: ['A'], memebrs: [] } as never), { instanceOf: InvalidOptionError, message: /memebrs/ })
  t.throws(() => resolveConsensusOptions({ members: ['A'], codec: 'xml' as never }), { instanceOf: InvalidOptionError, message: /codec/ })
  t.throws(() => resolveLockOptions({ ttlMs: 5 }, 5000), { instanceOf: InvalidOptionError, message: /ttlMs/ })
  const o = resolveConsensusOptions({ members: ['A', '00000000000000AB'] })
  t.deepEqual(o.members, ['A', '00000000000000ab'])
  t.is(o.electionTicks * o.tickMs, 500)
})

test('the consensus message vectors of docs/PROTOCOL.md', (t) => {
  const vectors = protocolVectors('consensus-hex')
  t.deepEqual([...vectors.keys()].sort(), ['forward', 'hello'])
  const group = groupIdOf('plant/conveyor', ['A', 'B', 'C'])
  t.is(group, 'bda24d38b42a6aa6')
  t.is(raftIdOf('A'), '3359e8b13abc34a1')
  t.deepEqual(encodeEnvelope(Kind.HELLO, group, Buffer.from([0])), vectors.get('hello'))
  const client = '00000000000000a1.0badf00d'
  const batch = encodeBatch([
    commandArray({ op: Op.PUT, session: s(client, 1, 1), key: 'mode', value: Buffer.from([0xa3, 0x65, 0x63, 0x6f]) }),
    commandArray({ op: Op.CAS, session: s(client, 2, 1), key: 'next', expected: null, next: Buffer.from([0x01]) }),
  ])
  const forward = vectors.get('forward') as Buffer
  t.deepEqual(encodeEnvelope(Kind.FORWARD, group, batch), forward)
  const env = decodeEnvelope(forward)
  t.is(env?.kind, Kind.FORWARD)
  t.deepEqual(decodeBatch(env?.body ?? Buffer.alloc(0), { count: 0 }), [
    { op: Op.PUT, session: s(client, 1, 1), key: 'mode', value: Buffer.from([0xa3, 0x65, 0x63, 0x6f]) },
    { op: Op.CAS, session: s(client, 2, 1), key: 'next', expected: null, next: Buffer.from([0x01]) },
  ])
})

test('routes: a member restarted under a new endpoint ID is routed to its newest entry while the old one has not expired', (t) => {
  const routes = new MemberRoutes()
  const b = raftIdOf('B')
  routes.name(b, 'B')
  const old = { id: '00000000000000b1', name: 'B', since: new Date(1000) }
  const restarted = { id: '00000000000000b2', name: 'B', since: new Date(5000) }
  for (const peers of [[old, restarted], [restarted, old]]) {
    routes.update(peers)
    t.is(routes.endpointOf(b), restarted.id)
    t.is(routes.raftOf(restarted.id), b)
    t.is(routes.raftOf(old.id), undefined, "the dead incarnation's messages are not the member's")
  }
  routes.update([old])
  t.is(routes.endpointOf(b), old.id)
})
