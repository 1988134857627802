/**
 * NativeRaftGroup, the addon's consensus core (crates/glue-raft): its declarations checked against the contract the
 * consensus layer is written against (at compile time), and three members in one process wired together here: they
 * elect a leader, commit proposals everywhere in the same order, refuse malformed input with a code, and a member
 * reopened from its data directory hands out its snapshot and the entries after it.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import anyTest, { type TestFn } from 'ava'

import type * as Binding from '../binding'
import { isNativeAvailable } from '../src/transport/native'

/** The status of the contract (consensus-native-spec). */
interface ContractStatus {
  role: 'leader' | 'follower' | 'candidate' | 'pre-candidate'
  term: number
  leader: string
  commit: number
  applied: number
  voters: string[]
  learners: string[]
}

/** What `ready()` returns in the contract. */
interface ContractReady {
  messages: { to: string; data: Buffer }[]
  committed: {
    index: number
    term: number
    kind: 'normal' | 'conf-change'
    data: Buffer
    change?: { kind: string; id: string }
  }[]
  snapshot?: { index: number; term: number; data: Buffer }
  readStates: { index: number; ctx: Buffer }[]
  status?: ContractStatus
}

/** The class of the contract. */
interface ContractGroup {
  tick(): void
  step(from: string, msg: Buffer): void
  propose(data: Buffer): void
  proposeConfChange(kind: 'add-voter' | 'remove-voter' | 'add-learner', id: string): void
  readIndex(ctx: Buffer): void
  campaign(): void
  announceCommit(): void
  transferLeader(to: string): void
  ready(): ContractReady | null
  compact(applied: number, state: Buffer): void
  setApplied(applied: number): void
  status(): ContractStatus
  close(): void
}

type ContractOpen = (config: {
  id: bigint | string
  voters: string[]
  electionTick?: number
  heartbeatTick?: number
  maxSizePerMsg?: number
  maxInflightMsgs?: number
  dataDir?: string
  fsync?: boolean
}) => ContractGroup

const contract: {
  group: Binding.NativeRaftGroup extends ContractGroup ? true : false
  ready: Binding.NativeRaftReady extends ContractReady ? true : false
  open: typeof Binding.NativeRaftGroup.open extends ContractOpen ? true : false
} = { group: true, ready: true, open: true }

// eslint-disable-next-line @typescript-eslint/no-require-imports
const binding = isNativeAvailable() ? (require('../binding') as typeof Binding) : undefined
const test = (binding?.NativeRaftGroup === undefined ? anyTest.skip : anyTest) as TestFn

type Group = Binding.NativeRaftGroup
type Entry = Binding.NativeRaftEntry

const IDS = ['0000000000000001', '0000000000000002', '0000000000000003']

/** Members wired together in memory: every message is delivered at once. */
class Wire {
  readonly groups = new Map<string, Group>()
  readonly committed = new Map<string, Entry[]>()
  readonly readStates: Binding.NativeRaftReadState[] = []

  constructor(open: (id: string) => Group) {
    for (const id of IDS) {
      this.groups.set(id, open(id))
      this.committed.set(id, [])
    }
  }

  /** Drains every member until nothing moves; a leader tells its followers of its commits, as glue does a turn later. */
  pump(): void {
    for (let round = 0; round < 100; round++) {
      let moved = false
      for (const [id, g] of this.groups) {
        if (round > 0) g.announceCommit()
        const ready = g.ready()
        if (ready === null) continue
        moved = true
        this.deliver(id, ready)

      }
      if (!moved) return
    }
  }

  /** Takes what member `id` handed out: its committed entries and read states are kept, its messages delivered. */
  deliver(id: string, ready: Binding.NativeRaftReady): void {
    this.committed.get(id)!.push(...ready.committed)
    this.readStates.push(...ready.readStates)
    for (const m of ready.messages) this.groups.get(m.to)?.step(id, m.data)
  }

  tick(): void {
    for (const g of this.groups.values()) g.tick()
    this.pump()
  }

  leader(): [string, Group] | undefined {
    return [...this.groups].find(([, g]) => g.status().role === 'leader')
  }

  elect(): [string, Group] {
    for (let t = 0; t < 500; t++) {
      const l = this.leader()
      if (l !== undefined) return l
      this.tick()
    }
    throw new Error('no leader')
  }

  /** The data of the normal non-empty entries `id` committed. */
  data(id: string): string[] {
    return this.committed
      .get(id)!
      .filter((e) => e.kind === 'normal' && e.data.length > 0)
      .map((e) => e.data.toString())
  }
}

const codeOf = (fn: () => unknown): string | undefined => {
  try {
    fn()
  } catch (err) {
    return (err as { code?: string }).code
  }
  return undefined
}

anyTest('NativeRaftGroup matches the contract (checked at compile time)', (t) => {
  t.true(Object.values(contract).every(Boolean))
})

test('three members elect a leader and commit proposals everywhere in the same order', (t) => {
  const open: typeof Binding.NativeRaftGroup.open = (config) => binding!.NativeRaftGroup.open(config)
  const wire = new Wire((id) => open({ id, voters: IDS }))
  const [leaderId, leader] = wire.elect()
  for (let i = 0; i < 10; i++) leader.propose(Buffer.from(`entry ${i}`))
  wire.pump()
  wire.tick()
  const expected = Array.from({ length: 10 }, (_, i) => `entry ${i}`)
  for (const id of IDS) {
    t.deepEqual(wire.data(id), expected, `member ${id}`)
    const indexes = wire.committed.get(id)!.map((e) => e.index)
    t.deepEqual(indexes, indexes.map((_, i) => indexes[0] + i), 'consecutive indexes')
    const status = wire.groups.get(id)!.status()
    t.is(status.leader, leaderId)
    t.deepEqual(status.voters, IDS)
  }
  const follower = IDS.find((id) => id !== leaderId)!
  t.is(codeOf(() => wire.groups.get(follower)!.propose(Buffer.from('x'))), 'ERR_GLUE_NOT_LEADER')
  for (const g of wire.groups.values()) g.close()
})

