/**
 * What a replica's next delta carries (`PendingWrites` behind `Replica.takeDelta()`): the newest own write per key,
 * in counter order, over the range of every counter written; own writes superseded by remote ones still go out
 * until an own write replaces them; removed ones do not; in mv mode a write removes what it saw, and an own write
 * not sent yet is replaced, not listed as a removal.
 */
import test from 'ava'

import { Entry } from '../src/model/entry'
import { HybridClock } from '../src/model/hlc'
import { Replica } from '../src/model/replica'
import type { StoreMode } from '../src/model/dot-store'

const id = (n: number): string => n.toString(16).padStart(16, '0')
const wall = 1_764_000_000_000
const replica = (mode: StoreMode): Replica => new Replica(mode, new HybridClock(() => wall, 60_000), id(1), 1)
const bytes = (s: string): Buffer => Buffer.from(s)
const summary = (r: Replica) => {
  const d = r.takeDelta()
  return d && { first: d.first, last: d.last, entries: d.entries.map((e) => `${e.key}=${e.value?.toString() ?? '-'}@${e.counter}`), removals: d.removals.map((e) => `${e.key}@${e.counter}`) }
}

test('lww: the newest own write per key, in counter order, over every counter; a delete replaces a set', (t) => {
  const r = replica('lww')
  r.write('a', 0, bytes('1'))
  r.write('b', 0, bytes('2'))
  r.write('a', 0, bytes('3'))
  r.write('c', 0, bytes('4'))
  r.write('c', 0, undefined)
  t.deepEqual(summary(r), { first: 1, last: 5, entries: ['b=2@2', 'a=3@3', 'c=-@5'], removals: [] })
  t.false(r.hasDelta)
  t.is(summary(r), undefined)
  r.write('a', 0, bytes('6'))
  t.deepEqual(summary(r), { first: 6, last: 6, entries: ['a=6@6'], removals: [] }, 'a write after the take starts afresh')
})

test('lww: an own write superseded by a remote one still goes out, until an own write at its key replaces it', (t) => {
  const r = replica('lww')
  const other = r.origins.intern(id(2), 1)
  r.write('a', 0, bytes('mine'))
  r.write('b', 0, bytes('mine'))
  const later = r.clock.peek() + 10
  t.true(r.applyEntry(new Entry('a', other, 1, later, 0, bytes('theirs'))))
  t.true(r.applyEntry(new Entry('b', other, 2, later + 1, 0, bytes('theirs'))))
  r.write('b', 0, bytes('again'))
  t.deepEqual(summary(r), { first: 1, last: 3, entries: ['a=mine@1', 'b=again@3'], removals: [] })
})

test('a pending own write removed by a peer does not go out; its counter is still covered', (t) => {
  const r = replica('lww')
  r.write('a', 0, bytes('1'))
  r.write('b', 0, bytes('2'))
  r.applyRemoval({ key: 'a', origin: r.self, counter: 1 })
  t.deepEqual(summary(r), { first: 1, last: 2, entries: ['b=2@2'], removals: [] })
})

test('mv: a write replaces an own write not sent yet, and lists the entries it saw that went out before', (t) => {
  const r = replica('mv')
  const other = r.origins.intern(id(2), 1)
  r.write('a', 0, bytes('1'))
  t.true(r.applyEntry(new Entry('a', other, 1, r.clock.peek() + 5, 0, bytes('theirs'))))
  r.write('a', 0, bytes('2'))
  t.deepEqual(summary(r), { first: 1, last: 2, entries: ['a=2@2'], removals: ['a@1'] }, 'theirs was seen and removed; own 1 replaced')
  r.write('a', 0, undefined)
  t.deepEqual(summary(r), { first: 3, last: 3, entries: [], removals: ['a@2'] }, 'a delete removes the own write sent before')
})
