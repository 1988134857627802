/**
 * The model message vectors of docs/PROTOCOL.md ("Model message vectors"), as the fields they were made from: two
 * origins, a few entries, contexts, and a small replica for the snapshot, journal and canonical encodings. The
 * spec (`model-wire.spec.ts`) encodes these with the real encoders and compares with the documented bytes, and
 * checks what the decoders make of the documented bytes against the same fields.
 */
import { CausalContext } from '../../src/model/causal-context'
import { DotStore } from '../../src/model/dot-store'
import { Entry } from '../../src/model/entry'
import { HybridClock, LOGICAL_PER_MS } from '../../src/model/hlc'
import { type Origin, OriginTable } from '../../src/model/origins'
import { Replica, type JournalOp } from '../../src/model/replica'
import {
  encodeAck,
  encodeBuckets,
  encodeDelta,
  encodeDigest,
  encodeDots,
  encodePush,
  encodeWant,
} from '../../src/model/wire'

/** The wall clock of every vector: 2023-11-14T22:13:20Z, ms since 1970. */
export const WALL_MS = 1_700_000_000_000
/** The hybrid-clock timestamp of that millisecond with logical count `logical`. */
export const hlc = (logical: number): number => WALL_MS * LOGICAL_PER_MS + logical

/** The two origins (endpoint ID, incarnation) of the vectors. */
export const A = { id: '0123456789abcdef', incarnation: 0x11223344 } as const
export const B = { id: 'fedcba9876543210', incarnation: 0x55667788 } as const
type OriginSpec = typeof A | typeof B

/** An origin table that knows A (index 0) and B (index 1), as the encoding side of every vector. */
export function vectorTable(): { table: OriginTable; a: Origin; b: Origin } {
  const table = new OriginTable()
  return { table, a: table.intern(A.id, A.incarnation), b: table.intern(B.id, B.incarnation) }
}

/** One origin's dots: contiguous prefix and ranges `[start, end]`. */
export type DotsSpec = readonly [OriginSpec, number, readonly (readonly [number, number])[]]

/** A context of `table` holding these dots. */
export function contextOf(table: OriginTable, spec: readonly DotsSpec[]): CausalContext {
  const context = new CausalContext()
  for (const [o, contiguous, ranges] of spec) {
    const index = table.intern(o.id, o.incarnation).index
    context.addRange(index, 1, contiguous)
    for (const [start, end] of ranges) context.addRange(index, start, end)
  }
  return context
}

/** An entry: key, origin, counter, timestamp, codec and value (no value: a delete). */
export interface EntrySpec {
  readonly key: string
  readonly origin: OriginSpec
  readonly counter: number
  readonly hlc: number
  readonly codec: number
  readonly value?: readonly number[]
}

/** The entry of `table` that `spec` describes. */
export function entryOf(table: OriginTable, spec: EntrySpec): Entry {
  const value = spec.value === undefined ? undefined : Uint8Array.from(spec.value)
  return new Entry(spec.key, table.intern(spec.origin.id, spec.origin.incarnation), spec.counter, spec.hlc, spec.codec, value)
}

const MSGPACK = 2
/** Entries of the vectors (msgpack values: 01 is 1, 02 is 2, a2 68 69 is "hi"). */
export const E = {
  a6: { key: 'a', origin: A, counter: 6, hlc: hlc(0), codec: MSGPACK, value: [0x01] },
  b7: { key: 'b', origin: A, counter: 7, hlc: hlc(1), codec: 0 },
  x8: { key: 'x', origin: A, counter: 8, hlc: hlc(2), codec: MSGPACK, value: [0xa2, 0x68, 0x69] },
  c1: { key: 'c', origin: B, counter: 1, hlc: hlc(3), codec: MSGPACK, value: [0x02] },
  d4: { key: 'd', origin: B, counter: 4, hlc: hlc(4), codec: MSGPACK, value: [0x01] },
} as const satisfies Record<string, EntrySpec>

/** A DELTA of last-writer-wins map: counters 5..7 (5 overwritten by 6), `a` set, `b` deleted; acknowledge. */
export const DELTA = { ack: true, sender: A, first: 5, last: 7, entries: [E.a6, E.b7], removals: [] }
/** A DELTA of a keep-all map: counter 8 sets `x` and removes B's write 3 of `x`, which it saw. */
export const DELTA_KEEP_ALL = { ack: false, sender: A, first: 8, last: 8, entries: [E.x8], removals: [{ key: 'x', origin: B, counter: 3 }] }
/** A DIGEST of A. */
export const DIGEST = {
  leaving: false,
  sender: A,
  counter: 8,
  hlc: hlc(2),
  liveKeys: 2,
  entryCount: 3,
  root: [0x89abcdef, 0x01234567] as const,
  context: [
    [A, 8, []],
    [B, 3, [[5, 5], [8, 10]]],
  ] as DotsSpec[],
}
/** A WANT of A: it has all of its own 1..8 and B's 2..3. */
export const WANT = { request: 1, context: [[A, 8, []], [B, 0, [[2, 3]]]] as DotsSpec[] }
/** B's answer in two chunks: B1 (`c`), then B4 (`d`) with B's context. */
export const PUSH_CHUNK = { request: 1, chunk: 0, entries: [E.c1] }
export const PUSH_LAST = {
  request: 1,
  chunk: 1,
  entries: [E.d4],
  end: { chunks: 2, root: [0x0badf00d, 0xfeedface] as const, context: [[A, 8, []], [B, 4, []]] as DotsSpec[] },
}
/** The entries whose bucket hashes the BUCKETS vector carries. */
export const BUCKETS_ENTRIES = [E.a6, E.b7]
export const BUCKETS_REQUEST = 2
/** A's answer to those buckets: its context, `a`'s bucket holds A6, `b`'s bucket nothing (b7 was collected). */
export const DOTS = { request: 2, answer: true, context: [[A, 8, []]] as DotsSpec[], held: [E.a6], empty: ['b'] }
/** An ACK from B: it holds A's writes 1..8 of A's run 0x11223344. */
export const ACK = { incarnation: A.incarnation, contiguous: 8 }