test('a configuration change comes out with what changed, and a read index is answered', (t) => {
  const open: typeof Binding.NativeRaftGroup.open = (config) => binding!.NativeRaftGroup.open(config)
  const wire = new Wire((id) => open({ id, voters: IDS }))
  const [, leader] = wire.elect()
  leader.propose(Buffer.from('first'))
  wire.pump()
  leader.proposeConfChange('add-learner', '00000000000000ff')
  t.is(codeOf(() => leader.proposeConfChange('add-learner', '00000000000000fe')), 'ERR_GLUE_RAFT_DROPPED')
  wire.pump()
  for (const id of IDS) {
    const change = wire.committed.get(id)!.find((e) => e.kind === 'conf-change')
    t.deepEqual(change?.change, { kind: 'add-learner', id: '00000000000000ff' })
    t.deepEqual(wire.groups.get(id)!.status().learners, ['00000000000000ff'])
  }
  leader.readIndex(Buffer.from('read 1'))
  for (let i = 0; i < 5 && wire.readStates.length === 0; i++) wire.tick()
  t.deepEqual(
    wire.readStates.map((rs) => [rs.index, rs.ctx.toString()]),
    [[leader.status().commit, 'read 1']],
  )
})

test('malformed input and bad arguments throw Errors with codes', (t) => {
  const open: typeof Binding.NativeRaftGroup.open = (config) => binding!.NativeRaftGroup.open(config)
  const wire = new Wire((id) => open({ id, voters: IDS }))
  const [leaderId, leader] = wire.elect()
  const follower = wire.groups.get(IDS.find((id) => id !== leaderId)!)!
  t.is(codeOf(() => follower.step(leaderId, Buffer.from([1, 2, 3]))), 'ERR_GLUE_RAFT_MALFORMED')
  t.is(codeOf(() => follower.step(leaderId, Buffer.alloc(0))), 'ERR_GLUE_RAFT_MALFORMED')
  // A real message stepped into the wrong member, or claiming the wrong sender.
  leader.propose(Buffer.from('x'))
  const ready = leader.ready()!
  const message = ready.messages[0]
  t.is(codeOf(() => leader.step(message.to, message.data)), 'ERR_GLUE_RAFT_MALFORMED')
  t.is(codeOf(() => wire.groups.get(message.to)!.step(message.to, message.data)), 'ERR_GLUE_RAFT_MALFORMED')
  wire.deliver(leaderId, ready)
  t.is(codeOf(() => follower.step('not hex', Buffer.from([1]))), 'ERR_GLUE_UNKNOWN_PEER')
  t.is(codeOf(() => open({ id: '0', voters: IDS })), 'ERR_GLUE_INVALID_OPTION')
  t.is(codeOf(() => open({ id: 1n, voters: ['1', '1'] })), 'ERR_GLUE_INVALID_OPTION')
  t.is(codeOf(() => open({ id: 1n, voters: ['1'], electionTick: 2, heartbeatTick: 2 })), 'ERR_GLUE_INVALID_OPTION')
  t.is(codeOf(() => leader.compact(1e9, Buffer.alloc(0))), 'ERR_GLUE_INVALID_OPTION')
  t.is(codeOf(() => leader.setApplied(-1)), 'ERR_GLUE_INVALID_OPTION')
  // Nothing of that disturbed the group.
  wire.pump()
  wire.tick()
  t.true(IDS.every((id) => wire.data(id).includes('x')))
  leader.close()
  t.is(codeOf(() => leader.propose(Buffer.from('y'))), 'ERR_GLUE_CLOSED')
})

test('a member reopened from its data directory hands out its snapshot and the entries after it', (t) => {
  const open: typeof Binding.NativeRaftGroup.open = (config) => binding!.NativeRaftGroup.open(config)
  const dir = mkdtempSync(join(tmpdir(), 'glue-native-raft-'))
  try {
    const solo = open({ id: 1n, voters: ['0000000000000001'], dataDir: dir })
    solo.campaign()
    const handed: Entry[] = []
    const drain = (g: Group) => {
      let snapshot: Binding.NativeRaftSnapshot | undefined
      for (let r = g.ready(); r !== null; r = g.ready()) {
        snapshot ??= r.snapshot
        handed.push(...r.committed.filter((e) => e.kind === 'normal' && e.data.length > 0))
      }
      return snapshot
    }
    drain(solo)
    for (let i = 0; i < 6; i++) {
      solo.propose(Buffer.from(`e${i}`))
      drain(solo)
    }
    const at = handed[2].index
    solo.compact(at, Buffer.from('state after e2'))
    solo.close()
    handed.length = 0
    const again = open({ id: '0000000000000001', voters: [], dataDir: dir })
    const snapshot = drain(again)
    t.is(snapshot?.index, at)
    t.is(snapshot?.data.toString(), 'state after e2')
    t.deepEqual(
      handed.map((e) => e.data.toString()),
      ['e3', 'e4', 'e5'],
    )
    t.is(again.status().applied, at)
    again.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
