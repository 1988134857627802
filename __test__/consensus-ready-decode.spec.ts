/**
 * The flat form of a Raft ready (crates/glue-node/src/raft_flat.rs, src/consensus/ready-decode.ts): a hand-made
 * buffer (the vector of the Rust test) decodes to the objects `ready()` gives, and three members of the addon whose
 * readies cross in the flat form elect a leader and commit the same entries in the same order.
 */
import anyTest, { type TestFn } from 'ava'

import type * as Binding from '../binding'
import { type NativeRaft, type NativeRaftStatus, withFlatReady } from '../src/consensus/native'
import { decodeReady } from '../src/consensus/ready-decode'
import { isNativeAvailable } from '../src/transport/native'

const f64 = (v: number): Buffer => {
  const b = Buffer.alloc(8)
  b.writeDoubleLE(v)
  return b
}

const STATUS: NativeRaftStatus = { role: 'leader', term: 2, leader: '00000000000000a1', commit: 6, applied: 0, voters: [], learners: [] }

anyTest('decodes every part of a flat ready', (t) => {
  const b = Buffer.concat([
    Buffer.from([1 | 2 | 4, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xa2, 2, 0, 0, 0, 1, 2]),
    Buffer.from([2, 0, 0, 0]),
    f64(5), f64(2), Buffer.from([0, 0, 1, 0, 0, 0, 9]),
    f64(6), f64(2), Buffer.from([1, 2, 0, 0, 0, 0, 0, 0, 0, 0xa3, 0, 0, 0, 0]),
    f64(4), f64(1), Buffer.from([2, 0, 0, 0, 7, 7, 1, 0, 0, 0]),
    f64(6), Buffer.from([1, 0, 0, 0, 3]),
  ])
  const r = decodeReady(b, () => STATUS)
  t.deepEqual(r.messages, [{ to: '00000000000000a2', data: Buffer.from([1, 2]) }])
  t.deepEqual(r.committed, [
    { index: 5, term: 2, kind: 'normal', data: Buffer.from([9]) },
    { index: 6, term: 2, kind: 'conf-change', data: Buffer.alloc(0), change: { kind: 'remove-voter', id: '00000000000000a3' } },
  ])
  t.deepEqual(r.snapshot, { index: 4, term: 1, data: Buffer.from([7, 7]) })
  t.deepEqual(r.readStates, [{ index: 6, ctx: Buffer.from([3]) }])
  t.is(r.status, STATUS)
  t.true(r.wantsSnapshot)
  b.fill(0)
  t.deepEqual(r.committed[0]?.data, Buffer.from([9]), 'entry data is a copy')
  const empty = decodeReady(Buffer.alloc(13), () => STATUS)
  t.deepEqual([empty.messages, empty.committed, empty.readStates, empty.snapshot, empty.status, empty.wantsSnapshot], [[], [], [], null, null, undefined])
})

// eslint-disable-next-line @typescript-eslint/no-require-imports
const binding = isNativeAvailable() ? (require('../binding') as typeof Binding) : undefined
const native = (binding?.NativeRaftGroup?.prototype as { readyBytes?: unknown } | undefined)?.readyBytes === undefined ? anyTest.skip : anyTest

native('three members whose readies cross in the flat form elect a leader and commit in the same order', (t) => {
  const ids = ['0000000000000001', '0000000000000002', '0000000000000003']
  const groups = new Map<string, NativeRaft>()
  for (const id of ids) {
    const g = (binding as typeof Binding).NativeRaftGroup.open({ id, voters: ids })
    groups.set(id, withFlatReady(g as unknown as NativeRaft))
  }
  const committed = new Map<string, string[]>(ids.map((id) => [id, []]))
  const statuses: string[] = []
  const pump = (): void => {
    for (let round = 0; round < 100; round++) {
      let moved = false
      for (const [id, g] of groups) {
        if (round > 0) g.announceCommit()
        const ready = g.ready()
        if (ready === null) continue
        moved = true
        if (ready.status) statuses.push(`${id}:${ready.status.role}`)
        for (const e of ready.committed) if (e.data.length > 0) committed.get(id)?.push(`${e.index}:${e.data.toString()}`)
        for (const m of ready.messages) groups.get(m.to)?.step(id, m.data)
      }
      if (!moved) return
    }
  }
  const first = groups.get(ids[0] as string) as NativeRaft
  first.campaign()
  pump()
  t.is(first.status().role, 'leader')
  t.true(statuses.includes(`${ids[0]}:leader`), 'the status change came with the flat ready')
  for (const text of ['a', 'b', 'c']) first.propose(Buffer.from(text))
  pump()
  const mine = committed.get(ids[0] as string) as string[]
  t.deepEqual(mine.map((s) => s.split(':')[1]), ['a', 'b', 'c'])
  for (const id of ids) t.deepEqual(committed.get(id), mine)
  for (const g of groups.values()) g.close()
})