/** The DotStore holding `entries`. */
export function storeOf(table: OriginTable, entries: readonly EntrySpec[]): DotStore {
  const store = new DotStore('lww')
  for (const e of entries) store.insert(entryOf(table, e))
  return store
}

/** The bucket of a key (its first hash word's low byte). */
export const bucketOf = (table: OriginTable, key: string): number => entryOf(table, { ...E.a6, key }).bucket

/** The model message vectors, built with the real encoders, by name. */
export function messageVectors(): Map<string, Buffer> {
  const { table } = vectorTable()
  const entries = (list: readonly EntrySpec[]) => list.map((e) => entryOf(table, e))
  const origin = (o: OriginSpec) => table.intern(o.id, o.incarnation)
  const removals = (list: readonly { key: string; origin: OriginSpec; counter: number }[]) =>
    list.map((r) => ({ ...r, origin: origin(r.origin) }))
  const delta = (d: typeof DELTA | typeof DELTA_KEEP_ALL): Buffer =>
    encodeDelta({ ...d, sender: origin(d.sender), entries: entries(d.entries), removals: removals(d.removals) })
  const digest = encodeDigest({ ...DIGEST, sender: origin(A), context: contextOf(table, DIGEST.context) }, table)
  const pushLast = encodePush(
    { ...PUSH_LAST, entries: entries(PUSH_LAST.entries), end: { ...PUSH_LAST.end, context: contextOf(table, PUSH_LAST.end.context) } },
    table,
  )
  const dots = new Map<number, Entry[]>([[bucketOf(table, 'a'), entries(DOTS.held)]])
  for (const key of DOTS.empty) dots.set(bucketOf(table, key), [])
  return new Map([
    ['delta', delta(DELTA)],
    ['delta-keep-all', delta(DELTA_KEEP_ALL)],
    ['digest', digest],
    ['want', encodeWant(WANT.request, contextOf(table, WANT.context), table)],
    ['push-chunk', encodePush({ ...PUSH_CHUNK, entries: entries(PUSH_CHUNK.entries) }, table)],
    ['push-last', pushLast],
    ['buckets', encodeBuckets(BUCKETS_REQUEST, storeOf(table, BUCKETS_ENTRIES).bucketHashes())],
    ['dots', encodeDots(DOTS.request, DOTS.answer, contextOf(table, DOTS.context), dots, table)],
    ['ack', encodeAck(ACK.incarnation, ACK.contiguous)],
  ])
}

/**
 * The replica of the snapshot vectors: A's last-writer-wins map after `a` := 1 (A1), `b` := 2 (A2), delete `b` (A3,
 * a tombstone) and B's write `c` := "hi" (B2) arrived (B1 not yet).
 */
export function vectorReplica(): Replica {
  const clock = new HybridClock(() => WALL_MS, 60_000)
  const replica = new Replica('lww', clock, A.id, A.incarnation)
  replica.write('a', MSGPACK, Uint8Array.of(0x01))
  replica.write('b', MSGPACK, Uint8Array.of(0x02))
  replica.write('b', 0, undefined)
  replica.origins.intern(B.id, B.incarnation)
  replica.applyEntry(entryOf(replica.origins, { key: 'c', origin: B, counter: 2, hlc: hlc(3), codec: MSGPACK, value: [0xa2, 0x68, 0x69] }))
  return replica
}

/** The ops of the journal vector: B1 (`d` := 2) arrived, then a removal of A1 (`a`), then B's counters 3..4 were seen. */
export function journalOps(table: OriginTable): JournalOp[] {
  const b = table.intern(B.id, B.incarnation)
  return [
    { op: 'entry', entry: entryOf(table, { key: 'd', origin: B, counter: 1, hlc: hlc(5), codec: MSGPACK, value: [0x02] }) },
    { op: 'remove', removal: { key: 'a', origin: table.intern(A.id, A.incarnation), counter: 1 } },
    { op: 'range', origin: b, first: 3, last: 4 },
  ]
}
